"""WooCommerce importer: WebToffee and Advanced Order Export files in, orders out.

Every expected number below can be read off the fixture files in
``tests/data/fixtures``; the comments show the arithmetic.
"""

from __future__ import annotations

from decimal import Decimal

from smbgrowth.data.workspace import Workspace
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
