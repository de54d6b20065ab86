"""Calibrate the business model to a business's own history.

Every parameter of :class:`~smbgrowth.dynamics.business.BusinessParameters`
is either estimated from the data, with a standard error that becomes its
Monte Carlo distribution, or reported as assumed, with its default and a
deliberately wide distribution. The estimators (all over the last 12 complete
months unless said otherwise):

- CAC per paid channel: spend ÷ new customers of the channel (a ratio
  estimator with its standard error), times the share of the market still
  open (the model's CAC is at a full market); response to spend
  (elasticity) from a log-log regression of monthly new customers on spend
  when spend varied enough, else assumed.
- Organic leads and word of mouth: organic new customers a month; referral
  new customers per active customer.
- Churn: observed losses ÷ customer-months where the data record them,
  else BG/NBD (Fader, Hardie & Lee 2005) fitted to the orders: the mean
  dropout hazard ``(r/α)·a/(a+b)`` per week, as a monthly rate. Active
  customers are then reconstructed month by month from new customers and
  that churn, exactly as the model accumulates them.
- Purchase rate and order value per segment: repeat orders per active
  customer-month (seasonally weighted); net revenue per order.
- Subscriptions: take rate (new subscriptions ÷ new customers), churn
  (cancellations ÷ subscriber-months, the cohorts' hazard), fee (revenue ÷
  subscriber-months).
- Support: tasks per order from tickets; capacity and the normal response
  time from a regression of 1 / response time on monthly tickets, which is
  linear when response time follows ``τ / (1 − tickets / capacity)`` as in an
  M/M/1 queue; productivity = capacity ÷ staff.
- Costs: variable-cost share of revenue; fixed costs and payroll over the
  last 3 months; salary from the steps in payroll (one hire = one step).
- Market size: the ceiling of the S-curve fitted to cumulative customers
  (:class:`~smbgrowth.models.lifecycle.LifecycleModel`), when it has one.
- Seasonality: new customers relative to their centred 12-month moving
  average, by calendar month (two years of data or more).

:func:`calibrate` then runs the model over the last months of the history
with the actual spend and compares it with what happened (fit error).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from smbgrowth.dynamics.business import (
    BusinessParameters,
    Channel,
    Segment,
    business_model,
    channel_key,
)
from smbgrowth.dynamics.engine import SimulationResult, simulate
from smbgrowth.dynamics.history import REFERRAL_CHANNELS, History, history_from_workspace
from smbgrowth.dynamics.uncertainty import Distribution
from smbgrowth.errors import ModelError

if TYPE_CHECKING:
    from smbgrowth.data.workspace import Workspace

__all__ = [
    "ASSUMED",
    "Calibration",
    "Estimate",
    "FitError",
    "calibrate",
    "calibrate_workspace",
    "history_from_run",
]

WEEKS_PER_MONTH = 30.4375 / 7
#: Months used for levels and rates.
RECENT = 12
#: Months of the historical run compared with the actual history.
FIT_MONTHS = 24


@dataclass(frozen=True)
class Assumption:
    value: float
    distribution: Distribution
    why: str


ASSUMED: dict[str, Assumption] = {
    "conversion_probability": Assumption(
        0.3, Distribution("triangular", 0.15, 0.3, 0.5), "share of leads who buy"
    ),
    "lead_time": Assumption(
        0.5, Distribution("triangular", 0.25, 0.5, 1.0), "months from lead to purchase"
    ),
    "elasticity": Assumption(
        0.7,
        Distribution("triangular", 0.4, 0.7, 1.0),
        "new customers rise as spend^0.7 (diminishing returns)",
    ),
    "churn_quality_sensitivity": Assumption(
        2.0,
        Distribution("triangular", 1.0, 2.0, 3.5),
        "churn doubles when service quality halves",
    ),
    "quality_perception_time": Assumption(
        2.0, Distribution("triangular", 1.0, 2.0, 4.0), "months for customers to notice"
    ),
    "price_elasticity": Assumption(
        0.8, Distribution("triangular", 0.3, 0.8, 1.5), "purchases fall 0.8 % per 1 % price"
    ),
    "price_churn_elasticity": Assumption(
        1.0, Distribution("triangular", 0.3, 1.0, 2.0), "churn rises 1 % per 1 % price"
    ),
    "error_rate": Assumption(
        0.05, Distribution("triangular", 0.02, 0.05, 0.1), "share of work redone after errors"
    ),
    "hiring_delay": Assumption(
        2.0, Distribution("triangular", 1.0, 2.0, 3.0), "months to fill a position"
    ),
    "ramp_up_time": Assumption(
        3.0, Distribution("triangular", 2.0, 3.0, 6.0), "months until a hire is fully productive"
    ),
    "attrition_rate": Assumption(
        0.02, Distribution("triangular", 0.01, 0.02, 0.04), "share of staff leaving a month"
    ),
    "cost_per_hire": Assumption(
        3000.0, Distribution("triangular", 1500.0, 3000.0, 6000.0), "recruiting cost per hire"
    ),
}
"""Parameters the data rarely identify: default, distribution and meaning."""


@dataclass(frozen=True)
class Estimate:
    """One parameter: its value, how sure we are, and where it comes from."""

    name: str
    value: float
    sd: float | None
    unit: str
    source: Literal["data", "assumed"]
    basis: str
    distribution: Distribution | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (distribution as kind and parameters)."""
        out = asdict(self)
        out["distribution"] = None if self.distribution is None else asdict(self.distribution)
        return out


