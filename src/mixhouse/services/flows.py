"""Flows (``/arb_funnels``, spec §6.4): what users did before, between and after anchor events, as a sankey
(``flows_sankey``), top paths (``flows_top_paths``) or trees (``flows``). Params are the flat flow bookmark params
the client library's ``build_flow_params`` makes (read in ``services/flows_params.py``; the answer is built in
``services/flows_answer.py``).

Choices where Mixpanel documents nothing (docs/query-api.md lists them too; decision 31 for several anchors and
segments):

* Anchor steps (``steps``, 1–5: ``event``, ``forward`` ≤ 5, ``reverse`` ≤ 5; ``property_filter_params_list``
  segfilters joined by ``bool_op``, ``"source": "user"`` ones on the user's profile: only events that pass them are
  that step's anchor, ``query/segfilters.py``).
  ``count_type`` ``unique``: a user enters at their first first-step event in the range; ``total``: at every one;
  ``session``: at the first of each session, the path staying inside that session. A ``conversion_window`` in
  sessions (1–12) lets paths reach that many sessions from the entry's, its own included (sessions:
  ``query/sessions.py``). Users are canonical ids; the empty id never counts.
* ``session_event`` steps (``$session_start`` with ``start``, ``$session_end`` with ``end``; no step filters): the
  anchors are virtual events just before a session's first event and just after its last (sessions over every
  event, hidden and filtered ones included); they are anchors only, never steps of a path. A flow that enters at
  a session start/end takes no event-property segments (there is no entry event to read).
* Several anchors: the path passes through them in order. Anchor k+1 is the first event of step k+1 after anchor k,
  within the conversion window of the entry (and its session bounds), with no ``exclusions`` event before it; the
  date range applies to the entry only. Between two anchors the sankey shows the first ``forward`` events after
  the one and the last ``reverse`` events before the other (columns left empty when fewer happened; the edge then
  skips to the next filled column). A path that misses the next anchor shows the events after its last anchor
  (first ``forward``) and ``$dropoff`` right after them.
* Forward step k is the k-th event after an anchor within the conversion window (``conversion_window``: day, week
  or month = 30 days, measured from the entry), hidden events left out, consecutive repeats merged with
  ``collapse_repeated`` (within each stretch, the anchor counting as its first event); an event in ``exclusions``
  ends the path there. Reverse steps of the first anchor likewise, backwards. A path that ends early shows
  ``$dropoff`` (type ``DROPOFF``) at the next step and nothing after.
* ``filter_by_event`` (``{"operator", "children": [{"propertyName", "filterOperator", ..., "resourceType"}]}``;
  ``people`` children read the user's profile): only events that pass it are in a flow (anchors and steps alike);
  sessions still count every event. ``filter_by_cohort``: only the cohort's members (negated: everyone else),
  members as of today.
* ``segments`` (at most 3): event or profile properties, cohorts as Insights' ``CohortBreakdown`` writes them, or
  Insights' ``FrequencyBreakdown`` (``behavior.behaviorType`` ``$frequency``). An entry falls in the segment of its
  entry event's (profile: its user's) value (``on`` keys: a list property puts it in one segment per item, no value
  is ``"undefined"``), of each listed cohort its user is in (none: no segment), or of how many times its user did
  the event over the flow's range (or the entry's own ``in the last`` window), labelled as Insights labels counts
  and ``customBucket`` buckets (decision 30); a property segment with ``customBucket`` puts numbers in ranges as
  Insights breakdowns do (decision 39, ``query/number_buckets.py``); with several segments, every combination.
  ``breakdowns`` lists one ``{"segments": {label: key}, "segment": [keys], "steps", "flows", "overallConversionRate",
  "metadata"}`` (and ``trees``) per key, most entries first, at most 50; the top-level answer stays the whole flow.
* Per step, the ``cardinality_threshold`` events with the most users are kept (ties by name); the others are one
  ``$other`` node (type ``PRUNED``). ``overallConversionRate`` = share of entries that reach the last column.
* ``steps[i].nodes[j]``: ``event``, ``type`` (``ANCHOR``, ``NORMAL``, ``PRUNED``, ``DROPOFF``), ``totalCount`` (a
  string, as Mixpanel sends it), ``anchorType``, ``edges`` to the next filled step's nodes. Top paths: the 50 most
  common (``flowSteps`` with each step's count); trees: the prefix tree from the first anchor on with
  ``totalCount``, ``dropOffTotalCount`` and ``convertedTotalCount`` per node.
* Datetime step filters (``MM/DD/YYYY`` days in the project's timezone: on, not on, before, since, between;
  ``services/flows_filters.py``). ``date_range``: ``between``, ``since``, ``on``, ``in the last`` or
  ``relative_after``. Not supported (400): relative datetime step filters, group properties.
* ``data_group_id`` (group analytics, decision 0043): the flow follows groups instead of users. It names a group
  key (an event property); an event is in the flow of each group its value names (a list: each item), whoever did
  it, and events naming no group are in none. Refused with it: cohort filters and segments, profile filters and
  segments, frequency segments and sessions (``count_type: session``, session windows and session steps).
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

import orjson

from mixhouse.errors import ValidationError
from mixhouse.expr import compile_filter, compile_values
from mixhouse.expr.ast import Property
from mixhouse.meta.records import Project
from mixhouse.query.by_user_reads import COVERAGE_SQL, by_user_exact, by_user_pays, coverage_params
from mixhouse.query.flows import EVENT_NAMES_SQL, NAME_CODE_LIMIT, flows_sql
from mixhouse.query.group_source import group_ids_fragment
from mixhouse.query.insights import frequency_counts_sql
from mixhouse.query.number_buckets import bucketed_keys_sql
from mixhouse.query.where import EVENT_CONTEXT
from mixhouse.services.flows_answer import DROPOFF, OTHER, TOP_PATHS, Paths, breakdown_groups, build_answer
from mixhouse.services.flows_params import FlowAnchor, FlowQuery, FlowSegment, parse_flow
from mixhouse.services.insights_audience import CohortMembers, Profiles
from mixhouse.services.insights_frequency import FrequencyBreakdown, frequency_label
from mixhouse.storage.base import Backend

__all__ = ["DROPOFF", "OTHER", "QUERY_TYPES", "TOP_PATHS", "FlowAnchor", "FlowQuery", "FlowSegment", "Paths",
           "build_answer", "flow_paths", "flow_rows", "parse_flow", "run_flow"]

QUERY_TYPES = ("flows_sankey", "flows_top_paths", "flows")

#: (reverse, after, keys per segment, entries) per distinct outcome.
FlowRows = list[tuple[tuple[str, ...], tuple[tuple[str, ...], ...], tuple[tuple[str, ...], ...], int]]


#: Expressions over the event source, ``user[...]`` read from the bound profiles (``{flow_profiles:Map}``).
_CONTEXT = replace(EVENT_CONTEXT, user_properties_column="{flow_profiles:Map(String, String)}[distinct_id]")


def _frequency_keys(backend: Backend, project: Project, query: FlowQuery, n: int, frequency: FrequencyBreakdown,
                    params: dict[str, Any]) -> str:
    """``[label]`` of how many times the user did the event, over its own window or the flow's date range (users
    who did not: the label of 0); the counts are one query, bound as a ``Map(String, String)``."""
    prefix = f"sgf{n}"
    start_ms, end_ms = (frequency.dates or query.dates).bounds_ms(project.timezone or "UTC")
    count_params: dict[str, Any] = {"project_id": project.id, f"{prefix}_event": frequency.event,
                                    f"{prefix}_from_ms": start_ms, f"{prefix}_to_ms": end_ms}
    where_sql = None
    if frequency.where is not None:
        fragment = compile_filter(frequency.where, replace(EVENT_CONTEXT, param_prefix=f"{prefix}w"))
        where_sql = fragment.sql
        count_params.update(fragment.params)
    rows = backend.query_rows(frequency_counts_sql(prefix, "''", where_sql), count_params)
    params[f"{prefix}_labels"] = {str(row["user"]): frequency_label(int(row["n"]), frequency.buckets) for row in rows}
    params[f"{prefix}_zero"] = frequency_label(0, frequency.buckets)
    labels = f"{{{prefix}_labels:Map(String, String)}}"
    return f"[if(mapContains({labels}, distinct_id), {labels}[distinct_id], {{{prefix}_zero:String}})]"


def _segment_keys(backend: Backend, project: Project, query: FlowQuery, cohorts: CohortMembers | None,
                  params: dict[str, Any]) -> list[str]:
    """``Array(String)`` SQL per segment, over the event source (the entry event)."""
    keys = []
    for n, segment in enumerate(query.segments):
        if segment.frequency is not None:
            keys.append(_frequency_keys(backend, project, query, n, segment.frequency, params))
            continue
        if segment.property is not None:
            prop = segment.expr if segment.expr is not None else \
                Property(segment.property, "user" if segment.on_profile else "properties")
            fragment = compile_values(prop, replace(_CONTEXT, param_prefix=f"sg{n}_"))
            params.update(fragment.params)
            if segment.buckets is not None:
                fragment = bucketed_keys_sql(fragment.sql, segment.buckets, f"sgb{n}")
                params.update(fragment.params)
            keys.append(f"if(empty({fragment.sql}), ['undefined'], {fragment.sql})")
            continue
        if cohorts is None:
            raise ValidationError("cohort segments need the server's cohorts")
        parts = []
        for m, (ref, negated, label) in enumerate(segment.cohorts):
            params[f"sgc{n}_{m}"], params[f"sgc{n}_{m}_label"] = sorted(cohorts(ref)), label
            test = f"distinct_id {'NOT IN' if negated else 'IN'} {{sgc{n}_{m}:Array(String)}}"
            parts.append(f"if({test}, [{{sgc{n}_{m}_label:String}}], CAST([] AS Array(String)))")
        keys.append(f"arrayConcat({', '.join(parts)})" if len(parts) > 1 else parts[0])
    return keys


def _group_ids(query: FlowQuery, params: dict[str, Any]) -> str | None:
    """A flow of groups: the SQL of an event's group ids (its parameters added to ``params``); else ``None``."""
    if query.data_group is None:
        return None
    fragment = group_ids_fragment(query.data_group)
    params.update(fragment.params)
    return fragment.sql


