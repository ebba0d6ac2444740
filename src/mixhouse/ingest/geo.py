"""IP geolocation for events and profiles (spec §3.3).

Country comes from ``iptocc``, an offline IP-to-country table shipped on PyPI (no network, no set-up). City, region
and timezone come from a MaxMind-format database (GeoLite2-City or GeoIP2-City ``.mmdb``) when one is configured
with ``--geoip-db`` / ``MIXHOUSE_GEOIP_DB``. The IP itself is never stored.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import iptocc
import maxminddb


@dataclass(frozen=True)
class GeoResult:
    country_code: str | None = None
    city: str | None = None
    region: str | None = None
    timezone: str | None = None


EMPTY = GeoResult()


class GeoLocator:
    """Looks up IPs; results for public addresses are cached."""

    def __init__(self, city_db: Path | None = None) -> None:
        self._reader: Any = maxminddb.open_database(str(city_db)) if city_db else None
        self.lookup = lru_cache(maxsize=65536)(self._lookup)

    def _lookup(self, ip: str) -> GeoResult:
        try:
            address = ipaddress.ip_address(ip.strip())
        except ValueError:
            return EMPTY
        if not address.is_global:
            return EMPTY
        country = iptocc.country_code(str(address))
        city = region = timezone = None
        if self._reader is not None:
            record = self._reader.get(str(address)) or {}
            city = (record.get("city") or {}).get("names", {}).get("en")
            subdivisions = record.get("subdivisions") or []
            if subdivisions:
                region = subdivisions[0].get("names", {}).get("en")
            timezone = (record.get("location") or {}).get("time_zone")
            country = country or (record.get("country") or {}).get("iso_code")
        return GeoResult(country_code=country, city=city, region=region, timezone=timezone)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()


def event_geo_properties(geo: GeoResult) -> dict[str, str]:
    out: dict[str, str] = {}
    if geo.city:
        out["$city"] = geo.city
    if geo.region:
        out["$region"] = geo.region
    if geo.country_code:
        out["mp_country_code"] = geo.country_code
    return out


def profile_geo_properties(geo: GeoResult) -> dict[str, str]:
    out: dict[str, str] = {}
    if geo.city:
        out["$city"] = geo.city
    if geo.region:
        out["$region"] = geo.region
    if geo.country_code:
        out["$country_code"] = geo.country_code
    if geo.timezone:
        out["$timezone"] = geo.timezone
    return out
