"""The frozen migrations produce exactly the tables schema.py describes."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

import smbgrowth
from smbgrowth.data.migrations import DUCKDB_MIGRATIONS, Migration, migrate_duckdb
from smbgrowth.data.schema import CANONICAL_TABLES, META_COLUMNS
from smbgrowth.errors import MigrationError


def test_migrated_tables_match_the_schema(tmp_path: Path) -> None:
    ws = smbgrowth.init_workspace(tmp_path / "ws")
    try:
        for name, table in CANONICAL_TABLES.items():
            described = ws.duck.execute(f"DESCRIBE {name}").fetchall()
            got = [(r[0], r[1]) for r in described]
            want = [(c.name, c.sql_type.replace(" ", "")) for c in (*table.columns, *META_COLUMNS)]
            assert [(n, t.replace(" ", "")) for n, t in got] == [
                (n, "TIMESTAMPWITHTIMEZONE" if t == "TIMESTAMPTZ" else t) for n, t in want
            ], name
            keys = {r[0] for r in described if r[3] == "PRI"}
            assert keys == set(table.key), name
    finally:
        ws.close()


def test_every_table_has_an_accessor(tmp_path: Path) -> None:
    ws = smbgrowth.init_workspace(tmp_path / "ws")
    try:
        for name in CANONICAL_TABLES:
            assert getattr(ws, name).count().execute() == 0
    finally:
        ws.close()


def test_a_later_migration_keeps_existing_rows(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    migrate_duckdb(con)
    con.execute(
        "INSERT INTO customers (customer_id, email, source, imported_at) "
        "VALUES ('c1', 'a@example.com', 'test', now())"
    )
    from smbgrowth.data.migrations import DUCKDB_MIGRATIONS

    later = Migration(
        DUCKDB_MIGRATIONS[-1].version + 1,
        "add loyalty tier",
        ("ALTER TABLE customers ADD COLUMN loyalty_tier VARCHAR",),
    )
    version = migrate_duckdb(con, (*DUCKDB_MIGRATIONS, later))
    assert version == later.version
    assert con.execute("SELECT customer_id, email, loyalty_tier FROM customers").fetchall() == [
        ("c1", "a@example.com", None)
    ]
    con.close()


def test_a_workspace_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    ws = smbgrowth.init_workspace(tmp_path / "ws")
    ws.duck.execute("UPDATE _meta SET value = '99' WHERE key = 'schema_version'").fetchall()
    ws.close()
    with pytest.raises(MigrationError, match="upgrade smbgrowth"):
        smbgrowth.open_workspace(tmp_path / "ws")


def test_a_version_one_workspace_opens_upgraded_without_loss(tmp_path: Path) -> None:
    import sqlite3

    from smbgrowth.data.migrations import migrate_sqlite
    from smbgrowth.data.workspace import DUCKDB_FILE, SQLITE_FILE

    path = tmp_path / "old"
    path.mkdir()
    con = duckdb.connect(str(path / DUCKDB_FILE))
    assert migrate_duckdb(con, target=1) == 1
    con.execute(
        "INSERT INTO deals (deal_id, created_at, stage, source, imported_at) "
        "VALUES ('d1', TIMESTAMPTZ '2024-01-01 00:00:00+00', 'lead', 'test', now())"
    )
    con.close()
    ops = sqlite3.connect(path / SQLITE_FILE)
    migrate_sqlite(ops)
    ops.close()
    with smbgrowth.open_workspace(path) as ws:
        assert ws.schema_version == DUCKDB_MIGRATIONS[-1].version
        assert ws.read("deals")["deal_id"].tolist() == ["d1"]
        assert ws.row_count("deal_stages") == 0
        assert ws.row_count("experiments") == 0


def test_a_version_three_workspace_opens_upgraded_with_experiments(tmp_path: Path) -> None:
    import sqlite3

    from smbgrowth.data.migrations import migrate_sqlite
    from smbgrowth.data.workspace import DUCKDB_FILE, SQLITE_FILE

    path = tmp_path / "v3"
    path.mkdir()
    con = duckdb.connect(str(path / DUCKDB_FILE))
    assert migrate_duckdb(con, target=3) == 3
    assert not con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'experiments'"
    ).fetchone()[0]
    con.execute(
        "INSERT INTO customers (customer_id, email, source, imported_at) "
        "VALUES ('c1', 'a@example.com', 'test', now())"
    )
    con.execute(
        "INSERT INTO customer_segments (customer_id, method, segment, since, source, imported_at) "
        "VALUES ('c1', 'rfm', 'champions', TIMESTAMPTZ '2024-01-01 00:00:00+00', 'test', now())"
    )
    con.close()
    ops = sqlite3.connect(path / SQLITE_FILE)
    migrate_sqlite(ops)
    ops.close()
    with smbgrowth.open_workspace(path) as ws:
        assert ws.schema_version == DUCKDB_MIGRATIONS[-1].version
        assert ws.read("customers")["email"].tolist() == ["a@example.com"]
        assert ws.read("customer_segments")["segment"].tolist() == ["champions"]
        assert ws.row_count("experiments") == 0
        ws.append(
            "experiments",
            pd.DataFrame(
                {
                    "experiment_id": ["hero"],
                    "unit_id": ["c1"],
                    "variant": ["control"],
                    "assigned_at": [pd.Timestamp("2024-02-01", tz="UTC")],
                }
            ),
            "test",
        )
        assert ws.experiments.count().execute() == 1
        row = ws.read("experiments").iloc[0]
        assert pd.isna(row["unit_type"]) and pd.isna(row["covariate"])


def test_the_experiments_table_enforces_its_key_and_required_columns(tmp_path: Path) -> None:
    ws = smbgrowth.init_workspace(tmp_path / "ws")
    try:
        insert = (
            "INSERT INTO experiments (experiment_id, unit_id, variant, assigned_at, "
            "source, imported_at) VALUES ('t', 'u1', {variant}, now(), 'test', now())"
        )
        ws.duck.execute(insert.format(variant="'control'")).fetchall()
        with pytest.raises(duckdb.ConstraintException):
            ws.duck.execute(insert.format(variant="'treatment'")).fetchall()
        with pytest.raises(duckdb.ConstraintException):
            ws.duck.execute(insert.format(variant="NULL").replace("'u1'", "'u2'")).fetchall()
        assert ws.row_count("experiments") == 1
    finally:
        ws.close()