def _by_user_reads(backend: Backend, query: FlowQuery, window: dict[str, Any]) -> dict[str, bool]:
    """``flows_sql``'s ``by_user`` and ``by_user_exact``: whether a flow with no filters, sessions or segments reads
    the by-user copy of its scan window's events (``query.by_user_reads.by_user_pays``), and whether the copy holds
    one copy of each event there (``by_user_exact``: settled data) or copies must be dropped as it is read."""
    plain = query.where is None and not query.segments and not query.per_session and query.data_group is None \
        and query.window_sessions is None and all(a.filter is None and not a.session_event for a in query.anchors)
    if not plain:
        return {"by_user": False}
    coverage = backend.query_rows(COVERAGE_SQL, coverage_params(window["scan_from_ms"], window["scan_to_ms"] + 1))
    return {"by_user": by_user_pays(coverage), "by_user_exact": by_user_exact(coverage)}


def flow_rows(backend: Backend, project: Project, query: FlowQuery, cohorts: CohortMembers | None = None,
              profiles: Profiles | None = None) -> FlowRows:
    """Every distinct (reverse, after, segment keys) with its entries; ``cohorts`` resolves cohort filters and
    segments, ``profiles`` the user profiles a filter or segment reads."""
    timezone = project.timezone or "UTC"
    start_ms, end_ms = query.dates.bounds_ms(timezone)
    window = {"project_id": project.id, "scan_from_ms": start_ms - query.window_ms,
              "scan_to_ms": end_ms + query.window_ms}
    present = sorted(str(row["name"]) for row in backend.query_rows(EVENT_NAMES_SQL, window))
    names = [name for name in present if name not in query.hidden]
    if query.anchor not in names and not query.anchors[0].session_event:
        return []
    if len(names) + 2 >= NAME_CODE_LIMIT:
        raise ValidationError("too many distinct event names in the flow's range")
    codes = {name: n for n, name in enumerate(names, 1)}
    # session starts and ends, when steps use them: virtual events coded after every real name
    session_codes = {"start": len(names) + 1, "end": len(names) + 2}
    params: dict[str, Any] = {
        **window,
        "start_ms": start_ms,
        "end_ms": end_ms,
        "window_ms": query.window_ms,
        "names": names,
        "codes": list(codes.values()),
        "anchor_names": [anchor.event for anchor in query.anchors],
        "anchor_codes": [session_codes[anchor.session_event] if anchor.session_event else codes.get(anchor.event, 0)
                         for anchor in query.anchors],
        "session_codes": list(session_codes.values()),
        "last_code": len(names),
        "excluded_codes": [codes[name] for name in query.excluded if name in codes],
        "tz": timezone,
    }
    for k, anchor in enumerate(query.anchors):
        params[f"forward_{k}"], params[f"reverse_{k}"] = anchor.forward, anchor.reverse
    if query.reads_profiles:
        if profiles is None:
            raise ValidationError("filters and segments on user profile properties need the server's profiles")
        params["flow_profiles"] = {uid: orjson.dumps(props).decode() for uid, props in profiles()}
    if query.window_sessions is not None:
        params["window_sessions"] = query.window_sessions
    anchor_filters: list[str | None] = []
    for k, anchor in enumerate(query.anchors):
        if anchor.filter is None:
            anchor_filters.append(None)
            continue
        fragment = compile_filter(anchor.filter, replace(_CONTEXT, param_prefix=f"af{k}_"))
        anchor_filters.append(fragment.sql)
        params.update(fragment.params)
    where = None
    if query.where is not None:
        fragment = compile_filter(query.where, replace(_CONTEXT, param_prefix="fe"))
        where = fragment.sql
        params.update(fragment.params)
    users = None
    if query.cohort is not None:
        if cohorts is None:
            raise ValidationError("filter_by_cohort needs the server's cohorts")
        params["flow_cohort"] = sorted(cohorts(query.cohort))
        users = f"distinct_id {'NOT IN' if query.cohort_negated else 'IN'} {{flow_cohort:Array(String)}}"
    sql = flows_sql(anchors=len(query.anchors), totals=query.totals, collapse=query.collapse,
                    **_by_user_reads(backend, query, window),
                    per_session=query.per_session, window_sessions=query.window_sessions is not None,
                    anchor_filters=anchor_filters, where=where, users=users,
                    segment_keys=_segment_keys(backend, project, query, cohorts, params),
                    session_steps=[anchor.session_event for anchor in query.anchors],
                    group_ids_sql=_group_ids(query, params))

    by_code = ["", *names].__getitem__  # codes count from 1

    def decoded(found: list[int]) -> tuple[str, ...]:
        return tuple(map(by_code, found))

    return [(decoded(r["reverse"]), tuple(decoded(part) for part in r["after"]),
             tuple(tuple(str(key) for key in keys) for keys in r["keys"]), int(r["users"]))
            for r in backend.query_rows(sql, params)]


