"""Versioned schema migrations of the workspace's two databases.

A migration is frozen SQL: once released it never changes, so that a
workspace created by any earlier version of smbgrowth can be brought forward
step by step without losing a row. ``schema.py`` describes the latest state;
a test checks that applying every migration gives exactly that state.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from smbgrowth.data.duck import run, scalar
from smbgrowth.errors import MigrationError

__all__ = [
    "DUCKDB_MIGRATIONS",
    "SQLITE_MIGRATIONS",
    "Migration",
    "duckdb_version",
    "migrate_duckdb",
    "migrate_sqlite",
]


@dataclass(frozen=True)
class Migration:
    """One schema step: the version it produces and the statements that produce it."""

    version: int
    description: str
    statements: tuple[str, ...]


_V1_BUSINESS_TABLES = """
CREATE TABLE customers (
    customer_id VARCHAR NOT NULL,
    email VARCHAR,
    name VARCHAR,
    company VARCHAR,
    phone VARCHAR,
    created_at TIMESTAMPTZ,
    country VARCHAR,
    region VARCHAR,
    city VARCHAR,
    segment VARCHAR,
    acquisition_channel VARCHAR,
    accepts_marketing BOOLEAN,
    time_zone VARCHAR,
    source VARCHAR NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (customer_id)
);
CREATE TABLE orders (
    order_id VARCHAR NOT NULL,
    order_number VARCHAR,
    customer_id VARCHAR,
    ordered_at TIMESTAMPTZ,
    status VARCHAR,
    fulfilled_at TIMESTAMPTZ,
    cancelled_at TIMESTAMPTZ,
    currency VARCHAR,
    total_original DECIMAL(18, 2),
    subtotal DECIMAL(18, 2),
    discount DECIMAL(18, 2),
    shipping DECIMAL(18, 2),
    tax DECIMAL(18, 2),
    total DECIMAL(18, 2),
    refunded DECIMAL(18, 2),
    channel VARCHAR,
    country VARCHAR,
    source VARCHAR NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (order_id)
);
CREATE TABLE order_lines (
    order_id VARCHAR NOT NULL,
    line_no BIGINT NOT NULL,
    sku VARCHAR,
    product_name VARCHAR,
    product_category VARCHAR,
    quantity DECIMAL(18, 4),
    unit_price DECIMAL(18, 2),
    unit_cost DECIMAL(18, 2),
    discount DECIMAL(18, 2),
    line_total DECIMAL(18, 2),
    source VARCHAR NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (order_id, line_no)
);
CREATE TABLE products (
    sku VARCHAR NOT NULL,
    name VARCHAR,
    category VARCHAR,
    unit_cost DECIMAL(18, 2),
    price DECIMAL(18, 2),
    stock_on_hand DECIMAL(18, 4),
    lead_time_days DOUBLE,
    vendor VARCHAR,
    source VARCHAR NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (sku)
);
CREATE TABLE subscriptions (
    subscription_id VARCHAR NOT NULL,
    customer_id VARCHAR,
    plan VARCHAR,
    started_at TIMESTAMPTZ,
    trial_ends_at TIMESTAMPTZ,
    canceled_at TIMESTAMPTZ,
    ended_at TIMESTAMPTZ,
    mrr DECIMAL(18, 2),
    currency VARCHAR,
    billing_interval VARCHAR,
    status VARCHAR,
    cancellation_reason VARCHAR,
    source VARCHAR NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (subscription_id)
);
CREATE TABLE marketing_spend (
    date DATE NOT NULL,
    channel VARCHAR NOT NULL,
    campaign VARCHAR NOT NULL,
    spend DECIMAL(18, 2),
    impressions BIGINT,
    clicks BIGINT,
    conversions DOUBLE,
    source VARCHAR NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (date, channel, campaign)
);
CREATE TABLE web_events (
    event_id VARCHAR NOT NULL,
    session_id VARCHAR,
    customer_id VARCHAR,
    occurred_at TIMESTAMPTZ,
    step VARCHAR,
    channel VARCHAR,
    device VARCHAR,
    source VARCHAR NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (event_id)
);
CREATE TABLE deals (
    deal_id VARCHAR NOT NULL,
    name VARCHAR,
    customer_id VARCHAR,
    created_at TIMESTAMPTZ,
    stage VARCHAR,
    pipeline VARCHAR,
    amount DECIMAL(18, 2),
    closed_at TIMESTAMPTZ,
    won BOOLEAN,
    owner VARCHAR,
    source VARCHAR NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (deal_id)
);
CREATE TABLE invoices (
    invoice_id VARCHAR NOT NULL,
    customer_id VARCHAR,
    issued_at TIMESTAMPTZ,
    due_at TIMESTAMPTZ,
    amount DECIMAL(18, 2),
    tax DECIMAL(18, 2),
    currency VARCHAR,
    paid_at TIMESTAMPTZ,
    paid_amount DECIMAL(18, 2),
    status VARCHAR,
    source VARCHAR NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (invoice_id)
);
CREATE TABLE expenses (
    expense_id VARCHAR NOT NULL,
    incurred_at TIMESTAMPTZ,
    category VARCHAR,
    vendor VARCHAR,
    amount DECIMAL(18, 2),
    due_at TIMESTAMPTZ,
    paid_at TIMESTAMPTZ,
    recurring BOOLEAN,
    source VARCHAR NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (expense_id)
);
CREATE TABLE tickets (
    ticket_id VARCHAR NOT NULL,
    customer_id VARCHAR,
    opened_at TIMESTAMPTZ,
    first_response_at TIMESTAMPTZ,
    resolved_at TIMESTAMPTZ,
    category VARCHAR,
    channel VARCHAR,
    csat DOUBLE,
    source VARCHAR NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (ticket_id)
);
CREATE TABLE processes (
    process_id VARCHAR NOT NULL,
    name VARCHAR,
    department VARCHAR,
    runs_per_month DOUBLE,
    minutes_per_run DOUBLE,
    error_rate DOUBLE,
    error_cost DECIMAL(18, 2),
    hourly_cost DECIMAL(18, 2),
    touches_customers BOOLEAN,
    source VARCHAR NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (process_id)
);
CREATE TABLE fx_rates (
    currency VARCHAR NOT NULL,
    date DATE NOT NULL,
    rate DOUBLE,
    source VARCHAR NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (currency, date)
)
;
CREATE TABLE _meta (
    key VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);
