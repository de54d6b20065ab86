"""BG/NBD and MBG/NBD: published CDNOW estimates, recovery, gradient, predictions, contract."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special

import smbgrowth
from smbgrowth.data.importer import import_files
from smbgrowth.data.plan import ImportOptions
from smbgrowth.errors import ModelError, NotFittedError
from smbgrowth.models.clv.base import FloatArray
from smbgrowth.models.clv.bgnbd import BetaGeoModel, ModifiedBetaGeoModel, _log_likelihood
from smbgrowth.models.clv.data import rfm_summary

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
CDNOW_SAMPLE = DATASETS / "cdnow_sample.csv"
MODELS = [BetaGeoModel, ModifiedBetaGeoModel]
Model = type[BetaGeoModel] | type[ModifiedBetaGeoModel]


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[pd.DataFrame]:
    """CDNOW 1/10 sample, calibration to 1997-09-30 in weeks, holdout to 1998-06-30."""
    if not CDNOW_SAMPLE.exists():
        pytest.skip(f"CDNOW data not found in {DATASETS} (shared datasets folder absent)")
    ws = smbgrowth.init_workspace(tmp_path_factory.mktemp("cdnow") / "ws", time_zone="UTC")
    try:
        import_files(ws, "csv", [CDNOW_SAMPLE], ImportOptions(table="orders"))
        yield rfm_summary(ws, calibration_end=date(1997, 9, 30), observation_end=date(1998, 6, 30))
    finally:
        ws.close()


def simulate(
    n: int,
    r: float,
    alpha: float,
    a: float,
    b: float,
    *,
    k: int,
    seed: int,
    whole_days: bool = False,
) -> pd.DataFrame:
    """Customers from the BG/NBD (k = 0) or MBG/NBD (k = 1) story, T in whole weeks.

    Purchases arrive at Poisson rate λ ~ Gamma(r, α); the customer drops out after
    the J-th purchase counted from the first (J ≥ 1 − k, geometric in p ~ Beta(a, b)).
    Given N(T) = m arrivals, the x-th arrival time is T·Beta(x, m − x + 1).
    ``whole_days`` floors recency to whole days, as :func:`rfm_summary` does (which
    biases the estimates slightly: visible at a million customers, not at 20,000).
    """
    rng = np.random.default_rng(seed)
    T = rng.integers(20 * 7, 52 * 7 + 1, n) / 7.0
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    arrivals = rng.poisson(lam * T)
    drop_after = rng.geometric(p) - k
    x = np.minimum(arrivals, drop_after)
    t_x = np.zeros(n)
    has = x > 0
    t_x[has] = T[has] * rng.beta(x[has], arrivals[has] - x[has] + 1)
    if whole_days:
        t_x = np.floor(t_x * 7) / 7.0
    return pd.DataFrame({"frequency": x, "recency": t_x, "T": T})


# -- published values ------------------------------------------------------------------


def test_bgnbd_reproduces_the_published_cdnow_estimates(cdnow: pd.DataFrame) -> None:
    model = BetaGeoModel().fit(cdnow)
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert model.params_[name] == pytest.approx(value, rel=0.005), name
    assert model.log_likelihood_ == pytest.approx(-9582.4, abs=0.1)
    assert model.converged_
    assert model.n_customers_ == 2357


def test_mbgnbd_fits_cdnow_at_least_as_well(cdnow: pd.DataFrame) -> None:
    bg = BetaGeoModel().fit(cdnow)
    mbg = ModifiedBetaGeoModel().fit(cdnow)
    assert mbg.converged_
    assert mbg.log_likelihood_ > bg.log_likelihood_
    assert mbg.params_ == pytest.approx(
        {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}, rel=0.01
    )


def test_holdout_predictions_track_cdnow(cdnow: pd.DataFrame) -> None:
    model = BetaGeoModel().fit(cdnow)
    predicted = model.conditional_expected_purchases(
        cdnow["duration_holdout"], cdnow["frequency"], cdnow["recency"], cdnow["T"]
    )
    actual = cdnow["frequency_holdout"].to_numpy()
    # 1,653 predicted vs 1,882 actual repeat purchase days: the BG/NBD's known
    # under-forecast of CDNOW's second year; the cohort forecast agrees with it.
    assert predicted.sum() == pytest.approx(1653.4, abs=0.5)
    assert actual.sum() == 1882
    assert predicted.sum() == pytest.approx(actual.sum(), rel=0.15)
    T = cdnow["T"].to_numpy()
    cohort = model.expected_purchases(T + 39) - model.expected_purchases(T)
    assert cohort.sum() == pytest.approx(predicted.sum(), rel=0.02)
    # Customers ranked by prediction: the top decile buys far more in the holdout.
    top = predicted >= np.quantile(predicted, 0.9)
    assert actual[top].mean() > 5 * actual[~top].mean()


# -- estimation -------------------------------------------------------------------------


@pytest.mark.parametrize("model_cls", MODELS)
def test_parameters_are_recovered_within_three_standard_errors(model_cls: Model) -> None:
    truth = {"r": 0.6, "alpha": 5.0, "a": 0.8, "b": 3.0}
    data = simulate(20_000, *truth.values(), k=model_cls._k, seed=11)
    model = model_cls().fit(data)
    for name, value in truth.items():
        se = model.standard_errors_[name]
        assert np.isfinite(se) and se > 0
        assert abs(model.params_[name] - value) < 3 * se, (name, model.params_[name], se)


def test_bgnbd_recovers_the_sample_business_truth(tmp_path: Path) -> None:
    from smbgrowth.data import generate_sample_business

    with smbgrowth.init_workspace(tmp_path / "ws", time_zone="UTC") as ws:
        generate_sample_business(ws, customers=20000, seed=3)
        truth = ws.sample_truth()
        assert truth is not None
        bgnbd = truth["bgnbd"]
        summary = rfm_summary(ws, time_unit=bgnbd["time_unit"])
    # Customers first seen on the last day (T = 0) are accepted and counted.
    assert (summary["T"] == 0).any()
    model = BetaGeoModel().fit(summary)
    assert model.n_customers_ == len(summary)
    for name in model.param_names:
        se = model.standard_errors_[name]
        assert abs(model.params_[name] - bgnbd[name]) < 3 * se, (name, model.params_[name], se)


@pytest.mark.parametrize("k", [0, 1])
def test_gradient_matches_finite_differences(k: int) -> None:
    data = simulate(300, 0.5, 4.0, 0.9, 2.5, k=k, seed=5)
    data.loc[0, ["frequency", "recency", "T"]] = [500, 9000.0, 10_000.0]
    x, t_x, T = (data[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    for params in ([0.5, 4.0, 0.9, 2.5], [2.0, 0.3, 3.0, 0.7]):
        z = np.log(params)

        def total(z: FloatArray) -> float:
            return float(_log_likelihood(np.exp(z), x, t_x, T, k)[0].sum())

        grad = _log_likelihood(np.exp(z), x, t_x, T, k)[1].sum(axis=1)
        numeric = np.empty(4)
        for i in range(4):
            step = np.zeros(4)
            step[i] = 1e-6
            numeric[i] = (total(z + step) - total(z - step)) / 2e-6
        assert grad == pytest.approx(numeric, rel=1e-5, abs=1e-4)


@pytest.mark.parametrize("model_cls", MODELS)
def test_fit_returns_self_and_is_deterministic(model_cls: Model) -> None:
    data = simulate(2000, 0.5, 4.0, 0.9, 2.5, k=model_cls._k, seed=1, whole_days=True)
    model = model_cls()
    assert model.fit(data) is model
    again = model_cls().fit(data["frequency"], data["recency"], data["T"])
    assert again.params_ == model.params_
    assert model.to_dict()["model"] == model_cls.name
    assert set(model.params_) == set(model_cls.param_names)


@pytest.mark.parametrize("model_cls", MODELS)
def test_newcomers_do_not_change_the_fit(model_cls: Model) -> None:
    data = simulate(2000, 0.5, 4.0, 0.9, 2.5, k=model_cls._k, seed=4)
    base = model_cls().fit(data)
    newcomers = pd.DataFrame({"frequency": [0, 0], "recency": [0.0, 0.0], "T": [0.0, 0.0]})
    more = model_cls().fit(pd.concat([data, newcomers], ignore_index=True))
    assert more.params_ == pytest.approx(base.params_, rel=1e-8)
    assert more.log_likelihood_ == pytest.approx(base.log_likelihood_, rel=1e-12)
    assert more.n_customers_ == base.n_customers_ + 2


@pytest.mark.parametrize("model_cls", MODELS)
def test_extreme_inputs_stay_finite(model_cls: Model) -> None:
    data = simulate(2000, 0.5, 4.0, 0.9, 2.5, k=model_cls._k, seed=2)
    data.loc[0, ["frequency", "recency", "T"]] = [500, 9000.0, 10_000.0]
    data.loc[1, ["frequency", "recency", "T"]] = [500, 1.0, 10_000.0]
    model = model_cls().fit(data)
    x, t_x, T = np.array([500, 500, 0]), np.array([9990.0, 1.0, 0.0]), np.array([1e4, 1e4, 1e4])
    assert np.isfinite(model.log_likelihood(x, t_x, T)).all()
    alive = model.probability_alive(x, t_x, T)
    assert np.isfinite(alive).all() and ((alive >= 0) & (alive <= 1)).all()
    assert alive[1] < 1e-100
    expected = model.conditional_expected_purchases(52, x, t_x, T)
    assert np.isfinite(expected).all() and (expected >= 0).all()
    # An active heavy buyer (rate ≈ 0.05 per unit) expects about 0.05 × 52 × P(alive).
    assert expected[0] == pytest.approx(52 * 500 / 1e4 * alive[0], rel=0.05)
    assert expected[1] < 1e-100
    assert np.isfinite(model.expected_purchases([0.0, 1e4, 1e6])).all()
    assert np.isfinite(model.probability_of_purchases([0, 500], 1e4)).all()


@pytest.mark.parametrize("model_cls", MODELS)
def test_bad_input_raises_model_error(model_cls: Model) -> None:
    with pytest.raises(ModelError, match="recency"):
        model_cls().fit([1, 2], [3.0, 1.0], [2.0, 5.0])
    with pytest.raises(ModelError, match="frequency"):
        model_cls().fit([-1, 2], [0.0, 1.0], [2.0, 5.0])
    with pytest.raises(ModelError, match="recency"):
        model_cls().fit(pd.DataFrame({"frequency": [1], "T": [2.0]}))


@pytest.mark.parametrize("model_cls", MODELS)
def test_predicting_before_fit_raises_not_fitted(model_cls: Model) -> None:
    model = model_cls()
    with pytest.raises(NotFittedError):
        model.expected_purchases(10)
    with pytest.raises(NotFittedError):
        model.conditional_expected_purchases(10, [1], [1.0], [2.0])
    with pytest.raises(NotFittedError):
        model.probability_alive([1], [1.0], [2.0])
    with pytest.raises(NotFittedError):
        model.probability_alive_at([1], [1.0], [2.0], 5)
    with pytest.raises(NotFittedError):
        model.probability_of_purchases(1, 10)


# -- predictions ------------------------------------------------------------------------


def _fitted(model_cls: Model, params: dict[str, float]) -> BetaGeoModel | ModifiedBetaGeoModel:
    model = model_cls()
    model.params_ = params
    return model


PARAMS = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def test_bgnbd_predictions_match_the_papers_formulas() -> None:
    """Eqs. (7) and (10) of Fader, Hardie & Lee (2005) evaluated directly."""
    model = _fitted(BetaGeoModel, PARAMS)
    r, alpha, a, b = PARAMS.values()
    t = np.array([1.0, 10.0, 39.0, 78.0])
    direct = (
        (a + b - 1)
        / (a - 1)
        * (1 - (alpha / (alpha + t)) ** r * special.hyp2f1(r, b, a + b - 1, t / (alpha + t)))
    )
    assert model.expected_purchases(t) == pytest.approx(direct, rel=1e-9)

    x, t_x, T = np.array([0, 1, 2, 7]), np.array([0.0, 1.71, 30.43, 29.0]), np.full(4, 38.86)
    z = 39 / (alpha + T + 39)
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
    numerator = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + 39)) ** (r + x) * hyp)
    odds = np.where(x > 0, a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x), 0.0)
    assert model.conditional_expected_purchases(39, x, t_x, T) == pytest.approx(
        numerator / (1 + odds), rel=1e-9
    )
    assert model.probability_alive(x, t_x, T) == pytest.approx(1 / (1 + odds), rel=1e-12)
    assert model.probability_alive(0, 0, 38.86) == 1.0


def test_mbgnbd_predictions_match_direct_formulas() -> None:
    params = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}
    model = _fitted(ModifiedBetaGeoModel, params)
    r, alpha, a, b = params.values()
    t = np.array([1.0, 39.0])
    direct = (
        b
        / (a - 1)
        * (1 - (alpha / (alpha + t)) ** r * special.hyp2f1(r, b + 1, a + b, t / (alpha + t)))
    )
    assert model.expected_purchases(t) == pytest.approx(direct, rel=1e-9)
    x, t_x, T = np.array([0, 3]), np.array([0.0, 20.0]), np.array([30.0, 30.0])
    odds = a / (b + x) * ((alpha + T) / (alpha + t_x)) ** (r + x)
    assert model.probability_alive(x, t_x, T) == pytest.approx(1 / (1 + odds), rel=1e-12)


@pytest.mark.parametrize("model_cls", MODELS)
def test_purchase_distribution_sums_to_one_and_to_the_mean(model_cls: Model) -> None:
    model = _fitted(model_cls, {"r": 0.6, "alpha": 5.0, "a": 1.8, "b": 3.0})
    n = np.arange(3000)
    for t in (1.0, 39.0, 200.0):
        probs = model.probability_of_purchases(n, t)
        assert probs.sum() == pytest.approx(1.0, abs=1e-9)
        assert (probs * n).sum() == pytest.approx(float(model.expected_purchases(t)), rel=1e-6)


@pytest.mark.parametrize("model_cls", MODELS)
def test_purchase_distribution_matches_simulation(model_cls: Model) -> None:
    params = {"r": 0.6, "alpha": 5.0, "a": 0.8, "b": 3.0}
    model = _fitted(model_cls, params)
    data = simulate(200_000, *params.values(), k=model_cls._k, seed=9)
    data = data[data["T"] == 39.0]
    observed = np.bincount(data["frequency"].astype(int), minlength=4)[:4] / len(data)
    expected = model.probability_of_purchases(np.arange(4), 39.0)
    assert observed == pytest.approx(expected, abs=4 * np.sqrt(0.25 / len(data)))


@pytest.mark.parametrize("model_cls", MODELS)
def test_probability_alive_at_future(model_cls: Model) -> None:
    model = _fitted(model_cls, PARAMS)
    x, t_x, T = np.array([2, 5]), np.array([10.0, 30.0]), np.array([39.0, 39.0])
    now = model.probability_alive(x, t_x, T)
    assert model.probability_alive_at(x, t_x, T, 0) == pytest.approx(now)
    later = model.probability_alive_at(x, t_x, T, [10.0, 52.0])
    assert (later < now).all()
    assert later == pytest.approx(model.probability_alive(x, t_x, T + np.array([10.0, 52.0])))
    with pytest.raises(ModelError, match="future"):
        model.probability_alive_at(x, t_x, T, -1)


@pytest.mark.parametrize("model_cls", MODELS)
def test_conditional_expectation_is_monotone_in_history(model_cls: Model) -> None:
    model = _fitted(model_cls, PARAMS)
    more = model.conditional_expected_purchases(10, [1, 2, 3], [20.0, 20.0, 20.0], 39.0)
    assert np.all(np.diff(more) > 0)
    recent = model.conditional_expected_purchases(10, 3, [5.0, 20.0, 39.0], 39.0)
    assert np.all(np.diff(recent) > 0)
    assert model.conditional_expected_purchases(0, 3, 20.0, 39.0) == pytest.approx(0.0)
