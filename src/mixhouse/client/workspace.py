"""``Workspace``: the client library's one entry point (method names and params of the seeds' API reference)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, NoReturn, TypeVar

import httpx
import orjson
from pydantic import BaseModel

from mixhouse.client import builders as b
from mixhouse.client import types as t
from mixhouse.client.config import ConfigManager, Project, Session, WorkspaceRef, resolve_session
from mixhouse.client.transport import ApiClient
from mixhouse.errors import BookmarkValidationError, ConfigError, MixhouseError, NotSupportedError, QueryError

M = TypeVar("M", bound=BaseModel)

#: Methods of the seeds' API reference whose server side Mixhouse does not have yet: calling one raises
#: ``NotSupportedError`` naming it (never a fake result).
NOT_SUPPORTED: dict[str, str] = {
    name: area
    for area, names in {
        "data governance (Lexicon, drop filters, custom properties/events, lookup tables, schemas, audit, "
        "anomalies, deletion requests)": [
            "get_event_definitions", "update_event_definition", "delete_event_definition",
            "bulk_update_event_definitions", "get_property_definitions", "update_property_definition",
            "bulk_update_property_definitions", "list_lexicon_tags", "create_lexicon_tag", "update_lexicon_tag",
            "delete_lexicon_tag", "list_drop_filters", "create_drop_filter", "update_drop_filter",
            "delete_drop_filter", "get_drop_filter_limits", "list_custom_properties", "create_custom_property",
            "get_custom_property", "update_custom_property", "delete_custom_property", "validate_custom_property",
            "list_lookup_tables", "upload_lookup_table", "mark_lookup_table_ready", "get_lookup_upload_url",
            "get_lookup_upload_status", "update_lookup_table", "delete_lookup_tables", "download_lookup_table",
            "get_lookup_download_url", "create_custom_event", "list_custom_events", "update_custom_event",
            "delete_custom_event", "get_tracking_metadata", "get_event_history", "get_property_history",
            "export_lexicon", "list_schema_registry", "create_schema", "create_schemas_bulk", "update_schema",
            "update_schemas_bulk", "delete_schemas", "get_schema_enforcement", "init_schema_enforcement",
            "update_schema_enforcement", "replace_schema_enforcement", "delete_schema_enforcement", "run_audit",
            "run_audit_events_only", "list_data_volume_anomalies", "update_anomaly", "bulk_update_anomalies",
            "list_deletion_requests", "create_deletion_request", "cancel_deletion_request",
            "preview_deletion_filters", "lexicon_schemas", "lexicon_schema", "schema_graph",
            "list_metrics", "get_metric", "create_metric", "update_metric", "bulk_update_metrics", "delete_metric",
            "delete_metrics", "list_behaviors", "get_behavior", "create_behavior", "update_behavior",
            "delete_behavior", "delete_behaviors", "get_business_context", "set_business_context",
            "clear_business_context", "get_business_context_chain"],
        "JQL (removed upstream; Mixhouse has no JQL engine)": [
            "jql", "property_distribution", "numeric_summary", "daily_counts", "engagement_distribution",
            "property_coverage"],
        "session replays": [
            "list_replays", "events_for_replay", "events_for_replays", "sign_replay", "sign_replays",
            "fetch_replay", "stream_replay", "fetch_replays", "replays_for_user", "analyze_replay"],
        "report links": ["create_report_link", "resolve_report_link", "query_report_link", "saved_report_link"],
    }.items()
    for name in names
}

#: Seed methods this client does not implement yet although the server could answer them (none today; the
#: builders' own gaps raise NotSupportedError from mixhouse.client.builders).
NOT_IMPLEMENTED_YET: dict[str, str] = {}


def _today() -> str:
    return date.today().isoformat()


def _dict(value: Any, *keys: str) -> dict[str, Any]:
    """``value[k1][k2]...`` when every level is an object, else ``{}`` (answers are read defensively)."""
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, dict) else {}


def _validate(model: type[M], raw: Any, endpoint: str) -> M:
    if not isinstance(raw, dict):
        raise MixhouseError(f"{endpoint}: the server answered {type(raw).__name__}, not an object",
                            details={"code": "INVALID_RESPONSE", "response": raw})
    try:
        return model.model_validate(raw)
    except Exception as exc:
        raise MixhouseError(f"{endpoint}: unexpected answer: {exc}",
                            details={"code": "INVALID_RESPONSE", "response": raw}) from exc


def _validate_list(model: type[M], raw: Any, endpoint: str) -> list[M]:
    if isinstance(raw, dict) and isinstance(raw.get("results"), list):
        raw = raw["results"]
    if not isinstance(raw, list):
        raise MixhouseError(f"{endpoint}: the server answered {type(raw).__name__}, not a list",
                            details={"code": "INVALID_RESPONSE", "response": raw})
    return [_validate(model, row, endpoint) for row in raw]


def _body(params: Any) -> dict[str, Any]:
    if isinstance(params, t.Params):
        return params.body()
    if isinstance(params, BaseModel):
        return params.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(params, dict):
        return dict(params)
    raise TypeError(f"expected a params model or a dict, not {type(params).__name__}")


class Workspace:
    """Talks to one project of a Mixhouse server (or Mixpanel) as one account.

    ``Workspace(account=, project=, workspace=, target=, session=)`` resolves credentials as
    :func:`mixhouse.client.config.resolve_session` documents; ``use()`` switches account, project, workspace or
    target in place, keeping the HTTP connection pool.
    """

    def __init__(self, *, account: str | None = None, project: str | int | None = None,
                 workspace: int | None = None, target: str | None = None, session: Session | None = None,
                 _transport: httpx.BaseTransport | None = None, _config: ConfigManager | None = None,
                 _entry: str = "lib") -> None:
        self._config = _config or ConfigManager()
        if session is None:
            session = resolve_session(account=account, project=project, workspace=workspace, target=target,
                                      config=self._config)
        self._api = ApiClient(session, transport=_transport, entry=_entry)
        self._events_cache: list[str] | None = None

    # ------------------------------------------------------------------------------------------------- lifecycle
    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._api.close()

    def __getattr__(self, name: str) -> Any:
        if name in NOT_SUPPORTED:
            area = NOT_SUPPORTED[name]

            def not_supported(*_args: Any, **_kwargs: Any) -> NoReturn:
                raise NotSupportedError(f"Workspace.{name}() is not supported by this server yet ({area})",
                                        details={"method": name, "area": area})
            return not_supported
        if name in NOT_IMPLEMENTED_YET:
            area = NOT_IMPLEMENTED_YET[name]

            def not_implemented(*_args: Any, **_kwargs: Any) -> NoReturn:
                raise NotSupportedError(f"Workspace.{name}() is not supported by this client yet ({area})",
                                        details={"method": name, "area": area})
            return not_implemented
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    # ------------------------------------------------------------------------------------------------- session
    @property
    def session(self) -> Session:
        return self._api.session

    @property
    def account(self) -> Any:
        return self._api.session.account

    @property
    def project(self) -> Project:
        return self._api.session.project

    @property
    def workspace(self) -> WorkspaceRef | None:
        return self._api.session.workspace

    @property
    def api(self) -> ApiClient:
        """The low-level client (``request``/``app_request``) for routes the Workspace does not wrap."""
        return self._api

    def use(self, *, account: str | None = None, project: str | int | None = None, workspace: int | None = None,
            target: str | None = None, persist: bool = False) -> Workspace:
        """Switch account, project, workspace or target in place (same HTTP client); returns ``self``.

        Switching account clears the workspace and takes the account's default project unless ``project`` is
        given. ``persist=True`` writes the result to the config file (``[active]`` account and workspace, the
        account's ``default_project``).
        """
        session = self._api.session
        if target is not None:
            tgt = self._config.get_target(target)
            acct = self._config.get_account(tgt.account)
            session = Session(account=acct, project=Project(id=tgt.project),
                              workspace=WorkspaceRef(id=tgt.workspace) if tgt.workspace else None)
        if account is not None:
            acct = self._config.get_account(account)
            if acct.default_project is None and project is None:
                raise ConfigError(f"account {account!r} has no default_project: pass use(account=..., project=...)")
            session = Session(account=acct, project=Project(id=str(project or acct.default_project)))
        elif project is not None:
            session = Session(account=session.account, project=Project(id=str(project)))
        if workspace is not None:
            session = session.replace(workspace=WorkspaceRef(id=int(workspace)))
        self._api.session = session
        self._events_cache = None
        if persist:
            name = session.account.name
            if name not in {a.name for a in self._config.list_accounts()}:
                raise ConfigError(f"cannot persist: account {name!r} comes from the environment, not the config file")
            self._config.update_account(name, default_project=session.project.id)
            self._config.set_active(account=name, workspace=session.workspace.id if session.workspace else None,
                                    clear_workspace=session.workspace is None)
        return self

    def me(self, *, force_refresh: bool = False) -> dict[str, Any]:
        """``GET /api/app/me``: the account, its organizations, projects and workspaces (cached per account)."""
        return self._api.me(force_refresh=force_refresh)

    def projects(self, *, refresh: bool = False) -> list[t.ProjectInfo]:
        projects = self.me(force_refresh=refresh).get("projects") or {}
        rows = [t.ProjectInfo.model_validate({**body, "id": str(pid)}) for pid, body in projects.items()]
        return sorted(rows, key=lambda p: (p.name or "", p.id))

    def workspaces(self, *, project_id: str | int | None = None, refresh: bool = False) -> list[t.WorkspaceInfo]:
        pid = str(project_id or self.project.id)
        workspaces = self.me(force_refresh=refresh).get("workspaces") or {}
        rows = [t.WorkspaceInfo.model_validate(w) for w in workspaces.values()
                if isinstance(w, dict) and str(w.get("project_id")) == pid]
        return sorted(rows, key=lambda w: (w.name or "", w.id))

    def list_workspaces(self) -> list[t.PublicWorkspace]:
        return _validate_list(t.PublicWorkspace, self._api.list_workspaces(), "list_workspaces")

    def resolve_workspace_id(self) -> int:
        return self._api.resolve_workspace_id()

    # ------------------------------------------------------------------------------------------------- discovery
    def events(self, *, limit: int | None = None, from_date: str | None = None,
               to_date: str | None = None) -> list[str]:
        """Event names (``GET /events/names``), sorted; cached when called without arguments."""
        cacheable = limit is None and from_date is None and to_date is None
        if cacheable and self._events_cache is not None:
            return list(self._events_cache)
        params = {"type": "general", "limit": limit or 5000,
                  "from_date": from_date if from_date is not None else "2000-01-01",
                  "to_date": to_date if to_date is not None else _today()}
        try:
            body = self._api.query_request("GET", "query", "/events/names", params=params)
        except QueryError as exc:
            # a project that keeps N days of history refuses the wide default: retry once from today - N days
            match = re.search(r"exceeds\s+(\d+)\s+days", exc.message)
            if from_date is not None or exc.details.get("status_code") != 403 or not match:
                raise
            params["from_date"] = (date.today() - timedelta(days=int(match.group(1)))).isoformat()
            body = self._api.query_request("GET", "query", "/events/names", params=params)
        names = sorted(str(n) for n in (body or []))
        if cacheable:
            self._events_cache = names
        return list(names)

    def clear_discovery_cache(self) -> None:
        self._events_cache = None

    def properties(self, event: str) -> list[str]:
        body = self._api.query_request("GET", "query", "/events/properties/top", params={"event": event})
        return sorted(body or {}) if isinstance(body, dict) else []

    def property_values(self, property_name: str, *, event: str | None = None, limit: int = 100) -> list[str]:
        body = self._api.query_request("GET", "query", "/events/properties/values",
                                 params={"name": property_name, "limit": limit, "event": event})
        return [str(v) for v in body or []]

    def subproperties(self, property_name: str, *, event: str | None = None,
                      sample_size: int = 50) -> list[t.SubPropertyInfo]:
        """Keys of an object-valued (or list-of-objects) property, typed from a sample of its values."""
        rows: list[dict[str, Any]] = []
        for raw in self.property_values(property_name, event=event, limit=sample_size):
            try:
                parsed = json.loads(raw)
            except ValueError:
                continue
            items = parsed if isinstance(parsed, list) else [parsed]
            rows.extend(item for item in items if isinstance(item, dict))
        values: dict[str, list[Any]] = {}
        for row in rows:
            for key, value in row.items():
                if value is not None and not isinstance(value, dict | list):
                    values.setdefault(key, []).append(value)
        out = []
        for key in sorted(values):
            samples: list[Any] = []
            for value in values[key]:
                if value not in samples:
                    samples.append(value)
                if len(samples) == 5:
                    break
            out.append(t.SubPropertyInfo(name=key, type=_scalar_type(values[key]), sample_values=tuple(samples)))
        return out

    def funnels(self) -> list[t.FunnelInfo]:
        body = self._api.query_request("GET", "query", "/funnels/list")
        return sorted(_validate_list(t.FunnelInfo, body or [], "funnels"), key=lambda f: f.name)

    def cohorts(self) -> list[t.SavedCohort]:
        body = self._api.query_request("POST", "query", "/cohorts/list")
        rows = []
        for row in body or []:
            row = dict(row)
            row["is_visible"] = bool(row.get("is_visible", True))
            row["description"] = row.get("description") or ""
            row["created"] = str(row.get("created") or "")
            rows.append(row)
        return sorted(_validate_list(t.SavedCohort, rows, "cohorts"), key=lambda c: c.name)

    def list_bookmarks(self, bookmark_type: str | None = None) -> list[t.BookmarkInfo]:
        """Saved reports, via the Query-style call the seeds make (``project_id`` and ``query_origin`` added)."""
        body = self._api.query_request("GET", "app", f"/projects/{self.project.id}/bookmarks",
                                 params={"v": "2", "type": bookmark_type})
        rows = body.get("results", body) if isinstance(body, dict) else body
        if isinstance(rows, dict):
            rows = rows.get("results", [])
        return _validate_list(t.BookmarkInfo, rows or [], "list_bookmarks")

    def top_events(self, *, type: str = "general", limit: int | None = None) -> list[t.TopEvent]:
        body = self._api.query_request("GET", "query", "/events/top", params={"type": type, "limit": limit})
        events = body.get("events", []) if isinstance(body, dict) else []
        return [t.TopEvent(event=e["event"], count=int(e.get("amount", 0)),
                           percent_change=float(e.get("percent_change") or 0.0)) for e in events]

    # ------------------------------------------------------------------------------------------------- streaming
    def stream_events(self, *, from_date: str, to_date: str, events: list[str] | None = None,
                      where: str | None = None, limit: int | None = None,
                      raw: bool = False) -> Iterator[dict[str, Any]]:
        """Raw events (``GET {export}/export``), one dict per line; ``raw=False`` normalizes each one."""
        params: dict[str, Any] = {"from_date": from_date, "to_date": to_date}
        if events:
            params["event"] = json.dumps(events)
        if where:
            params["where"] = where
        if limit is not None:
            params["limit"] = limit
        for line in self._api.stream_lines("export", "/export", params=params):
            try:
                event = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if not isinstance(event, dict):
                continue
            yield event if raw else _transform_event(event)

    def stream_profiles(self, *, where: str | None = None, cohort_id: str | int | None = None,
                        output_properties: list[str] | None = None, raw: bool = False,
                        distinct_id: str | None = None, distinct_ids: list[str] | None = None,
                        group_id: str | None = None, behaviors: list[dict[str, Any]] | None = None,
                        as_of_timestamp: int | None = None,
                        include_all_users: bool = False) -> Iterator[dict[str, Any]]:
        """User (or group) profiles, page by page (``POST {engage}/``)."""
        if distinct_id is not None and distinct_ids is not None:
            raise ValueError("pass distinct_id or distinct_ids, not both")
        if include_all_users and cohort_id is None:
            raise ValueError("include_all_users needs cohort_id")
        if distinct_ids is not None:
            if not distinct_ids:
                return
            distinct_ids = list(dict.fromkeys(distinct_ids))
        body: dict[str, Any] = {"project_id": self.project.id}
        if where:
            body["where"] = where
        if cohort_id:
            body["filter_by_cohort"] = json.dumps({"id": cohort_id})
        if output_properties:
            body["output_properties"] = json.dumps(output_properties)
        if distinct_id:
            body["distinct_id"] = distinct_id
        if distinct_ids:
            body["distinct_ids"] = json.dumps(distinct_ids)
        if group_id:
            body["data_group_id"] = group_id
        if behaviors:
            body["behaviors"] = json.dumps(behaviors)
        if as_of_timestamp is not None:
            body["as_of_timestamp"] = as_of_timestamp
        if cohort_id:
            body["include_all_users"] = include_all_users  # sent explicitly: the API's default is true
        page, session_id = 0, None
        while True:
            request = {**body, "page": page, **({"session_id": session_id} if session_id else {})}
            answer = self._api.query_request("POST", "engage", "/", json=request)
            results = answer.get("results") or [] if isinstance(answer, dict) else []
            for profile in results:
                yield profile if raw else _transform_profile(profile)
            session_id = answer.get("session_id") if isinstance(answer, dict) else None
            if not results or not session_id:
                return
            page += 1

    # ------------------------------------------------------------------------------------------------- live queries
    def segmentation(self, event: str, *, from_date: str, to_date: str, on: str | None = None, unit: str = "day",
                     where: str | None = None) -> t.SegmentationResult:
        body = self._api.query_request("GET", "query", "/segmentation", params={
            "event": event, "from_date": from_date, "to_date": to_date, "unit": unit, "type": "general",
            "on": on, "where": where})
        values = _dict(body, "data", "values")
        total = sum(v for series in values.values() for v in series.values() if isinstance(v, int | float))
        return t.SegmentationResult(event=event, from_date=from_date, to_date=to_date, unit=unit,
                                    segment_property=on, total=total, series=values).with_raw(body)

    def funnel(self, funnel_id: int, *, from_date: str, to_date: str, unit: str | None = None,
               on: str | None = None) -> t.FunnelResult:
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
        body = self._api.query_request("GET", "query", "/events", params={
            "event": json.dumps(events), "type": type, "unit": unit, "from_date": from_date, "to_date": to_date})
        values = _dict(body, "data", "values")
        return t.EventCountsResult(events=events, from_date=from_date, to_date=to_date, unit=unit, type=type,
                                   series=values).with_raw(body)

    def property_counts(self, event: str, property_name: str, *, from_date: str, to_date: str,
                        type: str = "general", unit: str = "day", values: list[str] | None = None,
                        limit: int | None = None) -> t.PropertyCountsResult:
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
        """Run a saved report: insights/retention by ``bookmark_id``; funnels by ``funnel_id`` (last 30 days)."""
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
        body = self._api.query_request("GET", "query", "/retention/addiction", params={
            "from_date": from_date, "to_date": to_date, "unit": unit, "addiction_unit": addiction_unit,
            "event": event, "where": where})
        return t.FrequencyResult(event=event, from_date=from_date, to_date=to_date, unit=unit,
                                 addiction_unit=addiction_unit, data=_dict(body, "data")).with_raw(body)

    def segmentation_numeric(self, event: str, *, from_date: str, to_date: str, on: str, unit: str = "day",
                             where: str | None = None, type: str = "general") -> t.NumericBucketResult:
        body = self._api.query_request("GET", "query", "/segmentation/numeric", params={
            "event": event, "from_date": from_date, "to_date": to_date, "on": on, "unit": unit, "type": type,
            "where": where})
        return t.NumericBucketResult(event=event, from_date=from_date, to_date=to_date, property_expr=on,
                                     unit=unit, series=_dict(body, "data", "values")).with_raw(body)

    def segmentation_sum(self, event: str, *, from_date: str, to_date: str, on: str, unit: str = "day",
                         where: str | None = None) -> t.NumericSumResult:
        body = self._api.query_request("GET", "query", "/segmentation/sum", params={
            "event": event, "from_date": from_date, "to_date": to_date, "on": on, "unit": unit, "where": where})
        return t.NumericSumResult(event=event, from_date=from_date, to_date=to_date, property_expr=on, unit=unit,
                                  results=_dict(body, "results"),
                                  computed_at=body.get("computed_at")).with_raw(body)

    def segmentation_average(self, event: str, *, from_date: str, to_date: str, on: str, unit: str = "day",
                             where: str | None = None) -> t.NumericAverageResult:
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
        per_user, percentile_value, group_by, where, formula, formula_label, rolling, cumulative, mode) and run them."""
        return self.run_params(b.build_params(events, **options), limit=limit)

    def build_funnel_params(self, steps: Any, **options: Any) -> dict[str, Any]:
        return b.build_funnel_params(steps, **options)

    def query_funnel(self, steps: Any, *, limit: int | None = None, **options: Any) -> t.FunnelQueryResult:
        """Build funnel params (conversion_window, conversion_window_unit, order, dates, math, group_by, where,
        exclusions, holding_constant, mode, reentry_mode) and run them."""
        params = b.build_funnel_params(steps, **options)
        answer = self._insights(params, limit, None)
        return t.FunnelQueryResult.model_validate(self._query_result(answer, params).model_dump()).with_raw(answer)

    def build_retention_params(self, born_event: Any, return_event: Any = None, **options: Any) -> dict[str, Any]:
        return b.build_retention_params(born_event, return_event, **options)

    def query_retention(self, born_event: Any, return_event: Any = None, *, limit: int | None = None,
                        **options: Any) -> t.RetentionQueryResult:
        """Build retention params (retention_unit, alignment, bucket_sizes, dates, math, group_by, where, mode,
        unbounded_mode, retention_cumulative) and run them."""
        params = b.build_retention_params(born_event, return_event, **options)
        answer = self._insights(params, limit, None)
        return t.RetentionQueryResult.model_validate(
            self._query_result(answer, params).model_dump()).with_raw(answer)

    def build_flow_params(self, event: Any, **options: Any) -> dict[str, Any]:
        return b.build_flow_params(event, **options)

    def query_flow(self, event: Any, **options: Any) -> t.FlowQueryResult:
        """Build flow params (forward, reverse, dates, conversion_window, count_type, cardinality,
        collapse_repeated, hidden_events, mode) and run them."""
        params = b.build_flow_params(event, **options)
        return self.run_flow_params(params, mode=options.get("mode"))

    def build_user_params(self, **options: Any) -> dict[str, Any]:
        """The engage params of ``query_user`` (where, cohort, properties, sort_by, sort_order, search,
        distinct_id(s), group_id, as_of, mode, aggregate, aggregate_property, percentile, include_all_users)."""
        return b.build_user_params(**options)

    def query_user(self, *, limit: int | None = 1, mode: str = "aggregate", **options: Any) -> t.UserQueryResult:
        """Profiles (``mode="profiles"``: up to ``limit``, ``None`` for all) or an aggregate over them."""
        params = b.build_user_params(mode=mode, **options)
        return self.run_user_params(params, limit=limit)

    def run_user_params(self, params: dict[str, Any], *, limit: int | None = 1, parallel: bool = False,
                        workers: int = 5) -> t.UserQueryResult:
        if "action" in params:
            body = {"project_id": self.project.id, **params}
            try:
                answer = self._api.query_request("POST", "engage", "/stats", json=body)
            except QueryError as exc:
                if exc.details.get("status_code") in (404, 405):
                    raise NotSupportedError(
                        "Workspace.query_user(mode='aggregate') is not supported by this server yet (it has no "
                        "/engage/stats); use mode='profiles'", details={"method": "query_user"}) from exc
                raise
            return t.UserQueryResult(mode="aggregate", aggregate_data=_dict(answer).get("results"),
                                     params=params, computed_at=str(_dict(answer).get("computed_at", ""))
                                     ).with_raw(answer)
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

    # ------------------------------------------------------------------------------------------------- App helpers
    def _app(self, method: str, suffix: str, *, params: dict[str, Any] | None = None, json: Any = None,
             scope: str = "maybe") -> Any:
        if scope == "require":
            path = self._api.require_scoped_path(suffix)
        elif scope == "project":
            path = self._api.project_path(suffix)
        else:
            path = self._api.maybe_scoped_path(suffix)
        return self._api.app_request(method, path, params=params, json=json)

    # ------------------------------------------------------------------------------------------------- dashboards
    def list_dashboards(self, *, ids: list[int] | None = None) -> list[t.Dashboard]:
        params = {"ids": ",".join(str(i) for i in ids)} if ids else None
        return _validate_list(t.Dashboard, self._app("GET", "dashboards", params=params), "list_dashboards")

    def create_dashboard(self, params: t.CreateDashboardParams | dict[str, Any]) -> t.Dashboard:
        return _validate(t.Dashboard, self._app("POST", "dashboards", json=_body(params)), "create_dashboard")

    def get_dashboard(self, dashboard_id: int) -> t.Dashboard:
        return _validate(t.Dashboard, self._app("GET", f"dashboards/{dashboard_id}"), "get_dashboard")

    def update_dashboard(self, dashboard_id: int, params: t.UpdateDashboardParams | dict[str, Any]) -> t.Dashboard:
        body = self._app("PATCH", f"dashboards/{dashboard_id}", json=_body(params))
        return _validate(t.Dashboard, body, "update_dashboard")

    def delete_dashboard(self, dashboard_id: int) -> None:
        self._app("DELETE", f"dashboards/{dashboard_id}")

    def bulk_delete_dashboards(self, ids: list[int]) -> None:
        self._app("POST", "dashboards/bulk-delete", json={"dashboard_ids": list(ids)})

    def favorite_dashboard(self, dashboard_id: int) -> None:
        self._app("POST", f"dashboards/{dashboard_id}/favorites")

    def unfavorite_dashboard(self, dashboard_id: int) -> None:
        self._app("DELETE", f"dashboards/{dashboard_id}/favorites")

    def pin_dashboard(self, dashboard_id: int) -> None:
        self._app("POST", f"dashboards/{dashboard_id}/pin")

    def unpin_dashboard(self, dashboard_id: int) -> None:
        self._app("DELETE", f"dashboards/{dashboard_id}/pin")

    def add_report_to_dashboard(self, dashboard_id: int, bookmark_id: int) -> t.Dashboard:
        body = self._app("PATCH", f"dashboards/{dashboard_id}", json={"content": {
            "action": "create", "content_type": "report", "content_params": {"source_bookmark_id": bookmark_id}}})
        return _validate(t.Dashboard, body, "add_report_to_dashboard")

    def remove_report_from_dashboard(self, dashboard_id: int, bookmark_id: int) -> t.Dashboard:
        body = self._app("PATCH", f"dashboards/{dashboard_id}", json={"content": {
            "action": "delete", "content_type": "report", "content_id": bookmark_id}})
        return _validate(t.Dashboard, body, "remove_report_from_dashboard")

    def list_blueprint_templates(self, *, include_reports: bool = False) -> list[t.BlueprintTemplate]:
        params = {"include_reports": "true"} if include_reports else None
        body = self._app("GET", "dashboards/blueprints-all", params=params)
        if isinstance(body, dict):
            templates = body.get("templates") or {}
            body = [{"name": name, **spec} for name, spec in templates.items() if isinstance(spec, dict)]
        return _validate_list(t.BlueprintTemplate, body or [], "list_blueprint_templates")

    def create_blueprint(self, template_type: str) -> t.Dashboard:
        body = self._app("POST", "dashboards/blueprints", json={"template_type": template_type})
        return _validate(t.Dashboard, body, "create_blueprint")

    def get_blueprint_config(self, dashboard_id: int) -> t.BlueprintConfig:
        body = self._app("GET", f"dashboards/{dashboard_id}/blueprint-config")
        return _validate(t.BlueprintConfig, body, "get_blueprint_config")

    def update_blueprint_cohorts(self, cohorts: list[dict[str, Any]]) -> None:
        self._app("PUT", "dashboards/blueprints/cohorts", json={"cohorts": [_body(c) for c in cohorts]})

    def finalize_blueprint(self, params: t.BlueprintFinishParams | dict[str, Any]) -> t.Dashboard:
        return _validate(t.Dashboard, self._app("POST", "dashboards/blueprints/finish", json=_body(params)),
                         "finalize_blueprint")

    def create_rca_dashboard(self, params: t.CreateRcaDashboardParams | dict[str, Any]) -> t.Dashboard:
        return _validate(t.Dashboard, self._app("POST", "dashboards/rca", json=_body(params)), "create_rca_dashboard")

    def get_bookmark_dashboard_ids(self, bookmark_id: int) -> list[int]:
        return [int(i) for i in self._app("GET", f"dashboards/bookmarks/{bookmark_id}/dashboard-ids") or []]

    def get_dashboard_erf(self, dashboard_id: int) -> dict[str, Any]:
        return dict(self._app("GET", f"dashboards/{dashboard_id}/erf") or {})

    def update_report_link(self, dashboard_id: int, report_link_id: int, params: Any) -> None:
        self._app("PATCH", f"dashboards/{dashboard_id}/report-links/{report_link_id}", json=_body(params))

    def update_text_card(self, dashboard_id: int, text_card_id: int, params: Any) -> None:
        self._app("PATCH", f"dashboards/{dashboard_id}/text-cards/{text_card_id}", json=_body(params))

    # ------------------------------------------------------------------------------------------------- reports
    def list_bookmarks_v2(self, *, bookmark_type: str | None = None,
                          ids: list[int] | None = None) -> list[t.Bookmark]:
        params: dict[str, Any] = {"v": "2", "type": bookmark_type}
        if ids:
            params["ids"] = ",".join(str(i) for i in ids)
        return _validate_list(t.Bookmark, self._app("GET", "bookmarks", params=params), "list_bookmarks_v2")

    def create_bookmark(self, params: t.CreateBookmarkParams | dict[str, Any]) -> t.Bookmark:
        """Create a report and put it on its dashboard (``dashboard_id`` is required, as in the seeds)."""
        body = _body(params)
        if body.get("dashboard_id") is None:
            raise QueryError("dashboard_id is required when creating a bookmark: create a dashboard first "
                             "(create_dashboard) and pass its id", details={"field": "dashboard_id"})
        bookmark = _validate(t.Bookmark, self._app("POST", "bookmarks", json={**body, "v": 2}), "create_bookmark")
        self.add_report_to_dashboard(int(body["dashboard_id"]), bookmark.id)
        return bookmark

    def get_bookmark(self, bookmark_id: int) -> t.Bookmark:
        return _validate(t.Bookmark, self._app("GET", f"bookmarks/{bookmark_id}", params={"v": "2"}), "get_bookmark")

    def update_bookmark(self, bookmark_id: int, params: t.UpdateBookmarkParams | dict[str, Any]) -> t.Bookmark:
        body = self._app("PATCH", f"bookmarks/{bookmark_id}", json={**_body(params), "v": 2})
        return _validate(t.Bookmark, body, "update_bookmark")

    def delete_bookmark(self, bookmark_id: int) -> None:
        self._app("DELETE", f"bookmarks/{bookmark_id}")

    def bulk_delete_bookmarks(self, ids: list[int]) -> None:
        self._app("POST", "bookmarks/bulk-delete", json={"bookmark_ids": list(ids)})

    def bulk_update_bookmarks(self, entries: list[t.BulkUpdateBookmarkEntry | dict[str, Any]]) -> None:
        self._app("POST", "bookmarks/bulk-update", json={"bookmarks": [_body(e) for e in entries]})

    def bookmark_linked_dashboard_ids(self, bookmark_id: int) -> list[int]:
        return [int(i) for i in self._app("GET", f"bookmarks/{bookmark_id}/linked-dashboard-ids") or []]

    def get_bookmark_history(self, bookmark_id: int, *, cursor: str | None = None,
                             page_size: int | None = None) -> t.BookmarkHistoryResponse:
        path = self._api.maybe_scoped_path(f"bookmarks/{bookmark_id}/history")
        body = self._api.app_request("GET", path, params={"cursor": cursor, "page_size": page_size}, raw=True)
        if isinstance(body, dict) and isinstance(body.get("results"), dict):
            body = body["results"]  # the App envelope around {"results": [...], "pagination": {...}}
        return _validate(t.BookmarkHistoryResponse, body, "get_bookmark_history")

    # ------------------------------------------------------------------------------------------------- cohorts
    def list_cohorts_full(self, *, data_group_id: str | None = None,
                          ids: list[int] | None = None) -> list[t.Cohort]:
        params: dict[str, Any] = {"data_group_id": data_group_id}
        if ids:
            params["ids"] = ",".join(str(i) for i in ids)
        return _validate_list(t.Cohort, self._app("GET", "cohorts", params=params), "list_cohorts_full")

    def get_cohort(self, cohort_id: int) -> t.Cohort:
        return _validate(t.Cohort, self._app("GET", f"cohorts/{cohort_id}"), "get_cohort")

    def create_cohort(self, params: t.CreateCohortParams | dict[str, Any]) -> t.Cohort:
        return _validate(t.Cohort, self._app("POST", "cohorts", json=_body(params)), "create_cohort")

    def update_cohort(self, cohort_id: int, params: t.UpdateCohortParams | dict[str, Any]) -> t.Cohort:
        return _validate(t.Cohort, self._app("PATCH", f"cohorts/{cohort_id}", json=_body(params)), "update_cohort")

    def delete_cohort(self, cohort_id: int) -> None:
        self._app("DELETE", f"cohorts/{cohort_id}")

    def bulk_delete_cohorts(self, ids: list[int]) -> None:
        self._app("POST", "cohorts/bulk-delete", json={"cohort_ids": list(ids)})

    def bulk_update_cohorts(self, entries: list[t.BulkUpdateCohortEntry | dict[str, Any]]) -> None:
        self._app("POST", "cohorts/bulk-update", json={"cohorts": [_body(e) for e in entries]})

    # ------------------------------------------------------------------------------------------------- flags
    def list_feature_flags(self, *, include_archived: bool = False) -> list[t.FeatureFlag]:
        params = {"include_archived": "true"} if include_archived else None
        body = self._app("GET", "feature-flags/", params=params, scope="require")
        return _validate_list(t.FeatureFlag, body, "list_feature_flags")

    def create_feature_flag(self, params: t.CreateFeatureFlagParams | dict[str, Any]) -> t.FeatureFlag:
        body = self._app("POST", "feature-flags/", json=_body(params), scope="require")
        return _validate(t.FeatureFlag, body, "create_feature_flag")

    def get_feature_flag(self, flag_id: str) -> t.FeatureFlag:
        return _validate(t.FeatureFlag, self._app("GET", f"feature-flags/{flag_id}/", scope="require"),
                         "get_feature_flag")

    def update_feature_flag(self, flag_id: str, params: t.UpdateFeatureFlagParams | dict[str, Any]) -> t.FeatureFlag:
        body = self._app("PUT", f"feature-flags/{flag_id}/", json=_body(params), scope="require")
        return _validate(t.FeatureFlag, body, "update_feature_flag")

    def delete_feature_flag(self, flag_id: str) -> None:
        self._app("DELETE", f"feature-flags/{flag_id}/", scope="require")

    def archive_feature_flag(self, flag_id: str) -> None:
        self._app("POST", f"feature-flags/{flag_id}/archive/", scope="require")

    def restore_feature_flag(self, flag_id: str) -> t.FeatureFlag:
        body = self._app("DELETE", f"feature-flags/{flag_id}/archive/", scope="require")
        return _validate(t.FeatureFlag, body, "restore_feature_flag")

    def duplicate_feature_flag(self, flag_id: str) -> t.FeatureFlag:
        body = self._app("POST", f"feature-flags/{flag_id}/duplicate/", scope="require")
        return _validate(t.FeatureFlag, body, "duplicate_feature_flag")

    def set_flag_test_users(self, flag_id: str, params: t.SetTestUsersParams | dict[str, Any]) -> None:
        self._app("PUT", f"feature-flags/{flag_id}/test-users/", json=_body(params), scope="require")

    def get_flag_history(self, flag_id: str, *, page: int | None = None,
                         page_size: int | None = None) -> t.FlagHistoryResponse:
        body = self._app("GET", f"feature-flags/{flag_id}/history/", params={"page": page, "page_size": page_size},
                         scope="require")
        return _validate(t.FlagHistoryResponse, body, "get_flag_history")

    def get_flag_limits(self) -> t.FlagLimitsResponse:
        return _validate(t.FlagLimitsResponse, self._app("GET", "feature-flags/limits/", scope="project"),
                         "get_flag_limits")

    # ------------------------------------------------------------------------------------------------- experiments
    def list_experiments(self, *, include_archived: bool = False) -> list[t.Experiment]:
        params = {"include_archived": "true"} if include_archived else None
        return _validate_list(t.Experiment, self._app("GET", "experiments/", params=params), "list_experiments")

    def create_experiment(self, params: t.CreateExperimentParams | dict[str, Any]) -> t.Experiment:
        return _validate(t.Experiment, self._app("POST", "experiments/", json=_body(params)), "create_experiment")

    def get_experiment(self, experiment_id: str) -> t.Experiment:
        return _validate(t.Experiment, self._app("GET", f"experiments/{experiment_id}"), "get_experiment")

    def update_experiment(self, experiment_id: str,
                          params: t.UpdateExperimentParams | dict[str, Any]) -> t.Experiment:
        body = self._app("PATCH", f"experiments/{experiment_id}", json=_body(params))
        return _validate(t.Experiment, body, "update_experiment")

    def delete_experiment(self, experiment_id: str) -> None:
        self._app("DELETE", f"experiments/{experiment_id}")

    def launch_experiment(self, experiment_id: str) -> t.Experiment:
        return _validate(t.Experiment, self._app("PUT", f"experiments/{experiment_id}/launch"), "launch_experiment")

    def conclude_experiment(self, experiment_id: str, *,
                            params: t.ExperimentConcludeParams | dict[str, Any] | None = None) -> t.Experiment:
        body = self._app("PUT", f"experiments/{experiment_id}/force_conclude",
                         json=_body(params) if params is not None else {})
        return _validate(t.Experiment, body, "conclude_experiment")

    def decide_experiment(self, experiment_id: str,
                          params: t.ExperimentDecideParams | dict[str, Any]) -> t.Experiment:
        body = self._app("PATCH", f"experiments/{experiment_id}/decide", json=_body(params))
        return _validate(t.Experiment, body, "decide_experiment")

    def archive_experiment(self, experiment_id: str) -> None:
        self._app("POST", f"experiments/{experiment_id}/archive")

    def restore_experiment(self, experiment_id: str) -> t.Experiment:
        return _validate(t.Experiment, self._app("DELETE", f"experiments/{experiment_id}/archive"),
                         "restore_experiment")

    def duplicate_experiment(self, experiment_id: str,
                             params: t.DuplicateExperimentParams | dict[str, Any]) -> t.Experiment:
        body = self._app("POST", f"experiments/{experiment_id}/duplicate", json=_body(params))
        return _validate(t.Experiment, body, "duplicate_experiment")

    def list_erf_experiments(self) -> list[dict[str, Any]]:
        return list(self._app("GET", "experiments/erf/") or [])

    # ------------------------------------------------------------------------------------------------- annotations
    def list_annotations(self, *, from_date: str | None = None, to_date: str | None = None,
                         tags: list[int] | None = None) -> list[t.Annotation]:
        params: dict[str, Any] = {"fromDate": from_date, "toDate": to_date}
        if tags:
            params["tags"] = ",".join(str(x) for x in tags)
        return _validate_list(t.Annotation, self._app("GET", "annotations/", params=params), "list_annotations")

    def create_annotation(self, params: t.CreateAnnotationParams | dict[str, Any]) -> t.Annotation:
        return _validate(t.Annotation, self._app("POST", "annotations/", json=_body(params)), "create_annotation")

    def get_annotation(self, annotation_id: int) -> t.Annotation:
        return _validate(t.Annotation, self._app("GET", f"annotations/{annotation_id}/"), "get_annotation")

    def update_annotation(self, annotation_id: int,
                          params: t.UpdateAnnotationParams | dict[str, Any]) -> t.Annotation:
        body = self._app("PATCH", f"annotations/{annotation_id}/", json=_body(params))
        return _validate(t.Annotation, body, "update_annotation")

    def delete_annotation(self, annotation_id: int) -> None:
        self._app("DELETE", f"annotations/{annotation_id}/")

    def list_annotation_tags(self) -> list[t.AnnotationTag]:
        return _validate_list(t.AnnotationTag, self._app("GET", "annotations/tags/"), "list_annotation_tags")

    def create_annotation_tag(self, params: t.CreateAnnotationTagParams | dict[str, Any]) -> t.AnnotationTag:
        body = self._app("POST", "annotations/tags/", json=_body(params))
        return _validate(t.AnnotationTag, body, "create_annotation_tag")

    # ------------------------------------------------------------------------------------------------- alerts
    def list_alerts(self, *, bookmark_id: int | None = None,
                    skip_user_filter: bool | None = None) -> list[t.CustomAlert]:
        params: dict[str, Any] = {"bookmark_id": None if bookmark_id is None else str(bookmark_id),
                                  "skip_user_filter": None if skip_user_filter is None else
                                  str(skip_user_filter).lower()}
        return _validate_list(t.CustomAlert, self._app("GET", "alerts/custom/", params=params), "list_alerts")

    def create_alert(self, params: t.CreateAlertParams | dict[str, Any]) -> t.CustomAlert:
        return _validate(t.CustomAlert, self._app("POST", "alerts/custom/", json=_body(params)), "create_alert")

    def get_alert(self, alert_id: int) -> t.CustomAlert:
        return _validate(t.CustomAlert, self._app("GET", f"alerts/custom/{alert_id}/"), "get_alert")

    def update_alert(self, alert_id: int, params: t.UpdateAlertParams | dict[str, Any]) -> t.CustomAlert:
        return _validate(t.CustomAlert, self._app("PATCH", f"alerts/custom/{alert_id}/", json=_body(params)),
                         "update_alert")

    def delete_alert(self, alert_id: int) -> None:
        self._app("DELETE", f"alerts/custom/{alert_id}/")

    def bulk_delete_alerts(self, ids: list[int]) -> None:
        self._app("POST", "alerts/custom/bulk-delete/", json={"alert_ids": list(ids)})

    def get_alert_count(self, *, alert_type: str | None = None) -> t.AlertCount:
        return _validate(t.AlertCount, self._app("GET", "alerts/custom/alert-count/", params={"type": alert_type}),
                         "get_alert_count")

    def get_alert_history(self, alert_id: int, *, page_size: int | None = None, next_cursor: str | None = None,
                          previous_cursor: str | None = None) -> t.AlertHistoryResponse:
        path = self._api.maybe_scoped_path(f"alerts/custom/{alert_id}/history/")
        params = {"page_size": None if page_size is None else str(page_size), "next_cursor": next_cursor,
                  "previous_cursor": previous_cursor}
        body = self._api.app_request("GET", path, params=params, raw=True)
        if isinstance(body, dict) and isinstance(body.get("results"), dict):
            body = body["results"]  # the App envelope around {"results": [...], "pagination": {...}}
        return _validate(t.AlertHistoryResponse, body, "get_alert_history")

    def test_alert(self, params: t.CreateAlertParams | dict[str, Any]) -> dict[str, Any]:
        return dict(self._app("POST", "alerts/custom/test/", json=_body(params)) or {})

    def get_alert_screenshot_url(self, gcs_key: str) -> t.AlertScreenshotResponse:
        body = self._app("GET", "alerts/custom/screenshot/", params={"gcs_key": gcs_key})
        return _validate(t.AlertScreenshotResponse, body, "get_alert_screenshot_url")

    def validate_alerts_for_bookmark(self, params: t.ValidateAlertsForBookmarkParams | dict[str, Any]
                                     ) -> t.ValidateAlertsForBookmarkResponse:
        body = self._app("POST", "alerts/custom/validate-alerts-for-bookmark/", json=_body(params))
        return _validate(t.ValidateAlertsForBookmarkResponse, body, "validate_alerts_for_bookmark")

    # ------------------------------------------------------------------------------------------------- webhooks
    def list_webhooks(self) -> list[t.ProjectWebhook]:
        return _validate_list(t.ProjectWebhook, self._app("GET", "webhooks/"), "list_webhooks")

    def create_webhook(self, params: t.CreateWebhookParams | dict[str, Any]) -> t.WebhookMutationResult:
        body = self._app("POST", "webhooks/", json=_body(params))
        return _validate(t.WebhookMutationResult, body, "create_webhook")

    def update_webhook(self, webhook_id: str,
                       params: t.UpdateWebhookParams | dict[str, Any]) -> t.WebhookMutationResult:
        body = self._app("PATCH", f"webhooks/{webhook_id}/", json=_body(params))
        return _validate(t.WebhookMutationResult, body, "update_webhook")

    def delete_webhook(self, webhook_id: str) -> None:
        self._app("DELETE", f"webhooks/{webhook_id}/")

    def test_webhook(self, params: t.WebhookTestParams | dict[str, Any]) -> t.WebhookTestResult:
        return _validate(t.WebhookTestResult, self._app("POST", "webhooks/test/", json=_body(params)),
                         "test_webhook")


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|[+\-]\d{2}:?\d{2})?)?$")


