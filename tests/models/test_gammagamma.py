"""Gamma-Gamma spend model: published CDNOW fit, recovery, gradient, CLV."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from smbgrowth.errors import ModelError, NotFittedError
from smbgrowth.models.clv.gammagamma import GammaGammaModel, _neg_log_likelihood

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"


def _simulate(
    rng: np.random.Generator, n: int, p: float, q: float, gamma: float
) -> tuple[np.ndarray, np.ndarray]:
    nu = rng.gamma(q, 1.0 / gamma, n)
    x = rng.integers(1, 8, n)
    # The mean of x Gamma(p, ν) values is Gamma(px, xν).
    zbar = rng.gamma(p * x, 1.0 / (nu * x))
    return x.astype(float), zbar


def test_recovers_simulated_parameters_within_three_standard_errors() -> None:
    truth = {"p": 6.0, "q": 4.0, "gamma": 15.0}
    x, m = _simulate(np.random.default_rng(7), 5000, **truth)
    model = GammaGammaModel().fit(x, m)
    for k, v in truth.items():
        assert abs(model.params_[k] - v) < 3 * model.standard_errors_[k], (k, model.params_)


def test_gradient_matches_finite_differences() -> None:
    x, m = _simulate(np.random.default_rng(1), 300, 3.0, 5.0, 10.0)
    w = np.ones_like(x)
    z = np.log([2.5, 4.0, 12.0])
    _, grad = _neg_log_likelihood(z, x, m, w)
    h = 1e-6
    numeric = [
        (_neg_log_likelihood(z + e, x, m, w)[0] - _neg_log_likelihood(z - e, x, m, w)[0]) / (2 * h)
        for e in np.eye(3) * h
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-5)


def _cdnow_spend() -> pd.DataFrame:
    path = DATASETS / "cdnow_sample.csv"
    if not path.exists():
        pytest.skip(f"CDNOW sample not found at {path} (shared datasets folder absent)")
    tx = pd.read_csv(path, dtype={"customer_id": str, "date": str})
    tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
    tx = tx[tx["date"] <= pd.Timestamp("1997-09-30")]
    days = (
        tx.groupby(["customer_id", "date"], as_index=False)["dollar_value"]
        .sum()
        .sort_values(["customer_id", "date"])
    )
    repeat = days[days.groupby("customer_id").cumcount() > 0]
    spend = repeat.groupby("customer_id")["dollar_value"].agg(["size", "mean"])
    return spend.rename(columns={"size": "frequency", "mean": "monetary_value"})


def test_cdnow_repeat_buyers_give_published_estimates() -> None:
    spend = _cdnow_spend()
    assert len(spend) == 946
    model = GammaGammaModel().fit(spend["frequency"], spend["monetary_value"])
    # Fader & Hardie (2013): p = 6.25, q = 3.74, γ = 15.44.
    for k, v in {"p": 6.25, "q": 3.74, "gamma": 15.44}.items():
        assert model.params_[k] == pytest.approx(v, rel=0.005)
    assert model.n_customers_ == 946


def test_cdnow_summary_zbar_is_the_repeat_mean() -> None:
    spend = _cdnow_spend()
    summary = pd.read_csv(DATASETS / "cdnow_customers_summary_with_transactions.csv")
    summary["ID"] = summary["ID"].astype(str).str.zfill(4)
    joined = spend.join(summary.set_index("ID"))
    np.testing.assert_array_equal(joined["frequency"], joined["x"])
    np.testing.assert_allclose(joined["monetary_value"], joined["zbar"], atol=0.0051)


def test_conditional_expected_average_profit_shrinks_to_population_mean() -> None:
    x, m = _simulate(np.random.default_rng(2), 2000, 6.0, 4.0, 15.0)
    model = GammaGammaModel().fit(x, m)
    p, q, g = (model.params_[k] for k in ("p", "q", "gamma"))
    got = model.conditional_expected_average_profit([0, 1, 10], [0.0, 50.0, 50.0])
    population = p * g / (q - 1)
    assert got[0] == pytest.approx(population)
    assert got[1] == pytest.approx(p * (g + 50.0) / (p + q - 1))
    # More purchases: closer to the customer's own mean.
    assert abs(got[2] - 50.0) < abs(got[1] - 50.0)


class _LinearPurchases:
    """Stub purchase model: frequency / T purchases per week, forever."""

    def conditional_expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> Any:
        return t * np.asarray(frequency, dtype=float) / np.asarray(T, dtype=float)


def test_customer_lifetime_value_discounts_monthly_purchases_by_hand() -> None:
    x, m = _simulate(np.random.default_rng(3), 2000, 6.0, 4.0, 15.0)
    model = GammaGammaModel().fit(x, m)
    freq, rec, T, mv = (
        np.array([2.0, 4.0]),
        np.array([10.0, 20.0]),
        np.array([20.0, 40.0]),
        [
            30.0,
            80.0,
        ],
    )
    spend = model.conditional_expected_average_profit(freq, mv)
    per_month = freq / T * 30.4375 / 7.0  # the stub's purchases in each month
    by_hand = spend * per_month * (1 / 1.01 + 1 / 1.01**2 + 1 / 1.01**3)
    got = model.customer_lifetime_value(_LinearPurchases(), freq, rec, T, mv, months=3)
    np.testing.assert_allclose(got, by_hand, rtol=1e-12)
    undiscounted = model.customer_lifetime_value(
        _LinearPurchases(), freq, rec, T, mv, months=3, discount_rate=0.0, time_unit_days=1.0
    )
    np.testing.assert_allclose(undiscounted, spend * freq / T * 3 * 30.4375, rtol=1e-12)


def test_not_fitted_and_bad_input() -> None:
    model = GammaGammaModel()
    with pytest.raises(NotFittedError):
        model.conditional_expected_average_profit([1], [10.0])
    with pytest.raises(NotFittedError):
        model.to_dict()
    with pytest.raises(ModelError, match="same length"):
        model.fit([1, 2], [10.0])
    with pytest.raises(ModelError, match="positive"):
        model.fit([1, 2, 3], [10.0, -1.0, 5.0])
    with pytest.raises(ModelError, match="whole number"):
        model.fit([1.5, 2], [10.0, 3.0])
    with pytest.raises(ModelError, match="repeat purchases"):
        model.fit([0, 0, 1], [0.0, 0.0, 5.0])
    x, m = _simulate(np.random.default_rng(4), 500, 6.0, 4.0, 15.0)
    fitted = model.fit(x, m)
    with pytest.raises(ModelError, match="months"):
        fitted.customer_lifetime_value(_LinearPurchases(), [1], [1], [2], [5.0], months=0)


def test_fit_returns_self_is_deterministic_and_ignores_non_repeaters() -> None:
    x, m = _simulate(np.random.default_rng(5), 800, 6.0, 4.0, 15.0)
    a = GammaGammaModel()
    assert a.fit(x, m) is a
    b = GammaGammaModel().fit(np.r_[x, 0, 0], np.r_[m, 0.0, 0.0])
    assert a.params_ == b.params_
    assert a.to_dict()["model"] == "gammagamma"
    assert set(a.summary().index) == {"p", "q", "gamma"}
