"""A six-month-old business: scorecard, stage and insights work and say what they can."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import smbgrowth
from smbgrowth.data import generate_sample_business
from smbgrowth.data.workspace import Workspace
from smbgrowth.metrics.scorecard import driver_scorecard
from smbgrowth.models.insights import find_insights
from smbgrowth.models.lifecycle import judge_stage

TABLE_DATES = {
    "orders": "ordered_at",
    "customers": "created_at",
    "subscriptions": "started_at",
    "marketing_spend": "date",
    "web_events": "occurred_at",
    "deals": "created_at",
    "invoices": "issued_at",
    "expenses": "incurred_at",
    "tickets": "opened_at",
}


@pytest.fixture(scope="module")
def young(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = smbgrowth.init_workspace(tmp_path_factory.mktemp("y") / "ws")
    generate_sample_business(ws, customers=1500, years=1.0, seed=4)
    # Keep the last six months only: the business as it was six months after opening.
    for table, column in TABLE_DATES.items():
        ws.duck.execute(f"DELETE FROM {table} WHERE {column} < DATE '2026-05-01'").fetchall()
    ws.duck.execute(
        "DELETE FROM order_lines WHERE order_id NOT IN (SELECT order_id FROM orders)"
    ).fetchall()
    yield ws
    ws.close()


def test_scorecard_of_a_young_business_has_no_year_ago_values(young: Workspace) -> None:
    card = driver_scorecard(young)
    assert card.period in ("2026-09", "2026-10")  # the last month only if the data reach its end
    cards = [m for d in card.drivers for m in d.metrics]
    assert cards, "a six-month business still has headline metrics"
    assert all(m.last_year is None for m in cards)
    assert {m.trend for m in cards} <= {"improving", "flat", "worsening", "n/a"}


def test_stage_of_a_young_business_is_early_and_explained(young: Workspace) -> None:
    judgement = judge_stage(young)
    assert judgement.months_of_history <= 7
    assert judgement.stage in ("startup", "growth")
    assert judgement.evidence


def test_insights_of_a_young_business_do_not_fail(young: Workspace) -> None:
    found = find_insights(young)
    assert all(i.sentence for i in found)
