"""Import semantics over every source: re-imports, provenance, dry runs and the import log."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import smbgrowth
from smbgrowth.data.workspace import Workspace
from tests.data.importing import (
    ORDER_LINES_MAPPING,
    SHOPIFY,
    SUPERSTORE,
    _usd,
    changes,
    column,
    run_import,
    snapshot,
)

WorkspaceFactory = Callable[[Path], Workspace]


def _nzd(path: Path) -> Workspace:
    return smbgrowth.init_workspace(path, currency="NZD", time_zone="Pacific/Auckland")


CASES: list[tuple[str, tuple[str, ...], dict[str, Any], WorkspaceFactory]] = [
    ("shopify", (SHOPIFY,), {}, _usd),
    ("stripe", ("stripe/payments.csv", "stripe/subscriptions.csv"), {}, _usd),
    ("woocommerce", ("woocommerce/webtoffee_orders.csv",), {}, _usd),
    ("woocommerce", ("woocommerce/advanced_order_export.csv",), {}, _usd),
    ("xero", ("xero/sales_invoices.csv", "xero/sales_invoices_template_headers.csv"), {}, _nzd),
    ("quickbooks", ("quickbooks/transaction_list.csv",), {}, _usd),
    ("hubspot", ("hubspot/contacts.csv", "hubspot/deals.csv"), {}, _usd),
    ("ads", ("ads/facebook_daily.csv",), {}, _usd),
    ("ads", ("ads/google_ads_no_channel.csv",), {"channel": "google_ads"}, _usd),
    ("csv", (SUPERSTORE,), {"mapping_file": str(ORDER_LINES_MAPPING)}, _usd),
    ("csv", ("generic/transactions.csv",), {"table": "orders"}, _usd),
]
CASE_IDS = [f"{c[0]}-{Path(c[1][0]).stem}" for c in CASES]


@pytest.fixture(params=CASES, ids=CASE_IDS)
def case(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Workspace, str, tuple[str, ...], dict[str, Any]]]:
    source, files, options, factory = request.param
    ws = factory(tmp_path / "ws")
    try:
        yield ws, source, files, options
    finally:
        ws.close()


def test_reimporting_the_same_files_changes_nothing(
    case: tuple[Workspace, str, tuple[str, ...], dict[str, Any]],
) -> None:
    ws, source, files, options = case
    first = run_import(ws, source, *files, **options)
    assert sum(c.inserted for c in first.totals().values()) > 0
    tables = {name: ws.duck.execute(f"SELECT * FROM {name}").fetchall() for name in first.totals()}
    again = run_import(ws, source, *files, **options)
    for name, change in again.totals().items():
        assert (change.inserted, change.updated, change.removed) == (0, 0, 0), name
        assert change.unchanged == change.rows, name
        assert ws.duck.execute(f"SELECT * FROM {name}").fetchall() == tables[name], name


def test_every_row_records_the_import_that_brought_it(
    case: tuple[Workspace, str, tuple[str, ...], dict[str, Any]],
) -> None:
    ws, source, files, options = case
    result = run_import(ws, source, *files, **options)
    labels = {f"{source}:{Path(f).name}" for f in files}
    for name in result.totals():
        sources = set(column(ws, f"SELECT DISTINCT source FROM {name}"))
        assert sources and sources <= labels, name
        assert column(ws, f"SELECT count(*) FROM {name} WHERE imported_at IS NULL") == [0]


def test_dry_run_writes_nothing_but_reports_what_would_change(
    case: tuple[Workspace, str, tuple[str, ...], dict[str, Any]],
) -> None:
    ws, source, files, options = case
    before = snapshot(ws)
    dry = run_import(ws, source, *files, dry_run=True, **options)
    assert dry.dry_run
    assert snapshot(ws) == before
    real = run_import(ws, source, *files, **options)
    assert changes(dry) == changes(real)
    assert sum(c.inserted for c in dry.totals().values()) > 0


def test_each_import_writes_one_row_to_the_import_log(workspace: Workspace) -> None:
    first = run_import(workspace, "shopify", SHOPIFY)
    run_import(workspace, "shopify", SHOPIFY, dry_run=True)
    second = run_import(workspace, "shopify", "shopify/orders_export_corrected.csv")
    log = workspace.imports()
    assert list(log["import_id"]) == [second.import_id, first.import_id]
    row = log[log["import_id"] == first.import_id].iloc[0]
    assert row["source"] == "shopify"
    assert row["rows_read"] == 8
    # customers, products, orders, lines, and one consent statement per customer who
    # said yes or no at checkout (alice, bob, carol, dave; the walk-in has no customer)
    assert row["inserted"] == 4 + 5 + 6 + 8 + 4
    assert row["updated"] == 0
    assert "orders_export.csv" in row["files"]
    assert len(row["sha256"]) == 64


def test_apostrophes_are_text_not_quotes(tmp_path: Path) -> None:
    # Two rows whose names are an apostrophe: were it taken for the quote character,
    # the text between the apostrophes would merge the rows into one.
    path = tmp_path / "orders.csv"
    path.write_text(
        "Order ID,Order Date,Customer ID,Customer Name,Total\n"
        "1,2024-01-02 10:00:00,c1,',10.00\n"
        "2,2024-01-03 11:00:00,c1,',12.50\n",
        encoding="utf-8",
    )
    ws = _usd(tmp_path / "ws")
    try:
        run_import(ws, "csv", path, table="orders")
        assert column(ws, "SELECT order_id FROM orders ORDER BY order_id") == ["1", "2"]
        names = dict(ws.duck.execute("SELECT customer_id, name FROM customers").fetchall())
        assert names == {"c1": "'"}
    finally:
        ws.close()
