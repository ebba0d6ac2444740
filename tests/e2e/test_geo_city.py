"""City, region and timezone from a MaxMind-format database given with `--geoip-db` (built here with mmdb-writer)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from tests.conftest import make_project
from tests.support.readback import export, profiles
from tests.support.server import ServerProcess

TEST_NET = "81.2.69.0/24"  # a public range: private and loopback addresses are never geolocated


def _city_db(path: Path) -> Path:
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoIP2-City", languages=["en"])
    writer.insert_network(IPSet([TEST_NET]), {
        "city": {"names": {"en": "London"}},
        "subdivisions": [{"names": {"en": "England"}}],
        "country": {"iso_code": "GB"},
        "location": {"time_zone": "Europe/London"},
    })
    writer.to_db_file(str(path))
    return path


def test_city_region_timezone_from_configured_database(tmp_path: Path) -> None:
    db = _city_db(tmp_path / "city.mmdb")
    server = ServerProcess(data_dir=tmp_path / "data", extra_args=("--geoip-db", str(db))).start()
    try:
        creds = make_project(server.data_dir, "geo")
        with httpx.Client(base_url=server.url) as client:
            events = [
                {"event": "Geo", "properties": {"token": creds.token, "distinct_id": "g1", "ip": "81.2.69.160",
                                                "time": time.time()}},
                {"event": "Explicit", "properties": {"token": creds.token, "distinct_id": "g2", "ip": "81.2.69.160",
                                                     "$city": "Paris", "time": time.time()}},
            ]
            assert client.post("/track", json=events).text == "1"
            update = {"$token": creds.token, "$distinct_id": "g1", "$ip": "81.2.69.161", "$set": {"a": 1}}
            assert client.post("/engage", json=[update]).text == "1"
            today = datetime.now(UTC).date()
            stored = export(client, creds, from_date=(today - timedelta(days=1)).isoformat(),
                            to_date=today.isoformat())
            people = profiles(client, creds)
    finally:
        server.stop()
    by_name = {e["event"]: e["properties"] for e in stored}
    assert (by_name["Geo"]["$city"], by_name["Geo"]["$region"], by_name["Geo"]["mp_country_code"]) == (
        "London", "England", "GB")
    assert by_name["Explicit"]["$city"] == "Paris" and "$region" not in by_name["Explicit"]  # explicit wins
    assert "ip" not in by_name["Geo"]
    g1 = people["g1"]
    assert (g1["$city"], g1["$region"], g1["$country_code"], g1["$timezone"]) == (
        "London", "England", "GB", "Europe/London")
