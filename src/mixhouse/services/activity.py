"""The activity feed: ``/stream/query`` (legacy) and ``/stream/bookmark`` (spec §4.12; client-library-wire §3).

Both return the events of the users the ids belong to (any id of a merged cluster), each as
``{"event", "properties": {"time" (seconds), "distinct_id", "$distinct_id" (canonical), "$insert_id", …}}``.

Choices for ``/stream/bookmark`` where Mixpanel documents nothing (docs/query-api.md lists them too):

* The window is ``bookmark.dateRange``: ``between`` (``from``/``to``), ``since`` (``from`` to today) or
  ``relative_after`` (``window.value`` × ``window.unit`` — day, week or month — before today, to today); dates are
  inclusive days in the project's timezone; ``to`` after today is refused like every Query API range.
* A page holds the newest ``limit`` events (default and ceiling 15,000) listed oldest first. ``sentinel_event``
  in the answer is the cursor for the next (older) page, ``null`` when nothing older is left; passed back, the page
  holds only events before it. The order is total (time in ms, ``$insert_id``, name, stored id), so pages neither
  overlap nor skip. ``paging_window`` (1–30 days) bounds one page's scan to that many days before the cursor (or the
  window's end); a page may then hold fewer than ``limit`` events and still carry a cursor.
* ``include_events``/``exclude_events`` keep/drop event names (not both). ``search`` keeps events whose name or any
  property value contains it, case-insensitively; ``search_properties`` (``[{"value": name, "resourceType":
  "event"}]``) restricts the match to those event properties. User-profile properties are not searched (400).
* ``mode`` must be ``raw`` when given; ``use_custom_events`` is accepted (there are no custom events yet).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from mixhouse.core.dates import DateRange, parse_date, units_before
from mixhouse.errors import ValidationError
from mixhouse.expr.values import MAX_DATETIME_MS, MIN_DATETIME_MS
from mixhouse.ingest.identity import IdentityState
from mixhouse.meta.records import Project
from mixhouse.query.activity import (
    BEFORE_CURSOR,
    activity_lines_sql,
    any_event_sql,
    newest_events_sql,
)
from mixhouse.query.params import parse_whole
from mixhouse.query.timebuckets import check_not_future
from mixhouse.storage.base import Backend

#: Most ids one request may ask about.
MAX_IDS = 2_000
#: Most events one ``/stream/bookmark`` page may hold (the client library documents this ceiling).
MAX_PAGE = 15_000
MAX_PAGING_WINDOW_DAYS = 30
_DAY_MS = 86_400_000


@dataclass(frozen=True)
class Cursor:
    """A position in the feed's order: events strictly before it come next."""

    time_ms: int
    insert_id: str
    event: str
    stored_id: str = ""

    def sentinel(self) -> dict[str, Any]:
        properties = {
            "time": self.time_ms // 1000,
            "mp_time_ms": self.time_ms,
            "$insert_id": self.insert_id,
            "mp_stored_distinct_id": self.stored_id,
        }
        return {"event": self.event, "properties": properties}


@dataclass(frozen=True)
class FeedRequest:
    """A validated ``/stream/bookmark`` request."""

    ids: list[str]
    dates: DateRange
    limit: int = MAX_PAGE
    include: list[str] | None = None
    exclude: list[str] | None = None
    search: str | None = None
    search_properties: list[str] | None = None
    before: Cursor | None = None
    paging_window_days: int | None = None


# --- the events, as both endpoints show them ---------------------------------------------------------------------


def _users_params(identity: IdentityState, project: Project, ids: list[str]) -> dict[str, Any] | None:
    """``stored``/``canonical``: every id the users behind ``ids`` have events under, and its user; ``None`` when
    no id is asked. Read from the project's identity state, which the ingest path keeps equal to the identity table
    (it applies each row once the row is durable), so no query is spent on it."""
    users = sorted({identity.canonical(item) for item in ids})
    if not users:
        return None
    owner: dict[str, str] = {}
    for user in users:
        for member in frozenset(identity.cluster(user)):  # a copy: the committer thread may be adding members
            owner[member] = user
    return {"project_id": project.id, "stored": list(owner), "canonical": list(owner.values())}


def _answer(lines: list[bytes], sentinel: dict[str, Any] | None = None, *, paged: bool = False) -> bytes:
    """The feed answer as JSON, its events spliced in as the engine wrote them."""
    tail = b"}}" if not paged else b',"sentinel_event":' + orjson.dumps(sentinel) + b"}}"
    return b'{"status":"ok","results":{"events":[' + b",".join(lines) + b"]" + tail


def _unique_ids(ids: list[str]) -> list[str]:
    return [item for item in dict.fromkeys(ids) if item]


