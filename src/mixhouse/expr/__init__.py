"""Mixpanel's segmentation expression language (``where``, ``on``, selectors; spec §4.14).

::

    expr = parse('properties["plan"] == "pro" and event["$time"] >= datetime("2024-01-01")')
    evaluate(expr, Record("Signup", 1704067200000, "u1", {"plan": "pro"}))   # → True (the reference semantics)
    frag = compile_filter(expr, SqlContext())          # SqlFragment(sql="(…)", params={"p0": …})
    session.query(f"SELECT count() FROM events WHERE {frag.sql}", "JSONEachRow", params=frag.params)

``evaluate`` (plain Python) is the reference; the SQL from ``compile_filter``/``compile_value``/``compile_values``
keeps exactly the same records and produces exactly the same keys. The semantic choices are listed in
``mixhouse.expr.evaluate``.
"""

from __future__ import annotations

from mixhouse.expr.ast import Expr, to_text
from mixhouse.expr.compile_sql import SqlContext, SqlFragment, compile_filter, compile_value, compile_values
from mixhouse.expr.evaluate import Record, evaluate, keeps
from mixhouse.expr.parser import parse
from mixhouse.expr.values import UNDEFINED, DateTime, T, format_number, segment_key, segment_keys

__all__ = [
    "UNDEFINED",
    "DateTime",
    "Expr",
    "Record",
    "SqlContext",
    "SqlFragment",
    "T",
    "compile_filter",
    "compile_value",
    "compile_values",
    "evaluate",
    "format_number",
    "keeps",
    "parse",
    "segment_key",
    "segment_keys",
    "to_text",
]
