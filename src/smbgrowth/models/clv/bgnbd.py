"""BG/NBD and MBG/NBD: how many purchases a customer will make, and whether they are still active.

The BG/NBD story (Fader, Hardie & Lee 2005): while active, a customer buys at
a Poisson rate λ ~ Gamma(r, α); after every *repeat* purchase they drop out with
probability p ~ Beta(a, b). The MBG/NBD (Batislam, Denizel & Filiztekin 2007)
lets them drop out right after the first purchase as well, so customers without
repeat purchases can also be inactive.

Both share one implementation: with ``k = 0`` (BG/NBD) or ``k = 1`` (MBG/NBD), a
customer who made ``x`` repeat purchases has survived ``x + k`` dropout chances.

References
----------
.. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "'Counting your
   customers' the easy way: an alternative to the Pareto/NBD model",
   *Marketing Science* 24(2), 275–284.
.. [2] Batislam, E. P., Denizel, M. and Filiztekin, A. (2007), "Empirical
   validation and comparison of models for customer base analysis",
   *International Journal of Research in Marketing* 24(3), 201–209.
.. [3] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2008), "Computing
   P(alive) using the BG/NBD model", http://brucehardie.com/notes/021/.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd
from scipy import special, stats

from smbgrowth.errors import ModelError
from smbgrowth.models.clv.base import (
    EXPLODED,
    CustomerValueModel,
    FloatArray,
    compress,
    exploded,
    fit_mle,
    repeat_clause,
    rfm_arrays,
)

__all__ = ["BetaGeoModel", "ModifiedBetaGeoModel"]


def _log_likelihood(
    params: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray, k: int
) -> tuple[FloatArray, FloatArray]:
    """Per-row log-likelihood and its gradient in the log-parameters, shape (4, n).

    With ``B = Beta`` and ``L1 = -(r+x)·log(α+T)``,
    ``L2 = log a − log(b+x−1+k) − (r+x)·log(α+t_x)`` (BG/NBD: only for x > 0)::

        log L = lnΓ(r+x) − lnΓ(r) + r·log α + ln B(a, b+x+k) − ln B(a, b) + log(e^L1 + e^L2)

    which is eq. (6) of [1] for ``k = 0`` and eq. (2) of [2] for ``k = 1``,
    written with ``B(a+1, b+x−1+k) / B(a, b+x+k) = a / (b+x−1+k)`` so that no
    term overflows for large ``x`` or ``T``.
    """
    r, alpha, a, b = params
    rx = r + x
    log_at = np.log(alpha + T)
    log_atx = np.log(alpha + t_x)
    has_second = x > 0 if k == 0 else np.ones_like(x, dtype=bool)
    # b + x - 1 + k is ≥ b > 0 wherever the second term exists.
    shifted = np.where(has_second, b + x - 1 + k, 1.0)
    l1 = -rx * log_at
    l2 = np.where(has_second, np.log(a) - np.log(shifted) - rx * log_atx, -np.inf)
    m = np.logaddexp(l1, l2)
    w1 = np.exp(l1 - m)
    w2 = np.exp(l2 - m)
    ll = (
        special.gammaln(rx)
        - special.gammaln(r)
        + r * np.log(alpha)
        + special.betaln(a, b + x + k)
        - special.betaln(a, b)
        + m
    )
    psi_abxk = special.digamma(a + b + x + k)
    psi_ab = special.digamma(a + b)
    d_r = special.digamma(rx) - special.digamma(r) + np.log(alpha) - w1 * log_at - w2 * log_atx
    d_alpha = r / alpha - rx * (w1 / (alpha + T) + w2 / (alpha + t_x))
    d_a = psi_ab - psi_abxk + w2 / a
    d_b = special.digamma(b + x + k) - psi_abxk - special.digamma(b) + psi_ab - w2 / shifted
    # Chain rule to the log-parameters: d/d log θ = θ · d/dθ.
    grad = np.vstack([r * d_r, alpha * d_alpha, a * d_a, b * d_b])
    return ll, grad


def _without_newcomers(frequency: Any, recency: Any, T: Any) -> tuple[Any, Any, Any, int]:
    """Drop customers first seen at the very end (x = t_x = T = 0); also return how many.

    Their likelihood is exactly 1 under both models (nothing could have happened
    yet), so dropping them leaves the estimates unchanged, while the shared input
    check rejects T = 0. :func:`rfm_summary` gives T = 0 to customers whose first
    purchase is on the last day, as ``lifetimes`` does.
    """
    if isinstance(frequency, pd.DataFrame):
        if not {"frequency", "recency", "T"} <= set(frequency.columns):
            return frequency, recency, T, 0
        frequency, recency, T = frequency["frequency"], frequency["recency"], frequency["T"]
    if recency is None or T is None:
        return frequency, recency, T, 0
    try:
        x = np.asarray(frequency, dtype=np.float64)
        t_x = np.asarray(recency, dtype=np.float64)
        t = np.asarray(T, dtype=np.float64)
        newcomer = (x == 0) & (t_x == 0) & (t == 0)
    except (TypeError, ValueError):
        return frequency, recency, T, 0
    if newcomer.ndim != 1 or not newcomer.any():
        return frequency, recency, T, 0
    keep = ~newcomer
    return x[keep], t_x[keep], t[keep], int(newcomer.sum())


def _as_array(value: Any, name: str) -> FloatArray:
    arr = np.asarray(value, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ModelError(f"{name} must be finite numbers")
    return arr


def _shape_issue(params: dict[str, float], repeats: str) -> str | None:
    """Why (r, α, a, b) are not identified, in the owner's words, or None.

    a or b above :data:`~smbgrowth.models.clv.base.EXPLODED` (or b, a below its
    inverse) means the dropout probability's distribution collapsed onto one
    arbitrary value; r above it means every customer was given the same purchase
    rate with r and α running off together (only r/α is determined).
    """
    dropout = exploded(params, ("a", "b")) or [n for n in ("a", "b") if params[n] < 1 / EXPLODED]
    if dropout:
        return f"the history cannot tell how fast customers drop out: {repeats}"
    if exploded(params, ("r",)):
        return f"the history cannot tell how often customers buy again: {repeats}"
    return None


class _BetaGeoFamily(CustomerValueModel):
    """Shared fitting and prediction of the BG/NBD (``_k = 0``) and MBG/NBD (``_k = 1``)."""

    param_names = ("r", "alpha", "a", "b")
    _k: int = 0
    _what: str = ""

    def __init__(self, *, tol: float = 1e-10, max_iter: int = 2000) -> None:
        self.tol = tol
        self.max_iter = max_iter

    # -- fitting -------------------------------------------------------------------
    def fit(self, frequency: Any, recency: Any = None, T: Any = None) -> Self:
        """Estimate (r, α, a, b) by maximum likelihood and return ``self``.

        Parameters
        ----------
        frequency:
            Repeat purchases per customer, or a DataFrame with columns
            ``frequency``, ``recency`` and ``T`` (e.g. :func:`rfm_summary`).
        recency:
            Age of each customer at their last purchase (0 without repeats).
        T:
            Age of each customer at the end of the calibration period.

        Returns
        -------
        self
            With ``params_``, ``standard_errors_`` (observed information, delta
            method), ``log_likelihood_``, ``n_customers_``, ``converged_``,
            ``iterations_``, ``identified_`` and ``identification_issue_`` (why the
            data do not pin the parameters down, e.g. when almost no customer
            bought twice; None when they do).

        Raises
        ------
        ModelError
            On invalid data (negative or fractional frequency, recency > T, …) or
            when the likelihood has no finite maximum.

        Notes
        -----
        Customers with ``x = t_x = T = 0`` (first seen on the last day) have
        likelihood 1 and are left out of the optimisation; they still count in
        ``n_customers_``.
        """
        *customers, newcomers = _without_newcomers(frequency, recency, T)
        x, t_x, t = rfm_arrays(*customers)
        (ux, utx, ut), weights = compress(x, t_x, t)
        scale = float(np.average(ut, weights=weights))
        k = self._k

        def objective(log_params: FloatArray) -> tuple[float, FloatArray]:
            ll, grad = _log_likelihood(np.exp(log_params), ux, utx, ut, k)
            return -float(ll @ weights), -(grad @ weights)

        # α is in time units: start it at the average age, the others at 1.
        result = fit_mle(
            objective,
            (1.0, scale, 1.0, 1.0),
            self.param_names,
            what=self._what,
            tol=self.tol,
            max_iter=self.max_iter,
        )
        self._store(
            result,
            len(x) + newcomers,
            shape_issue=_shape_issue(result.params, repeat_clause(ux, weights)),
        )
        return self

    def _params(self) -> tuple[float, float, float, float]:
        self._check_fitted()
        p = self.params_
        return p["r"], p["alpha"], p["a"], p["b"]

    def _customers(
        self, frequency: Any, recency: Any, T: Any
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        x = _as_array(frequency, "frequency")
        t_x = _as_array(recency, "recency")
        t = _as_array(T, "T")
        x, t_x, t = np.broadcast_arrays(x, t_x, t)
        if (x < 0).any() or (np.floor(x) != x).any():
            raise ModelError("frequency must be a whole number of repeat purchases (≥ 0)")
        if (t_x < 0).any() or (t_x > t + 1e-9).any():
            raise ModelError("recency must lie between 0 and T for every customer")
        return x, t_x, t

    # -- predictions ---------------------------------------------------------------
    def _log_odds_dead(self, x: FloatArray, t_x: FloatArray, T: FloatArray) -> FloatArray:
        """log[a/(b+x−1+k) · ((α+T)/(α+t_x))^(r+x)]; −∞ where the customer cannot be inactive."""
        r, alpha, a, b = self._params()
        has_second = x > 0 if self._k == 0 else np.ones_like(x, dtype=bool)
        shifted = np.where(has_second, b + x - 1 + self._k, 1.0)
        odds = np.log(a) - np.log(shifted) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        out: FloatArray = np.where(has_second, odds, -np.inf)
        return out

    def probability_alive(self, frequency: Any, recency: Any, T: Any) -> FloatArray:
        """Probability that each customer is still active at the end of the period.

        ``P(alive | x, t_x, T) = 1 / (1 + δ · a/(b+x−1+k) · ((α+T)/(α+t_x))^(r+x))``,
        eq. (2) of [3] (BG/NBD, ``δ = [x > 0]``, ``k = 0``) and its MBG/NBD analogue
        (``δ = 1``, ``k = 1``) from [2]; computed as a logistic of the log-odds so that
        it never overflows.

        Parameters
        ----------
        frequency, recency, T:
            Arrays (or scalars) of repeat purchases, age at the last purchase and age.

        Returns
        -------
        numpy.ndarray
            One probability per customer.
        """
        x, t_x, t = self._customers(frequency, recency, T)
        out: FloatArray = special.expit(-self._log_odds_dead(x, t_x, t))
        return out

    def probability_alive_at(self, frequency: Any, recency: Any, T: Any, future: Any) -> FloatArray:
        """Probability that each customer is active ``future`` units after T with no purchase since.

        A customer who buys nothing in ``(T, T + future]`` carries the same
        information as one observed up to ``T + future`` with the same ``x`` and
        ``t_x``, so by Bayes' rule::

            P(alive at T+τ | x, t_x, T, no purchase in (T, T+τ]) = P(alive | x, t_x, T+τ)

        i.e. :meth:`probability_alive` with ``T`` replaced by ``T + future`` (eq. (2)
        of [3] for the BG/NBD). It decreases with ``future`` (the "silence" is
        evidence of dropout) and equals :meth:`probability_alive` at ``future = 0``.

        Parameters
        ----------
        frequency, recency, T:
            Arrays (or scalars) describing the customers.
        future:
            Time units after T (≥ 0), a scalar or one per customer.

        Returns
        -------
        numpy.ndarray
            One probability per customer.
        """
        tau = _as_array(future, "future")
        if (tau < 0).any():
            raise ModelError("future must be ≥ 0 time units")
        x, t_x, t = self._customers(frequency, recency, T)
        return self.probability_alive(x, t_x, t + tau)

    def conditional_expected_purchases(
        self, t: Any, frequency: Any, recency: Any, T: Any
    ) -> FloatArray:
        """Expected purchases in the next ``t`` units of each customer with history (x, t_x, T).

        BG/NBD, eq. (10) of [1]::

            E[Y(t) | x, t_x, T] = (a+b+x−1)/(a−1)
                · [1 − ((α+T)/(α+T+t))^(r+x) · ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]
                / (1 + δ_{x>0} · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x))

        MBG/NBD, [2]: the same with ``a+b+x−1 → a+b+x``, ``b+x → b+x+1`` in ₂F₁ and
        ``a/(b+x)`` for every customer in the denominator. The ₂F₁ factor is
        evaluated through Euler's transformation
        ``(1−z)^(r+x) ₂F₁(r+x, b+x+k; c; z) = (1−z)^(a−1) ₂F₁(c−r−x, a−1; c; z)``
        with ``c = a+b+x−1+k``, which stays finite for large ``x`` and ``T``; the
        denominator is ``1 / P(alive)``.

        Parameters
        ----------
        t:
            Length of the future period in time units (≥ 0), scalar or per customer.
        frequency, recency, T:
            Arrays (or scalars) describing the customers.

        Returns
        -------
        numpy.ndarray
            Expected number of purchases per customer.
        """
        horizon = _as_array(t, "t")
        if (horizon < 0).any():
            raise ModelError("t must be ≥ 0 time units")
        x, t_x, age = self._customers(frequency, recency, T)
        r, alpha, a, b = self._params()
        if np.isclose(a, 1.0, rtol=0, atol=1e-12):
            raise ModelError(f"{self._what}: expected purchases are undefined for a = 1")
        c = a + b + x - 1 + self._k
        z = horizon / (alpha + age + horizon)
        hyp = special.hyp2f1(c - r - x, a - 1, c, z)
        bracket = 1.0 - np.exp((a - 1) * np.log1p(-z)) * hyp
        alive = special.expit(-self._log_odds_dead(x, t_x, age))
        out: FloatArray = c / (a - 1) * bracket * alive
        return out

    def expected_purchases(self, t: Any) -> FloatArray:
        """Expected repeat purchases of a new customer in their first ``t`` units, E[X(t)].

        BG/NBD, eq. (7) of [1]::

            E[X(t)] = (a+b−1)/(a−1) · [1 − (α/(α+t))^r · ₂F₁(r, b; a+b−1; t/(α+t))]

        MBG/NBD, [2]: ``b/(a−1) · [1 − (α/(α+t))^r · ₂F₁(r, b+1; a+b; t/(α+t))]``.
        Both are :meth:`conditional_expected_purchases` at ``x = t_x = T = 0``.

        Parameters
        ----------
        t:
            Ages in time units (≥ 0), a scalar or an array.

        Returns
        -------
        numpy.ndarray
            E[X(t)] for each ``t``.
        """
        horizon = _as_array(t, "t")
        zeros = np.zeros_like(horizon)
        return self.conditional_expected_purchases(horizon, zeros, zeros, zeros)

    def probability_of_purchases(self, n: Any, t: Any) -> FloatArray:
        """Probability that a new customer makes exactly ``n`` repeat purchases by age ``t``.

        BG/NBD, eq. (8) of [1]; with ``NB`` the negative binomial of the Gamma-
        Poisson purchases (size r, success probability α/(α+t)) and ``k = 0``::

            P(X(t)=n) = B(a, b+n+k)/B(a, b) · NB.pmf(n)
                        + δ · B(a+1, b+n−1+k)/B(a, b) · NB.sf(n−1)

        where ``NB.sf(n−1) = 1 − (α/(α+t))^r Σ_{j<n} Γ(r+j)/(Γ(r) j!) (t/(α+t))^j``
        and ``δ = [n > 0]``. For the MBG/NBD (``k = 1``, ``δ = 1``) the customer may
        also drop out right after the first purchase [2].

        Parameters
        ----------
        n:
            Whole numbers of repeat purchases (≥ 0).
        t:
            Ages in time units (> 0); broadcast against ``n``.

        Returns
        -------
        numpy.ndarray
            The probabilities, with the broadcast shape of ``n`` and ``t``.
        """
        count = _as_array(n, "n")
        horizon = _as_array(t, "t")
        if (count < 0).any() or (np.floor(count) != count).any():
            raise ModelError("n must be a whole number of purchases (≥ 0)")
        if (horizon < 0).any():
            raise ModelError("t must be ≥ 0 time units")
        r, alpha, a, b = self._params()
        count, horizon = np.broadcast_arrays(count, horizon)
        k = self._k
        p = alpha / (alpha + horizon)
        base = special.betaln(a, b)
        alive = np.exp(special.betaln(a, b + count + k) - base) * stats.nbinom.pmf(count, r, p)
        has_second = count > 0 if k == 0 else np.ones_like(count, dtype=bool)
        shifted = np.where(has_second, b + count - 1 + k, 1.0)
        dead = np.exp(special.betaln(a + 1, shifted) - base) * stats.nbinom.sf(count - 1, r, p)
        out: FloatArray = alive + np.where(has_second, dead, 0.0)
        return out

    def log_likelihood(self, frequency: Any, recency: Any = None, T: Any = None) -> FloatArray:
        """Log-likelihood of each customer's (x, t_x, T) under the fitted parameters."""
        r, alpha, a, b = self._params()
        x, t_x, t = rfm_arrays(frequency, recency, T)
        ll, _ = _log_likelihood(np.array([r, alpha, a, b]), x, t_x, t, self._k)
        return ll


