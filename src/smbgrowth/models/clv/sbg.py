"""The shifted-beta-geometric (sBG) model of contractual retention.

Each customer has a per-period churn probability ``θ ~ Beta(alpha, beta)``; a
customer who is still active at the end of a period renews with probability
``1 - θ``, so the lifetime ``T`` (in periods, 1, 2, …) is geometric given
``θ``. Heterogeneity in ``θ`` makes the aggregate retention rate rise with
tenure even though no individual's churn probability changes.

The data are survivor curves: how many of a cohort are still active at the
start of periods 0, 1, …, T. The fit uses the counts of customers lost in each
period and the count still active at the end (right-censored), as in
Fader & Hardie (2007), section 3.

References
----------
.. [1] Fader, P. S. and Hardie, B. G. S. (2007). How to Project Customer
   Retention. *Journal of Interactive Marketing* 21(1), 76–90.
.. [2] Fader, P. S. and Hardie, B. G. S. (2010). Customer-Base Valuation in a
   Contractual Setting: The Perils of Ignoring Heterogeneity. *Marketing
   Science* 29(1), 85–93.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import special

from smbgrowth.errors import ModelError
from smbgrowth.models.clv.base import CustomerValueModel, FloatArray, fit_mle

if TYPE_CHECKING:
    from smbgrowth.data.workspace import Workspace

__all__ = ["ShiftedBetaGeoModel", "survivors_from_subscriptions"]


def _survivor_curves(survivors: Any) -> list[FloatArray]:
    """Validate one survivor curve or several (list of sequences or a DataFrame)."""
    if isinstance(survivors, pd.DataFrame):
        # One cohort per row, periods as columns; NaN after a cohort's last period.
        rows = survivors.to_numpy(dtype=np.float64, na_value=np.nan)
        curves = []
        for i, row in enumerate(rows):
            observed = ~np.isnan(row)
            n_obs = int(observed.sum())
            if not observed[:n_obs].all():
                raise ModelError(f"cohort {i}: NaN is allowed only after the last observed period")
            curves.append(row[:n_obs])
    elif isinstance(survivors, pd.Series):
        curves = [survivors.to_numpy(dtype=np.float64)]
    else:
        try:
            arr = np.asarray(survivors, dtype=np.float64)
        except (TypeError, ValueError):
            arr = None
        if arr is not None and arr.ndim == 1:
            curves = [arr]
        elif arr is not None and arr.ndim == 2:
            curves = [row for row in arr]
        else:
            try:
                curves = [np.asarray(c, dtype=np.float64) for c in survivors]
            except (TypeError, ValueError) as exc:
                raise ModelError(
                    "survivors must be a sequence of counts, a list of such sequences "
                    "(one per cohort) or a DataFrame with one cohort per row"
                ) from exc
    if not curves:
        raise ModelError("no cohorts to fit")
    for i, c in enumerate(curves):
        where = f"cohort {i}"
        if c.ndim != 1 or len(c) < 2:
            raise ModelError(f"{where}: a survivor curve needs counts for at least periods 0 and 1")
        if not np.isfinite(c).all() or (c < 0).any() or (np.floor(c) != c).any():
            raise ModelError(f"{where}: survivor counts must be whole numbers ≥ 0")
        if c[0] <= 0:
            raise ModelError(f"{where}: the cohort must have customers at period 0")
        if (np.diff(c) > 0).any():
            raise ModelError(f"{where}: survivor counts cannot rise from one period to the next")
    return curves


def _betaln_grads(a: FloatArray, b: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Derivatives of ln B(a, b) with respect to a and b: ψ(a) − ψ(a+b), ψ(b) − ψ(a+b)."""
    dab = special.digamma(a + b)
    return special.digamma(a) - dab, special.digamma(b) - dab


