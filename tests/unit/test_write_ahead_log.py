"""The write-ahead log's frames survive exactly as written, a torn or corrupt tail is dropped, and replaying a segment
whose rows already reached ClickHouse stores nothing twice (real chDB, no mocks)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest

from mixhouse.core.timeutil import ms_to_ch
from mixhouse.storage.commit import GroupCommitter
from mixhouse.storage.schema import event_row
from mixhouse.storage.wal import Segment, leftover_segments, read_frames

FRAMES = [
    (b"a\tb\n", b'{"id":"x"}\n', b""),
    (b"", b"", b'{"op":1}\n{"op":2}\n'),
    (b"c\t\\n\n" * 300, b"", b"{}\n"),
]


def _write(directory: Path, frames: list[tuple[bytes, bytes, bytes]]) -> Segment:
    segment = Segment(directory, fsync=False)
    for number, (events, identity, ops) in enumerate(frames, 1):
        segment.append(events, identity, ops, rows=1, frame=number)
    segment.close()
    return segment


def test_frames_read_back_as_written(tmp_path: Path) -> None:
    segment = _write(tmp_path, FRAMES)
    assert list(read_frames(segment.path)) == FRAMES
    assert segment.last_frame == 3 and segment.row_count == 3


@pytest.mark.parametrize("cut", [1, 5, 12, 20, 200])
def test_a_torn_last_frame_is_dropped(tmp_path: Path, cut: int) -> None:
    segment = _write(tmp_path, FRAMES)
    data = segment.path.read_bytes()
    segment.path.write_bytes(data[:-cut])  # the last write never completed
    assert list(read_frames(segment.path)) == FRAMES[:2]


def test_reading_stops_at_a_corrupt_frame(tmp_path: Path) -> None:
    segment = _write(tmp_path, FRAMES)
    data = bytearray(segment.path.read_bytes())
    second = 12 + 12 + sum(map(len, FRAMES[0]))  # header and lengths of frame 1, then its rows
    data[second + 20] ^= 0xFF  # a flipped byte in frame 2's payload
    segment.path.write_bytes(bytes(data))
    assert list(read_frames(segment.path)) == FRAMES[:1]


def test_segment_names_sort_in_creation_order_and_never_repeat(tmp_path: Path) -> None:
    names = [_write(tmp_path, FRAMES[:1]).name for _ in range(20)]
    assert names == sorted(names) and len(set(names)) == 20
    assert [name for name, _ in leftover_segments(tmp_path)] == names


def _count(backend: Any, table: str, pid: int) -> int:
    sql = f"SELECT count() AS n FROM {table} WHERE project_id = {{pid:UInt32}}"
    return int(backend.query_rows(sql, {"pid": pid})[0]["n"])


def test_replaying_a_segment_that_already_landed_stores_it_once(backend: Any, tmp_path: Path) -> None:
    pid = 7_100_001
    rows = b"".join(
        event_row(pid, ms_to_ch(1_700_000_000_000 + i), "Replayed", f"u{i % 3}", f"r-{i}", 90_000_000 + i,
                  orjson.dumps({"n": i}))
        for i in range(50)
    )
    # profile operations live in a plain MergeTree: a second copy would stay (events could be collapsed by a merge)
    ops = b"".join(
        orjson.dumps({"project_id": pid, "group_key": "", "distinct_id": f"u{i}", "seq": 90_000_000 + i,
                      "time": ms_to_ch(1_700_000_000_000), "op": '{"$add":{"n":1}}'}) + b"\n"
        for i in range(20)
    )
    wal = tmp_path / "wal"
    wal.mkdir()
    segment = _write(wal, [(rows, b"", ops)])
    kept = tmp_path / "copy.wal"
    shutil.copy(segment.path, kept)

    committer = GroupCommitter(backend, wal)
    assert committer.recover() == 50
    assert (_count(backend, "events", pid), _count(backend, "profile_ops", pid)) == (50, 20)
    assert list(wal.iterdir()) == []  # a flushed segment is deleted

    shutil.copy(kept, segment.path)  # as if the process died after the insert, before the delete
    assert GroupCommitter(backend, wal).recover() == 50
    assert (_count(backend, "events", pid), _count(backend, "profile_ops", pid)) == (50, 20)


def test_a_segment_clickhouse_refuses_is_set_aside_and_the_next_still_lands(backend: Any, tmp_path: Path) -> None:
    pid = 7_100_003
    wal = tmp_path / "wal"
    wal.mkdir()
    bad = _write(wal, [(b"not\ta valid row\n", b"", b"")])
    good_rows = event_row(pid, ms_to_ch(1_700_000_000_000), "Kept", "u", "k-1", 91_000_000, orjson.dumps({}))
    _write(wal, [(good_rows, b"", b"")])
    assert GroupCommitter(backend, wal, retry_delay_s=0.001).recover() == 1
    assert _count(backend, "events", pid) == 1
    assert sorted(path.name for path in wal.iterdir()) == [bad.name + ".failed"]
