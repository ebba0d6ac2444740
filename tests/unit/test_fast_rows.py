"""The fused ``/import`` loop (``ingest/fast_rows.py``) stores exactly what the general path stores.

The reference is the general path for every record: ``normalize_batch`` → ``prepare_rows``. Both run on copies of
the same decoded records (either may change them); rows are compared field by field, with the one value that is
read from the clock (``mp_processing_time_ms``) and the random ids the general path makes up set aside.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixhouse.core.timeutil import now_ms
from mixhouse.demo.generator import DemoConfig, generate_event_batches
from mixhouse.ingest.events import EventRules
from mixhouse.ingest.fast_rows import prepare_event_rows
from mixhouse.ingest.geo import GeoLocator
from mixhouse.ingest.prepare import RequestFacts, normalize_batch, prepare_rows

GEO = GeoLocator(None)
_RANDOM_ID = re.compile(r"[0-9a-f]{32}")


def _rows(blob: bytes) -> list[tuple[Any, ...]]:
    out = []
    for line in blob.split(b"\n")[:-1]:
        project, time, event, distinct_id, insert_id, seq, props = line.split(b"\t")
        properties = orjson.loads(props.replace(b"\\\\", b"\\"))
        assert isinstance(properties.pop("mp_processing_time_ms"), int)
        insert = "<random>" if _RANDOM_ID.fullmatch(insert_id.decode()) else insert_id
        out.append((project, time, event, distinct_id, insert, seq, list(properties.items())))
    return out


def _both(records: list[Any], *, strict: bool, identity_mode: str, facts: RequestFacts) -> None:
    rules = EventRules(endpoint="import", strict=strict, now_ms=facts.receive_ms)
    fast_input = orjson.loads(orjson.dumps(records))
    general_input = orjson.loads(orjson.dumps(records))

    batch = prepare_event_rows(
        fast_input, rules=rules, project_id=3, identity_mode=identity_mode, facts=facts, geo=GEO, seq_start=100
    )
    valid, failed, ignored = normalize_batch(general_input, rules, simplified=identity_mode == "simplified")
    reference = prepare_rows(
        [record for _, record in valid], project_id=3, identity_mode=identity_mode, endpoint="import", facts=facts,
        geo=GEO, seq_start=100, indices=[index for index, _ in valid],
    )
    reference_failed = sorted(failed + reference.failed, key=lambda item: item.index)

    fast_rows = _rows(b"".join(batch.prepared.rows))
    general_rows = _rows(b"".join(reference.rows))
    # Row numbers differ only where a record failed validation (the fused loop numbers every record): compare the
    # order they give, not their values.
    assert [row[:5] + row[6:] for row in fast_rows] == [row[:5] + row[6:] for row in general_rows]
    seqs = [int(row[5]) for row in fast_rows]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert batch.stored == len(general_rows)
    assert batch.ignored == ignored
    assert batch.prepared.failed == reference_failed
    assert batch.prepared.pairs == reference.pairs
    assert batch.prepared.hints == reference.hints


FACTS = RequestFacts(request_ip=None, use_request_ip=False, host="api.test", receive_ms=now_ms())


def test_demo_batches_store_the_same_rows_and_identity_pairs() -> None:
    for batch in generate_event_batches(DemoConfig(seed=3, events=3000), batch_size=1000):
        _both(batch, strict=True, identity_mode="simplified", facts=FACTS)
        _both(batch, strict=True, identity_mode="original", facts=FACTS)


def test_request_ip_geolocation_matches() -> None:
    facts = RequestFacts(request_ip="8.8.8.8", use_request_ip=True, host="api.test", receive_ms=now_ms())
    records = [
        {"event": "A", "properties": {"time": 1_700_000_000, "distinct_id": "u", "$insert_id": "a1"}},
        {"event": "A", "properties": {"time": 1_700_000_000, "distinct_id": "u", "$insert_id": "a2", "$city": "X"}},
    ]
    _both(records, strict=True, identity_mode="simplified", facts=facts)


_NOW_S = FACTS.receive_ms // 1000
_text = st.one_of(
    st.sampled_from(["Sign Up", "a\tb", "back\\slash", "", " ", "null", "x" * 300, "é" * 256, "$identify",
                     "$merge", "line\nbreak", "\u200b"]),
    st.text(max_size=8),
)
_time = st.one_of(
    st.integers(min_value=_NOW_S - 10**7, max_value=_NOW_S),
    st.integers(min_value=(_NOW_S - 10**7) * 1000, max_value=_NOW_S * 1000 + 4_000_000),
    st.floats(min_value=0, max_value=_NOW_S + 10**5, allow_nan=False),
    st.sampled_from(["1700000000", True, None, -5, 0]),
)
_insert_id = st.one_of(st.sampled_from(["abc-1", "x" * 37, "bad id", "null", "", 42]), st.text(max_size=5))
_int = st.integers(min_value=-(2**63), max_value=2**63 - 1)  # what JSON decoding can give
_value = st.one_of(
    st.none(), st.booleans(), _int, st.floats(allow_nan=False, allow_infinity=False), _text,
    st.lists(st.one_of(_int, _text), max_size=4), st.just(list(range(260))),
    st.dictionaries(st.text(max_size=3), _int, max_size=2), st.just([["nested"]]),
)
_key = st.one_of(
    st.sampled_from(["plan", "$browser", "token", "ip", "$ignore", "$time", "$distinct_id", "$import",
                     "mp_processing_time_ms", "$city", "k" * 300]),
    st.text(max_size=6),
)


_VALID = {  # a record the fused loop takes; each field is then kept or replaced by an edge case
    "time": st.integers(min_value=_NOW_S - 10**7, max_value=_NOW_S),
    "distinct_id": st.sampled_from(["u1", "u2", "$device:d1"]),
    "$insert_id": st.sampled_from(["id-1", "ID2", "3"]),
    "$user_id": st.sampled_from(["u1", "u3"]),
    "$device_id": st.sampled_from(["d1", "d2"]),
}
_EDGE = {
    "time": _time,
    "distinct_id": st.one_of(_text, _int),
    "$insert_id": _insert_id,
    "$user_id": st.one_of(_text, _int),
    "$device_id": st.one_of(_text, _int),
}


@st.composite
def _record(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 30)) == 0:
        return draw(st.sampled_from([5, "x", None, [], {"event": "A"}, {"event": "A", "properties": []}]))
    props: dict[str, Any] = draw(st.dictionaries(_key, _value, max_size=4)) if draw(st.booleans()) else {}
    for key, valid in _VALID.items():
        choice = draw(st.integers(0, 9))
        if choice == 0:
            continue  # absent
        props[key] = draw(_EDGE[key] if choice == 1 else valid)
    name = draw(_text) if draw(st.integers(0, 3)) == 0 else "Sign Up"
    return {"event": name, "properties": props}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_record(), max_size=8), st.booleans(), st.sampled_from(["simplified", "original"]))
def test_random_records_store_the_same_rows_failures_and_identity(
    records: list[Any], strict: bool, identity_mode: str
) -> None:
    _both(records, strict=strict, identity_mode=identity_mode, facts=FACTS)


_BASE = {"time": 1_700_000_000, "distinct_id": "u1", "$insert_id": "id-1", "$user_id": "u9", "$device_id": "d9"}
_EDITS: list[tuple[str, Any]] = [
    ("event", ""), ("event", " "), ("event", "x" * 256), ("event", "a\tb"), ("event", "back\\slash"),
    ("event", "\u200b"), ("event", "$identify"), ("event", "$create_alias"), ("event", 5),
    ("distinct_id", "null"), ("distinct_id", " None "), ("distinct_id", ""), ("distinct_id", "x" * 256),
    ("distinct_id", "tab\there"), ("distinct_id", 42), ("distinct_id", None),
    ("time", 1_700_000_000_123), ("time", 1_700_000_000.5), ("time", "1700000000"), ("time", True),
    ("time", 10**15), ("time", -1), ("time", None),
    ("$insert_id", "NULL"), ("$insert_id", "x" * 37), ("$insert_id", "a b"), ("$insert_id", 7), ("$insert_id", None),
    ("$user_id", ""), ("$user_id", 12), ("$user_id", None), ("$device_id", ""), ("$device_id", 12),
    ("$device_id", None), ("token", "tok"), ("token", {"a": 1}), ("ip", "1.2.3.4"), ("ip", 0), ("$ignore", True),
    ("$ignore", ""), ("$time", 1_700_000_001), ("$distinct_id", "other"), ("$import", False),
    ("mp_processing_time_ms", 1), ("$mp_api_endpoint", "x"), ("k" * 256, 1), ("long", "y" * 256),
    ("list", list(range(254))), ("list", list(range(255))), ("list", ["z" * 256]), ("list", [["nested"]]),
    ("list", [{"a": 1}]), ("obj", {"a": {"b": {"c": 1}}}), ("obj", {"a": 1}),
]


@pytest.mark.parametrize(("key", "value"), _EDITS)
@pytest.mark.parametrize("identity_mode", ["simplified", "original"])
def test_one_edit_of_a_plain_record_is_stored_as_the_general_path_stores_it(
    key: str, value: Any, identity_mode: str
) -> None:
    record: dict[str, Any] = {"event": "Sign Up", "properties": dict(_BASE)}
    if key == "event":
        record["event"] = value
    elif value is None:
        del record["properties"][key]
    else:
        record["properties"][key] = value
    for strict in (True, False):
        _both([record, {"event": "B", "properties": dict(_BASE)}], strict=strict, identity_mode=identity_mode,
              facts=FACTS)


def test_many_properties_fail_the_same_way() -> None:
    props: dict[str, Any] = {f"p{i}": i for i in range(256)}
    props.update({"time": 1_700_000_000, "distinct_id": "u", "$insert_id": "many"})
    _both([{"event": "A", "properties": props}], strict=True, identity_mode="simplified", facts=FACTS)
    del props["p0"]
    _both([{"event": "A", "properties": props}], strict=True, identity_mode="simplified", facts=FACTS)