CREATE TABLE _imports (
    import_id VARCHAR PRIMARY KEY,
    source VARCHAR NOT NULL,
    files VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL,
    rows_read BIGINT NOT NULL,
    inserted BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    unchanged BIGINT NOT NULL,
    details VARCHAR NOT NULL
)
"""


def _split(sql: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in sql.split(";") if s.strip())


_V2_DEAL_STAGES = """
CREATE TABLE deal_stages (
    deal_id VARCHAR NOT NULL,
    stage VARCHAR NOT NULL,
    entered_at TIMESTAMPTZ NOT NULL,
    source VARCHAR NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (deal_id, stage)
)
"""

_V3_CUSTOMER_SEGMENTS = """
CREATE TABLE customer_segments (
    customer_id VARCHAR NOT NULL,
    method VARCHAR NOT NULL,
    segment VARCHAR NOT NULL,
    previous_segment VARCHAR,
    since TIMESTAMPTZ NOT NULL,
    score VARCHAR,
    source VARCHAR NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (customer_id, method)
)
"""

_V4_EXPERIMENTS = """
CREATE TABLE experiments (
    experiment_id VARCHAR NOT NULL,
    unit_id VARCHAR NOT NULL,
    variant VARCHAR NOT NULL,
    assigned_at TIMESTAMPTZ NOT NULL,
    unit_type VARCHAR,
    covariate DOUBLE,
    source VARCHAR NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (experiment_id, unit_id)
)
"""

# Frozen: every money column of version 4, widened from DECIMAL(18, 2). DuckDB alters
# the type in place, keeping rows, keys and indexes.
_V5_MONEY_COLUMNS = (
    ("orders", ("total_original", "subtotal", "discount", "shipping", "tax", "total", "refunded")),
    ("order_lines", ("unit_price", "unit_cost", "discount", "line_total")),
    ("products", ("unit_cost", "price")),
    ("subscriptions", ("mrr",)),
    ("marketing_spend", ("spend",)),
    ("deals", ("amount",)),
    ("invoices", ("amount", "tax", "paid_amount")),
    ("expenses", ("amount",)),
    ("processes", ("error_cost", "hourly_cost")),
)
_V5_MONEY_PRECISION = tuple(
    f"ALTER TABLE {table} ALTER COLUMN {column} TYPE DECIMAL(18, 4)"
    for table, columns in _V5_MONEY_COLUMNS
    for column in columns
)

# Consent becomes dated statements; what customers held so far is a statement made
# when it was imported.
_V6_CONSENT = """
CREATE TABLE consent (
    customer_id VARCHAR NOT NULL,
    stated_at TIMESTAMPTZ NOT NULL,
    accepts_marketing BOOLEAN NOT NULL,
    source VARCHAR NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (customer_id, stated_at)
);
INSERT INTO consent
SELECT customer_id, imported_at, accepts_marketing, source, imported_at
FROM customers WHERE accepts_marketing IS NOT NULL
"""

DUCKDB_MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "canonical business tables, metadata and import log", _split(_V1_BUSINESS_TABLES)),
    Migration(2, "deal stage history", _split(_V2_DEAL_STAGES)),
    Migration(3, "customer segments", _split(_V3_CUSTOMER_SEGMENTS)),
    Migration(4, "experiment assignments", _split(_V4_EXPERIMENTS)),
    Migration(5, "money kept at the source's precision", _V5_MONEY_PRECISION),
    Migration(6, "marketing consent as dated statements", _split(_V6_CONSENT)),
)

SQLITE_MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "audit log",
        (
            """CREATE TABLE audit_log (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                at TEXT NOT NULL,
                actor TEXT NOT NULL,
                action TEXT NOT NULL,
                detail TEXT NOT NULL
            )""",
            "CREATE INDEX audit_log_at ON audit_log (at)",
        ),
    ),
    Migration(
        2,
        "automation: workflows, runs, consent, suppression, sent log, tasks, approvals",
        (
            """CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log
               BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
            """CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log
               BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
            """CREATE TABLE workflow_versions (
                name TEXT NOT NULL,
                version TEXT NOT NULL,
                definition TEXT NOT NULL,
                created_at TEXT NOT NULL,
                PRIMARY KEY (name, version)
            )""",
            """CREATE TABLE workflows (
                name TEXT PRIMARY KEY,
                version TEXT NOT NULL,
                enabled INTEGER NOT NULL DEFAULT 0,
                path TEXT,
                updated_at TEXT NOT NULL
            )""",
            """CREATE TABLE automation_runs (
                run_id TEXT PRIMARY KEY,
                workflow TEXT NOT NULL,
                version TEXT NOT NULL,
                trigger_key TEXT NOT NULL,
                subject TEXT,
                holdout INTEGER NOT NULL DEFAULT 0,
                status TEXT NOT NULL,
                started_at TEXT NOT NULL,
                finished_at TEXT,
                detail TEXT
            )""",
            "CREATE INDEX automation_runs_workflow ON automation_runs (workflow, started_at)",
            """CREATE TABLE sent_log (
                idem_key TEXT PRIMARY KEY,
                run_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                recipient TEXT,
                status TEXT NOT NULL,
                message_id TEXT,
                at TEXT NOT NULL,
                detail TEXT
            )""",
            "CREATE INDEX sent_log_recipient ON sent_log (recipient, at)",
            """CREATE TABLE consent (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                email TEXT NOT NULL,
                list TEXT NOT NULL,
                granted INTEGER NOT NULL,
                at TEXT NOT NULL,
                source TEXT NOT NULL
            )""",
            "CREATE INDEX consent_email ON consent (email, list, id)",
            """CREATE TABLE suppression (
                email TEXT NOT NULL,
                list TEXT NOT NULL,
                reason TEXT NOT NULL,
                at TEXT NOT NULL,
                PRIMARY KEY (email, list)
            )""",
            """CREATE TABLE tasks (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                idem_key TEXT NOT NULL UNIQUE,
                run_id TEXT NOT NULL,
                title TEXT NOT NULL,
                assignee TEXT,
                due_at TEXT,
                created_at TEXT NOT NULL,
                done_at TEXT
            )""",
            """CREATE TABLE approvals (
                run_id TEXT NOT NULL,
                step TEXT NOT NULL,
                workflow TEXT NOT NULL,
                prompt TEXT NOT NULL,
                requested_at TEXT NOT NULL,
                timeout_at TEXT NOT NULL,
                default_outcome TEXT NOT NULL,
                decision TEXT,
                decided_at TEXT,
                actor TEXT,
                PRIMARY KEY (run_id, step)
            )""",
            """CREATE TABLE social_queue (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                idem_key TEXT NOT NULL UNIQUE,
                run_id TEXT NOT NULL,
                channel TEXT NOT NULL,
                text TEXT NOT NULL,
                post_at TEXT NOT NULL,
                status TEXT NOT NULL DEFAULT 'queued'
            )""",
            """CREATE TABLE customer_tags (
                customer_id TEXT NOT NULL,
                tag TEXT NOT NULL,
                at TEXT NOT NULL,
                PRIMARY KEY (customer_id, tag)
            )""",
            """CREATE TABLE customer_fields (
                customer_id TEXT NOT NULL,
                field TEXT NOT NULL,
                value TEXT NOT NULL,
                at TEXT NOT NULL,
                PRIMARY KEY (customer_id, field)
            )""",
            """CREATE TABLE events (
                event_id TEXT PRIMARY KEY,
                source TEXT NOT NULL,
                type TEXT NOT NULL,
                payload TEXT NOT NULL,
                received_at TEXT NOT NULL,
                processed_at TEXT
            )""",
            "CREATE INDEX events_pending ON events (processed_at, received_at)",
            """CREATE TABLE trigger_state (
                key TEXT PRIMARY KEY,
                value TEXT NOT NULL,
                at TEXT NOT NULL
            )""",
        ),
    ),
    Migration(
        3,
        "automation: the outbox the mailer delivers from",
        (
            """CREATE TABLE outbox (
                idem_key TEXT PRIMARY KEY,
                sender TEXT NOT NULL,
                recipient TEXT NOT NULL,
                message BLOB NOT NULL,
                audit TEXT,
                status TEXT NOT NULL,
                owner INTEGER,
                error TEXT,
                queued_at TEXT NOT NULL,
                at TEXT NOT NULL
            )""",
            "CREATE INDEX outbox_status ON outbox (status, queued_at)",
        ),
    ),
    Migration(
        4,
        "dashboard: users with roles and their login sessions",
        (
            """CREATE TABLE users (
                username TEXT PRIMARY KEY,
                password_hash TEXT NOT NULL,
                role TEXT NOT NULL CHECK (role IN ('owner', 'analyst', 'viewer')),
                created_at TEXT NOT NULL,
                disabled INTEGER NOT NULL DEFAULT 0
            )""",
            """CREATE TABLE web_sessions (
                token_hash TEXT PRIMARY KEY,
                username TEXT NOT NULL REFERENCES users (username),
                csrf TEXT NOT NULL,
                created_at TEXT NOT NULL,
                expires_at TEXT NOT NULL
            )""",
            "CREATE INDEX web_sessions_user ON web_sessions (username)",
        ),
    ),
)


def duckdb_version(con: duckdb.DuckDBPyConnection) -> int:
    """Return the schema version of a workspace's DuckDB file (0 when it is empty)."""
    exists = scalar(
        con, "SELECT count(*) FROM information_schema.tables WHERE table_name = '_meta'"
    )
    if not exists:
        return 0
    value = scalar(con, "SELECT value FROM _meta WHERE key = 'schema_version'")
    return int(value) if value is not None else 0


