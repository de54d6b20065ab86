"""Stripe importer: payments and subscriptions exports in, orders and subscriptions out.

Every expected number below can be read off the fixture files in
``tests/data/fixtures``; the comments show the arithmetic.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from smbgrowth.data.workspace import Workspace
from tests.data.importing import FIXTURES, changes, column, money, record, run_import, snapshot, utc


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
    assert yearly["mrr"] == money("40.8333")  # 490.00 / 12 = 40.8333..., kept to 4 decimals
    assert record(stripe, "subscriptions", subscription_id="sub_1OqM4")["mrr"] == money(
        "83.3333"
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
