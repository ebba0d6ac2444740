"""Cohort definitions as Mixpanel stores them, parsed and checked: a ``selector`` tree and its ``behaviors``.

The client library's ``CohortDefinition`` sends ``{"selector": {"operator": "and" | "or", "children": [...]},
"behaviors": {"bhvr_0": {...}}}``. A leaf of the tree is one of

- ``{"property": "behaviors", "value": "bhvr_0", "operator": ">=" | "<=" | "==" | ">" | "<", "operand": N}``: how
  many times the user did the behaviour's event (or an aggregate of one of its properties) in its time window;
- ``{"property": "user", "value": NAME, "operator": "==" | "!=" | "in" | "not in" | ">" | "<" | "defined" |
  "not defined", "operand": V, "type": T}``: a user profile property (``in`` is "contains");
- ``{"property": "cohort", "value": ID, "operator": "in" | "not in"}``: membership of another cohort.

A behaviour is ``{"count": {"event_selector": {"event": E, "selector"?: {"operator": "and" | "or", "children":
[bookmark filters]}}, "type": "absolute", "aggregationOperator"?: total | unique | average | min | max | median,
"property"?: NAME}, "window": {"unit": day | week | month, "value": N}}`` or with ``from_date``/``to_date`` instead
of ``window``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from mixhouse.core.dates import parse_date
from mixhouse.errors import ValidationError
from mixhouse.expr.ast import Binary, Call, Expr, ListLiteral, Literal, Property, Unary
from mixhouse.query.bookmark_filters import filters_expr

COUNT_OPERATORS: Final = (">=", "<=", "==", ">", "<")
#: The longest window a behaviour may look back (about ten years) and the days a cohort may name.
MAX_WINDOW: Final = {"day": 3660, "week": 523, "month": 120}
FIRST_YEAR, LAST_YEAR = 1970, 2200
AGGREGATES: Final = ("total", "unique", "average", "min", "max", "median")
WINDOW_UNITS: Final = ("day", "week", "month")
MAX_DEPTH: Final = 8
MAX_LEAVES: Final = 50


@dataclass(frozen=True, slots=True)
class Behavior:
    event: str
    where: Expr | None
    operator: str
    operand: float
    aggregate: str | None = None  # None: count of events
    property: str | None = None
    window: tuple[str, int] | None = None  # (unit, value), ending today
    dates: tuple[date, date] | None = None


@dataclass(frozen=True, slots=True)
class UserProperty:
    test: Expr  # over the profile's properties


@dataclass(frozen=True, slots=True)
class InCohort:
    cohort_id: int
    negated: bool


@dataclass(frozen=True, slots=True)
class Group:
    operator: str  # and | or
    children: tuple[Node, ...]


Node = Behavior | UserProperty | InCohort | Group


def _behavior(spec: Any, key: str) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise ValidationError(f"behaviors.{key} must be an object")
    count = spec.get("count")
    if not isinstance(count, dict) or not isinstance(count.get("event_selector"), dict):
        raise ValidationError(f"behaviors.{key} needs count.event_selector")
    return spec


def _event_where(selector: Any) -> Expr | None:
    if selector is None:
        return None
    if not isinstance(selector, dict) or selector.get("operator", "and") not in ("and", "or") \
            or not isinstance(selector.get("children", []), list):
        raise ValidationError("an event selector is {\"operator\": and|or, \"children\": [filters]}")
    return filters_expr(selector.get("children", []), "all" if selector.get("operator", "and") == "and" else "any")


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"{what} must be a number")
    return float(value)


def _parse_behavior(node: dict[str, Any], behaviors: dict[str, Any]) -> Behavior:
    key = node.get("value")
    if not isinstance(key, str) or key not in behaviors:
        raise ValidationError(f"selector names behavior {key!r}, which behaviors does not define")
    spec = _behavior(behaviors[key], key)
    operator = node.get("operator")
    if operator not in COUNT_OPERATORS:
        raise ValidationError(f"a behavior's operator must be one of {', '.join(COUNT_OPERATORS)}")
    operand = _number(node.get("operand"), "a behavior's operand")
    count = spec["count"]
    event = count["event_selector"].get("event")
    if not isinstance(event, str) or not event.strip():
        raise ValidationError(f"behaviors.{key} needs an event name")
    aggregate, prop = count.get("aggregationOperator"), count.get("property")
    if (aggregate is None) != (prop is None):
        raise ValidationError("aggregationOperator and property go together")
    if aggregate is not None and (aggregate not in AGGREGATES or not isinstance(prop, str) or not prop):
        raise ValidationError(f"aggregationOperator must be one of {', '.join(AGGREGATES)}, with a property name")
    window, dates = spec.get("window"), None
    if window is not None:
        if not isinstance(window, dict) or window.get("unit") not in WINDOW_UNITS \
                or isinstance(window.get("value"), bool) or not isinstance(window.get("value"), int) \
                or not 1 <= window["value"] <= MAX_WINDOW[window["unit"]]:
            raise ValidationError("window is {\"unit\": day|week|month, \"value\": a whole number of units, "
                                  "at most about ten years}")
        if "from_date" in spec or "to_date" in spec:
            raise ValidationError(f"behaviors.{key} has both a window and dates")
        window = (window["unit"], window["value"])
    else:
        if spec.get("from_date") is None or spec.get("to_date") is None:
            raise ValidationError(f"behaviors.{key} needs a window or from_date and to_date")
        dates = (cohort_day(spec["from_date"], "from_date"), cohort_day(spec["to_date"], "to_date"))
        if dates[0] > dates[1]:
            raise ValidationError("from_date must not be after to_date")
    return Behavior(event, _event_where(count["event_selector"].get("selector")), operator, operand, aggregate,
                    prop, window, dates)


def cohort_day(value: Any, what: str) -> date:
    """A ``YYYY-MM-DD`` day between 1970 and 2200 (a cohort's dates, or the day membership is worked out for)."""
    if not isinstance(value, str):
        raise ValidationError(f"{what} must be a YYYY-MM-DD date")
    day = parse_date(value, what)
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValidationError(f"{what} must be between {FIRST_YEAR} and {LAST_YEAR}")
    return day


def _literal(value: Any, kind: Any) -> Expr:
    if isinstance(value, list):
        return ListLiteral(tuple(Literal(_scalar(item, kind)) for item in value))
    return Literal(_scalar(value, kind))


def _scalar(value: Any, kind: Any) -> str | float | bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        if kind == "number":
            try:
                return float(value)
            except ValueError:
                raise ValidationError(f"{value!r} is not a number") from None
        return value
    raise ValidationError(f"a property operand must be a string, number, boolean or list, not {value!r}")


def _parse_user_property(node: dict[str, Any]) -> UserProperty:
    name, operator, kind = node.get("value"), node.get("operator"), node.get("type", "string")
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("a user property condition needs the property name in value")
    prop = Property(name)
    defined = Call("defined", (prop,))
    if operator in ("defined", "not defined"):
        return UserProperty(defined if operator == "defined" else Unary("not", defined))
    operand = node.get("operand")
    if operator in ("==", "!="):
        value = _literal(operand, kind)
        test: Expr = Binary("in", prop, value) if isinstance(value, ListLiteral) else Binary("==", prop, value)
        return UserProperty(test if operator == "==" else Unary("not", test))
    if operator in ("in", "not in"):
        found: Expr = Binary("in", _literal(operand, "string"), prop)
        return UserProperty(found if operator == "in" else Unary("not", found))
    if operator in (">", "<", ">=", "<="):
        return UserProperty(Binary(operator, prop, Literal(_number(operand, "a comparison operand"))))
    raise ValidationError(f"user property operator {operator!r} is not supported")


def _parse(node: Any, behaviors: dict[str, Any], depth: int, leaves: list[int]) -> Node:
    if depth > MAX_DEPTH:
        raise ValidationError(f"a cohort selector nests at most {MAX_DEPTH} levels")
    if not isinstance(node, dict):
        raise ValidationError("every selector node must be an object")
    if "children" in node:
        if node.get("operator") not in ("and", "or") or not isinstance(node["children"], list) \
                or not node["children"]:
            raise ValidationError("a selector group is {\"operator\": and|or, \"children\": [one or more]}")
        return Group(node["operator"], tuple(_parse(child, behaviors, depth + 1, leaves)
                                             for child in node["children"]))
    leaves.append(1)
    if len(leaves) > MAX_LEAVES:
        raise ValidationError(f"a cohort has at most {MAX_LEAVES} conditions")
    kind = node.get("property")
    if kind == "behaviors":
        return _parse_behavior(node, behaviors)
    if kind == "user":
        return _parse_user_property(node)
    if kind == "cohort":
        cohort_id = node.get("value")
        if isinstance(cohort_id, bool) or not isinstance(cohort_id, int) or node.get("operator") not in (
                "in", "not in"):
            raise ValidationError("a cohort condition is {\"property\": \"cohort\", \"value\": id, "
                                  "\"operator\": in|not in}")
        return InCohort(cohort_id, node["operator"] == "not in")
    raise ValidationError(f"selector nodes are behaviors, user or cohort conditions, not {kind!r}")


def parse_definition(definition: dict[str, Any]) -> Node | None:
    """The condition tree of ``{"selector", "behaviors"}``; ``None`` when there is no selector (everyone)."""
    selector = definition.get("selector")
    if selector is None:
        if definition.get("behaviors"):
            raise ValidationError("behaviors need a selector that uses them")
        return None
    behaviors = definition.get("behaviors") or {}
    if not isinstance(behaviors, dict):
        raise ValidationError("behaviors must be an object")
    return _parse(selector, behaviors, 0, [])


def referenced_cohorts(node: Node | None) -> set[int]:
    if node is None:
        return set()
    if isinstance(node, InCohort):
        return {node.cohort_id}
    if isinstance(node, Group):
        return set().union(*(referenced_cohorts(child) for child in node.children))
    return set()
