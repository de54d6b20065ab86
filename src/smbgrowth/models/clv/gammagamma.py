"""The Gamma-Gamma model of a customer's average spend per transaction.

A customer's transaction values are Gamma(p, ν) around their own mean p/ν, and
ν varies across customers as Gamma(q, γ). The observed average ``z̄`` of a
customer's ``x`` transactions is then Gamma(px, rate νx), which gives the
marginal likelihood of Fader & Hardie (2013) and a posterior mean spend that
shrinks ``z̄`` toward the population mean ``pγ/(q−1)``. Combined with any
purchase-count model it gives customer lifetime value.

The model assumes spend is independent of purchase frequency; check the
correlation of ``frequency`` and ``monetary_value`` before relying on it.

References
----------
.. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). RFM and CLV: Using
   Iso-Value Curves for Customer Base Analysis. *Journal of Marketing Research*
   42(4), 415–430 (with Berger's discussion; the spend sub-model).
.. [2] Fader, P. S. and Hardie, B. G. S. (2013). The Gamma-Gamma Model of
   Monetary Value. http://brucehardie.com/notes/025/
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from scipy import special

from smbgrowth.errors import ModelError
from smbgrowth.models.clv.base import CustomerValueModel, FloatArray, compress, fit_mle

__all__ = ["GammaGammaModel", "PurchaseModel"]


class PurchaseModel(Protocol):
    """Anything that predicts a customer's purchases in the next ``t`` time units."""

    def conditional_expected_purchases(
        self, t: Any, frequency: Any, recency: Any, T: Any
    ) -> Any:  # pragma: no cover - protocol
        """Expected purchases in (T, T + t] given the customer's history."""
        ...


def _spend_arrays(frequency: Any, monetary_value: Any) -> tuple[FloatArray, FloatArray]:
    x = np.asarray(frequency, dtype=np.float64)
    m = np.asarray(monetary_value, dtype=np.float64)
    if x.ndim != 1 or x.shape != m.shape:
        raise ModelError("frequency and monetary_value must be 1-D and of the same length")
    if len(x) == 0:
        raise ModelError("no customers given")
    if not (np.isfinite(x).all() and np.isfinite(m).all()):
        raise ModelError("frequency and monetary_value must be finite numbers")
    if (x < 0).any() or (np.floor(x) != x).any():
        raise ModelError("frequency must be a whole number of repeat purchases (≥ 0)")
    if ((x > 0) & (m <= 0)).any():
        raise ModelError("monetary_value must be positive for customers with repeat purchases")
    return x, m


def _neg_log_likelihood(
    z: FloatArray, x: FloatArray, m: FloatArray, w: FloatArray
) -> tuple[float, FloatArray]:
    """Negative log-likelihood (Fader & Hardie 2013) and its gradient in ln p, ln q, ln γ.

    ``ln L = ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + (px−1) ln z̄ + px ln x − (px+q) ln(γ+xz̄)``.
    """
    p, q, g = np.exp(z)
    px = p * x
    log_gxm = np.log(g + x * m)
    ll = (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(g)
        + (px - 1.0) * np.log(m)
        + px * np.log(x)
        - (px + q) * log_gxm
    )
    psi_pq = special.digamma(px + q)
    dp = x * (psi_pq - special.digamma(px) + np.log(m) + np.log(x) - log_gxm)
    dq = psi_pq - special.digamma(q) + np.log(g) - log_gxm
    dg = q / g - (px + q) / (g + x * m)
    grad = np.array([np.sum(w * dp) * p, np.sum(w * dq) * q, np.sum(w * dg) * g])
    return -float(np.sum(w * ll)), -grad


