"""The common case of ``/import``, validated, enriched and serialised in one tight loop.

SDKs and exports send events that need nothing changed: a name, a numeric ``time``, string ids, and short flat
properties (or short lists of short scalars). For those, ``prepare_event_rows`` does what ``normalize_event`` →
``apply_simplified_ids`` → ``prepare_rows`` do, inline and without the intermediate ``EventRecord``: the per-event
Python cost is what caps ``/import`` on two cores (docs/performance.md). Every other record takes that general
path, one record at a time and in its place, so rows keep the request's order (``seq``) and failures their index.
The tests compare both paths row for row (``tests/unit/test_fast_rows.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from mixhouse.core.timeutil import MIN_EVENT_TIME_MS, MS_THRESHOLD, now_ms
from mixhouse.ingest import limits
from mixhouse.ingest.events import (
    IDENTITY_EVENTS,
    INSERT_ID_PATTERN,
    EventRules,
    RecordError,
    normalize_event,
    values_fit,
)
from mixhouse.ingest.geo import GeoLocator, event_geo_properties
from mixhouse.ingest.identity import DEVICE_PREFIX, apply_simplified_ids
from mixhouse.ingest.prepare import FailedRecord, PreparedRows, RequestFacts, prepare_rows, raw_insert_id
from mixhouse.storage.schema import tsv_escape

#: Keys whose presence sends a record down the general path: lifted aliases, geolocation input, ``$ignore``, and
#: enrichment keys already set (a re-import of exported events) so the enrichment below never reorders keys.
_GENERAL_KEYS = frozenset(
    {"$time", "$distinct_id", "ip", "$ignore", "$mp_api_endpoint", "$mp_api_timestamp_ms", "mp_processing_time_ms",
     "$import"}
)
_MAX_STR = limits.MAX_STRING_CHARS
_MAX_NAME = limits.MAX_PROPERTY_NAME_CHARS
_MAX_PROPS = limits.MAX_PROPERTIES
_FORBIDDEN = limits.FORBIDDEN_IDS


#: Property names already seen to be fine for the fast path: within the length limit and not in ``_GENERAL_KEYS``
#: (names repeat across events: one subset test per event is cheaper than measuring and looking up each name).
#: Bounded, so a stream of unique names cannot grow it without end.
_FAST_KEYS: set[str] = set()
_FAST_KEYS_CAP = 50_000


def _fast_keys(props: dict[str, Any]) -> bool:
    """True when no property name is a ``_GENERAL_KEYS`` one or over the limit (remembering them while the cache
    has room)."""
    if not _GENERAL_KEYS.isdisjoint(props) or max(map(len, props), default=0) > _MAX_NAME:
        return False
    if len(_FAST_KEYS) < _FAST_KEYS_CAP:
        _FAST_KEYS.update(props)
    return True


@dataclass
class BatchRows:
    """One batch's rows (``prepared.rows`` holds pieces of the row text, to be joined) and its counts."""

    prepared: PreparedRows
    stored: int
    ignored: int