def _check_target(current: int, migrations: Sequence[Migration], what: str) -> int:
    latest = migrations[-1].version if migrations else 0
    if current > latest:
        raise MigrationError(
            f"the {what} has schema version {current} but this smbgrowth only knows up to "
            f"{latest}; upgrade smbgrowth to open it"
        )
    return latest


def migrate_duckdb(
    con: duckdb.DuckDBPyConnection,
    migrations: Sequence[Migration] = DUCKDB_MIGRATIONS,
    target: int | None = None,
) -> int:
    """Bring the DuckDB file to ``target`` (default: latest), each step in one transaction."""
    current = duckdb_version(con)
    latest = _check_target(current, migrations, "workspace database")
    target = latest if target is None else target
    for m in migrations:
        if current < m.version <= target:
            run(con, "BEGIN TRANSACTION")
            try:
                for stmt in m.statements:
                    run(con, stmt)
                con.execute(
                    "INSERT OR REPLACE INTO _meta VALUES ('schema_version', ?)", [str(m.version)]
                ).fetchall()
                run(con, "COMMIT")
            except duckdb.Error as exc:
                run(con, "ROLLBACK")
                raise MigrationError(
                    f"migration {m.version} ({m.description}) failed: {exc}"
                ) from exc
            current = m.version
    return current


def migrate_sqlite(
    con: sqlite3.Connection,
    migrations: Sequence[Migration] = SQLITE_MIGRATIONS,
) -> int:
    """Bring the operational SQLite file to the latest version (``PRAGMA user_version``)."""
    current = int(con.execute("PRAGMA user_version").fetchone()[0])
    _check_target(current, migrations, "operational database")
    for m in migrations:
        if m.version > current:
            try:
                with con:
                    for stmt in m.statements:
                        con.execute(stmt)
                    con.execute(f"PRAGMA user_version = {int(m.version)}")
            except sqlite3.Error as exc:
                raise MigrationError(
                    f"operational migration {m.version} ({m.description}) failed: {exc}"
                ) from exc
            current = m.version
    return current
