"""``build_user_params``: the engage params ``query_user`` sends (profiles: ``POST /engage``; aggregate:
``/engage/stats``), and ``filter_to_selector`` (a ``Filter`` as an engage ``where`` selector expression).
Re-exported from ``mixhouse.client.builders``.

Every broken rule is collected before refusing (``details["errors"]`` lists them; ``rule`` is the first), with the
client library's codes: ``U0`` (``where`` items are Filters), ``U1`` (distinct_id and distinct_ids together),
``U2`` (``cohort`` and a ``Filter.in_cohort``), ``U3`` (limit at least 1), ``U4`` (distinct_ids empty), ``U5``
(sort_by blank), ``U6``/``U8`` (as_of a real date, not in the future), ``U7`` (include_all_users needs a cohort),
``U10`` (a filter's property blank), ``U11``/``U29`` (properties), ``U12`` (``Filter.not_in_cohort`` has no engage
form), ``U13`` (at most one ``Filter.in_cohort``), ``U14``/``U15`` (aggregate_property with extremes, percentile,
numeric_summary and not with count), ``U16``/``U17`` (segment_by: positive cohort ids, aggregate mode only),
``U18``-``U22`` and ``U30`` (parallel, sort_by, search, distinct_id(s), properties and as_of are for profiles mode),
``U23`` (workers 1 to 5), ``U25`` (custom properties have no engage selector), ``U26``-``U28`` (percentile: needed
by, and only by, aggregate percentile; strictly between 0 and 100), ``U_FILTER`` (a filter with no selector form).
"""

from __future__ import annotations

import calendar
import json
from datetime import date
from typing import Any

from mixhouse.client.cohort_specs import CohortDefinition, raw_cohort
from mixhouse.client.query_specs import Filter
from mixhouse.client.spec_validation import Problems, _fail
from mixhouse.errors import BookmarkValidationError, NotSupportedError

MAX_WORKERS = 5


def _selector_value(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool) or not isinstance(value, int | float):
        _fail("U_FILTER", f"a selector value must be a string or a number, not {value!r}", "where")
    return str(value)