class ShiftedBetaGeoModel(CustomerValueModel):
    """Shifted-beta-geometric model of subscription retention (Fader & Hardie 2007).

    Parameters
    ----------
    tol
        Relative tolerance of the maximum-likelihood fit.
    max_iter
        Most optimiser iterations.

    Attributes
    ----------
    params_ : dict[str, float]
        ``alpha`` and ``beta`` of the Beta distribution of the churn probability.
    standard_errors_ : dict[str, float]
        Standard errors from the observed information (delta method).
    n_customers_ : int
        Customers at period 0 over all cohorts.

    References
    ----------
    .. [1] Fader, P. S. and Hardie, B. G. S. (2007). How to Project Customer
       Retention. *Journal of Interactive Marketing* 21(1), 76–90.
    """

    name = "sbg"
    param_names = ("alpha", "beta")

    def __init__(self, *, tol: float = 1e-10, max_iter: int = 2000) -> None:
        self.tol = tol
        self.max_iter = max_iter

    # -- fitting ----------------------------------------------------------------------
    def fit(self, survivors: Any) -> ShiftedBetaGeoModel:
        """Fit alpha and beta to survivor curves by maximum likelihood.

        Parameters
        ----------
        survivors
            Customers still active at the start of periods 0, 1, …, T of one
            cohort (a sequence), or several cohorts: a list of sequences of any
            lengths, a 2-D array, or a DataFrame with one row per cohort and
            NaN after a cohort's last observed period.

        Returns
        -------
        ShiftedBetaGeoModel
            ``self``, fitted.

        Raises
        ------
        ModelError
            If a curve is malformed (negative, rising, too short) or the fit fails.

        Notes
        -----
        A customer lost in period t contributes ``ln P(T = t)`` with
        ``P(T = t) = B(α+1, β+t−1) / B(α, β)``, one still active after
        the last period ``T`` contributes ``ln S(T)`` with
        ``S(t) = B(α, β+t) / B(α, β)``. Customers are compressed into
        (lifetime, censored) rows weighted by their counts.
        """
        curves = _survivor_curves(survivors)
        lifetimes: list[float] = []
        censored: list[float] = []
        counts: list[float] = []
        for c in curves:
            lost = -np.diff(c)
            lifetimes.extend(range(1, len(c)))
            censored.extend([0.0] * len(lost))
            counts.extend(lost.tolist())
            lifetimes.append(len(c) - 1)
            censored.append(1.0)
            counts.append(float(c[-1]))
        t_all = np.asarray(lifetimes, dtype=np.float64)
        c_all = np.asarray(censored, dtype=np.float64)
        w_all = np.asarray(counts, dtype=np.float64)
        keys, inverse = np.unique(np.column_stack([t_all, c_all]), axis=0, return_inverse=True)
        weights = np.bincount(inverse.ravel(), weights=w_all).astype(np.float64)
        keep = weights > 0
        t, is_cens, w = keys[keep, 0], keys[keep, 1].astype(bool), weights[keep]
        if not (w[~is_cens] > 0).any():
            raise ModelError("sbg: no customer churned in the data, so churn cannot be estimated")

        def objective(z: FloatArray) -> tuple[float, FloatArray]:
            return _neg_log_likelihood(z, t, is_cens, w)

        result = fit_mle(
            objective,
            (1.0, 1.0),
            self.param_names,
            what="sbg",
            tol=self.tol,
            max_iter=self.max_iter,
        )
        self._store(result, int(sum(c[0] for c in curves)))
        return self

    def fit_from_subscriptions(
        self,
        ws: Workspace,
        *,
        period: str = "month",
        as_of: dt.datetime | None = None,
    ) -> ShiftedBetaGeoModel:
        """Fit to the monthly cohorts of the workspace's ``subscriptions`` table.

        See :func:`survivors_from_subscriptions` for how the survivor curves
        are built.

        Returns
        -------
        ShiftedBetaGeoModel
            ``self``, fitted.
        """
        curves = survivors_from_subscriptions(ws, period=period, as_of=as_of)
        return self.fit(curves)

    # -- predictions ------------------------------------------------------------------
    def _ab(self) -> tuple[float, float]:
        self._check_fitted()
        return self.params_["alpha"], self.params_["beta"]

    def survival(self, t: Any) -> FloatArray:
        """Share of a cohort still active after ``t`` periods, ``S(t) = B(α, β+t)/B(α, β)``.

        Parameters
        ----------
        t
            Periods (≥ 0), scalar or array.

        Returns
        -------
        numpy.ndarray
            ``S(t)`` of Fader & Hardie (2007); 1 at t = 0.
        """
        a, b = self._ab()
        tt = _periods(t, lowest=0)
        out: FloatArray = np.exp(special.betaln(a, b + tt) - special.betaln(a, b))
        return out

    def retention_rate(self, t: Any) -> FloatArray:
        """Share of those active at period t−1 who are still active at t.

        Parameters
        ----------
        t
            Periods (≥ 1), scalar or array.

        Returns
        -------
        numpy.ndarray
            ``r(t) = (β + t − 1) / (α + β + t − 1)`` (Fader & Hardie 2007),
            rising with t.
        """
        a, b = self._ab()
        tt = _periods(t, lowest=1)
        out: FloatArray = (b + tt - 1.0) / (a + b + tt - 1.0)
        return out

    def residual_lifetime(self, t: Any, discount_rate: float | None = None) -> FloatArray:
        """Expected further renewals of a customer who has renewed ``t`` times.

        The customer is active and has paid for period ``t + 1``; the result is
        the expected number of later periods paid, ``Σ_{k≥1} S(t+k)/S(t) / (1+d)^(k−1)``:
        the first renewal is counted undiscounted, as in the discounted expected
        residual lifetime (DERL) of Fader & Hardie (2010).

        Parameters
        ----------
        t
            Renewals made so far (≥ 0), scalar or array.
        discount_rate
            Discount rate per period ``d`` (> 0). ``None`` gives the undiscounted
            expectation ``(β + t)/(α − 1)``, which is infinite when α ≤ 1 (the
            mean of 1/θ does not exist).

        Returns
        -------
        numpy.ndarray
            With ``d``: ``B(α, β+t+1)/B(α, β+t) · ₂F₁(1, β+t+1; α+β+t+1; 1/(1+d))``
            (Fader & Hardie 2010, DERL with n − 1 = t renewals).

        References
        ----------
        .. [1] Fader, P. S. and Hardie, B. G. S. (2010). Customer-Base Valuation in
           a Contractual Setting: The Perils of Ignoring Heterogeneity.
           *Marketing Science* 29(1), 85–93.
        """
        a, b = self._ab()
        tt = _periods(t, lowest=0)
        if discount_rate is None:
            if a <= 1.0:
                return np.full_like(tt, np.inf)
            out: FloatArray = (b + tt) / (a - 1.0)
            return out
        if not np.isfinite(discount_rate) or discount_rate <= 0:
            raise ModelError("discount_rate must be a positive number per period (e.g. 0.1)")
        ratio = np.exp(special.betaln(a, b + tt + 1.0) - special.betaln(a, b + tt))
        hyp = special.hyp2f1(1.0, b + tt + 1.0, a + b + tt + 1.0, 1.0 / (1.0 + discount_rate))
        derl: FloatArray = ratio * hyp
        return derl


