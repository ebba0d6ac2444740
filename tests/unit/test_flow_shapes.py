"""The flow answer built from path counts: nodes, pruning to "$other", drop-offs, edges, top paths and trees."""

from __future__ import annotations

from datetime import date

from mixhouse.core.dates import DateRange
from mixhouse.services.flows import FlowQuery, build_answer

QUERY = FlowQuery(anchor="A", forward=2, reverse=1, dates=DateRange(date(2025, 1, 1), date(2025, 1, 2)),
                  window_ms=86_400_000, totals=False, collapse=False, hidden=(), excluded=(), cardinality=2)
#: (reverse, forward, entries): 10 entries in all.
PATHS = [(("X",), ("B", "C"), 4), ((), ("B",), 3), (("X",), ("D", "C"), 2), (("Y",), ("E", "C"), 1)]


def _nodes(answer: dict, step: int) -> dict[str, tuple[str, str]]:
    return {node["event"]: (node["type"], node["totalCount"]) for node in answer["steps"][step]["nodes"]}


def test_sankey_nodes_prune_and_drop_off() -> None:
    answer = build_answer(QUERY, PATHS, "flows_sankey")
    assert len(answer["steps"]) == 4  # one reverse step, the anchor, two forward steps
    assert _nodes(answer, 0) == {"X": ("NORMAL", "6"), "$dropoff": ("DROPOFF", "3"), "Y": ("NORMAL", "1")}
    assert _nodes(answer, 1) == {"A": ("ANCHOR", "10")}
    # the two busiest forward events are kept (B 7, D 2; E 1 is pruned into $other)
    assert _nodes(answer, 2) == {"B": ("NORMAL", "7"), "D": ("NORMAL", "2"), "$other": ("PRUNED", "1")}
    assert _nodes(answer, 3) == {"C": ("NORMAL", "7"), "$dropoff": ("DROPOFF", "3")}
    anchor_edges = {e["event"]: e["totalCount"] for e in answer["steps"][1]["nodes"][0]["edges"]}
    assert anchor_edges == {"B": "7", "D": "2", "$other": "1"}
    b_edges = next(n for n in answer["steps"][2]["nodes"] if n["event"] == "B")["edges"]
    assert [(e["event"], e["step"], e["totalCount"]) for e in b_edges] == [("C", 3, "4"), ("$dropoff", 3, "3")]
    assert answer["overallConversionRate"] == 0.7


def test_top_paths_and_trees() -> None:
    top = build_answer(QUERY, PATHS, "flows_top_paths")["flows"]
    assert [f["totalCount"] for f in top] == ["4", "3", "2", "1"]
    assert [s["event"] for s in top[0]["flowSteps"]] == ["X", "A", "B", "C"]
    assert [s["event"] for s in top[1]["flowSteps"]] == ["$dropoff", "A", "B", "$dropoff"]
    tree = build_answer(QUERY, PATHS, "flows")["trees"][0]["root"]
    assert (tree["step"]["event"], tree["totalCount"], tree["dropOffTotalCount"]) == ("A", 10, 0)
    b = next(child for child in tree["children"] if child["step"]["event"] == "B")
    assert (b["totalCount"], b["dropOffTotalCount"], b["convertedTotalCount"]) == (7, 3, 4)
    assert [c["step"]["event"] for c in b["children"]] == ["C"]
