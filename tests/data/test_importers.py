"""Importers: hand-written exports of each source in, canonical rows with hand-checked values out.

Every expected number below can be read off the fixture files in
``tests/data/fixtures``; the comments show the arithmetic.
"""

from __future__ import annotations

import csv
import shutil
import tempfile
import zoneinfo
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import smbgrowth
from smbgrowth.data.importer import ImportResult, import_files
from smbgrowth.data.plan import ImportOptions
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import DataError, InputFileError, MappingError, ValidationError

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


# -- Shopify -------------------------------------------------------------------------------

SHOPIFY = "shopify/orders_export.csv"


@pytest.fixture
def shopify(workspace: Workspace) -> Workspace:
    run_import(workspace, "shopify", SHOPIFY)
    return workspace


def test_shopify_multi_line_order_has_order_total_and_line_totals(shopify: Workspace) -> None:
    order = record(shopify, "orders", order_id="#1001")
    # order-level fields sit on the first line row only
    assert order["order_number"] == "#1001"
    assert order["total"] == money("68.90")
    assert order["subtotal"] == money("59.90")
    assert order["shipping"] == money("5.00")
    assert order["tax"] == money("4.00")
    assert order["currency"] == "USD"
    assert order["status"] == "completed"
    assert order["channel"] == "web"
    lines = shopify.duck.execute(
        "SELECT line_no, sku, product_name, quantity, unit_price, line_total "
        "FROM order_lines WHERE order_id = '#1001' ORDER BY line_no"
    ).fetchall()
    assert lines == [
        (1, "TSHIRT-M", "Organic Cotton T-Shirt - M", Decimal("2"), money("19.95"), money("39.90")),
        (2, "MUG-01", "Ceramic Mug", Decimal("1"), money("20.00"), money("20.00")),
    ]
    assert shopify.row_count("orders") == 6
    assert shopify.row_count("order_lines") == 8


def test_shopify_refunded_order_is_marked_refunded(shopify: Workspace) -> None:
    order = record(shopify, "orders", order_id="#1002")
    assert order["status"] == "refunded"
    assert order["refunded"] == money("25.00")
    assert order["total"] == money("25.00")


def test_shopify_partially_refunded_order_is_marked_partially_refunded(
    shopify: Workspace,
) -> None:
    order = record(shopify, "orders", order_id="#1003")
    assert order["status"] == "partially_refunded"
    assert order["refunded"] == money("10.00")
    assert order["total"] == money("45.00")  # 2 x 10.00 + 20.00 + 5.00 shipping


def test_shopify_order_with_cancelled_at_is_cancelled(shopify: Workspace) -> None:
    order = record(shopify, "orders", order_id="#1004")
    # financial status says refunded, but a cancellation date wins
    assert order["status"] == "cancelled"
    assert order["cancelled_at"] == utc(2024, 3, 12, 7, 0, 0)  # 08:00 +0100


def test_shopify_guest_without_email_has_no_customer(shopify: Workspace) -> None:
    order = record(shopify, "orders", order_id="#1005")
    assert order["customer_id"] is None
    assert order["channel"] == "pos"
    assert order["total"] == money("59.85")  # 3 x 19.95
    assert shopify.row_count("customers") == 4  # alice, bob, carol, dave


def test_shopify_timestamps_with_offsets_are_stored_in_utc(shopify: Workspace) -> None:
    # the file's own offsets win over the workspace's New York time zone
    assert record(shopify, "orders", order_id="#1001")["ordered_at"] == utc(2024, 3, 1, 13, 5, 9)
    assert record(shopify, "orders", order_id="#1001")["fulfilled_at"] == utc(2024, 3, 2, 9)
    assert record(shopify, "orders", order_id="#1005")["ordered_at"] == utc(2024, 7, 15, 7, 30)
    assert record(shopify, "orders", order_id="#1006")["ordered_at"] == utc(2024, 7, 20, 9)


def test_shopify_customer_emails_are_lower_cased_and_one_customer_per_email(
    shopify: Workspace,
) -> None:
    assert column(shopify, "SELECT customer_id FROM customers ORDER BY 1") == [
        "alice@example.com",
        "bob@example.com",
        "carol@example.com",
        "dave@example.com",
    ]
    # #1006 was placed as ALICE@EXAMPLE.COM
    assert record(shopify, "orders", order_id="#1006")["customer_id"] == "alice@example.com"
    alice = record(shopify, "customers", customer_id="alice@example.com")
    assert alice["email"] == "alice@example.com"
    assert alice["name"] == "Alice Martin"
    assert alice["city"] == "Boston"
    assert alice["region"] == "MA"
    assert alice["country"] == "US"
    assert alice["created_at"] == utc(2024, 3, 1, 13, 5, 9)  # her first order
    # she accepted marketing on #1001 but not on her latest order #1006
    assert alice["accepts_marketing"] is False
    assert record(shopify, "customers", customer_id="carol@example.com")["accepts_marketing"]


def test_shopify_products_are_collected_from_line_items(shopify: Workspace) -> None:
    assert column(shopify, "SELECT sku FROM products ORDER BY 1") == [
        "APRON-01",
        "MUG-01",
        "STICK-01",
        "TOTE-01",
        "TSHIRT-M",
    ]
    mug = record(shopify, "products", sku="MUG-01")
    assert mug["name"] == "Ceramic Mug"
    assert mug["price"] == money("20.00")


def test_shopify_corrected_export_updates_only_the_changed_rows(shopify: Workspace) -> None:
    before = {
        (r[0], r[1]): r[2:]
        for r in shopify.duck.execute(
            "SELECT order_id, line_no, line_total, source, imported_at FROM order_lines"
        ).fetchall()
    }
    orders_before = {
        r[0]: r[1:]
        for r in shopify.duck.execute("SELECT order_id, total, imported_at FROM orders").fetchall()
    }
    # corrected: the mug on #1001 costs 18.00 (total 66.90); #1003 lost its mug line
    result = run_import(shopify, "shopify", "shopify/orders_export_corrected.csv")
    got = changes(result)
    assert got["order_lines"] == (0, 1, 6, 1)  # 7 lines left, one of them changed
    assert got["orders"] == (0, 2, 4, 0)
    assert got["customers"] == (0, 0, 4, 0)
    assert got["products"] == (0, 0, 5, 0)

    assert record(shopify, "orders", order_id="#1001")["total"] == money("66.90")
    assert record(shopify, "orders", order_id="#1003")["total"] == money("25.00")
    line = record(shopify, "order_lines", order_id="#1001", line_no=2)
    assert line["line_total"] == money("18.00")
    assert line["source"] == "shopify:orders_export_corrected.csv"
    assert column(shopify, "SELECT line_no FROM order_lines WHERE order_id = '#1003'") == [1]

    after = {
        (r[0], r[1]): r[2:]
        for r in shopify.duck.execute(
            "SELECT order_id, line_no, line_total, source, imported_at FROM order_lines"
        ).fetchall()
    }
    untouched = set(before) - {("#1001", 2), ("#1003", 2)}
    assert {k: after[k] for k in untouched} == {k: before[k] for k in untouched}
    orders_after = {
        r[0]: r[1:]
        for r in shopify.duck.execute("SELECT order_id, total, imported_at FROM orders").fetchall()
    }
    for oid in ("#1002", "#1004", "#1005", "#1006"):
        assert orders_after[oid] == orders_before[oid]


