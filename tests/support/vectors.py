"""Load the recorded wire vectors from ../shared (absent in a user's fresh clone: tests then skip)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "reference" / "wire-vectors"


def require_vectors() -> Path:
    if not VECTORS.is_dir():
        pytest.skip(f"wire vectors not found at {VECTORS} (they live in the shared/ folder beside the repo)")
    return VECTORS


def interactions(path_filter: set[str] | Callable[[str], bool]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(vector id, request, response) for every recorded interaction whose path is in ``path_filter`` (or for which
    it is true)."""
    wanted = path_filter if callable(path_filter) else path_filter.__contains__
    if not VECTORS.is_dir():
        return
    for file in sorted(VECTORS.rglob("*.jsonl")):
        for line in file.read_bytes().splitlines():
            vector = orjson.loads(line)
            if "call" not in vector:
                continue
            for item in vector["expect"].get("interactions", []):
                request = item["request"]
                if wanted(request["path"]):
                    yield vector["id"], request, item.get("response") or {}
