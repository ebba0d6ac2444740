"""ClickHouse DDL for the event, identity and profile tables (one SQL dialect for chDB and a server).

Events are append-only. Each row keeps the typed columns every analysis touches and the rest of the properties as
one JSON object text (``properties``), which the expression compiler reads with ``JSONExtract*``.
"""

from __future__ import annotations

EVENTS_TABLE = "events"
IDENTITY_TABLE = "identity"
PROFILE_OPS_TABLE = "profile_ops"

TABLES = (EVENTS_TABLE, IDENTITY_TABLE, PROFILE_OPS_TABLE)

#: Events are inserted as TabSeparated lines in ``EVENT_COLUMNS`` order: ClickHouse parses it about 2.4× faster
#: than JSONEachRow with a nested properties object (docs/decisions/0009-events-inserted-as-tsv.md).
EVENT_ROW_FORMAT = "TabSeparated"

#: Column order used by every insert into ``events``.
EVENT_COLUMNS: tuple[str, ...] = ("project_id", "time", "event", "distinct_id", "insert_id", "seq", "properties")

DDL: tuple[str, ...] = (
    f"""
    CREATE TABLE IF NOT EXISTS {EVENTS_TABLE} (
        project_id  UInt32,
        time        DateTime64(3, 'UTC'),
        event       LowCardinality(String),
        distinct_id String,
        insert_id   String,
        seq         UInt64,
        properties  String CODEC(ZSTD(1))
    )
    ENGINE = MergeTree
    PARTITION BY toYYYYMM(time)
    ORDER BY (project_id, toDate(time), event, distinct_id, time)
    SETTINGS {{merge_tree_settings}}
    """,
    f"""
    CREATE TABLE IF NOT EXISTS {IDENTITY_TABLE} (
        project_id UInt32,
        id         String,
        canonical  String,
        seq        UInt64
    )
    ENGINE = ReplacingMergeTree(seq)
    ORDER BY (project_id, id)
    SETTINGS {{merge_tree_settings}}
    """,
    f"""
    CREATE TABLE IF NOT EXISTS {PROFILE_OPS_TABLE} (
        project_id  UInt32,
        group_key   String,
        distinct_id String,
        seq         UInt64,
        time        DateTime64(3, 'UTC'),
        op          String CODEC(ZSTD(1))
    )
    ENGINE = MergeTree
    ORDER BY (project_id, group_key, distinct_id, seq)
    SETTINGS {{merge_tree_settings}}
    """,
)


def merge_tree_settings(*, fsync_after_insert: bool) -> str:
    """Table settings; ``fsync_after_insert`` trades insert latency for power-loss durability."""
    flag = 1 if fsync_after_insert else 0
    return f"fsync_after_insert = {flag}, fsync_part_directory = {flag}"


_TSV_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "\\0"})


def tsv_escape(text: str) -> str:
    """A string field for TabSeparated input (only the rare strings that need it pay for ``translate``)."""
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text or "\0" in text:
        return text.translate(_TSV_ESCAPES)
    return text


def event_row(
    project_id: int, time_ch: str, event: str, distinct_id: str, insert_id: str, seq: int, properties_json: bytes
) -> bytes:
    """One ``events`` row as a TabSeparated line; ``properties_json`` is the JSON object text (orjson output)."""
    head = f"{project_id}\t{time_ch}\t{tsv_escape(event)}\t{tsv_escape(distinct_id)}\t{tsv_escape(insert_id)}\t{seq}\t"
    return head.encode() + properties_json.replace(b"\\", b"\\\\") + b"\n"