def _selector_number(value: Any, op: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        _fail("U_FILTER", f"{op} expects numbers, not {value!r}", "where")
    return str(value)


def _selector_prop(name: str) -> str:
    return 'properties["' + name.replace("\\", "\\\\").replace('"', '\\"') + '"]'


def filter_to_selector(f: Filter) -> str:
    """An engage ``where`` selector expression for one filter."""
    if not isinstance(f._property, str):
        _fail("U25", "custom properties have no engage selector", "where")
    prop, op, value = _selector_prop(f._property), f._operator, f._value
    if op in ("equals", "does not equal"):
        if not isinstance(value, list):
            _fail("U_FILTER", f"{op} expects a list of values", "where")
        comparator, joiner = ("==", " or ") if op == "equals" else ("!=", " and ")
        parts = [f"{prop} {comparator} {_selector_value(v)}" for v in value if isinstance(v, str | int | float)]
        if not parts:
            _fail("U_FILTER", f"{op} has no scalar values", "where")
        return f"({joiner.join(parts)})" if len(parts) > 1 and op == "equals" else joiner.join(parts)
    simple = {"contains": "{v} in {p}", "does not contain": "not {v} in {p}", "is greater than": "{p} > {v}",
              "is less than": "{p} < {v}", "is at least": "{p} >= {v}", "is at most": "{p} <= {v}"}
    if op in simple:
        return simple[op].format(p=prop, v=_selector_value(value))
    if op in ("is between", "not between"):
        if not isinstance(value, list) or len(value) != 2:
            _fail("U_FILTER", f"{op} expects two values", "where")
        lo, hi = (_selector_number(v, op) for v in value)
        return f"{prop} >= {lo} and {prop} <= {hi}" if op == "is between" else f"({prop} < {lo} or {prop} > {hi})"
    named = {"is set": "defined({p})", "is not set": "not defined({p})", "true": "{p} == true",
             "false": "{p} == false"}
    if op in named:
        return named[op].format(p=prop)
    raise NotSupportedError(f"the {op!r} filter has no engage selector in this client yet",
                            details={"method": "query_user"})


def _is_cohort_filter(f: Filter) -> bool:
    return f._property == "$cohorts" and isinstance(f._value, list) and bool(f._value) and \
        isinstance(f._value[0], dict)


def _check_where(where: Any, problems: Problems) -> tuple[list[Filter], list[Filter]]:
    """(plain filters, in-cohort filters) of a typed ``where``."""
    items = [where] if isinstance(where, Filter) else list(where)
    plain, cohorts = [], []
    for n, f in enumerate(items):
        if not isinstance(f, Filter):
            problems.add("U0", f"where must be a Filter, list[Filter], str, or None (got {type(f).__name__})",
                         f"where[{n}]")
        elif _is_cohort_filter(f):
            if f._operator == "does not contain":
                problems.add("U12", "Filter.not_in_cohort has no engage form; use cohort= with an inline "
                             "CohortDefinition", f"where[{n}]")
            cohorts.append(f)
        elif not isinstance(f._property, str):
            problems.add("U25", "custom properties have no engage selector", f"where[{n}]._property")
        elif not f._property.strip():
            problems.add("U10", "a filter's property must not be blank", f"where[{n}]._property")
        else:
            plain.append(f)
    if len(cohorts) > 1:
        problems.add("U13", "at most one Filter.in_cohort in where", "where")
    return plain, cohorts


def _as_of_day(as_of: str, problems: Problems) -> date | None:
    try:
        day = date.fromisoformat(as_of)
    except ValueError:
        problems.add("U6", f"as_of must be a YYYY-MM-DD date or a Unix timestamp, not {as_of!r}", "as_of")
        return None
    if day > date.today():
        problems.add("U8", f"as_of {as_of} is in the future", "as_of")
    return day


def _check_options(problems: Problems, *, mode: str, aggregate: str, aggregate_property: str | None,
                   percentile: float | None, segment_by: list[int] | None, properties: list[str] | None,
                   sort_by: str | None, search: str | None, distinct_id: str | None,
                   distinct_ids: list[str] | None, as_of: str | int | None, limit: int | None, parallel: bool,
                   workers: int, has_cohort: bool, include_all_users: bool) -> None:
    """The rules on the options themselves (``where`` is checked apart)."""
    if distinct_id is not None and distinct_ids is not None:
        problems.add("U1", "pass distinct_id or distinct_ids, not both", "distinct_id")
    if limit is not None and limit < 1:
        problems.add("U3", f"limit must be at least 1 (None for all), not {limit}", "limit")
    if distinct_ids is not None and not distinct_ids:
        problems.add("U4", "distinct_ids must not be empty", "distinct_ids")
    if sort_by is not None and not sort_by.strip():
        problems.add("U5", "sort_by must not be blank", "sort_by")
    if include_all_users and not has_cohort:
        problems.add("U7", "include_all_users needs a cohort (cohort= or Filter.in_cohort)", "include_all_users")
    if properties is not None:
        if not properties:
            problems.add("U29", "properties must not be empty (None for all)", "properties")
        for n, name in enumerate(properties):
            if not isinstance(name, str) or not name.strip():
                problems.add("U11", "property names must not be blank", f"properties[{n}]")
    if isinstance(as_of, str):
        _as_of_day(as_of, problems)
    if mode == "aggregate":
        if aggregate != "count" and not aggregate_property:
            problems.add("U14", f"aggregate {aggregate!r} needs aggregate_property", "aggregate_property")
        if aggregate == "count" and aggregate_property is not None:
            problems.add("U15", "aggregate 'count' takes no aggregate_property", "aggregate_property")
        for n, cohort_id in enumerate(segment_by or []):
            if isinstance(cohort_id, bool) or not isinstance(cohort_id, int) or cohort_id <= 0:
                problems.add("U17", f"segment_by takes positive cohort ids, not {cohort_id!r}", f"segment_by[{n}]")
    elif segment_by is not None:
        problems.add("U16", "segment_by needs mode='aggregate'", "segment_by")
    if mode == "aggregate":
        for code, name, given in (("U18", "parallel", parallel), ("U19", "sort_by", sort_by is not None),
                                  ("U20", "search", search is not None),
                                  ("U21", "distinct_id", distinct_id is not None or distinct_ids is not None),
                                  ("U22", "properties", properties is not None)):
            if given:
                problems.add(code, f"{name} is for mode='profiles'", name)
    if not 1 <= workers <= MAX_WORKERS:
        problems.add("U23", f"workers must be 1 to {MAX_WORKERS}, not {workers}", "workers")
    if mode == "aggregate" and aggregate == "percentile" and percentile is None:
        problems.add("U26", "aggregate 'percentile' needs percentile", "percentile")
    if percentile is not None and not (mode == "aggregate" and aggregate == "percentile"):
        problems.add("U27", "percentile is only for aggregate='percentile'", "percentile")
    elif percentile is not None and not 0 < percentile < 100:
        problems.add("U28", f"percentile must be strictly between 0 and 100, not {percentile}", "percentile")
    if mode == "aggregate" and as_of is not None:
        problems.add("U30", "as_of is for mode='profiles'", "as_of")


def build_user_params(*, where: Filter | list[Filter] | str | None = None,
                      cohort: int | CohortDefinition | None = None,
                      properties: list[str] | None = None, sort_by: str | None = None,
                      sort_order: str = "descending", search: str | None = None, distinct_id: str | None = None,
                      distinct_ids: list[str] | None = None, group_id: str | None = None,
                      as_of: str | int | None = None, mode: str = "aggregate", aggregate: str = "count",
                      aggregate_property: str | None = None, percentile: float | None = None,
                      segment_by: list[int] | None = None, limit: int | None = 1, parallel: bool = False,
                      workers: int = MAX_WORKERS, include_all_users: bool = False,
                      **_ignored: Any) -> dict[str, Any]:
    """The engage params ``query_user`` sends (profiles mode: ``POST /engage``; aggregate: ``/engage/stats``).
    ``limit``, ``parallel`` and ``workers`` are checked here and used by the caller, not sent."""
    if mode not in ("profiles", "aggregate"):
        _fail("U_MODE", f"mode must be profiles or aggregate, not {mode!r}", "mode")
    if sort_order not in ("ascending", "descending"):
        _fail("U_SORT_ORDER", f"sort_order must be ascending or descending, not {sort_order!r}", "sort_order")
    if aggregate not in ("count", "extremes", "percentile", "numeric_summary"):
        _fail("U_AGGREGATE", f"aggregate must be count, extremes, percentile or numeric_summary, not {aggregate!r}",
              "aggregate")
    problems = Problems()
    plain: list[Filter] = []
    cohort_filters: list[Filter] = []
    if where is not None and not isinstance(where, str):
        plain, cohort_filters = _check_where(where, problems)
        if cohort is not None and cohort_filters:
            problems.add("U2", "pass cohort= or a Filter.in_cohort in where, not both", "cohort")
    _check_options(problems, mode=mode, aggregate=aggregate, aggregate_property=aggregate_property,
                   percentile=percentile, segment_by=segment_by, properties=properties, sort_by=sort_by,
                   search=search, distinct_id=distinct_id, distinct_ids=distinct_ids, as_of=as_of, limit=limit,
                   parallel=parallel, workers=workers, has_cohort=cohort is not None or bool(cohort_filters),
                   include_all_users=include_all_users)
    problems.raise_if_any()
    params: dict[str, Any] = {}
    if isinstance(where, str):
        params["where"] = where
    elif plain:
        try:
            params["where"] = " and ".join(filter_to_selector(f) for f in plain)
        except BookmarkValidationError as exc:
            _fail(exc.rule, exc.message, "where")
    if isinstance(cohort, CohortDefinition):
        params["filter_by_cohort"] = json.dumps({"raw_cohort": raw_cohort(cohort)})
    elif cohort is not None:
        params["filter_by_cohort"] = json.dumps({"id": cohort})
    elif cohort_filters:
        inner = cohort_filters[0]._value[0].get("cohort") or {}
        if "id" in inner:
            params["filter_by_cohort"] = json.dumps({"id": inner["id"]})
        elif "raw_cohort" in inner:
            params["filter_by_cohort"] = json.dumps({"raw_cohort": inner["raw_cohort"]})
        else:
            _fail("U_COHORT", "Filter.in_cohort() value has no id or raw_cohort", "where")
    if properties is not None:
        params["output_properties"] = json.dumps(properties)
    if sort_by is not None:
        params["sort_key"] = _selector_prop(sort_by)
        params["sort_order"] = sort_order
    if as_of is not None:
        params["as_of_timestamp"] = calendar.timegm(date.fromisoformat(as_of).timetuple()) \
            if isinstance(as_of, str) else as_of
    if distinct_id is not None:
        params["distinct_id"] = distinct_id
    if distinct_ids is not None:
        params["distinct_ids"] = json.dumps(distinct_ids)
    if group_id is not None:
        params["data_group_id"] = group_id
    if search is not None:
        params["search"] = search
    if "filter_by_cohort" in params:
        params["include_all_users"] = include_all_users
    if mode == "aggregate":
        prop = _selector_prop(aggregate_property or "")
        params["action"] = {"count": "count()", "percentile": f"percentile({prop}, {percentile})"}.get(
            aggregate, f"{aggregate}({prop})")
        if segment_by:
            params["segment_by_cohorts"] = json.dumps({str(c): True for c in segment_by})
    return params
