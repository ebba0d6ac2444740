"""ClickHouse DDL for the event, identity and profile tables (one SQL dialect for chDB and a server).

Each event row keeps the typed columns every analysis touches and the rest of the properties as one JSON object text
(``properties``), which the expression compiler reads with ``JSONExtract*``.

Events are deduplicated the way Mixpanel does it (spec §3.5), by the engine: the table is a ``ReplacingMergeTree``
whose sorting key ends with the dedup key (event, distinct_id, time, $insert_id) and whose version is ``seq``. Queries
read it with ``FINAL`` (the most recently ingested copy of each key); raw export reads it without, so it sees every
copy until a background merge compacts them (docs/decisions/0011-dedup-by-replacing-merge-tree.md).
"""

from __future__ import annotations

EVENTS_TABLE = "events"
IDENTITY_TABLE = "identity"
PROFILE_OPS_TABLE = "profile_ops"

TABLES = (EVENTS_TABLE, IDENTITY_TABLE, PROFILE_OPS_TABLE)

#: Events are inserted as TabSeparated lines in ``EVENT_COLUMNS`` order: ClickHouse parses it about 2.4× faster
#: than JSONEachRow with a nested properties object (docs/decisions/0009-events-inserted-as-tsv.md).
EVENT_ROW_FORMAT = "TabSeparated"

#: Properties most reports break down or filter by (Mixpanel's default properties). Each also gets a column holding
#: its raw JSON text, computed by the engine at insert from one parse of ``properties`` (every key's column shares
#: it): reading it skips parsing the whole properties text (docs/decisions/0012-hot-property-columns.md).
HOT_PROPERTIES: tuple[str, ...] = (
    "$browser", "$os", "$device", "$city", "$region", "mp_country_code", "mp_lib", "utm_source",
)


def hot_column(key: str) -> str:
    """The column holding ``JSONExtractRaw(properties, key)`` for a key in ``HOT_PROPERTIES``."""
    return "prop_" + "".join(char if char.isalnum() else "_" for char in key)


HOT_COLUMNS: dict[str, str] = {key: hot_column(key) for key in HOT_PROPERTIES}
assert len(set(HOT_COLUMNS.values())) == len(HOT_COLUMNS)


def hot_column_ddl(key: str) -> str:
    """``name type MATERIALIZED expr``: equal to ``JSONExtractRaw(properties, key)`` (a missing key gives '')."""
    assert all(char.isalnum() or char in "$_" for char in key), key  # a constant of ours, safe inside quotes
    every = "CAST(JSONExtractKeysAndValuesRaw(properties), 'Map(String, String)')"
    return f"{hot_column(key)} LowCardinality(String) MATERIALIZED {every}['{key}']"


_HOT_COLUMNS_DDL = ",\n        ".join(hot_column_ddl(key) for key in HOT_PROPERTIES)


#: A second copy of the events sorted by user, for reads about a few users (the activity feed): the engine keeps it in
#: step with every insert and merge, and picks it when a query filters on ``distinct_id`` (decision 0013).
#: Projections are not read under ``FINAL``: such queries deduplicate the users' rows themselves.
USER_PROJECTION = "events_by_user"
USER_PROJECTION_DDL = f"PROJECTION {USER_PROJECTION} (SELECT * ORDER BY project_id, distinct_id, time)"
#: Merges that collapse duplicates rebuild the projection of the merged part (the default refuses projections on a
#: ReplacingMergeTree).
EVENTS_TABLE_SETTINGS = "deduplicate_merge_projection_mode = 'rebuild'"

#: The engine the events table must have; a data directory made by an older Mixhouse is refused at start.
EVENTS_ENGINE = "ReplacingMergeTree"

#: Inserts keep every copy they carry: collapsing duplicates is left to background merges (Mixpanel's compaction).
INSERT_SETTINGS = "SETTINGS optimize_on_insert = 0"

#: How many recent inserts per table ClickHouse remembers (by deduplication token, or by a hash of the rows for an
#: insert without one) and drops when repeated: a replayed log segment is stored once. Only the last few segments
#: can ever be replayed. Every row we insert carries a unique ``seq``, so distinct inserts never look alike.
DEDUP_WINDOW = 100


def insert_settings(dedup_token: str) -> str:
    """``SETTINGS`` of an insert; with a token (a log segment's name) a repeat of that token is dropped."""
    if not dedup_token:
        return INSERT_SETTINGS
    if not all(char.isalnum() or char == "-" for char in dedup_token):
        raise ValueError(f"bad deduplication token {dedup_token!r}")
    return f"{INSERT_SETTINGS}, insert_deduplication_token = '{dedup_token}'"

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
        properties  String CODEC(ZSTD(1)),
        {_HOT_COLUMNS_DDL},
        {USER_PROJECTION_DDL}
    )
    ENGINE = ReplacingMergeTree(seq)
    PARTITION BY toYYYYMM(time)
    ORDER BY (project_id, toDate(time), event, distinct_id, time, insert_id)
    SETTINGS {EVENTS_TABLE_SETTINGS}, {{merge_tree_settings}}
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


def merge_tree_settings(*, fsync_after_insert: bool, dedup_window: int = DEDUP_WINDOW) -> str:
    """Table settings; ``fsync_after_insert`` trades insert latency for power-loss durability."""
    flag = 1 if fsync_after_insert else 0
    return (
        f"fsync_after_insert = {flag}, fsync_part_directory = {flag}, "
        f"non_replicated_deduplication_window = {dedup_window}"
    )


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
