"""Change points, anomalies and lead–lag on planted truth, and on the demo workspace."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import smbgrowth
from smbgrowth.data import generate_sample_business
from smbgrowth.models.insights import (
    Insight,
    anomalies,
    change_points,
    find_insights,
    lead_lag,
)


def _labels(n: int, start: str = "2021-01") -> list[str]:
    return [str(p) for p in pd.period_range(start, periods=n, freq="M")]


def _seasonal(n: int, seed: int) -> pd.Series:
    rng = np.random.default_rng(seed)
    month = np.arange(n) % 12
    season = 1 + 0.3 * np.cos(2 * np.pi * (month - 11) / 12)  # December peaks
    values = 200 * 1.01 ** np.arange(n) * season * (1 + rng.normal(0, 0.03, n))
    return pd.Series(values, _labels(n))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_step_is_found_within_one_period(seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = np.r_[np.full(20, 120.0), np.full(16, 310.0)] + rng.normal(0, 15, 36)
    series = pd.Series(values, _labels(36))
    found = change_points(series, name="new customers", metric="new_customers")
    steps = [i for i in found if "stepped up" in i.sentence]
    assert steps
    labels = list(series.index)
    assert any(abs(labels.index(str(i.period)) - 20) <= 1 for i in steps)
    best = max(steps, key=lambda i: i.score)
    assert "120" in best.sentence or "11" in best.sentence
    assert best.kind == "change_point" and best.metric == "new_customers"


def test_steady_trend_has_no_change_point() -> None:
    rng = np.random.default_rng(4)
    series = pd.Series(100 * 1.03 ** np.arange(36) * (1 + rng.normal(0, 0.03, 36)), _labels(36))
    assert change_points(series) == []


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_spike_on_a_seasonal_series_is_found(seed: int) -> None:
    clean = _seasonal(48, seed)
    assert anomalies(clean, name="orders") == []
    spiked = clean.copy()
    spiked.iloc[30] *= 1.6
    found = anomalies(spiked, name="orders", metric="orders")
    periods = [i.period for i in found]
    assert spiked.index[30] in periods
    december_peaks = [p for p in spiked.index if p.endswith("-12")]
    assert not set(periods) & set(december_peaks)
    spike = next(i for i in found if i.period == spiked.index[30])
    assert "above what the season" in spike.sentence and "%" in spike.sentence


def test_short_series_spike_uses_month_over_month_change() -> None:
    rng = np.random.default_rng(0)
    series = pd.Series(100 + rng.normal(0, 5, 16), _labels(16))
    series.iloc[9] *= 1.8
    found = anomalies(series, name="orders")
    assert [i.period for i in found] == [series.index[9]]


def test_lagged_copy_is_found_at_lag_two() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(0, 1, 42).cumsum() + 50
    y = x[:-2] + rng.normal(0, 0.3, 40) + 10
    xs, ys = pd.Series(x[2:], _labels(40)), pd.Series(y, _labels(40))
    hit = lead_lag(xs, ys, 3, x_name="ticket resolution time", y_name="churn")
    assert hit is not None
    assert hit.details is not None
    assert hit.details["lag"] == 2 and hit.details["r"] > 0.8
    assert "leads churn by 2 months" in hit.sentence


@pytest.mark.parametrize("seed", range(10))
def test_independent_series_have_no_lead_lag(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    a = pd.Series(rng.normal(0, 1, 36).cumsum() + 50, _labels(36))
    b = pd.Series(rng.normal(0, 1, 36).cumsum() + 50, _labels(36))
    assert lead_lag(a, b, 3) is None


def test_too_short_series_give_nothing_and_no_error() -> None:
    short = pd.Series([1.0, 2.0, 3.0, 5.0, 4.0], _labels(5))
    assert change_points(short) == []
    assert anomalies(short) == []
    assert lead_lag(short, short * 2, 3) is None
    assert anomalies(pd.Series([], dtype="float64")) == []


def test_insight_to_dict() -> None:
    insight = Insight("anomaly", "orders", "2025-11", 4.2, "Orders in 2025-11 were 41% above.")
    assert insight.to_dict()["kind"] == "anomaly"


def test_find_insights_on_the_demo_workspace(tmp_path: Path) -> None:
    ws = smbgrowth.init_workspace(tmp_path / "ws", currency="USD", time_zone="America/New_York")
    try:
        generate_sample_business(ws, customers=3000, seed=3)
        found = find_insights(ws)
        only = find_insights(ws, metrics=["new_customers", "no_such_metric"], max_lag=0)
    finally:
        ws.close()
    assert found
    assert all(isinstance(i, Insight) and i.sentence[:1].isupper() for i in found)
    scores = [i.score for i in found]
    assert scores == sorted(scores, reverse=True)
    assert all(any(ch.isdigit() for ch in i.sentence) for i in found)
    assert {i.metric for i in only} <= {"new_customers"}