class BetaGeoModel(_BetaGeoFamily):
    """BG/NBD model of repeat purchasing and dropout (Fader, Hardie & Lee 2005).

    Parameters
    ----------
    tol:
        Relative tolerance of the optimiser on the log-likelihood.
    max_iter:
        Maximum L-BFGS-B iterations.

    Attributes
    ----------
    params_:
        ``{"r", "alpha", "a", "b"}``: purchase rates λ ~ Gamma(shape r, rate α) per
        time unit; dropout probability after each repeat purchase p ~ Beta(a, b).
    standard_errors_, log_likelihood_, n_customers_, converged_, iterations_:
        See :class:`~smbgrowth.models.clv.base.CustomerValueModel`.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "'Counting your
    customers' the easy way: an alternative to the Pareto/NBD model",
    *Marketing Science* 24(2), 275–284.
    """

    name = "bgnbd"
    _k = 0
    _what = "BG/NBD"


class ModifiedBetaGeoModel(_BetaGeoFamily):
    """MBG/NBD model: the BG/NBD with dropout possible right after the first purchase.

    Same parameters, attributes and methods as :class:`BetaGeoModel`; customers
    without repeat purchases get a probability of being alive below 1.

    References
    ----------
    Batislam, E. P., Denizel, M. and Filiztekin, A. (2007), "Empirical validation
    and comparison of models for customer base analysis", *International Journal
    of Research in Marketing* 24(3), 201–209.
    """

    name = "mbgnbd"
    _k = 1
    _what = "MBG/NBD"
