"""BG/BB: repeat transactions when customers have discrete opportunities to buy.

The beta-geometric/beta-binomial story (Fader, Hardie & Shang 2010): at each of
``n`` discrete opportunities (an annual fundraising drive, a yearly event, a
weekly newsletter) an active customer buys with probability ``p ~ Beta(α, β)``;
before each opportunity after the first, an active customer becomes inactive
for ever with probability ``θ ~ Beta(γ, δ)``. A customer is summarised by
``x`` (transactions in opportunities 1…n), ``t_x`` (the last opportunity with
one, 0 if none) and ``n``.

References
----------
.. [1] Fader, P. S., Hardie, B. G. S. and Shang, J. (2010). Customer-Base
   Analysis in a Discrete-Time Noncontractual Setting. *Marketing Science*
   29(6), 1086–1108.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from smbgrowth.errors import ModelError
from smbgrowth.models.clv.base import (
    CustomerValueModel,
    FloatArray,
    compress,
    exploded,
    fit_mle,
    repeat_clause,
)

__all__ = ["BetaGeoBetaBinomModel"]


def _bgbb_arrays(
    frequency: Any, recency: Any, n_periods: Any
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Validate (x, t_x, n): whole numbers with 0 ≤ x ≤ t_x ≤ n, t_x = 0 iff x = 0."""
    x = np.atleast_1d(np.asarray(frequency, dtype=np.float64))
    t_x = np.atleast_1d(np.asarray(recency, dtype=np.float64))
    n = np.atleast_1d(np.asarray(n_periods, dtype=np.float64))
    try:
        x, t_x, n = np.broadcast_arrays(x, t_x, n)
    except ValueError as exc:
        raise ModelError("frequency, recency and n_periods must have the same length") from exc
    if x.ndim != 1 or len(x) == 0:
        raise ModelError("frequency, recency and n_periods must be non-empty 1-D arrays")
    for name, arr in (("frequency", x), ("recency", t_x), ("n_periods", n)):
        if not np.isfinite(arr).all() or (arr < 0).any() or (np.floor(arr) != arr).any():
            raise ModelError(f"{name} must hold whole numbers ≥ 0")
    if (n < 1).any():
        raise ModelError("n_periods must be at least 1 transaction opportunity")
    if (x > t_x).any() or (t_x > n).any():
        raise ModelError("every customer needs frequency ≤ recency ≤ n_periods")
    if ((x == 0) != (t_x == 0)).any():
        raise ModelError("recency must be 0 exactly for customers without transactions")
    return x.astype(np.float64), t_x.astype(np.float64), n.astype(np.float64)


def _lbeta_grads(a: FloatArray, b: FloatArray) -> tuple[FloatArray, FloatArray]:
    """∂ ln B(a, b)/∂a = ψ(a) − ψ(a+b) and ∂/∂b = ψ(b) − ψ(a+b)."""
    dab = special.digamma(a + b)
    return special.digamma(a) - dab, special.digamma(b) - dab


