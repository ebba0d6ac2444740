"""Flows (``/arb_funnels``, spec §6.4): what users did before and after an anchor event, as a sankey
(``flows_sankey``), top paths (``flows_top_paths``) or trees (``flows``). Params are the flat flow bookmark params
the client library's ``build_flow_params`` makes.

Choices where Mixpanel documents nothing (docs/query-api.md lists them too):

* One anchor step (``steps[0]``: ``event``, ``forward`` ≤ 5, ``reverse`` ≤ 5; ``property_filter_params_list``
  segfilters joined by ``bool_op``: only anchor events that pass them start a path, ``query/segfilters.py``).
  ``count_type`` ``unique``: a user enters at their first anchor event in the range; ``total``: at every one;
  ``session``: at the first of each session, the path staying inside that session. A ``conversion_window`` in
  sessions (1–12) lets paths reach that many sessions from the anchor's, its own included (sessions:
  ``query/sessions.py``). Users are canonical ids; the empty id never counts.
* Forward step k is the k-th event after the anchor within the conversion window (``conversion_window``: day, week
  or month = 30 days), hidden events left out, consecutive repeats merged with ``collapse_repeated``; an event in
  ``exclusions`` ends the path there. Reverse steps likewise, backwards from the anchor. A path that ends early
  shows ``$dropoff`` (type ``DROPOFF``) at the next step and nothing after.
* Per step, the ``cardinality_threshold`` events with the most users are kept (ties by name); the others are one
  ``$other`` node (type ``PRUNED``). ``overallConversionRate`` = share of entries that reach the last forward step.
* ``steps[i].nodes[j]``: ``event``, ``type`` (``ANCHOR``, ``NORMAL``, ``PRUNED``, ``DROPOFF``), ``totalCount`` (a
  string, as Mixpanel sends it), ``anchorType``, ``edges`` to the next step's nodes. Top paths: the 50 most common
  (``flowSteps`` with each step's count); trees: the forward prefix tree under the anchor with ``totalCount``,
  ``dropOffTotalCount`` and ``convertedTotalCount`` per node.
* Not supported yet (400): several anchor steps, segments, cohort filters, date step filters.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from typing import Any

from mixhouse.core.dates import DateRange, parse_date
from mixhouse.core.timeutil import computed_at
from mixhouse.errors import ValidationError
from mixhouse.expr import compile_filter
from mixhouse.expr.ast import Expr
from mixhouse.meta.records import Project
from mixhouse.query.flows import EVENT_NAMES_SQL, flows_sql
from mixhouse.query.segfilters import segfilters_expr
from mixhouse.query.timebuckets import check_not_future
from mixhouse.query.where import EVENT_CONTEXT
from mixhouse.services.insights_audience import CohortMembers
from mixhouse.services.insights_params import CohortRef, cohort_ref, parse_time
from mixhouse.storage.base import Backend

QUERY_TYPES = ("flows_sankey", "flows_top_paths", "flows")
WINDOW_UNIT_MS = {"day": 86_400_000, "week": 7 * 86_400_000, "month": 30 * 86_400_000}
MAX_STEPS_EACH_WAY = 5
MAX_WINDOW_SESSIONS = 12
TOP_PATHS = 50
DROPOFF, OTHER = "$dropoff", "$other"


@dataclass(frozen=True)
class FlowQuery:
    anchor: str
    forward: int
    reverse: int
    dates: DateRange
    window_ms: int
    totals: bool
    collapse: bool
    hidden: tuple[str, ...]
    excluded: tuple[str, ...]
    cardinality: int
    per_session: bool = False  # count_type session: an entry per session, paths inside it
    anchor_filter: Expr | None = None  # the anchor step's filters: which anchor events start a path
    window_sessions: int | None = None  # conversion_window in sessions (window_ms is then the 366-day limit)
    cohort: CohortRef | None = None  # filter_by_cohort: only the cohort's members (``cohort_negated``: the others)
    cohort_negated: bool = False


def _whole(value: Any, what: str, low: int, high: int, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(f"{what} must be a whole number from {low} to {high}")
    return value


def _names(value: Any, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValidationError(f"{what} must be a list of event names")
    names = [item.get("event") if isinstance(item, dict) else item for item in value]
    if not all(isinstance(name, str) and name for name in names):
        raise ValidationError(f"{what} must be a list of event names")
    return tuple(str(name) for name in names)


def _dates(params: dict[str, Any], timezone: str) -> DateRange:
    spec = params.get("date_range") or {"type": "in the last", "from_date": {"unit": "day", "value": 30}}
    if not isinstance(spec, dict):
        raise ValidationError("date_range must be an object")
    kind = spec.get("type", "in the last")
    if kind == "between":
        return DateRange(parse_date(spec.get("from_date"), "from_date"), parse_date(spec.get("to_date"), "to_date"))
    if kind == "in the last":
        window = spec.get("from_date") or {"unit": "day", "value": 30}
        time = [{"dateRangeType": "in the last", "unit": "day", "window": window}]
        dates, _ = parse_time({"time": time}, timezone)
        return dates
    raise ValidationError(f"date_range type {kind!r} is not supported yet")


def parse_flow(params: Any, timezone: str) -> FlowQuery:
    if not isinstance(params, dict):
        raise ValidationError("flow params must be an object")
    steps = params.get("steps")
    if not isinstance(steps, list) or not steps:
        raise ValidationError("a flow needs steps: [{event, forward, reverse}]")
    if len(steps) > 1:
        raise ValidationError("flows through several anchor events are not supported yet")
    step = steps[0]
    if not isinstance(step, dict) or not isinstance(step.get("event"), str) or not step["event"]:
        raise ValidationError("every flow step needs an event name")
    filters = step.get("property_filter_params_list") or []
    if not isinstance(filters, list):
        raise ValidationError("property_filter_params_list must be a list")
    if step.get("session_event"):
        raise ValidationError("session start/end anchors are not supported yet")
    for key in ("segments", "filter_by_event"):
        if params.get(key):
            raise ValidationError(f"{key} in flows is not supported yet")
    cohort, cohort_negated = None, False
    if params.get("filter_by_cohort"):
        cohort, cohort_negated, _ = cohort_ref(params["filter_by_cohort"])
    count_type = params.get("count_type", "unique")
    if count_type not in ("unique", "total", "session"):
        raise ValidationError(f"count_type must be unique, total or session, not {count_type!r}")
    window = params.get("conversion_window") or {"unit": "day", "value": 7}
    unit = window.get("unit", "day") if isinstance(window, dict) else None
    if unit not in (*WINDOW_UNIT_MS, "session"):
        raise ValidationError("conversion_window unit must be day, week, month or session")
    window_sessions = None
    if unit == "session":
        window_sessions = _whole(window.get("value"), "conversion_window value in sessions", 1, MAX_WINDOW_SESSIONS, 1)
        value, unit = 366, "day"
    else:
        value = _whole(window.get("value"), "conversion_window value", 1, 366, 7)
    if value * WINDOW_UNIT_MS[unit] > 366 * 86_400_000:
        raise ValidationError("the conversion window may be at most 366 days")
    dates = _dates(params, timezone)
    if dates.to_date < dates.from_date:
        raise ValidationError("to_date must not be before from_date")
    check_not_future(dates, timezone)
    return FlowQuery(
        anchor=step["event"],
        forward=_whole(step.get("forward"), "forward", 0, MAX_STEPS_EACH_WAY, 3),
        reverse=_whole(step.get("reverse"), "reverse", 0, MAX_STEPS_EACH_WAY, 0),
        dates=dates,
        window_ms=value * WINDOW_UNIT_MS[unit],
        totals=count_type == "total",
        collapse=bool(params.get("collapse_repeated")),
        hidden=tuple(n for n in _names(params.get("hidden_events"), "hidden_events") if n != step["event"]),
        excluded=_names(params.get("exclusions"), "exclusions"),
        cardinality=_whole(params.get("cardinality_threshold"), "cardinality_threshold", 1, 250, 3),
        per_session=count_type == "session",
        window_sessions=window_sessions,
        anchor_filter=segfilters_expr(filters, step.get("bool_op") or "and"),
        cohort=cohort,
        cohort_negated=cohort_negated,
    )


Paths = list[tuple[tuple[str, ...], tuple[str, ...], int]]


def flow_paths(backend: Backend, project: Project, query: FlowQuery,
               cohorts: CohortMembers | None = None) -> Paths:
    """(reverse names, forward names, entries) for every distinct pair; ``cohorts`` resolves ``filter_by_cohort``."""
    timezone = project.timezone or "UTC"
    start_ms, end_ms = query.dates.bounds_ms(timezone)
    window = {"project_id": project.id, "scan_from_ms": start_ms - query.window_ms,
              "scan_to_ms": end_ms + query.window_ms}
    present = sorted(str(row["name"]) for row in backend.query_rows(EVENT_NAMES_SQL, window))
    names = [name for name in present if name not in query.hidden]
    if query.anchor not in names:
        return []
    codes = {name: n for n, name in enumerate(names, 1)}
    params = {
        **window,
        "start_ms": start_ms,
        "end_ms": end_ms,
        "window_ms": query.window_ms,
        "names": names,
        "codes": list(codes.values()),
        "anchor": query.anchor,
        "anchor_code": codes[query.anchor],
        "excluded_codes": [codes[name] for name in query.excluded if name in codes],
        "forward": query.forward,
        "reverse": query.reverse,
        "tz": timezone,
    }
    if query.window_sessions is not None:
        params["window_sessions"] = query.window_sessions
    anchor_filter = None
    if query.anchor_filter is not None:
        fragment = compile_filter(query.anchor_filter, replace(EVENT_CONTEXT, param_prefix="af"))
        anchor_filter = fragment.sql
        params.update(fragment.params)
    users = None
    if query.cohort is not None:
        if cohorts is None:
            raise ValidationError("filter_by_cohort needs the server's cohorts")
        params["flow_cohort"] = sorted(cohorts(query.cohort))
        users = f"distinct_id {'NOT IN' if query.cohort_negated else 'IN'} {{flow_cohort:Array(String)}}"
    sql = flows_sql(totals=query.totals, collapse=query.collapse, per_session=query.per_session,
                    window_sessions=query.window_sessions is not None, anchor_filter=anchor_filter,
                    users=users)
    rows = backend.query_rows(sql, params)

    def decoded(found: list[int]) -> tuple[str, ...]:
        return tuple(names[code - 1] for code in found)

    return [(decoded(r["reverse"]), decoded(r["forward"]), int(r["users"])) for r in rows]


def _positions(query: FlowQuery, reverse: tuple[str, ...], forward: tuple[str, ...]) -> list[str | None]:
    """The path laid out on the step columns (``reverse`` … anchor … ``forward``): a name, ``$dropoff`` at the first
    missing place on each side, ``None`` beyond it."""
    before: list[str | None] = list(reversed(reverse))
    if len(reverse) < query.reverse:
        before = [None] * (query.reverse - len(reverse) - 1) + [DROPOFF] + before
    after: list[str | None] = list(forward)
    if len(forward) < query.forward:
        after = [*after, DROPOFF] + [None] * (query.forward - len(forward) - 1)
    return [*before, query.anchor, *after]


def build_answer(query: FlowQuery, paths: Paths, query_type: str) -> dict[str, Any]:
    anchor_at = query.reverse
    columns = query.reverse + 1 + query.forward
    laid = [(_positions(query, reverse, forward), users) for reverse, forward, users in paths]
    per_step: list[Counter[str]] = [Counter() for _ in range(columns)]
    for row, users in laid:
        for k, name in enumerate(row):
            if name is not None and name not in (DROPOFF,):
                per_step[k][name] += users
    kept = [
        {name for name, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[: query.cardinality]}
        | ({query.anchor} if k == anchor_at else set())
        for k, counts in enumerate(per_step)
    ]

    def shown(k: int, name: str | None) -> str | None:
        if name is None or name == DROPOFF or k == anchor_at:
            return name
        return name if name in kept[k] else OTHER

    pruned = [([shown(k, name) for k, name in enumerate(row)], users) for row, users in laid]
    entries = sum(users for _, users in pruned)

    def kind(k: int, name: str) -> str:
        if k == anchor_at:
            return "ANCHOR"
        return {DROPOFF: "DROPOFF", OTHER: "PRUNED"}.get(name, "NORMAL")

    def anchor_type(k: int) -> str:
        return "NORMAL" if k == anchor_at else ("RELATIVE_REVERSE" if k < anchor_at else "RELATIVE_FORWARD")

    nodes: list[Counter[str]] = [Counter() for _ in range(columns)]
    edges: list[dict[tuple[str, str], int]] = [defaultdict(int) for _ in range(columns)]
    for row, users in pruned:
        for k, name in enumerate(row):
            if name is None:
                continue
            nodes[k][name] += users
            following = row[k + 1] if k + 1 < columns else None
            if following is not None and name != DROPOFF:
                edges[k][(name, following)] += users
    steps = []
    for k in range(columns):
        listed = []
        for name, count in sorted(nodes[k].items(), key=lambda item: (-item[1], item[0])):
            out = [{"event": target, "step": k + 1, "totalCount": str(n), "type": kind(k + 1, target)}
                   for (source, target), n in sorted(edges[k].items(), key=lambda item: (-item[1], item[0]))
                   if source == name]
            listed.append({"event": name, "type": kind(k, name), "totalCount": str(count),
                           "anchorType": anchor_type(k), "isCustomEvent": False, "conversionRateChange": 0.0,
                           "edges": out})
        steps.append({"nodes": listed})
    reached = sum(users for row, users in pruned if row[-1] not in (None, DROPOFF))
    answer: dict[str, Any] = {
        "computed_at": computed_at(),
        "steps": steps,
        "flows": [],
        "breakdowns": [],
        "overallConversionRate": round(reached / entries, 4) if entries else 0.0,
        "metadata": {"entries": entries},
    }
    if query_type == "flows_top_paths":
        answer["flows"] = _top_paths(pruned, kind)
    elif query_type == "flows":
        answer["trees"] = [{"root": _tree(pruned, anchor_at, kind)}] if entries else []
    return answer


def _top_paths(pruned: list[tuple[list[str | None], int]], kind: Any) -> list[dict[str, Any]]:
    totals: Counter[tuple[tuple[int, str], ...]] = Counter()
    for row, users in pruned:
        totals[tuple((k, name) for k, name in enumerate(row) if name is not None)] += users
    ranked = sorted(totals.items(), key=lambda item: (-item[1], [name for _, name in item[0]]))[:TOP_PATHS]
    return [{"totalCount": str(users),
             "flowSteps": [{"event": name, "type": kind(k, name), "totalCount": str(users)} for k, name in path]}
            for path, users in ranked]


def _tree(pruned: list[tuple[list[str | None], int]], anchor_at: int, kind: Any) -> dict[str, Any]:
    def build(prefix: tuple[str, ...]) -> dict[str, Any]:
        depth = len(prefix) - 1
        k = anchor_at + depth
        here = [(row, users) for row, users in pruned if tuple(row[anchor_at: anchor_at + len(prefix)]) == prefix]
        total = sum(users for _, users in here)
        following: Counter[str] = Counter()
        for row, users in here:
            nxt = row[k + 1] if k + 1 < len(row) else None
            if nxt is not None:
                following[nxt] += users
        dropped = following.pop(DROPOFF, 0)
        children = [build((*prefix, name)) for name in sorted(following, key=lambda n: (-following[n], n))]
        return {"step": {"event": prefix[-1], "type": kind(k, prefix[-1]), "stepNumber": depth,
                         "anchorType": "NORMAL" if depth == 0 else "RELATIVE_FORWARD", "isComputed": False},
                "totalCount": total, "dropOffTotalCount": dropped, "convertedTotalCount": total - dropped,
                "children": children}

    anchor = next(row[anchor_at] for row, _ in pruned)
    assert anchor is not None
    return build((anchor,))


def run_flow(backend: Backend, project: Project, query: FlowQuery, query_type: str,
             cohorts: CohortMembers | None = None) -> dict[str, Any]:
    if query_type not in QUERY_TYPES:
        raise ValidationError(f"query_type must be one of {', '.join(QUERY_TYPES)}")
    return build_answer(query, flow_paths(backend, project, query, cohorts), query_type)
