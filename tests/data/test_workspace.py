"""The workspace: creating, reopening, metadata, transactions, appends and logs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import smbgrowth
from smbgrowth.data.importer import import_files
from smbgrowth.data.plan import ImportOptions
from smbgrowth.data.workspace import DUCKDB_FILE, SQLITE_FILE, Workspace
from smbgrowth.errors import ConfigError, MappingError, WorkspaceError

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def test_new_workspace_has_both_databases_and_its_settings(workspace: Workspace) -> None:
    assert (workspace.path / DUCKDB_FILE).is_file()
    assert (workspace.path / SQLITE_FILE).is_file()
    assert workspace.reporting_currency == "USD"
    assert workspace.time_zone == "America/New_York"
    assert workspace.schema_version >= 1
    for name in smbgrowth.CANONICAL_TABLES:
        assert workspace.row_count(name) == 0, name
    assert workspace.audit_log()[0]["action"] == "init"


def test_reopened_workspace_keeps_settings_and_data(tmp_path: Path) -> None:
    path = tmp_path / "ws"
    transactions = FIXTURES / "generic" / "transactions.csv"
    with smbgrowth.init_workspace(path, currency="eur", time_zone="Europe/Berlin") as ws:
        import_files(ws, "csv", [transactions], ImportOptions(table="orders"))
    with smbgrowth.open_workspace(path) as ws:
        assert ws.reporting_currency == "EUR"
        assert ws.time_zone == "Europe/Berlin"
        assert ws.row_count("orders") == 4
        assert len(ws.imports()) == 1
    # exist_ok opens it as it is, settings untouched
    with smbgrowth.init_workspace(path, currency="USD", exist_ok=True) as ws:
        assert ws.reporting_currency == "EUR"


def test_creating_a_workspace_twice_is_an_error(workspace: Workspace) -> None:
    with pytest.raises(WorkspaceError, match="already a workspace"):
        smbgrowth.init_workspace(workspace.path)


def test_opening_a_missing_workspace_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="smbgrowth init"):
        smbgrowth.open_workspace(tmp_path / "nowhere")


def test_workspace_path_that_is_a_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(WorkspaceError, match="not a folder"):
        smbgrowth.init_workspace(path)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"currency": "dollars"}, "ISO 4217"),
        ({"time_zone": "Mars/Olympus"}, "IANA"),
    ],
)
def test_bad_currency_or_time_zone_is_a_config_error(
    tmp_path: Path, options: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        smbgrowth.init_workspace(tmp_path / "ws", **options)
    assert not (tmp_path / "ws").exists()


def test_unknown_table_names_the_tables(workspace: Workspace) -> None:
    with pytest.raises(MappingError, match="choose one of: customers, orders"):
        workspace.read("sales")


def test_transaction_is_all_or_nothing(workspace: Workspace) -> None:
    frame = pd.DataFrame({"sku": ["A"], "name": ["Apple"]})
    with pytest.raises(RuntimeError), workspace.transaction():
        workspace.append("products", frame, source="test")
        raise RuntimeError("stop")
    assert workspace.row_count("products") == 0
    with workspace.transaction():
        workspace.append("products", frame, source="test")
    assert workspace.read("products")[["sku", "name", "source"]].to_dict("records") == [
        {"sku": "A", "name": "Apple", "source": "test"}
    ]


def test_append_rejects_unknown_columns_and_repeated_keys(workspace: Workspace) -> None:
    with pytest.raises(MappingError, match="no column"):
        workspace.append("products", pd.DataFrame({"sku": ["A"], "colour": ["red"]}), "test")
    workspace.append("products", pd.DataFrame({"sku": ["A"]}), "test")
    with pytest.raises(MappingError, match="repeat an existing key"):
        workspace.append("products", pd.DataFrame({"sku": ["A"]}), "test")


def test_read_returns_rows_in_key_order(workspace: Workspace) -> None:
    import_files(workspace, "shopify", [FIXTURES / "shopify" / "orders_export.csv"])
    lines = workspace.read("order_lines")
    keys = list(zip(lines["order_id"], lines["line_no"], strict=True))
    assert keys == sorted(keys)


def test_imports_are_audited_and_logged(workspace: Workspace) -> None:
    result = import_files(
        workspace, "csv", [FIXTURES / "generic" / "transactions.csv"], ImportOptions(table="orders")
    )
    entry = workspace.audit_log(limit=1)[0]
    assert entry["action"] == "import"
    assert entry["detail"]["import_id"] == result.import_id
    log = workspace.imports()
    assert list(log["import_id"]) == [result.import_id]
    assert log.iloc[0]["rows_read"] == 4
