"""The driver scorecard: values, comparisons and the stated trend rule."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import smbgrowth
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import MetricError
from smbgrowth.metrics.scorecard import driver_scorecard, latest_complete_month

NY = "America/New_York"


def _customers(per_month: list[int]) -> pd.DataFrame:
    rows = []
    for m, n in enumerate(per_month):
        month = pd.Timestamp("2023-01-15 12:00", tz="UTC") + pd.DateOffset(months=m)
        rows += [(f"c{m}-{i}", month) for i in range(n)]
    return pd.DataFrame(rows, columns=["customer_id", "created_at"])


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    w = smbgrowth.init_workspace(tmp_path / "ws", time_zone=NY)
    # 18 months of new customers: flat at 10, then 20 a month in the last three.
    counts = [10] * 15 + [20, 20, 20]
    w.append("customers", _customers(counts), "test")
    orders = pd.DataFrame(
        {
            "order_id": ["o1", "o2"],
            "customer_id": ["c0-0", "c17-0"],
            # The latest order is on the last day of June 2024 (New York): June is complete.
            "ordered_at": [
                pd.Timestamp("2023-01-15 12:00", tz="UTC"),
                pd.Timestamp("2024-07-01 03:00", tz="UTC"),
            ],
            "status": ["completed", "completed"],
            "total": [10.0, 10.0],
        }
    )
    w.append("orders", orders, "test")
    yield w
    w.close()


def test_latest_complete_month_uses_local_time(ws: Workspace) -> None:
    assert latest_complete_month(ws) == "2024-06"


def test_scorecard_compares_with_previous_month_and_last_year(ws: Workspace) -> None:
    card = driver_scorecard(ws)
    assert card.period == "2024-06"
    demand = next(d for d in card.drivers if d.driver == "demand")
    new = next(m for m in demand.metrics if m.metric == "new_customers")
    assert (new.value, new.previous, new.last_year) == (20, 20, 10)
    assert new.change_previous == 0
    assert new.change_last_year == pytest.approx(1.0)
    # Last three months average 20 against 10 before: +100 %, more than 5 %: improving.
    assert new.trend == "improving"


def test_flat_within_five_percent(ws: Workspace) -> None:
    card = driver_scorecard(ws, period="2024-01")
    demand = next(d for d in card.drivers if d.driver == "demand")
    new = next(m for m in demand.metrics if m.metric == "new_customers")
    assert new.trend == "flat"


def test_bad_period_and_empty_workspace(tmp_path: Path, ws: Workspace) -> None:
    with pytest.raises(MetricError, match="not a month"):
        driver_scorecard(ws, period="June")
    with (
        smbgrowth.init_workspace(tmp_path / "empty") as empty,
        pytest.raises(MetricError, match="no sold orders"),
    ):
        driver_scorecard(empty)


def test_reusing_computed_results_gives_the_same_scorecard(ws: Workspace) -> None:
    from smbgrowth.metrics import compute_all

    results = compute_all(ws, grain="month")
    assert "new_customers" in results
    assert driver_scorecard(ws, results=results) == driver_scorecard(ws)
