"""Analysing an experiment: every variant against control on every metric, and a verdict.

:func:`analyze_experiment` takes unit-level rows (a file or a DataFrame);
:func:`analyze_data` takes their sufficient statistics. Both return an
:class:`ExperimentResult` holding, per metric, each variant's size and mean
and each comparison's absolute and relative lift with its interval, p-value,
chance to win and expected loss, plus the sample-ratio check, the multiple
testing correction, guardrail states, a recommendation and a readout in
plain words.

Decisions, by ``method``:

* ``frequentist`` (default) and ``sequential``: a goal metric's variant is
  *better* or *worse* when its p-value — adjusted over all goal comparisons
  by Holm (default) or Benjamini–Hochberg — is below α. Intervals of goal
  metrics are widened to match: Bonferroni level α / m with Holm; the
  false-coverage-rate level α R / m (Benjamini & Yekutieli 2005, R the
  number of discoveries) with Benjamini–Hochberg.
* ``bayesian``: better when the chance to beat control reaches
  ``win_threshold`` (95 %), worse when it falls to 1 − ``win_threshold``.

A guardrail metric is not corrected (that would make it easier to pass): it
*fails* when the variant is significantly worse by the method's own rule and
warns when the chance that it is worse is at least 75 %.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import duckdb
import pandas as pd
from scipy import stats as sps

from smbgrowth.errors import ModelError
from smbgrowth.jsonsafe import json_safe
from smbgrowth.models.experiments import inference as inf
from smbgrowth.models.experiments.data import (
    ExperimentData,
    Metric,
    file_relation,
    frame_relation,
    summarise_units,
)
from smbgrowth.models.experiments.stats import (
    MetricKind,
    MetricStats,
    VariantEstimate,
    cuped_theta,
    estimate,
)

__all__ = [
    "CORRECTIONS",
    "METHODS",
    "Comparison",
    "ExperimentResult",
    "MetricResult",
    "VariantSummary",
    "analyze_data",
    "analyze_experiment",
    "counts_data",
]

Method = Literal["frequentist", "bayesian", "sequential"]
Correction = Literal["holm", "bh", "none"]
METHODS: tuple[str, ...] = ("frequentist", "bayesian", "sequential")
CORRECTIONS: tuple[str, ...] = ("holm", "bh", "none")
GUARDRAIL_WARNING = 0.75


@dataclass(frozen=True)
class VariantSummary:
    """One variant on one metric: units, mean (raw and CUPED-adjusted) and spread."""

    variant: str
    units: int
    mean: float
    adjusted_mean: float | None
    sd: float


@dataclass(frozen=True)
class Comparison:
    """One variant against control on one metric.

    ``ci`` is the interval of the absolute lift and ``rel_ci`` of the relative
    lift, both by the analysis method (confidence interval, credible interval
    or confidence sequence). ``p_value`` is the frequentist p-value (the
    always-valid one for the sequential method); ``p_value_adjusted`` is it
    after the multiple-testing correction (goal metrics only).
    ``chance_to_win`` is the posterior probability that the variant is better
    (lower for metrics where lower is better). ``expected_loss`` is the
    expected relative loss of shipping the variant if it is in fact worse;
    ``expected_loss_control`` that of keeping control.
    """

    metric: str
    variant: str
    control: str
    abs_lift: float
    rel_lift: float
    ci: tuple[float, float]
    rel_ci: tuple[float, float]
    p_value: float
    p_value_adjusted: float
    chance_to_win: float
    expected_loss: float
    expected_loss_control: float
    verdict: Literal["better", "worse", "inconclusive"]
    guardrail: Literal["ok", "warning", "failed"] | None
    variance_reduction: float | None
    mde_relative: float


@dataclass(frozen=True)
class MetricResult:
    """Every variant of one metric and its comparisons with control."""

    metric: str
    kind: MetricKind
    guardrail: bool
    higher_is_better: bool
    variants: list[VariantSummary]
    comparisons: list[Comparison]
    cuped_theta: float | None
    phrase: str | None = None


@dataclass
class ExperimentResult:
    """The whole analysis; ``to_dict`` is the documented JSON form."""

    method: str
    alpha: float
    correction: str
    control: str
    variants: list[str]
    units: dict[str, int]
    expected_split: list[float]
    srm_p_value: float
    srm_detected: bool
    metrics: list[MetricResult]
    excluded_units: int
    notes: list[str]
    recommendation: str
    readout: str = ""
    unit_noun: str = "units"
    goal: str = ""
    winner: str | None = None
    caution: list[str] = field(default_factory=list)

    def metric(self, name: str) -> MetricResult:
        for m in self.metrics:
            if m.metric == name:
                return m
        raise KeyError(name)

    def comparison(self, metric: str, variant: str) -> Comparison:
        for c in self.metric(metric).comparisons:
            if c.variant == variant:
                return c
        raise KeyError(variant)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for m in out["metrics"]:
            for c in m["comparisons"]:
                c["ci"] = list(c["ci"])
                c["rel_ci"] = list(c["rel_ci"])
        cleaned: dict[str, Any] = json_safe(out)
        return cleaned

    def table(self) -> pd.DataFrame:
        """Return one row per metric and variant: size, mean and (for non-control) the lift."""
        rows = []
        for m in self.metrics:
            comps = {c.variant: c for c in m.comparisons}
            for v in m.variants:
                c = comps.get(v.variant)
                rows.append(
                    {
                        "metric": m.metric,
                        "role": "guardrail" if m.guardrail else "goal",
                        "variant": v.variant,
                        "units": v.units,
                        "mean": v.mean,
                        "abs_lift": c.abs_lift if c else None,
                        "ci_low": c.ci[0] if c else None,
                        "ci_high": c.ci[1] if c else None,
                        "rel_lift": c.rel_lift if c else None,
                        "rel_ci_low": c.rel_ci[0] if c else None,
                        "rel_ci_high": c.rel_ci[1] if c else None,
                        "p_value": c.p_value if c else None,
                        "p_value_adjusted": c.p_value_adjusted if c else None,
                        "chance_to_win": c.chance_to_win if c else None,
                        "verdict": (c.guardrail or c.verdict) if c else "control",
                    }
                )
        return pd.DataFrame(rows)


def _check_options(method: str, correction: str, alpha: float, win_threshold: float) -> None:
    if method not in METHODS:
        raise ModelError(f"unknown method {method!r}; choose one of: {', '.join(METHODS)}")
    if correction not in CORRECTIONS:
        raise ModelError(
            f"unknown correction {correction!r}; choose one of: {', '.join(CORRECTIONS)}"
        )
    if not 0.0 < alpha < 0.5:
        raise ModelError(f"alpha {alpha} must be between 0 and 0.5 (0.05 is usual)")
    if not 0.5 < win_threshold < 1.0:
        raise ModelError(f"win threshold {win_threshold} must be between 0.5 and 1")


@dataclass
class _Raw:
    """A comparison before the correction decides its intervals and verdict."""

    metric: Metric
    control: VariantEstimate
    variant: VariantEstimate
    name: str
    abs_: inf.Lift
    rel: inf.Lift
    p: float
    posterior_rel: inf.Posterior
    posterior_abs: inf.Posterior
    reduction: float | None


def analyze_data(
    data: ExperimentData,
    *,
    method: str = "frequentist",
    alpha: float = 0.05,
    correction: str = "holm",
    prior_sd: float | None = None,
    sequential_tuning: float = inf.DEFAULT_SEQUENTIAL_TUNING,
    expected_split: Sequence[float] | None = None,
    srm_threshold: float = 0.01,
    win_threshold: float = 0.95,
    unit_noun: str = "units",
) -> ExperimentResult:
    """Compare every variant with control (``data.variants[0]``) on every metric.

    ``prior_sd`` puts a Gaussian prior with mean 0 on the relative lift (the
    Bayesian chance to win and credible interval shrink towards no effect);
    None is a flat prior. ``sequential_tuning`` is the number of units where
    the confidence sequence is tightest (the expected final size). ``expected_split``
    is the intended share of units per variant, in ``data.variants`` order
    (equal when None).
    """
    _check_options(method, correction, alpha, win_threshold)
    control = data.variants[0]
    units = [data.units[v] for v in data.variants]
    split = _split(expected_split, len(data.variants))
    srm_p = inf.sample_ratio_p_value(units, split)

    raws: list[_Raw] = []
    thetas: dict[str, float | None] = {}
    summaries: dict[str, list[VariantSummary]] = {}
    for m in data.metrics:
        per_variant = data.stats[m.label]
        theta = cuped_theta(list(per_variant.values())) if m.kind != "ratio" else 0.0
        has_cov = theta != 0.0
        thetas[m.label] = theta if has_cov else None
        pooled_x = _pooled_cov_mean(per_variant.values()) if has_cov else 0.0
        ests = {v: estimate(s, theta, pooled_x) for v, s in per_variant.items()}
        summaries[m.label] = [
            VariantSummary(
                variant=v,
                units=e.n,
                mean=e.raw_mean,
                adjusted_mean=e.mean if has_cov else None,
                sd=math.sqrt(e.raw_variance),
            )
            for v, e in ests.items()
        ]
        a = ests[control]
        if a.n < 2:
            raise ModelError(f"control {control!r} has fewer than 2 units on {m.label}")
        for v in data.variants[1:]:
            b = ests[v]
            if b.n < 2:
                raise ModelError(f"variant {v!r} has fewer than 2 units on {m.label}")
            abs_ = inf.lift(a, b, relative=False)
            rel = inf.lift(a, b, relative=True)
            if method == "sequential":
                p = inf.sequential_p_value(abs_, a.n + b.n, alpha, sequential_tuning)
            else:
                p = inf.frequentist_p_value(a, b)
            prior_abs = None if prior_sd is None else prior_sd * abs(a.raw_mean)
            raws.append(
                _Raw(
                    metric=m,
                    control=a,
                    variant=b,
                    name=v,
                    abs_=abs_,
                    rel=rel,
                    p=p,
                    posterior_rel=inf.bayesian_posterior(rel, 0.0, prior_sd)
                    if math.isfinite(rel.variance)
                    else inf.Posterior(0.0, math.inf),
                    posterior_abs=inf.bayesian_posterior(abs_, 0.0, prior_abs or None),
                    reduction=_reduction(a, b) if has_cov else None,
                )
            )

    goal_raws = [r for r in raws if not r.metric.guardrail]
    adjusted = dict(
        zip(
            [id(r) for r in goal_raws],
            inf.adjust_p_values([r.p for r in goal_raws], correction)
            if method != "bayesian"
            else [r.p for r in goal_raws],
            strict=True,
        )
    )
    m_tests = len(goal_raws)
    discoveries = sum(1 for r in goal_raws if adjusted[id(r)] < alpha)
    if method == "bayesian" or correction == "none" or m_tests <= 1:
        goal_alpha = alpha
    elif correction == "holm":
        goal_alpha = alpha / m_tests
    else:
        goal_alpha = alpha * max(discoveries, 1) / m_tests

    comparisons: dict[str, list[Comparison]] = {m.label: [] for m in data.metrics}
    for r in raws:
        guard = r.metric.guardrail
        level = alpha if guard else goal_alpha
        p_adj = r.p if guard else adjusted[id(r)]
        comparisons[r.metric.label].append(
            _comparison(r, method, level, alpha, p_adj, control, sequential_tuning, win_threshold)
        )

    metrics = [
        MetricResult(
            metric=m.label,
            kind=m.kind or "continuous",
            guardrail=m.guardrail,
            higher_is_better=m.higher_is_better,
            variants=summaries[m.label],
            comparisons=comparisons[m.label],
            cuped_theta=thetas[m.label],
            phrase=m.phrase,
        )
        for m in data.metrics
    ]
    result = ExperimentResult(
        method=method,
        alpha=alpha,
        correction=correction if method != "bayesian" else "none",
        control=control,
        variants=list(data.variants),
        units=dict(data.units),
        expected_split=list(split),
        srm_p_value=srm_p,
        srm_detected=srm_p < srm_threshold,
        metrics=metrics,
        excluded_units=data.excluded_units,
        notes=list(data.notes),
        recommendation="",
        unit_noun=unit_noun,
    )
    from smbgrowth.models.experiments.readout import decide, write_readout

    decide(result)
    result.readout = write_readout(result)
    if result.srm_detected:
        import warnings

        from smbgrowth.errors import SmbGrowthWarning

        warnings.warn(
            f"sample ratio mismatch (p = {srm_p:.2g}): the units per variant "
            f"({', '.join(f'{v} {n:,}' for v, n in result.units.items())}) do not match the "
            "intended split; check the assignment before trusting the result",
            SmbGrowthWarning,
            stacklevel=2,
        )
    return result


def _split(expected: Sequence[float] | None, k: int) -> list[float]:
    if expected is None:
        return [1.0 / k] * k
    values = [float(x) for x in expected]
    if len(values) != k or any(x <= 0 for x in values):
        raise ModelError(
            f"the intended split needs {k} positive shares (one per variant), got {values}"
        )
    total = sum(values)
    return [x / total for x in values]


def _pooled_cov_mean(stats: Any) -> float:
    items: list[MetricStats] = list(stats)
    n = sum(s.n for s in items)
    return sum(s.cov_total or 0.0 for s in items) / n if n else 0.0


def _reduction(a: VariantEstimate, b: VariantEstimate) -> float:
    raw = a.raw_variance / a.n + b.raw_variance / b.n
    adj = a.variance / a.n + b.variance / b.n
    return 1.0 - adj / raw if raw > 0 else 0.0


def _comparison(
    r: _Raw,
    method: str,
    level: float,
    alpha: float,
    p_adj: float,
    control: str,
    tuning: float,
    win_threshold: float,
) -> Comparison:
    up = r.metric.higher_is_better
    p_up = r.posterior_rel.chance_above_zero()
    if not math.isfinite(r.rel.variance):
        p_up = r.posterior_abs.chance_above_zero()
    chance = p_up if up else 1.0 - p_up
    post = r.posterior_rel if math.isfinite(r.rel.variance) else r.posterior_abs
    loss_ship = post.expected_negative_part() if up else post.expected_positive_part()
    loss_keep = post.expected_positive_part() if up else post.expected_negative_part()
    n_total = r.control.n + r.variant.n
    if method == "bayesian":
        ci = r.posterior_abs.interval(level)
        rel_ci = r.posterior_rel.interval(level)
        significant = chance >= win_threshold or chance <= 1.0 - win_threshold
    elif method == "sequential":
        w = inf.confidence_sequence_halfwidth(r.abs_, n_total, level, tuning)
        ci = (r.abs_.estimate - w, r.abs_.estimate + w)
        wr = (
            inf.confidence_sequence_halfwidth(r.rel, n_total, level, tuning)
            if math.isfinite(r.rel.variance)
            else math.inf
        )
        rel_ci = (r.rel.estimate - wr, r.rel.estimate + wr)
        significant = p_adj < alpha
    else:
        ci = r.abs_.interval(level)
        rel_ci = r.rel.interval(level) if math.isfinite(r.rel.variance) else (-math.inf, math.inf)
        significant = p_adj < alpha
    good_direction = (r.abs_.estimate > 0) == up
    verdict: Literal["better", "worse", "inconclusive"] = "inconclusive"
    if significant and r.abs_.estimate != 0:
        verdict = "better" if good_direction else "worse"
    guardrail: Literal["ok", "warning", "failed"] | None = None
    if r.metric.guardrail:
        if verdict == "worse":
            guardrail = "failed"
        elif 1.0 - chance >= GUARDRAIL_WARNING:
            guardrail = "warning"
        else:
            guardrail = "ok"
    z = float(sps.norm.ppf(1.0 - alpha / 2.0) + sps.norm.ppf(0.8))
    base = abs(r.control.raw_mean)
    mde_rel = z * r.abs_.standard_error / base if base else math.inf
    return Comparison(
        metric=r.metric.label,
        variant=r.name,
        control=control,
        abs_lift=r.abs_.estimate,
        rel_lift=r.rel.estimate,
        ci=(float(ci[0]), float(ci[1])),
        rel_ci=(float(rel_ci[0]), float(rel_ci[1])),
        p_value=r.p,
        p_value_adjusted=p_adj,
        chance_to_win=chance,
        expected_loss=loss_ship,
        expected_loss_control=loss_keep,
        verdict=verdict,
        guardrail=guardrail,
        variance_reduction=r.reduction,
        mde_relative=mde_rel,
    )


def _as_metrics(
    metrics: Sequence[Metric | str],
    guardrails: Sequence[Metric | str],
    lower_is_better: Sequence[str],
    covariate: str | None,
    cap: float | None,
) -> list[Metric]:
    out: list[Metric] = []
    lower = set(lower_is_better)
    for items, guard in ((metrics, False), (guardrails, True)):
        for item in items:
            m = item if isinstance(item, Metric) else Metric.parse(item)
            changes: dict[str, Any] = {}
            if guard:
                changes["guardrail"] = True
            if m.label in lower or m.column in lower:
                changes["higher_is_better"] = False
            if covariate and m.covariate is None and m.denominator is None:
                changes["covariate"] = covariate
            if cap is not None and m.cap is None and m.denominator is None:
                changes["cap"] = cap
            if changes:
                from dataclasses import replace

                m = replace(m, **changes)
            out.append(m)
    unknown = lower - {m.label for m in out} - {m.column for m in out}
    if unknown:
        raise ModelError(
            f"lower-is-better metric {sorted(unknown)[0]!r} is not among the metrics analysed"
        )
    goals = [m for m in out if not m.guardrail]
    if not goals:
        raise ModelError("give at least one goal metric (guardrails alone decide nothing)")
    return out


def analyze_experiment(
    data: pd.DataFrame | str | Path,
    *,
    unit: str,
    variant: str,
    metrics: Sequence[Metric | str],
    guardrails: Sequence[Metric | str] = (),
    control: str | None = None,
    covariate: str | None = None,
    lower_is_better: Sequence[str] = (),
    cap: float | None = None,
    method: str = "frequentist",
    alpha: float = 0.05,
    correction: str = "holm",
    prior_sd: float | None = None,
    sequential_tuning: float = inf.DEFAULT_SEQUENTIAL_TUNING,
    expected_split: Sequence[float] | Mapping[str, float] | None = None,
    srm_threshold: float = 0.01,
    win_threshold: float = 0.95,
    unit_noun: str = "units",
    threads: int | None = None,
) -> ExperimentResult:
    """Analyse an experiment from unit-level rows: a DataFrame or a CSV, Excel or Parquet file.

    Each row is a unit (or part of one: rows of a unit are added up) with its
    ``variant`` and outcome columns. ``metrics`` are the goals — the first is
    the one the recommendation is about — given as column names,
    ``numerator/denominator`` for ratio metrics, or :class:`Metric`.
    ``covariate`` is a pre-period column used for CUPED on every non-ratio
    metric. ``control`` defaults to a variant called control (or A, baseline,
    original…), else the first in alphabetical order.
    """
    _check_options(method, correction, alpha, win_threshold)
    specs = _as_metrics(metrics, guardrails, lower_is_better, covariate, cap)
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false").fetchall()
        if threads is not None:
            con.execute(f"SET threads = {int(threads)}").fetchall()
        if isinstance(data, pd.DataFrame):
            relation = frame_relation(con, data, "_exp_frame")
            source, row_col = "data", None
        else:
            path = Path(data)
            relation = file_relation(con, path, "_exp_file")
            source, row_col = path.name, "_row"
        summary = summarise_units(
            con,
            relation,
            unit=unit,
            variant=variant,
            metrics=specs,
            control=control,
            source=source,
            row_col=row_col,
        )
    finally:
        con.close()
    split = _named_split(expected_split, summary.variants)
    return analyze_data(
        summary,
        method=method,
        alpha=alpha,
        correction=correction,
        prior_sd=prior_sd,
        sequential_tuning=sequential_tuning,
        expected_split=split,
        srm_threshold=srm_threshold,
        win_threshold=win_threshold,
        unit_noun=unit_noun,
    )


def _named_split(
    split: Sequence[float] | Mapping[str, float] | None, variants: list[str]
) -> list[float] | None:
    if split is None or not isinstance(split, Mapping):
        return list(split) if split is not None else None
    missing = [v for v in variants if v not in split]
    if missing:
        raise ModelError(f"the intended split gives no share for variant {missing[0]!r}")
    return [float(split[v]) for v in variants]


def counts_data(
    counts: Mapping[str, tuple[int, int]],
    *,
    metric: str = "conversion",
    control: str | None = None,
) -> ExperimentData:
    """Build the statistics of a conversion metric from (conversions, units) per variant.

    For results read off a dashboard or an email tool: ``{"A": (49, 100), "B": (51, 100)}``.
    """
    stats: dict[str, MetricStats] = {}
    for name, (conversions, n) in counts.items():
        if n < 2 or not 0 <= conversions <= n:
            raise ModelError(
                f"variant {name!r}: {conversions} conversions out of {n} units is not possible"
            )
        stats[name] = MetricStats("binomial", int(n), float(conversions), float(conversions))
    names = list(counts)
    if control is not None and control not in counts:
        raise ModelError(f"control {control!r} is not among the variants: {', '.join(names)}")
    first = control if control is not None else names[0]
    order = [first, *[v for v in names if v != first]]
    return ExperimentData(
        variants=order,
        units={v: stats[v].n for v in order},
        stats={metric: {v: stats[v] for v in order}},
        metrics=[Metric(metric, kind="binomial")],
    )
