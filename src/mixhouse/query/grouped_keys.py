"""Segment keys computed once per distinct input, not once per event.

A breakdown (``on``) turns each event into a list of segment keys; the compiled expression that does it (type tags,
list fan-out, number formatting) costs more per row than the count itself. But it depends only on a few inputs: the
raw JSON text of the properties it reads, and maybe the event name. Those have few distinct values, so a query
first groups the events by them (cheap: hot properties are dictionary-encoded columns), computes the keys on the
grouped rows, and re-aggregates: counts are summed, distinct users are merged from per-group states. Same answer.

``grouped_keys`` returns ``None`` when the expression reads something with too many values to group by (the event
time, the distinct id, the user's profile): the caller then computes keys per event.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from mixhouse.expr import Expr, SqlContext, SqlFragment, compile_values
from mixhouse.expr.ast import Property, children
from mixhouse.query.events_source import SOURCE
from mixhouse.storage.schema import HOT_COLUMNS

#: Distinct users of the groups a row of the outer query gathers (the empty id left out, spec §6.1).
MERGED_USERS_SQL = "uniqExactIfMerge(user_state)"


@dataclass(frozen=True)
class GroupedKeys:
    """``inputs``: (alias, SQL over the event source) to group by; ``keys``: the ``Array(String)`` of segment keys
    over those aliases (and ``event``), with the parameters both need."""

    inputs: tuple[tuple[str, str], ...]
    keys: SqlFragment

    @property
    def aliases(self) -> str:
        return ", ".join(alias for alias, _ in self.inputs)

    @property
    def select_inputs(self) -> str:
        return ", ".join(f"{sql} AS {alias}" for alias, sql in self.inputs)


def _reads(expr: Expr) -> list[Property]:
    found = [expr] if isinstance(expr, Property) else []
    for child in children(expr):
        found += _reads(child)
    return found


def grouped_keys(expr: Expr, context: SqlContext, prefix: str = "gk") -> GroupedKeys | None:
    """The grouped form of ``compile_values(expr, context)``, or ``None`` when it cannot be grouped."""
    properties: dict[str, str] = {}
    inputs: list[tuple[str, str]] = []
    params: dict[str, str] = {}
    for prop in _reads(expr):
        if prop.source == "user" or (prop.source == "event" and prop.name != "name"):
            return None
        if prop.source == "event":
            if ("event", "event") not in inputs:
                inputs.append(("event", "event"))
            continue
        if prop.name in properties:
            continue
        alias = f"{prefix}_in{len(properties)}"
        properties[prop.name] = alias
        column = HOT_COLUMNS.get(prop.name)
        if column is None:
            params[f"{alias}_key"] = prop.name
            column = f"JSONExtractRaw(properties, {{{alias}_key:String}})"
        inputs.append((alias, column))
    if not inputs:
        return None  # a constant breakdown: nothing to group by, nothing to gain
    keys = compile_values(expr, replace(context, raw_property_columns=properties, param_prefix=f"{prefix}_"))
    return GroupedKeys(tuple(inputs), SqlFragment(keys.sql, {**keys.params, **params}))


def keyed_groups_sql(bucket_sql: str, on: GroupedKeys, *, users: bool) -> str:
    """``bucket``, ``group_events``, ``keys`` and, with ``users``, ``user_state`` (merge it with
    ``MERGED_USERS_SQL``): one row per bucket and distinct inputs, over ``events_source.SOURCE``."""
    inner_id = ", distinct_id" if users else ""
    state = ", uniqExactIfState(distinct_id, distinct_id != '') AS user_state" if users else ""
    return f"""
        SELECT bucket, group_events{", user_state" if users else ""}, {on.keys.sql} AS keys
        FROM (
            SELECT bucket, {on.aliases}, count() AS group_events{state}
            FROM (SELECT {bucket_sql} AS bucket, {on.select_inputs}{inner_id} FROM ({SOURCE}))
            GROUP BY bucket, {on.aliases}
        )
    """