class GammaGammaModel(CustomerValueModel):
    """Gamma-Gamma model of average transaction value (Fader, Hardie & Lee 2005).

    Parameters
    ----------
    tol
        Relative tolerance of the maximum-likelihood fit.
    max_iter
        Most optimiser iterations.

    Attributes
    ----------
    params_ : dict[str, float]
        ``p`` (shape of a customer's transaction values), ``q`` and ``gamma``
        (shape and scale of the Gamma mixing distribution of their rate ν).
    n_customers_ : int
        Customers with repeat purchases used in the fit.

    References
    ----------
    .. [1] Fader, P. S. and Hardie, B. G. S. (2013). The Gamma-Gamma Model of
       Monetary Value. http://brucehardie.com/notes/025/
    """

    name = "gammagamma"
    param_names = ("p", "q", "gamma")

    def __init__(self, *, tol: float = 1e-10, max_iter: int = 2000) -> None:
        self.tol = tol
        self.max_iter = max_iter

    def fit(self, frequency: Any, monetary_value: Any) -> GammaGammaModel:
        """Fit p, q and γ by maximum likelihood.

        Parameters
        ----------
        frequency
            Repeat purchases per customer (whole, ≥ 0). Customers with none are
            left out: they carry no information about spend.
        monetary_value
            Mean value of each customer's repeat purchases (the first purchase
            excluded), positive where frequency > 0.

        Returns
        -------
        GammaGammaModel
            ``self``, fitted.

        Raises
        ------
        ModelError
            If the inputs are malformed, no customer has repeat purchases, or
            the fit fails.
        """
        x, m = _spend_arrays(frequency, monetary_value)
        repeat = x > 0
        if repeat.sum() < 2:
            raise ModelError("gammagamma: fewer than two customers with repeat purchases")
        (xs, ms), w = compress(x[repeat], m[repeat])

        def objective(z: FloatArray) -> tuple[float, FloatArray]:
            return _neg_log_likelihood(z, xs, ms, w)

        result = fit_mle(
            objective,
            (1.0, 1.0, float(np.mean(m[repeat]))),
            self.param_names,
            what="gammagamma",
            tol=self.tol,
            max_iter=self.max_iter,
        )
        self._store(result, int(repeat.sum()))
        return self

    def conditional_expected_average_profit(
        self, frequency: Any, monetary_value: Any
    ) -> FloatArray:
        """Expected mean transaction value of each customer given their history.

        ``E(Z | x, z̄) = p(γ + x z̄) / (px + q − 1)``, a weighted average of the
        population mean ``pγ/(q−1)`` and the customer's own ``z̄`` (Fader &
        Hardie 2013). Customers with frequency 0 get the population mean.

        Parameters
        ----------
        frequency
            Repeat purchases per customer.
        monetary_value
            Mean value of the repeat purchases (ignored where frequency is 0).

        Returns
        -------
        numpy.ndarray
            Expected spend per transaction, one per customer.

        Raises
        ------
        NotFittedError
            Before ``fit``.
        ModelError
            If q ≤ 1 (the population mean does not exist) or inputs are malformed.
        """
        self._check_fitted()
        p, q, g = self.params_["p"], self.params_["q"], self.params_["gamma"]
        if q <= 1.0:
            raise ModelError(
                f"gammagamma: q = {q:.3g} ≤ 1, so the mean spend is infinite; "
                "the spend data are too heavy-tailed for this model"
            )
        x, m = _spend_arrays(np.atleast_1d(frequency), np.atleast_1d(monetary_value))
        m = np.where(x > 0, m, 0.0)
        out: FloatArray = p * (g + x * m) / (p * x + q - 1.0)
        return out

    def customer_lifetime_value(
        self,
        purchase_model: PurchaseModel,
        frequency: Any,
        recency: Any,
        T: Any,
        monetary_value: Any,
        *,
        months: int = 12,
        discount_rate: float = 0.01,
        time_unit_days: float = 7.0,
        month_days: float = 30.4375,
    ) -> FloatArray:
        """Discounted expected spend of each customer over the next ``months`` months.

        ``CLV = Σ_{m=1}^{months} [E(X(t_m)) − E(X(t_{m−1}))] · E(Z) / (1 + d)^m``
        where ``E(X(t))`` is ``purchase_model.conditional_expected_purchases(t,
        frequency, recency, T)``, ``t_m = m · month_days / time_unit_days`` is the
        end of month m in the purchase model's time unit, ``E(Z)`` is
        :meth:`conditional_expected_average_profit` and ``d`` the monthly
        discount rate; each month's purchases are discounted at its end, as in
        Fader, Hardie & Lee (2005).

        Parameters
        ----------
        purchase_model
            A fitted model with ``conditional_expected_purchases(t, frequency,
            recency, T)`` (BG/NBD, Pareto/NBD, …); ``recency`` and ``T`` are in its
            time unit.
        frequency, recency, T
            The customers' purchase histories, as the purchase model wants them.
        monetary_value
            Mean value of the repeat purchases.
        months
            Horizon in months (≥ 1).
        discount_rate
            Discount rate per month (≥ 0), e.g. 0.01.
        time_unit_days
            Days in one time unit of the purchase model (7 for weeks).
        month_days
            Days in a month (365.25 / 12 by default).

        Returns
        -------
        numpy.ndarray
            Customer lifetime value over the horizon, one per customer, in the
            currency of ``monetary_value``.

        Raises
        ------
        NotFittedError
            Before ``fit``.
        ModelError
            If an argument is out of range.
        """
        self._check_fitted()
        if int(months) != months or months < 1:
            raise ModelError("months must be a whole number ≥ 1")
        if not np.isfinite(discount_rate) or discount_rate < 0:
            raise ModelError("discount_rate must be a number ≥ 0 (per month)")
        if not (time_unit_days > 0 and month_days > 0):
            raise ModelError("time_unit_days and month_days must be positive")
        spend = self.conditional_expected_average_profit(frequency, monetary_value)
        clv = np.zeros_like(spend)
        previous = np.zeros_like(spend)
        for month in range(1, int(months) + 1):
            t = month * month_days / time_unit_days
            expected = np.asarray(
                purchase_model.conditional_expected_purchases(t, frequency, recency, T),
                dtype=np.float64,
            )
            clv = clv + (expected - previous) * spend / (1.0 + discount_rate) ** month
            previous = expected
        return clv
