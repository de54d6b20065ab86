"""Forecasts: model choice by backtest on series of known structure, intervals, fallbacks.

Series are generated from known truth — a trend, a seasonal cycle and
Gaussian noise — so a good model must beat the seasonal-naive baseline and
its 95 % intervals must cover about 95 % of what happens next.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from smbgrowth import init_workspace
from smbgrowth.data.sample import generate_sample_business
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import ModelError, NotFittedError
from smbgrowth.metrics.common import REVENUE_STATUSES
from smbgrowth.metrics.registry import compute_metric
from smbgrowth.models.forecast import (
    Forecaster,
    forecast_metric,
    forecast_sku_demand,
    sku_demand,
)


def _structured(n_series: int, n: int, seed: int, noise: float = 6.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2018-01-01", periods=n, freq="MS")
    rows = []
    for i in range(n_series):
        level = rng.uniform(80, 200)
        slope = rng.uniform(-0.5, 2.5)
        amp = rng.uniform(10, 30)
        phase = rng.uniform(0, 2 * np.pi)
        t = np.arange(n)
        y = level + slope * t + amp * np.sin(2 * np.pi * t / 12 + phase) + rng.normal(0, noise, n)
        rows.append(pd.DataFrame({"series_id": f"s{i:02d}", "period": ds, "y": y}))
    return pd.concat(rows, ignore_index=True)


@pytest.fixture(scope="module")
def structured() -> pd.DataFrame:
    return _structured(24, 84, seed=1)


def test_chosen_model_beats_seasonal_naive_on_trend_and_seasonality(
    structured: pd.DataFrame,
) -> None:
    history = structured[structured.period < "2024-01-01"]
    future = structured[structured.period >= "2024-01-01"]
    result = Forecaster("month", 12, models=["ets", "theta", "seasonal_naive"]).forecast(history)
    # In the backtest the chosen model is never worse than the baseline, and better for most.
    assert all(s.beats_baseline for s in result.series)
    chosen_mase = np.mean([s.score().mase for s in result.series])
    base_mase = np.mean([s.score("SeasonalNaive").mase for s in result.series])
    assert chosen_mase < 0.8 * base_mase
    # And on the real next year: lower error than repeating last year.
    merged = result.frame().merge(future, on=["series_id", "period"])
    assert len(merged) == 24 * 12
    model_mae = (merged.y - merged["mean"]).abs().mean()
    last_year = history[history.period >= "2023-01-01"].copy()
    last_year["period"] = last_year.period + pd.DateOffset(years=1)
    naive = future.merge(last_year, on=["series_id", "period"], suffixes=("", "_naive"))
    naive_mae = (naive.y - naive.y_naive).abs().mean()
    assert model_mae < 0.8 * naive_mae


def test_95_intervals_cover_about_95_percent(structured: pd.DataFrame) -> None:
    history = structured[structured.period < "2024-01-01"]
    future = structured[structured.period >= "2024-01-01"]
    result = Forecaster("month", 12, models=["ets", "theta", "seasonal_naive"]).forecast(history)
    merged = result.frame().merge(future, on=["series_id", "period"])
    inside95 = ((merged.y >= merged.lo_95) & (merged.y <= merged.hi_95)).mean()
    inside80 = ((merged.y >= merged.lo_80) & (merged.y <= merged.hi_80)).mean()
    # 288 points; 3 binomial standard errors ≈ 0.04 around 0.95 (0.07 around 0.80).
    assert 0.88 <= inside95 <= 1.0
    assert 0.70 <= inside80 <= 0.93
    # The backtest reports the same kind of coverage for the chosen models.
    cover = np.mean([s.score().coverage_95 for s in result.series])
    assert 0.8 <= cover <= 1.0


def test_backtest_scores_are_the_textbook_definitions() -> None:
    # A straight line: every model but the naive ones is nearly exact; seasonal naive
    # misses by 12 slopes each step, which is exactly its in-sample scale: MASE 1.
    ds = pd.date_range("2015-01-01", periods=60, freq="MS")
    panel = pd.DataFrame({"series_id": "line", "period": ds, "y": 10.0 + 2.0 * np.arange(60)})
    f = Forecaster("month", 6, models=["ets", "seasonal_naive"], n_windows=2).fit(panel)
    s = f.series_["line"]
    base = s.score("SeasonalNaive")
    assert base is not None
    assert base.mase == pytest.approx(1.0)
    assert base.points == 12 and base.windows == 2
    # sMAPE of the seasonal naive on cut-off windows, computed by hand.
    y = 10.0 + 2.0 * np.arange(60)
    actual = np.concatenate([y[48:54], y[54:60]])
    pred = np.concatenate([y[36:42], y[42:48]])
    assert base.smape == pytest.approx(np.mean(2 * np.abs(actual - pred) / (actual + pred)))
    assert s.model in ("AutoETS", "SeasonalNaive")


def test_short_histories_fall_back_and_say_so() -> None:
    rng = np.random.default_rng(2)
    ds = pd.date_range("2024-01-01", periods=30, freq="MS")
    panel = pd.concat(
        [
            pd.DataFrame({"series_id": "young", "period": ds[:20], "y": rng.normal(50, 5, 20)}),
            pd.DataFrame({"series_id": "newborn", "period": ds[:4], "y": [3.0, 4.0, 5.0, 4.0]}),
        ]
    )
    result = Forecaster("month", 6).forecast(panel)
    young, newborn = result.get("young"), result.get("newborn")
    assert "seasonal patterns are not modelled" in young.notes[0]
    assert young.baseline == "Naive" and young.score("Naive") is not None
    assert newborn.model == "Naive" and newborn.backtest == []
    assert "too short for a backtest" in newborn.notes[0]
    assert newborn.beats_baseline is None
    fc = result.frame()
    assert len(fc[fc.series_id == "newborn"]) == 6
    assert (fc[fc.series_id == "newborn"]["mean"] == 4.0).all()


def test_intervals_nest_and_non_negative_series_stay_non_negative(structured: pd.DataFrame) -> None:
    rng = np.random.default_rng(3)
    ds = pd.date_range("2020-01-01", periods=48, freq="MS")
    sparse = pd.DataFrame({"series_id": "sparse", "period": ds, "y": rng.poisson(0.7, 48) * 1.0})
    fc = Forecaster("month", 12).forecast(sparse).frame()
    assert (fc[["mean", "lo_80", "lo_95"]] >= 0).all().all()
    assert (fc.lo_95 <= fc.lo_80).all() and (fc.lo_80 <= fc["mean"]).all()
    assert (fc["mean"] <= fc.hi_80).all() and (fc.hi_80 <= fc.hi_95).all()
    assert fc.period.min() == pd.Timestamp("2024-01-01")


def test_estimator_contract_and_errors(structured: pd.DataFrame) -> None:
    f = Forecaster("month", 6)
    with pytest.raises(NotFittedError):
        f.predict()
    assert f.fit(structured[structured.series_id == "s00"]) is f
    a = f.predict()
    b = Forecaster("month", 6).fit(structured[structured.series_id == "s00"]).predict()
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(ModelError, match="unknown grain 'fortnight'"):
        Forecaster("fortnight").fit(structured)
    with pytest.raises(ModelError, match="unknown forecasting model 'prophet'"):
        Forecaster("month", 6, models=["prophet", "ets"]).fit(structured)
    with pytest.raises(ModelError, match="missing"):
        Forecaster("month").fit(structured.rename(columns={"y": "value"}))


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = init_workspace(tmp_path_factory.mktemp("fc") / "ws")
    generate_sample_business(ws, customers=3000, years=3, seed=5)
    yield ws
    ws.close()


def test_metric_forecast_continues_the_complete_history(shop: Workspace) -> None:
    result = forecast_metric(shop, "revenue_net", grain="month", horizon=6)
    history = compute_metric(shop, "revenue_net", grain="month").frame
    s = result.series[0]
    assert s.series_id == "revenue_net" and s.history == len(result.history)
    last = result.history.period.max()
    assert result.frame().period.min() == last + pd.DateOffset(months=1)
    assert len(result.frame()) == 6
    # The months of the history are the metric's own values.
    got = result.history.set_index("period").y
    want = history.set_index(pd.to_datetime(history.period + "-01")).value.reindex(got.index)
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy())
    assert result.unit == "currency"
    d = result.to_dict()
    assert d["series"][0]["forecast"][0]["period"] == (last + pd.DateOffset(months=1)).strftime(
        "%Y-%m-%d"
    )


def test_sku_demand_equals_pandas(shop: Workspace) -> None:
    panel = sku_demand(shop)
    lines = shop.order_lines.to_pandas()
    orders = shop.orders.to_pandas()
    sold = orders[orders.status.isin(REVENUE_STATUSES)]
    j = lines.merge(sold[["order_id", "ordered_at"]], on="order_id")
    local = j.ordered_at.dt.tz_convert(shop.time_zone).dt.tz_localize(None)
    j["week"] = local.dt.normalize() - pd.to_timedelta(local.dt.weekday, unit="D")
    want = j.groupby(["sku", "week"]).quantity.sum().astype(float)
    got = panel.set_index(["series_id", "period"]).y
    common = want.index.intersection(got.index)
    assert len(common) >= 0.95 * len(want)
    np.testing.assert_allclose(got.loc[common].to_numpy(), want.loc[common].to_numpy())
    # Weeks without sales are zeros, not gaps.
    for _, part in panel.groupby("series_id"):
        assert (part.period.diff().dropna() == pd.Timedelta(days=7)).all()


def test_sku_forecast_covers_every_selling_sku(shop: Workspace) -> None:
    result = forecast_sku_demand(shop, horizon=8)
    skus = set(sku_demand(shop).series_id)
    assert {s.series_id for s in result.series} == skus
    fc = result.frame()
    assert fc.groupby("series_id").size().eq(8).all()
    assert (fc["mean"] >= 0).all()


def test_empty_workspace_is_a_clear_error(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "empty")
    try:
        with pytest.raises(ModelError, match="nothing to forecast"):
            forecast_sku_demand(ws)
        with pytest.raises(ModelError, match="no values to forecast"):
            forecast_metric(ws, "revenue_net")
    finally:
        ws.close()