def _merged(rows: FlowRows) -> Paths:
    """The rows' paths with their segment keys left out."""
    merged: dict[tuple[tuple[str, ...], tuple[tuple[str, ...], ...]], int] = {}
    for reverse, after, _, users in rows:
        merged[(reverse, after)] = merged.get((reverse, after), 0) + users
    return [(reverse, after, users) for (reverse, after), users in merged.items()]


def flow_paths(backend: Backend, project: Project, query: FlowQuery, cohorts: CohortMembers | None = None,
               profiles: Profiles | None = None) -> Paths:
    """(reverse names, after names per anchor reached, entries) for every distinct path, segments ignored."""
    return _merged(flow_rows(backend, project, query, cohorts, profiles))


def run_flow(backend: Backend, project: Project, query: FlowQuery, query_type: str,
             cohorts: CohortMembers | None = None, profiles: Profiles | None = None) -> dict[str, Any]:
    if query_type not in QUERY_TYPES:
        raise ValidationError(f"query_type must be one of {', '.join(QUERY_TYPES)}")
    rows = flow_rows(backend, project, query, cohorts, profiles)
    groups = breakdown_groups(rows, lambda keys: list(itertools.product(*keys))) if query.segments else []
    return build_answer(query, _merged(rows), query_type, groups)
