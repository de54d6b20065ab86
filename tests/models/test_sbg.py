"""Shifted-beta-geometric retention model: published fits, recovery, gradient, workspace."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special

from smbgrowth.data import generate_sample_business, init_workspace
from smbgrowth.errors import ModelError, NotFittedError
from smbgrowth.models.clv.sbg import (
    ShiftedBetaGeoModel,
    _neg_log_likelihood,
    survivors_from_subscriptions,
)

# Fader & Hardie (2007), Table 1: customers active at the start of years 0–7.
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]


def _simulate(
    rng: np.random.Generator, n: int, alpha: float, beta: float, periods: int
) -> list[int]:
    lifetime = rng.geometric(rng.beta(alpha, beta, n))
    return [int((lifetime > t).sum()) for t in range(periods + 1)]


@pytest.mark.parametrize(
    ("survivors", "alpha", "beta"),
    [(REGULAR, 0.704, 1.182), (HIGH_END, 0.668, 3.806)],
    ids=["regular", "high_end"],
)
def test_published_fits_of_fader_hardie_2007(
    survivors: list[int], alpha: float, beta: float
) -> None:
    model = ShiftedBetaGeoModel().fit(survivors)
    assert model.params_["alpha"] == pytest.approx(alpha, rel=0.005)
    assert model.params_["beta"] == pytest.approx(beta, rel=0.005)
    assert model.n_customers_ == 1000


def test_recovers_simulated_cohorts_within_three_standard_errors() -> None:
    rng = np.random.default_rng(11)
    cohorts = [_simulate(rng, 3000, 0.8, 3.0, periods) for periods in (12, 9, 6, 3)]
    model = ShiftedBetaGeoModel().fit(cohorts)
    assert abs(model.params_["alpha"] - 0.8) < 3 * model.standard_errors_["alpha"]
    assert abs(model.params_["beta"] - 3.0) < 3 * model.standard_errors_["beta"]
    assert model.n_customers_ == 12000


def test_cohorts_as_list_array_and_dataframe_agree() -> None:
    rng = np.random.default_rng(12)
    a, b = _simulate(rng, 800, 1.0, 4.0, 6), _simulate(rng, 800, 1.0, 4.0, 6)
    from_list = ShiftedBetaGeoModel().fit([a, b]).params_
    from_array = ShiftedBetaGeoModel().fit(np.array([a, b])).params_
    ragged = pd.DataFrame([a, b[:4] + [np.nan] * 3])
    from_frame = ShiftedBetaGeoModel().fit(ragged).params_
    from_ragged_list = ShiftedBetaGeoModel().fit([a, b[:4]]).params_
    assert from_list == pytest.approx(from_array)
    assert from_frame == pytest.approx(from_ragged_list)


def test_gradient_matches_finite_differences() -> None:
    t = np.array([1.0, 2.0, 3.0, 3.0])
    censored = np.array([False, False, False, True])
    w = np.array([300.0, 150.0, 80.0, 470.0])
    z = np.log([0.7, 2.5])
    _, grad = _neg_log_likelihood(z, t, censored, w)
    h = 1e-6
    numeric = [
        (
            _neg_log_likelihood(z + e, t, censored, w)[0]
            - _neg_log_likelihood(z - e, t, censored, w)[0]
        )
        / (2 * h)
        for e in np.eye(2) * h
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-6)


def test_predictions_match_the_closed_forms() -> None:
    model = ShiftedBetaGeoModel().fit(REGULAR)
    a, b = model.params_["alpha"], model.params_["beta"]
    s = model.survival(np.arange(6))
    assert s[0] == 1.0
    np.testing.assert_allclose(s[1:] / s[:-1], model.retention_rate(np.arange(1, 6)), rtol=1e-12)
    assert model.retention_rate(1) == pytest.approx(b / (a + b))
    # Projected survivors for years 8–12 close to the actual 223, 207, 194, 183, 173.
    np.testing.assert_allclose(1000 * model.survival([8, 12]), [223, 173], rtol=0.1)


def test_residual_lifetime_is_the_discounted_sum_of_survival() -> None:
    model = ShiftedBetaGeoModel().fit(HIGH_END)
    k = np.arange(1, 5000)
    for t in (0, 4):
        s = model.survival(t + k) / model.survival(t)
        assert model.residual_lifetime(t, 0.1) == pytest.approx(np.sum(s / 1.1 ** (k - 1)))
    # α < 1: the undiscounted expectation does not exist.
    assert np.isinf(model.residual_lifetime(0))
    heavy = ShiftedBetaGeoModel().fit(_simulate(np.random.default_rng(3), 5000, 3.0, 8.0, 10))
    a, b = heavy.params_["alpha"], heavy.params_["beta"]
    assert heavy.residual_lifetime(2) == pytest.approx((b + 2) / (a - 1))
    k = np.arange(1, 1_000_000)
    s = np.exp(special.betaln(a, b + 2 + k) - special.betaln(a, b + 2))
    assert heavy.residual_lifetime(2) == pytest.approx(s.sum(), rel=1e-6)


def test_not_fitted_and_bad_input() -> None:
    model = ShiftedBetaGeoModel()
    with pytest.raises(NotFittedError):
        model.survival(1)
    with pytest.raises(ModelError, match="rise"):
        model.fit([100, 80, 90])
    with pytest.raises(ModelError, match="at least periods 0 and 1"):
        model.fit([100])
    with pytest.raises(ModelError, match="whole numbers"):
        model.fit([100, -5])
    with pytest.raises(ModelError, match="NaN"):
        model.fit(pd.DataFrame([[100, np.nan, 50]]))
    with pytest.raises(ModelError, match="no customer churned"):
        model.fit([100, 100, 100])
    model.fit(REGULAR)
    with pytest.raises(ModelError, match="discount_rate"):
        model.residual_lifetime(1, -0.1)
    with pytest.raises(ModelError, match="periods"):
        model.retention_rate(0)


def test_fit_returns_self_and_is_deterministic() -> None:
    a = ShiftedBetaGeoModel()
    assert a.fit(REGULAR) is a
    assert ShiftedBetaGeoModel().fit(REGULAR).params_ == a.params_
    assert a.to_dict()["model"] == "sbg"


@pytest.mark.slow
def test_fit_from_subscriptions_recovers_sample_business_truth(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws")
    try:
        generate_sample_business(ws, customers=20000, seed=3)
        truth = ws.sample_truth()
        assert truth is not None
        curves = survivors_from_subscriptions(ws)
        assert all(np.all(np.diff(c) <= 0) for c in curves)
        model = ShiftedBetaGeoModel().fit_from_subscriptions(ws)
        for k in ("alpha", "beta"):
            assert abs(model.params_[k] - truth["sbg"][k]) < 3 * model.standard_errors_[k], (
                k,
                model.params_,
                model.standard_errors_,
            )
        with pytest.raises(ModelError, match="month"):
            model.fit_from_subscriptions(ws, period="week")
    finally:
        ws.close()
