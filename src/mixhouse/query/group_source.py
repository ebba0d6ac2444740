"""The event source read by groups rather than users (group analytics, decision 0043).

A data group names a group key: an event property (``company_id``) whose value on an event is the id of the group the
event belongs to. An event belongs to each group its value names (a list: each distinct item, as segment keys, so
``5`` is group ``"5"``); without a value, or with only empty strings, it belongs to no group and is not read at all.

Two shapes, by what a math needs (``GroupActors.per_group``):

- **per group**: one row per (event, group), with ``distinct_id`` being the group id. Every user-keyed SQL (unique
  counts, active days, first seen, per-user values) then counts groups, an event with two groups counting for both.
- **per event**: one row per event that belongs to a group, with no ``distinct_id`` column at all (a query that
  reads one fails loudly instead of counting users). Totals and property maths count each event once.

Both carry ``group_ids`` (``Array(String)``: the row's group, or all of the event's groups), which conditions and
segment keys on group profiles read (``services/insights_groups.py``). Conditions that read ``distinct_id`` or
``group_ids`` apply after the fan-out; the others are pushed into the event read, below it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from mixhouse.expr import SqlFragment, compile_values
from mixhouse.expr.ast import Property
from mixhouse.query.events_source import SOURCE, events_source_sql, over_events
from mixhouse.query.where import EVENT_CONTEXT

#: The column of a row's group ids.
GROUP_IDS = "group_ids"
_READS_ACTOR = re.compile(r"(?<![\w.$])(distinct_id|group_ids)\b")
_STRING_LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'")


@dataclass(frozen=True)
class GroupActors:
    """How a query reads groups: ``ids_sql`` is the event's group-key values as ``Array(String)`` segment keys
    (``compile_values`` of the key, its parameters bound by the caller); ``per_group`` picks the shape."""

    ids_sql: str
    per_group: bool


def group_ids_fragment(group_key: str) -> SqlFragment:
    """An event's groups under ``group_key`` as ``Array(String)`` segment keys (``GroupActors.ids_sql``), its
    parameters named ``grp…``."""
    return compile_values(Property(group_key), replace(EVENT_CONTEXT, param_prefix="grp"))


def _reads_actor(condition: str) -> bool:
    return bool(_READS_ACTOR.search(_STRING_LITERAL.sub("''", condition)))


def group_source_sql(conditions: Sequence[str], actors: GroupActors) -> str:
    """SELECT of the deduplicated event source's columns, ``group_ids`` and (per group) ``distinct_id``, under
    ``conditions``."""
    inner = [condition for condition in conditions if not _reads_actor(condition)]
    outer = [condition for condition in conditions if _reads_actor(condition)]
    events = events_source_sql(inner, identity=False)
    ids = f"arrayDistinct(arrayFilter(x -> x != '', {actors.ids_sql}))"
    if actors.per_group:
        grouped = (f"SELECT *, group_id AS distinct_id, [group_id] AS {GROUP_IDS} "
                   f"FROM ({events}) ARRAY JOIN {ids} AS group_id")
    else:
        grouped = f"SELECT *, {ids} AS {GROUP_IDS} FROM ({events}) WHERE notEmpty({GROUP_IDS})"
    where = " AND ".join(f"({condition})" for condition in outer)
    return f"SELECT * FROM ({grouped}) AS grouped" + (f" WHERE {where}" if where else "")


def over_source(query: str, conditions: Sequence[str], actors: GroupActors | None) -> str:
    """``query`` over the user-keyed event source (``over_events``), or with ``actors`` over the group source."""
    if actors is None:
        return over_events(query, conditions)
    return query.replace(SOURCE, group_source_sql(conditions, actors))
