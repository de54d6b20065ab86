"""Helpers shared by the importer tests: fixture paths, running an import, reading rows back."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import smbgrowth
from smbgrowth.data.importer import ImportResult, import_files
from smbgrowth.data.plan import ImportOptions
from smbgrowth.data.workspace import Workspace

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ORDER_LINES_MAPPING = FIXTURES / "generic" / "order_lines_mapping.yaml"


# -- helpers ---------------------------------------------------------------------------


def run_import(
    ws: Workspace, source: str, *files: str | Path, dry_run: bool = False, **options: Any
) -> ImportResult:
    """Import fixture files (names relative to the fixtures folder, or paths)."""
    paths = [f if isinstance(f, Path) else FIXTURES / f for f in files]
    return import_files(ws, source, paths, ImportOptions(**options), dry_run=dry_run)


def record(ws: Workspace, table: str, **key: Any) -> dict[str, Any]:
    """The one row of ``table`` with the given key values, as a dict (money as Decimal)."""
    where = " AND ".join(f"{k} = ?" for k in key)
    cur = ws.duck.execute(f"SELECT * FROM {table} WHERE {where}", list(key.values()))
    names = [d[0] for d in cur.description]
    found = cur.fetchall()
    assert len(found) == 1, f"{table} {key}: {len(found)} rows"
    return dict(zip(names, found[0], strict=True))


def column(ws: Workspace, sql: str, params: list[Any] | None = None) -> list[Any]:
    """First column of every row of a query."""
    return [r[0] for r in ws.duck.execute(sql, params or []).fetchall()]


def snapshot(ws: Workspace) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every canonical table and of the import log, in a stable order."""
    out = {}
    for name in [*smbgrowth.CANONICAL_TABLES, "_imports"]:
        out[name] = sorted(ws.duck.execute(f"SELECT * FROM {name}").fetchall(), key=repr)
    return out


def changes(result: ImportResult) -> dict[str, tuple[int, int, int, int]]:
    """(inserted, updated, unchanged, removed) per table over the whole import."""
    return {t: (c.inserted, c.updated, c.unchanged, c.removed) for t, c in result.totals().items()}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def money(value: str) -> Decimal:
    return Decimal(value)


# -- fixture files and workspaces used by more than one test module --------------------

SHOPIFY = "shopify/orders_export.csv"
SUPERSTORE = "generic/superstore_orders.csv"


def _usd(path: Path) -> Workspace:
    return smbgrowth.init_workspace(path, currency="USD", time_zone="America/New_York")
