"""Customer value from a workspace: fit a model, predict per customer, validate, rank risk.

These functions connect the models to the workspace's orders and subscriptions;
the command line (``smbgrowth clv …``, ``smbgrowth churn-risk``) calls them.

When a model the result rests on is not identified by the data (see
``CustomerValueModel.identified_``), the result says so: per-customer tables
carry ``attrs["identified"]`` and ``attrs["identification_issue"]`` (read them
with :func:`identification`), dictionaries and :class:`Validation` the same two
fields. The numbers are still computed, but they are not to be trusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import numpy as np
import pandas as pd

from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import ModelError
from smbgrowth.models.clv.base import CustomerValueModel
from smbgrowth.models.clv.bgbb import BetaGeoBetaBinomModel
from smbgrowth.models.clv.bgnbd import BetaGeoModel, ModifiedBetaGeoModel
from smbgrowth.models.clv.data import TIME_UNIT_DAYS, TimeUnit, purchase_days, rfm_summary
from smbgrowth.models.clv.gammagamma import GammaGammaModel
from smbgrowth.models.clv.sbg import ShiftedBetaGeoModel

__all__ = [
    "MODEL_NAMES",
    "Validation",
    "churn_risk",
    "discrete_summary",
    "fit_model",
    "identification",
    "predict_customers",
    "predict_discrete",
    "predict_retention",
    "validate_model",
]

#: CLI names of the models.
MODEL_NAMES: tuple[str, ...] = ("bgnbd", "mbgnbd", "pareto", "bgbb", "gammagamma", "sbg")

#: How a result names the model whose fit is not identified.
_LABELS = {
    "bgnbd": "purchase model (BG/NBD)",
    "mbgnbd": "purchase model (MBG/NBD)",
    "pareto": "purchase model (Pareto/NBD)",
    "bgbb": "purchase model (BG/BB)",
    "gammagamma": "spend model (Gamma-Gamma)",
    "sbg": "retention model (sBG)",
}

#: Days in a month for CLV horizons and discounting.
MONTH_DAYS = 30.4375


def _purchase_model(name: str) -> Any:
    if name == "bgnbd":
        return BetaGeoModel()
    if name == "mbgnbd":
        return ModifiedBetaGeoModel()
    if name == "pareto":
        from smbgrowth.models.clv.pareto import ParetoNBDModel

        return ParetoNBDModel()
    raise ModelError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")


def _issue(*models: CustomerValueModel) -> str | None:
    """The identification issues of the models a result rests on, one sentence each."""
    issues = [
        f"{_LABELS.get(m.name, m.name)}: {m.identification_issue_}"
        for m in models
        if m.identification_issue_
    ]
    return "; ".join(issues) or None


def _mark(table: pd.DataFrame, issue: str | None) -> pd.DataFrame:
    table.attrs["identified"] = issue is None
    table.attrs["identification_issue"] = issue
    return table


def identification(table: pd.DataFrame) -> dict[str, Any]:
    """``{"identified", "identification_issue"}`` of a table from this module.

    A table from elsewhere (or one whose attrs were lost) counts as identified.
    """
    issue = table.attrs.get("identification_issue")
    return {"identified": issue is None, "identification_issue": issue}


def _spenders(summary: pd.DataFrame) -> pd.DataFrame:
    """Repeat customers with positive mean repeat spend (the Gamma-Gamma sample).

    Customers whose repeat purchases were all refunded have no spend to model.
    """
    repeat = summary[(summary.frequency > 0) & (summary.monetary_value > 0)]
    if repeat.empty:
        raise ModelError("no repeat customers with spend yet: the spend model needs them")
    return repeat


def discrete_summary(
    ws: Workspace, *, time_unit: TimeUnit = "week", calibration_end: date | None = None
) -> pd.DataFrame:
    """Per customer: repeat periods with a purchase (x), the last one (t_x) and periods seen (n).

    Periods are counted from each customer's first purchase day in whole units
    (BG/BB's discrete opportunities, Fader, Hardie & Shang 2010); the first
    purchase period itself is not a repeat.
    """
    unit = TIME_UNIT_DAYS[time_unit]
    days = purchase_days(ws).execute()
    if days.empty:
        raise ModelError("no sold orders with a customer: import orders before fitting")
    days["day"] = pd.to_datetime(days["day"])
    end = pd.Timestamp(calibration_end) if calibration_end else days["day"].max()
    days = days[days["day"] <= end]
    first = days.groupby("customer_id")["day"].transform("min")
    days = days.assign(period=((days["day"] - first).dt.days // unit).astype(int))
    repeat = days[days.period > 0].groupby("customer_id")["period"]
    out = pd.DataFrame(index=pd.Index(sorted(days.customer_id.unique()), name="customer_id"))
    out["frequency"] = repeat.nunique().reindex(out.index, fill_value=0)
    out["recency"] = repeat.max().reindex(out.index, fill_value=0)
    starts = days.groupby("customer_id")["day"].min().reindex(out.index)
    out["n_periods"] = ((end - starts).dt.days // unit).astype(int)
    return out[out.n_periods > 0].astype(int)


def fit_model(
    ws: Workspace,
    model: str,
    *,
    time_unit: TimeUnit = "week",
    calibration_end: date | None = None,
) -> CustomerValueModel:
    """Fit one model (see MODEL_NAMES) to the workspace's orders or subscriptions."""
    if model == "sbg":
        sbg = ShiftedBetaGeoModel()
        as_of = datetime.combine(calibration_end, time.max, tzinfo=UTC) if calibration_end else None
        sbg.fit_from_subscriptions(ws, period="month", as_of=as_of)
        return sbg
    if model == "bgbb":
        data = discrete_summary(ws, time_unit=time_unit, calibration_end=calibration_end)
        return BetaGeoBetaBinomModel().fit(data.frequency, data.recency, data.n_periods)
    summary = rfm_summary(ws, time_unit=time_unit, calibration_end=calibration_end)
    if summary.empty:
        raise ModelError("no sold orders with a customer: import orders before fitting")
    if model == "gammagamma":
        repeat = _spenders(summary)
        return GammaGammaModel().fit(repeat.frequency, repeat.monetary_value)
    fitted: CustomerValueModel = _purchase_model(model).fit(summary[["frequency", "recency", "T"]])
    return fitted


def predict_customers(
    ws: Workspace,
    *,
    model: str = "bgnbd",
    horizon_months: int = 12,
    discount_rate: float = 0.01,
    time_unit: TimeUnit = "week",
) -> pd.DataFrame:
    """Per customer: P(alive), expected purchases and spend over the horizon, discounted CLV.

    A purchase model (BG/NBD by default) gives the purchases, Gamma-Gamma the
    spend per purchase (customers without repeats get the population mean);
    CLV sums month by month (a month is 30.4375 days) discounted at
    ``discount_rate`` per month. Sorted by CLV, highest first.
    """
    if horizon_months < 1:
        raise ModelError("the horizon must be at least one month")
    if not 0 <= discount_rate < 1:
        raise ModelError("the monthly discount rate must be between 0 and 1 (e.g. 0.01)")
    summary = rfm_summary(ws, time_unit=time_unit)
    if summary.empty:
        raise ModelError("no sold orders with a customer: import orders before predicting")
    purchases = _purchase_model(model).fit(summary[["frequency", "recency", "T"]])
    repeat = _spenders(summary)
    spend = GammaGammaModel().fit(repeat.frequency, repeat.monetary_value)
    x, t_x, t = (summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    money = summary.monetary_value.to_numpy(dtype=float)
    horizon = horizon_months * MONTH_DAYS / TIME_UNIT_DAYS[time_unit]
    out = pd.DataFrame(index=summary.index)
    out["frequency"] = x.astype(int)
    out["p_alive"] = purchases.probability_alive(x, t_x, t)
    out["expected_purchases"] = purchases.conditional_expected_purchases(horizon, x, t_x, t)
    # Customers without (positive) repeat spend get the population mean.
    money = np.where(x > 0, np.maximum(money, 0), 0)
    known = np.where(money > 0, x, 0)
    out["expected_spend"] = spend.conditional_expected_average_profit(known, money)
    out["clv"] = spend.customer_lifetime_value(
        purchases,
        x,
        t_x,
        t,
        np.where(known > 0, money, out["expected_spend"].to_numpy()),
        months=horizon_months,
        discount_rate=discount_rate,
        time_unit_days=TIME_UNIT_DAYS[time_unit],
        month_days=MONTH_DAYS,
    )
    return _mark(out.sort_values("clv", ascending=False), _issue(purchases, spend))


@dataclass(frozen=True)
class Validation:
    """Calibration vs holdout: predicted and actual repeat purchases, in total and by bucket."""

    model: str
    calibration_end: date
    holdout_end: date
    predicted: float
    actual: float
    by_frequency: pd.DataFrame
    identification_issue: str | None = None

    @property
    def identified(self) -> bool:
        """Whether the data pinned the calibration fit down."""
        return self.identification_issue is None

    @property
    def error(self) -> float:
        """Relative error of the total (predicted ÷ actual − 1)."""
        return self.predicted / self.actual - 1 if self.actual else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "calibration_end": self.calibration_end.isoformat(),
            "holdout_end": self.holdout_end.isoformat(),
            "predicted": self.predicted,
            "actual": self.actual,
            "error": self.error,
            "identified": self.identified,
            "identification_issue": self.identification_issue,
            "by_frequency": [
                {"frequency": str(k), **{c: float(v) for c, v in row.items()}}
                for k, row in self.by_frequency.iterrows()
            ],
        }


def validate_model(
    ws: Workspace,
    *,
    model: str = "bgnbd",
    calibration_end: date | None = None,
    time_unit: TimeUnit = "week",
) -> Validation:
    """Fit on the calibration period, predict the holdout, compare with what happened.

    Without ``calibration_end`` the last third of the history is the holdout.
    Buckets: customers by calibration repeat purchases 0, 1, …, 6, 7+.
    """
    days = purchase_days(ws).execute()
    if days.empty:
        raise ModelError("no sold orders with a customer: import orders before validating")
    first, last = pd.Timestamp(days["day"].min()), pd.Timestamp(days["day"].max())
    if calibration_end is None:
        calibration_end = (first + (last - first) * 2 / 3).date()
    if not first.date() < calibration_end < last.date():
        raise ModelError(
            f"the calibration end must fall inside the history ({first.date()} – {last.date()})"
        )
    summary = rfm_summary(ws, time_unit=time_unit, calibration_end=calibration_end)
    purchases = _purchase_model(model).fit(summary[["frequency", "recency", "T"]])
    x, t_x, t = (summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    duration = summary.duration_holdout.to_numpy(dtype=float)
    predicted = purchases.conditional_expected_purchases(duration, x, t_x, t)
    frame = pd.DataFrame(
        {
            "bucket": np.where(x >= 7, "7+", x.astype(int).astype(str)),
            "customers": 1,
            "predicted": predicted,
            "actual": summary.frequency_holdout.to_numpy(dtype=float),
        }
    )
    grouped = frame.groupby("bucket")[["customers", "predicted", "actual"]].sum()
    order = [str(i) for i in range(7)] + ["7+"]
    grouped = grouped.reindex([b for b in order if b in grouped.index])
    return Validation(
        model=model,
        calibration_end=calibration_end,
        holdout_end=last.date(),
        predicted=float(frame.predicted.sum()),
        actual=float(frame.actual.sum()),
        by_frequency=grouped,
        identification_issue=_issue(purchases),
    )


def churn_risk(
    ws: Workspace,
    *,
    top: int = 50,
    horizon_months: int = 12,
    lookback_days: int = 30,
    time_unit: TimeUnit = "week",
) -> pd.DataFrame:
    """Repeat customers whose P(alive) is falling, ranked by value at risk.

    P(alive) is compared with its value ``lookback_days`` ago (the same history,
    observed for less time); value at risk = (1 − P(alive)) × the spend the
    customer would bring over the horizon if still active (posterior purchase
    rate × horizon × expected spend). These are the win-back candidates.
    """
    summary = rfm_summary(ws, time_unit=time_unit)
    repeat = _spenders(summary)
    purchases = BetaGeoModel().fit(summary[["frequency", "recency", "T"]])
    spend = GammaGammaModel().fit(repeat.frequency, repeat.monetary_value)
    x, t_x, t = (repeat[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    earlier = np.maximum(t - lookback_days / TIME_UNIT_DAYS[time_unit], t_x)
    now = purchases.probability_alive(x, t_x, t)
    before = purchases.probability_alive(x, t_x, earlier)
    p = purchases.params_
    rate = (p["r"] + x) / (p["alpha"] + t)  # posterior mean purchase rate while alive
    horizon = horizon_months * MONTH_DAYS / TIME_UNIT_DAYS[time_unit]
    value_if_active = (
        rate
        * horizon
        * spend.conditional_expected_average_profit(x, repeat.monetary_value.to_numpy(dtype=float))
    )
    out = pd.DataFrame(
        {
            "frequency": x.astype(int),
            "days_since_last": np.rint((t - t_x) * TIME_UNIT_DAYS[time_unit]).astype(int),
            "p_alive": now,
            "p_alive_before": before,
            "value_if_active": value_if_active,
            "value_at_risk": (1 - now) * value_if_active,
        },
        index=repeat.index,
    )
    falling = out[out.p_alive < out.p_alive_before - 1e-9]
    ranked = falling.sort_values("value_at_risk", ascending=False).head(top)
    return _mark(ranked.copy(), _issue(purchases, spend))


def predict_retention(
    ws: Workspace, *, horizon_months: int = 12, discount_rate: float = 0.01
) -> dict[str, Any]:
    """Subscription retention from the sBG model: survival and renewal rate by month.

    Also the expected remaining months of a subscriber who has renewed t times,
    plain and discounted at ``discount_rate`` per month (DERL, Fader & Hardie 2010).
    """
    if horizon_months < 1:
        raise ModelError("the horizon must be at least one month")
    model = fit_model(ws, "sbg")
    assert isinstance(model, ShiftedBetaGeoModel)
    months = np.arange(1, horizon_months + 1)
    survival = model.survival(months)
    retention = model.retention_rate(months)
    renewals = np.arange(0, min(horizon_months, 12) + 1)
    plain = model.residual_lifetime(renewals)
    discounted = model.residual_lifetime(renewals, discount_rate=discount_rate)
    return {
        "model": "sbg",
        "params": dict(model.params_),
        "standard_errors": dict(model.standard_errors_),
        "identified": model.identified_,
        "identification_issue": model.identification_issue_,
        "months": [
            {"month": int(m), "survival": float(sv), "retention": float(rt)}
            for m, sv, rt in zip(months, survival, retention, strict=True)
        ],
        "residual_lifetime": [
            {
                "renewals": int(t),
                "months": float(p) if np.isfinite(p) else None,
                "discounted_months": float(d),
            }
            for t, p, d in zip(renewals, plain, discounted, strict=True)
        ],
    }


def predict_discrete(
    ws: Workspace, *, horizon_periods: int = 52, time_unit: TimeUnit = "week"
) -> pd.DataFrame:
    """Per customer from the BG/BB model: P(alive) and expected purchasing periods ahead.

    Each period (a week by default) is one purchase opportunity; sorted by the
    expected number of periods with a purchase, highest first.
    """
    if horizon_periods < 1:
        raise ModelError("the horizon must be at least one period")
    data = discrete_summary(ws, time_unit=time_unit)
    model = BetaGeoBetaBinomModel().fit(data.frequency, data.recency, data.n_periods)
    out = pd.DataFrame(index=data.index)
    out["frequency"] = data.frequency
    out["p_alive"] = model.probability_alive(data.frequency, data.recency, data.n_periods)
    out["expected_purchases"] = model.conditional_expected_purchases(
        horizon_periods, data.frequency, data.recency, data.n_periods
    )
    return _mark(out.sort_values("expected_purchases", ascending=False), _issue(model))
