"""Calibration recovers the parameters of a business simulated from known truth."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from smbgrowth.dynamics.business import BusinessParameters, Channel, Segment, business_model
from smbgrowth.dynamics.calibration import (
    calibrate,
    calibrate_workspace,
    history_from_run,
    monthly_totals,
)
from smbgrowth.dynamics.engine import simulate
from smbgrowth.dynamics.history import history_from_workspace

MONTHS = 36
TRUTH = BusinessParameters(
    market_size=400_000,
    customers_ever=3000,
    organic_customers=90,
    wom_rate=0.015,
    conversion_probability=0.3,
    lead_time=0.5,
    channels={"search": Channel(4000, 40, 0.8), "social": Channel(3000, 60, 0.6)},
    segments={
        "retail": Segment(0.8, 0.06, 0.5, 45.0, initial=2000),
        "trade": Segment(0.2, 0.03, 0.9, 120.0, initial=500),
    },
    subscription_take_rate=0.1,
    subscription_churn=0.04,
    subscription_fee=30,
    initial_subscribers=200,
    tasks_per_order=0.05,
    tasks_per_subscriber=0.05,
    productivity=200,
    initial_staff=3,
    normal_response_time=0.04,
    salary=4000,
    seasonality=(0.9, 0.8, 1.0, 1.0, 0.9, 0.8, 0.7, 0.8, 1.0, 1.1, 1.4, 1.6),
    start_month=1,
    fixed_costs=5000,
    cogs_share=0.4,
    initial_cash=1e6,
)


def _simulated_history(seed: int, noise: bool) -> tuple[object, object]:
    rng = np.random.default_rng(seed)
    spend = {
        name: channel.spend * np.exp(rng.normal(0, 0.35, MONTHS))
        for name, channel in TRUTH.channels.items()
    }
    model = business_model(TRUTH, months=MONTHS, spend_history=spend)
    result = simulate(model, t_end=MONTHS, dt=0.25)
    history = history_from_run(result, TRUTH, months=MONTHS, noise=rng if noise else None)
    return result, history


@pytest.fixture(scope="module")
def noisy() -> object:
    _, history = _simulated_history(7, noise=True)
    return calibrate(history, market_size=(400_000, 1000), cash=1e6)


TRUE_VALUES = {
    "churn_retail": 0.06,
    "churn_trade": 0.03,
    "purchase_rate_retail": 0.5,
    "purchase_rate_trade": 0.9,
    "order_value_retail": 45.0,
    "order_value_trade": 120.0,
    "cac_search": 40.0,
    "cac_social": 60.0,
    "elasticity_search": 0.8,
    "elasticity_social": 0.6,
    "organic_customers": 90.0,
    "wom_rate": 0.015,
    "subscription_take_rate": 0.1,
    "subscription_churn": 0.04,
    "subscription_fee": 30.0,
    "tasks_per_order": 0.05,
    "normal_response_time": 0.04,
    "cogs_share": 0.4,
    "fixed_costs": 5000.0,
}


@pytest.mark.parametrize("name", sorted(TRUE_VALUES))
def test_calibration_recovers_known_parameters(noisy: object, name: str) -> None:
    """Each estimate is within 15 % of the truth or within 3 standard errors of it."""
    estimate = noisy.estimate(name)  # type: ignore[attr-defined]
    truth = TRUE_VALUES[name]
    assert estimate.source == "data"
    error = abs(estimate.value - truth)
    sd = estimate.sd if estimate.sd else 0.0
    assert error <= 0.15 * truth or error <= 3 * sd, (estimate.value, sd, truth)


def test_without_noise_the_estimates_are_tight() -> None:
    """On exact counts the rates and the spend response come back almost exactly."""
    _, history = _simulated_history(3, noise=False)
    c = calibrate(history, market_size=(400_000, 1000), cash=1e6)
    for name in (
        "churn_retail",
        "churn_trade",
        "purchase_rate_retail",
        "order_value_trade",
        "subscription_take_rate",
        "subscription_churn",
        "tasks_per_order",
        "wom_rate",
        "cogs_share",
    ):
        assert c.estimate(name).value == pytest.approx(TRUE_VALUES[name], rel=0.03), name
    for name in ("elasticity_search", "elasticity_social", "cac_search", "cac_social"):
        assert c.estimate(name).value == pytest.approx(TRUE_VALUES[name], rel=0.06), name
    # Effective capacity (new hires at half productivity) per head: within 12 %.
    assert c.estimate("productivity").value == pytest.approx(200, rel=0.12)


def test_historical_run_reproduces_the_simulated_history(noisy: object) -> None:
    fit = {f.series: f for f in noisy.fit}  # type: ignore[attr-defined]
    assert set(fit) >= {"new customers", "orders", "revenue", "subscribers", "tickets"}
    for series in ("orders", "revenue", "subscribers"):
        assert fit[series].mape < 0.08, fit[series]
        assert abs(fit[series].bias) < 0.05, fit[series]


def test_unidentified_parameters_are_reported_as_assumed(noisy: object) -> None:
    assumed = {e.name for e in noisy.assumed}  # type: ignore[attr-defined]
    assert {"churn_quality_sensitivity", "quality_perception_time", "hiring_delay"} <= assumed
    assert {"conversion_probability", "lead_time"} <= assumed  # no deals in this history
    for e in noisy.assumed:  # type: ignore[attr-defined]
        assert e.basis, e.name


def test_every_estimate_with_uncertainty_has_a_distribution(noisy: object) -> None:
    dists = noisy.distributions  # type: ignore[attr-defined]
    assert {"cac_search", "churn_retail", "productivity", "churn_quality_sensitivity"} <= set(dists)
    rng = np.random.default_rng(0)
    draws = dists["cac_search"].sample(rng, 20_000)
    est = noisy.estimate("cac_search")  # type: ignore[attr-defined]
    assert np.median(draws) == pytest.approx(est.value, rel=0.02)
    assert np.std(draws) == pytest.approx(est.sd, rel=0.1)


def test_monthly_totals_are_what_the_stocks_received() -> None:
    result, _ = _simulated_history(1, noise=False)
    acquired = monthly_totals(result, "acquired_retail", MONTHS) + monthly_totals(
        result, "acquired_trade", MONTHS
    )
    churned = monthly_totals(result, "churned_retail", MONTHS) + monthly_totals(
        result, "churned_trade", MONTHS
    )
    customers = result["customers"][:, 0]
    change = customers[4::4][:MONTHS] - customers[0:-1:4][:MONTHS]
    np.testing.assert_allclose(acquired - churned, change, rtol=1e-9, atol=1e-6)


DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"


def test_sample_business_calibration_against_its_truth(tmp_path: Path) -> None:
    """On the sample business the data-estimated numbers sit near the generator's truth."""
    from smbgrowth import init_workspace
    from smbgrowth.data.sample.generator import generate_sample_business

    ws = init_workspace(tmp_path / "ws")
    generate_sample_business(ws, customers=6000, years=3.0, seed=5)
    truth = ws.sample_truth()
    assert truth is not None
    c = calibrate_workspace(ws)
    # BG/NBD mean dropout hazard of the generator: (r/α)·a/(a+b) per week, as a month.
    bg = truth["bgnbd"] if "bgnbd" in truth else truth["repeat_purchase"]
    hazard = bg["r"] / bg["alpha"] * bg["a"] / (bg["a"] + bg["b"]) * 30.4375 / 7
    assert c.estimate("churn_consumer").value == pytest.approx(hazard, rel=0.25)
    # Support capacity from response times vs load (truth: tickets a month at capacity).
    capacity = truth["support"]["capacity_tickets_per_month"]
    staff = c.params.initial_staff
    assert c.estimate("productivity").value * staff == pytest.approx(capacity, rel=0.25)
    assert c.estimate("salary").value == pytest.approx(4300.0)
    # Subscriptions: the sBG mean churn α/(α+β) is the first month's; later months churn less.
    sbg = truth["sbg"]
    assert (
        0.02 < c.estimate("subscription_churn").value < sbg["alpha"] / (sbg["alpha"] + sbg["beta"])
    )
    assert c.estimate("subscription_take_rate").value == pytest.approx(
        sbg["subscriber_share"], abs=0.04
    )
    hist = history_from_workspace(ws)
    orders = hist.totals["orders"].tail(12).sum()
    revenue = hist.totals["revenue"].tail(12).sum()
    mean_value = revenue / orders
    consumer = c.estimate("order_value_consumer").value
    assert consumer == pytest.approx(mean_value, rel=0.1)
    fit = {f.series: f for f in c.fit}
    assert all(math.isfinite(f.mape) for f in c.fit)
    assert fit["revenue"].months == 24
    assert isinstance(hist.totals, pd.DataFrame)