def test_shopify_file_without_created_at_names_the_missing_column(
    workspace: Workspace, tmp_path: Path
) -> None:
    with (FIXTURES / SHOPIFY).open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    path = tmp_path / "orders_export.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        fields = [f for f in rows[0] if f != "Created at"]
        writer = csv.DictWriter(fh, fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(MappingError, match="ordered_at"):
        run_import(workspace, "shopify", path)


# -- Stripe --------------------------------------------------------------------------------


@pytest.fixture
def stripe(workspace: Workspace) -> Workspace:
    run_import(workspace, "stripe", "stripe/payments.csv", "stripe/subscriptions.csv")
    return workspace


def test_stripe_payment_statuses_are_normalised(stripe: Workspace) -> None:
    statuses = dict(stripe.duck.execute("SELECT order_id, status FROM orders").fetchall())
    assert statuses == {
        "ch_3OqA1": "completed",  # Paid
        "ch_3OqA2": "failed",  # Failed
        "ch_3OqA3": "refunded",  # Refunded, 30.00 of 30.00
        "ch_3OqA4": "completed",
        "ch_3OqA5": "partially_refunded",  # Paid, 20.00 of 80.00 refunded
    }
    assert record(stripe, "orders", order_id="ch_3OqA5")["refunded"] == money("20.00")
    assert record(stripe, "orders", order_id="ch_3OqA3")["refunded"] == money("30.00")
    assert set(column(stripe, "SELECT DISTINCT channel FROM orders")) == {"stripe"}


def test_stripe_foreign_currency_payment_uses_the_converted_amount(stripe: Workspace) -> None:
    payment = record(stripe, "orders", order_id="ch_3OqA4")
    assert payment["currency"] == "EUR"
    assert payment["total_original"] == money("100.00")
    assert payment["total"] == money("108.50")  # Converted Amount, in usd
    assert record(stripe, "orders", order_id="ch_3OqA1")["total"] == money("49.00")


def test_stripe_created_utc_is_not_shifted_by_the_workspace_time_zone(stripe: Workspace) -> None:
    assert record(stripe, "orders", order_id="ch_3OqA4")["ordered_at"] == utc(2024, 3, 8, 23, 30)
    sub = record(stripe, "subscriptions", subscription_id="sub_1OqM1")
    assert sub["started_at"] == utc(2024, 1, 5, 10, 15)


def test_stripe_payment_customers_are_keyed_by_customer_id(stripe: Workspace) -> None:
    acme = record(stripe, "customers", customer_id="cus_PA1")
    assert acme["email"] == "billing@acme.example"  # "Billing@Acme.example" in the file
    assert acme["name"] == "Acme Corp"
    assert record(stripe, "orders", order_id="ch_3OqA5")["customer_id"] == "cus_PA1"


def test_stripe_monthly_subscription_mrr_is_amount_times_quantity(stripe: Workspace) -> None:
    assert record(stripe, "subscriptions", subscription_id="sub_1OqM1")["mrr"] == money("49.00")
    seats = record(stripe, "subscriptions", subscription_id="sub_1OqM3")
    assert seats["mrr"] == money("45.00")  # 3 seats x 15.00
    assert record(stripe, "subscriptions", subscription_id="sub_1OqM5")["mrr"] == money("98.00")


def test_stripe_yearly_subscription_mrr_is_amount_over_twelve(stripe: Workspace) -> None:
    yearly = record(stripe, "subscriptions", subscription_id="sub_1OqM2")
    assert yearly["billing_interval"] == "year"
    assert yearly["mrr"] == money("40.83")  # 490.00 / 12 = 40.833
    assert record(stripe, "subscriptions", subscription_id="sub_1OqM4")["mrr"] == money(
        "83.33"
    )  # 1000.00 / 12


def test_stripe_canceled_subscriptions_keep_cancel_and_end_dates(stripe: Workspace) -> None:
    sub = record(stripe, "subscriptions", subscription_id="sub_1OqM3")
    assert sub["status"] == "canceled"
    assert sub["canceled_at"] == utc(2024, 2, 25, 17, 30)
    assert sub["ended_at"] == utc(2024, 3, 20, 9)
    assert sub["cancellation_reason"] == "too_expensive"
    trial = record(stripe, "subscriptions", subscription_id="sub_1OqM5")
    assert trial["status"] == "trialing"
    assert trial["trial_ends_at"] == utc(2024, 3, 24, 14)
    assert trial["ended_at"] is None


def test_stripe_subscriptions_give_customers_their_earliest_start(stripe: Workspace) -> None:
    # cus_PA1 first paid on 2024-03-05 but subscribed on 2024-01-05
    assert record(stripe, "customers", customer_id="cus_PA1")["created_at"] == utc(
        2024, 1, 5, 10, 15
    )
    assert stripe.row_count("customers") == 5


def test_stripe_files_that_describe_a_customer_differently_reimport_without_changes(
    workspace: Workspace, tmp_path: Path
) -> None:
    # payments call cus_PA1 by its description, subscriptions by its name
    text = (FIXTURES / "stripe" / "payments.csv").read_text(encoding="utf-8")
    payments = tmp_path / "payments.csv"
    payments.write_text(text.replace(",Acme Corp,", ",Acme Corp (annual billing),"), "utf-8")
    files = (payments, FIXTURES / "stripe" / "subscriptions.csv")
    run_import(workspace, "stripe", *files)
    acme = record(workspace, "customers", customer_id="cus_PA1")
    assert (acme["name"], acme["source"]) == ("Acme Corp", "stripe:subscriptions.csv")
    before = snapshot(workspace)
    again = run_import(workspace, "stripe", *files)
    assert changes(again)["customers"] == (0, 0, 5, 0)
    after = snapshot(workspace)
    assert {k: v for k, v in after.items() if k != "_imports"} == {
        k: v for k, v in before.items() if k != "_imports"
    }


# -- WooCommerce ---------------------------------------------------------------------------


def test_woocommerce_webtoffee_order_rows(workspace: Workspace) -> None:
    run_import(workspace, "woocommerce", "woocommerce/webtoffee_orders.csv")
    order = record(workspace, "orders", order_id="1201")
    assert order["total"] == money("102.20")  # 90.00 + 5.00 shipping + 7.20 tax
    assert order["subtotal"] == money("90.00")
    assert order["tax"] == money("7.20")
    assert order["customer_id"] == "17"
    # naive shop time is the workspace's: 15:20:11 EST = 20:20:11 UTC, 10:00 EDT = 14:00 UTC
    assert order["ordered_at"] == utc(2024, 3, 4, 20, 20, 11)
    assert record(workspace, "orders", order_id="1202")["ordered_at"] == utc(2024, 6, 1, 14)
    erin = record(workspace, "customers", customer_id="17")
    assert erin["name"] == "Erin Walsh"
    assert erin["email"] == "erin@example.com"


def test_woocommerce_webtoffee_statuses_are_normalised(workspace: Workspace) -> None:
    run_import(workspace, "woocommerce", "woocommerce/webtoffee_orders.csv")
    assert dict(workspace.duck.execute("SELECT order_id, status FROM orders").fetchall()) == {
        "1201": "completed",  # wc-completed
        "1202": "completed",  # processing: paid, not yet shipped
        "1203": "refunded",  # wc-refunded
        "1204": "cancelled",
        "1205": "pending",  # on-hold
        "1206": "failed",  # wc-failed
    }


def test_woocommerce_guest_with_customer_id_zero_is_keyed_by_email(workspace: Workspace) -> None:
    run_import(workspace, "woocommerce", "woocommerce/webtoffee_orders.csv")
    assert record(workspace, "orders", order_id="1202")["customer_id"] == "guest.buyer@example.com"
    assert record(workspace, "orders", order_id="1205")["customer_id"] == "guest.two@example.com"
    ids = column(workspace, "SELECT customer_id FROM customers ORDER BY 1")
    assert "0" not in ids
    assert ids == ["17", "23", "guest.buyer@example.com", "guest.two@example.com"]


def test_woocommerce_advanced_order_export_line_rows(workspace: Workspace) -> None:
    run_import(workspace, "woocommerce", "woocommerce/advanced_order_export.csv")
    order = record(workspace, "orders", order_id="2301")
    assert order["total"] == money("57.60")  # 55.00 - 5.00 + 4.00 + 3.60
    assert order["discount"] == money("5.00")
    assert order["customer_id"] == "hana@kimdesign.example"
    assert order["ordered_at"] == utc(2024, 4, 2, 17, 45)  # 13:45 EDT
    lines = workspace.duck.execute(
        "SELECT line_no, sku, quantity, unit_price, line_total FROM order_lines "
        "WHERE order_id = '2301' ORDER BY line_no"
    ).fetchall()
    assert lines == [
        (1, "MUG-BLUE", Decimal("2"), money("12.50"), money("25.00")),
        (2, "KETTLE", Decimal("1"), money("30.00"), money("30.00")),
    ]
    refunded = record(workspace, "orders", order_id="2302")
    assert refunded["status"] == "refunded"
    assert refunded["refunded"] == money("16.50")
    assert record(workspace, "customers", customer_id="hana@kimdesign.example")["name"] == (
        "Hana Kim"
    )


# -- Xero ----------------------------------------------------------------------------------


@pytest.fixture
def nz_workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = smbgrowth.init_workspace(tmp_path / "nz", currency="NZD", time_zone="Pacific/Auckland")
    try:
        yield ws
    finally:
        ws.close()


def test_xero_line_rows_collapse_to_one_invoice_each(nz_workspace: Workspace) -> None:
    run_import(nz_workspace, "xero", "xero/sales_invoices.csv")
    assert column(nz_workspace, "SELECT invoice_id FROM invoices ORDER BY 1") == [
        "INV-0001",
        "INV-0002",
        "INV-0003",
    ]
    inv = record(nz_workspace, "invoices", invoice_id="INV-0002")
    assert inv["amount"] == money("575.00")  # 3 lines, 500.00 + 75.00 GST
    assert inv["tax"] == money("75.00")
    assert inv["paid_amount"] == money("0.00")
    assert inv["currency"] == "NZD"
    assert inv["customer_id"] == "Kauri Cafe"
    assert record(nz_workspace, "customers", customer_id="Kauri Cafe")["email"] == (
        "hello@kauri.example"
    )


def test_xero_day_first_dates_are_read_as_day_month_year(nz_workspace: Workspace) -> None:
    result = run_import(nz_workspace, "xero", "xero/sales_invoices.csv")
    assert result.files[0].date_formats == {"issued_at": "%d/%m/%Y", "due_at": "%d/%m/%Y"}
    inv = record(nz_workspace, "invoices", invoice_id="INV-0001")
    # 15/03/2024 midnight in Auckland (NZDT, +13) and 14/04/2024 (NZST, +12)
    assert inv["issued_at"] == utc(2024, 3, 14, 11)
    assert inv["due_at"] == utc(2024, 4, 13, 12)


def test_xero_bills_in_the_export_are_skipped_and_counted(nz_workspace: Workspace) -> None:
    result = run_import(nz_workspace, "xero", "xero/sales_invoices.csv")
    assert result.files[0].rows_read == 7
    assert result.files[0].rows_skipped == 1  # the ACCPAY row
    assert column(nz_workspace, "SELECT count(*) FROM invoices WHERE invoice_id = 'SUP-77'") == [0]
    assert "Office Supplies Ltd" not in column(nz_workspace, "SELECT customer_id FROM customers")


def test_xero_statuses_are_normalised(nz_workspace: Workspace) -> None:
    run_import(
        nz_workspace,
        "xero",
        "xero/sales_invoices.csv",
        "xero/sales_invoices_template_headers.csv",
    )
    assert dict(
        nz_workspace.duck.execute("SELECT invoice_id, status FROM invoices").fetchall()
    ) == {
        "INV-0001": "paid",
        "INV-0002": "open",  # AUTHORISED
        "INV-0003": "void",  # VOIDED
        "INV-0004": "draft",
        "INV-0005": "paid",
    }


def test_xero_due_dates_that_read_both_ways_follow_the_invoice_dates(
    nz_workspace: Workspace,
) -> None:
    # every DueDate (01/04/2024, 03/05/2024) reads as month/day too; InvoiceDate
    # 15/03/2024 shows the file is day first
    result = run_import(nz_workspace, "xero", "xero/sales_invoices_early_due_dates.csv")
    assert result.files[0].date_formats["due_at"] == "%d/%m/%Y"
    inv = record(nz_workspace, "invoices", invoice_id="INV-0001")
    assert inv["due_at"] == utc(2024, 3, 31, 11)  # 1 April, midnight NZDT
    assert record(nz_workspace, "invoices", invoice_id="INV-0003")["due_at"] == utc(2024, 5, 2, 12)


def test_xero_template_headers_with_asterisks_are_recognised(nz_workspace: Workspace) -> None:
    result = run_import(nz_workspace, "xero", "xero/sales_invoices_template_headers.csv")
    assert result.files[0].mapping["invoice_id"] == "*InvoiceNumber"
    inv = record(nz_workspace, "invoices", invoice_id="INV-0004")
    assert inv["customer_id"] == "Tui Books"
    assert inv["amount"] == money("69.00")
    assert inv["issued_at"] == utc(2024, 4, 27, 12)  # 28/04/2024 NZST


# -- QuickBooks ----------------------------------------------------------------------------


@pytest.fixture
def quickbooks(workspace: Workspace) -> tuple[Workspace, ImportResult]:
    return workspace, run_import(workspace, "quickbooks", "quickbooks/transaction_list.csv")


def test_quickbooks_rows_are_routed_by_transaction_type(
    quickbooks: tuple[Workspace, ImportResult],
) -> None:
    ws, _ = quickbooks
    assert ws.duck.execute(
        "SELECT invoice_id, customer_id, amount, issued_at FROM invoices ORDER BY 1"
    ).fetchall() == [
        ("1001", "Amy's Bird Sanctuary", money("1200.00"), utc(2024, 1, 5, 5)),
        ("1002", "Bill's Windsurf Shop", money("450.00"), utc(2024, 1, 19, 5)),
    ]
    sale = ws.duck.execute(
        "SELECT order_number, customer_id, total, channel FROM orders"
    ).fetchall()
    assert sale == [("1008", "Cool Cars", money("2000.00"), "quickbooks")]


def test_quickbooks_accounting_amounts_become_positive_expenses(
    quickbooks: tuple[Workspace, ImportResult],
) -> None:
    ws, _ = quickbooks
    assert ws.duck.execute(
        "SELECT vendor, category, amount FROM expenses ORDER BY vendor"
    ).fetchall() == [
        ("Hicks Hardware", "Job Materials", money("500.00")),  # (500.00)
        ("Norton Lumber", "Job Materials", money("1050.75")),  # "1,050.75"
        ("Rent Company", "Rent or Lease", money("250.00")),  # $(250.00)
    ]


def test_quickbooks_title_section_total_and_footer_rows_are_skipped_and_counted(
    quickbooks: tuple[Workspace, ImportResult],
) -> None:
    _, result = quickbooks
    # below the header: 2 section rows, 2 "Total for" rows, 1 empty row, TOTAL, the footer,
    # and a payment, a deposit and a journal entry that no table takes: 10 skipped
    assert result.files[-1].rows_read == 16
    assert sum(f.rows_skipped for f in result.files) == 10
    assert any("10 row(s) skipped" in w for f in result.files for w in f.warnings)


def test_quickbooks_file_counts_its_rows_once_in_the_import_log(
    quickbooks: tuple[Workspace, ImportResult],
) -> None:
    ws, result = quickbooks
    # one file routed to invoices, expenses and orders
    assert [f.target for f in result.files] == ["invoices", "expenses", "orders"]
    log = ws.imports().iloc[0]
    assert log["rows_read"] == 16
    assert log["inserted"] == 2 + 2 + 3 + 1 + 1  # customers, invoices, expenses, customers, orders


def test_quickbooks_bad_amount_names_its_row_in_the_file(
    workspace: Workspace, tmp_path: Path
) -> None:
    text = (FIXTURES / "quickbooks" / "transaction_list.csv").read_text(encoding="utf-8")
    path = tmp_path / "transaction_list.csv"
    path.write_text(text.replace("Services,450.00", "Services,4S0.00"), encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        run_import(workspace, "quickbooks", path)
    # four title lines, the header on line 5, invoice 1002 on line 8
    assert (info.value.row, info.value.column, info.value.value) == (8, "Amount", "4S0.00")


# -- HubSpot -------------------------------------------------------------------------------


@pytest.fixture
def hubspot(workspace: Workspace) -> Workspace:
    run_import(workspace, "hubspot", "hubspot/contacts.csv", "hubspot/deals.csv")
    return workspace


def test_hubspot_contacts_become_customers(hubspot: Workspace) -> None:
    jane = record(hubspot, "customers", customer_id="101")
    assert jane["name"] == "Jane Cooper"
    assert jane["email"] == "jane.cooper@acme.example"
    assert jane["company"] == "Acme Corp"
    assert jane["segment"] == "customer"
    assert jane["acquisition_channel"] == "Organic Search"
    assert jane["country"] == "United States"
    assert jane["created_at"] == utc(2024, 1, 15, 14, 32)  # 09:32 New York time
    assert record(hubspot, "customers", customer_id="104")["name"] == "Tom"


def test_hubspot_deal_stage_ids_and_labels_set_won(hubspot: Workspace) -> None:
    won = dict(hubspot.duck.execute("SELECT deal_id, won FROM deals").fetchall())
    assert won == {
        "9001": True,  # closedwon
        "9002": False,  # closedlost
        "9003": True,  # Closed Won
        "9004": None,  # contractsent: still open
        "9005": False,  # Closed Lost
    }
    assert record(hubspot, "deals", deal_id="9001")["amount"] == money("12000.00")
    assert record(hubspot, "deals", deal_id="9003")["amount"] == money("48000.50")
    assert record(hubspot, "deals", deal_id="9005")["amount"] is None


def test_hubspot_deal_with_several_contacts_belongs_to_the_first(hubspot: Workspace) -> None:
    assert record(hubspot, "deals", deal_id="9001")["customer_id"] == "101"  # "101;104"
    assert record(hubspot, "deals", deal_id="9005")["customer_id"] is None
    # deals do not move a contact's creation date later
    assert record(hubspot, "customers", customer_id="103")["created_at"] == utc(2024, 7, 20, 15)


# -- ad spend ------------------------------------------------------------------------------


def test_ads_ad_sets_are_summed_per_campaign_and_day(workspace: Workspace) -> None:
    run_import(workspace, "ads", "ads/facebook_daily.csv")
    assert workspace.duck.execute(
        "SELECT date, channel, campaign, spend, impressions, clicks, conversions "
        "FROM marketing_spend ORDER BY date, campaign"
    ).fetchall() == [
        (date(2024, 3, 1), "facebook", "Brand", money("22.00"), 8000, 60, 1.0),
        # 85.40 + 40.10; 12000 + 3000; 240 + 90; 6 + 4
        (date(2024, 3, 1), "facebook", "Spring Sale", money("125.50"), 15000, 330, 10.0),
        (date(2024, 3, 2), "facebook", "Brand", money("20.00"), 7000, 55, 2.0),
        # 80.00 + 35.55 + 19.45
        (date(2024, 3, 2), "facebook", "Spring Sale", money("135.00"), 17500, 320, 8.0),
    ]


def test_ads_file_without_channel_column_needs_the_channel_option(workspace: Workspace) -> None:
    with pytest.raises(MappingError, match="--channel"):
        run_import(workspace, "ads", "ads/google_ads_no_channel.csv")
    assert workspace.row_count("marketing_spend") == 0


def test_ads_channel_option_fills_the_channel(workspace: Workspace) -> None:
    run_import(workspace, "ads", "ads/google_ads_no_channel.csv", channel="google_ads")
    assert workspace.duck.execute(
        "SELECT date, channel, campaign, spend, impressions, clicks, conversions "
        "FROM marketing_spend ORDER BY date, campaign"
    ).fetchall() == [
        # "1,045.20" + 54.80; 12.5 + 3 conversions
        (date(2024, 3, 1), "google_ads", "Search - Brand", money("1100.00"), 2400, 180, 15.5),
        (date(2024, 3, 1), "google_ads", "Search - Generic", money("210.00"), 5000, 150, 4.0),
        (date(2024, 3, 2), "google_ads", "Search - Generic", money("198.35"), 5200, 140, 2.0),
    ]


# -- generic files -------------------------------------------------------------------------

SUPERSTORE = "generic/superstore_orders.csv"


def _superstore_checks(ws: Workspace) -> None:
    assert ws.duck.execute(
        "SELECT order_id, customer_id, total FROM orders ORDER BY 1"
    ).fetchall() == [
        ("CA-2018-138688", "DV-13045", money("14.62")),
        ("CA-2018-152156", "CG-12520", money("993.90")),  # 261.96 + 731.94
        ("US-2017-108966", "SO-20335", money("987.23")),  # 957.58 + 22.37 + 7.28
    ]
    assert ws.duck.execute(
        "SELECT line_no, sku, product_category, quantity, line_total FROM order_lines "
        "WHERE order_id = 'US-2017-108966' ORDER BY line_no"
    ).fetchall() == [
        (1, "FUR-TA-10000577", "Furniture", Decimal("5"), money("957.58")),  # 957.5775
        (2, "OFF-ST-10000760", "Office Supplies", Decimal("2"), money("22.37")),  # 22.368
        (3, "OFF-AR-10002833", "Office Supplies", Decimal("4"), money("7.28")),
    ]
    # 11/8/2018 is November 8th (EST), 6/12/2018 June 12th (EDT)
    assert record(ws, "orders", order_id="CA-2018-152156")["ordered_at"] == utc(2018, 11, 8, 5)
    assert record(ws, "orders", order_id="CA-2018-138688")["ordered_at"] == utc(2018, 6, 12, 4)
    assert dict(ws.duck.execute("SELECT customer_id, segment FROM customers").fetchall()) == {
        "CG-12520": "Consumer",
        "DV-13045": "Corporate",
        "SO-20335": "Consumer",
    }
    name = record(ws, "products", sku="FUR-CH-10000454")["name"]
    assert name == "Hon Deluxe Fabric Upholstered Stacking Chairs, Rounded Back"


def test_generic_order_lines_mapping_fills_orders_lines_customers_products(
    workspace: Workspace,
) -> None:
    result = run_import(workspace, "csv", SUPERSTORE, mapping_file=str(ORDER_LINES_MAPPING))
    assert not result.files[0].mapping_guessed
    _superstore_checks(workspace)
    assert workspace.row_count("products") == 6


def _superstore_rows() -> list[dict[str, str]]:
    with (FIXTURES / SUPERSTORE).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _typed(row: dict[str, str], key: str) -> Any:
    """A cell as a spreadsheet or a typed file would hold it."""
    value = row[key]
    if key in ("Order Date", "Ship Date"):
        return datetime.strptime(value, "%m/%d/%Y")
    if key in ("Sales", "Discount", "Profit"):
        return float(value)
    if key in ("Row ID", "Quantity"):
        return int(value)
    return value


def test_generic_xlsx_imports_like_the_csv(workspace: Workspace, tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    rows = _superstore_rows()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(rows[0]))
    for row in rows:
        sheet.append([_typed(row, k) for k in row])
    path = tmp_path / "superstore_orders.xlsx"
    book.save(path)
    run_import(workspace, "csv", path, mapping_file=str(ORDER_LINES_MAPPING))
    _superstore_checks(workspace)


def test_generic_xlsx_with_text_cells_imports_like_the_csv(
    workspace: Workspace, tmp_path: Path
) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    rows = _superstore_rows()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(rows[0]))
    for row in rows:
        sheet.append(list(row.values()))
    path = tmp_path / "superstore_orders.xlsx"
    book.save(path)
    run_import(workspace, "csv", path, mapping_file=str(ORDER_LINES_MAPPING))
    _superstore_checks(workspace)


def test_generic_parquet_imports_like_the_csv(workspace: Workspace, tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = _superstore_rows()
    table = pa.table({k: [_typed(r, k) for r in rows] for k in rows[0]})
    table = table.set_column(
        table.schema.get_field_index("Order Date"),
        "Order Date",
        pa.array([_typed(r, "Order Date").date() for r in rows], pa.date32()),
    )
    path = tmp_path / "superstore_orders.parquet"
    pq.write_table(table, path)
    run_import(workspace, "csv", path, mapping_file=str(ORDER_LINES_MAPPING))
    _superstore_checks(workspace)


WHOLESALE_MAPPING = FIXTURES / "generic" / "wholesale_orders_mapping.yaml"


def test_generic_mapping_skips_title_rows_and_sets_constants(workspace: Workspace) -> None:
    run_import(
        workspace, "csv", "generic/wholesale_orders.csv", mapping_file=str(WHOLESALE_MAPPING)
    )
    assert workspace.duck.execute(
        "SELECT order_id, customer_id, currency, total, channel, ordered_at FROM orders ORDER BY 1"
    ).fetchall() == [
        ("S-1", "K-1", "USD", money("1010.00"), "wholesale", utc(2024, 5, 13, 4)),
        ("S-2", "K-2", "USD", money("20.00"), "wholesale", utc(2024, 5, 14, 4)),
    ]


def test_generic_mapping_picks_the_workbook_sheet(workspace: Workspace, tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.title = "Summary"
    book.active.append(["Totals are on the next sheet"])
    sheet = book.create_sheet("Orders")
    sheet.append(["Weekly wholesale orders"])
    sheet.append(["Generated 2024-05-20 by the order desk"])
    sheet.append(["Order ID", "Order Date", "Client", "Currency", "Total"])
    sheet.append(["S-1", datetime(2024, 5, 13), "K-1", "USD", 1010])
    sheet.append([None, None, None, None, None])
    sheet.append(["S-2", "05/14/2024", "K-2", "USD", "2O.00"])
    path = tmp_path / "wholesale.xlsx"
    book.save(path)
    with pytest.raises(ValidationError) as info:
        run_import(workspace, "csv", path, mapping_file=str(WHOLESALE_MAPPING))
    # two title rows, the header on row 3, an empty row 5: S-2 is row 6
    assert (info.value.row, info.value.value) == (6, "2O.00")
    sheet.cell(6, 5).value = 20
    book.save(path)
    run_import(workspace, "csv", path, mapping_file=str(WHOLESALE_MAPPING))
    assert workspace.duck.execute("SELECT order_id, total FROM orders ORDER BY 1").fetchall() == [
        ("S-1", money("1010.00")),
        ("S-2", money("20.00")),
    ]
    with pytest.raises(InputFileError, match="no sheet 'Nope'; its sheets are Summary, Orders"):
        run_import(workspace, "csv", path, table="orders", sheet="Nope")


def test_generic_transactions_same_purchase_twice_a_day_are_two_orders(
    workspace: Workspace,
) -> None:
    result = run_import(workspace, "csv", "generic/transactions.csv", table="orders")
    assert result.files[0].mapping == {
        "customer_id": "customer",
        "ordered_at": "date",
        "total": "amount",
    }
    assert workspace.row_count("orders") == 4
    assert column(
        workspace,
        "SELECT count(*) FROM orders WHERE customer_id = 'C-001' AND total = 19.99 "
        "AND ordered_at = ?",
        [utc(2024, 5, 1, 4)],
    ) == [2]
    assert column(workspace, "SELECT sum(total) FROM orders") == [money("87.48")]
    ids = column(workspace, "SELECT order_id FROM orders")
    assert len(set(ids)) == 4
    # ids are derived from the rows, so the same file gives the same ids again
    again = run_import(workspace, "csv", "generic/transactions.csv", table="orders")
    assert changes(again)["orders"] == (0, 0, 4, 0)
    assert sorted(column(workspace, "SELECT order_id FROM orders")) == sorted(ids)


def test_generic_file_without_table_or_mapping_asks_for_one(workspace: Workspace) -> None:
    with pytest.raises(MappingError, match="--table"):
        run_import(workspace, "csv", "generic/transactions.csv")


# -- awkward files -------------------------------------------------------------------------


def test_utf8_bom_and_crlf_line_ends_are_read(workspace: Workspace) -> None:
    result = run_import(workspace, "csv", "nasty/bom_crlf_orders.csv", table="orders")
    assert result.files[0].mapping["order_id"] == "Order ID"  # no BOM glued to the header
    assert workspace.duck.execute("SELECT order_id, total FROM orders ORDER BY 1").fetchall() == [
        ("W-100", money("10.50")),
        ("W-101", money("20.00")),
        ("W-102", money("5.25")),
    ]
    assert record(workspace, "customers", customer_id="K-2")["name"] == "Zoë Brandt"


def test_latin1_file_is_decoded(workspace: Workspace) -> None:
    result = run_import(workspace, "csv", "nasty/latin1_customers.csv", table="customers")
    assert result.files[0].encoding == "latin-1"
    d1 = record(workspace, "customers", customer_id="D-1")
    assert (d1["name"], d1["city"]) == ("Jürgen Müller", "München")
    b7 = record(workspace, "customers", customer_id="B-7")
    assert (b7["name"], b7["city"]) == ("João Conceição", "São Paulo")
    assert record(workspace, "customers", customer_id="F-3")["city"] == "Besançon"


def test_semicolon_file_with_european_money_and_dates(workspace: Workspace) -> None:
    result = run_import(workspace, "csv", "nasty/eu_semicolon_orders.csv", table="orders")
    assert result.files[0].date_formats == {"ordered_at": "%d.%m.%Y"}
    assert workspace.duck.execute(
        "SELECT order_id, total, ordered_at FROM orders ORDER BY 1"
    ).fetchall() == [
        ("E-1", money("1234.50"), utc(2024, 3, 15, 4)),  # "1.234,50 €", midnight EDT
        ("E-2", money("99.95"), utc(2024, 3, 16, 4)),
        ("E-3", money("12345678.00"), utc(2024, 3, 17, 4)),
    ]


def test_money_strings_with_symbols_and_parentheses(workspace: Workspace) -> None:
    run_import(workspace, "csv", "nasty/money_strings_orders.csv", table="orders")
    assert workspace.duck.execute(
        "SELECT order_id, total, refunded, status FROM orders ORDER BY 1"
    ).fetchall() == [
        ("M-1", money("1234.50"), money("0.00"), "completed"),  # "$1,234.50"
        ("M-2", money("-12.00"), None, "completed"),  # (12.00)
        ("M-3", money("-250.00"), None, "completed"),  # $(250.00)
        ("M-4", money("99.00"), money("99.00"), "refunded"),  # USD 99.00, all refunded
    ]


def test_latin1_byte_far_down_a_file_is_decoded(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    rows = b"".join(b"C%d,Name %d,Springfield\n" % (i, i) for i in range(5000))
    path.write_bytes(b"Customer ID,Name,City\n" + rows + b"D-1,J\xfcrgen M\xfcller,M\xfcnchen\n")
    result = run_import(workspace, "csv", path, table="customers")
    assert result.files[0].encoding == "latin-1"
    assert record(workspace, "customers", customer_id="D-1")["name"] == "Jürgen Müller"
    assert workspace.row_count("customers") == 5001


def test_quoted_cells_with_line_breaks_keep_them(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "Order ID,Order Date,Customer ID,Total,Customer Name\n"
        'Q-1,2024-02-01,K-1,10.00,"Line one\nline two, with comma"\n'
        'Q-2,2024-02-02,K-2,20.00,"Say ""hi"""\n'
        "Q-3,2024-02-03,K-3,30.00\n",  # a short row: no name
        encoding="utf-8",
    )
    run_import(workspace, "csv", path, table="orders")
    assert record(workspace, "customers", customer_id="K-1")["name"] == (
        "Line one\nline two, with comma"
    )
    assert record(workspace, "customers", customer_id="K-2")["name"] == 'Say "hi"'
    assert record(workspace, "orders", order_id="Q-3")["total"] == money("30.00")
    assert record(workspace, "customers", customer_id="K-3")["name"] is None
    # a record spanning two lines is still one spreadsheet row: Q-2 is row 3
    bad = path.read_text(encoding="utf-8").replace("20.00", "twenty")
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        run_import(workspace, "csv", path, table="orders")
    assert info.value.row == 3


def test_foreign_currency_orders_are_converted_with_workspace_rates(
    workspace: Workspace, tmp_path: Path
) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "Order ID,Order Date,Customer ID,Currency,Total\n"
        "F-1,2024-02-15,K-1,EUR,100.00\n"
        "F-2,2024-03-05,K-1,eur,50.00\n"
        "F-3,2024-03-05,K-2,USD,20.00\n",
        encoding="utf-8",
    )
    with pytest.raises(DataError, match="no EUR→USD rate"):
        run_import(workspace, "csv", orders, table="orders")
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,date,rate\nEUR,2024-01-01,1.10\nEUR,2024-03-01,1.08\n")
    run_import(workspace, "csv", rates, table="fx_rates")
    run_import(workspace, "csv", orders, table="orders")
    assert workspace.duck.execute(
        "SELECT order_id, currency, total_original, total FROM orders ORDER BY 1"
    ).fetchall() == [
        ("F-1", "EUR", money("100.00"), money("110.00")),  # rate of 2024-01-01
        ("F-2", "EUR", money("50.00"), money("54.00")),  # rate of 2024-03-01
        ("F-3", "USD", money("20.00"), money("20.00")),
    ]


def test_ambiguous_dates_without_a_date_format_stop_the_import(workspace: Workspace) -> None:
    with pytest.raises(MappingError) as info:
        run_import(workspace, "csv", "nasty/ambiguous_dates_orders.csv", table="orders")
    message = str(info.value)
    assert "ambiguous_dates_orders.csv" in message
    assert "'Order Date'" in message
    assert "date_format" in message
    assert "03/04/2024" in message
    assert workspace.row_count("orders") == 0


def test_ambiguous_dates_with_a_date_format_are_read_that_way(workspace: Workspace) -> None:
    run_import(
        workspace, "csv", "nasty/ambiguous_dates_orders.csv", table="orders", date_format="%d/%m/%Y"
    )
    assert record(workspace, "orders", order_id="A-1")["ordered_at"] == utc(2024, 4, 3, 4)


def test_formula_cells_are_stored_verbatim_as_text(workspace: Workspace) -> None:
    result = run_import(workspace, "csv", "nasty/formula_customers.csv", table="customers")
    assert dict(workspace.duck.execute("SELECT customer_id, name FROM customers").fetchall()) == {
        "X-1": '=HYPERLINK("http://x","y")',
        "X-2": "=1+1",
        "X-3": "Plain Name",
    }
    assert any("formula" in w and w.startswith("2 row(s)") for w in result.files[0].warnings)


@pytest.mark.parametrize("bad", ["12,3,4", "abc"])
def test_bad_money_cell_names_file_row_column_value_and_expectation(
    workspace: Workspace, tmp_path: Path, bad: str
) -> None:
    text = (FIXTURES / "nasty" / "bad_money_orders.csv").read_text(encoding="utf-8")
    path = tmp_path / "bad_money_orders.csv"
    path.write_text(text.replace('"12,3,4"', f'"{bad}"'), encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        run_import(workspace, "csv", path, table="orders")
    err = info.value
    # header is row 1, so the third data row is row 4
    assert (err.file, err.row, err.column, err.value) == ("bad_money_orders.csv", 4, "Total", bad)
    assert err.expected is not None and "amount" in err.expected
    message = str(err)
    for part in ("bad_money_orders.csv", "row 4", "'Total'", repr(bad), "an amount such as"):
        assert part in message


def test_failed_import_leaves_the_workspace_unchanged(shopify: Workspace) -> None:
    before = snapshot(shopify)
    with pytest.raises(ValidationError):
        run_import(shopify, "csv", "nasty/bad_money_orders.csv", table="orders")
    assert snapshot(shopify) == before


def test_bad_second_file_rolls_back_the_first(shopify: Workspace) -> None:
    before = snapshot(shopify)
    with pytest.raises(ValidationError, match=r"bad_money_orders\.csv"):
        run_import(
            shopify,
            "csv",
            "nasty/money_strings_orders.csv",
            "nasty/bad_money_orders.csv",
            table="orders",
        )
    assert snapshot(shopify) == before
    assert shopify.row_count("orders") == 6  # only the Shopify orders


def test_duplicate_key_with_different_values_names_both_rows(workspace: Workspace) -> None:
    with pytest.raises(ValidationError) as info:
        run_import(workspace, "csv", "nasty/duplicate_key_orders.csv", table="orders")
    message = str(info.value)
    assert "duplicate_key_orders.csv" in message
    assert "rows 2 and 4" in message
    assert "D-1" in message
    assert workspace.row_count("orders") == 0


def test_missing_required_column_is_named(workspace: Workspace) -> None:
    with pytest.raises(MappingError) as info:
        run_import(workspace, "csv", "nasty/orders_without_date.csv", table="orders")
    assert "ordered_at" in str(info.value)
    assert "orders_without_date.csv" in str(info.value)


def test_mapped_column_missing_from_the_file_is_named(workspace: Workspace) -> None:
    with pytest.raises(MappingError) as info:
        run_import(
            workspace,
            "csv",
            "nasty/bad_money_orders.csv",
            mapping_file=str(FIXTURES / "nasty" / "missing_column_mapping.yaml"),
        )
    assert "'Order Total'" in str(info.value)
    assert "total" in str(info.value)


@pytest.mark.parametrize(
    ("name", "why"),
    [("empty.csv", "empty"), ("header_only.csv", "no data rows")],
)
def test_empty_and_header_only_files_are_input_file_errors(
    workspace: Workspace, name: str, why: str
) -> None:
    with pytest.raises(InputFileError, match=why):
        run_import(workspace, "csv", f"nasty/{name}", table="orders")


_BLANK = b"\xef\xbb\xbf"  # a byte-order mark and nothing else
_BLANK_LINES = b"\r\n\r\n"
_HEADER_ONLY = b"Order ID,Order Date,Total\n\n\n"


@pytest.mark.parametrize(
    ("source", "content", "why"),
    [
        ("csv", _BLANK, "empty"),
        ("csv", _BLANK_LINES, "empty"),
        ("csv", _HEADER_ONLY, "no data rows"),
        ("shopify", _BLANK, "empty"),
        ("shopify", _HEADER_ONLY, "no data rows"),
        ("quickbooks", _BLANK, "empty"),
        ("quickbooks", _BLANK_LINES, "empty"),
    ],
)
def test_blank_files_are_input_file_errors_for_every_source(
    workspace: Workspace, tmp_path: Path, source: str, content: bytes, why: str
) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    with pytest.raises(InputFileError, match=why):
        run_import(workspace, source, path, table="orders" if source == "csv" else None)


@pytest.mark.parametrize("source", ["csv", "quickbooks", "stripe"])
def test_missing_file_is_an_input_file_error(
    workspace: Workspace, tmp_path: Path, source: str
) -> None:
    with pytest.raises(InputFileError, match="no such file"):
        run_import(workspace, source, tmp_path / "nope.csv", table="orders")


# -- import semantics over every source ----------------------------------------------------

WorkspaceFactory = Callable[[Path], Workspace]


def _usd(path: Path) -> Workspace:
    return smbgrowth.init_workspace(path, currency="USD", time_zone="America/New_York")


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
    assert row["inserted"] == 4 + 5 + 6 + 8  # customers, products, orders, lines
    assert row["updated"] == 0
    assert "orders_export.csv" in row["files"]
    assert len(row["sha256"]) == 64


# -- property tests ------------------------------------------------------------------------

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
_NAME_CHARS = st.characters(
    codec="utf-8", categories=("L", "N", "P", "S", "Zs"), exclude_characters="\r\x85\u2028\u2029"
)
_names = st.text(_NAME_CHARS | st.sampled_from(",\"\n'"), min_size=1, max_size=30).filter(
    lambda s: s == s.strip() and s.strip() != ""
)
_ids = st.from_regex(r"[A-Z]{0,3}-?0?[0-9]{1,6}", fullmatch=True)
_local_times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2035, 12, 31)).map(
    lambda d: d.replace(microsecond=0)
)


@st.composite
def order_files(draw: st.DrawFn) -> tuple[dict[str, str], list[dict[str, Any]]]:
    customers = draw(st.dictionaries(_ids, _names, min_size=1, max_size=6))
    orders = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "order_id": _ids,
                    "customer_id": st.sampled_from(sorted(customers)),
                    "ordered_at": _local_times,
                    "total": st.integers(-(10**9), 10**9).map(lambda c: Decimal(c) / 100),
                }
            ),
            min_size=1,
            max_size=25,
            unique_by=lambda o: o["order_id"],
        )
    )
    return customers, orders


