"""Flow step segfilters (the client library's ``build_segfilter_entry`` shape) keep the events they should."""

from __future__ import annotations

from typing import Any

import pytest

from mixhouse.errors import ValidationError
from mixhouse.expr import Record, keeps
from mixhouse.query.segfilters import segfilters_expr


def _entry(name: str, kind: str, operator: str | None, operand: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"operand": operand} if operator is None else {"operator": operator, "operand": operand}
    return {"property": {"name": name, "source": "properties", "type": kind}, "type": kind, "filter": spec}


EVENTS = [{"plan": "pro", "n": 5, "ok": True}, {"plan": "free", "n": 20, "ok": False}, {"plan": "professional"}]


@pytest.mark.parametrize(("entry", "kept"), [
    (_entry("plan", "string", "==", ["pro"]), [0]),
    (_entry("plan", "string", "!=", ["pro"]), [1, 2]),
    (_entry("plan", "string", "in", ["pro"]), [0, 2]),  # contains
    (_entry("plan", "string", "not in", ["pro"]), [1]),
    (_entry("n", "number", ">", 10), [1]),
    (_entry("n", "number", "<=", 5), [0]),
    (_entry("n", "number", "!=", 5), [1, 2]),
    (_entry("n", "number", "><", [1, 10]), [0]),
    (_entry("n", "number", "!><", [1, 10]), [1, 2]),
    (_entry("n", "number", "is set", None), [0, 1]),
    (_entry("n", "number", "is not set", None), [2]),
    (_entry("ok", "boolean", None, "true"), [0]),
    (_entry("plan", "string", "set", None), [0, 1, 2]),
])
def test_each_operator(entry: dict[str, Any], kept: list[int]) -> None:
    expr = segfilters_expr([entry])
    assert expr is not None
    assert [n for n, props in enumerate(EVENTS) if keeps(expr, Record("E", 0, "u", props))] == kept


def test_bool_op_joins_and_refusals() -> None:
    both = [_entry("plan", "string", "==", ["pro"]), _entry("n", "number", ">", 10)]
    assert [n for n, p in enumerate(EVENTS) if keeps(segfilters_expr(both, "or"), Record("E", 0, "u", p))] == [0, 1]
    assert [n for n, p in enumerate(EVENTS) if keeps(segfilters_expr(both, "and"), Record("E", 0, "u", p))] == []
    assert segfilters_expr([]) is None
    with pytest.raises(ValidationError, match="datetime"):
        segfilters_expr([_entry("d", "datetime", "==", "2024-01-01")])
    with pytest.raises(ValidationError, match="user properties"):
        segfilters_expr([{"property": {"name": "x", "source": "user", "type": "string"}}])
