"""Pareto/NBD: how many purchases a customer will make, and whether they are still "alive".

Schmittlein, Morrison & Colombo (1987) model non-contractual customers: while
alive a customer buys as a Poisson process with rate λ ~ Gamma(r, α), and
stays alive for an exponential lifetime with rate μ ~ Gamma(s, β). The
likelihood and every prediction below follow Fader & Hardie, "A Note on
Deriving the Pareto/NBD Model and Related Expressions" (2005): §3 the
likelihood, §4 the mean E[X(t)], §5 P(alive), §6 the conditional expectation.

Numerical method
----------------
The likelihood (§3) is

    L = Γ(r+x) α^r β^s / Γ(r) · [ (α+T)^-(r+x) (β+T)^-s + s/(r+s+x) · A0 ],

and A0 is a difference of two Gaussian hypergeometric functions
2F1 with argument z = |α−β| / (max(α, β) + t) ∈ [0, 1) after the usual case
split α ≥ β / α < β (§3). Those functions overflow or lose all precision when z is
close to 1, the parameters are large (frequency in the hundreds) or
t_x ≈ T, which is where lifetimes and PyMC-Marketing return NaN or ±inf.

We never form 2F1. Writing ``a = r+s+x``, the same quantity is the integral

    A0 / (r+s+x) = I = ∫_{t_x}^{T} (α+τ)^-(r+x) (β+τ)^-(s+1) dτ,

which is Euler's integral representation of both 2F1 terms at once (no
subtraction, so no cancellation when t_x ≈ T). With γ = max(α, β) — the case
split of §3 — we substitute v = log((γ+τ)/(γ+t_x)), i.e. u = e^-v is the
Euler variable of the transformed argument z, and evaluate I by Gauss–Legendre
quadrature entirely in log space (log-sum-exp). The integrand in v is
log-convex and decreasing, steepest at v = 0, so the panels are graded
geometrically from the initial decay length 1/|φ'(0)| up to the end of the
interval: 16 nodes per panel, each panel twice as long as the one before.
This resolves the narrow spike that appears when α ≫ β or β ≫ α and the fast
decay when r+s+x is in the thousands, to ~1e-13 relative accuracy.

The gradient is analytic: every derivative of log L is a closed form in the
parameters plus derivatives of I, which are integrals of the integrand times
−log(α+τ), −(r+x)/(α+τ), −log(β+τ) or −(s+1)/(β+τ), evaluated on the same
quadrature nodes. It is therefore the exact gradient of the objective that
is minimised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import numpy as np
from scipy import special

from smbgrowth.errors import ModelError
from smbgrowth.models.clv.base import (
    CustomerValueModel,
    FitResult,
    FloatArray,
    compress,
    exploded,
    fit_mle,
    repeat_clause,
    rfm_arrays,
)

__all__ = ["ParetoNBDModel", "pareto_nbd_log_likelihood"]

_GL_X, _GL_W = np.polynomial.legendre.leggauss(16)
#: Rows evaluated together; bounds memory at ~rows × nodes floats.
_CHUNK = 2048
#: No more panels than this (2^120 × the first panel covers any finite interval).
_MAX_PANELS = 120


@dataclass(frozen=True)
class _Terms:
    """Per-customer pieces of the likelihood (§3), all on the log scale."""

    log_c: FloatArray  # log Γ(r+x) α^r β^s / Γ(r)
    log_e1: FloatArray  # log (α+T)^-(r+x) (β+T)^-s
    log_si: FloatArray  # log s·I  (= log s/(r+s+x) · A0); -inf when t_x = T
    grad: FloatArray | None  # d log L / d log(r, α, s, β), shape (n, 4)

    @property
    def log_bracket(self) -> FloatArray:
        return np.logaddexp(self.log_e1, self.log_si)

    @property
    def log_likelihood(self) -> FloatArray:
        return self.log_c + self.log_bracket


def _log_integral(
    r: float,
    alpha: float,
    s: float,
    beta: float,
    x: FloatArray,
    t_x: FloatArray,
    T: FloatArray,
    with_grad: bool,
) -> tuple[FloatArray, FloatArray | None]:
    """log I and d log I / d log(r, α, s, β) for one chunk of rows (see module docstring)."""
    n = len(x)
    p = r + x  # exponent of (α+τ)
    q = s + 1.0  # exponent of (β+τ)
    alpha_big = alpha >= beta
    gamma, delta = (alpha, beta) if alpha_big else (beta, alpha)
    e_gamma, e_delta = (p, np.full(n, q)) if alpha_big else (np.full(n, q), p)
    log_g0 = np.log(gamma + t_x)  # log(γ + t_x)
    log_eps = np.log(delta + t_x) - log_g0  # log(1 − z), z the 2F1 argument at t_x
    v_end = np.log1p((T - t_x) / (gamma + t_x))
    empty = v_end <= 0.0
    # Initial decay rate of the log-integrand in v: (e_γ − 1) + e_δ / (1 − z) > 0.
    slope0 = (e_gamma - 1.0) + e_delta * np.exp(-log_eps)
    h0 = np.where(empty, 1.0, np.minimum(v_end, 0.25 / slope0))
    with np.errstate(divide="ignore"):
        n_panels = 1 + np.ceil(np.log2(np.where(empty, 1.0, v_end / h0)))
    k_max = int(min(max(1.0, float(n_panels.max())), _MAX_PANELS))
    # Panel edges 0, h0, 2h0, 4h0, ... clipped at v_end (the last edge is v_end).
    edges = np.concatenate([np.zeros((n, 1)), h0[:, None] * 2.0 ** np.arange(k_max)], axis=1)
    edges = np.minimum(edges, v_end[:, None])
    edges[:, -1] = v_end
    lo, hi = edges[:, :-1], edges[:, 1:]
    half = (hi - lo) / 2.0
    v = ((lo + hi) / 2.0)[:, :, None] + half[:, :, None] * _GL_X  # (n, panels, 16)
    with np.errstate(divide="ignore"):
        log_w = np.log(half[:, :, None] * _GL_W)
        # log(1 − z e^-v), written as a sum of two non-negative terms (no cancellation).
        log_one_minus = np.logaddexp(log_eps[:, None, None] - v, np.log(-np.expm1(-v)))
    v = v.reshape(n, -1)
    log_w = log_w.reshape(n, -1)
    log_one_minus = log_one_minus.reshape(n, -1)
    log_gt = log_g0[:, None] + v  # log(γ + τ)
    log_dt = log_gt + log_one_minus  # log(δ + τ)
    la, lb = (log_gt, log_dt) if alpha_big else (log_dt, log_gt)
    # Integrand of I times dτ/dv = (γ + τ).
    terms = log_w - p[:, None] * la - q * lb + log_gt
    log_i = special.logsumexp(terms, axis=1)
    log_i = np.where(empty, -np.inf, log_i)
    if not with_grad:
        return log_i, None
    with np.errstate(invalid="ignore"):
        pi = np.exp(terms - log_i[:, None])
    pi = np.where(empty[:, None], 0.0, pi)
    grad = np.empty((n, 4))
    grad[:, 0] = -r * np.sum(pi * la, axis=1)
    grad[:, 1] = -p * np.sum(pi * np.exp(np.log(alpha) - la), axis=1)
    grad[:, 2] = -s * np.sum(pi * lb, axis=1)
    grad[:, 3] = -q * np.sum(pi * np.exp(np.log(beta) - lb), axis=1)
    return log_i, grad


def _terms(
    params: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray, *, with_grad: bool
) -> _Terms:
    """Evaluate the likelihood (§3) row by row, in chunks, with its gradient if asked."""
    r, alpha, s, beta = (float(v) for v in params)
    n = len(x)
    log_i = np.empty(n)
    grad_i = np.empty((n, 4)) if with_grad else None
    for start in range(0, n, _CHUNK):
        sl = slice(start, start + _CHUNK)
        li, gi = _log_integral(r, alpha, s, beta, x[sl], t_x[sl], T[sl], with_grad)
        log_i[sl] = li
        if grad_i is not None and gi is not None:
            grad_i[sl] = gi
    p = r + x
    log_a_t, log_b_t = np.log(alpha + T), np.log(beta + T)
    log_c = special.gammaln(p) - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    log_e1 = -p * log_a_t - s * log_b_t
    log_si = np.log(s) + log_i
    if grad_i is None:
        return _Terms(log_c, log_e1, log_si, None)
    log_bracket = np.logaddexp(log_e1, log_si)
    w_e1 = np.exp(log_e1 - log_bracket)  # = P(alive), §5 of the note
    w_si = np.exp(log_si - log_bracket)
    d_c = np.column_stack(
        [
            r * (special.digamma(p) - special.digamma(r) + np.log(alpha)),
            np.full(n, r),
            np.full(n, s * np.log(beta)),
            np.full(n, s),
        ]
    )
    d_e1 = np.column_stack(
        [-r * log_a_t, -p * alpha / (alpha + T), -s * log_b_t, -s * beta / (beta + T)]
    )
    d_si = grad_i.copy()
    d_si[:, 2] += 1.0  # d log s / d log s
    grad = d_c + w_e1[:, None] * d_e1 + w_si[:, None] * d_si
    return _Terms(log_c, log_e1, log_si, grad)


def pareto_nbd_log_likelihood(
    frequency: Any, recency: Any, T: Any, *, r: float, alpha: float, s: float, beta: float
) -> FloatArray:
    """Log-likelihood of each customer's (x, t_x, T) under Pareto/NBD (Fader & Hardie 2005, §3).

    Parameters
    ----------
    frequency, recency, T : array-like
        Repeat purchases x, age at the last purchase t_x and age at the end of
        calibration T (same time unit as the parameters).
    r, alpha, s, beta : float
        Purchase-rate Gamma(r, α) and dropout-rate Gamma(s, β) parameters (all > 0).

    Returns
    -------
    numpy.ndarray
        One finite log-likelihood per customer.

    Raises
    ------
    ModelError
        When the data or the parameters are invalid.
    """
    x, t_x, t = rfm_arrays(frequency, recency, T)
    params = _check_params(r, alpha, s, beta)
    return _terms(params, x, t_x, t, with_grad=False).log_likelihood


def _check_params(r: float, alpha: float, s: float, beta: float) -> FloatArray:
    params = np.array([r, alpha, s, beta], dtype=np.float64)
    if not (np.isfinite(params).all() and (params > 0).all()):
        raise ModelError("Pareto/NBD parameters r, alpha, s and beta must be positive numbers")
    return params


def _horizon(t: Any) -> FloatArray:
    horizon = np.asarray(t, dtype=np.float64)
    if not np.isfinite(horizon).all() or (horizon < 0).any():
        raise ModelError("the forecast horizon t must be a finite number ≥ 0")
    return horizon


def _power_gap(s: float, log_ratio: FloatArray) -> FloatArray:
    """(1 − e^{−(s−1)·log_ratio}) / (s − 1), with its limit log_ratio at s = 1."""
    k = s - 1.0
    if abs(k) < 1e-10:
        return log_ratio.copy()
    return np.asarray(-np.expm1(-k * log_ratio) / k, dtype=np.float64)


class ParetoNBDModel(CustomerValueModel):
    """Pareto/NBD model of repeat purchasing and dropout (Schmittlein, Morrison & Colombo 1987).

    Fitted by maximum likelihood on compressed (frequency, recency, T) rows with
    the likelihood of Fader & Hardie (2005, §3), evaluated in log space by
    Gauss–Legendre quadrature of Euler's integral for the 2F1 terms of A0 (see
    the module docstring), with its analytic gradient.

    Parameters
    ----------
    tol : float
        Relative tolerance of the optimiser on the log-likelihood.
    max_iter : int
        Maximum optimiser iterations.

    Attributes
    ----------
    params_ : dict
        ``{"r", "alpha", "s", "beta"}`` at the maximum of the likelihood.
    standard_errors_ : dict
        Standard errors from the observed information (delta method).
    log_likelihood_ : float
        Total log-likelihood at the optimum.

    References
    ----------
    Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). Counting your
    customers: who are they and what will they do next? Management Science 33(1).
    Fader, P. S. & Hardie, B. G. S. (2005). A note on deriving the Pareto/NBD
    model and related expressions. http://brucehardie.com/notes/009/
    """

    name = "pareto"
    param_names = ("r", "alpha", "s", "beta")

    def __init__(self, *, tol: float = 1e-10, max_iter: int = 2000) -> None:
        self.tol = tol
        self.max_iter = max_iter

    @classmethod
    def from_params(cls, *, r: float, alpha: float, s: float, beta: float) -> Self:
        """A model with given parameters (e.g. published ones), ready to predict.

        Standard errors are NaN and the log-likelihood is NaN: nothing was fitted.
        """
        params = _check_params(r, alpha, s, beta)
        model = cls()
        nan = float("nan")
        result = FitResult(
            params={n: float(v) for n, v in zip(cls.param_names, params, strict=True)},
            standard_errors=dict.fromkeys(cls.param_names, nan),
            log_likelihood=nan,
            converged=True,
            iterations=0,
            message="parameters given, not fitted",
        )
        model._store(result, 0)
        return model

    def fit(self, frequency: Any, recency: Any = None, T: Any = None) -> Self:
        """Estimate r, α, s, β by maximum likelihood (Fader & Hardie 2005, §3).

        Parameters
        ----------
        frequency : array-like or pandas.DataFrame
            Repeat purchases per customer, or a DataFrame with columns
            ``frequency``, ``recency`` and ``T``.
        recency : array-like, optional
            Age of each customer at their last purchase (0 without repeats).
        T : array-like, optional
            Age of each customer at the end of the calibration period.

        Returns
        -------
        ParetoNBDModel
            ``self``, fitted.

        Raises
        ------
        ModelError
            Invalid data, no repeat purchases at all, or a likelihood the
        optimiser cannot maximise.
        """
        x, t_x, t = rfm_arrays(frequency, recency, T)
        if not (x > 0).any():
            raise ModelError(
                "Pareto/NBD needs at least one customer with a repeat purchase; "
                "with none, the purchase rate cannot be estimated"
            )
        (cx, ct_x, ct), weights = compress(x, t_x, t)
        total = float(weights.sum())

        def objective(log_params: FloatArray) -> tuple[float, FloatArray]:
            terms = _terms(np.exp(log_params), cx, ct_x, ct, with_grad=True)
            assert terms.grad is not None
            value = -float(weights @ terms.log_likelihood)
            grad = -(weights @ terms.grad)
            return value, np.asarray(grad, dtype=np.float64)

        # Moment-style start: purchase rate ≈ repeats per unit of observed time.
        rate = max(float(weights @ cx) / float(weights @ ct), 1e-3)
        scale = float(weights @ ct) / total
        start = [1.0, 1.0 / rate, 1.0, scale]
        result = fit_mle(
            objective,
            start,
            self.param_names,
            what="Pareto/NBD",
            tol=self.tol,
            max_iter=self.max_iter,
        )
        repeats = repeat_clause(cx, weights)
        if exploded(result.params, ("s", "beta")):
            issue: str | None = f"the history cannot tell how fast customers drop out: {repeats}"
        elif exploded(result.params, ("r",)):
            issue = f"the history cannot tell how often customers buy again: {repeats}"
        else:
            issue = None
        self._store(result, int(total), shape_issue=issue)
        return self

    def _params(self) -> FloatArray:
        self._check_fitted()
        return np.array([self.params_[n] for n in self.param_names], dtype=np.float64)

    def probability_alive(self, frequency: Any, recency: Any = None, T: Any = None) -> FloatArray:
        """P(alive | x, t_x, T) for each customer (Fader & Hardie 2005, §5).

        Computed as (α+T)^-(r+x) (β+T)^-s divided by the bracket of the likelihood in
        log space, so it stays in [0, 1] for any input.

        Returns
        -------
        numpy.ndarray
            Probabilities in [0, 1].
        """
        params = self._params()
        x, t_x, t = rfm_arrays(frequency, recency, T)
        terms = _terms(params, x, t_x, t, with_grad=False)
        return np.asarray(np.exp(terms.log_e1 - terms.log_bracket), dtype=np.float64)

    def conditional_expected_purchases(
        self, t: Any, frequency: Any, recency: Any = None, T: Any = None
    ) -> FloatArray:
        """E[Y(t) | x, t_x, T]: expected purchases in the next ``t`` (Fader & Hardie 2005, §6).

        (r+x)(β+T) / ((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^(s−1)] · P(alive),
        with the s = 1 limit (r+x)(β+T)/(α+T) · log((β+T+t)/(β+T)).

        Parameters
        ----------
        t : float or array-like
            Forecast horizon (broadcast against the customers).
        frequency, recency, T : array-like or DataFrame
            Each customer's calibration summary.

        Returns
        -------
        numpy.ndarray
            Expected purchases, finite and ≥ 0.
        """
        r, alpha, s, beta = self._params()
        horizon = _horizon(t)
        x, t_x, t_cal = rfm_arrays(frequency, recency, T)
        alive = self.probability_alive(x, t_x, t_cal)
        log_ratio = np.log1p(horizon / (beta + t_cal))
        gap = _power_gap(float(s), np.asarray(log_ratio, dtype=np.float64))
        return np.asarray((r + x) * (beta + t_cal) / (alpha + t_cal) * gap * alive)

    def expected_purchases(self, t: Any) -> FloatArray:
        """E[X(t)] for a new customer over a period of length ``t`` (Fader & Hardie 2005, §4).

        r β / (α (s−1)) · [1 − (β/(β+t))^(s−1)], with the s = 1 limit
        (r β / α) · log(1 + t/β).

        Returns
        -------
        numpy.ndarray
            Expected purchases, one per horizon.
        """
        r, alpha, s, beta = self._params()
        horizon = _horizon(t)
        gap = _power_gap(float(s), np.asarray(np.log1p(horizon / beta), dtype=np.float64))
        return np.asarray(r * beta / alpha * gap, dtype=np.float64)
