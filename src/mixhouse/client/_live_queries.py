"""``Workspace`` method groups: live queries (Query API), bookmark params and typed queries."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from mixhouse.client import builders as b
from mixhouse.client import types as t
from mixhouse.client import user_aggregate
from mixhouse.client._base import WorkspaceBase, _today, _transform_profile
from mixhouse.errors import BookmarkValidationError, QueryError


def _dict(value: Any, *keys: str) -> dict[str, Any]:
    """``value[k1][k2]...`` when every level is an object, else ``{}`` (answers are read defensively)."""
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, dict) else {}


def _error_of(body: Any) -> str:
    return str(body.get("error")) if isinstance(body, dict) and body.get("error") else "unexpected answer"


class LiveQueriesMixin(WorkspaceBase):
    """Live queries, running bookmark params and the typed (builder-backed) queries."""

    # ------------------------------------------------------------------------------------------------- live queries
    def segmentation(self, event: str, *, from_date: str, to_date: str, on: str | None = None, unit: str = "day",
                     where: str | None = None) -> t.SegmentationResult:
        """Counts of one event over time, optionally split by a property (GET /api/query/segmentation).

        ``on`` is the property expression to split by, ``where`` a filter expression; ``total`` in the
        result sums every series."""
        body = self._api.query_request("GET", "query", "/segmentation", params={
            "event": event, "from_date": from_date, "to_date": to_date, "unit": unit, "type": "general",
            "on": on, "where": where})
        values = _dict(body, "data", "values")
        total = sum(v for series in values.values() for v in series.values() if isinstance(v, int | float))
        return t.SegmentationResult(event=event, from_date=from_date, to_date=to_date, unit=unit,
                                    segment_property=on, total=total, series=values).with_raw(body)

    def funnel(self, funnel_id: int, *, from_date: str, to_date: str, unit: str | None = None,
               on: str | None = None) -> t.FunnelResult:
        """Step counts and conversion of a saved funnel over a date range (GET /api/query/funnels).

        Counts are summed over the range; each step's ``conversion_rate`` is relative to the step before."""
        body = self._api.query_request("GET", "query", "/funnels", params={
            "funnel_id": funnel_id, "from_date": from_date, "to_date": to_date, "unit": unit, "on": on})
        totals: dict[int, tuple[str, int]] = {}
        for day in (_dict(body, "data")).values():
            steps = day.get("steps") if isinstance(day, dict) and "steps" in day else (day or {}).get("$overall")
            for i, step in enumerate(steps or []):
                name = str(step.get("event", step.get("goal", f"Step {i + 1}")))
                totals[i] = (name, totals.get(i, (name, 0))[1] + int(step.get("count", 0)))
        steps_out: list[t.FunnelResultStep] = []
        previous = None
        for i in sorted(totals):
            name, count = totals[i]
            rate = 1.0 if previous is None else (count / previous if previous else 0.0)
            steps_out.append(t.FunnelResultStep(event=name, count=count, conversion_rate=rate))
            previous = count
        first = steps_out[0].count if steps_out else 0
        overall = steps_out[-1].count / first if steps_out and first else 0.0
        return t.FunnelResult(funnel_id=funnel_id, funnel_name="", from_date=from_date, to_date=to_date,
                              conversion_rate=overall, steps=steps_out).with_raw(body)

    def retention(self, *, born_event: str, return_event: str, from_date: str, to_date: str,
                  born_where: str | None = None, return_where: str | None = None, interval: int = 1,
                  interval_count: int = 10, unit: str = "day") -> t.RetentionResult:
        """Birth retention: cohorts of users who did ``born_event`` and came back with ``return_event``
        (GET /api/query/retention).

        Each cohort's ``retention`` holds the returning share of its size per interval; ``interval`` other
        than 1 is sent instead of ``unit``."""
        params: dict[str, Any] = {"born_event": born_event, "event": return_event, "from_date": from_date,
                                  "to_date": to_date, "retention_type": "birth", "interval_count": interval_count}
        if interval != 1:
            params["interval"] = interval
        else:
            params["unit"] = unit
        params["born_where"] = born_where or None
        params["where"] = return_where or None
        body = self._api.query_request("GET", "query", "/retention", params=params)
        cohorts = []
        for day in sorted(body or {}):
            entry = body[day]
            if not isinstance(entry, dict):
                continue
            size = int(entry.get("first", 0))
            cohorts.append(t.CohortInfo(date=day, size=size,
                                        retention=[c / size if size else 0.0 for c in entry.get("counts", [])]))
        return t.RetentionResult(born_event=born_event, return_event=return_event, from_date=from_date,
                                 to_date=to_date, unit=unit, cohorts=cohorts).with_raw(body)

    def event_counts(self, events: list[str], *, from_date: str, to_date: str, type: str = "general",
                     unit: str = "day") -> t.EventCountsResult:
        """Counts of several events over time, one series per event (GET /api/query/events).

        ``type``: general, unique or average; ``unit``: the time bucket."""
        body = self._api.query_request("GET", "query", "/events", params={
            "event": json.dumps(events), "type": type, "unit": unit, "from_date": from_date, "to_date": to_date})
        values = _dict(body, "data", "values")
        return t.EventCountsResult(events=events, from_date=from_date, to_date=to_date, unit=unit, type=type,
                                   series=values).with_raw(body)

    def property_counts(self, event: str, property_name: str, *, from_date: str, to_date: str,
                        type: str = "general", unit: str = "day", values: list[str] | None = None,
                        limit: int | None = None) -> t.PropertyCountsResult:
        """Counts of one event split by the values of one property, over time
        (GET /api/query/events/properties).

        ``values`` keeps only those property values; ``limit`` caps how many values are returned."""
        params: dict[str, Any] = {"event": event, "name": property_name, "type": type, "unit": unit,
                                  "from_date": from_date, "to_date": to_date}
        if values is not None:
            params["values"] = json.dumps(values)
        params["limit"] = limit
        body = self._api.query_request("GET", "query", "/events/properties", params=params)
        series = _dict(body, "data", "values")
        return t.PropertyCountsResult(event=event, property_name=property_name, from_date=from_date,
                                      to_date=to_date, unit=unit, type=type, series=series).with_raw(body)

    def activity_feed(self, distinct_ids: list[str], *, from_date: str | None = None, to_date: str | None = None,
                      limit: int | None = None, include_events: list[str] | None = None,
                      exclude_events: list[str] | None = None, sentinel_event: dict[str, Any] | None = None,
                      paging_window: int | None = None, search: str | None = None,
                      search_properties: list[str] | None = None,
                      use_custom_events: bool = False) -> t.ActivityFeedResult:
        """Events of the given users, in time order (POST /api/query/stream/bookmark).

        Without dates it covers the last 30 days (30 days up to ``to_date`` when only that is given).
        Needs a workspace id: the pinned one, else ``resolve_workspace_id()``."""
        if from_date and to_date:
            date_range: dict[str, Any] = {"type": "between", "from": from_date, "to": to_date}
        elif from_date:
            date_range = {"type": "since", "from": from_date}
        elif to_date:
            start = (date.fromisoformat(to_date) - timedelta(days=30)).isoformat()
            date_range = {"type": "between", "from": start, "to": to_date}
        else:
            date_range = {"type": "relative_after", "window": {"unit": "day", "value": 30}}
        body: dict[str, Any] = {
            "project_id": self.project.id, "workspace_id": self._api.resolve_workspace_id(),
            "bookmark": {"dateRange": date_range, "entries": []}, "distinct_ids": list(distinct_ids),
            "mode": "raw"}
        optional = {"limit": limit, "include_events": include_events, "exclude_events": exclude_events,
                    "sentinel_event": sentinel_event, "paging_window": paging_window, "search": search,
                    "search_properties": search_properties}
        body.update({k: v for k, v in optional.items() if v is not None})
        if use_custom_events:
            body["use_custom_events"] = True
        answer = self._api.query_request("POST", "query", "/stream/bookmark", json=body, inject_project_id=False)
        results = answer.get("results") or {} if isinstance(answer, dict) else {}
        events = []
        for e in results.get("events") or []:
            props = dict(e.get("properties") or {})
            stamp = props.get("time")
            when = datetime.fromtimestamp(stamp, tz=UTC).isoformat() if isinstance(stamp, int | float) \
                else str(stamp or "")
            events.append(t.UserEvent(event=str(e.get("event", "")), time=when, properties=props))
        return t.ActivityFeedResult(distinct_ids=list(distinct_ids), from_date=from_date, to_date=to_date,
                                    events=events, sentinel_event=results.get("sentinel_event")).with_raw(answer)

    def query_saved_report(self, bookmark_id: int, *, bookmark_type: str = "insights",
                           from_date: str | None = None, to_date: str | None = None) -> t.SavedReportResult:
        """Run a saved report (GET /api/query/insights, /retention, /funnels or /arb_funnels, by ``bookmark_type``).

        Insights and retention go by ``bookmark_id``; funnels by ``funnel_id`` (last 30 days unless dates are given);
        flows through ``query_saved_flows``."""
        if bookmark_type == "funnels":
            end = to_date or _today()
            start = from_date or (date.fromisoformat(end) - timedelta(days=30)).isoformat()
            body = self._api.query_request("GET", "query", "/funnels",
                                     params={"funnel_id": bookmark_id, "from_date": start, "to_date": end})
            return t.SavedReportResult(bookmark_id=bookmark_id, computed_at=str(body.get("computed_at", "")),
                                       from_date=start, to_date=end, series=_dict(body, "data"),
                                       report_type="funnels").with_raw(body)
        if bookmark_type == "flows":
            flows = self.query_saved_flows(bookmark_id)
            return t.SavedReportResult(bookmark_id=bookmark_id, computed_at=flows.computed_at,
                                       series={"steps": flows.steps}, report_type="flows").with_raw(flows.raw)
        path = "/retention" if bookmark_type == "retention" else "/insights"
        body = self._api.query_request("GET", "query", path, params={"bookmark_id": bookmark_id})
        if not isinstance(body, dict) or "error" in body:
            raise QueryError(f"saved report {bookmark_id} failed: {_error_of(body)}", details={"response": body})
        date_range = body.get("date_range") or {}
        return t.SavedReportResult(
            bookmark_id=bookmark_id, computed_at=str(body.get("computed_at", "")),
            from_date=str(date_range.get("from_date", "")), to_date=str(date_range.get("to_date", "")),
            headers=list(body.get("headers") or []), series=body.get("series") or {},
            report_type=bookmark_type).with_raw(body)

    def query_saved_flows(self, bookmark_id: int) -> t.FlowsResult:
        """Run a saved Flows report by bookmark id (GET /api/query/arb_funnels, ``query_type=flows_sankey``)."""
        body = self._api.query_request("GET", "query", "/arb_funnels",
                                 params={"bookmark_id": bookmark_id, "query_type": "flows_sankey"})
        if not isinstance(body, dict) or "error" in body:
            raise QueryError(f"saved flows {bookmark_id} failed: {_error_of(body)}", details={"response": body})
        return t.FlowsResult(bookmark_id=bookmark_id, computed_at=str(body.get("computed_at", "")),
                             steps=body.get("steps") or [], breakdowns=body.get("breakdowns") or [],
                             overall_conversion_rate=float(body.get("overallConversionRate") or 0.0),
                             metadata=body.get("metadata") or {}).with_raw(body)

    def frequency(self, *, from_date: str, to_date: str, unit: str = "day", addiction_unit: str = "hour",
                  event: str | None = None, where: str | None = None) -> t.FrequencyResult:
        """Frequency (addiction) report: how many users did the event in 1, 2, ... distinct ``addiction_unit``s
        per ``unit`` (GET /api/query/retention/addiction)."""
        body = self._api.query_request("GET", "query", "/retention/addiction", params={
            "from_date": from_date, "to_date": to_date, "unit": unit, "addiction_unit": addiction_unit,
            "event": event, "where": where})
        return t.FrequencyResult(event=event, from_date=from_date, to_date=to_date, unit=unit,
                                 addiction_unit=addiction_unit, data=_dict(body, "data")).with_raw(body)

    def segmentation_numeric(self, event: str, *, from_date: str, to_date: str, on: str, unit: str = "day",
                             where: str | None = None, type: str = "general") -> t.NumericBucketResult:
        """Counts of an event bucketed by the numeric expression ``on``
        (GET /api/query/segmentation/numeric)."""
        body = self._api.query_request("GET", "query", "/segmentation/numeric", params={
            "event": event, "from_date": from_date, "to_date": to_date, "on": on, "unit": unit, "type": type,
            "where": where})
        return t.NumericBucketResult(event=event, from_date=from_date, to_date=to_date, property_expr=on,
                                     unit=unit, series=_dict(body, "data", "values")).with_raw(body)

    def segmentation_sum(self, event: str, *, from_date: str, to_date: str, on: str, unit: str = "day",
                         where: str | None = None) -> t.NumericSumResult:
        """Sum of the numeric expression ``on`` over an event's occurrences, per ``unit``
        (GET /api/query/segmentation/sum)."""
        body = self._api.query_request("GET", "query", "/segmentation/sum", params={
            "event": event, "from_date": from_date, "to_date": to_date, "on": on, "unit": unit, "where": where})
        return t.NumericSumResult(event=event, from_date=from_date, to_date=to_date, property_expr=on, unit=unit,
                                  results=_dict(body, "results"),
                                  computed_at=body.get("computed_at")).with_raw(body)

    def segmentation_average(self, event: str, *, from_date: str, to_date: str, on: str, unit: str = "day",
                             where: str | None = None) -> t.NumericAverageResult:
        """Average of the numeric expression ``on`` over an event's occurrences, per ``unit``
        (GET /api/query/segmentation/average)."""
        body = self._api.query_request("GET", "query", "/segmentation/average", params={
            "event": event, "from_date": from_date, "to_date": to_date, "on": on, "unit": unit, "where": where})
        return t.NumericAverageResult(event=event, from_date=from_date, to_date=to_date, property_expr=on,
                                      unit=unit, results=_dict(body, "results")).with_raw(body)

    # ------------------------------------------------------------------------------------------------- bookmark params
    def _insights(self, params: dict[str, Any], limit: int | None, workspace_id: int | None) -> dict[str, Any]:
        if limit is not None and not 1 <= limit <= 50000:
            raise BookmarkValidationError("limit must be between 1 and 50000", rule="query_limit")
        body = {"bookmark": params, "project_id": int(self.project.id),
                "queryLimits": {"limit": limit if limit is not None else 3000}}
        query = {"workspace_id": str(workspace_id)} if workspace_id is not None else None
        answer = self._api.query_request("POST", "query", "/insights", params=query, json=body, inject_project_id=False)
        if not isinstance(answer, dict) or "error" in answer or "series" not in answer:
            raise QueryError(f"Insights query failed: {_error_of(answer)}",
                             details={"response": answer, "request_body": body})
        return answer

    def _query_result(self, answer: dict[str, Any], params: dict[str, Any]) -> t.QueryResult:
        date_range = answer.get("date_range") or {}
        return t.QueryResult(computed_at=str(answer.get("computed_at", "")),
                             from_date=str(date_range.get("from_date", "")),
                             to_date=str(date_range.get("to_date", "")), headers=list(answer.get("headers") or []),
                             series=answer.get("series") or {}, meta=answer.get("meta") or {},
                             params=params).with_raw(answer)

    def run_params(self, params: dict[str, Any], *, limit: int | None = None,
                   workspace_id: int | None = None) -> t.QueryResult:
        """Run Insights bookmark params as they are (``POST /insights``)."""
        return self._query_result(self._insights(params, limit, workspace_id), params)

    def run_funnel_params(self, params: dict[str, Any], *, limit: int | None = None,
                          workspace_id: int | None = None) -> t.QueryResult:
        """Run funnel bookmark params (``POST /insights``, ``behavior.type = funnel``)."""
        return self._query_result(self._insights(params, limit, workspace_id), params)

    def run_retention_params(self, params: dict[str, Any], *, limit: int | None = None,
                             workspace_id: int | None = None) -> t.QueryResult:
        """Run retention bookmark params (``POST /insights``, ``behavior.type = retention``)."""
        return self._query_result(self._insights(params, limit, workspace_id), params)

    def run_flow_params(self, params: dict[str, Any], *, mode: str | None = None,
                        workspace_id: int | None = None) -> t.FlowQueryResult:
        """Run flow bookmark params (``POST /arb_funnels``); ``mode`` sankey, paths or tree."""
        query_type = {None: "flows_sankey", "sankey": "flows_sankey", "paths": "flows_top_paths",
                      "tree": "flows"}.get(mode)
        if query_type is None:
            raise BookmarkValidationError(f"mode must be sankey, paths or tree, not {mode!r}", rule="flow_mode")
        body = {"bookmark": params, "project_id": int(self.project.id), "query_type": query_type}
        query = {"workspace_id": str(workspace_id)} if workspace_id is not None else None
        answer = self._api.query_request("POST", "query", "/arb_funnels", params=query, json=body,
                                         inject_project_id=False)
        if not isinstance(answer, dict) or "error" in answer:
            raise QueryError(f"flows query failed: {_error_of(answer)}", details={"response": answer})
        return t.FlowQueryResult(computed_at=str(answer.get("computed_at", "")), steps=answer.get("steps") or [],
                                 flows=answer.get("flows") or [], trees=answer.get("trees") or [],
                                 breakdowns=answer.get("breakdowns") or [],
                                 overall_conversion_rate=float(answer.get("overallConversionRate") or 0.0),
                                 mode=mode or "sankey", params=params).with_raw(answer)

    # ------------------------------------------------------------------------------------------------- typed queries
    def build_params(self, events: Any, **options: Any) -> dict[str, Any]:
        """Insights bookmark params for ``events`` (names, ``Metric``, ``Formula``), without a request."""
        return b.build_params(events, **options)

    def query(self, events: Any, *, limit: int | None = None, **options: Any) -> t.QueryResult:
        """Build Insights params (see ``build_params``: from_date, to_date, last, unit, math, math_property,
        per_user, percentile_value, group_by, where, formula, formula_label, rolling, cumulative, mode) and run them
        (POST /api/query/insights)."""
        return self.run_params(b.build_params(events, **options), limit=limit)

    def build_funnel_params(self, steps: Any, **options: Any) -> dict[str, Any]:
        """Funnel bookmark params for ``steps`` (names or ``FunnelStep``), without a request.

        The options are those of ``query_funnel``."""
        return b.build_funnel_params(steps, **options)

    def query_funnel(self, steps: Any, *, limit: int | None = None, **options: Any) -> t.FunnelQueryResult:
        """Build funnel params (conversion_window, conversion_window_unit, order, dates, math, group_by, where,
        exclusions, holding_constant, mode, reentry_mode) and run them (POST /api/query/insights)."""
        params = b.build_funnel_params(steps, **options)
        answer = self._insights(params, limit, None)
        return t.FunnelQueryResult.model_validate(self._query_result(answer, params).model_dump()).with_raw(answer)

    def build_retention_params(self, born_event: Any, return_event: Any = None, **options: Any) -> dict[str, Any]:
        """Retention bookmark params for a born and a return event, without a request.

        The options are those of ``query_retention``."""
        return b.build_retention_params(born_event, return_event, **options)

    def query_retention(self, born_event: Any, return_event: Any = None, *, limit: int | None = None,
                        **options: Any) -> t.RetentionQueryResult:
        """Build retention params (retention_unit, alignment, bucket_sizes, dates, math, group_by, where, mode,
        unbounded_mode, retention_cumulative) and run them (POST /api/query/insights)."""
        params = b.build_retention_params(born_event, return_event, **options)
        answer = self._insights(params, limit, None)
        return t.RetentionQueryResult.model_validate(
            self._query_result(answer, params).model_dump()).with_raw(answer)

    def build_flow_params(self, event: Any, **options: Any) -> dict[str, Any]:
        """Flow bookmark params anchored on ``event`` (one step or several), without a request.

        The options are those of ``query_flow``."""
        return b.build_flow_params(event, **options)

    def query_flow(self, event: Any, **options: Any) -> t.FlowQueryResult:
        """Build flow params (forward, reverse, dates, conversion_window, count_type, cardinality,
        collapse_repeated, hidden_events, mode) and run them (POST /api/query/arb_funnels)."""
        params = b.build_flow_params(event, **options)
        return self.run_flow_params(params, mode=options.get("mode"))

    def build_user_params(self, **options: Any) -> dict[str, Any]:
        """The engage params of ``query_user`` (where, cohort, properties, sort_by, sort_order, search,
        distinct_id(s), group_id, as_of, mode, aggregate, aggregate_property, percentile, segment_by,
        include_all_users)."""
        return b.build_user_params(**options)

    def query_user(self, *, limit: int | None = 1, mode: str = "aggregate", **options: Any) -> t.UserQueryResult:
        """Profiles (``mode="profiles"``: up to ``limit``, ``None`` for all) or, by default, an aggregate over them
        (``aggregate``: count, extremes, percentile or numeric_summary of ``aggregate_property``; ``segment_by``
        cohort ids answer per cohort) from ``/engage/stats``."""
        params = self.build_user_params(mode=mode, **options)
        return self.run_user_params(params, limit=limit)

    def run_user_params(self, params: dict[str, Any], *, limit: int | None = 1, parallel: bool = False,
                        workers: int = 5) -> t.UserQueryResult:
        """Run ``build_user_params`` output: ``/engage/stats`` when it has an ``action``, else ``/engage`` pages."""
        if "action" in params:
            return user_aggregate.run_aggregate(self._api, params)
        profiles: list[dict[str, Any]] = []
        page, session_id = 0, None
        while True:
            body = {"project_id": self.project.id, "page": page, **params,
                    **({"session_id": session_id} if session_id else {}),
                    **({"limit": limit} if limit is not None else {})}
            answer = _dict(self._api.query_request("POST", "engage", "/", json=body))
            results = answer.get("results") or []
            profiles.extend(_transform_profile(p) for p in results)
            session_id = answer.get("session_id")
            if not results or not session_id or (limit is not None and len(profiles) >= limit):
                break
            page += 1
        if limit is not None:
            profiles = profiles[:limit]
        return t.UserQueryResult(mode="profiles", profiles=profiles, total=len(profiles), params=params,
                                 computed_at=datetime.now(UTC).isoformat())
