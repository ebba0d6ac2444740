"""Brute-force cohort membership, written from Mixpanel's description of cohorts and independent of the server:
walk the selector tree, count each user's events day by day in the project's time zone, read profiles directly."""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class LoggedEvent:
    name: str
    user: str  # canonical id
    time_s: int
    properties: dict[str, Any]


def _months_back(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _days(behavior: Mapping[str, Any], as_of: date) -> tuple[date, date]:
    if "window" not in behavior:
        return date.fromisoformat(behavior["from_date"]), date.fromisoformat(behavior["to_date"])
    unit, value = behavior["window"]["unit"], behavior["window"]["value"]
    if unit == "month":
        return _months_back(as_of, value) + timedelta(days=1), as_of
    return as_of - timedelta(days=value * (7 if unit == "week" else 1) - 1), as_of


def _event_passes(selector: Mapping[str, Any] | None, props: Mapping[str, Any]) -> bool:
    if not selector:
        return True
    results = []
    for child in selector["children"]:
        value = props.get(child["value"])
        wanted = child["filterValue"]
        wanted = wanted if isinstance(wanted, list) else [wanted]
        assert child["filterOperator"] == "equals", "the reference knows equals filters only"
        results.append(value in wanted)
    return all(results) if selector.get("operator", "and") == "and" else any(results)


def _compare(n: float, operator: str, operand: float) -> bool:
    return {">=": n >= operand, "<=": n <= operand, "==": n == operand, ">": n > operand, "<": n < operand}[operator]


def _property_passes(node: Mapping[str, Any], props: Mapping[str, Any]) -> bool:
    name, operator, operand = node["value"], node["operator"], node.get("operand")
    present = name in props and props[name] is not None
    value = props.get(name)
    if operator == "defined":
        return present
    if operator == "not defined":
        return not present
    if operator == "==":
        return present and (value in operand if isinstance(operand, list) else value == operand)
    if operator == "!=":
        return not (present and (value in operand if isinstance(operand, list) else value == operand))
    if operator in ("in", "not in"):
        found = present and isinstance(value, str | list) and operand in value
        return found if operator == "in" else not found
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    return number is not None and _compare(float(number), operator, float(operand))


def members(events: list[LoggedEvent], profiles: Mapping[str, Mapping[str, Any]], definition: Mapping[str, Any],
            as_of: date, timezone: str, saved: Callable[[int], Mapping[str, Any]]) -> set[str]:
    """The users in the cohort ``definition`` (``{"selector", "behaviors"}``) as of the end of ``as_of``;
    ``saved(id)`` gives the definition of another cohort."""
    zone = ZoneInfo(timezone)

    def local_day(event: LoggedEvent) -> date:
        return datetime.fromtimestamp(event.time_s, UTC).astimezone(zone).date()

    universe = {e.user for e in events if local_day(e) <= as_of} | set(profiles)

    def behavior_members(node: Mapping[str, Any], behaviors: Mapping[str, Any]) -> set[str]:
        behavior = behaviors[node["value"]]
        first, last = _days(behavior, as_of)
        count = behavior["count"]
        chosen: dict[str, list[LoggedEvent]] = {}
        for event in events:
            if event.name == count["event_selector"]["event"] and first <= local_day(event) <= last \
                    and _event_passes(count["event_selector"].get("selector"), event.properties):
                chosen.setdefault(event.user, []).append(event)
        out = set()
        for user in universe:
            mine = chosen.get(user, [])
            aggregate = count.get("aggregationOperator")
            if aggregate is None:
                n: float | None = float(len(mine))
            else:
                raw = [e.properties.get(count["property"]) for e in mine]
                numbers = [float(v) for v in raw if isinstance(v, int | float) and not isinstance(v, bool)]
                if aggregate == "total":
                    n = float(sum(numbers))
                elif aggregate == "unique":
                    n = float(len({str(v) for v in raw if isinstance(v, str | int | float)}))
                elif not numbers:
                    n = None
                else:
                    n = {"average": sum(numbers) / len(numbers), "min": min(numbers), "max": max(numbers),
                         "median": median(numbers)}[aggregate]
            if n is not None and _compare(n, node["operator"], float(node["operand"])):
                out.add(user)
        return out

    def walk(node: Mapping[str, Any] | None, behaviors: Mapping[str, Any]) -> set[str]:
        if node is None:
            return set(universe)
        if "children" in node:
            parts = [walk(child, behaviors) for child in node["children"]]
            return set.intersection(*parts) if node["operator"] == "and" else set.union(*parts)
        if node["property"] == "behaviors":
            return behavior_members(node, behaviors)
        if node["property"] == "user":
            return {user for user in universe if _property_passes(node, profiles.get(user, {}))}
        other = saved(node["value"])
        inside = walk(other.get("selector"), other.get("behaviors") or {})
        return universe - inside if node["operator"] == "not in" else inside

    return walk(definition.get("selector"), definition.get("behaviors") or {})
