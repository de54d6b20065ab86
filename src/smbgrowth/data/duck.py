"""Small helpers over a DuckDB connection that always consume their result.

DuckDB refuses new work on a connection while a result is half-read, so every
statement here is fetched to the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb

__all__ = ["one", "run", "scalar"]


def run(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> list[Any]:
    """Execute a statement and return all its rows."""
    return (
        con.execute(sql, params).fetchall() if params is not None else con.execute(sql).fetchall()
    )


def one(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None
) -> tuple[Any, ...] | None:
    """Execute a query and return its first row, or None."""
    rows = run(con, sql, params)
    return tuple(rows[0]) if rows else None


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> Any:
    """Execute a query and return the first column of its first row, or None."""
    row = one(con, sql, params)
    return row[0] if row else None