def stream_query(
    backend: Backend, identity: IdentityState, project: Project, distinct_ids: list[str], dates: DateRange
) -> bytes:
    """``/stream/query``: every event of the users in the window, oldest first (the JSON answer)."""
    users = _users_params(identity, project, _unique_ids(distinct_ids))
    lines: list[bytes] = []
    if users is not None:
        start_ms, end_ms = dates.bounds_ms(project.timezone or "UTC")
        params = {**users, "start_ms": start_ms, "end_ms": end_ms}
        text = b"".join(backend.stream_bytes(activity_lines_sql(), params, fmt="TSVRaw"))
        lines = text.splitlines()
    return _answer(lines)


# --- /stream/bookmark --------------------------------------------------------------------------------------------


def stream_bookmark(backend: Backend, identity: IdentityState, project: Project, request: FeedRequest) -> bytes:
    """One page of the feed, as JSON: ``{"status": "ok", "results": {"events": [...], "sentinel_event": cursor |
    null}}``."""
    users = _users_params(identity, project, _unique_ids(request.ids))
    if users is None:
        return _answer([], None, paged=True)
    start_ms, end_ms = request.dates.bounds_ms(project.timezone or "UTC")
    conditions, after_dedup, params = _filters(request)
    params.update(users, start_ms=start_ms, end_ms=end_ms)
    upper = end_ms if request.before is None else min(end_ms, request.before.time_ms + 1)
    scan_from = start_ms
    if request.paging_window_days is not None:
        scan_from = max(start_ms, upper - request.paging_window_days * _DAY_MS)
    page_conditions = [*conditions, "time_ms >= {scan_from:Int64}"]
    page_params = {**params, "scan_from": scan_from, "limit": request.limit + 1}
    text = b"".join(backend.stream_bytes(newest_events_sql(page_conditions, after_dedup), page_params, fmt="TSVRaw"))
    rows = [line.split(b"\t", 1) for line in text.splitlines()]
    page, more = rows[: request.limit], len(rows) > request.limit
    cursor: Cursor | None = None
    if more:
        time_ms, insert_id, event, stored = orjson.loads(page[-1][0])
        cursor = Cursor(int(time_ms), insert_id, event, stored)
    elif scan_from > start_ms:
        older_conditions = [*conditions, "time_ms < {scan_from:Int64}"]
        older = backend.query_rows(any_event_sql(older_conditions, after_dedup), page_params)
        cursor = Cursor(scan_from, "", "") if older else None
    lines = [event for _, event in reversed(page)]
    return _answer(lines, cursor.sentinel() if cursor else None, paged=True)


def _cursor_params(cursor: Cursor) -> dict[str, Any]:
    return {
        "cursor_ms": cursor.time_ms,
        "cursor_id": cursor.insert_id,
        "cursor_event": cursor.event,
        "cursor_stored": cursor.stored_id,
    }


def _filters(request: FeedRequest) -> tuple[list[str], list[str], dict[str, Any]]:
    """Conditions on key columns (before dedup), conditions on properties (after it), and their parameters."""
    conditions: list[str] = []
    after_dedup: list[str] = []
    params: dict[str, Any] = {}
    if request.include is not None:
        conditions.append("event IN {include:Array(String)}")
        params["include"] = request.include
    if request.exclude is not None:
        conditions.append("event NOT IN {exclude:Array(String)}")
        params["exclude"] = request.exclude
    if request.search is not None:
        params["search"] = request.search
        if request.search_properties:
            after_dedup.append(
                "arrayExists(name -> positionCaseInsensitiveUTF8(JSONExtractRaw(properties, name), {search:String})"
                " > 0, {search_properties:Array(String)})"
            )
            params["search_properties"] = request.search_properties
        else:
            after_dedup.append(
                "(positionCaseInsensitiveUTF8(event, {search:String}) > 0 OR arrayExists(value ->"
                " positionCaseInsensitiveUTF8(value, {search:String}) > 0, JSONExtractKeysAndValuesRaw(properties).2))"
            )
    if request.before is not None:
        conditions.append(BEFORE_CURSOR)
        params.update(_cursor_params(request.before))
    return conditions, after_dedup, params


# --- request parsing ---------------------------------------------------------------------------------------------


def _today(project: Project, now: datetime | None = None) -> date:
    zone = UTC if project.timezone in ("", "UTC") else ZoneInfo(project.timezone)
    return (now or datetime.now(UTC)).astimezone(zone).date()


def parse_date_range(project: Project, value: Any, now: datetime | None = None) -> DateRange:
    """``bookmark.dateRange`` → inclusive dates in the project's timezone."""
    if not isinstance(value, dict):
        raise ValidationError("bookmark.dateRange must be an object with a type")
    kind = value.get("type")
    today = _today(project, now)
    if kind == "between":
        dates = DateRange(_date(value, "from"), _date(value, "to"))
    elif kind == "since":
        dates = DateRange(_date(value, "from"), today)
    elif kind == "relative_after":
        window = value.get("window")
        if not isinstance(window, dict):
            raise ValidationError("bookmark.dateRange.window must be an object with unit and value")
        dates = DateRange(units_before(today, window.get("unit"), window.get("value"), "bookmark.dateRange.window"),
                          today)
    else:
        raise ValidationError("bookmark.dateRange.type must be one of between, since, relative_after")
    if dates.to_date < dates.from_date:
        raise ValidationError("bookmark.dateRange: to must not be before from")
    check_not_future(dates, project.timezone or "UTC")
    return dates


