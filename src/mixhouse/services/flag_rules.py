"""Runtime evaluation rules of a flag rollout: the JsonLogic subset we accept, and its evaluation.

A rollout may carry ``runtime_evaluation_rule`` (JsonLogic over the context's ``custom_properties``) or the legacy
``runtime_evaluation_definition`` (``{property: value}``, all must match). The official SDK evaluates rules with the
``json-logic`` package after case-folding the properties (keys and values) and the rule's leaves; remote evaluation
here does the same, with that package's loose comparisons, so a context gets the same answer either way. Only the
operators below are accepted (400 otherwise): an operator one side knows and the other does not would split them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce
from typing import Any

from mixhouse.errors import ValidationError

MAX_DEPTH = 32


def _loose_equal(a: Any, b: Any) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return str(a) == str(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) is bool(b)
    return bool(a == b)


def _strict_equal(a: Any, b: Any) -> bool:
    return type(a) is type(b) and bool(a == b)


def _less(a: Any, b: Any, *more: Any) -> bool:
    if {type(a), type(b)} & {int, float}:
        try:
            a, b = float(a), float(b)
        except TypeError:  # a null against a number: false, not an error
            return False
    return bool(a < b) and (not more or _less(b, *more))


def _less_or_equal(a: Any, b: Any, *more: Any) -> bool:
    return (_less(a, b) or _loose_equal(a, b)) and (not more or _less_or_equal(b, *more))


def _contains(a: Any, b: Any) -> bool:
    return isinstance(b, str | list | dict) and a in b


OPERATORS: dict[str, Callable[..., Any]] = {
    "==": _loose_equal,
    "!=": lambda a, b: not _loose_equal(a, b),
    "===": _strict_equal,
    "!==": lambda a, b: not _strict_equal(a, b),
    "<": _less,
    "<=": _less_or_equal,
    ">": lambda a, b: _less(b, a),
    ">=": lambda a, b: _less(b, a) or _loose_equal(a, b),
    "!": lambda a: not a,
    "!!": bool,
    "and": lambda *args: reduce(lambda total, arg: total and arg, args, True),
    "or": lambda *args: reduce(lambda total, arg: total or arg, args, False),
    "in": _contains,
}


def check_rule(rule: Any, depth: int = 0) -> None:
    """400 unless ``rule`` is JsonLogic made only of ``var`` and the operators above."""
    if depth > MAX_DEPTH:
        raise ValidationError("runtime_evaluation_rule is nested too deeply")
    if isinstance(rule, list):
        for item in rule:
            check_rule(item, depth + 1)
        return
    if not isinstance(rule, dict):
        return
    if len(rule) != 1:
        raise ValidationError("each runtime_evaluation_rule operation must be an object with one operator")
    ((operator, args),) = rule.items()
    if operator != "var" and operator not in OPERATORS:
        supported = ", ".join(["var", *OPERATORS])
        raise ValidationError(f"runtime_evaluation_rule operator {operator!r} is not supported (use {supported})")
    check_rule(args, depth + 1)


def casefold_all(value: Any, *, keys: bool) -> Any:
    """Strings case-folded, in lists and dict values (and dict keys when ``keys``)."""
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, list):
        return [casefold_all(item, keys=keys) for item in value]
    if isinstance(value, dict):
        return {(k.casefold() if keys and isinstance(k, str) else k): casefold_all(v, keys=keys)
                for k, v in value.items()}
    return value


def _variable(data: Any, name: Any, default: Any = None) -> Any:
    """``data.a.b`` (a list or string indexed by number); ``default`` when absent. An index past the end is an
    error, which makes the whole rule false (as in the SDK)."""
    try:
        for part in str(name).split("."):
            try:
                data = data[part]
            except TypeError:
                data = data[int(part)]
    except (KeyError, TypeError, ValueError):
        return default
    return data


def _apply(rule: Any, data: dict[str, Any]) -> Any:
    if not isinstance(rule, dict):
        return rule
    ((operator, args),) = rule.items()
    values = [_apply(arg, data) for arg in (args if isinstance(args, list) else [args])]
    if operator == "var":
        return _variable(data, *values)
    return OPERATORS[operator](*values)


def rollout_matches(rollout: dict[str, Any], context: dict[str, Any]) -> bool:
    """Whether ``context`` satisfies the rollout's runtime rule (true when it has none)."""
    rule = rollout.get("runtime_evaluation_rule")
    legacy = rollout.get("runtime_evaluation_definition")
    if not rule and not legacy:
        return True
    properties = context.get("custom_properties")
    if not properties or not isinstance(properties, dict):
        return False
    folded = casefold_all(properties, keys=True)
    if rule:
        try:
            return bool(_apply(casefold_all(rule, keys=False), folded))
        except (TypeError, ValueError, ArithmeticError, IndexError):
            return False
    assert isinstance(legacy, dict)
    return all(isinstance(folded.get(k), str) and folded[k] == str(v).casefold() for k, v in legacy.items())
