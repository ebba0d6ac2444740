"""Raw event export (spec §5.1): JSONL, one event per line, canonical distinct ids, not deduplicated.

The engine builds every output line itself (``toJSONString`` for each value, the stored property object spliced in),
so rows are streamed from ClickHouse to the socket without being parsed in Python.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from mixhouse.core.dates import DateRange
from mixhouse.errors import ValidationError
from mixhouse.meta.records import Project
from mixhouse.query.events_source import events_source_sql
from mixhouse.storage.base import Backend

MAX_EXPORT_LIMIT = 100_000


@dataclass(frozen=True)
class ExportRequest:
    dates: DateRange
    events: tuple[str, ...] | None = None
    where: str | None = None
    limit: int | None = None
    time_in_ms: bool = False


def parse_event_list(value: str | None) -> tuple[str, ...] | None:
    """The ``event`` parameter: a JSON array of names (a bare name is accepted too)."""
    if value is None or value == "":
        return None
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError:
        return (value,)
    if isinstance(parsed, str):
        return (parsed,)
    if not isinstance(parsed, list) or not all(isinstance(item, str) for item in parsed):
        raise ValidationError("event must be a JSON array of event names")
    return tuple(parsed)


def parse_limit(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        limit = int(value)
    except ValueError as exc:
        raise ValidationError("limit must be an integer") from exc
    if limit <= 0 or limit > MAX_EXPORT_LIMIT:
        raise ValidationError(f"limit must be between 1 and {MAX_EXPORT_LIMIT}")
    return limit


def export_sql(project: Project, request: ExportRequest) -> tuple[str, dict[str, Any]]:
    start_ms, end_ms = request.dates.bounds_ms("UTC")
    params: dict[str, Any] = {"project_id": project.id, "start_ms": start_ms, "end_ms": end_ms}
    conditions = [
        "time >= fromUnixTimestamp64Milli({start_ms:Int64}, 'UTC')",
        "time < fromUnixTimestamp64Milli({end_ms:Int64}, 'UTC')",
    ]
    if request.events is not None:
        conditions.append("event IN {events:Array(String)}")
        params["events"] = list(request.events)
    if request.where:
        from mixhouse.query.where import compile_event_where

        fragment = compile_event_where(request.where)
        conditions.append(f"({fragment.sql})")
        params.update(fragment.params)
    time_sql = "time_ms" if request.time_in_ms else "intDiv(time_ms, 1000)"
    source = events_source_sql(conditions, identity=True, dedup=False)
    sql = f"""
    SELECT concat(
        '{{"event":', toJSONString(event),
        ',"properties":{{"time":', toString({time_sql}),
        ',"distinct_id":', toJSONString(distinct_id),
        ',"$insert_id":', toJSONString(insert_id),
        if(properties = '{{}}', '}}', concat(',', substring(properties, 2))),
        '}}') AS line
    FROM ({source})
    ORDER BY time_ms, seq
    {"LIMIT {limit:UInt64}" if request.limit else ""}
    """
    if request.limit:
        params["limit"] = request.limit
    return sql, params


def stream_export(backend: Backend, project: Project, request: ExportRequest) -> Iterator[bytes]:
    sql, params = export_sql(project, request)
    return backend.stream_bytes(sql, params, fmt="TSVRaw")
