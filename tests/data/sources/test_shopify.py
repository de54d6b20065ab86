"""Shopify importer: order exports in, orders, lines, customers and products out.

Every expected number below can be read off the fixture files in
``tests/data/fixtures``; the comments show the arithmetic.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import MappingError
from tests.data.importing import FIXTURES, SHOPIFY, changes, column, money, record, run_import, utc


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
