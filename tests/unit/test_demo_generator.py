"""The deterministic demo-data generator: shape, determinism, realism and speed."""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from mixhouse.demo.generator import (
    DUPLICATE_SHARE,
    EVENT_NAMES,
    GROUP_KEY,
    DemoConfig,
    generate_event_batches,
    generate_events,
    generate_group_updates,
    generate_profile_updates,
)

END = datetime(2024, 6, 1, tzinfo=UTC)
END_TS = int(END.timestamp())
CONFIG = DemoConfig(seed=42, events=100_000, end=END)
START_TS = END_TS - CONFIG.days * 86400
INSERT_ID = re.compile(r"^[A-Za-z0-9-]{1,36}$")
FUNNEL = ("Sign Up", "View Item", "Add To Cart", "Purchase")

Event = dict[str, Any]


@pytest.fixture(scope="module")
def events() -> list[Event]:
    return list(generate_events(CONFIG))


@pytest.fixture(scope="module")
def originals(events: list[Event]) -> list[Event]:
    """The events with retried resends removed (first copy of each $insert_id kept)."""
    seen: set[str] = set()
    out = []
    for event in events:
        insert_id = event["properties"]["$insert_id"]
        if insert_id not in seen:
            seen.add(insert_id)
            out.append(event)
    return out


@pytest.fixture(scope="module")
def device_owner(events: list[Event]) -> dict[str, str]:
    """Device id -> user id, from the first event carrying both (Simplified ID Merge)."""
    owner: dict[str, str] = {}
    for event in events:
        props = event["properties"]
        if "$device_id" in props and "$user_id" in props:
            owner.setdefault(props["$device_id"], props["$user_id"])
    return owner


def canonical(props: dict[str, Any], owner: dict[str, str]) -> str:
    if "$user_id" in props:
        return str(props["$user_id"])
    return owner.get(props["$device_id"], str(props["distinct_id"]))


def digest(items: Any) -> str:
    h = hashlib.sha256()
    for item in items:
        h.update(orjson.dumps(item, option=orjson.OPT_SORT_KEYS))
    return h.hexdigest()


# --- determinism and shape --------------------------------------------------------------------------------------


def test_same_config_gives_identical_output_and_seed_changes_it() -> None:
    config = DemoConfig(seed=7, events=20_000, end=END)
    first = list(generate_events(config))
    assert first == list(generate_events(config))
    assert list(generate_profile_updates(config)) == list(generate_profile_updates(config))
    assert list(generate_group_updates(config)) == list(generate_group_updates(config))
    other = list(generate_events(DemoConfig(seed=8, events=20_000, end=END)))
    assert len(other) == len(first)
    assert other != first
    assert {e["properties"]["$insert_id"] for e in other}.isdisjoint({e["properties"]["$insert_id"] for e in first})


