"""WooCommerce importer: WebToffee and Advanced Order Export files in, orders out.

Every expected number below can be read off the fixture files in
``tests/data/fixtures``; the comments show the arithmetic.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import MappingError
from tests.data.importing import column, money, record, run_import, utc


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


def test_woocommerce_line_rows_count_each_order_total_once(workspace: Workspace) -> None:
    # 2301 has two line rows each repeating its 57.60 total; 2302 one row of 16.50
    run_import(workspace, "woocommerce", "woocommerce/advanced_order_export.csv")
    assert column(workspace, "SELECT count(*) FROM orders") == [2]
    assert column(workspace, "SELECT sum(total) FROM orders") == [money("74.10")]  # not 131.70
    assert column(workspace, "SELECT count(*) FROM order_lines") == [3]


def test_woocommerce_reimporting_line_rows_changes_nothing(workspace: Workspace) -> None:
    run_import(workspace, "woocommerce", "woocommerce/advanced_order_export.csv")
    again = run_import(workspace, "woocommerce", "woocommerce/advanced_order_export.csv")
    assert all(c.inserted == c.updated == c.removed == 0 for c in again.totals().values())


def test_woocommerce_analytics_orders_download(workspace: Workspace) -> None:
    result = run_import(workspace, "woocommerce", "woocommerce/analytics_orders.csv")
    assert workspace.duck.execute(
        "SELECT order_id, customer_id, total, status, ordered_at FROM orders ORDER BY 1"
    ).fetchall() == [
        ("3101", "Maya Ortiz", money("50.00"), "completed", utc(2024, 5, 2, 4)),
        ("3102", "Tomas Berg", money("12.50"), "completed", utc(2024, 5, 2, 4)),  # Processing
        ("3103", "Maya Ortiz", money("0.00"), "refunded", utc(2024, 5, 3, 4)),
        ("3104", "Lena Fox", money("37.50"), "pending", utc(2024, 5, 4, 4)),  # On hold
    ]
    maya = record(workspace, "customers", customer_id="Maya Ortiz")
    assert (maya["name"], maya["segment"]) == ("Maya Ortiz", "returning")
    warnings = result.files[0].warnings
    assert any("net sales only" in w for w in warnings)
    assert any("no e-mail" in w for w in warnings)
    assert result.files[0].rows_skipped == 0


def test_woocommerce_file_of_another_kind_names_what_is_missing(workspace: Workspace) -> None:
    with pytest.raises(MappingError) as info:
        run_import(workspace, "woocommerce", "xero/sales_invoices.csv")
    message = str(info.value)
    assert "\n" not in message
    assert "no column for order_id" in message and "'ContactName'" in message
