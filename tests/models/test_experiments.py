"""Experiment analysis on hand-checkable summaries, against GrowthBook's published engine.

Reference values were computed with GrowthBook's stats engine (``gbstats``
0.8.0: EffectBayesianABTest with its default flat prior, TwoSidedTTest,
SequentialTwoSidedTTest with tuning 5000) on the same sums; the issue's
49/100 vs 51/100 case (chance to win 0.60918, relative interval about
(−0.248, 0.329)) is the first of them. Where smbgrowth deliberately differs
the test says why.
"""

from __future__ import annotations

import math

import pytest
from scipy import stats as sps
from statsmodels.stats.proportion import proportions_ztest

from smbgrowth.errors import ModelError
from smbgrowth.models.experiments import (
    ExperimentData,
    Metric,
    MetricStats,
    analyze_data,
    counts_data,
    cuped_theta,
)


def _two(metric: Metric, a: MetricStats, b: MetricStats) -> ExperimentData:
    return ExperimentData(
        variants=["A", "B"],
        units={"A": a.n, "B": b.n},
        stats={metric.label: {"A": a, "B": b}},
        metrics=[metric],
    )


def _mean_case() -> ExperimentData:
    a = MetricStats("continuous", 5000, 52000.0, 2.1e6)
    b = MetricStats("continuous", 5100, 55000.0, 2.3e6)
    return _two(Metric("m", kind="continuous"), a, b)


def _ratio_case() -> ExperimentData:
    a = MetricStats("ratio", 2000, 30000.0, 900000.0, 1500.0, 2500.0, 35000.0)
    b = MetricStats("ratio", 2050, 33000.0, 1000000.0, 1520.0, 2550.0, 38000.0)
    return _two(Metric("rev", denominator="orders", name="rev/orders", kind="ratio"), a, b)


def _cuped_case() -> ExperimentData:
    a = MetricStats(
        "continuous", 3000, 15000.0, 120000.0,
        cov_total=14000.0, cov_total_sq=100000.0, cov_cross=95000.0,
    )  # fmt: skip
    b = MetricStats(
        "continuous", 3000, 16000.0, 130000.0,
        cov_total=14100.0, cov_total_sq=101000.0, cov_cross=99000.0,
    )  # fmt: skip
    return _two(Metric("m", kind="continuous"), a, b)


def _one(data: ExperimentData, **kw: object):  # type: ignore[no-untyped-def]
    result = analyze_data(data, **kw)  # type: ignore[arg-type]
    return result, result.metrics[0].comparisons[0]


def test_the_issues_case_matches_growthbooks_bayesian_engine() -> None:
    _, c = _one(counts_data({"A": (49, 100), "B": (51, 100)}), method="bayesian")
    assert c.chance_to_win == pytest.approx(0.6091813095808981, rel=1e-9)
    assert c.rel_lift == pytest.approx(0.04081632653061228, rel=1e-12)
    assert c.rel_ci == pytest.approx((-0.24779335974122607, 0.3294260128024506), rel=1e-9)
    # GrowthBook's risk = [keep control, ship the variant], relative units.
    assert c.expected_loss_control == pytest.approx(0.0813958491551631, rel=1e-9)
    assert c.expected_loss == pytest.approx(0.04057952262455082, rel=1e-9)
    assert c.ci == pytest.approx((-0.11856266158611864, 0.15856266158611865), rel=1e-9)
    assert c.verdict == "inconclusive"


def test_a_proper_prior_shrinks_as_growthbooks_does() -> None:
    # GaussianPrior(mean=0, variance=0.09, proper=True) on the relative lift.
    _, c = _one(counts_data({"A": (49, 100), "B": (51, 100)}), method="bayesian", prior_sd=0.3)
    assert c.chance_to_win == pytest.approx(0.5982528554529536, rel=1e-9)
    assert c.rel_ci == pytest.approx((-0.22619062381299754, 0.29197429936056696), rel=1e-9)
    assert c.ci == pytest.approx((-0.10862905825104593, 0.1411152460963498), rel=1e-9)


