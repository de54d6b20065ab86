"""Quirks of real exports, each reproduced by a small fixture of its own.

The fixtures in ``tests/data/fixtures/real_layouts`` copy the layouts (headers,
empty cells, statuses, id spellings) of exports that real shops downloaded; the
values are invented. Every expected number can be read off the fixture; the
comments show the arithmetic.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

import smbgrowth
from smbgrowth.data.plan import ImportOptions
from smbgrowth.data.quality import workspace_status
from smbgrowth.data.suggest import suggest_mapping, write_suggestion
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import DataError, MappingError
from smbgrowth.metrics import compute_metric
from tests.data.importing import FIXTURES, SHOPIFY, changes, column, record, run_import, snapshot

LAYOUTS = FIXTURES / "real_layouts"


def _ws(tmp_path: Path, currency: str = "USD") -> Workspace:
    return smbgrowth.init_workspace(tmp_path / "ws", currency=currency, time_zone="UTC")


def _warnings(result: smbgrowth.data.importer.ImportResult) -> str:
    return " | ".join(w for f in result.files for w in f.warnings)


# -- generic files with invoice and receipt vocabularies -----------------------------


def test_invoice_level_file_imports_into_orders_without_a_mapping(tmp_path: Path) -> None:
    ws = _ws(tmp_path, "GBP")
    result = run_import(ws, "csv", LAYOUTS / "invoices_level.csv", table="orders")
    assert result.files[0].mapping == {
        "order_id": "InvoiceNo",
        "customer_id": "CustomerID",
        "ordered_at": "InvoiceDate",
        "total": "TotalPrice",
    }
    assert ws.duck.execute(
        "SELECT order_id, customer_id, total FROM orders ORDER BY 1"
    ).fetchall() == [
        ("536365", "17850", Decimal("139.12")),
        ("536366", "17850", Decimal("22.20")),
        ("536367", "13047", Decimal("278.73")),
    ]
    assert ws.row_count("customers") == 2


@pytest.mark.parametrize("table", ["order_lines", "orders"])
def test_line_level_retail_file_imports_whichever_table_is_asked(
    tmp_path: Path, table: str
) -> None:
    ws = _ws(tmp_path, "GBP")
    result = run_import(ws, "csv", LAYOUTS / "retail_lines.csv", table=table)
    notes = _warnings(result)
    assert result.files[0].target == "order_lines"
    if table == "orders":
        assert "one row per line item" in notes
    assert "ids written as decimals" in notes
    assert "2 row(s) have customer_id 0" in notes
    totals = dict(ws.duck.execute("SELECT order_id, total FROM orders").fetchall())
    assert totals == {
        "536365": Decimal("35.64"),  # 6 × 2.55 + 6 × 3.39 = 15.30 + 20.34
        "536370": Decimal("90.00"),  # 24 × 3.75
        "536414": Decimal("0"),  # a free sample: 56 × 0.0
        "C536379": Decimal("-27.50"),  # a cancellation: −1 × 27.5
        "536544": Decimal("2.51"),
    }
    # 17850.0 is the customer 17850; 0.0 means no customer
    assert sorted(column(ws, "SELECT customer_id FROM customers")) == ["12583", "14527", "17850"]
    assert record(ws, "orders", order_id="536544")["customer_id"] is None
    assert record(ws, "products", sku="85123A")["name"] == "WHITE HANGING HEART T-LIGHT HOLDER"
    assert ws.row_count("order_lines") == 6


def test_file_missing_a_needed_field_names_it_and_offers_a_mapping(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    odd = tmp_path / "sales.csv"
    odd.write_text("Receipt,When,Buyer,Paid\nR1,2024-01-02,a@x.com,10.50\nR2,2024-01-03,,4.00\n")
    before = snapshot(ws)
    with pytest.raises(MappingError) as info:
        run_import(ws, "csv", odd, table="orders")
    message = str(info.value)
    assert "sales.csv" in message and "--suggest-mapping" in message
    assert snapshot(ws) == before

    suggestion = suggest_mapping(ws, "csv", odd, ImportOptions(table="orders"))
    assert suggestion.missing == ["ordered_at", "total"]
    assert "# The file's columns: Receipt, When, Buyer, Paid" in suggestion.text
    path = write_suggestion(suggestion, tmp_path / "mapping.yaml")
    assert "--mapping mapping.yaml" in path.read_text()
    # The owner fills in what was missing and imports with it.
    text = path.read_text()
    for field, header in (
        ("order_id", "Receipt"),
        ("ordered_at", "When"),
        ("customer_email", "Buyer"),
        ("total", "Paid"),
    ):
        text = text.replace(f"  # {field}:", f"  {field}: {header}")
    path.write_text(text)
    assert yaml.safe_load(text)["columns"]["total"].startswith("Paid")
    run_import(ws, "csv", odd, mapping_file=str(path))
    assert column(ws, "SELECT total FROM orders ORDER BY order_id") == [
        Decimal("10.50"),
        Decimal("4.00"),
    ]


def test_line_file_without_order_numbers_names_the_missing_field(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    lines = tmp_path / "lines.csv"
    lines.write_text("Date,SKU,Quantity,Unit Price\n2024-01-02,A-1,2,3.50\n")
    with pytest.raises(MappingError) as info:
        run_import(ws, "csv", lines, table="order_lines")
    assert "no column for order_id" in str(info.value)
    assert "--suggest-mapping" in str(info.value)


# -- Shopify ------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["csv", "shopify"])
def test_trimmed_shopify_order_export_imports_as_orders(tmp_path: Path, source: str) -> None:
    ws = _ws(tmp_path, "EUR")
    options = {"table": "orders"} if source == "csv" else {}
    result = run_import(ws, source, LAYOUTS / "shopify_orders_trimmed.csv", **options)
    notes = _warnings(result)
    assert "refunded without a refund amount" in notes
    assert ws.row_count("orders") == 3
    refunded = record(ws, "orders", order_id="#2002")
    assert refunded["status"] == "refunded"
    assert refunded["refunded"] == refunded["total"] == Decimal("25.00")
    assert record(ws, "orders", order_id="#2003")["customer_id"] is None
    # 45.00 + 15.00: the refunded order is out of net revenue
    net = compute_metric(ws, "revenue_net", grain="total").frame["value"].sum()
    assert Decimal(str(net)) == Decimal("60.00")


def test_cash_on_delivery_buyers_are_known_by_phone_or_name(tmp_path: Path) -> None:
    ws = _ws(tmp_path, "EGP")
    result = run_import(ws, "shopify", LAYOUTS / "shopify_cod_orders.csv")
    notes = _warnings(result)
    assert "every order is pending (4 orders)" in notes
    assert "4 order(s) have no e-mail" in notes
    buyers = dict(ws.duck.execute("SELECT order_id, customer_id FROM orders").fetchall())
    assert buyers == {
        "#3001": "phone:201005550101",  # +20 100 555 0101, billing phone
        "#3002": "phone:01005550202",  # no billing phone: the shipping phone
        "#3003": "phone:201005550101",  # the same buyer again
        "#3004": "name:laila hassan",  # no phone at all
    }
    assert record(ws, "customers", customer_id="phone:201005550101")["name"] == "Mona Adel"
    # Shopify's Subtotal is after discounts: 400.00 + 100.00 before the SAVE100 code
    assert record(ws, "orders", order_id="#3002")["subtotal"] == Decimal("500.00")
    # prices include tax: 500.00 − 100.00 + 50.00 = 450.00 is the total, no warning
    status = workspace_status(ws)
    assert not [w for w in status.warnings if w.check == "total_mismatch"]


def test_shopify_customers_export_keeps_rows_without_email(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    result = run_import(ws, "shopify", LAYOUTS / "shopify_customers_export.csv")
    assert result.files[0].target == "customers"
    assert result.files[0].rows_skipped == 1  # the row that names nobody
    assert "1 customer(s) have no e-mail" in _warnings(result)
    people = dict(ws.duck.execute("SELECT customer_id, name FROM customers").fetchall())
    assert people == {
        "alice@example.com": "Alice Martin",
        "bob@example.com": "Bob Stone",
        "phone:13035550199": "Dora Lee",
        "carol@example.com": "Carol White",
    }
    consent = dict(
        ws.duck.execute("SELECT customer_id, accepts_marketing FROM customers").fetchall()
    )
    assert consent == {
        "alice@example.com": True,
        "bob@example.com": False,
        "phone:13035550199": False,
        "carol@example.com": None,  # the export said nothing
    }
    again = run_import(ws, "shopify", LAYOUTS / "shopify_customers_export.csv")
    assert all(c[0] == c[1] == c[3] == 0 for c in changes(again).values())


@pytest.mark.parametrize("customers_first", [True, False])
def test_consent_is_the_latest_statement_whatever_the_import_order(
    tmp_path: Path, customers_first: bool
) -> None:
    ws = _ws(tmp_path)
    # The customer list was exported on 1 September 2024, after every order (the
    # last, #1006, on 20 July 2024).
    export = tmp_path / "customers_export.csv"
    shutil.copy(LAYOUTS / "shopify_customers_export.csv", export)
    september = datetime(2024, 9, 1, tzinfo=UTC).timestamp()
    os.utime(export, (september, september))
    files = [export, FIXTURES / SHOPIFY]
    for path in files if customers_first else reversed(files):
        run_import(ws, "shopify", path)
    consent = dict(
        ws.duck.execute(
            "SELECT customer_id, accepts_marketing FROM customers WHERE customer_id LIKE '%@%'"
        ).fetchall()
    )
    assert consent == {
        "alice@example.com": True,  # no at her last order (July), yes in September
        "bob@example.com": False,
        "carol@example.com": True,  # yes at checkout; the list says nothing
        "dave@example.com": False,
    }
    assert ws.row_count("consent") == 4 + 3  # checkout statements + the list's three
    again = run_import(ws, "shopify", *files)
    assert sum(c.inserted + c.updated for c in again.totals().values()) == 0
    # Each file again on its own changes nothing either: the list's rows are the
    # list's (orders only add what it lacks), and consent is the latest statement.
    for path in files:
        alone = run_import(ws, "shopify", path)
        assert sum(c.inserted + c.updated for c in alone.totals().values()) == 0, path.name
    # The list's Boston address wins over the billing country the orders carry.
    assert record(ws, "customers", customer_id="alice@example.com")["city"] == "Boston"


# -- Stripe -------------------------------------------------------------------------


def test_stripe_unified_payments_with_intents_and_failed_attempts(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    result = run_import(ws, "stripe", LAYOUTS / "stripe_unified_payments.csv")
    assert "1 PaymentIntent row(s) without a charge id" in _warnings(result)
    rows = ws.duck.execute(
        "SELECT customer_id, status, total, total_original, refunded FROM orders ORDER BY 1"
    ).fetchall()
    assert rows == [
        # the charge counts once; its PaymentIntent twin five seconds earlier is dropped
        ("cus_A", "completed", Decimal("8.00"), Decimal("8.00"), Decimal("0.00")),
        # a failed charge in euros moved no money: no exchange rate needed
        ("cus_B", "failed", Decimal("0"), Decimal("12.00"), Decimal("0")),
        ("cus_C", "refunded", Decimal("20.00"), Decimal("20.00"), Decimal("20.00")),
        # an abandoned PaymentIntent, kept as failed under a derived id
        ("cus_D", "failed", Decimal("15.00"), Decimal("15.00"), None),
        # a succeeded PaymentIntent with no charge row: a payment of its own
        ("cus_E", "completed", Decimal("30.00"), Decimal("30.00"), None),
    ]
    ids = column(ws, "SELECT order_id FROM orders WHERE customer_id IN ('cus_D', 'cus_E')")
    assert all(i.startswith("S") for i in ids)
    again = run_import(ws, "stripe", LAYOUTS / "stripe_unified_payments.csv")
    assert changes(again)["orders"] == (0, 0, 5, 0)
    net = compute_metric(ws, "revenue_net", grain="total").frame["value"].sum()
    assert Decimal(str(net)) == Decimal("38.00")  # 8 + (20 − 20) + 30


def test_stripe_customers_export(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    result = run_import(ws, "stripe", LAYOUTS / "stripe_customers.csv")
    assert result.files[0].target == "customers"
    rows = ws.duck.execute("SELECT customer_id, email, name, created_at FROM customers ORDER BY 1")
    assert rows.fetchall() == [
        ("cus_A", "a@example.com", "Ann Archer", datetime(2025, 1, 10, 8, tzinfo=UTC)),
        ("cus_B", "b@example.com", "Bright Studio", datetime(2025, 3, 2, 9, 30, tzinfo=UTC)),
    ]


# -- statuses without amounts -------------------------------------------------------


def test_refunded_status_without_amount_is_out_of_every_net_figure(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    result = run_import(ws, "csv", LAYOUTS / "refunded_without_amount.csv", table="orders")
    assert "1 order(s) are marked refunded without a refund amount" in _warnings(result)
    frame = compute_metric(ws, "revenue_net", grain="total").frame
    assert Decimal(str(frame["value"].sum())) == Decimal("160.00")  # 100 + 60
    stored = record(ws, "orders", order_id="R-2")
    assert stored["status"] == "refunded" and stored["refunded"] == Decimal("40.00")


def test_a_shop_in_another_currency_is_told_how_to_start_right(tmp_path: Path) -> None:
    ws = _ws(tmp_path, "USD")
    with pytest.raises(DataError) as info:
        run_import(ws, "shopify", LAYOUTS / "shopify_orders_trimmed.csv")
    message = str(info.value)
    assert "shopify_orders_trimmed.csv, row 2: amount in EUR" in message
    assert "smbgrowth init --currency EUR" in message
    assert ws.row_count("orders") == 0