def _neg_log_likelihood(
    z: FloatArray, t: FloatArray, censored: Any, w: FloatArray
) -> tuple[float, FloatArray]:
    """Negative log-likelihood (Fader & Hardie 2007) and its gradient in ln α, ln β."""
    a, b = np.exp(z)
    # Churned in period t: ln B(a+1, b+t−1); still active after t: ln B(a, b+t).
    a1 = np.where(censored, a, a + 1.0)
    b1 = np.where(censored, b + t, b + t - 1.0)
    ll_rows = special.betaln(a1, b1) - special.betaln(a, b)
    da_row, db_row = _betaln_grads(a1, b1)
    da0, db0 = _betaln_grads(np.asarray(a), np.asarray(b))
    ll = float(np.sum(w * ll_rows))
    ga = float(np.sum(w * (da_row - da0)))
    gb = float(np.sum(w * (db_row - db0)))
    return -ll, -np.array([ga * a, gb * b])


def _periods(t: Any, *, lowest: int) -> FloatArray:
    tt = np.asarray(t, dtype=np.float64)
    if not np.isfinite(tt).all() or (tt < lowest).any():
        raise ModelError(f"periods must be finite numbers ≥ {lowest}")
    return tt


def survivors_from_subscriptions(
    ws: Workspace, *, period: str = "month", as_of: dt.datetime | None = None
) -> list[FloatArray]:
    """Survivor curves of the monthly start cohorts of the ``subscriptions`` table.

    A cohort is the subscriptions whose ``started_at`` (first paid day, after
    any trial) falls in one calendar month of the workspace's time zone. A
    subscription counts as active at the start of its k-th month if it had not
    ended by ``started_at + k months``; the cohort's curve runs to the last k that every member has
    reached by ``as_of``, so every count is fully observed. Subscriptions still
    in their trial (status ``trialing``) and ones that ended on or before their
    start (no paid period) are left out.

    Parameters
    ----------
    ws
        An open workspace.
    period
        Only ``"month"`` (monthly billing cohorts).
    as_of
        End of observation; default the latest timestamp in the table.

    Returns
    -------
    list of numpy.ndarray
        One survivor curve per cohort with at least one full period, oldest first.

    Raises
    ------
    ModelError
        If ``period`` is not ``"month"`` or no cohort has a full period.
    """
    if period != "month":
        raise ModelError(f"period must be 'month', not {period!r}")
    subs = ws.table("subscriptions")
    frame = subs.select("started_at", "ended_at", "canceled_at", "status").to_pandas()
    if frame.empty:
        raise ModelError("the subscriptions table is empty; nothing to fit")
    started = pd.to_datetime(frame["started_at"], utc=True)
    ended = pd.to_datetime(frame["ended_at"], utc=True)
    if as_of is None:
        end = pd.concat([started, ended, pd.to_datetime(frame["canceled_at"], utc=True)]).max()
    else:
        end = pd.Timestamp(as_of)
        end = end.tz_localize("UTC") if end.tzinfo is None else end.tz_convert("UTC")
    status = frame["status"].astype("string").str.lower().fillna("")
    keep = started.notna() & (status != "trialing") & ~(ended.notna() & (ended <= started))
    started, ended = started[keep], ended[keep]
    cohort = started.dt.tz_convert(ws.time_zone).dt.tz_localize(None).dt.to_period("M")
    curves: list[FloatArray] = []
    for _, idx in started.groupby(cohort).groups.items():
        s, e = started.loc[idx], ended.loc[idx]
        counts = [float(len(s))]
        k = 1
        while True:
            anniversaries = s + pd.DateOffset(months=k)
            if anniversaries.max() > end:
                break
            counts.append(float((e.isna() | (e > anniversaries)).sum()))
            k += 1
        if len(counts) >= 2:
            curves.append(np.asarray(counts, dtype=np.float64))
    if not curves:
        raise ModelError("no subscription cohort has been observed for a full month yet")
    return curves