def test_binomial_frequentist_is_the_two_proportion_z_test() -> None:
    # smbgrowth uses the normal law for conversions (GrowthBook a t law with ~198
    # degrees of freedom: its interval is (−0.2496, 0.3312), 0.7 % wider here).
    _, c = _one(counts_data({"A": (49, 100), "B": (51, 100)}))
    _, p = proportions_ztest([51, 49], [100, 100])
    assert c.p_value == pytest.approx(p, rel=1e-12)
    se = math.sqrt(0.49 * 0.51 / 100 * 2)
    assert c.ci == pytest.approx((0.02 - 1.959963984540054 * se, 0.02 + 1.959963984540054 * se))
    # The relative interval is the delta method's, the same as the Bayesian flat prior's.
    assert c.rel_ci == pytest.approx((-0.24779335974122607, 0.3294260128024506), rel=1e-9)


def test_welch_t_on_means_matches_growthbook_and_scipy() -> None:
    _, c = _one(_mean_case())
    assert c.abs_lift == pytest.approx(0.3843137254901965, rel=1e-12)
    assert c.ci == pytest.approx((-0.31703406084012375, 1.0856615118205166), rel=1e-9)
    assert c.rel_ci == pytest.approx((-0.03170966812056007, 0.1056161537917517), rel=1e-9)
    assert c.p_value == pytest.approx(0.2827947690298831, rel=1e-9)
    va = (2.1e6 - 52000.0**2 / 5000) / 4999
    vb = (2.3e6 - 55000.0**2 / 5100) / 5099
    ref = sps.ttest_ind_from_stats(55000 / 5100, vb**0.5, 5100, 10.4, va**0.5, 5000, False)
    assert c.p_value == pytest.approx(ref.pvalue, rel=1e-12)


def test_bayesian_on_means_matches_growthbook() -> None:
    _, c = _one(_mean_case(), method="bayesian")
    assert c.chance_to_win == pytest.approx(0.8542751425377604, rel=1e-9)
    assert c.rel_ci == pytest.approx((-0.03170143609068686, 0.10560792176187846), rel=1e-9)
    assert c.ci == pytest.approx((-0.3169499759120572, 1.08557742689245), rel=1e-9)


def test_sequential_interval_matches_growthbooks_confidence_sequence() -> None:
    _, c = _one(_mean_case(), method="sequential")
    assert c.ci == pytest.approx((-0.7113248482365631, 1.479952299216956), rel=1e-9)
    assert c.rel_ci == pytest.approx((-0.07031127741270579, 0.14421776308389742), rel=1e-9)
    assert c.p_value == 1.0
    _, p = _one(counts_data({"A": (49, 100), "B": (51, 100)}), method="sequential")
    assert p.ci == pytest.approx((-0.34054949630999704, 0.38054949630999707), rel=1e-9)
    assert p.rel_ci == pytest.approx((-0.7101657621818221, 0.7917984152430467), rel=1e-9)


def test_ratio_metric_by_the_delta_method() -> None:
    result, c = _one(_ratio_case())
    assert result.metrics[0].variants[0].mean == pytest.approx(20.0)
    assert c.rel_lift == pytest.approx(0.08552631578947363, rel=1e-12)
    assert c.ci == pytest.approx((0.37887889859345614, 3.042173732985489), rel=1e-9)
    assert c.rel_ci == pytest.approx((0.016141215382855706, 0.15491141619609156), rel=1e-9)
    assert c.p_value == pytest.approx(0.011828407109683692, rel=1e-9)
    assert c.verdict == "better"
    _, b = _one(_ratio_case(), method="bayesian")
    assert b.chance_to_win == pytest.approx(0.9921677042606472, rel=1e-9)
    _, s = _one(_ratio_case(), method="sequential")
    assert s.ci == pytest.approx((-0.35421167415033095, 3.775264305729276), rel=1e-9)
    assert s.p_value == pytest.approx(0.1752504380272375, rel=1e-9)
    assert s.verdict == "inconclusive"


