"""The flows answer built from path counts: paths laid out on step columns, nodes pruned to ``$other``, drop-offs,
edges, top paths, trees and breakdowns (semantics: ``services/flows.py``).

A path is (``reverse``: the events before the first anchor, nearest first; ``after``: one tuple per anchor the path
reached, the events after it: for an anchor followed by a reached one, the first ``forward`` and last ``reverse`` of
the events between them; for the last anchor reached, the first ``forward`` events after it).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from mixhouse.core.timeutil import computed_at
from mixhouse.services.flows_params import FlowQuery

TOP_PATHS = 50
MAX_BREAKDOWNS = 50
DROPOFF, OTHER = "$dropoff", "$other"

Path = tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]
Paths = list[tuple[tuple[str, ...], tuple[tuple[str, ...], ...], int]]
Row = list[str | None]


class Layout:
    """The step columns of a flow: each anchor's ``reverse`` columns, the anchor's own, its ``forward`` columns."""

    def __init__(self, query: FlowQuery) -> None:
        self.query = query
        self.anchor_columns: list[int] = []
        self.anchor_types: list[str] = []
        for anchor in query.anchors:
            self.anchor_types += ["RELATIVE_REVERSE"] * anchor.reverse
            self.anchor_columns.append(len(self.anchor_types))
            self.anchor_types += ["NORMAL"] + ["RELATIVE_FORWARD"] * anchor.forward
        self.columns = len(self.anchor_types)

    def row(self, reverse: tuple[str, ...], after: tuple[tuple[str, ...], ...]) -> Row:
        """The path on the columns: a name, ``$dropoff`` at the first missing place before the first anchor and
        after the last event of a path that ends early, ``None`` where the path has nothing (beyond a drop-off, or
        between anchors that came sooner than the columns allow)."""
        anchors = self.query.anchors
        first = anchors[0]
        row: Row = list(reversed(reverse))
        if len(reverse) < first.reverse:
            row = [None] * (first.reverse - len(reverse) - 1) + [DROPOFF] + row
        row.append(first.event)
        for k, events in enumerate(after):
            forward = anchors[k].forward
            if k + 1 < len(after):  # the next anchor was reached: first ``forward`` and last ``reverse`` between
                behind = anchors[k + 1].reverse
                head, rest = list(events[:forward]), events[forward:]
                tail = list(rest[len(rest) - behind:]) if behind else []
                row += [*head, *[None] * (forward - len(head)), *[None] * (behind - len(tail)), *tail]
                row.append(anchors[k + 1].event)
            else:
                row += list(events[:forward])
                if len(row) < self.columns and (len(events) < forward or k + 1 < len(anchors)):
                    row.append(DROPOFF)
        return row + [None] * (self.columns - len(row))

    def kind(self, k: int, name: str) -> str:
        if name == DROPOFF:
            return "DROPOFF"
        if k in self.anchor_columns:
            return "ANCHOR"
        return "PRUNED" if name == OTHER else "NORMAL"


def _next_filled(row: Row, k: int) -> int | None:
    return next((j for j in range(k + 1, len(row)) if row[j] is not None), None)


def _pruned(layout: Layout, paths: Paths) -> list[tuple[Row, int]]:
    """Rows with each column's events beyond the ``cardinality_threshold`` busiest (ties by name) as ``$other``,
    equal rows merged."""
    laid = [(layout.row(reverse, after), users) for reverse, after, users in paths]
    per_step: list[Counter[str]] = [Counter() for _ in range(layout.columns)]
    for row, users in laid:
        for k, name in enumerate(row):
            if name is not None and name != DROPOFF:
                per_step[k][name] += users
    cardinality = layout.query.cardinality
    kept = [{name for name, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:cardinality]}
            for counts in per_step]

    def shown(k: int, name: str | None) -> str | None:
        if name is None or name == DROPOFF or k in layout.anchor_columns:
            return name
        return name if name in kept[k] else OTHER

    merged: Counter[tuple[str | None, ...]] = Counter()  # rows that pruning made equal are one row
    for row, users in laid:
        merged[tuple(shown(k, name) for k, name in enumerate(row))] += users
    return [(list(row), users) for row, users in merged.items()]


def _steps(layout: Layout, pruned: list[tuple[Row, int]]) -> list[dict[str, Any]]:
    nodes: list[Counter[str]] = [Counter() for _ in range(layout.columns)]
    edges: list[dict[tuple[str, int, str], int]] = [defaultdict(int) for _ in range(layout.columns)]
    for row, users in pruned:
        for k, name in enumerate(row):
            if name is None:
                continue
            nodes[k][name] += users
            j = _next_filled(row, k)
            target = row[j] if j is not None else None
            if j is not None and target is not None and name != DROPOFF:
                edges[k][(name, j, target)] += users
    steps = []
    for k in range(layout.columns):
        listed = []
        for name, count in sorted(nodes[k].items(), key=lambda item: (-item[1], item[0])):
            out = [{"event": target, "step": j, "totalCount": str(n), "type": layout.kind(j, target)}
                   for (source, j, target), n in sorted(edges[k].items(), key=lambda item: (-item[1], item[0]))
                   if source == name]
            listed.append({"event": name, "type": layout.kind(k, name), "totalCount": str(count),
                           "anchorType": layout.anchor_types[k], "isCustomEvent": False,
                           "conversionRateChange": 0.0, "edges": out})
        steps.append({"nodes": listed})
    return steps


def _top_paths(layout: Layout, pruned: list[tuple[Row, int]]) -> list[dict[str, Any]]:
    totals: Counter[tuple[tuple[int, str], ...]] = Counter()
    for row, users in pruned:
        totals[tuple((k, name) for k, name in enumerate(row) if name is not None)] += users
    ranked = sorted(totals.items(), key=lambda item: (-item[1], [name for _, name in item[0]]))[:TOP_PATHS]
    return [{"totalCount": str(users),
             "flowSteps": [{"event": name, "type": layout.kind(k, name), "totalCount": str(users)}
                           for k, name in path]}
            for path, users in ranked]


def _tree(layout: Layout, pruned: list[tuple[Row, int]]) -> dict[str, Any]:
    """The prefix tree of the paths from the first anchor on (columns a path skips left out)."""
    start = layout.anchor_columns[0]
    walked = [([(k, name) for k, name in enumerate(row) if k >= start and name is not None], users)
              for row, users in pruned]

    def build(prefix: tuple[tuple[int, str], ...]) -> dict[str, Any]:
        depth = len(prefix) - 1
        k, name = prefix[-1]
        here = [(path, users) for path, users in walked if tuple(path[: len(prefix)]) == prefix]
        total = sum(users for _, users in here)
        following: Counter[tuple[int, str]] = Counter()
        for path, users in here:
            if len(path) > len(prefix):
                following[path[len(prefix)]] += users
        dropped = sum(n for (_, nxt), n in following.items() if nxt == DROPOFF)
        children = [build((*prefix, nxt)) for nxt in sorted(following, key=lambda n: (-following[n], n[1], n[0]))
                    if nxt[1] != DROPOFF]
        return {"step": {"event": name, "type": layout.kind(k, name), "stepNumber": depth,
                         "anchorType": layout.anchor_types[k], "isComputed": False},
                "totalCount": total, "dropOffTotalCount": dropped, "convertedTotalCount": total - dropped,
                "children": children}

    return build(((start, layout.query.anchor),))


def _answer_body(layout: Layout, paths: Paths, query_type: str) -> dict[str, Any]:
    pruned = _pruned(layout, paths)
    entries = sum(users for _, users in pruned)
    reached = sum(users for row, users in pruned if row[-1] not in (None, DROPOFF))
    body: dict[str, Any] = {
        "steps": _steps(layout, pruned),
        "flows": _top_paths(layout, pruned) if query_type == "flows_top_paths" else [],
        "overallConversionRate": round(reached / entries, 4) if entries else 0.0,
        "metadata": {"entries": entries},
    }
    if query_type == "flows":
        body["trees"] = [{"root": _tree(layout, pruned)}] if entries else []
    return body


def build_answer(query: FlowQuery, paths: Paths, query_type: str,
                 breakdowns: Sequence[tuple[tuple[str, ...], Paths]] = ()) -> dict[str, Any]:
    """The answer over every entry, plus (with ``segments``) one ``breakdowns`` item per segment key: the same body
    over that segment's entries, most entries first (ties by key), at most ``MAX_BREAKDOWNS``."""
    layout = Layout(query)
    answer: dict[str, Any] = {"computed_at": computed_at(), **_answer_body(layout, paths, query_type),
                              "breakdowns": []}
    labels = [segment.label for segment in query.segments]
    sized = sorted(((sum(users for *_, users in group), key, group) for key, group in breakdowns),
                   key=lambda item: (-item[0], item[1]))[:MAX_BREAKDOWNS]
    for _, key, group in sized:
        answer["breakdowns"].append({"segments": dict(zip(labels, key, strict=True)), "segment": list(key),
                                     **_answer_body(layout, group, query_type)})
    return answer


def breakdown_groups(rows: Sequence[tuple[tuple[str, ...], tuple[tuple[str, ...], ...], tuple[tuple[str, ...], ...],
                                          int]],
                     combine: Callable[[tuple[tuple[str, ...], ...]], list[tuple[str, ...]]]
                     ) -> list[tuple[tuple[str, ...], Paths]]:
    """Rows of (reverse, after, keys per segment, users) as paths per segment key (``combine``: an entry's keys)."""
    grouped: dict[tuple[str, ...], Counter[Path]] = defaultdict(Counter)
    for reverse, after, keys, users in rows:
        for key in combine(keys):
            grouped[key][(reverse, after)] += users
    return [(key, [(reverse, after, users) for (reverse, after), users in counter.items()])
            for key, counter in grouped.items()]
