"""Sufficient statistics of an experiment metric, and the per-variant estimates built on them.

An experiment never needs its unit-level rows once these sums are known: for
each metric and variant the analysis keeps the number of units and the sums
of the outcome, its square and — for ratio metrics and variance reduction —
of a second column and the cross products. Sums add across data chunks, so
10 million units are summarised by one pass of SQL.

Conventions (the same as GrowthBook's stats engine, so results can be
compared):

* binomial metrics use the population variance p (1 − p);
* other metrics use the sample variance with n − 1;
* a ratio metric ΣM / ΣD (revenue per order, clicks per session) has the
  delta-method variance of a ratio of means (Deng et al. 2018);
* CUPED (Deng, Xu, Kohavi & Walker 2013) replaces the outcome Y by
  Y − θ (X − X̄) with θ = cov(X, Y) / var(X) pooled over all variants, which
  leaves the difference between variants unbiased and removes the share of
  its variance that the pre-period covariate X explains.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

__all__ = [
    "MetricKind",
    "MetricStats",
    "VariantEstimate",
    "cuped_theta",
    "estimate",
]

MetricKind = Literal["binomial", "count", "continuous", "ratio"]


@dataclass(frozen=True)
class MetricStats:
    """Sums over the units of one variant for one metric.

    ``total`` and ``total_sq`` are Σy and Σy² of the outcome (the numerator
    of a ratio metric). ``den_total``, ``den_total_sq`` and ``cross`` are ΣD,
    ΣD² and ΣYD of a ratio metric's denominator. ``cov_total``,
    ``cov_total_sq`` and ``cov_cross`` are ΣX, ΣX² and ΣXY of the pre-period
    covariate, when there is one.
    """

    kind: MetricKind
    n: int
    total: float
    total_sq: float
    den_total: float = 0.0
    den_total_sq: float = 0.0
    cross: float = 0.0
    cov_total: float | None = None
    cov_total_sq: float = 0.0
    cov_cross: float = 0.0

    @property
    def has_covariate(self) -> bool:
        return self.cov_total is not None

    @property
    def mean(self) -> float:
        """Mean outcome per unit, or ΣM / ΣD for a ratio metric (0 when undefined)."""
        if self.kind == "ratio":
            return self.total / self.den_total if self.den_total else 0.0
        return self.total / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        """Per-unit variance of the outcome: var(mean) × n."""
        if self.kind == "binomial":
            p = self.mean
            return p * (1.0 - p)
        if self.n <= 1:
            return 0.0
        if self.kind == "ratio":
            return _ratio_variance(self)
        return _sample_var(self.n, self.total, self.total_sq)

    def merge(self, other: MetricStats) -> MetricStats:
        """Return the statistics of both groups of units together."""
        if other.kind != self.kind:
            raise ValueError("cannot merge statistics of different metric kinds")
        cov_total = (
            (self.cov_total or 0.0) + (other.cov_total or 0.0)
            if self.has_covariate and other.has_covariate
            else None
        )
        return MetricStats(
            kind=self.kind,
            n=self.n + other.n,
            total=self.total + other.total,
            total_sq=self.total_sq + other.total_sq,
            den_total=self.den_total + other.den_total,
            den_total_sq=self.den_total_sq + other.den_total_sq,
            cross=self.cross + other.cross,
            cov_total=cov_total,
            cov_total_sq=self.cov_total_sq + other.cov_total_sq,
            cov_cross=self.cov_cross + other.cov_cross,
        )

    def without_covariate(self) -> MetricStats:
        return replace(self, cov_total=None, cov_total_sq=0.0, cov_cross=0.0)


def _sample_var(n: int, total: float, total_sq: float) -> float:
    if n <= 1:
        return 0.0
    return max((total_sq - total * total / n) / (n - 1), 0.0)


def _sample_cov(n: int, total_x: float, total_y: float, cross: float) -> float:
    if n <= 1:
        return 0.0
    return (cross - total_x * total_y / n) / (n - 1)


def _ratio_variance(s: MetricStats) -> float:
    mean_m = s.total / s.n
    mean_d = s.den_total / s.n
    if mean_d == 0:
        return 0.0
    var_m = _sample_var(s.n, s.total, s.total_sq)
    var_d = _sample_var(s.n, s.den_total, s.den_total_sq)
    cov_md = _sample_cov(s.n, s.total, s.den_total, s.cross)
    value = var_m / mean_d**2 - 2.0 * cov_md * mean_m / mean_d**3 + mean_m**2 * var_d / mean_d**4
    return max(value, 0.0)


def cuped_theta(stats: Sequence[MetricStats]) -> float:
    """Return θ = cov(X, Y) / var(X) over the units of all variants together.

    Pooling over variants keeps θ independent of the treatment, so the
    adjusted difference stays unbiased. Returns 0 when there is no covariate
    or it does not vary.
    """
    if not stats or not all(s.has_covariate for s in stats):
        return 0.0
    n = sum(s.n for s in stats)
    total_y = sum(s.total for s in stats)
    total_x = sum(s.cov_total or 0.0 for s in stats)
    var_x = _sample_var(n, total_x, sum(s.cov_total_sq for s in stats))
    var_y = _sample_var(n, total_y, sum(s.total_sq for s in stats))
    if var_x <= 0 or var_y <= 0:
        return 0.0
    return _sample_cov(n, total_x, total_y, sum(s.cov_cross for s in stats)) / var_x


@dataclass(frozen=True)
class VariantEstimate:
    """What the comparison of one variant needs: its mean, per-unit variance and size.

    ``mean`` is the (CUPED-adjusted) estimate used for differences;
    ``raw_mean`` is the plain mean shown to people and used as the base of
    relative lifts; ``raw_variance`` is the unadjusted per-unit variance, so
    the variance reduction can be reported.
    """

    n: int
    mean: float
    variance: float
    raw_mean: float
    raw_variance: float
    kind: MetricKind

    @property
    def standard_error(self) -> float:
        return math.sqrt(self.variance / self.n) if self.n else math.inf


def estimate(
    stats: MetricStats, theta: float = 0.0, pooled_cov_mean: float = 0.0
) -> VariantEstimate:
    """Return the estimate of one variant, CUPED-adjusted when ``theta`` is not 0.

    The adjusted mean is ȳ − θ (x̄ − x̄_all) with ``pooled_cov_mean`` = x̄_all,
    and its per-unit variance is var(Y) + θ² var(X) − 2θ cov(X, Y).
    """
    raw_mean = stats.mean
    raw_var = stats.variance
    if theta == 0.0 or not stats.has_covariate or stats.kind == "ratio" or stats.n <= 1:
        return VariantEstimate(stats.n, raw_mean, raw_var, raw_mean, raw_var, stats.kind)
    cov_total = stats.cov_total or 0.0
    cov_mean = cov_total / stats.n
    var_x = _sample_var(stats.n, cov_total, stats.cov_total_sq)
    cov_xy = _sample_cov(stats.n, cov_total, stats.total, stats.cov_cross)
    adjusted_var = max(raw_var + theta * theta * var_x - 2.0 * theta * cov_xy, 0.0)
    adjusted_mean = raw_mean - theta * (cov_mean - pooled_cov_mean)
    return VariantEstimate(stats.n, adjusted_mean, adjusted_var, raw_mean, raw_var, stats.kind)
