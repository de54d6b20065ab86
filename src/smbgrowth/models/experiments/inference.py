"""The three ways of comparing a variant with control, on the same estimates.

* **Frequentist** — the lift with a confidence interval and a two-sided
  p-value: the two-proportion z-test for binomial metrics (pooled standard
  error for the p-value, as statsmodels' ``proportions_ztest``) and Welch's
  t-test with Welch–Satterthwaite degrees of freedom for the others
  (scipy's ``ttest_ind_from_stats``). The relative lift (B − A) / A has the
  delta-method variance var_B / (A² n_B) + var_A B² / (A⁴ n_A).
* **Bayesian** — a Gaussian posterior on the lift: the data's estimate and
  standard error under a flat prior (the default, as GrowthBook's engine),
  or combined with a proper Gaussian prior on the relative lift. From it:
  the chance the variant is better, the credible interval and the expected
  loss of each choice, E[max(0, −lift)] for shipping and E[max(0, lift)] for
  keeping control.
* **Sequential** — an always-valid confidence sequence (Waudby-Smith,
  Arnold, Wu, Wang & Ramdas, *Time-uniform central limit theory and
  asymptotic confidence sequences*, 2021, the normal-mixture boundary of
  their eq. 9 with the tuning of eq. 161) and its always-valid p-value: one
  may look every day and stop at the first significant look while keeping the
  false-positive rate at most α.

Also the sample-ratio-mismatch check and the multiple-testing corrections.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from smbgrowth.models.experiments.stats import VariantEstimate

__all__ = [
    "Lift",
    "Posterior",
    "adjust_p_values",
    "bayesian_posterior",
    "confidence_sequence_halfwidth",
    "frequentist_p_value",
    "lift",
    "sample_ratio_p_value",
    "sequential_p_value",
    "sequential_rho",
]

DEFAULT_SEQUENTIAL_TUNING = 5000


@dataclass(frozen=True)
class Lift:
    """A difference between a variant and control: point estimate, variance and its law.

    ``dof`` is None for the normal law (binomial metrics), else the Welch
    degrees of freedom of a t law.
    """

    estimate: float
    variance: float
    dof: float | None

    @property
    def standard_error(self) -> float:
        return math.sqrt(self.variance)

    def quantile(self, q: float) -> float:
        if self.dof is None:
            return float(sps.norm.ppf(q))
        return float(sps.t.ppf(q, self.dof))

    def interval(self, alpha: float) -> tuple[float, float]:
        """Return the two-sided 1 − α confidence interval."""
        width = self.quantile(1.0 - alpha / 2.0) * self.standard_error
        return (self.estimate - width, self.estimate + width)


def _welch_dof(a: VariantEstimate, b: VariantEstimate) -> float:
    va = a.variance / a.n
    vb = b.variance / b.n
    denominator = va * va / max(a.n - 1, 1) + vb * vb / max(b.n - 1, 1)
    if denominator <= 0:
        return math.inf
    return (va + vb) ** 2 / denominator


def lift(control: VariantEstimate, variant: VariantEstimate, *, relative: bool) -> Lift:
    """Return the absolute (B − A) or relative ((B − A) / A) lift of ``variant`` over control.

    The relative lift divides by control's raw mean, so CUPED changes its
    precision, not its meaning. Its variance is undefined when control's mean is 0
    (returned as infinite).
    """
    a, b = control, variant
    dof = None if a.kind == "binomial" and a.mean == a.raw_mean else _welch_dof(a, b)
    diff = b.mean - a.mean
    if not relative:
        return Lift(diff, a.variance / a.n + b.variance / b.n, dof)
    base = a.raw_mean
    if base == 0:
        return Lift(math.nan, math.inf, dof)
    variance = b.variance / (base**2 * b.n) + a.variance * b.raw_mean**2 / (base**4 * a.n)
    return Lift(diff / base, variance, dof)


def frequentist_p_value(control: VariantEstimate, variant: VariantEstimate) -> float:
    """Return the two-sided p-value of "no difference between the variant and control"."""
    a, b = control, variant
    if a.kind == "binomial" and a.mean == a.raw_mean and b.mean == b.raw_mean:
        # Pooled two-proportion z-test (statsmodels' proportions_ztest, from counts).
        pooled = (a.mean * a.n + b.mean * b.n) / (a.n + b.n)
        se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / a.n + 1.0 / b.n))
        if se == 0:
            return 1.0
        return float(2.0 * sps.norm.sf(abs(b.mean - a.mean) / se))
    if a.variance == 0 and b.variance == 0:
        return 1.0 if a.mean == b.mean else 0.0
    result = sps.ttest_ind_from_stats(
        b.mean,
        math.sqrt(b.variance),
        b.n,
        a.mean,
        math.sqrt(a.variance),
        a.n,
        equal_var=False,
    )
    return float(result.pvalue)


@dataclass(frozen=True)
class Posterior:
    """A Gaussian posterior on a lift, and what a decision-maker reads from it."""

    mean: float
    sd: float

    def chance_above_zero(self) -> float:
        if self.sd == 0:
            return 1.0 if self.mean > 0 else 0.0 if self.mean < 0 else 0.5
        return float(sps.norm.sf(0.0, self.mean, self.sd))

    def interval(self, alpha: float) -> tuple[float, float]:
        lo, hi = sps.norm.ppf([alpha / 2.0, 1.0 - alpha / 2.0], self.mean, self.sd)
        return (float(lo), float(hi))

    def expected_positive_part(self) -> float:
        """Return E[max(0, lift)]."""
        if self.sd == 0:
            return max(self.mean, 0.0)
        z = self.mean / self.sd
        return float(self.mean * sps.norm.cdf(z) + self.sd * sps.norm.pdf(z))

    def expected_negative_part(self) -> float:
        """Return E[max(0, −lift)]."""
        return Posterior(-self.mean, self.sd).expected_positive_part()


def bayesian_posterior(
    data: Lift, prior_mean: float = 0.0, prior_sd: float | None = None
) -> Posterior:
    """Combine the data's lift estimate with a Gaussian prior (flat when ``prior_sd`` is None)."""
    if prior_sd is None:
        return Posterior(data.estimate, data.standard_error)
    precision = 1.0 / data.variance + 1.0 / prior_sd**2
    mean = (data.estimate / data.variance + prior_mean / prior_sd**2) / precision
    return Posterior(mean, math.sqrt(1.0 / precision))


