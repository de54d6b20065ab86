"""BG/BB discrete-time model: the published donation fit, recovery, gradient, predictions."""

from __future__ import annotations

import numpy as np
import pytest

from smbgrowth.errors import ModelError, NotFittedError
from smbgrowth.models.clv.bgbb import BetaGeoBetaBinomModel, _neg_log_likelihood

# Fader, Hardie & Shang (2010), the 1995 donor cohort: (x, t_x, donors) for n = 6.
DONATIONS = np.array(
    [
        (6, 6, 1203), (5, 6, 728), (4, 6, 512), (3, 6, 357), (2, 6, 234), (1, 6, 129),
        (5, 5, 335), (4, 5, 284), (3, 5, 225), (2, 5, 173), (1, 5, 119),
        (4, 4, 240), (3, 4, 181), (2, 4, 155), (1, 4, 78),
        (3, 3, 322), (2, 3, 255), (1, 3, 129),
        (2, 2, 613), (1, 2, 277),
        (1, 1, 1091),
        (0, 0, 3464),
    ],
    dtype=float,
)  # fmt: skip
TRUTH = {"alpha": 1.2, "beta": 0.75, "gamma": 0.66, "delta": 2.8}


def _donors() -> tuple[np.ndarray, np.ndarray]:
    counts = DONATIONS[:, 2].astype(int)
    return np.repeat(DONATIONS[:, 0], counts), np.repeat(DONATIONS[:, 1], counts)


def _simulate(
    rng: np.random.Generator,
    size: int,
    n: int,
    alpha: float,
    beta: float,
    gamma: float,
    delta: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Purchase matrix (size × n) and opportunities each customer is alive for."""
    p = rng.beta(alpha, beta, size)
    theta = rng.beta(gamma, delta, size)
    # Death strikes before each opportunity with probability θ.
    alive_for = rng.geometric(theta) - 1
    buys = (rng.random((size, n)) < p[:, None]) & (np.arange(1, n + 1) <= alive_for[:, None])
    return buys, alive_for, p


def _summarise(buys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = buys.sum(axis=1).astype(float)
    last = np.where(buys.any(axis=1), buys.shape[1] - np.argmax(buys[:, ::-1], axis=1), 0)
    return x, last.astype(float)


def test_donation_data_give_published_estimates() -> None:
    x, t_x = _donors()
    assert len(x) == 11104
    model = BetaGeoBetaBinomModel().fit(x, t_x, 6)
    published = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
    for k, v in published.items():
        assert model.params_[k] == pytest.approx(v, rel=0.005)
    assert model.log_likelihood_ == pytest.approx(-33225.6, abs=0.1)


def test_recovers_simulated_parameters_within_three_standard_errors() -> None:
    buys, _, _ = _simulate(np.random.default_rng(21), 20000, 8, **TRUTH)
    x, t_x = _summarise(buys)
    model = BetaGeoBetaBinomModel().fit(x, t_x, 8)
    for k, v in TRUTH.items():
        assert abs(model.params_[k] - v) < 3 * model.standard_errors_[k], (k, model.params_)


def test_gradient_matches_finite_differences() -> None:
    x, t_x, w = DONATIONS[:, 0], DONATIONS[:, 1], DONATIONS[:, 2]
    n = np.r_[np.full(11, 6.0), np.full(11, 7.0)]
    z = np.log([1.1, 0.8, 0.7, 2.5])
    _, grad = _neg_log_likelihood(z, x, t_x, n, w)
    h = 1e-6
    numeric = [
        (_neg_log_likelihood(z + e, x, t_x, n, w)[0] - _neg_log_likelihood(z - e, x, t_x, n, w)[0])
        / (2 * h)
        for e in np.eye(4) * h
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-6)


def test_predictions_agree_with_simulation_at_the_true_parameters() -> None:
    rng = np.random.default_rng(5)
    n, future = 6, 5
    buys, alive_for, _ = _simulate(rng, 400_000, n + future, **TRUTH)
    x, t_x = _summarise(buys[:, :n])
    model = BetaGeoBetaBinomModel()
    model.params_ = dict(TRUTH)  # predictions at the truth, no fitting noise
    np.testing.assert_allclose(
        model.expected_purchases([n, n + future]),
        [x.mean(), buys.sum(axis=1).mean()],
        rtol=0.01,
    )
    for pattern in ((0, 0), (2, 3), (6, 6)):
        who = (x == pattern[0]) & (t_x == pattern[1])
        alive = (alive_for[who] >= n + 1).mean()
        later = buys[who, n:].sum(axis=1)
        assert model.probability_alive(*pattern, n)[0] == pytest.approx(alive, abs=0.01)
        got = model.conditional_expected_purchases(future, *pattern, n)[0]
        assert got == pytest.approx(later.mean(), abs=4 * later.std() / np.sqrt(who.sum()))


def _at_gamma(gamma: float) -> BetaGeoBetaBinomModel:
    model = BetaGeoBetaBinomModel()
    model.params_ = {"alpha": 1.0, "beta": 1.0, "gamma": gamma, "delta": 2.0}
    return model


def test_predictions_are_smooth_through_gamma_equal_to_one() -> None:
    # δ/(γ−1)·[…] is 0/0 at γ = 1; the series near 1 must join the closed form.
    def both(gamma: float) -> np.ndarray:
        m = _at_gamma(gamma)
        return np.array(
            [m.expected_purchases(5)[()], m.conditional_expected_purchases(3, 2, 4, 5)[0]]
        )

    for edge in (1 + 1e-4, 1 - 1e-4):
        np.testing.assert_allclose(both(edge - 1e-10), both(edge + 1e-10), rtol=1e-7)
    np.testing.assert_allclose(both(1.0), (both(1 - 1e-3) + both(1 + 1e-3)) / 2, rtol=1e-6)


def test_not_fitted_and_bad_input() -> None:
    model = BetaGeoBetaBinomModel()
    with pytest.raises(NotFittedError):
        model.probability_alive([1], [1], 6)
    with pytest.raises(NotFittedError):
        model.expected_purchases(3)
    with pytest.raises(ModelError, match="frequency ≤ recency ≤ n_periods"):
        model.fit([3], [2], 6)
    with pytest.raises(ModelError, match="frequency ≤ recency ≤ n_periods"):
        model.fit([1], [7], 6)
    with pytest.raises(ModelError, match="recency must be 0"):
        model.fit([0], [2], 6)
    with pytest.raises(ModelError, match="whole numbers"):
        model.fit([1.5], [2], 6)
    with pytest.raises(ModelError, match="same length"):
        model.fit([1, 2], [1, 2, 3], 6)


def test_fit_returns_self_and_is_deterministic() -> None:
    x, t_x = _donors()
    a = BetaGeoBetaBinomModel()
    assert a.fit(x, t_x, 6) is a
    assert BetaGeoBetaBinomModel().fit(x, t_x, np.full(len(x), 6)).params_ == a.params_
    assert a.to_dict()["model"] == "bgbb"
    assert a.n_customers_ == 11104
