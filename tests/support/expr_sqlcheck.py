"""Run compiled expressions on chDB against Python ``Record`` s, to check SQL ≡ evaluator (tests, debugging).

::

    table = RecordTable(chdb.session.Session(tmpdir))
    table.replace(records)
    assert table.kept_ids(expr) == {i for i, r in enumerate(records) if keeps(expr, r)}
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any, Final

from mixhouse.expr.ast import Expr
from mixhouse.expr.compile_sql import (
    SqlContext,
    SqlFragment,
    compile_filter,
    compile_typed,
    compile_value,
    compile_values,
)
from mixhouse.expr.evaluate import Record
from mixhouse.expr.values import UNDEFINED, DateTime, T, Value, canonical_json, type_of

CONTEXT: Final = SqlContext(user_properties_column="user_props", param_prefix="e")


def decode(tag: int, s: str, n: float, b: int) -> Value:
    """The value a ``compile_typed`` tuple stands for."""
    kind = T(tag)
    if kind is T.UNDEFINED:
        return UNDEFINED
    if kind is T.NULL:
        return None
    if kind is T.BOOLEAN:
        return bool(b)
    if kind is T.NUMBER:
        return float(n)
    if kind is T.STRING:
        return s
    if kind is T.DATETIME:
        return DateTime(int(n))
    # ClickHouse writes a negative-zero double as "-0"; keep it a float so canonical texts still match.
    return json.loads(s, parse_int=lambda text: -0.0 if text == "-0" else int(text))


def same_value(left: Value, right: Value) -> bool:
    """Strict equality of evaluator values (types must match; NaN equals NaN; containers by canonical text)."""
    kind = type_of(left)
    if kind is not type_of(right):
        return False
    if kind is T.NUMBER:
        return bool(left == right or (math.isnan(left) and math.isnan(right)))
    if kind in (T.LIST, T.OBJECT):
        return canonical_json(left) == canonical_json(right)
    return bool(left == right)


class RecordTable:
    """A Memory table of records (row ``id`` = index in the last ``replace``) in a chDB session."""

    def __init__(self, session: Any, name: str = "expr_records") -> None:
        self.session = session
        self.name = name
        self.context = CONTEXT
        session.query(f"DROP TABLE IF EXISTS {name}")
        session.query(
            f"""CREATE TABLE {name} (
                id UInt32,
                event LowCardinality(String),
                time_ms Int64,
                time DateTime64(3, 'UTC') DEFAULT fromUnixTimestamp64Milli(time_ms, 'UTC'),
                distinct_id String,
                properties String,
                user_props Nullable(String)
            ) ENGINE = Memory"""
        )

    def replace(self, records: Sequence[Record]) -> None:
        self.session.query(f"TRUNCATE TABLE {self.name}")
        if not records:
            return
        lines = []
        for i, record in enumerate(records):
            user = None if record.user is None else json.dumps(dict(record.user), ensure_ascii=False)
            row = {
                "id": i,
                "event": record.event,
                "time_ms": record.time_ms,
                "distinct_id": record.distinct_id,
                "properties": json.dumps(dict(record.properties), ensure_ascii=False),
                "user_props": user,
            }
            lines.append(json.dumps(row, ensure_ascii=False))
        self.session.query(f"INSERT INTO {self.name} FORMAT JSONEachRow\n" + "\n".join(lines))

    def _rows(self, select: str, fragment: SqlFragment, where: str = "1") -> list[list[Any]]:
        sql = f"SELECT id, {select} FROM {self.name} WHERE {where} ORDER BY id"
        result = self.session.query(sql, "JSONCompactEachRow", params=fragment.params)
        return [json.loads(line) for line in str(result).split("\n") if line.strip()]

    def kept_ids(self, expr: Expr | str) -> set[int]:
        fragment = compile_filter(expr, self.context)
        return {int(row[0]) for row in self._rows("1", fragment, fragment.sql)}

    def values(self, expr: Expr | str) -> list[Value]:
        fragment = compile_typed(expr, self.context)
        select = f"tupleElement({fragment.sql} AS v, 1), v.2, toString(v.3), v.4"
        return [decode(int(r[1]), str(r[2]), float(r[3]), int(r[4])) for r in self._rows(select, fragment)]

    def keys(self, expr: Expr | str) -> list[str | None]:
        fragment = compile_value(expr, self.context)
        return [row[1] for row in self._rows(fragment.sql, fragment)]

    def key_lists(self, expr: Expr | str) -> list[list[str]]:
        fragment = compile_values(expr, self.context)
        return [list(row[1]) for row in self._rows(fragment.sql, fragment)]