def _scalar_type(values: list[Any]) -> str:
    if all(isinstance(v, bool) for v in values):
        return "boolean"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "number"
    if all(isinstance(v, str) and _ISO_DATE.match(v) for v in values):
        try:
            for v in values:
                datetime.fromisoformat(v.replace("Z", "+00:00"))
            return "datetime"
        except ValueError:
            return "string"
    return "string"


def _error_of(body: Any) -> str:
    return str(body.get("error")) if isinstance(body, dict) and body.get("error") else "unexpected answer"


def _transform_event(event: dict[str, Any]) -> dict[str, Any]:
    props = dict(event.get("properties") or {})
    distinct_id = props.pop("distinct_id", "")
    stamp = props.pop("time", 0)
    insert_id = props.pop("$insert_id", None)
    return {"event_name": event.get("event", ""),
            "event_time": datetime.fromtimestamp(float(stamp or 0), tz=UTC),
            "distinct_id": distinct_id, "insert_id": insert_id, "properties": props}


def _transform_profile(profile: dict[str, Any]) -> dict[str, Any]:
    props = dict(profile.get("$properties") or {})
    last_seen = props.pop("$last_seen", None)
    return {"distinct_id": profile.get("$distinct_id", ""), "last_seen": last_seen, "properties": props}


def iter_models(rows: Iterable[BaseModel]) -> list[dict[str, Any]]:
    return [row.model_dump(mode="json", by_alias=True) for row in rows]