def test_cuped_matches_growthbooks_regression_adjustment() -> None:
    data = _cuped_case()
    theta = cuped_theta(list(data.stats["m"].values()))
    assert theta == pytest.approx(0.7034270755781836, rel=1e-12)
    result, c = _one(data)
    assert result.metrics[0].cuped_theta == pytest.approx(theta)
    assert c.abs_lift == pytest.approx(0.30988576414739377, rel=1e-9)
    assert c.ci == pytest.approx((0.15612447261805035, 0.4636470556767372), rel=1e-9)
    assert c.rel_ci == pytest.approx((0.030208959742309034, 0.09374534591664849), rel=1e-9)
    assert c.p_value == pytest.approx(7.876874566514758e-05, rel=1e-6)
    _, b = _one(data, method="bayesian")
    assert b.chance_to_win == pytest.approx(0.999934481677714, rel=1e-9)
    _, s = _one(data, method="sequential")
    assert s.ci == pytest.approx((0.07170420577650896, 0.5480673225182786), rel=1e-9)
    assert s.p_value == pytest.approx(0.0027776248588813166, rel=1e-9)
    # The raw means are shown; the unadjusted difference is 1/3, the adjusted 0.31.
    assert [v.mean for v in result.metrics[0].variants] == pytest.approx([5.0, 16000 / 3000])
    assert 0.0 < c.variance_reduction < 1.0


def test_srm_is_the_chi_square_test_and_warns_loudly() -> None:
    with pytest.warns(UserWarning, match="sample ratio mismatch"):
        result = analyze_data(counts_data({"old": (1000, 52000), "new": (1100, 48000)}))
    expected = sps.chisquare([52000, 48000]).pvalue
    assert result.srm_p_value == pytest.approx(expected)
    assert result.srm_detected
    assert "Caution: old got 52.0% of units instead of 50%" in result.readout
    fine = analyze_data(counts_data({"old": (1000, 50100), "new": (1100, 49900)}))
    assert not fine.srm_detected and "Caution" not in fine.readout


def test_intended_uneven_split_is_not_a_mismatch() -> None:
    data = counts_data({"old": (900, 90000), "new": (110, 10000)})
    assert not analyze_data(data, expected_split=[0.9, 0.1]).srm_detected
    with pytest.warns(UserWarning):
        assert analyze_data(data).srm_detected


def _three_variants() -> ExperimentData:
    return counts_data({"A": (300, 10000), "B": (345, 10000), "C": (338, 10000), "D": (309, 10000)})


def test_holm_and_bh_adjust_like_statsmodels_and_decide_on_adjusted_p() -> None:
    from statsmodels.stats.multitest import multipletests

    raw = analyze_data(_three_variants(), correction="none")
    ps = [c.p_value for c in raw.metrics[0].comparisons]
    for name, sm in (("holm", "holm"), ("bh", "fdr_bh")):
        adj = analyze_data(_three_variants(), correction=name)
        got = [c.p_value_adjusted for c in adj.metrics[0].comparisons]
        assert got == pytest.approx(list(multipletests(ps, method=sm)[1]))
    # B alone is significant (p ≈ 0.069 unadjusted would not be; check the decisions)
    holm = analyze_data(_three_variants(), correction="holm")
    for c in holm.metrics[0].comparisons:
        assert (c.verdict != "inconclusive") == (c.p_value_adjusted < 0.05)
    # Holm's intervals are Bonferroni's: level α / 3.
    c = holm.metrics[0].comparisons[0]
    se = math.sqrt(0.03 * 0.97 / 10000 + 0.0345 * 0.9655 / 10000)
    z = sps.norm.ppf(1 - 0.05 / 6)
    assert c.ci == pytest.approx((c.abs_lift - z * se, c.abs_lift + z * se))


