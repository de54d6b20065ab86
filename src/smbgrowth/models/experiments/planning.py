"""Planning a test: how many units and days it needs, or what it can detect.

For a conversion rate the sizes are those of the two-sided two-proportion
z-test that the analysis runs (pooled standard error under "no difference",
unpooled under the effect — Fleiss, Levin & Paik, *Statistical Methods for
Rates and Proportions*, 3rd ed., eq. 4.14 without continuity correction):

    n = ( z₁₋α/₂ √(2 p̄ q̄) + z₁₋β √(p₁q₁ + p₂q₂) )² / (p₂ − p₁)²   per variant.

For a mean (revenue, orders per customer) with standard deviation σ it is
the normal-approximation size 2 σ² (z₁₋α/₂ + z₁₋β)² / δ² (statsmodels'
``NormalIndPower``). With more than two variants every variant is compared
with control at α / (k − 1) (Bonferroni), which is what keeps the
family-wise error at α.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from scipy import optimize
from scipy import stats as sps

from smbgrowth.errors import ModelError

__all__ = ["MdePlan", "SamplePlan", "minimum_detectable_effect", "plan_sample_size", "power"]


@dataclass(frozen=True)
class SamplePlan:
    """The size of a test that detects ``mde_relative`` with the asked power."""

    baseline: float
    target: float
    mde_absolute: float
    mde_relative: float
    alpha: float
    power: float
    variants: int
    units_per_variant: int
    total_units: int
    daily_units: float | None
    days: int | None
    weeks: int | None
    sd: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class MdePlan:
    """The smallest true change a test of a given size detects with the asked power."""

    baseline: float
    units_per_variant: int
    alpha: float
    power: float
    variants: int
    mde_absolute: float
    mde_relative: float
    sd: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check(baseline: float, alpha: float, power_: float, variants: int, sd: float | None) -> None:
    if sd is None and not 0.0 < baseline < 1.0:
        raise ModelError(
            f"baseline {baseline} is not a rate between 0 and 1; for a mean (revenue, orders) "
            "also give its standard deviation (--sd)"
        )
    if sd is not None and sd <= 0:
        raise ModelError(f"standard deviation {sd} must be positive")
    if not 0.0 < alpha < 0.5:
        raise ModelError(f"alpha {alpha} must be between 0 and 0.5 (0.05 is usual)")
    if not 0.0 < power_ < 1.0:
        raise ModelError(f"power {power_} must be between 0 and 1 (0.8 is usual)")
    if variants < 2:
        raise ModelError(f"a test needs at least 2 variants (control included), got {variants}")


def _alpha_each(alpha: float, variants: int) -> float:
    return alpha / (variants - 1)


def power(
    baseline: float,
    delta: float,
    units_per_variant: float,
    *,
    alpha: float = 0.05,
    variants: int = 2,
    sd: float | None = None,
) -> float:
    """Return the chance that a true change of ``delta`` (absolute) is found significant."""
    a = _alpha_each(alpha, variants)
    z = float(sps.norm.ppf(1.0 - a / 2.0))
    n = float(units_per_variant)
    if sd is not None:
        se = sd * math.sqrt(2.0 / n)
        return float(sps.norm.cdf(abs(delta) / se - z) + sps.norm.cdf(-abs(delta) / se - z))
    p1, p2 = baseline, baseline + delta
    if not 0.0 < p2 < 1.0:
        return 1.0
    pbar = (p1 + p2) / 2.0
    se0 = math.sqrt(2.0 * pbar * (1.0 - pbar) / n)
    se1 = math.sqrt((p1 * (1.0 - p1) + p2 * (1.0 - p2)) / n)
    d = abs(delta)
    return float(sps.norm.cdf((d - z * se0) / se1) + sps.norm.cdf((-d - z * se0) / se1))


def _units_needed(
    baseline: float, delta: float, alpha: float, power_: float, sd: float | None
) -> float:
    z_a = float(sps.norm.ppf(1.0 - alpha / 2.0))
    z_b = float(sps.norm.ppf(power_))
    if sd is not None:
        from statsmodels.stats.power import NormalIndPower

        n = NormalIndPower().solve_power(
            effect_size=abs(delta) / sd, alpha=alpha, power=power_, ratio=1.0
        )
        return float(n)
    p1, p2 = baseline, baseline + delta
    pbar = (p1 + p2) / 2.0
    root = z_a * math.sqrt(2.0 * pbar * (1.0 - pbar)) + z_b * math.sqrt(
        p1 * (1.0 - p1) + p2 * (1.0 - p2)
    )
    return root * root / (delta * delta)


def plan_sample_size(
    baseline: float,
    mde: float,
    *,
    relative: bool = True,
    power: float = 0.8,
    alpha: float = 0.05,
    variants: int = 2,
    daily_units: float | None = None,
    sd: float | None = None,
) -> SamplePlan:
    """Return the units (and days) a test needs to detect a change of ``mde``.

    ``baseline`` is control's conversion rate, or its mean when ``sd`` (the
    per-unit standard deviation) is given. ``mde`` is relative (0.1 = +10 %)
    unless ``relative`` is False. ``daily_units`` (units entering the test per
    day, all variants together) turns the size into days, and weeks rounded
    up so that every weekday is covered equally.
    """
    _check(baseline, alpha, power, variants, sd)
    delta = mde * baseline if relative else mde
    if delta == 0 or not math.isfinite(delta):
        raise ModelError("the minimum detectable effect must be a non-zero change")
    if sd is None and not 0.0 < baseline + delta < 1.0:
        raise ModelError(
            f"a change of {delta:+.4g} takes the rate {baseline} outside 0–1; "
            "choose a smaller effect"
        )
    n = math.ceil(_units_needed(baseline, delta, _alpha_each(alpha, variants), power, sd))
    total = n * variants
    days = weeks = None
    if daily_units is not None:
        if daily_units <= 0:
            raise ModelError(f"daily units {daily_units} must be positive")
        days = math.ceil(total / daily_units)
        weeks = math.ceil(days / 7)
    return SamplePlan(
        baseline=baseline,
        target=baseline + delta,
        mde_absolute=delta,
        mde_relative=delta / baseline if baseline else math.inf,
        alpha=alpha,
        power=power,
        variants=variants,
        units_per_variant=n,
        total_units=total,
        daily_units=daily_units,
        days=days,
        weeks=weeks,
        sd=sd,
    )


def minimum_detectable_effect(
    baseline: float,
    units_per_variant: int,
    *,
    power: float = 0.8,
    alpha: float = 0.05,
    variants: int = 2,
    sd: float | None = None,
) -> MdePlan:
    """Return the smallest upward change ``units_per_variant`` units detect with ``power``."""
    _check(baseline, alpha, power, variants, sd)
    if units_per_variant < 2:
        raise ModelError(f"units per variant {units_per_variant} must be at least 2")
    upper = (1.0 - baseline) * (1.0 - 1e-9) if sd is None else 100.0 * sd
    if _power_at(baseline, upper, units_per_variant, alpha, variants, sd) < power:
        raise ModelError(
            f"{units_per_variant} units per variant cannot reach power {power} for any effect; "
            "collect more units"
        )
    delta = optimize.brentq(
        lambda d: _power_at(baseline, d, units_per_variant, alpha, variants, sd) - power,
        1e-12,
        upper,
        xtol=1e-12,
    )
    return MdePlan(
        baseline=baseline,
        units_per_variant=units_per_variant,
        alpha=alpha,
        power=power,
        variants=variants,
        mde_absolute=float(delta),
        mde_relative=float(delta) / baseline if baseline else math.inf,
        sd=sd,
    )


def _power_at(
    baseline: float, delta: float, n: int, alpha: float, variants: int, sd: float | None
) -> float:
    return power(baseline, delta, n, alpha=alpha, variants=variants, sd=sd)
