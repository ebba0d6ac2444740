"""Compile user ``where`` expressions against the event source (columns named in ``events_source``)."""

from __future__ import annotations

from dataclasses import replace

from mixhouse.expr import SqlContext, SqlFragment, compile_filter, parse
from mixhouse.storage.schema import HOT_COLUMNS

#: Expressions over the event source; hot properties are read from their columns (``storage.schema``).
EVENT_CONTEXT = SqlContext(
    properties_column="properties",
    event_column="event",
    time_column="time",
    distinct_id_sql="distinct_id",
    param_prefix="w",
    raw_property_columns=HOT_COLUMNS,
)


def compile_event_where(text: str, prefix: str | None = None) -> SqlFragment:
    """Parse and compile a ``where`` over events; raises ``ExpressionError`` with the position on bad input.
    ``prefix`` names its parameters apart from another ``where`` in the same query."""
    context = EVENT_CONTEXT if prefix is None else replace(EVENT_CONTEXT, param_prefix=prefix)
    return compile_filter(parse(text), context)
