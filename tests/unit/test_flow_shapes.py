"""The flow answer built from path counts: nodes, pruning to "$other", drop-offs, edges, top paths, trees, several
anchors and breakdowns."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from mixhouse.core.dates import DateRange
from mixhouse.services.flows import FlowAnchor, FlowQuery, FlowSegment, build_answer

QUERY = FlowQuery(anchors=(FlowAnchor("A", forward=2, reverse=1),),
                  dates=DateRange(date(2025, 1, 1), date(2025, 1, 2)), window_ms=86_400_000, totals=False,
                  collapse=False, hidden=(), excluded=(), cardinality=2)
#: (reverse, after the anchor, entries): 10 entries in all.
PATHS = [(("X",), (("B", "C"),), 4), ((), (("B",),), 3), (("X",), (("D", "C"),), 2), (("Y",), (("E", "C"),), 1)]


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


#: Anchors A (1 step after) and B (2 steps before, 1 after): columns A | +1 | -2 | -1 | B | +1.
TWO = FlowQuery(anchors=(FlowAnchor("A", forward=1), FlowAnchor("B", forward=1, reverse=2)),
                dates=DateRange(date(2025, 1, 1), date(2025, 1, 2)), window_ms=86_400_000, totals=False,
                collapse=False, hidden=(), excluded=(), cardinality=3)
TWO_PATHS = [
    ((), (("X", "Y", "Z", "W"), ("C",)), 5),  # A X [Y elided] Z W B C: first 1 after A, last 2 before B
    ((), (("X",), ()), 3),  # A X B, then nothing: the empty columns are skipped, $dropoff after B
    ((), ((), ("C",)), 2),  # A B C straight away
    ((), (("Q",),), 4),  # A Q, never B: $dropoff right after Q
]


def test_several_anchors_lay_out_between_and_drop_off() -> None:
    answer = build_answer(TWO, TWO_PATHS, "flows_sankey")
    assert [[n["anchorType"] for n in step["nodes"]][:1] for step in answer["steps"]] == [
        ["NORMAL"], ["RELATIVE_FORWARD"], ["RELATIVE_REVERSE"], ["RELATIVE_REVERSE"], ["NORMAL"], ["RELATIVE_FORWARD"]]
    assert _nodes(answer, 0) == {"A": ("ANCHOR", "14")}
    assert _nodes(answer, 1) == {"X": ("NORMAL", "8"), "Q": ("NORMAL", "4")}
    assert _nodes(answer, 2) == {"Z": ("NORMAL", "5"), "$dropoff": ("DROPOFF", "4")}
    assert _nodes(answer, 3) == {"W": ("NORMAL", "5")}
    assert _nodes(answer, 4) == {"B": ("ANCHOR", "10")}
    assert _nodes(answer, 5) == {"C": ("NORMAL", "7"), "$dropoff": ("DROPOFF", "3")}
    a_edges = {(e["event"], e["step"]): e["totalCount"] for e in answer["steps"][0]["nodes"][0]["edges"]}
    assert a_edges == {("X", 1): "8", ("Q", 1): "4", ("B", 4): "2"}  # A → B skips the empty columns
    x_edges = {(e["event"], e["step"], e["type"]) for n in answer["steps"][1]["nodes"] if n["event"] == "X"
               for e in n["edges"]}
    assert x_edges == {("Z", 2, "NORMAL"), ("B", 4, "ANCHOR")}
    assert answer["overallConversionRate"] == round(7 / 14, 4)
    tree = build_answer(TWO, TWO_PATHS, "flows")["trees"][0]["root"]
    x = next(c for c in tree["children"] if c["step"]["event"] == "X")
    assert [(c["step"]["event"], c["totalCount"]) for c in x["children"]] == [("Z", 5), ("B", 3)]
    paths = build_answer(TWO, TWO_PATHS, "flows_top_paths")["flows"]
    assert [s["event"] for s in paths[0]["flowSteps"]] == ["A", "X", "Z", "W", "B", "C"]
    assert [s["event"] for s in paths[1]["flowSteps"]] == ["A", "Q", "$dropoff"]


def test_breakdowns_are_answers_per_segment() -> None:
    seg = replace(TWO, anchors=(FlowAnchor("A", forward=1),), segments=(FlowSegment("country", "country"),))
    paths_us = [((), (("X",),), 3)]
    paths_de = [((), ((),), 1)]
    answer = build_answer(seg, paths_us + paths_de, "flows_sankey", [(("DE",), paths_de), (("US",), paths_us)])
    assert _nodes(answer, 1) == {"X": ("NORMAL", "3"), "$dropoff": ("DROPOFF", "1")}  # the whole flow on top
    assert [b["segments"] for b in answer["breakdowns"]] == [{"country": "US"}, {"country": "DE"}]  # biggest first
    assert answer["breakdowns"][0]["metadata"] == {"entries": 3}
    assert _nodes(answer["breakdowns"][1], 1) == {"$dropoff": ("DROPOFF", "1")}