def prepare_event_rows(
    raw_records: list[Any],
    *,
    rules: EventRules,
    project_id: int,
    identity_mode: str,
    facts: RequestFacts,
    geo: GeoLocator,
    seq_start: int,
) -> BatchRows:
    """Validate, enrich and serialise one ``/import`` batch, the fast path first and the general one as needed."""
    out = PreparedRows()
    add = out.rows.append
    pairs: dict[Any, None] = {}  # an ordered set
    general = _General(rules, out, pairs, project_id=project_id, identity_mode=identity_mode, facts=facts, geo=geo)
    failed = out.failed
    stored = 0
    simplified = identity_mode == "simplified"
    imported = rules.endpoint == "import"
    now = rules.now_ms
    processed = now_ms()
    host = facts.host
    received = facts.receive_ms
    default_ip = facts.request_ip if facts.use_request_ip else None
    geo_props = event_geo_properties(geo.lookup(default_ip)) if default_ip else {}
    dumps = orjson.dumps
    fullmatch = INSERT_ID_PATTERN.fullmatch
    seq = seq_start
    prefix = f"{project_id}\t"
    name: Any
    props: Any
    time: Any
    distinct_id: Any
    insert_id: Any
    user_id: Any
    device_id: Any
    for index, raw in enumerate(raw_records):
        fast = False
        if type(raw) is dict and imported:
            name = raw.get("event")
            props = raw.get("properties")
            if (
                type(name) is str
                and type(props) is dict
                and 0 < len(name) <= _MAX_STR
                and name not in IDENTITY_EVENTS
                and (props.keys() <= _FAST_KEYS or _fast_keys(props))
            ):
                time = props.get("time")
                distinct_id = props.get("distinct_id")
                insert_id = props.get("$insert_id")
                user_id = props.get("$user_id")
                device_id = props.get("$device_id")
                kind = type(time)
                fast = (
                    (kind is int or kind is float)
                    and type(distinct_id) is str
                    and type(insert_id) is str
                    and (user_id is None or type(user_id) is str)
                    and (device_id is None or type(device_id) is str)
                    and fullmatch(insert_id) is not None
                    and insert_id.lower() not in _FORBIDDEN
                    and distinct_id.strip().lower() not in _FORBIDDEN
                    and not name.isspace()
                    and values_fit(props.values())
                )
                if fast:
                    ms = int(time) if time >= MS_THRESHOLD else round(time * 1000)
                    fast = MIN_EVENT_TIME_MS <= ms <= now
        if not fast:
            stored += general.record(raw, index, seq)
            seq += 1
            continue
        pop = props.pop
        pop("time")
        pop("distinct_id")
        pop("$insert_id")
        pop("token", None)
        if len(props) > _MAX_PROPS:
            message = f"'properties' is invalid: more than {_MAX_PROPS} properties"
            failed.append(FailedRecord(index, insert_id, "properties", message))
            continue
        if simplified:
            if user_id:
                distinct_id = user_id
                if device_id:
                    pairs[(user_id, device_id)] = None
            elif device_id:
                distinct_id = DEVICE_PREFIX + device_id
        if geo_props and "$city" not in props and "$region" not in props and "mp_country_code" not in props:
            props.update(geo_props)
        props["$mp_api_endpoint"] = host
        props["$mp_api_timestamp_ms"] = received
        props["mp_processing_time_ms"] = processed
        props["$import"] = True
        if not name.isprintable() or "\\" in name:
            name = tsv_escape(name)
        if not distinct_id.isprintable() or "\\" in distinct_id:
            distinct_id = tsv_escape(distinct_id)
        digits = str(ms)  # 13 digits from 2001-09-09 on: seconds and milliseconds split without arithmetic
        stamp = f"{digits[:-3]}.{digits[-3:]}" if len(digits) == 13 else f"{ms // 1000:010d}.{ms % 1000:03d}"
        head = f"{prefix}{stamp}\t{name}\t{distinct_id}\t{insert_id}\t{seq}\t".encode()
        body = dumps(props).replace(b"\\", b"\\\\")
        seq += 1
        if len(head) + len(body) >= limits.MAX_EVENT_BYTES:
            failed.append(FailedRecord(index, insert_id, "event", "event is larger than 1 MB"))
            continue
        add(head)
        add(body)
        add(b"\n")
        stored += 1
    out.pairs = list(pairs)
    failed.sort(key=lambda item: item.index)
    return BatchRows(out, stored, general.ignored)


@dataclass
class _General:
    """The general path for one record at a time, adding to the batch's results in place."""

    rules: EventRules
    out: PreparedRows
    pairs: dict[Any, None]
    project_id: int
    identity_mode: str
    facts: RequestFacts
    geo: GeoLocator
    ignored: int = 0

    def record(self, raw: Any, index: int, seq: int) -> int:
        """Prepare one record with row number ``seq``; how many rows it stored (0 or 1)."""
        try:
            record = normalize_event(raw, self.rules)
        except RecordError as exc:
            self.out.failed.append(FailedRecord(index, raw_insert_id(raw), exc.field, exc.message))
            return 0
        if record.ignored:
            self.ignored += 1
            return 0
        if self.identity_mode == "simplified":
            apply_simplified_ids(record)
        one = prepare_rows(
            [record], project_id=self.project_id, identity_mode=self.identity_mode, endpoint=self.rules.endpoint,
            facts=self.facts, geo=self.geo, seq_start=seq, indices=[index],
        )
        self.out.rows.extend(one.rows)
        self.out.hints.extend(one.hints)
        self.out.failed.extend(one.failed)
        self.pairs.update(dict.fromkeys(one.pairs))
        return len(one.rows)
