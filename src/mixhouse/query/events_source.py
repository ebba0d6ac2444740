"""The event source every query reads: one project's events, deduplicated, with canonical (post-merge) distinct ids.

Identity resolution happens here, at read time, so a merge re-attributes past events. The project filter is part of
the source and cannot be left out: a query is always about one project (``{project_id:UInt32}``).

Cost is what this module is about. Dedup is the engine's own ``FINAL`` over the ``ReplacingMergeTree`` (nearly free
once parts are merged). The identity map is joined only when the query asks for canonical ids: a source built without
``identity`` exposes no ``distinct_id`` column at all, so a query that needs one and forgot to ask fails loudly instead
of counting raw ids. Conditions are applied over the source's columns; ClickHouse pushes the ones on ``event`` and
``time`` into the primary-key read, below ``FINAL`` and the join.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from mixhouse.storage.schema import EVENTS_TABLE, HOT_COLUMNS, IDENTITY_TABLE, USER_PROJECTION

IDENTITY_MAP_SQL = f"""
    SELECT id, argMax(canonical, seq) AS canonical
    FROM {IDENTITY_TABLE}
    WHERE project_id = {{project_id:UInt32}}
    GROUP BY id
"""

_DISTINCT_ID = re.compile(r"(?<![\w.$])distinct_id\b")
_STRING_LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'")


def uses_canonical_id(*sql: str) -> bool:
    """Whether SQL over the source reads the canonical ``distinct_id`` column (outside string literals; compiled
    expressions bind every value as a parameter, so the name elsewhere is always a column reference)."""
    return any(_DISTINCT_ID.search(_STRING_LITERAL.sub("''", text)) for text in sql)


#: Where a query over the source puts it (see ``over_events``).
SOURCE = "{events_source}"

#: ``users``: distinct canonical ids, the empty id left out (spec §6.1); ``NO_USERS`` when the answer needs none.
USERS_SQL = "uniqExactIf(distinct_id, distinct_id != '')"
NO_USERS_SQL = "toUInt64(0)"


def over_events(
    query: str, conditions: Sequence[str] = (), *, dedup: bool = True, key_conditions: Sequence[str] = ()
) -> str:
    """``query`` with ``SOURCE`` replaced by the event source under ``conditions`` (and ``key_conditions``, see
    ``events_source_sql``); the identity map is joined only when the query or a condition reads ``distinct_id``."""
    identity = uses_canonical_id(query, *conditions)
    source = events_source_sql(conditions, identity=identity, dedup=dedup, key_conditions=key_conditions)
    return query.replace(SOURCE, source)


#: The by-user copy of the events (decision 13) read as a table: every stored row, sorted by (project, stored id,
#: time) within each part, so grouping by stored id finds each id's rows together. It carries no hot property columns
#: (the engine does not copy ``MATERIALIZED`` columns into a projection).
BY_USER_EVENTS = f"mergeTreeProjection(currentDatabase(), {EVENTS_TABLE}, {USER_PROJECTION})"


def events_source_sql(
    conditions: Sequence[str] = (),
    *,
    identity: bool,
    dedup: bool = True,
    key_conditions: Sequence[str] = (),
    by_user: bool = False,
) -> str:
    """SELECT of ``event, time, time_ms, raw_distinct_id, insert_id, seq, properties``, the hot property columns
    (``storage.schema.HOT_COLUMNS``) and, with ``identity``, ``distinct_id`` (the canonical id).

    ``conditions`` may use those column names. With ``dedup`` each (event, distinct_id, time, $insert_id) keeps only
    its most recently ingested copy (spec §3.5); without, every stored copy is read (raw export).
    ``key_conditions`` read only the stored dedup-key columns (``e.event``, ``e.distinct_id``, ``e.time``,
    ``e.insert_id``): they run as ``PREWHERE``, before ``FINAL``, which is safe because every copy of a key passes or
    fails them together, and lets the engine skip reading other columns of rows they drop.

    ``by_user`` reads the by-user copy (``BY_USER_EVENTS``; only without ``dedup``, which the copy cannot do, and
    without hot property columns): the caller checks it covers the parts read (``query/by_user_reads.py``).
    """
    if by_user and dedup:
        raise ValueError("the by-user copy is read without dedup")
    final = " FINAL" if dedup else ""
    if identity:
        canonical = "if(m.canonical = '', e.distinct_id, m.canonical) AS distinct_id,"
        join = f"LEFT JOIN ({IDENTITY_MAP_SQL}) AS m ON e.distinct_id = m.id"
    else:
        canonical = join = ""
    hot = "" if by_user else "".join(f", e.{column} AS {column}" for column in HOT_COLUMNS.values())
    prewhere = ("PREWHERE " + " AND ".join(f"({condition})" for condition in key_conditions)) if key_conditions else ""
    base = f"""
        SELECT e.event AS event, e.time AS time, toUnixTimestamp64Milli(e.time) AS time_ms, {canonical}
               e.distinct_id AS raw_distinct_id, e.insert_id AS insert_id, e.seq AS seq, e.properties AS properties
               {hot}
        FROM {BY_USER_EVENTS if by_user else EVENTS_TABLE} AS e{final}
        {join}
        {prewhere}
        WHERE e.project_id = {{project_id:UInt32}}
    """
    where = " AND ".join(f"({condition})" for condition in conditions)
    return f"SELECT * FROM ({base}) AS src" + (f" WHERE {where}" if where else "")


def user_arrays_sql(stored_rows: str, *, flag: str | None = None, users: str | None = None,
                    distinct: str | None = None) -> str:
    """``user`` (canonical id) and ``evs`` (the user's ``ev`` values, sorted) with identity resolved late: each stored
    id's rows are grouped first, the identity map is joined to one row per stored id instead of one per event, and
    the arrays of a user's ids are merged (decision 45). ``stored_rows`` selects ``sid`` (the stored id) and ``ev``
    (a sortable value: events packed as numbers); ``flag``: an aggregate over a stored id's rows, the user kept only
    when it holds for one of their ids; ``users``: a condition on the canonical ``distinct_id``; ``distinct``: an
    expression over ``v``: the sorted values are made distinct, then each mapped by it (copies of one event packed
    with a hash of its insert id become one, the hash then cleared)."""
    flagged = f", {flag} AS flagged" if flag else ""
    sorted_sql = "arraySort(arrayFlatten(groupArray(evs)))"
    if distinct is not None:
        sorted_sql = f"arrayMap(v -> {distinct}, arrayDistinct({sorted_sql}))"
    per_stored_id = f"SELECT sid, groupArray(ev) AS evs{flagged} FROM ({stored_rows}) GROUP BY sid"
    carried = ", g.flagged AS flagged" if flag else ""
    canonical = f"""
        SELECT if(m.canonical = '', g.sid, m.canonical) AS distinct_id, g.evs AS evs{carried}
        FROM ({per_stored_id}) AS g LEFT JOIN ({IDENTITY_MAP_SQL}) AS m ON g.sid = m.id"""
    return f"""
        SELECT distinct_id AS user, {sorted_sql} AS evs
        FROM ({canonical}) {f"WHERE {users}" if users else ""}
        GROUP BY distinct_id {"HAVING max(flagged) = 1" if flag else ""}"""