def test_guardrails_fail_warn_or_hold() -> None:
    goal_a = MetricStats("binomial", 20000, 600.0, 600.0)
    goal_b = MetricStats("binomial", 20000, 720.0, 720.0)

    def pair(treated_refunds: float) -> tuple[MetricStats, MetricStats]:
        a = MetricStats("binomial", 20000, 200.0, 200.0)
        return a, MetricStats("binomial", 20000, treated_refunds, treated_refunds)

    refunds = {"failed": pair(290.0), "warning": pair(215.0), "ok": pair(190.0)}
    for state, (ra, rb) in refunds.items():
        data = ExperimentData(
            variants=["A", "B"],
            units={"A": 20000, "B": 20000},
            stats={"orders": {"A": goal_a, "B": goal_b}, "refunds": {"A": ra, "B": rb}},
            metrics=[
                Metric("orders", kind="binomial"),
                Metric("refunds", kind="binomial", guardrail=True, higher_is_better=False),
            ],
        )
        result = analyze_data(data)
        c = result.comparison("refunds", "B")
        assert c.guardrail == state
        assert result.winner == "B"
        if state == "failed":
            assert result.recommendation == "do-not-ship"
            assert "do not ship it yet: it made refunds worse" in result.readout
        else:
            assert result.recommendation == "ship"
        # Lower is better: fewer refunds is a win for B on that metric.
        assert (c.chance_to_win > 0.5) == (c.abs_lift < 0)


def test_readout_reads_like_the_example() -> None:
    result = analyze_data(
        counts_data({"old page": (3100, 100000), "new page": (3400, 100000)}), unit_noun="visitors"
    )
    text = result.readout
    assert text.startswith(
        "With new page, 3.4% of visitors have conversion against 3.1% with old page, "
        "+0.3 points (95% interval +0.1 to +0.5)."
    )
    assert "There is a 100.0% chance it is better" not in text
    assert "chance it is better (p < 0.001); ship it." in text
    assert result.recommendation == "ship" and result.winner == "new page"
    worse = analyze_data(counts_data({"old": (3400, 100000), "new": (3100, 100000)}))
    assert worse.recommendation == "keep-control"
    assert "it is worse; keep old." in worse.readout
    flat = analyze_data(counts_data({"old": (310, 10000), "new": (312, 10000)}))
    assert flat.recommendation == "no-clear-difference"
    assert "could reliably detect a change of about" in flat.readout


def test_mde_in_the_readout_is_the_planners() -> None:
    from smbgrowth.models.experiments import minimum_detectable_effect

    flat = analyze_data(counts_data({"old": (1000, 20000), "new": (1004, 20000)}))
    c = flat.metrics[0].comparisons[0]
    plan = minimum_detectable_effect(0.05, 20000)
    # The readout uses the observed variances; the planner the rates under each hypothesis.
    assert c.mde_relative == pytest.approx(plan.mde_relative, rel=0.03)


def test_json_form_has_the_documented_keys() -> None:
    d = analyze_data(_three_variants()).to_dict()
    assert {"metrics", "srm_p_value", "readout"} <= set(d)
    m = d["metrics"][0]
    assert {"metric", "variants", "comparisons"} <= set(m)
    assert {"variant", "units", "mean"} <= set(m["variants"][0])
    assert {"variant", "control", "abs_lift", "rel_lift", "ci", "p_value", "chance_to_win"} <= set(
        m["comparisons"][0]
    )
    assert isinstance(m["comparisons"][0]["ci"], list)


def test_bad_options_are_one_clear_error() -> None:
    data = counts_data({"A": (49, 100), "B": (51, 100)})
    with pytest.raises(ModelError, match="unknown method 'magic'; choose one of"):
        analyze_data(data, method="magic")
    with pytest.raises(ModelError, match="unknown correction"):
        analyze_data(data, correction="bonf")
    with pytest.raises(ModelError, match="not possible"):
        counts_data({"A": (120, 100), "B": (51, 100)})
    with pytest.raises(ModelError, match="2 positive shares"):
        analyze_data(data, expected_split=[1.0])