def _date(value: Mapping[str, Any], key: str) -> date:
    raw = value.get(key)
    return parse_date(raw if isinstance(raw, str) else None, f"bookmark.dateRange.{key}")


def parse_feed_request(project: Project, params: Mapping[str, Any], now: datetime | None = None) -> FeedRequest:
    """Validate a ``/stream/bookmark`` body (already merged into ``params``)."""
    bookmark = _json_value(params.get("bookmark"), "bookmark")
    if not isinstance(bookmark, dict):
        raise ValidationError("bookmark is required: an object with dateRange")
    mode = params.get("mode")
    if mode is not None and mode != "raw":
        raise ValidationError("mode must be raw")
    ids = _names(params.get("distinct_ids"), "distinct_ids")
    if ids is None or not ids:
        raise ValidationError("distinct_ids is required (a JSON array of ids)")
    if len(ids) > MAX_IDS:
        raise ValidationError(f"at most {MAX_IDS} distinct_ids per request")
    include = _names(params.get("include_events"), "include_events")
    exclude = _names(params.get("exclude_events"), "exclude_events")
    if include and exclude:
        raise ValidationError("include_events and exclude_events are mutually exclusive")
    search = params.get("search")
    if search is not None and not isinstance(search, str):
        raise ValidationError("search must be a string")
    search_properties = _search_properties(params.get("search_properties"))
    if search_properties is not None and search is None:
        raise ValidationError("search_properties requires search")
    return FeedRequest(
        ids=ids,
        dates=parse_date_range(project, bookmark.get("dateRange"), now),
        limit=parse_whole(params.get("limit"), "limit", low=1, high=MAX_PAGE, default=MAX_PAGE),
        include=include or None,
        exclude=exclude or None,
        search=search or None,
        search_properties=search_properties,
        before=_cursor(params.get("sentinel_event")),
        paging_window_days=(
            None
            if params.get("paging_window") is None
            else parse_whole(params["paging_window"], "paging_window", low=1, high=MAX_PAGING_WINDOW_DAYS, default=1)
        ),
    )


def _json_value(value: Any, name: str) -> Any:
    if isinstance(value, str):  # a form or query-string request carries JSON text
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise ValidationError(f"{name} must be JSON") from exc
    return value


def _names(value: Any, name: str) -> list[str] | None:
    value = _json_value(value, name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError(f"{name} must be a JSON array of strings")
    return list(value)


def _search_properties(value: Any) -> list[str] | None:
    value = _json_value(value, "search_properties")
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValidationError("search_properties must be a JSON array of {value, resourceType} objects")
    names: list[str] = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("value"), str):
            raise ValidationError("search_properties must be a JSON array of {value, resourceType} objects")
        kind = str(item.get("resourceType", "event")).lower()
        if kind not in ("event", "events"):
            raise ValidationError("search_properties: only event properties can be searched (resourceType event)")
        names.append(item["value"])
    return names


def _cursor(value: Any) -> Cursor | None:
    value = _json_value(value, "sentinel_event")
    if value is None:
        return None
    properties = value.get("properties") if isinstance(value, dict) else None
    if not isinstance(properties, dict):
        raise ValidationError("sentinel_event must be the sentinel_event of an earlier answer")
    exact, seconds = properties.get("mp_time_ms"), properties.get("time")
    if isinstance(exact, int | float) and not isinstance(exact, bool):
        if not (math.isfinite(exact) and MIN_DATETIME_MS <= exact < MAX_DATETIME_MS):
            raise ValidationError("sentinel_event.properties.time is out of range")
        time_ms = int(exact)
    elif isinstance(seconds, int | float) and not isinstance(seconds, bool):
        if not (math.isfinite(seconds) and MIN_DATETIME_MS <= seconds * 1000 < MAX_DATETIME_MS):
            raise ValidationError("sentinel_event.properties.time is out of range")
        time_ms = int(seconds * 1000) + 999  # a hand-made cursor: everything up to the end of that second
    else:
        raise ValidationError("sentinel_event.properties.time is required")
    if not MIN_DATETIME_MS <= time_ms < MAX_DATETIME_MS:
        raise ValidationError("sentinel_event.properties.time is out of range")
    stored = str(properties.get("mp_stored_distinct_id", ""))
    return Cursor(time_ms, str(properties.get("$insert_id", "")), str(value.get("event", "")), stored)
