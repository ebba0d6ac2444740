"""The embedded backend parses long SQL (a report using a large custom-property formula in several places) and
refuses SQL over its limit with a query error, before ClickHouse sees it."""

from __future__ import annotations

from typing import Any

import pytest

from mixhouse.errors import QueryError
from mixhouse.storage.embedded.backend import MAX_QUERY_BYTES


def _sql_of_length(length: int) -> str:
    head, tail = "SELECT length('", "') AS n"
    return head + "x" * (length - len(head) - len(tail)) + tail


def test_sql_over_clickhouse_default_limit_runs(backend: Any) -> None:
    sql = _sql_of_length(300_000)  # over ClickHouse's 262,144-byte default
    assert backend.query_rows(sql) == [{"n": 300_000 - len("SELECT length('') AS n")}]


def test_sql_at_the_limit_runs_and_over_it_is_refused(backend: Any) -> None:
    fits = _sql_of_length(MAX_QUERY_BYTES)
    assert backend.query_rows(fits)[0]["n"] == MAX_QUERY_BYTES - len("SELECT length('') AS n")
    with pytest.raises(QueryError, match="too complex"):
        backend.query_rows(_sql_of_length(MAX_QUERY_BYTES + 1))
    with pytest.raises(QueryError, match="too complex"):
        list(backend.stream_bytes(_sql_of_length(MAX_QUERY_BYTES + 1)))
