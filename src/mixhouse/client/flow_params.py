"""``build_flow_params``: the params of a flow report (``/arb_funnels``), re-exported from
``mixhouse.client.builders``.

Steps are event names or ``FlowStep`` (own forward/reverse, label, step filters as segfilters, ``session_event``
"start"/"end" for the ``$session_start``/``$session_end`` anchors); ``where`` takes property filters
(``filter_by_event``, all of them) and at most one ``Filter.in_cohort``/``not_in_cohort`` (``filter_by_cohort``);
``segments`` breaks the flow down by properties (names or ``GroupBy``, the ``group`` entries of insights);
``exclusions`` names events left out of the paths.

Rule codes: ``FL1_EMPTY_STEPS``, ``FL3_FORWARD_RANGE``/``FL4_REVERSE_RANGE`` (0 to 5 steps), ``FL5_NO_DIRECTION``
(forward and reverse both 0), ``FL6_CARDINALITY_RANGE`` (1 to 50), ``FL7_CONVERSION_WINDOW_POSITIVE``,
``FL_INVALID_MODE``, ``FL_INVALID_COUNT_TYPE``, the ``V7``-``V15`` date rules and ``CP*``/``SG*``/``BB*`` for filters.
A Mixhouse server runs all of these (several anchors, segments, ``filter_by_event``, session anchors; decision 31)
except relative datetime step filters, which it refuses by name (400) rather than run them otherwise.
"""

from __future__ import annotations

from typing import Any

from mixhouse.client.bookmark_sections import GroupItem, group_section, validate_time
from mixhouse.client.flow_filters import flow_cohort_filter, flow_property_filter, is_cohort_filter, step_filters
from mixhouse.client.query_specs import CohortBreakdown, Filter, FlowStep, FrequencyBreakdown, check_event_name
from mixhouse.client.spec_validation import _fail

MAX_STEPS_EACH_WAY = 5
COUNT_TYPES = ("unique", "total", "session")


def _step_entry(n: int, s: FlowStep, forward: int, reverse: int) -> dict[str, Any]:
    entry: dict[str, Any] = {"event": s.event, "step_label": s.label or s.event,
                             "forward": s.forward if s.forward is not None else forward,
                             "reverse": s.reverse if s.reverse is not None else reverse,
                             "bool_op": "or" if s.filters_combinator == "any" else "and",
                             "property_filter_params_list": step_filters(s.filters, f"steps[{n}].filters")}
    if s.session_event is not None:
        entry["session_event"] = s.session_event
    return entry


def _segments(segments: GroupItem | list[GroupItem]) -> list[dict[str, Any]]:
    items = segments if isinstance(segments, list | tuple) else [segments]
    if any(isinstance(g, CohortBreakdown | FrequencyBreakdown) for g in items):
        _fail("BB1_GROUP_BY_ELEMENT_TYPE", "flow segments take property names or GroupBy", "segments")
    return group_section(list(items))


def build_flow_params(event: str | FlowStep | list[str | FlowStep], *, forward: int = 3, reverse: int = 0,
                      from_date: str | None = None, to_date: str | None = None, last: int = 30,
                      conversion_window: int = 7, conversion_window_unit: str = "day", count_type: str = "unique",
                      cardinality: int = 3, collapse_repeated: bool = False, hidden_events: list[str] | None = None,
                      mode: str = "sankey", where: Filter | list[Filter] | None = None,
                      segments: GroupItem | list[GroupItem] | None = None, exclusions: list[str] | None = None,
                      data_group_id: int | str | None = None) -> dict[str, Any]:
    raw = event if isinstance(event, list | tuple) else [event]
    steps = [FlowStep(s) if isinstance(s, str) else s for s in raw]
    if not steps:
        _fail("FL1_EMPTY_STEPS", "a flow needs at least one step", "steps")
    for n, s in enumerate(steps):
        check_event_name(s.event, f"step {n}", f"steps[{n}]")
    if mode not in ("sankey", "paths", "tree"):
        _fail("FL_INVALID_MODE", f"mode must be sankey, paths or tree, not {mode!r}", "mode")
    if count_type not in COUNT_TYPES:
        _fail("FL_INVALID_COUNT_TYPE", f"count_type must be unique, total or session, not {count_type!r}",
              "count_type")
    if not 0 <= forward <= MAX_STEPS_EACH_WAY:
        _fail("FL3_FORWARD_RANGE", f"forward must be 0 to {MAX_STEPS_EACH_WAY}, not {forward}", "forward")
    if not 0 <= reverse <= MAX_STEPS_EACH_WAY:
        _fail("FL4_REVERSE_RANGE", f"reverse must be 0 to {MAX_STEPS_EACH_WAY}, not {reverse}", "reverse")
    if forward == 0 and reverse == 0 and all(s.forward is None and s.reverse is None for s in steps):
        _fail("FL5_NO_DIRECTION", "forward and reverse cannot both be 0", "forward")
    if not 1 <= cardinality <= 50:
        _fail("FL6_CARDINALITY_RANGE", f"cardinality must be 1 to 50, not {cardinality}", "cardinality")
    if conversion_window < 1:
        _fail("FL7_CONVERSION_WINDOW_POSITIVE", f"conversion_window must be positive, not {conversion_window}",
              "conversion_window")
    validate_time(from_date, to_date, last)
    step_dicts = [_step_entry(n, s, forward, reverse) for n, s in enumerate(steps)]
    date_range: dict[str, Any] = (
        {"type": "between", "from_date": from_date, "to_date": to_date}
        if from_date is not None and to_date is not None
        else {"type": "in the last", "from_date": {"unit": "day", "value": last}, "to_date": "$now"})
    params: dict[str, Any] = {
        "steps": step_dicts, "date_range": date_range, "chartType": "top-paths" if mode == "paths" else "sankey",
        "flows_merge_type": "tree" if mode == "tree" else "list" if mode == "paths" else "graph",
        "count_type": count_type, "cardinality_threshold": cardinality, "version": 2,
        "conversion_window": {"unit": conversion_window_unit, "value": conversion_window},
        "anchor_position": 1, "collapse_repeated": collapse_repeated, "show_custom_events": True,
        "hidden_events": hidden_events or [], "exclusions": list(exclusions or [])}
    for n, name in enumerate(params["exclusions"]):
        check_event_name(name, "an excluded event", f"exclusions[{n}]")
    if data_group_id is not None:
        params["data_group_id"] = data_group_id
    if segments is not None:
        params["segments"] = _segments(segments)
    if where is not None:
        filters = list(where) if isinstance(where, list | tuple) else [where]
        for f in filters:
            if not isinstance(f, Filter):
                _fail("B14_INVALID_FILTER_TYPE", f"where takes Filter objects, not {type(f).__name__}", "where")
        cohorts = [f for f in filters if is_cohort_filter(f)]
        plain = [f for f in filters if not is_cohort_filter(f)]
        if cohorts:
            params["filter_by_cohort"] = flow_cohort_filter(cohorts)
        if plain:
            params["filter_by_event"] = flow_property_filter(plain)
    return params
