"""The workspace: one business's data, on disk.

A workspace is a folder holding

* ``business.duckdb`` — the canonical business tables (read through Ibis), the
  import log and workspace metadata (reporting currency, time zone, schema
  version);
* ``ops.sqlite`` — operational state: the audit log now, automation runs,
  approvals and users later.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import zoneinfo
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pandas as pd

from smbgrowth.data.duck import run, scalar
from smbgrowth.data.migrations import duckdb_version, migrate_duckdb, migrate_sqlite
from smbgrowth.data.schema import get_table
from smbgrowth.errors import ConfigError, MappingError, WorkspaceError

__all__ = ["DUCKDB_FILE", "SQLITE_FILE", "Workspace", "init_workspace", "open_workspace"]

DUCKDB_FILE = "business.duckdb"
SQLITE_FILE = "ops.sqlite"
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def _check_currency(code: str) -> str:
    code = code.strip().upper()
    if not _CURRENCY.match(code):
        raise ConfigError(f"currency {code!r} is not an ISO 4217 code such as USD, EUR or GBP")
    return code


def _check_time_zone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"time zone {name!r} is not an IANA name such as Europe/Berlin or America/New_York"
        ) from None
    return name


def _connect_duckdb(path: Path) -> duckdb.DuckDBPyConnection:
    try:
        con = duckdb.connect(str(path))
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WorkspaceError(
                f"workspace database {path} is in use by another process; "
                "close the other smbgrowth command and try again"
            ) from None
        raise WorkspaceError(f"cannot open workspace database {path}: {exc}") from None
    run(con, "SET TimeZone = 'UTC'")
    run(con, "SET enable_progress_bar = false")
    # Work that outgrows memory (huge imports) spills next to the data, not to /tmp.
    tmp = str(path.parent / ".tmp").replace("'", "''")
    run(con, f"SET temp_directory = '{tmp}'")
    return con


class Workspace:
    """An open workspace: an Ibis connection over the business tables plus operational state.

    Use :func:`open_workspace` or :func:`init_workspace` to get one; close it with
    :meth:`close` or a ``with`` block.
    """

    def __init__(self, path: Path, duck: duckdb.DuckDBPyConnection, ops: sqlite3.Connection):
        self.path = path
        self.duck = duck
        self.ops = ops
        self.con = ibis.duckdb.from_connection(duck)

    # -- lifecycle -----------------------------------------------------------------
    def close(self) -> None:
        """Close both databases."""
        with contextlib.suppress(Exception):
            self.duck.close()
        with contextlib.suppress(Exception):
            self.ops.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"

    # -- metadata --------------------------------------------------------------------
    def get_meta(self, key: str, default: Any = None) -> Any:
        """Return a metadata value (JSON-decoded) or ``default``."""
        value = scalar(self.duck, "SELECT value FROM _meta WHERE key = ?", [key])
        return json.loads(value) if value is not None else default

    def set_meta(self, key: str, value: Any) -> None:
        """Store a JSON-serialisable metadata value."""
        self.duck.execute(
            "INSERT OR REPLACE INTO _meta VALUES (?, ?)", [key, json.dumps(value, sort_keys=True)]
        ).fetchall()

    @property
    def reporting_currency(self) -> str:
        return str(self.get_meta("reporting_currency", "USD"))

    @property
    def time_zone(self) -> str:
        return str(self.get_meta("time_zone", "UTC"))

    @property
    def schema_version(self) -> int:
        return duckdb_version(self.duck)

    def sample_truth(self) -> dict[str, Any] | None:
        """Return the true parameters recorded by the sample-business generator, if any."""
        value = self.get_meta("sample_truth")
        return dict(value) if value is not None else None

    # -- tables ----------------------------------------------------------------------
    def table(self, name: str) -> ibis.Table:
        """Return a canonical table as an Ibis expression."""
        get_table(name)
        return self.con.table(name)

    def read(self, name: str) -> pd.DataFrame:
        """Return a canonical table as a pandas DataFrame (ordered by its key)."""
        spec = get_table(name)
        return self.duck.execute(f"SELECT * FROM {name} ORDER BY {', '.join(spec.key)}").df()

    def row_count(self, name: str) -> int:
        get_table(name)
        return int(scalar(self.duck, f"SELECT count(*) FROM {name}"))

    @property
    def customers(self) -> ibis.Table:
        return self.table("customers")

    @property
    def orders(self) -> ibis.Table:
        return self.table("orders")

    @property
    def order_lines(self) -> ibis.Table:
        return self.table("order_lines")

    @property
    def products(self) -> ibis.Table:
        return self.table("products")

    @property
    def subscriptions(self) -> ibis.Table:
        return self.table("subscriptions")

    @property
    def marketing_spend(self) -> ibis.Table:
        return self.table("marketing_spend")

    @property
    def web_events(self) -> ibis.Table:
        return self.table("web_events")

    @property
    def deals(self) -> ibis.Table:
        return self.table("deals")

    @property
    def deal_stages(self) -> ibis.Table:
        return self.table("deal_stages")

    @property
    def invoices(self) -> ibis.Table:
        return self.table("invoices")

    @property
    def expenses(self) -> ibis.Table:
        return self.table("expenses")

    @property
    def tickets(self) -> ibis.Table:
        return self.table("tickets")

    @property
    def processes(self) -> ibis.Table:
        return self.table("processes")

    @property
    def experiments(self) -> ibis.Table:
        return self.table("experiments")

    @property
    def customer_segments(self) -> ibis.Table:
        return self.table("customer_segments")

    @property
    def fx_rates(self) -> ibis.Table:
        return self.table("fx_rates")

    @property
    def consent(self) -> ibis.Table:
        return self.table("consent")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Run a block in one DuckDB transaction: all of it lands, or none of it."""
        run(self.duck, "BEGIN TRANSACTION")
        try:
            yield self.duck
        except BaseException:
            run(self.duck, "ROLLBACK")
            raise
        else:
            run(self.duck, "COMMIT")

    def append(self, name: str, frame: Any, source: str) -> int:
        """Insert new rows from a pandas DataFrame or Arrow table into a canonical table.

        Columns are matched by name; canonical columns the frame lacks are null.
        Keys must be new (use the importers to update existing rows). Returns the
        number of rows inserted.
        """
        spec = get_table(name)
        import pyarrow as pa

        columns = list(frame.schema.names) if isinstance(frame, pa.Table) else list(frame.columns)
        unknown = [c for c in columns if c not in spec.column_names]
        if unknown:
            raise MappingError(
                f"table {name} has no column(s) {', '.join(unknown)}; "
                f"its columns are {', '.join(spec.column_names)}"
            )
        view = f"_append_{name}"
        self.duck.register(view, frame)
        try:
            exprs = [
                f"CAST({c.name} AS {c.sql_type})" if c.name in columns else "NULL"
                for c in spec.columns
            ]
            names = [*spec.column_names, "source", "imported_at"]
            self.duck.execute(
                f"INSERT INTO {name} ({', '.join(names)}) "
                f"SELECT {', '.join(exprs)}, ?, ? FROM {view}",
                [source, datetime.now(UTC)],
            ).fetchall()
        except duckdb.ConstraintException as exc:
            raise MappingError(f"rows for {name} repeat an existing key: {exc}") from None
        finally:
            self.duck.unregister(view)
        return len(frame)

    # -- operational state ------------------------------------------------------------
    def audit(self, action: str, detail: dict[str, Any] | None = None, actor: str = "cli") -> None:
        """Append an entry to the audit log."""
        with self.ops:
            self.ops.execute(
                "INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, ?, ?)",
                [
                    datetime.now(UTC).isoformat(),
                    actor,
                    action,
                    json.dumps(detail or {}, sort_keys=True, default=str),
                ],
            )

    def audit_log(self, limit: int = 100) -> list[dict[str, Any]]:
        """Return the latest audit entries, newest first."""
        rows = self.ops.execute(
            "SELECT at, actor, action, detail FROM audit_log ORDER BY id DESC LIMIT ?", [limit]
        ).fetchall()
        return [
            {"at": at, "actor": actor, "action": action, "detail": json.loads(detail)}
            for at, actor, action, detail in rows
        ]

    def imports(self) -> pd.DataFrame:
        """Return the import history, newest first."""
        return self.duck.execute("SELECT * FROM _imports ORDER BY started_at DESC").df()