def test_output_does_not_depend_on_the_process_hash_seed() -> None:
    code = (
        "import hashlib, orjson\n"
        "from datetime import datetime, UTC\n"
        "from mixhouse.demo.generator import *\n"
        "def digest(items):\n"
        "    h = hashlib.sha256()\n"
        "    for item in items:\n"
        "        h.update(orjson.dumps(item, option=orjson.OPT_SORT_KEYS))\n"
        "    return h.hexdigest()\n"
        "c = DemoConfig(seed=5, events=5000, end=datetime(2024, 6, 1, tzinfo=UTC))\n"
        "print(digest(generate_events(c)), digest(generate_profile_updates(c)), digest(generate_group_updates(c)))\n"
    )
    config = DemoConfig(seed=5, events=5000, end=END)
    expected = " ".join(
        digest(it) for it in (generate_events(config), generate_profile_updates(config), generate_group_updates(config))
    )
    for hash_seed in ("1", "999"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        assert out.stdout.split() == expected.split()


@pytest.mark.parametrize(
    "config",
    [
        DemoConfig(events=0, end=END),
        DemoConfig(events=1, end=END),
        DemoConfig(events=7, end=END),
        DemoConfig(seed=3, events=1999, end=END),
        DemoConfig(seed=4, events=4001, end=END, days=1),
        DemoConfig(seed=5, events=3000, users=1, end=END, days=2),
        DemoConfig(seed=6, events=3000, users=10_000, end=END),
    ],
)
def test_exact_count_and_time_order(config: DemoConfig) -> None:
    events = list(generate_events(config))
    assert len(events) == config.events
    times = [e["properties"]["time"] for e in events]
    assert times == sorted(times)
    end = int(config.end.timestamp()) if config.end else 0
    assert all(end - config.days * 86400 <= t < end for t in times)


def test_batches_concatenate_to_the_event_stream() -> None:
    config = DemoConfig(seed=11, events=10_001, end=END)
    batches = list(generate_event_batches(config, batch_size=2000))
    assert [len(b) for b in batches] == [2000] * 5 + [1]
    assert [e for b in batches for e in b] == list(generate_events(config))
    assert list(generate_event_batches(DemoConfig(events=0, end=END))) == []
    with pytest.raises(ValueError):
        next(generate_event_batches(config, batch_size=0))


def test_invalid_configs_are_rejected() -> None:
    for kwargs in ({"events": -1}, {"days": 0}, {"users": 0}):
        with pytest.raises(ValueError):
            DemoConfig(**kwargs)  # type: ignore[arg-type]


def test_default_end_is_today_midnight_utc() -> None:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    events = list(generate_events(DemoConfig(events=500, days=3)))
    lo, hi = int((today - timedelta(days=3)).timestamp()), int(today.timestamp())
    assert all(lo <= e["properties"]["time"] < hi for e in events)


def test_events_are_import_ready(events: list[Event]) -> None:
    assert len(events) == CONFIG.events
    times = [e["properties"]["time"] for e in events]
    assert all(type(t) is int for t in times)
    assert times == sorted(times)
    assert times[0] >= START_TS and times[-1] < END_TS
    assert times[-1] - times[0] > (CONFIG.days - 1) * 86400  # the whole window is used
    for event in events:
        assert set(event) == {"event", "properties"}
        assert event["event"] in EVENT_NAMES
        props = event["properties"]
        assert isinstance(props["distinct_id"], str) and props["distinct_id"]
        assert INSERT_ID.match(props["$insert_id"]), props["$insert_id"]
        assert "token" not in props
    # No two events share a properties dict or a list (consumers may mutate what they receive).
    assert len({id(e["properties"]) for e in events}) == len(events)
    lists = [v for e in events for v in e["properties"].values() if isinstance(v, list)]
    assert len({id(v) for v in lists}) == len(lists)


def test_insert_ids_are_unique_except_for_resends(events: list[Event]) -> None:
    by_id: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        by_id[event["properties"]["$insert_id"]].append(event)
    for copies in by_id.values():
        assert all(copy == copies[0] for copy in copies)


def test_duplicates_present_at_the_documented_share(events: list[Event]) -> None:
    keys = Counter(
        (e["event"], e["properties"]["distinct_id"], e["properties"]["time"], e["properties"]["$insert_id"])
        for e in events
    )
    duplicates = sum(n - 1 for n in keys.values())
    assert 0.7 * DUPLICATE_SHARE <= duplicates / len(events) <= 1.3 * DUPLICATE_SHARE
    # A resend is the exact same record, sent right after the original.
    adjacent = sum(a == b for a, b in itertools.pairwise(events))
    assert adjacent == duplicates


# --- realism ----------------------------------------------------------------------------------------------------


def test_event_names_follow_a_skewed_distribution(events: list[Event]) -> None:
    counts = Counter(e["event"] for e in events)
    assert 25 <= len(counts) <= len(EVENT_NAMES) and len(EVENT_NAMES) >= 28
    volumes = sorted(counts.values(), reverse=True)
    assert sum(volumes[:3]) >= 0.35 * len(events)
    assert volumes[0] >= 20 * volumes[-1]


def test_funnel_drops_off_step_by_step(originals: list[Event], device_owner: dict[str, str]) -> None:
    reached: dict[str, int] = {}
    for event in originals:
        user = canonical(event["properties"], device_owner)
        step = reached.get(user, 0)
        if step < len(FUNNEL) and event["event"] == FUNNEL[step]:
            reached[user] = step + 1
    counts = [sum(1 for s in reached.values() if s > i) for i in range(len(FUNNEL))]
    assert counts[-1] > 50
    assert all(a > b for a, b in itertools.pairwise(counts)), counts
    assert counts[-1] < 0.6 * counts[0]  # a realistic drop-off, not everyone buys


def test_funnel_steps_are_minutes_to_days_apart(originals: list[Event], device_owner: dict[str, str]) -> None:
    first_add: dict[str, int] = {}
    delays = []
    for event in originals:
        props = event["properties"]
        user = canonical(props, device_owner)
        if event["event"] == "Add To Cart":
            first_add.setdefault(user, props["time"])
        elif event["event"] == "Purchase":
            assert user in first_add  # never a purchase without a cart
            delays.append(props["time"] - first_add.pop(user))
    assert min(delays) < 3600
    assert max(delays) > 86400
    signups = {canonical(e["properties"], device_owner) for e in originals if e["event"] == "Sign Up"}
    purchases = [e for e in originals if e["event"] == "Purchase"]
    assert all(canonical(e["properties"], device_owner) in signups for e in purchases)
    assert all(e["properties"]["logged_in"] is True for e in purchases)


def test_identity_merges_follow_simplified_id_merge(originals: list[Event], device_owner: dict[str, str]) -> None:
    anonymous_seen: dict[str, int] = {}  # device id -> first anonymous event time
    merge_events: dict[str, list[str]] = defaultdict(list)
    for event in originals:
        props = event["properties"]
        if "$user_id" in props:
            assert props["distinct_id"] == props["$user_id"]
            assert re.fullmatch(r"user_\d{5,}", props["$user_id"])
            device = props.get("$device_id")
            merge = event["event"] in ("Sign Up", "Log In")
            if merge and device is not None and device_owner[device] == props["$user_id"]:
                merge_events[props["$user_id"]].append(device)
                assert device in anonymous_seen, "the device must have been seen anonymously before the merge"
                assert anonymous_seen[device] <= props["time"]
        else:
            assert props["distinct_id"] == "$device:" + props["$device_id"]
            assert props["logged_in"] is False
            anonymous_seen.setdefault(props["$device_id"], props["time"])
    users_with_both = {owner for owner in device_owner.values()}
    assert len(users_with_both) > 500
    # Every signed-up user merged exactly one first device with Sign Up; some added a second with Log In.
    signups = Counter(e["properties"]["$user_id"] for e in originals if e["event"] == "Sign Up")
    assert set(signups) == users_with_both and set(signups.values()) == {1}
    devices_per_user = Counter(device_owner.values())
    multi = sum(1 for n in devices_per_user.values() if n == 2)
    assert 0.03 * len(signups) < multi < 0.3 * len(signups)
    assert max(devices_per_user.values()) == 2
    # Some users never sign up: their devices stay anonymous.
    never_merged = set(anonymous_seen) - set(device_owner)
    assert 0.2 * len(anonymous_seen) < len(never_merged) < 0.6 * len(anonymous_seen)
    # After the merge, identified events often but not always carry the device id.
    identified = [e["properties"] for e in originals if "$user_id" in e["properties"]]
    with_device = sum("$device_id" in p for p in identified) / len(identified)
    assert 0.6 < with_device < 0.98


def test_user_activity_is_power_law(originals: list[Event], device_owner: dict[str, str]) -> None:
    per_user = Counter(canonical(e["properties"], device_owner) for e in originals)
    volumes = sorted(per_user.values(), reverse=True)
    assert len(volumes) >= 0.9 * CONFIG.events // 40
    top = volumes[: len(volumes) // 10]
    assert sum(top) >= 0.40 * len(originals)
    assert volumes[0] < 0.05 * len(originals)  # no single user dominates


def test_daily_and_weekly_seasonality(events: list[Event]) -> None:
    by_hour = Counter((e["properties"]["time"] // 3600) % 24 for e in events)
    assert min(by_hour[h] for h in range(12, 20)) > 1.8 * max(by_hour[h] for h in range(3, 7))
    by_weekday = Counter((e["properties"]["time"] // 86400 + 3) % 7 for e in events)
    # 2024-05-02 .. 2024-05-31 has 4 Saturdays/Sundays and 4-5 of each weekday; compare per-day means.
    days = Counter((d // 86400 + 3) % 7 for d in range(START_TS, END_TS, 86400))
    mean = {wd: by_weekday[wd] / days[wd] for wd in range(7)}
    assert max(mean[5], mean[6]) < min(mean[wd] for wd in range(5))


def test_property_types(events: list[Event]) -> None:
    def number(v: Any) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool)

    counts: Counter[str] = Counter()
    for event in events:
        props = event["properties"]
        name = event["event"]
        counts.update(k for k in props)
        for key in ("$os", "mp_lib", "$city", "$region", "$lib_version"):
            assert isinstance(props[key], str) and props[key]
        assert re.fullmatch(r"[A-Z]{2}", props["mp_country_code"])
        assert type(props["$screen_width"]) is int
        assert type(props["logged_in"]) is bool
        if props["mp_lib"] == "web":
            assert isinstance(props["$browser"], str) and number(props["$browser_version"])
            assert props["$current_url"].startswith("https://")
            assert isinstance(props["$referrer"], str) and isinstance(props["$referring_domain"], str)
        if "$device" in props:
            assert isinstance(props["$device"], str)
        if "utm_source" in props:
            assert isinstance(props["utm_source"], str)
        if props["logged_in"]:
            assert props["plan"] in ("free", "starter", "pro", "enterprise")
        if GROUP_KEY in props:
            assert re.fullmatch(r"company_\d{4}", props[GROUP_KEY]) and props["logged_in"]
        if name in ("View Item", "Add To Cart", "Begin Checkout", "Purchase"):
            assert number(props["price"]) and props["price"] >= 0
            assert isinstance(props.get("item_category", ""), str)
        if name in ("Add To Cart", "Begin Checkout", "Purchase"):
            assert type(props["quantity"]) is int and props["quantity"] >= 1
            items = props["cart_items"]
            assert isinstance(items, list) and items and all(isinstance(i, str) for i in items)
        if name == "View Item":
            assert isinstance(props["tags"], list) and props["tags"]
            assert all(isinstance(t, str) for t in props["tags"])
        if name == "Purchase":
            assert type(props["is_first_purchase"]) is bool
    n = len(events)
    for key in ("$browser", "$current_url", "$referrer", "$device", "item_category", "price"):
        assert counts[key] > 0.05 * n, key
    assert 0.05 * n < counts["utm_source"] < 0.6 * n  # sometimes missing
    assert 0.05 * n < counts[GROUP_KEY] < 0.6 * n
    assert counts["is_first_purchase"] > 0 and counts["cart_items"] > 0 and counts["tags"] > 0


def test_first_purchase_flag_matches_history(originals: list[Event]) -> None:
    seen: set[str] = set()
    for event in originals:
        if event["event"] == "Purchase":
            user = event["properties"]["$user_id"]
            assert event["properties"]["is_first_purchase"] is (user not in seen)
            seen.add(user)


# --- profiles and groups ----------------------------------------------------------------------------------------


def test_profile_updates_match_the_events(originals: list[Event]) -> None:
    signup_time = {e["properties"]["$user_id"]: e["properties"]["time"] for e in originals if e["event"] == "Sign Up"}
    purchases = Counter(e["properties"]["$user_id"] for e in originals if e["event"] == "Purchase")
    companies = {
        e["properties"]["$user_id"]: e["properties"].get(GROUP_KEY) for e in originals if e["event"] == "Sign Up"
    }
    updates = list(generate_profile_updates(CONFIG))
    ops: dict[str, dict[str, Any]] = defaultdict(dict)
    for update in updates:
        assert "$token" not in update
        (op,) = set(update) - {"$distinct_id"}
        assert op not in ops[update["$distinct_id"]]
        ops[update["$distinct_id"]][op] = update[op]
    assert set(ops) == set(signup_time)
    for user, by_op in ops.items():
        props = by_op["$set"]
        assert isinstance(props["$name"], str) and " " in props["$name"]
        assert re.fullmatch(r"[a-z]+\.[a-z]+\d+@example\.com", props["$email"])
        assert props["plan"] in ("free", "starter", "pro", "enterprise")
        created = datetime.strptime(props["$created"], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
        assert int(created.timestamp()) == signup_time[user]
        assert props.get(GROUP_KEY) == companies[user]
        assert isinstance(by_op["$set_once"]["initial_referrer"], str)
        assert by_op.get("$add", {"purchases": 0})["purchases"] == purchases[user]
        favorites = by_op["$union"]["favorite_categories"]
        assert len(favorites) == 2 and len(set(favorites)) == 2
    assert sum(1 for by_op in ops.values() if "$add" in by_op) == len(purchases)


def test_group_updates_cover_every_company(events: list[Event]) -> None:
    used = {e["properties"][GROUP_KEY] for e in events if GROUP_KEY in e["properties"]}
    updates = list(generate_group_updates(CONFIG))
    ids = [u["$group_id"] for u in updates]
    assert len(ids) == len(set(ids)) and used <= set(ids)
    names = set()
    for update in updates:
        assert update["$group_key"] == GROUP_KEY and set(update) == {"$group_key", "$group_id", "$set"}
        props = update["$set"]
        assert isinstance(props["name"], str) and isinstance(props["industry"], str)
        assert type(props["employees"]) is int and props["employees"] >= 1
        names.add(props["name"])
    assert len(names) == len(updates)


# --- speed ------------------------------------------------------------------------------------------------------


def test_throughput_smoke() -> None:
    config = DemoConfig(seed=99, events=100_000, end=END)
    started = time.perf_counter()
    count = sum(1 for _ in generate_events(config))
    elapsed = time.perf_counter() - started
    assert count == 100_000
    assert elapsed < 3.0, f"{elapsed:.2f}s for 100k events"
