"""Statistical properties of the experiment analysis, shown by simulation from known truth.

* A/A tests (no true difference): the share of false positives is α.
* Peeking every day: the naive test's false-positive rate inflates; the
  sequential method's stays at or below α.
* Power: at the planner's sample size, the share of true effects found is
  the planned power, within a few points.
* CUPED: unbiased, and its variance shrinks by the share the covariate explains.

Monte-Carlo tolerances are three binomial standard errors of the simulated rate.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from smbgrowth.models.experiments import (
    ExperimentData,
    Metric,
    MetricStats,
    analyze_data,
    analyze_experiment,
    counts_data,
    plan_sample_size,
)
from smbgrowth.models.experiments.inference import lift, sequential_p_value
from smbgrowth.models.experiments.stats import estimate

ALPHA = 0.05


def _band(rate: float, reps: int) -> float:
    return 3.0 * math.sqrt(rate * (1.0 - rate) / reps)


def _mean_data(a: np.ndarray, b: np.ndarray) -> ExperimentData:
    stats = {
        name: MetricStats("continuous", len(x), float(x.sum()), float((x * x).sum()))
        for name, x in (("A", a), ("B", b))
    }
    return ExperimentData(
        variants=["A", "B"],
        units={"A": len(a), "B": len(b)},
        stats={"revenue": stats},
        metrics=[Metric("revenue", kind="continuous")],
    )


@pytest.fixture(autouse=True)
def _quiet() -> None:
    # A/A simulations hit the 1 % sample-ratio alarm by chance; that is not under test here.
    warnings.simplefilter("ignore", UserWarning)


def test_aa_binomial_false_positive_rate_is_alpha() -> None:
    rng = np.random.default_rng(20261201)
    reps, n, p = 4000, 2000, 0.1
    conv = rng.binomial(n, p, size=(reps, 2))
    hits = 0
    for ca, cb in conv:
        result = analyze_data(counts_data({"A": (int(ca), n), "B": (int(cb), n)}))
        hits += result.metrics[0].comparisons[0].verdict != "inconclusive"
    rate = hits / reps
    assert abs(rate - ALPHA) < _band(ALPHA, reps), rate


def test_aa_heavy_tailed_revenue_false_positive_rate_is_alpha() -> None:
    # Welch's t on lognormal revenue with 85 % zeros, the shape of an online shop.
    rng = np.random.default_rng(7)
    reps, n = 1500, 4000
    hits = 0
    for _ in range(reps):
        buy = rng.random((2, n)) < 0.15
        spend = np.where(buy, rng.lognormal(3.5, 1.0, (2, n)), 0.0)
        result = analyze_data(_mean_data(spend[0], spend[1]))
        hits += result.metrics[0].comparisons[0].verdict != "inconclusive"
    rate = hits / reps
    assert abs(rate - ALPHA) < _band(ALPHA, reps), rate


def test_aa_bayesian_chance_to_win_is_uniform() -> None:
    # Under no effect a flat-prior chance to win is (asymptotically) uniform on 0–1:
    # the 95 % decision threshold fires on each side 5 % of the time.
    rng = np.random.default_rng(11)
    reps, n = 2000, 5000
    conv = rng.binomial(n, 0.2, size=(reps, 2))
    chances = np.array(
        [
            analyze_data(counts_data({"A": (int(a), n), "B": (int(b), n)}), method="bayesian")
            .metrics[0]
            .comparisons[0]
            .chance_to_win
            for a, b in conv
        ]
    )
    for q in (0.1, 0.5, 0.9):
        assert abs((chances < q).mean() - q) < _band(q, reps)


def _peeking_rates(reps: int, days: int, daily: int, p: float, seed: int) -> tuple[float, float]:
    """Return the false-positive rates of naive and sequential peeking, once a day."""
    rng = np.random.default_rng(seed)
    naive = seq = 0
    for _ in range(reps):
        daily_conv = rng.binomial(daily, p, size=(days, 2)).cumsum(axis=0)
        found_naive = found_seq = False
        for day in range(days):
            n = daily * (day + 1)
            a = estimate(MetricStats("binomial", n, float(daily_conv[day, 0]), 0.0))
            b = estimate(MetricStats("binomial", n, float(daily_conv[day, 1]), 0.0))
            d = lift(a, b, relative=False)
            if not found_seq and sequential_p_value(d, 2 * n, ALPHA) < ALPHA:
                found_seq = True
            if not found_naive and abs(d.estimate) > 1.959963984540054 * d.standard_error:
                found_naive = True
        naive += found_naive
        seq += found_seq
    return naive / reps, seq / reps


def test_sequential_keeps_false_positives_below_alpha_under_daily_peeking() -> None:
    reps = 1000
    naive, seq = _peeking_rates(reps=reps, days=28, daily=500, p=0.05, seed=3)
    # Looking 28 times and stopping at the first p < 0.05 roughly triples the error…
    assert naive > 2 * ALPHA
    # …while the confidence sequence keeps it at most α (up to Monte-Carlo error).
    assert seq <= ALPHA + _band(ALPHA, reps)


def test_sequential_p_value_of_the_analysis_is_the_one_simulated() -> None:
    # The peeking simulation uses the same functions the analysis calls.
    data = counts_data({"A": (480, 10000), "B": (560, 10000)})
    c = analyze_data(data, method="sequential").metrics[0].comparisons[0]
    a = estimate(data.stats["conversion"]["A"])
    b = estimate(data.stats["conversion"]["B"])
    assert c.p_value == sequential_p_value(lift(a, b, relative=False), 20000, ALPHA)
    # Excluding zero and p < α are the same event.
    assert (c.p_value < ALPHA) == (c.ci[0] > 0 or c.ci[1] < 0)


def test_sequential_still_finds_real_effects() -> None:
    rng = np.random.default_rng(5)
    reps, n = 400, 20000
    found = 0
    for _ in range(reps):
        a, b = rng.binomial(n, 0.05), rng.binomial(n, 0.06)
        res = analyze_data(counts_data({"A": (int(a), n), "B": (int(b), n)}), method="sequential")
        found += res.metrics[0].comparisons[0].verdict == "better"
    assert found / reps > 0.8


@pytest.mark.parametrize(("baseline", "mde"), [(0.1, 0.1), (0.03, 0.2)])
def test_simulated_power_matches_the_planner(baseline: float, mde: float) -> None:
    plan = plan_sample_size(baseline, mde, power=0.8)
    rng = np.random.default_rng(int(baseline * 1000))
    reps, n = 3000, plan.units_per_variant
    conv = np.stack(
        [rng.binomial(n, baseline, reps), rng.binomial(n, baseline * (1 + mde), reps)], axis=1
    )
    found = sum(
        analyze_data(counts_data({"A": (int(a), n), "B": (int(b), n)}))
        .metrics[0]
        .comparisons[0]
        .verdict
        == "better"
        for a, b in conv
    )
    assert abs(found / reps - 0.8) < _band(0.8, reps) + 0.01


def test_simulated_power_of_a_mean_matches_the_planner() -> None:
    sd, mean, mde = 40.0, 50.0, 0.05
    plan = plan_sample_size(mean, mde, sd=sd, power=0.8)
    rng = np.random.default_rng(9)
    reps, n = 1500, plan.units_per_variant
    found = 0
    for _ in range(reps):
        a = rng.normal(mean, sd, n)
        b = rng.normal(mean * (1 + mde), sd, n)
        found += analyze_data(_mean_data(a, b)).metrics[0].comparisons[0].verdict == "better"
    assert abs(found / reps - 0.8) < _band(0.8, reps) + 0.01


def _cuped_frame(rng: np.random.Generator, n: int, effect: float, rho: float) -> pd.DataFrame:
    pre = rng.normal(100.0, 20.0, n)
    noise = rng.normal(0.0, 20.0 * math.sqrt(1 - rho**2) / rho, n)
    variant = rng.integers(0, 2, n)
    post = pre + noise + effect * variant
    return pd.DataFrame(
        {
            "unit": np.arange(n),
            "variant": np.where(variant == 1, "B", "A"),
            "spend": post,
            "pre": pre,
        }
    )


def test_cuped_is_unbiased_and_reduces_variance_by_rho_squared() -> None:
    rng = np.random.default_rng(21)
    rho, effect, reps = 0.8, 2.0, 200
    raw, adj, reductions = [], [], []
    for _ in range(reps):
        frame = _cuped_frame(rng, 4000, effect, rho)
        plain = analyze_experiment(frame, unit="unit", variant="variant", metrics=["spend"])
        cuped = analyze_experiment(
            frame, unit="unit", variant="variant", metrics=["spend"], covariate="pre"
        )
        raw.append(plain.comparison("spend", "B").abs_lift)
        c = cuped.comparison("spend", "B")
        adj.append(c.abs_lift)
        reductions.append(c.variance_reduction)
    raw_a, adj_a = np.array(raw), np.array(adj)
    # Unbiased: the mean estimate is the true effect within 3 standard errors of the mean.
    assert abs(adj_a.mean() - effect) < 3 * adj_a.std(ddof=1) / math.sqrt(reps)
    # corr(pre, post)² = rho² of the variance is removed, by formula and across repetitions.
    assert np.mean(reductions) == pytest.approx(rho**2, abs=0.02)
    assert adj_a.var(ddof=1) / raw_a.var(ddof=1) == pytest.approx(1 - rho**2, rel=0.25)


def test_cuped_with_an_unrelated_covariate_changes_little() -> None:
    rng = np.random.default_rng(4)
    frame = _cuped_frame(rng, 20000, 1.0, 0.8)
    frame["noise"] = rng.normal(size=len(frame))
    plain = analyze_experiment(frame, unit="unit", variant="variant", metrics=["spend"])
    cuped = analyze_experiment(
        frame, unit="unit", variant="variant", metrics=["spend"], covariate="noise"
    )
    a, b = plain.comparison("spend", "B"), cuped.comparison("spend", "B")
    assert b.variance_reduction < 0.002
    assert b.abs_lift == pytest.approx(a.abs_lift, abs=0.05 * (a.ci[1] - a.ci[0]))
