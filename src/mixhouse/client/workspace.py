"""``Workspace``: the client library's one entry point (method names and params of the seeds' API reference)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, NoReturn

import httpx
import orjson
from pydantic import BaseModel

from mixhouse.client import types as t
from mixhouse.client._base import _today, _transform_profile, _validate_list
from mixhouse.client._custom_properties import CustomPropertiesMixin
from mixhouse.client._entities import EntitiesMixin
from mixhouse.client._live_queries import LiveQueriesMixin
from mixhouse.client.config import ConfigManager, Project, Session, WorkspaceRef, resolve_session
from mixhouse.client.transport import ApiClient
from mixhouse.errors import ConfigError, NotSupportedError, QueryError

#: Methods of the seeds' API reference whose server side Mixhouse does not have yet: calling one raises
#: ``NotSupportedError`` naming it (never a fake result).
NOT_SUPPORTED: dict[str, str] = {
    name: area
    for area, names in {
        "data governance (Lexicon, drop filters, custom events, lookup tables, schemas, audit, "
        "anomalies, deletion requests)": [
            "get_event_definitions", "update_event_definition", "delete_event_definition",
            "bulk_update_event_definitions", "get_property_definitions", "update_property_definition",
            "bulk_update_property_definitions", "list_lexicon_tags", "create_lexicon_tag", "update_lexicon_tag",
            "delete_lexicon_tag", "list_drop_filters", "create_drop_filter", "update_drop_filter",
            "delete_drop_filter", "get_drop_filter_limits", "list_lookup_tables", "upload_lookup_table",
            "mark_lookup_table_ready", "get_lookup_upload_url",
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


def _one_of_target_or_axes(target: str | None, *axes: Any) -> None:
    """A target names account, project and workspace together: ``target=`` with any of them is refused (as the
    client library does, code ``WS1_TARGET_MUTUALLY_EXCLUSIVE``)."""
    if target is not None and any(axis is not None for axis in axes):
        raise ConfigError("`target=` is mutually exclusive with `account=`/`project=`/`workspace=`: a target names "
                          "all three", details={"code": "WS1_TARGET_MUTUALLY_EXCLUSIVE"})


class Workspace(LiveQueriesMixin, EntitiesMixin, CustomPropertiesMixin):
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
        _one_of_target_or_axes(target, account, project, workspace)
        if session is None:
            session = resolve_session(account=account, project=project, workspace=workspace, target=target,
                                      config=self._config)
        self._api = ApiClient(session, transport=_transport, entry=_entry)
        self._events_cache: list[str] | None = None
        #: ``properties``, ``property_values``, ``funnels`` and ``cohorts`` answers, by method and arguments: cached
        #: for the Workspace's lifetime (as the seeds say), until ``use()`` or ``clear_discovery_cache()``.
        self._discovery: dict[tuple[Any, ...], list[Any]] = {}

    # ------------------------------------------------------------------------------------------------- lifecycle
    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connection pool (done for you on leaving a ``with`` block); no request."""
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
        """The resolved session: account, project, workspace, extra headers and where each came from; no request."""
        return self._api.session

    @property
    def account(self) -> Any:
        """The account in use (name, credentials, region); no request."""
        return self._api.session.account

    @property
    def project(self) -> Project:
        """The current project (``project.id`` is the id every request is made for); no request."""
        return self._api.session.project

    @property
    def workspace(self) -> WorkspaceRef | None:
        """The pinned workspace, or ``None`` when none is pinned (App calls then resolve one); no request."""
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
        _one_of_target_or_axes(target, account, project, workspace)
        session = self._api.session
        sources = dict(session.sources)
        if target is not None:
            tgt = self._config.get_target(target)
            acct = self._config.get_account(tgt.account)
            session = Session(account=acct, project=Project(id=tgt.project),
                              workspace=WorkspaceRef(id=tgt.workspace) if tgt.workspace else None,
                              headers=session.headers)
            sources = dict.fromkeys(("account", "project", "workspace"), f"use(target={target!r})")
        if account is not None:
            acct = self._config.get_account(account)
            if acct.default_project is None and project is None:
                raise ConfigError(f"account {account!r} has no default_project: pass use(account=..., project=...)")
            session = Session(account=acct, project=Project(id=str(project or acct.default_project)),
                              headers=session.headers)
            sources.update(account="use(account=...)", workspace="none (resolved on the first App API call)",
                           project="use(project=...)" if project else f"account {account} default_project")
        elif project is not None:
            session = Session(account=session.account, project=Project(id=str(project)), headers=session.headers)
            sources.update(project="use(project=...)", workspace="none (resolved on the first App API call)")
        if workspace is not None:
            session = session.replace(workspace=WorkspaceRef(id=int(workspace)))
            sources["workspace"] = "use(workspace=...)"
        self._api.session = session.replace(sources=sources)
        self._events_cache = None
        self._discovery.clear()
        if persist:
            name = session.account.name
            if name not in {a.name for a in self._config.list_accounts()}:
                raise ConfigError(f"cannot persist: account {name!r} comes from the environment, not the config file")
            self._config.update_account(name, default_project=session.project.id)
            self._config.set_active(account=name, workspace=session.workspace.id if session.workspace else None,
                                    clear_workspace=session.workspace is None)
        return self

    def me(self, *, force_refresh: bool = False) -> dict[str, Any]:
        """``GET /api/app/me``: the account, its organizations, projects and workspaces (cached 24h per account on
        disk, see :mod:`mixhouse.client.me_cache`; ``force_refresh=True`` asks the server again)."""
        return self._api.me(force_refresh=force_refresh)

    def projects(self, *, refresh: bool = False) -> list[t.ProjectInfo]:
        """Projects this account can reach, from ``GET /api/app/me``, sorted by name.

        ``refresh=True`` asks the server again instead of using the cached ``/me`` answer."""
        projects = self.me(force_refresh=refresh).get("projects") or {}
        rows = [t.ProjectInfo.model_validate({**body, "id": str(pid)}) for pid, body in projects.items()]
        return sorted(rows, key=lambda p: (p.name or "", p.id))

    def workspaces(self, *, project_id: str | int | None = None, refresh: bool = False) -> list[t.WorkspaceInfo]:
        """Workspaces of a project (default: the current one), from ``GET /api/app/me``, sorted by name.

        ``refresh=True`` asks the server again instead of using the cached ``/me`` answer."""
        pid = str(project_id or self.project.id)
        workspaces = self.me(force_refresh=refresh).get("workspaces") or {}
        rows = [t.WorkspaceInfo.model_validate(w) for w in workspaces.values()
                if isinstance(w, dict) and str(w.get("project_id")) == pid]
        return sorted(rows, key=lambda w: (w.name or "", w.id))

    def list_workspaces(self) -> list[t.PublicWorkspace]:
        """Public workspaces of the current project (GET /api/app/projects/{pid}/workspaces/public)."""
        return _validate_list(t.PublicWorkspace, self._api.list_workspaces(), "list_workspaces")

    def resolve_workspace_id(self) -> int:
        """The workspace id used for workspace-scoped App API paths: the pinned one, else one picked from
        the cached ``/me``, ``GET /api/app/projects/{pid}/workspaces/public`` or ``/projects/metadata/index``.

        The choice is remembered per account and project; it does not pin the session's ``workspace``."""
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
        """Forget the cached discovery answers (``events()``, ``properties``, ``property_values``, ``funnels``,
        ``cohorts``) so the next calls ask the server again; no request."""
        self._events_cache = None
        self._discovery.clear()

    def _cached(self, key: tuple[Any, ...], fetch: Callable[[], list[Any]]) -> list[Any]:
        """``fetch()`` once per ``key`` for the Workspace's lifetime; a copy of the list each time."""
        if key not in self._discovery:
            self._discovery[key] = fetch()
        return list(self._discovery[key])

    def properties(self, event: str) -> list[str]:
        """Names of the properties seen on ``event``, sorted (GET /api/query/events/properties/top); cached per
        event."""
        def fetch() -> list[Any]:
            body = self._api.query_request("GET", "query", "/events/properties/top", params={"event": event})
            return sorted(body or {}) if isinstance(body, dict) else []

        return self._cached(("properties", event), fetch)

    def property_values(self, property_name: str, *, event: str | None = None, limit: int = 100) -> list[str]:
        """Sample values of a property, as strings (GET /api/query/events/properties/values); cached per
        (property, event, limit).

        ``event`` restricts the sample to one event; ``limit`` caps how many values come back."""
        def fetch() -> list[Any]:
            body = self._api.query_request("GET", "query", "/events/properties/values",
                                           params={"name": property_name, "limit": limit, "event": event})
            return [str(v) for v in body or []]

        return self._cached(("property_values", property_name, event, limit), fetch)

    def subproperties(self, property_name: str, *, event: str | None = None,
                      sample_size: int = 50) -> list[t.SubPropertyInfo]:
        """Keys of an object-valued (or list-of-objects) property, typed from a sample of its values
        (GET /api/query/events/properties/values)."""
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
        """Saved funnels of the project (id and name), sorted by name (GET /api/query/funnels/list); cached."""
        def fetch() -> list[Any]:
            body = self._api.query_request("GET", "query", "/funnels/list")
            return sorted(_validate_list(t.FunnelInfo, body or [], "funnels"), key=lambda f: f.name)

        return self._cached(("funnels",), fetch)

    def cohorts(self) -> list[t.SavedCohort]:
        """Saved cohorts of the project, sorted by name (POST /api/query/cohorts/list); cached (``list_cohorts_full``
        always asks)."""
        def fetch() -> list[Any]:
            body = self._api.query_request("POST", "query", "/cohorts/list")
            rows = []
            for row in body or []:
                row = dict(row)
                row["is_visible"] = bool(row.get("is_visible", True))
                row["description"] = row.get("description") or ""
                row["created"] = str(row.get("created") or "")
                rows.append(row)
            return sorted(_validate_list(t.SavedCohort, rows, "cohorts"), key=lambda c: c.name)

        return self._cached(("cohorts",), fetch)

    def list_bookmarks(self, bookmark_type: str | None = None) -> list[t.BookmarkInfo]:
        """Saved reports, via the Query-style call the seeds make (``project_id`` and ``query_origin`` added)."""
        body = self._api.query_request("GET", "app", f"/projects/{self.project.id}/bookmarks",
                                 params={"v": "2", "type": bookmark_type})
        rows = body.get("results", body) if isinstance(body, dict) else body
        if isinstance(rows, dict):
            rows = rows.get("results", [])
        return _validate_list(t.BookmarkInfo, rows or [], "list_bookmarks")

    def top_events(self, *, type: str = "general", limit: int | None = None) -> list[t.TopEvent]:
        """Today's most active events with count and percent change (GET /api/query/events/top); not cached.

        ``type``: general, average or unique; ``limit`` caps the list."""
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


def _transform_event(event: dict[str, Any]) -> dict[str, Any]:
    props = dict(event.get("properties") or {})
    distinct_id = props.pop("distinct_id", "")
    stamp = props.pop("time", 0)
    insert_id = props.pop("$insert_id", None)
    return {"event_name": event.get("event", ""),
            "event_time": datetime.fromtimestamp(float(stamp or 0), tz=UTC),
            "distinct_id": distinct_id, "insert_id": insert_id, "properties": props}


def iter_models(rows: Iterable[BaseModel]) -> list[dict[str, Any]]:
    return [row.model_dump(mode="json", by_alias=True) for row in rows]