def _unambiguous(local: datetime) -> bool:
    """True unless the wall-clock time is skipped or repeated by a DST change."""
    aware = local.replace(tzinfo=NEW_YORK)
    return aware.utcoffset() == aware.replace(fold=1).utcoffset()


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=order_files())
def test_random_orders_round_trip_and_reimport_is_a_no_op(
    data: tuple[dict[str, str], list[dict[str, Any]]],
) -> None:
    customers, orders = data
    assume(all(_unambiguous(o["ordered_at"]) for o in orders))
    folder = Path(tempfile.mkdtemp(prefix="sg-prop-"))
    try:
        path = folder / "orders.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["Order ID", "Order Date", "Customer ID", "Customer Name", "Total"])
            for o in orders:
                writer.writerow(
                    [
                        o["order_id"],
                        o["ordered_at"].strftime("%Y-%m-%d %H:%M:%S"),
                        o["customer_id"],
                        customers[o["customer_id"]],
                        f"{o['total']:.2f}",
                    ]
                )
        ws = _usd(folder / "ws")
        try:
            run_import(ws, "csv", path, table="orders")
            got = ws.duck.execute(
                "SELECT order_id, customer_id, ordered_at, total FROM orders"
            ).fetchall()
            expected = [
                (
                    o["order_id"],
                    o["customer_id"],
                    o["ordered_at"].replace(tzinfo=NEW_YORK).astimezone(UTC),
                    o["total"],
                )
                for o in orders
            ]
            assert sorted(got) == sorted(expected)
            used = {o["customer_id"] for o in orders}
            assert dict(ws.duck.execute("SELECT customer_id, name FROM customers").fetchall()) == {
                c: customers[c] for c in used
            }
            first_seen = {c: min(e[2] for e in expected if e[1] == c) for c in used}
            assert (
                dict(ws.duck.execute("SELECT customer_id, created_at FROM customers").fetchall())
                == first_seen
            )
            before = snapshot(ws)
            again = run_import(ws, "csv", path, table="orders")
            for name, change in again.totals().items():
                assert (change.inserted, change.updated, change.removed) == (0, 0, 0), name
            after = snapshot(ws)
            before.pop("_imports")
            after.pop("_imports")
            assert after == before
        finally:
            ws.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# The columns the order_lines mapping reads, as the Superstore export names them.