def _open_files(path: Path) -> Workspace:
    duck = _connect_duckdb(path / DUCKDB_FILE)
    try:
        migrate_duckdb(duck)
        ops = sqlite3.connect(path / SQLITE_FILE)
        migrate_sqlite(ops)
    except BaseException:
        duck.close()
        raise
    return Workspace(path, duck, ops)


def init_workspace(
    path: str | Path,
    *,
    currency: str = "USD",
    time_zone: str = "UTC",
    exist_ok: bool = False,
) -> Workspace:
    """Create a workspace folder with its two databases and return it open.

    An existing workspace is opened as it is when ``exist_ok`` is true (its currency
    and time zone are not changed); otherwise it is an error.
    """
    path = Path(path)
    currency = _check_currency(currency)
    time_zone = _check_time_zone(time_zone)
    if (path / DUCKDB_FILE).exists():
        if not exist_ok:
            raise WorkspaceError(f"{path} is already a workspace; open it instead of creating it")
        return open_workspace(path)
    if path.exists() and not path.is_dir():
        raise WorkspaceError(f"{path} exists and is not a folder; choose another workspace path")
    path.mkdir(parents=True, exist_ok=True)
    ws = _open_files(path)
    ws.set_meta("reporting_currency", currency)
    ws.set_meta("time_zone", time_zone)
    ws.set_meta("created_at", datetime.now(UTC).isoformat())
    ws.audit("init", {"currency": currency, "time_zone": time_zone})
    return ws


def open_workspace(path: str | Path) -> Workspace:
    """Open an existing workspace, upgrading its schema if it was made by an older smbgrowth."""
    path = Path(path)
    if not (path / DUCKDB_FILE).exists():
        raise WorkspaceError(
            f"no workspace at {path}; create one with `smbgrowth init --workspace {path}`"
        )
    return _open_files(path)