@dataclass(frozen=True)
class FitError:
    """How well the historical run reproduces one actual monthly series."""

    series: str
    months: int
    mape: float
    bias: float
    actual_total: float
    simulated_total: float


@dataclass(frozen=True)
class Calibration:
    """Calibrated parameters, their uncertainty, and the fit to the history."""

    params: BusinessParameters
    estimates: list[Estimate]
    fit: list[FitError]
    history: History
    historical_run: SimulationResult | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def distributions(self) -> dict[str, Distribution]:
        """Monte Carlo distribution per model constant."""
        return {e.name: e.distribution for e in self.estimates if e.distribution is not None}

    @property
    def assumed(self) -> list[Estimate]:
        """Parameters the data could not identify."""
        return [e for e in self.estimates if e.source == "assumed"]

    def estimate(self, name: str) -> Estimate:
        """Return the estimate of one model constant."""
        for e in self.estimates:
            if e.name == name:
                return e
        raise ModelError(f"no estimate named {name!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: parameters, fit errors and notes."""
        return {
            "estimates": [e.to_dict() for e in self.estimates],
            "fit": [asdict(f) for f in self.fit],
            "notes": list(self.notes),
            "history_months": len(self.history.totals),
        }


class _Builder:
    """Collects estimates as they are made."""

    def __init__(self) -> None:
        self.estimates: list[Estimate] = []

    def data(
        self,
        name: str,
        value: float,
        sd: float | None,
        unit: str,
        basis: str,
        *,
        kind: Literal["lognormal", "normal", "none"] = "lognormal",
        low: float | None = 0.0,
    ) -> float:
        dist: Distribution | None = None
        if sd is not None and sd > 0 and kind != "none" and math.isfinite(sd):
            if kind == "lognormal" and value > 0:
                dist = Distribution("lognormal", value, math.sqrt(math.log1p((sd / value) ** 2)))
            else:
                dist = Distribution("normal", value, sd, low=low)
        self.estimates.append(Estimate(name, float(value), sd, unit, "data", basis, dist))
        return float(value)

    def assumed(self, name: str, key: str, unit: str, value: float | None = None) -> float:
        a = ASSUMED[key]
        v = a.value if value is None else value
        dist = a.distribution
        if value is not None and a.value > 0:
            ratio = value / a.value
            dist = Distribution("triangular", dist.a * ratio, dist.b * ratio, dist.c * ratio)
        self.estimates.append(Estimate(name, float(v), None, unit, "assumed", a.why, dist))
        return float(v)

    def fixed(
        self,
        name: str,
        value: float,
        unit: str,
        basis: str,
        source: Literal["data", "assumed"] = "assumed",
    ) -> float:
        self.estimates.append(Estimate(name, float(value), None, unit, source, basis, None))
        return float(value)


def _ratio(num: np.ndarray, den: np.ndarray) -> tuple[float, float]:
    """Ratio estimator Σnum/Σden and its standard error across months."""
    total = float(den.sum())
    if total <= 0:
        return math.nan, math.nan
    r = float(num.sum()) / total
    n = len(num)
    if n < 2:
        return r, math.nan
    resid = num - r * den
    se = math.sqrt(n / (n - 1) * float((resid**2).sum())) / total
    return r, se


def _seasonality(new: pd.Series) -> tuple[list[float], bool]:
    """Monthly factors (calendar Jan..Dec, mean 1) from a 2×12 centred moving average."""
    if len(new) < 24 or (new <= 0).sum() > len(new) // 4:
        return [1.0] * 12, False
    values = new.to_numpy(dtype=float)
    ma = pd.Series(values).rolling(12, center=True).mean().rolling(2).mean().shift(-1).to_numpy()
    ratios: dict[int, list[float]] = {m: [] for m in range(1, 13)}
    for label, v, m in zip(new.index, values, ma, strict=True):
        if np.isfinite(m) and m > 0:
            ratios[int(str(label)[5:7])].append(v / m)
    if any(not r for r in ratios.values()):
        return [1.0] * 12, False
    factors = np.array([float(np.mean(ratios[m])) for m in range(1, 13)])
    factors = factors / factors.mean()
    return [round(float(f), 4) for f in factors], True


def _reconstruct(new: np.ndarray, churn: float, start: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean and end-of-month active customers from monthly new customers and churn."""
    decay = math.exp(-churn)
    gain = (1 - decay) / churn if churn > 0 else 1.0
    ends = np.empty(len(new))
    level = start
    for i, n in enumerate(new):
        ends[i] = level * decay + n * gain
        level = ends[i]
    starts = np.concatenate([[start], ends[:-1]])
    return (starts + ends) / 2, ends


def _capacity(
    tickets: np.ndarray, response: np.ndarray
) -> tuple[float, float, float, float] | None:
    """Capacity and normal response time from 1/response = 1/τ − W/(τ·C); None if not identified."""
    ok = np.isfinite(response) & (response > 0) & (tickets >= 5)
    if ok.sum() < 8:
        return None
    w, y = tickets[ok], 1.0 / response[ok]
    x = np.column_stack([np.ones_like(w), w])
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ coef
    dof = len(y) - 2
    s2 = float(resid @ resid) / dof
    cov = s2 * np.linalg.inv(x.T @ x)
    a, b = float(coef[0]), float(coef[1])
    if a <= 0 or b >= 0 or b / math.sqrt(cov[1, 1]) > -2:
        return None
    cap = -a / b
    grad = np.array([-1 / b, a / b**2])
    cap_se = math.sqrt(float(grad @ cov @ grad))
    tau = 1 / a
    tau_se = math.sqrt(cov[0, 0]) / a**2
    return cap, cap_se, tau, tau_se


def _salary(payroll: pd.Series) -> float | None:
    """One person's monthly cost from the steps between payroll levels, if they are whole."""
    levels = np.unique(np.round(payroll[payroll > 0].to_numpy(dtype=float), 2))
    if len(levels) < 2:
        return None
    step = float(np.min(np.diff(levels)))
    if step < 0.01 * float(levels.max()) or levels.max() / step > 500:
        return None
    heads = levels / step
    if np.all(np.abs(heads - np.round(heads)) < 0.02):
        return step
    return None


def _bgnbd_churn(ws: Workspace, notes: list[str]) -> tuple[float, float, float] | None:
    """Monthly churn from a BG/NBD fit: value, standard error, customers.

    None when the fit fails or the data do not identify it (its dropout rate
    would be an arbitrary number); the reason is then added to ``notes``.
    """
    from smbgrowth.models.clv.workflow import fit_model

    try:
        model = fit_model(ws, "bgnbd", time_unit="week")
    except ModelError:
        return None
    if not model.identified_:
        notes.append(f"churn not taken from the BG/NBD fit: {model.identification_issue_}")
        return None
    p, se = model.params_, model.standard_errors_
    names = ("r", "alpha", "a", "b")
    if not all(k in p for k in names):
        return None

    def hazard(r: Any, alpha: Any, a: Any, b: Any) -> Any:
        return r / alpha * a / (a + b) * WEEKS_PER_MONTH

    value = float(hazard(*(p[k] for k in names)))
    rng = np.random.default_rng(0)
    draws = [np.maximum(rng.normal(p[k], se.get(k, 0.0) or 0.0, 2000), p[k] * 0.05) for k in names]
    sd = float(np.std(hazard(*draws)))
    return value, sd, float(model.n_customers_)


def calibrate(
    history: History,
    *,
    bgnbd_churn: tuple[float, float] | None = None,
    cash: float | None = None,
    market_size: tuple[float, float] | None = None,
    deals: tuple[float, float] | None = None,
    fit_months: int = FIT_MONTHS,
) -> Calibration:
    """Estimate the model's parameters from a monthly history.

    Parameters
    ----------
    history
        The business's monthly history (at least 3 months).
    bgnbd_churn
        Monthly churn and its standard error from a BG/NBD fit, used when the
        history does not record lost customers.
    cash
        Cash in the bank at the end of the history.
    market_size
        Market size and its standard error (e.g. an S-curve ceiling).
    deals
        Conversion probability and lead time (months) measured on deals.
    fit_months
        Months of the historical run compared with the actual history.
    """
    n = len(history.totals)
    if n < 3:
        raise ModelError("calibration needs at least 3 months of history")
    b = _Builder()
    notes: list[str] = []
    recent = history.tail(RECENT)
    t = recent.totals
    months = len(t)

    # Seasonality from the customers who came unpaid when there are enough of them
    # (paid ones follow the spend), else from all new customers.
    unpaid = [c for c in history.new_by_channel.columns if c not in history.spend_by_channel]
    unpaid_new = history.new_by_channel[unpaid].sum(axis=1) if unpaid else None
    if unpaid_new is not None and (unpaid_new > 0).mean() > 0.9 and unpaid_new.sum() >= 200:
        seasonality, seasonal = _seasonality(unpaid_new)
    else:
        seasonality, seasonal = _seasonality(history.new_by_segment.sum(axis=1))
    if seasonal:
        notes.append("seasonality estimated from new customers by calendar month")
    else:
        notes.append("no seasonality: fewer than 24 months of new customers (assumed flat)")
    season_of = {
        m: seasonality[int(m[5:7]) - 1] for m in history.months
    }  # factor for each month label
    recent_season = np.array([season_of[m] for m in recent.months])

    # --- leads -----------------------------------------------------------------
    if deals is not None:
        conv = b.data(
            "conversion_probability",
            deals[0],
            math.sqrt(deals[0] * (1 - deals[0]) / 30),
            "1",
            "won ÷ closed deals",
            kind="normal",
        )
        lead_time = b.data("lead_time", deals[1], deals[1] * 0.2, "month", "days to close deals")
    else:
        conv = b.assumed("conversion_probability", "conversion_probability", "1")
        lead_time = b.assumed("lead_time", "lead_time", "month")

    # --- segments and churn ------------------------------------------------------
    new_seg = history.new_by_segment
    totals_new = float(new_seg.to_numpy().sum()) + history.customers_before
    segs = [c for c in new_seg.columns if new_seg[c].sum() > 0]
    if not segs:
        raise ModelError("no new customers in the history: nothing to calibrate acquisition on")
    recent_new = recent.new_by_segment[segs].sum()
    shares = recent_new / recent_new.sum() if recent_new.sum() > 0 else new_seg[segs].sum()
    shares = shares / shares.sum()
    observed_churn = not history.churned_by_segment.empty
    segments: dict[str, Segment] = {}
    active_end: dict[str, float] = {}
    active_mean_total = np.zeros(months)
    for seg in segs:
        k = channel_key(seg)
        if observed_churn and seg in history.churned_by_segment:
            lost = recent.churned_by_segment[seg].to_numpy(dtype=float)
            exposure = recent.active_by_segment[seg].to_numpy(dtype=float)
            churn = float(lost.sum() / exposure.sum()) if exposure.sum() > 0 else math.nan
            se = math.sqrt(max(lost.sum(), 1.0)) / max(exposure.sum(), 1.0)
            churn = b.data(f"churn_{k}", churn, se, "1/month", "customers lost ÷ customer-months")
        elif bgnbd_churn is not None:
            churn = b.data(
                f"churn_{k}",
                bgnbd_churn[0],
                bgnbd_churn[1],
                "1/month",
                "BG/NBD dropout hazard (r/α)·a/(a+b), all customers",
            )
        else:
            churn = b.fixed(f"churn_{k}", 0.05, "1/month", "no churn data: 5 % a month assumed")
        if observed_churn and seg in history.active_by_segment:
            mean_all = history.active_by_segment[seg].to_numpy(dtype=float)
            end_level = float(mean_all[-1])
        else:
            mean_all, ends = _reconstruct(
                new_seg[seg].to_numpy(dtype=float),
                churn,
                history.customers_before * float(shares.get(seg, 0.0)),
            )
            end_level = float(ends[-1])
        mean_recent = mean_all[-months:]
        active_mean_total += mean_recent
        firsts = recent.new_by_segment[seg].to_numpy(dtype=float)
        orders = recent.orders_by_segment.get(seg, pd.Series(0.0, index=t.index)).to_numpy(float)
        revenue = recent.revenue_by_segment.get(seg, pd.Series(0.0, index=t.index)).to_numpy(float)
        repeat = np.maximum(orders - firsts, 0)
        exposure = mean_recent * recent_season
        rate, rate_se = _ratio(repeat, exposure)
        if not math.isfinite(rate):
            rate, rate_se = 0.0, math.nan
        rate = b.data(
            f"purchase_rate_{k}",
            rate,
            rate_se,
            "orders/(customers*month)",
            "repeat orders ÷ active customer-months (seasonally weighted)",
        )
        value, value_se = _ratio(revenue, orders)
        if not math.isfinite(value):
            value, value_se = 0.0, math.nan
        value = b.data(f"order_value_{k}", value, value_se, "money/orders", "net revenue ÷ orders")
        share = b.fixed(
            f"share_{k}",
            float(shares[seg]),
            "1",
            "share of new customers, last 12 months",
            source="data",
        )
        segments[seg] = Segment(share, churn, rate, value, initial=end_level)
        active_end[seg] = end_level

    # --- market -------------------------------------------------------------------
    active_now = sum(active_end.values())
    if market_size is not None:
        market = b.data(
            "market_size", market_size[0], market_size[1], "customers", "S-curve ceiling"
        )
    else:
        market = b.fixed(
            "market_size",
            max(10.0 * totals_new, 1000.0),
            "customers",
            "not identified (no S-curve ceiling yet): 10 × customers so far assumed",
        )
        b.estimates[-1] = Estimate(
            "market_size",
            market,
            None,
            "customers",
            "assumed",
            b.estimates[-1].basis,
            Distribution("lognormal", market, 0.5),
        )
    saturation = max(1.0 - totals_new / market, 0.05)

    # --- channels -----------------------------------------------------------------
    channels: dict[str, Channel] = {}
    spend = recent.spend_by_channel
    new_ch = recent.new_by_channel
    paid = [c for c in spend.columns if spend[c].sum() > 0]
    for ch in paid:
        k = channel_key(ch)
        s = spend[ch].to_numpy(dtype=float)
        nc = new_ch[ch].to_numpy(dtype=float) if ch in new_ch else np.zeros(months)
        if nc.sum() <= 0:
            notes.append(f"{ch}: spend but no customers attributed; left out of the model")
            continue
        cac, cac_se = _ratio(s, nc)
        cac = b.data(
            f"cac_{k}",
            cac * saturation,
            cac_se * saturation,
            "money/customers",
            "spend ÷ new customers, at a full market",
        )
        full = history.spend_by_channel[ch].to_numpy(dtype=float)
        full_new = (
            history.new_by_channel[ch].to_numpy(dtype=float)
            if ch in history.new_by_channel
            else np.zeros(n)
        )
        use = (full > 0) & (full_new > 0)
        elasticity: float | None = None
        if use.sum() >= 12 and np.std(np.log(full[use])) > 0.15:
            x = np.log(full[use])
            y = np.log(full_new[use])
            columns = [np.ones_like(x), x]
            if seasonal:  # the season is a covariate: spend often follows it
                columns.append(np.log([season_of[m] for m in np.array(history.months)[use]]))
            design = np.column_stack(columns)
            coef, *_ = np.linalg.lstsq(design, y, rcond=None)
            resid = y - design @ coef
            s2 = float(resid @ resid) / (len(x) - design.shape[1])
            slope = float(coef[1])
            se = math.sqrt(s2 * float(np.linalg.inv(design.T @ design)[1, 1]))
            if 0.1 <= slope <= 1.2:
                elasticity = b.data(
                    f"elasticity_{k}",
                    float(slope),
                    se,
                    "1",
                    "log-log regression of new customers on spend (and season)",
                    kind="normal",
                    low=0.05,
                )
        if elasticity is None:
            elasticity = b.assumed(f"elasticity_{k}", "elasticity", "1")
        monthly = b.data(f"spend_{k}", float(s.mean()), None, "money/month", "mean monthly spend")
        channels[ch] = Channel(spend=monthly, cac=cac, elasticity=elasticity)

    referral = [c for c in new_ch.columns if c.lower() in REFERRAL_CHANNELS]
    organic_channels = [c for c in new_ch.columns if c not in referral and c not in channels]
    org = (
        new_ch[organic_channels].sum(axis=1).to_numpy(dtype=float)
        if organic_channels
        else np.zeros(months)
    )
    org_rate, org_se = _ratio(org, recent_season * saturation)
    if not math.isfinite(org_rate):
        org_rate, org_se = 0.0, math.nan
    organic = b.data(
        "organic_customers",
        org_rate,
        org_se,
        "customers/month",
        f"new customers from {', '.join(organic_channels) or 'no organic channel'}",
    )
    ref = new_ch[referral].sum(axis=1).to_numpy(dtype=float) if referral else np.zeros(months)
    wom, wom_se = _ratio(ref, active_mean_total * recent_season * saturation)
    if not math.isfinite(wom):
        wom, wom_se = 0.0, math.nan
    wom = b.data(
        "wom_rate",
        wom,
        wom_se,
        "1/month",
        "referred new customers ÷ active customer-months",
    )

    # --- subscriptions ----------------------------------------------------------------
    subs_end = float(t["subscribers"].iloc[-1]) if "subscribers" in t else 0.0
    new_subs = t.get("new_subscriptions", pd.Series(0.0, index=t.index)).to_numpy(float)
    take, take_se = _ratio(new_subs, recent.new_by_segment[segs].sum(axis=1).to_numpy(float))
    if not math.isfinite(take):
        take, take_se = 0.0, math.nan
    take = b.data(
        "subscription_take_rate", take, take_se, "1", "new subscriptions ÷ new customers",
        kind="normal",
    )  # fmt: skip
    sub_churn, sub_fee = 0.05, 0.0
    if "subscribers" in history.totals and history.totals["subscribers"].sum() > 0:
        ends = history.totals["subscribers"].to_numpy(dtype=float)
        starts = np.concatenate([[0.0], ends[:-1]])
        exposure = ((starts + ends) / 2)[-months:]
        cancels = t["cancellations"].to_numpy(dtype=float)
        sub_churn = float(cancels.sum() / exposure.sum()) if exposure.sum() > 0 else 0.05
        sub_churn = b.data(
            "subscription_churn",
            sub_churn,
            math.sqrt(max(cancels.sum(), 1.0)) / max(exposure.sum(), 1.0),
            "1/month",
            "cancellations ÷ subscriber-months (cohort hazard)",
        )
        fee, fee_se = _ratio(t["subscription_revenue"].to_numpy(float), ends[-months:])
        sub_fee = b.data(
            "subscription_fee",
            fee,
            fee_se,
            "money/(customers*month)",
            "subscription revenue ÷ subscribers",
        )
    else:
        b.fixed("subscription_churn", sub_churn, "1/month", "no subscriptions")
        b.fixed("subscription_fee", sub_fee, "money/(customers*month)", "no subscriptions")

    # --- operations ---------------------------------------------------------------------
    error_rate = b.assumed("error_rate", "error_rate", "1")
    tickets = t.get("tickets", pd.Series(np.nan, index=t.index)).to_numpy(float)
    subscriber_months = t["subscribers"].to_numpy(float) if "subscribers" in t else np.zeros(months)
    units = t["orders"].to_numpy(float) + subscriber_months
    if np.isfinite(tickets).all() and tickets.sum() > 0:
        tpo, tpo_se = _ratio(tickets / (1 + error_rate), units)
        tpo = b.data(
            "tasks_per_order",
            tpo,
            tpo_se,
            "tasks/orders",
            "support tickets ÷ (orders + subscriber-months), less rework",
        )
    else:
        tpo = b.fixed("tasks_per_order", 0.05, "tasks/orders", "no tickets: 5 per 100 orders")
    all_tickets = history.totals.get("tickets", pd.Series(np.nan, index=history.totals.index))
    response = history.totals.get("response_months", pd.Series(np.nan, index=history.totals.index))
    queue = _capacity(all_tickets.to_numpy(float), response.to_numpy(float))
    payroll = t.get("payroll", pd.Series(np.nan, index=t.index)).to_numpy(float)
    salary_steps = _salary(history.totals.get("payroll", pd.Series(dtype=float)).fillna(0))
    if salary_steps is not None:
        salary = b.data(
            "salary", salary_steps, None, "money/(staff*month)", "step between payroll levels"
        )
    else:
        salary = b.fixed("salary", 4500.0, "money/(staff*month)", "not identified: 4,500 assumed")
    last_payroll = float(np.nanmean(payroll[-3:])) if np.isfinite(payroll[-3:]).any() else 0.0
    staff = max(round(last_payroll / salary), 1) if last_payroll > 0 else 1
    b.fixed(
        "planned_staff",
        float(staff),
        "staff",
        "payroll of the last 3 months ÷ salary",
        source="data" if salary_steps is not None else "assumed",
    )
    if queue is not None:
        cap, cap_se, tau, tau_se = queue
        productivity = b.data(
            "productivity",
            cap / staff,
            cap_se / staff,
            "tasks/(staff*month)",
            f"ticket capacity {cap:.0f}/month (response time vs load) ÷ {staff} staff",
        )
        tau = b.data(
            "normal_response_time",
            tau,
            tau_se,
            "month",
            "response time at low load (same regression)",
        )
    else:
        peak = float(np.nanmax(all_tickets.to_numpy(float))) if all_tickets.notna().any() else 0.0
        cap = max(peak / 0.7, 1.0)
        productivity = b.fixed(
            "productivity",
            cap / staff,
            "tasks/(staff*month)",
            "capacity not identified: busiest month at 70 % utilisation assumed",
        )
        b.estimates[-1] = Estimate(
            "productivity",
            productivity,
            None,
            "tasks/(staff*month)",
            "assumed",
            b.estimates[-1].basis,
            Distribution("triangular", productivity * 0.7, productivity, productivity * 1.5),
        )
        med = float(np.nanmedian(response.to_numpy(float))) if response.notna().any() else 0.05
        tau = b.fixed("normal_response_time", med, "month", "median response time")

    # --- finance ----------------------------------------------------------------------------
    revenue = (t["revenue"] + t.get("subscription_revenue", 0.0)).to_numpy(float)
    other = t.get("other_revenue", pd.Series(0.0, index=t.index)).to_numpy(float)
    variable = t.get("variable_costs", pd.Series(np.nan, index=t.index)).to_numpy(float)
    if np.isfinite(variable).all() and (revenue + other).sum() > 0:
        share, share_se = _ratio(variable, revenue + other)
        cogs = b.data("cogs_share", share, share_se, "1", "variable costs ÷ revenue", kind="normal")
    else:
        cogs = b.fixed("cogs_share", 0.45, "1", "no cost data: 45 % assumed")
    fixed_costs = t.get("fixed_costs", pd.Series(np.nan, index=t.index)).to_numpy(float)
    if np.isfinite(fixed_costs[-3:]).all():
        fixed = b.data(
            "fixed_costs",
            float(fixed_costs[-3:].mean()),
            float(fixed_costs[-3:].std(ddof=1)) if months >= 3 else None,
            "money/month",
            "non-payroll, non-marketing, fixed expenses (last 3 months)",
            kind="normal",
        )
    else:
        fixed = b.fixed("fixed_costs", 0.0, "money/month", "no expenses imported")
    other_revenue = b.data(
        "other_revenue",
        float(other[-3:].mean()),
        None,
        "money/month",
        "invoiced revenue of customers without orders (last 3 months)",
    )
    if cash is not None:
        initial_cash = b.data("initial_cash", cash, None, "money", "cash balance stored")
    else:
        guess = 3 * (fixed + last_payroll)
        initial_cash = b.fixed(
            "initial_cash", guess, "money", "no balance stored: 3 months of costs"
        )

    assumed_values: dict[str, float] = {}
    for key in (
        "churn_quality_sensitivity",
        "quality_perception_time",
        "price_elasticity",
        "price_churn_elasticity",
        "hiring_delay",
        "ramp_up_time",
        "attrition_rate",
        "cost_per_hire",
    ):
        unit = {"quality_perception_time": "month", "hiring_delay": "month"}.get(key, "1")
        unit = {"ramp_up_time": "month", "attrition_rate": "1/month"}.get(key, unit)
        unit = "money/staff" if key == "cost_per_hire" else unit
        assumed_values[key] = b.assumed(key, key, unit)

    end_month = int(history.months[-1][5:7])
    params = BusinessParameters(
        market_size=market,
        customers_ever=totals_new,
        organic_customers=organic,
        wom_rate=wom,
        conversion_probability=conv,
        lead_time=lead_time,
        channels=channels,
        seasonality=seasonality,
        start_month=end_month % 12 + 1,
        segments=segments,
        subscription_take_rate=min(max(take, 0.0), 1.0),
        subscription_churn=sub_churn,
        subscription_fee=sub_fee,
        initial_subscribers=subs_end,
        tasks_per_order=tpo,
        tasks_per_subscriber=tpo,
        error_rate=error_rate,
        productivity=productivity,
        initial_staff=float(staff),
        normal_response_time=tau,
        initial_cash=initial_cash,
        cogs_share=min(max(cogs, 0.0), 1.0),
        fixed_costs=fixed,
        other_revenue=other_revenue,
        salary=salary,
        **assumed_values,
    )
    if active_now <= 0:
        notes.append("no active customers at the end of the history")
    calibration = Calibration(params, b.estimates, [], history, None, notes)
    return _with_fit(calibration, fit_months)


def _with_fit(calibration: Calibration, fit_months: int) -> Calibration:
    """Run the model over the last months of the history and compare with the actuals."""
    history = calibration.history
    n = len(history.totals)
    window = min(fit_months, n - 1)
    if window < 3:
        return calibration
    start = n - window
    p = calibration.params
    seasonality = p.seasonality
    start_month = int(history.months[start][5:7])
    segments: dict[str, Segment] = {}
    for seg, s in p.segments.items():
        new = history.new_by_segment[seg].to_numpy(dtype=float)
        if not history.active_by_segment.empty and seg in history.active_by_segment:
            begin = float(history.active_by_segment[seg].iloc[start - 1])
        else:
            _, ends = _reconstruct(new[:start], s.churn, history.customers_before * s.share)
            begin = float(ends[-1]) if len(ends) else 0.0
        segments[seg] = Segment(s.share, s.churn, s.purchase_rate, s.order_value, begin)
    subs = history.totals.get("subscribers", pd.Series(0.0, index=history.totals.index))
    ever = history.customers_before + float(history.new_by_segment.iloc[:start].to_numpy().sum())
    past = p.with_values(
        segments=segments,
        customers_ever=ever,
        initial_subscribers=float(subs.iloc[start - 1]),
        start_month=start_month,
        seasonality=seasonality,
    )
    spend = {ch: history.spend_by_channel[ch].to_numpy(dtype=float)[start:] for ch in p.channels}
    model = business_model(past, months=window, spend_history=spend, name="smb_history")
    result = simulate(model, t_end=float(window), dt=0.25, overrides={"relax_cash_from": 0.0})
    fit = _fit_errors(result, history.tail(window), window)
    return Calibration(
        calibration.params,
        calibration.estimates,
        fit,
        history,
        result,
        calibration.notes,
    )


def _per_month(result: SimulationResult, months: int) -> int:
    step = float(result.time[1] - result.time[0]) if len(result.time) > 1 else 1.0
    per = round(1.0 / step)
    if per < 1 or abs(per * step - 1.0) > 1e-9:
        raise ModelError("monthly totals need results recorded every month or a fraction of it")
    if len(result.time) < months * per + 1:
        raise ModelError(f"the result covers fewer than {months} months")
    return per


def monthly_totals(result: SimulationResult, name: str, months: int, run: int = 0) -> np.ndarray:
    """Sum a per-month rate over each simulated month, step by step as Euler moves it.

    With results recorded every step this is exactly what the stocks received;
    recorded monthly, it is the rate at the start of each month.
    """
    per = _per_month(result, months)
    step = 1.0 / per
    values = result[name][: months * per, run]
    out: np.ndarray = values.reshape(months, per).sum(axis=1) * step
    return out


def monthly_mean(result: SimulationResult, name: str, months: int, run: int = 0) -> np.ndarray:
    """Mean level of a variable over each simulated month."""
    per = _per_month(result, months)
    values = result[name][: months * per + 1, run]
    inner = values[:-1].reshape(months, per).sum(axis=1)
    out: np.ndarray = (inner - values[:-1:per] / 2 + values[per::per] / 2) / per
    return out


def monthly_end(result: SimulationResult, name: str, months: int, run: int = 0) -> np.ndarray:
    """Level of a variable at the end of each simulated month."""
    per = _per_month(result, months)
    out: np.ndarray = result[name][per : months * per + 1 : per, run]
    return out


def _fit_errors(result: SimulationResult, actual: History, months: int) -> list[FitError]:
    t = actual.totals
    pairs: dict[str, tuple[np.ndarray, np.ndarray]] = {
        "new customers": (
            actual.new_by_segment.sum(axis=1).to_numpy(float),
            monthly_totals(result, "conversions", months),
        ),
        "orders": (t["orders"].to_numpy(float), monthly_totals(result, "orders", months)),
        "revenue": (
            (t["revenue"] + t.get("subscription_revenue", 0.0)).to_numpy(float),
            monthly_totals(result, "revenue", months),
        ),
    }
    if "subscribers" in t and t["subscribers"].sum() > 0:
        pairs["subscribers"] = (
            t["subscribers"].to_numpy(float),
            monthly_end(result, "subscribers", months),
        )
    if "tickets" in t and np.isfinite(t["tickets"].to_numpy(float)).all():
        pairs["tickets"] = (
            t["tickets"].to_numpy(float),
            monthly_totals(result, "incoming_work", months),
        )
    out = []
    for label, (a, s) in pairs.items():
        a, s = a[-len(s) :], s[: len(a)]
        ok = a > 0
        mape = float(np.mean(np.abs(s[ok] - a[ok]) / a[ok])) if ok.any() else math.nan
        bias = float(s.sum() / a.sum() - 1) if a.sum() > 0 else math.nan
        out.append(FitError(label, len(a), mape, bias, float(a.sum()), float(s.sum())))
    return out


def history_from_run(
    result: SimulationResult,
    params: BusinessParameters,
    *,
    months: int,
    run: int = 0,
    noise: np.random.Generator | None = None,
) -> History:
    """A History as the data would record a simulated business (for calibration tests).

    Counts (customers, orders, tickets, subscriptions) are monthly integrals of
    the simulated flows; with ``noise`` they are Poisson draws around them.
    New customers are attributed to channels and months by their leads (as a
    CRM records a lead's source and date): the converting share of each
    month's leads from the channel. Spend is the effective
    spend, payroll whole heads times salary, response time the simulated mean.
    """
    labels = [
        str(m) for m in pd.period_range(f"2000-{params.start_month:02d}", periods=months, freq="M")
    ]
    index = pd.Index(labels, name="month")

    def total(name: str) -> np.ndarray:
        return monthly_totals(result, name, months, run)

    def count(values: np.ndarray) -> np.ndarray:
        values = np.maximum(values, 0.0)
        return noise.poisson(values).astype(float) if noise is not None else values

    leads = {ch: total(f"leads_from_{channel_key(ch)}") for ch in params.channels}
    leads["organic"] = total("leads_organic")
    leads["referral"] = total("leads_word_of_mouth")
    conv = params.conversion_probability
    new_by_channel = {ch: count(values * conv) for ch, values in leads.items()}
    spend = {ch: total(f"effective_spend_{channel_key(ch)}") for ch in params.channels}
    new_total = sum(new_by_channel.values(), np.zeros(months))
    seg_new: dict[str, np.ndarray] = {}
    seg_orders: dict[str, np.ndarray] = {}
    seg_revenue: dict[str, np.ndarray] = {}
    seg_active: dict[str, np.ndarray] = {}
    seg_churned: dict[str, np.ndarray] = {}
    for seg, s in params.segments.items():
        k = channel_key(seg)
        seg_new[seg] = new_total * s.share
        orders = count(total(f"orders_{k}"))
        seg_orders[seg] = orders
        seg_revenue[seg] = orders * s.order_value
        seg_active[seg] = monthly_mean(result, f"customers_{k}", months, run)
        seg_churned[seg] = count(total(f"churned_{k}"))
    subs = monthly_end(result, "subscribers", months, run)
    totals = pd.DataFrame(
        {
            "orders": sum(seg_orders.values(), np.zeros(months)),
            "revenue": sum(seg_revenue.values(), np.zeros(months)),
            "subscription_revenue": subs * params.subscription_fee,
            "subscribers": subs,
            "new_subscriptions": count(total("new_subscriptions")),
            "cancellations": count(total("cancellations")),
            "tickets": count(total("incoming_work")),
            "response_months": monthly_mean(result, "response_time", months, run),
            "payroll": np.round(monthly_mean(result, "staff", months, run)) * params.salary,
            "fixed_costs": np.full(months, params.fixed_costs),
            "variable_costs": total("cogs"),
            "other_revenue": np.full(months, params.other_revenue),
        },
        index=index,
    )

    def frame(data: Mapping[str, np.ndarray]) -> pd.DataFrame:
        return pd.DataFrame(dict(data), index=index)

    return History(
        totals=totals,
        new_by_channel=frame(new_by_channel),
        spend_by_channel=frame(spend),
        new_by_segment=frame(seg_new),
        orders_by_segment=frame(seg_orders),
        revenue_by_segment=frame(seg_revenue),
        active_by_segment=frame(seg_active),
        churned_by_segment=frame(seg_churned),
        customers_before=params.customers_ever,
    )


def calibrate_workspace(ws: Workspace, *, fit_months: int = FIT_MONTHS) -> Calibration:
    """Calibrate the business model to a workspace (see the module doc)."""
    from smbgrowth.data.duck import run
    from smbgrowth.errors import ConfigError
    from smbgrowth.models.cashflow.balance import opening_balance
    from smbgrowth.models.lifecycle import LifecycleModel

    history = history_from_workspace(ws)
    bg_notes: list[str] = []
    bg = _bgnbd_churn(ws, bg_notes)
    cash: float | None
    try:
        cash = float(opening_balance(ws).amount)
    except ConfigError:
        cash = None
    cumulative = history.new_by_segment.sum(axis=1).cumsum() + history.customers_before
    market: tuple[float, float] | None = None
    try:
        lifecycle = LifecycleModel().fit(
            customers=pd.Series(
                cumulative.to_numpy(), index=pd.PeriodIndex(history.months, freq="M")
            )
        )
        fitted = lifecycle.curve_
        share = lifecycle.share_of_ceiling_
        past_inflection = bool(fitted) and float(fitted["midpoint"]) <= len(history.months) - 12
        if fitted and share is not None and 0.05 < share < 0.95 and past_inflection:
            ceiling = float(fitted["ceiling"])
            market = (ceiling, 0.25 * ceiling)
    except ModelError:
        market = None
    deals: tuple[float, float] | None = None
    row = run(
        ws.duck,
        "SELECT count(*), avg(CASE WHEN won THEN 1.0 ELSE 0.0 END), "
        "avg(epoch(closed_at - created_at)) / 86400.0 / 30.4375 "
        "FROM deals WHERE closed_at IS NOT NULL AND won IS NOT NULL",
    )
    won = row[0][0] * row[0][1] if row and row[0][0] and row[0][1] else 0.0
    acquired = float(history.new_by_segment.to_numpy().sum())
    # Deals describe how customers are won only when most customers come through them.
    if row and row[0][0] >= 30 and row[0][2] and won >= 0.5 * acquired:
        deals = (float(row[0][1]), float(row[0][2]))
    calibration = calibrate(
        history,
        bgnbd_churn=None if bg is None else (bg[0], bg[1]),
        cash=cash,
        market_size=market,
        deals=deals,
        fit_months=fit_months,
    )
    # Only worth saying where churn then had to be assumed (not measured on subscriptions).
    if any(e.name.startswith("churn_") for e in calibration.assumed):
        calibration.notes.extend(bg_notes)
    return calibration