SUPERSTORE_HEADERS = [
    "Order ID",
    "Order Date",
    "Customer ID",
    "Segment",
    "Product ID",
    "Product Name",
    "Category",
    "Quantity",
    "Sales",
]
_skus = st.sampled_from(["SKU-1", "SKU-2", "SKU-3", "0042", "Mug, large", 'Tee "XL"'])


@st.composite
def order_line_files(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Lines of random orders, interleaved in file order as exports sometimes are."""
    orders = draw(
        st.lists(
            st.tuples(_ids, _ids, st.dates(date(2000, 1, 1), date(2035, 12, 31))),
            min_size=1,
            max_size=8,
            unique_by=lambda o: o[0],
        )
    )
    lines = []
    for order_id, customer_id, day in orders:
        for _ in range(draw(st.integers(1, 4))):
            lines.append(
                {
                    "order_id": order_id,
                    "customer_id": customer_id,
                    "day": day,
                    "sku": draw(_skus),
                    "quantity": draw(st.integers(1, 50)),
                    "line_total": Decimal(draw(st.integers(-(10**7), 10**8))) / 100,
                }
            )
    return draw(st.permutations(lines))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=order_line_files())
def test_random_order_lines_add_up_to_their_orders_and_reimport_is_a_no_op(
    lines: list[dict[str, Any]],
) -> None:
    folder = Path(tempfile.mkdtemp(prefix="sg-prop-"))
    try:
        path = folder / "lines.csv"
        segment = {line["customer_id"]: f"Segment {line['customer_id']}" for line in lines}
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(SUPERSTORE_HEADERS)
            for line in lines:
                writer.writerow(
                    [
                        line["order_id"],
                        f"{line['day'].month}/{line['day'].day}/{line['day'].year}",
                        line["customer_id"],
                        segment[line["customer_id"]],
                        line["sku"],
                        f"Product {line['sku']}",
                        "Things",
                        line["quantity"],
                        f"{line['line_total']:.2f}",
                    ]
                )
        ws = _usd(folder / "ws")
        try:
            run_import(ws, "csv", path, mapping_file=str(ORDER_LINES_MAPPING))
            expected_lines = []
            seen: dict[str, int] = {}
            for line in lines:
                seen[line["order_id"]] = seen.get(line["order_id"], 0) + 1
                expected_lines.append(
                    (
                        line["order_id"],
                        seen[line["order_id"]],
                        line["sku"],
                        Decimal(line["quantity"]),
                        line["line_total"],
                    )
                )
            got_lines = ws.duck.execute(
                "SELECT order_id, line_no, sku, quantity, line_total FROM order_lines"
            ).fetchall()
            assert sorted(got_lines) == sorted(expected_lines)
            totals: dict[str, Decimal] = {}
            for line in lines:
                totals[line["order_id"]] = (
                    totals.get(line["order_id"], Decimal(0)) + line["line_total"]
                )
            got_totals = dict(ws.duck.execute("SELECT order_id, total FROM orders").fetchall())
            assert got_totals == totals
            midnight = {
                line["order_id"]: datetime(*line["day"].timetuple()[:3], tzinfo=NEW_YORK)
                for line in lines
            }
            got_days = dict(ws.duck.execute("SELECT order_id, ordered_at FROM orders").fetchall())
            assert got_days == midnight
            assert dict(
                ws.duck.execute("SELECT customer_id, segment FROM customers").fetchall()
            ) == (segment)
            before = snapshot(ws)
            again = run_import(ws, "csv", path, mapping_file=str(ORDER_LINES_MAPPING))
            assert all(c.inserted == c.updated == c.removed == 0 for c in again.totals().values())
            after = snapshot(ws)
            before.pop("_imports")
            after.pop("_imports")
            assert after == before
        finally:
            ws.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_naive_times_are_new_york_time_and_stored_in_utc(
    workspace: Workspace, tmp_path: Path
) -> None:
    # 23:30 in New York on March 1st (EST) is 04:30 UTC on March 2nd
    path = tmp_path / "late.csv"
    path.write_text("Order ID,Order Date,Total\nL-1,2024-03-01 23:30:00,5.00\n", encoding="utf-8")
    run_import(workspace, "csv", path, table="orders")
    assert record(workspace, "orders", order_id="L-1")["ordered_at"] == utc(2024, 3, 2, 4, 30)
