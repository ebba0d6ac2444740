"""When a scan of every event in a time range should read the by-user copy of the events instead of the table.

The by-user copy (decision 13) holds the same rows sorted by (project, stored id, time) within each part, so a query
that groups a range's rows by stored id (retention's returns) finds each id's rows together: about a quarter less
engine work at 10M events (docs/performance.md). But its sort order cannot skip rows by time inside a part, where
the table's can (its key starts with the day). So the copy pays only when the range covers nearly all of the rows
of the parts it touches, and it is correct only when every one of those parts has the copy (a data directory from
before decision 13 builds it for old parts in the background).

``COVERAGE_SQL`` reads that from the engine's part list (one small query, no event is read); ``by_user_pays``
decides. Binds ``from_s`` / ``to_s``: the range in Unix seconds, end exclusive.

The copy cannot be read with ``FINAL``, so it may hold several stored copies of an event. A query that must count
each event once (flows) reads it only when no copy can be there: ``by_user_exact`` — every touched month is a single
part that a merge made (a merge keeps one copy of each key, and a key's copies always fall in the same month).
"""

from __future__ import annotations

from typing import Any

from mixhouse.storage.schema import EVENTS_TABLE, USER_PROJECTION

#: Reading the by-user copy, the joins run in the order written. The engine's join reordering has no row estimate
#: for a ``mergeTreeProjection`` source until a run of the same shape has finished, and its first guess ran the
#: bench's retention for minutes instead of about a second (decision 42). Flows reading it use the same setting.
BY_USER_SETTINGS = "SETTINGS query_plan_optimize_join_order_limit = 0"

#: The share of the touched parts' rows the range must hold (estimated from each part's time span, rows assumed
#: spread evenly over it) for the by-user copy to be read.
MIN_COVERAGE = 0.8

COVERAGE_SQL = f"""
    SELECT
        count() AS parts,
        uniqExact(partition_id) AS partitions,
        countIf(level = 0) AS unmerged,
        countIf(NOT has(projections, '{USER_PROJECTION}')) AS without_copy,
        sum(rows) AS touched,
        sum(rows * (least(toUInt32(max_time) + 1, {{to_s:Int64}}) - greatest(toUInt32(min_time), {{from_s:Int64}}))
            / (toUInt32(max_time) + 1 - toUInt32(min_time))) AS inside
    FROM system.parts
    WHERE database = currentDatabase() AND table = '{EVENTS_TABLE}' AND active
      AND toUInt32(max_time) >= {{from_s:Int64}} AND toUInt32(min_time) < {{to_s:Int64}}
"""


def coverage_params(start_ms: int, end_ms: int) -> dict[str, int]:
    """``COVERAGE_SQL``'s parameters for the range [``start_ms``, ``end_ms``) (whole seconds around it)."""
    return {"from_s": start_ms // 1000, "to_s": -(-end_ms // 1000)}


def by_user_pays(rows: list[dict[str, Any]]) -> bool:
    """From ``COVERAGE_SQL``'s answer: every touched part has the by-user copy and the range holds at least
    ``MIN_COVERAGE`` of their rows. No touched part (nothing to read) answers False: the table is as cheap then."""
    if not rows:
        return False
    row = rows[0]
    touched = int(row["touched"] or 0)
    if int(row["parts"] or 0) == 0 or int(row["without_copy"] or 0) > 0 or touched == 0:
        return False
    return float(row["inside"] or 0) >= MIN_COVERAGE * touched


def by_user_exact(rows: list[dict[str, Any]]) -> bool:
    """``by_user_pays``, and the touched parts hold one copy of each event: one part per month, each made by a
    merge (so reading the copy without ``FINAL`` reads what ``FINAL`` would)."""
    if not by_user_pays(rows):
        return False
    row = rows[0]
    return int(row["unmerged"] or 0) == 0 and int(row["parts"] or 0) == int(row["partitions"] or 0)