def _log_terms(
    params: FloatArray, x: FloatArray, t_x: FloatArray, n: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Log of each term of the likelihood (eq. 5 of [1]) and its gradient in (α, β, γ, δ).

    Column 0 is the "alive through n" term
    ``B(α+x, β+n−x)/B(α, β) · B(γ, δ+n)/B(γ, δ)``; column 1 + i, for
    ``i = 0 … n−t_x−1``, the "died after opportunity t_x+i" term
    ``B(α+x, β+t_x−x+i)/B(α, β) · B(γ+1, δ+t_x+i)/B(γ, δ)``. Unused columns
    are −inf. Shapes: (rows, 1 + max(n − t_x)) and (4, rows, columns).
    """
    alpha, beta, gamma, delta = params
    width = int(np.max(n - t_x)) + 1
    i = np.arange(width - 1, dtype=np.float64)[None, :]
    xc, txc, nc = x[:, None], t_x[:, None], n[:, None]
    used = i < (nc - txc)
    # Argument pairs of the two Beta functions in each term.
    a1 = np.broadcast_to(alpha + xc, (len(x), width))
    b1 = np.concatenate([beta + nc - xc, beta + txc - xc + i], axis=1)
    a2 = np.concatenate([np.full_like(xc, gamma), np.full_like(i + xc, gamma + 1.0)], axis=1)
    b2 = np.concatenate([delta + nc, delta + txc + i], axis=1)
    mask = np.concatenate([np.ones_like(xc, dtype=bool), used], axis=1)
    b1s = np.where(mask, b1, 1.0)
    b2s = np.where(mask, b2, 1.0)
    log_t = (
        special.betaln(a1, b1s)
        - special.betaln(alpha, beta)
        + special.betaln(a2, b2s)
        - special.betaln(gamma, delta)
    )
    log_t = np.where(mask, log_t, -np.inf)
    d1a, d1b = _lbeta_grads(a1, b1s)
    d2a, d2b = _lbeta_grads(a2, b2s)
    d0a, d0b = _lbeta_grads(np.asarray(alpha), np.asarray(beta))
    e0a, e0b = _lbeta_grads(np.asarray(gamma), np.asarray(delta))
    grads = np.stack([d1a - d0a, d1b - d0b, d2a - e0a, d2b - e0b])
    return log_t, grads


def _neg_log_likelihood(
    z: FloatArray, x: FloatArray, t_x: FloatArray, n: FloatArray, w: FloatArray
) -> tuple[float, FloatArray]:
    """Weighted negative log-likelihood and its gradient in the log-parameters."""
    params = np.exp(z)
    log_t, grads = _log_terms(params, x, t_x, n)
    log_l = special.logsumexp(log_t, axis=1)
    share = np.exp(log_t - log_l[:, None])
    d_natural = np.einsum("krc,rc->kr", np.where(np.isfinite(log_t), grads, 0.0), share)
    grad = (d_natural @ w) * params
    return -float(np.sum(w * log_l)), -grad


class BetaGeoBetaBinomModel(CustomerValueModel):
    """BG/BB model of discrete-time repeat transactions (Fader, Hardie & Shang 2010).

    Parameters
    ----------
    tol
        Relative tolerance of the maximum-likelihood fit.
    max_iter
        Most optimiser iterations.

    Attributes
    ----------
    params_ : dict[str, float]
        ``alpha``, ``beta`` (Beta distribution of the transaction probability p)
        and ``gamma``, ``delta`` (Beta distribution of the dropout probability θ).
    n_customers_ : int
        Customers in the fit.

    References
    ----------
    .. [1] Fader, P. S., Hardie, B. G. S. and Shang, J. (2010). Customer-Base
       Analysis in a Discrete-Time Noncontractual Setting. *Marketing Science*
       29(6), 1086–1108.
    """

    name = "bgbb"
    param_names = ("alpha", "beta", "gamma", "delta")

    def __init__(self, *, tol: float = 1e-10, max_iter: int = 2000) -> None:
        self.tol = tol
        self.max_iter = max_iter

    def fit(self, frequency: Any, recency: Any, n_periods: Any) -> BetaGeoBetaBinomModel:
        """Fit α, β, γ, δ by maximum likelihood.

        Parameters
        ----------
        frequency
            Transactions ``x`` in opportunities 1…n (whole, ≥ 0).
        recency
            Opportunity ``t_x`` of the last transaction (0 when x = 0).
        n_periods
            Opportunities ``n`` each customer has had (one value for all, or one
            per customer).

        Returns
        -------
        BetaGeoBetaBinomModel
            ``self``, fitted.

        Raises
        ------
        ModelError
            If the data break ``0 ≤ x ≤ t_x ≤ n`` or the fit fails.
        """
        x, t_x, n = _bgbb_arrays(frequency, recency, n_periods)
        (xs, txs, ns), w = compress(x, t_x, n)

        def objective(z: FloatArray) -> tuple[float, FloatArray]:
            return _neg_log_likelihood(z, xs, txs, ns, w)

        result = fit_mle(
            objective,
            (1.0, 1.0, 1.0, 1.0),
            self.param_names,
            what="bgbb",
            tol=self.tol,
            max_iter=self.max_iter,
        )
        repeats = repeat_clause(xs, w)
        if exploded(result.params, ("gamma", "delta")):
            issue: str | None = f"the history cannot tell how fast customers drop out: {repeats}"
        elif exploded(result.params, ("alpha", "beta")):
            issue = f"the history cannot tell how often customers buy again: {repeats}"
        else:
            issue = None
        self._store(result, len(x), shape_issue=issue)
        return self

    def _params(self) -> FloatArray:
        self._check_fitted()
        return np.array([self.params_[k] for k in self.param_names])

    def _log_likelihood_rows(self, x: FloatArray, t_x: FloatArray, n: FloatArray) -> FloatArray:
        log_t, _ = _log_terms(self._params(), x, t_x, n)
        out: FloatArray = special.logsumexp(log_t, axis=1)
        return out

    def probability_alive(self, frequency: Any, recency: Any, n_periods: Any) -> FloatArray:
        """Probability that each customer is still active at opportunity n + 1.

        ``P(alive at n+1 | x, t_x, n) = B(α+x, β+n−x)/B(α, β) · B(γ, δ+n+1)/B(γ, δ)
        / L(α, β, γ, δ | x, t_x, n)`` (Fader, Hardie & Shang 2010, eq. 11).

        Returns
        -------
        numpy.ndarray
            One probability per customer.

        Raises
        ------
        NotFittedError
            Before ``fit``.
        """
        alpha, beta, gamma, delta = self._params()
        x, t_x, n = _bgbb_arrays(frequency, recency, n_periods)
        log_num = (
            special.betaln(alpha + x, beta + n - x)
            - special.betaln(alpha, beta)
            + special.betaln(gamma, delta + n + 1.0)
            - special.betaln(gamma, delta)
        )
        out: FloatArray = np.exp(log_num - self._log_likelihood_rows(x, t_x, n))
        return out

    def conditional_expected_purchases(
        self, n_future: Any, frequency: Any, recency: Any, n_periods: Any
    ) -> FloatArray:
        """Expected transactions of each customer in the next ``n_future`` opportunities.

        ``E[X(n, n+n*) | x, t_x, n] = 1/L · B(α+x+1, β+n−x)/B(α, β) · δ/(γ−1) ·
        Γ(γ+δ)/Γ(1+δ) · [Γ(1+δ+n)/Γ(γ+δ+n) − Γ(1+δ+n+n*)/Γ(γ+δ+n+n*)]``
        (Fader, Hardie & Shang 2010, eq. 13).

        Parameters
        ----------
        n_future
            Future opportunities ``n*`` (whole, ≥ 0), scalar or one per customer.
        frequency, recency, n_periods
            The customers' ``x``, ``t_x`` and ``n``.

        Returns
        -------
        numpy.ndarray
            Expected transactions, one per customer.

        Raises
        ------
        NotFittedError
            Before ``fit``.
        """
        alpha, beta, gamma, delta = self._params()
        x, t_x, n = _bgbb_arrays(frequency, recency, n_periods)
        ns = _opportunities(n_future)
        log_lead = (
            special.betaln(alpha + x + 1.0, beta + n - x)
            - special.betaln(alpha, beta)
            + special.gammaln(gamma + delta)
            - special.gammaln(1.0 + delta)
            - self._log_likelihood_rows(x, t_x, n)
        )
        bracket = _gamma_ratio_difference(gamma, delta, n, n + ns)
        out: FloatArray = np.exp(log_lead) * delta * bracket
        return out

    def expected_purchases(self, n: Any) -> FloatArray:
        """Expected transactions of a new customer in their first ``n`` opportunities.

        ``E[X(n)] = α/(α+β) · δ/(γ−1) · [1 − Γ(γ+δ)/Γ(γ+δ+n) · Γ(1+δ+n)/Γ(1+δ)]``
        (Fader, Hardie & Shang 2010, eq. 7).

        Parameters
        ----------
        n
            Opportunities (whole, ≥ 0), scalar or array.

        Returns
        -------
        numpy.ndarray
            Expected transactions.

        Raises
        ------
        NotFittedError
            Before ``fit``.
        """
        alpha, beta, gamma, delta = self._params()
        nn = _opportunities(n)
        # Same bracket as eq. 13 with n = 0, times Γ(γ+δ)/Γ(1+δ).
        lead = np.exp(special.gammaln(gamma + delta) - special.gammaln(1.0 + delta))
        out: FloatArray = (
            alpha / (alpha + beta) * delta * lead * _gamma_ratio_difference(gamma, delta, 0.0, nn)
        )
        return out


def _opportunities(n: Any) -> FloatArray:
    nn = np.asarray(n, dtype=np.float64)
    if not np.isfinite(nn).all() or (nn < 0).any() or (np.floor(nn) != nn).any():
        raise ModelError("the number of opportunities must be a whole number ≥ 0")
    return nn


def _gamma_ratio_difference(gamma: float, delta: float, lo: Any, hi: Any) -> FloatArray:
    """``[g(lo) − g(hi)] / (γ − 1)`` with ``g(m) = Γ(1+δ+m)/Γ(γ+δ+m)``, stable for γ near 1.

    Away from γ = 1 it is ``g(lo) · (1 − exp(ln g(hi) − ln g(lo)))/(γ − 1)`` with
    ``expm1``. Within 1e-4 of γ = 1, where that difference cancels, it is the
    second-order expansion in ``ε = γ − 1`` of ``g(m) = 1 − εψ + ε²(ψ² − ψ')/2``
    at ``1+δ+m``, whose error is O(ε²).
    """
    lo_a = np.asarray(lo, dtype=np.float64)
    hi_a = np.asarray(hi, dtype=np.float64)
    eps = gamma - 1.0
    if abs(eps) < 1e-4:
        psi_lo, psi_hi = special.digamma(1.0 + delta + lo_a), special.digamma(1.0 + delta + hi_a)
        tri_lo = special.polygamma(1, 1.0 + delta + lo_a)
        tri_hi = special.polygamma(1, 1.0 + delta + hi_a)
        series: FloatArray = (psi_hi - psi_lo) + eps / 2.0 * (
            (psi_lo**2 - tri_lo) - (psi_hi**2 - tri_hi)
        )
        return series
    log_g_lo = special.gammaln(1.0 + delta + lo_a) - special.gammaln(gamma + delta + lo_a)
    log_g_hi = special.gammaln(1.0 + delta + hi_a) - special.gammaln(gamma + delta + hi_a)
    out: FloatArray = np.exp(log_g_lo) * -np.expm1(log_g_hi - log_g_lo) / eps
    return out
