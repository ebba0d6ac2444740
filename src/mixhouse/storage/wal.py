"""The write-ahead log: acknowledged rows, appended to a segment file before ClickHouse has them.

A segment is one file under ``data_dir/wal/``. Every group commit appends one frame to the open segment with a single
``write``; the flusher later closes the segment, inserts its rows into ClickHouse and deletes the file. A frame is::

    magic (4 bytes) | payload length (u32) | crc32 of payload (u32) | payload

and its payload is the three tables' rows, each as length (u32) then bytes (events as TabSeparated lines, identity
and profile operations as JSONEachRow lines). Recovery reads frames in order and stops at the first incomplete or
corrupt one: that frame's ``write`` never returned, so nothing in it was acknowledged.

The segment's file name is unique for the life of the data directory and doubles as ClickHouse's
``insert_deduplication_token``, so replaying a segment whose insert had already landed stores nothing twice
(docs/decisions/0017-write-ahead-log-before-clickhouse.md).
"""

from __future__ import annotations

import os
import struct
import time
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

WAL_DIR = "wal"
SUFFIX = ".wal"
_MAGIC = b"MHW1"
_HEADER = struct.Struct("<4sII")
_LENGTHS = struct.Struct("<III")


@dataclass
class SegmentRows:
    """The rows of one segment, per table, as the byte chunks that were appended."""

    events: list[bytes] = field(default_factory=list)
    identity: list[bytes] = field(default_factory=list)
    profile_ops: list[bytes] = field(default_factory=list)

    def add(self, events: bytes, identity: bytes, profile_ops: bytes) -> None:
        if events:
            self.events.append(events)
        if identity:
            self.identity.append(identity)
        if profile_ops:
            self.profile_ops.append(profile_ops)


def encode_frame(events: bytes, identity: bytes, profile_ops: bytes) -> bytes:
    payload = b"".join((_LENGTHS.pack(len(events), len(identity), len(profile_ops)), events, identity, profile_ops))
    return _HEADER.pack(_MAGIC, len(payload), zlib.crc32(payload)) + payload


def read_frames(path: Path) -> Iterator[tuple[bytes, bytes, bytes]]:
    """Every complete, intact frame of a segment file, in order; stops at the first torn or corrupt one."""
    data = path.read_bytes()
    offset = 0
    while offset + _HEADER.size <= len(data):
        magic, length, crc = _HEADER.unpack_from(data, offset)
        start = offset + _HEADER.size
        payload = data[start : start + length]
        if magic != _MAGIC or len(payload) != length or zlib.crc32(payload) != crc or length < _LENGTHS.size:
            return
        sizes = _LENGTHS.unpack_from(payload)
        if _LENGTHS.size + sum(sizes) != length:
            return
        cursor = _LENGTHS.size
        parts = []
        for size in sizes:
            parts.append(payload[cursor : cursor + size])
            cursor += size
        yield parts[0], parts[1], parts[2]
        offset = start + length


class Segment:
    """One open (or closed, not yet flushed) segment file and the rows it holds."""

    def __init__(self, directory: Path, *, fsync: bool) -> None:
        # time first, so names sort in creation order; the random part keeps them unique across restarts
        self.name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}"
        self.path = directory / (self.name + SUFFIX)
        self.rows = SegmentRows()
        self.row_count = 0
        self.last_frame = 0
        self.opened = time.monotonic()
        self._fsync = fsync
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        if fsync:
            _fsync_dir(directory)

    def append(self, events: bytes, identity: bytes, profile_ops: bytes, rows: int, frame: int) -> None:
        """Write one frame (returns once the OS has it, or the disk with ``fsync``), then keep its rows."""
        data = memoryview(encode_frame(events, identity, profile_ops))
        while data:
            written = os.write(self._fd, data)
            data = data[written:]
        if self._fsync:
            os.fdatasync(self._fd)
        self.rows.add(events, identity, profile_ops)
        self.row_count += rows
        self.last_frame = frame

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def remove(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def wal_directory(data_dir: Path) -> Path:
    directory = data_dir / WAL_DIR
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def leftover_segments(directory: Path) -> list[tuple[str, SegmentRows]]:
    """Segments a previous process left unflushed (name, rows), oldest first."""
    found: list[tuple[str, SegmentRows]] = []
    for path in sorted(directory.glob("*" + SUFFIX)):
        rows = SegmentRows()
        for events, identity, profile_ops in read_frames(path):
            rows.add(events, identity, profile_ops)
        found.append((path.stem, rows))
    return found