def sequential_rho(alpha: float, tuning: float = DEFAULT_SEQUENTIAL_TUNING) -> float:
    """Return the mixture parameter ρ that makes the sequence tightest near ``tuning`` units."""
    log_term = -2.0 * math.log(alpha)
    return math.sqrt((log_term + math.log(log_term + 1.0)) / tuning)


def confidence_sequence_halfwidth(
    data: Lift, units: int, alpha: float, tuning: float = DEFAULT_SEQUENTIAL_TUNING
) -> float:
    """Return the half-width of the asymptotic confidence sequence after ``units`` units.

    With σ² = var(lift) × N the per-unit variance, the boundary is
    σ √( 2 (N ρ² + 1) / (N² ρ²) · log(√(N ρ² + 1) / α) ).
    """
    rho2 = sequential_rho(alpha, tuning) ** 2
    n = float(units)
    sigma = math.sqrt(data.variance * n)
    term = 2.0 * (n * rho2 + 1.0) / (n * n * rho2) * math.log(math.sqrt(n * rho2 + 1.0) / alpha)
    return sigma * math.sqrt(term)


def sequential_p_value(
    data: Lift, units: int, alpha: float, tuning: float = DEFAULT_SEQUENTIAL_TUNING
) -> float:
    """Return the always-valid p-value: 1 / the normal-mixture e-value, capped at 1.

    It is below α exactly when the confidence sequence excludes zero.
    """
    if not math.isfinite(data.variance) or data.variance <= 0:
        return 1.0
    rho2 = sequential_rho(alpha, tuning) ** 2
    n = float(units)
    z2 = data.estimate**2 * n / data.variance
    growth = n * rho2 + 1.0
    log_e = rho2 * z2 / (2.0 * growth) - 0.5 * math.log(growth)
    return float(min(1.0, math.exp(-log_e)))


def sample_ratio_p_value(units: Sequence[int], weights: Sequence[float] | None = None) -> float:
    """Return the chi-square goodness-of-fit p-value of the units per variant.

    ``weights`` is the intended split (equal when None). A tiny p-value means
    the assignment did not work as designed (a sample-ratio mismatch).
    """
    observed = np.asarray(units, dtype=np.float64)
    total = observed.sum()
    if len(observed) < 2 or total == 0:
        return 1.0
    w = np.ones(len(observed)) if weights is None else np.asarray(weights, dtype=np.float64)
    expected = total * w / w.sum()
    return float(sps.chisquare(observed, expected).pvalue)


def adjust_p_values(p_values: Sequence[float], method: str) -> list[float]:
    """Return the p-values adjusted for multiple comparisons.

    ``method`` is ``holm`` (Holm–Bonferroni, family-wise error), ``bh``
    (Benjamini–Hochberg, false discovery rate) or ``none``.
    """
    from statsmodels.stats.multitest import multipletests

    values = list(p_values)
    if method == "none" or len(values) <= 1:
        return values
    name = {"holm": "holm", "bh": "fdr_bh"}[method]
    return [float(p) for p in multipletests(values, method=name)[1]]
