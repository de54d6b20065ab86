"""Reorder planning per SKU: safety stock, reorder point, order quantity and stock risks.

The formulas are the textbook continuous-review ones (Silver, Pyke & Thomas,
*Inventory and Production Management in Supply Chains*, 4th ed., 2017, ch. 4
and 6; Heizer, Render & Munson, *Operations Management*, 12th ed., ch. 12):

* safety stock ``SS = z · √(L·σ_d² + d²·σ_L²)`` with ``z = Φ⁻¹(service level)``
  (cycle service level: the probability of no stock-out in a replenishment
  cycle), ``d``/``σ_d`` the mean and standard deviation of daily demand and
  ``L``/``σ_L`` the mean and standard deviation of the lead time in days;
* reorder point ``ROP = d·L + SS``;
* economic order quantity ``EOQ = √(2·D·S / H)`` (Harris 1913) with annual
  demand ``D``, cost per order ``S`` and holding cost per unit and year ``H``;
* days of cover ``stock / d``;
* stock-out probability ``P(demand over the lead time > stock)`` under the
  normal approximation.

:func:`reorder_plan` applies them per SKU to a weekly demand forecast
(:func:`smbgrowth.models.forecast.forecast_sku_demand`, or a ready frame):

* each forecast week's mean is spread evenly over its 7 days; the lead-time
  demand is the sum over the ``L`` days after ``as_of`` (a fractional last day
  counts in part), and ``d`` is that sum ÷ ``L``. Days before the first forecast
  week use the first week, days after the last week repeat the last week (with
  a note). One rate ``d`` serves the reorder point, days of cover, the order-by
  date and the over-stock share, so that they agree with each other;
* a week's standard deviation is read off its 95 % interval,
  ``(hi_95 − mean) / 1.96``; days are taken as independent, so a day of that
  week has variance ``σ_week² / 7`` and the lead-time variance is their sum
  (``L·σ_d²`` when the weeks are alike). Forecast intervals of later weeks are
  wider, which this keeps; treating weeks as independent ignores that their
  errors are correlated, so the safety stock is, if anything, on the low side
  for long lead times;
* annual demand for the EOQ is the mean forecast week × 52; the holding cost is
  ``holding_rate × unit_cost``;
* order-by date: ``as_of`` + the whole days until stock falls to the reorder
  point at rate ``d`` (rounded down, so the order goes out before it is late),
  ``as_of`` itself ("now") when stock is at or below the reorder point. A SKU
  with no demand forecast over the lead time is not reordered (a backorder,
  negative stock, excepted), however wide its forecast interval;
* order quantity, an order-up-to rule ((s, S) policy, Silver, Pyke & Thomas
  ch. 6, with ``s = ROP`` and ``S = ROP + EOQ``): the order raises the stock
  position to ``ROP + EOQ``. Ordered on the order-by date that is the EOQ;
  ordered now, below the reorder point, it is ``EOQ + (ROP − stock)`` so that
  the shortfall (and any backorder, negative stock) is made good as well.
  Rounded up to whole units. Without a unit cost the EOQ is unknown and one
  lead time's demand stands in for it (with a note);
* stock-out risk: the probability that demand over one lead time exceeds the
  stock on hand, i.e. the risk of running out before an order placed now
  arrives; at the reorder point it is ``1 − service level``;
* over-stock: days of cover above ``overstock_days``, and the share of the
  stock not expected to sell within that many days,
  ``max(stock − d·overstock_days, 0) / stock``.

Demand never goes below zero here. The forecast is of gross units sold
(returns are not netted, see :func:`smbgrowth.models.forecast.sku_demand`)
and never negative; a ready demand frame with negative weeks (net of returns,
say) has its means and 95 % bounds read as at least 0, with a note, so the
lead-time demand, the daily rate and the safety stock are never negative. A
service level below 50 % would make ``z`` and the textbook safety stock
negative: the plan holds no safety stock instead (with a note).

Every product is reported: SKUs without a sales forecast (status
``no_sales``), without a lead time (``no_lead_time``) or without a stock count
(``no_stock``), and SKUs sold but missing from the products table
(``not_in_products``) are listed with what is known, never dropped.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.stats import norm

from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import ConfigError, DataError, ModelError

__all__ = [
    "DEFAULT_ORDER_COST",
    "DEMAND_COLUMNS",
    "SKU_STATUSES",
    "WEEKS_PER_YEAR",
    "ReorderPlan",
    "SkuPlan",
    "days_of_cover",
    "economic_order_quantity",
    "reorder_plan",
    "reorder_point",
    "safety_stock",
    "stockout_probability",
]

#: Cost of placing one order (admin, receiving, shipping), reporting currency, by default.
DEFAULT_ORDER_COST = 50.0
#: Weeks in a year, for annual demand from weekly forecasts.
WEEKS_PER_YEAR = 52
#: Columns a demand frame passed to :func:`reorder_plan` must have (``model`` is optional).
DEMAND_COLUMNS = ("series_id", "period", "mean", "hi_95")
#: What each SKU status means.
SKU_STATUSES: dict[str, str] = {
    "planned": "forecast, stock and lead time known: fully planned",
    "no_sales": "no sales history, so no demand forecast",
    "no_lead_time": "the product has no lead time: add lead_time_days to plan reorders",
    "no_stock": "the product has no stock count: add stock_on_hand to plan reorders",
    "not_in_products": "sold but missing from the products table (no stock or lead time)",
}
_Z975 = float(norm.ppf(0.975))

FloatArray = npt.NDArray[np.float64]


# -- textbook formulas ------------------------------------------------------------------------


def _check_service_level(service_level: float) -> float:
    if not 0.0 < service_level < 1.0:
        raise ConfigError(
            f"service level {service_level} must be between 0 and 1 (exclusive); use e.g. 0.95"
        )
    return float(norm.ppf(service_level))


def _check_non_negative(value: float, what: str) -> None:
    if not value >= 0.0:  # also rejects NaN
        raise ConfigError(f"{what} is {value}; it must be a number of at least 0")


def safety_stock(
    daily_sd: float,
    lead_time_days: float,
    service_level: float,
    *,
    daily_mean: float = 0.0,
    lead_time_sd_days: float = 0.0,
) -> float:
    """Units to hold above the expected lead-time demand to reach a cycle service level.

    ``SS = z · √(L·σ_d² + d²·σ_L²)``, ``z = Φ⁻¹(service_level)``: demand per day
    independent with mean ``d`` and standard deviation ``σ_d``, lead time
    independent of demand with mean ``L`` and standard deviation ``σ_L`` days
    (Silver, Pyke & Thomas 2017, ch. 6; Heizer, Render & Munson, ch. 12).
    ``daily_mean`` matters only when the lead time varies.
    """
    z = _check_service_level(service_level)
    _check_non_negative(daily_sd, "daily demand standard deviation")
    _check_non_negative(lead_time_days, "lead time (days)")
    _check_non_negative(lead_time_sd_days, "lead-time standard deviation (days)")
    return z * math.sqrt(lead_time_days * daily_sd**2 + daily_mean**2 * lead_time_sd_days**2)


def reorder_point(daily_mean: float, lead_time_days: float, safety_stock: float) -> float:
    """Stock level at which to order: expected demand over the lead time plus safety stock.

    ``ROP = d·L + SS`` (Heizer, Render & Munson, ch. 12; Silver, Pyke & Thomas, ch. 6).
    """
    _check_non_negative(lead_time_days, "lead time (days)")
    return daily_mean * lead_time_days + safety_stock


def economic_order_quantity(
    annual_demand: float, order_cost: float, annual_holding_cost_per_unit: float
) -> float:
    """Units per order that minimise ordering plus holding cost: √(2·D·S / H) (Harris 1913).

    Silver, Pyke & Thomas 2017, ch. 4; Heizer, Render & Munson, ch. 12.
    """
    _check_non_negative(annual_demand, "annual demand")
    _check_non_negative(order_cost, "order cost")
    if not annual_holding_cost_per_unit > 0.0:
        raise ConfigError(
            f"annual holding cost per unit is {annual_holding_cost_per_unit}; it must be above 0 "
            "(holding rate × unit cost)"
        )
    return math.sqrt(2.0 * annual_demand * order_cost / annual_holding_cost_per_unit)


def days_of_cover(stock: float, daily_mean: float) -> float:
    """Days the stock on hand lasts at the daily demand: stock ÷ d (∞ without demand, 0 if none)."""
    if stock <= 0.0:
        return 0.0
    if daily_mean <= 0.0:
        return math.inf
    return stock / daily_mean


def stockout_probability(
    stock: float, mean_over_lead_time: float, sd_over_lead_time: float
) -> float:
    """Chance that demand over the lead time exceeds the stock (normal approximation).

    ``P(D_L > stock) = 1 − Φ((stock − μ_L) / σ_L)``; with no uncertainty
    (``σ_L = 0``) it is 1 when the mean demand exceeds the stock, else 0.
    """
    _check_non_negative(sd_over_lead_time, "standard deviation of lead-time demand")
    if sd_over_lead_time == 0.0:
        return 1.0 if mean_over_lead_time > stock else 0.0
    return float(norm.sf((stock - mean_over_lead_time) / sd_over_lead_time))


# -- the plan ----------------------------------------------------------------------------------


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _day_text(day: date, as_of: date) -> str:
    text = f"{day:%A} {day.day} {day:%B}"
    return text if day.year == as_of.year else f"{text} {day.year}"


def _units(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _count(units: int) -> str:
    return "1 unit" if units == 1 else f"{units:,} units"


@dataclass(frozen=True)
class SkuPlan:
    """The reorder numbers of one SKU; NaN where its status leaves a number unknown.

    ``order_by`` is None when demand never brings the stock down to the reorder
    point; ``order_quantity`` is the whole units to order on that day.
    """

    sku: str
    name: str | None
    category: str | None
    status: str
    stock: float
    lead_time_days: float
    unit_cost: float
    daily_demand: float
    lead_time_demand: float
    lead_time_sd: float
    safety_stock: float
    reorder_point: float
    annual_demand: float
    eoq: float
    days_of_cover: float
    order_by: date | None
    order_now: bool
    order_quantity: int
    stockout_risk: float
    overstock: bool
    overstock_share: float
    model: str | None
    notes: tuple[str, ...] = ()
    sentence: str = ""

    @property
    def label(self) -> str:
        """The SKU with its name, as a person reads it: ``SKU-1 (Espresso beans 1 kg)``."""
        return f"{self.sku} ({self.name})" if self.name else self.sku

    def to_dict(self) -> dict[str, Any]:
        """Return the SKU's numbers as JSON-safe values (dates as ISO text, no NaN or ∞)."""
        out = {k: _json_number(v) for k, v in asdict(self).items()}
        out["order_by"] = self.order_by.isoformat() if self.order_by else None
        out["notes"] = list(self.notes)
        return out


@dataclass(frozen=True)
class ReorderPlan:
    """Reorder numbers of every SKU, the reorder list, and the settings that produced them."""

    as_of: date
    service_level: float
    order_cost: float
    holding_rate: float
    lead_time_sd_days: float
    overstock_days: float
    reorder_within_days: int
    currency: str
    skus: tuple[SkuPlan, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def reorder(self) -> list[SkuPlan]:
        """SKUs to order within ``reorder_within_days``: by order-by date, then stock-out risk."""
        last = self.as_of + timedelta(days=self.reorder_within_days)
        due = [
            s
            for s in self.skus
            if s.status == "planned"
            and s.order_by is not None
            and s.order_by <= last
            and s.order_quantity > 0
        ]
        return sorted(due, key=lambda s: (s.order_by or self.as_of, -s.stockout_risk, s.sku))

    def get(self, sku: str) -> SkuPlan:
        """Return the plan of one SKU (KeyError when it is not in the plan)."""
        for s in self.skus:
            if s.sku == sku:
                return s
        raise KeyError(sku)

    def frame(self) -> pd.DataFrame:
        """Return one row per SKU with every number of :class:`SkuPlan` (notes joined by '; ')."""
        rows = []
        for s in self.skus:
            row = asdict(s)
            row["notes"] = "; ".join(s.notes)
            rows.append(row)
        return pd.DataFrame(rows, columns=[f.name for f in fields(SkuPlan)])

    def to_dict(self) -> dict[str, Any]:
        """Return the plan as JSON-safe data: settings, summary, the reorder list and every SKU."""
        reorder = self.reorder
        return {
            "as_of": self.as_of.isoformat(),
            "service_level": self.service_level,
            "z": float(norm.ppf(self.service_level)),
            "order_cost": self.order_cost,
            "holding_rate": self.holding_rate,
            "lead_time_sd_days": self.lead_time_sd_days,
            "overstock_days": self.overstock_days,
            "reorder_within_days": self.reorder_within_days,
            "currency": self.currency,
            "summary": {
                "skus": len(self.skus),
                "to_reorder": len(reorder),
                "order_now": sum(1 for s in reorder if s.order_now),
                "overstocked": sum(1 for s in self.skus if s.overstock),
                "by_status": {
                    status: sum(1 for s in self.skus if s.status == status)
                    for status in SKU_STATUSES
                },
            },
            "reorder": [s.to_dict() for s in reorder],
            "skus": [s.to_dict() for s in self.skus],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class _Settings:
    as_of: date
    service_level: float
    order_cost: float
    holding_rate: float
    lead_time_sd_days: float
    overstock_days: float


def _lead_time_profile(
    weeks: pd.DataFrame, as_of: date, lead_time_days: float
) -> tuple[float, float, float, bool]:
    """Mean and variance of demand over the lead time, the daily rate, and whether it ran past.

    ``weeks`` has week starts ``period`` (sorted), ``mean`` and ``sd`` per week.
    """
    n = max(math.ceil(lead_time_days), 1)
    starts = weeks["period"].to_numpy(dtype="datetime64[D]")
    days = np.datetime64(as_of, "D") + np.arange(1, n + 1)
    beyond = bool((days >= starts[-1] + np.timedelta64(7, "D")).any())
    idx = np.clip(np.searchsorted(starts, days, side="right") - 1, 0, len(starts) - 1)
    daily_mean: FloatArray = weeks["mean"].to_numpy(dtype=float)[idx] / 7.0
    daily_var: FloatArray = weeks["sd"].to_numpy(dtype=float)[idx] ** 2 / 7.0
    weight = np.clip(lead_time_days - np.arange(n), 0.0, 1.0)
    mean = float(weight @ daily_mean)
    var = float(weight @ daily_var)
    rate = mean / lead_time_days if lead_time_days > 0 else float(daily_mean[0])
    return mean, var, rate, beyond


def _plan_sku(
    product: dict[Any, Any], weeks: pd.DataFrame | None, model: str | None,
    notes: list[str], s: _Settings,
) -> SkuPlan:  # fmt: skip
    nan = math.nan
    sku = str(product["sku"])
    stock = float(product["stock"])
    lead = float(product["lead_time_days"])
    unit_cost = float(product["unit_cost"])
    values: dict[str, Any] = {
        "daily_demand": nan, "lead_time_demand": nan, "lead_time_sd": nan,
        "safety_stock": nan, "reorder_point": nan, "annual_demand": nan, "eoq": nan,
        "days_of_cover": nan, "order_by": None, "order_now": False, "order_quantity": 0,
        "stockout_risk": nan, "overstock": False, "overstock_share": nan,
    }  # fmt: skip
    if weeks is None:
        status = "no_sales"
    elif product["missing"]:
        status = "not_in_products"
    elif math.isnan(stock):
        status = "no_stock"
    elif math.isnan(lead) or lead < 0:
        status = "no_lead_time"
    else:
        status = "planned"

    if weeks is not None:
        values["annual_demand"] = float(weeks["mean"].mean()) * WEEKS_PER_YEAR
        if math.isnan(lead) or lead < 0:
            # No lead time: the rate is the horizon's average, for cover and over-stock only.
            values["daily_demand"] = float(weeks["mean"].mean()) / 7.0
        else:
            mean_l, var_l, rate, beyond = _lead_time_profile(weeks, s.as_of, lead)
            values["daily_demand"] = rate
            values["lead_time_demand"] = mean_l
            if beyond:
                notes.append(
                    f"the {lead:g}-day lead time runs past the forecast; its last week is repeated"
                )
            if status == "planned":
                _plan_planned(values, stock, lead, unit_cost, mean_l, var_l, rate, notes, s)

    if status in ("planned", "no_lead_time", "no_stock") and not math.isnan(stock):
        rate = values["daily_demand"]
        if not math.isnan(rate):
            cover = days_of_cover(stock, rate)
            values["days_of_cover"] = cover
            values["overstock"] = cover > s.overstock_days
            values["overstock_share"] = (
                max(stock - rate * s.overstock_days, 0.0) / stock if stock > 0 else 0.0
            )
    plan = SkuPlan(
        sku=sku,
        name=product["name"],
        category=product["category"],
        status=status,
        stock=stock,
        lead_time_days=lead,
        unit_cost=unit_cost,
        model=model,
        notes=tuple(notes),
        **values,
    )
    return _with_sentence(plan, s)


def _plan_planned(
    values: dict[str, Any], stock: float, lead: float, unit_cost: float,
    mean_l: float, var_l: float, rate: float, notes: list[str], s: _Settings,
) -> None:  # fmt: skip
    daily_sd = math.sqrt(var_l / lead) if lead > 0 else 0.0
    mean_l, rate = max(mean_l, 0.0), max(rate, 0.0)
    ss = safety_stock(
        daily_sd,
        lead,
        s.service_level,
        daily_mean=rate,
        lead_time_sd_days=s.lead_time_sd_days,
    )
    if ss < 0:
        # z < 0 below a 50 % service level: planning to run out is no plan; hold none.
        ss = 0.0
        notes.append(
            f"a {s.service_level:.0%} service level gives a negative safety stock; none is held"
        )
    rop = reorder_point(rate, lead, ss)
    sd_l = math.sqrt(var_l + rate**2 * s.lead_time_sd_days**2)
    values.update(safety_stock=ss, reorder_point=rop, lead_time_sd=sd_l)
    annual = values["annual_demand"]
    if unit_cost > 0 and s.holding_rate > 0:
        eoq = economic_order_quantity(annual, s.order_cost, s.holding_rate * unit_cost)
    else:
        eoq = mean_l
        notes.append("no unit cost, so no EOQ: one lead time's demand is ordered per cycle")
    values["eoq"] = eoq
    values["stockout_risk"] = stockout_probability(stock, mean_l, sd_l)
    if rate <= 0:
        # No demand expected: the safety stock of an empty forecast's interval buys nothing;
        # only a backorder (negative stock) is worth an order.
        quantity = max(-stock, 0.0)
        if quantity > 0:
            values["order_by"], values["order_now"] = s.as_of, True
        notes.append("no demand expected over the lead time: no reorder")
    elif stock <= rop:
        values["order_by"], values["order_now"] = s.as_of, True
        quantity = eoq + (rop - stock)
    else:
        values["order_by"] = s.as_of + timedelta(days=math.floor((stock - rop) / rate))
        quantity = eoq
    # A hair of floating-point error must not add a unit.
    values["order_quantity"] = max(math.ceil(quantity - 1e-9), 0)


def _with_sentence(p: SkuPlan, s: _Settings) -> SkuPlan:
    """Return the plan with one sentence that says what to do about the SKU."""
    stock = _units(p.stock) if not math.isnan(p.stock) else "?"
    if p.status == "no_sales":
        text = f"{p.label} has no sales to forecast from; {stock} in stock."
    elif p.status == "not_in_products":
        text = f"{p.label} sells but is not in the products table; add its stock and lead time."
    elif p.status == "no_lead_time":
        text = f"{p.label} has no lead time; add lead_time_days to plan its reorders."
    elif p.status == "no_stock":
        text = f"{p.label} has no stock count; add stock_on_hand to plan its reorders."
    elif p.order_now and p.order_quantity > 0:
        text = (
            f"Order {_count(p.order_quantity)} of {p.label} now: {stock} in stock is at or below "
            f"the reorder point of {p.reorder_point:,.0f}; {p.stockout_risk:.0%} risk of running "
            f"out before delivery in {p.lead_time_days:g} days."
        )
    elif p.order_by is not None and p.order_quantity > 0:
        text = (
            f"Order {_count(p.order_quantity)} of {p.label} by {_day_text(p.order_by, s.as_of)}: "
            f"{stock} in stock covers {p.days_of_cover:,.0f} days and delivery takes "
            f"{p.lead_time_days:g} days."
        )
    else:
        text = f"{p.label}: no demand expected, no order needed; {stock} in stock."
    if p.overstock:
        text += (
            f" Over-stocked: {p.overstock_share:.0%} of the stock is not expected to sell "
            f"within {s.overstock_days:g} days."
        )
    return SkuPlan(**{**{f.name: getattr(p, f.name) for f in fields(SkuPlan)}, "sentence": text})


def _check_demand(demand: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The demand frame, typed and sorted, with means and 95 % bounds at least 0, and the
    SKUs whose forecast went below 0."""
    missing = [c for c in DEMAND_COLUMNS if c not in demand.columns]
    if missing:
        raise DataError(
            f"the demand frame lacks column(s) {', '.join(missing)}; it needs "
            f"{', '.join(DEMAND_COLUMNS)} (as forecast_sku_demand(ws).frame() gives)"
        )
    frame = pd.DataFrame(
        {
            "series_id": demand["series_id"].astype(str),
            "period": pd.to_datetime(demand["period"]),
            "mean": pd.to_numeric(demand["mean"], errors="coerce").astype(float),
            "hi_95": pd.to_numeric(demand["hi_95"], errors="coerce").astype(float),
            "model": demand["model"].astype(str) if "model" in demand.columns else None,
        }
    )
    if frame["period"].dt.tz is not None:
        frame["period"] = frame["period"].dt.tz_localize(None)
    frame["period"] = frame["period"].dt.normalize()
    if frame["mean"].isna().any():
        bad = frame.loc[frame["mean"].isna(), "series_id"].iloc[0]
        raise DataError(f"the demand forecast of {bad!r} has a missing mean; fill it or drop it")
    # Demand for stock is never negative (returns are not negative sales): read as 0.
    negative = sorted(set(frame.loc[frame["mean"] < 0, "series_id"]))
    frame["mean"] = frame["mean"].clip(lower=0.0)
    frame["hi_95"] = frame["hi_95"].clip(lower=0.0)
    frame["sd"] = ((frame["hi_95"] - frame["mean"]) / _Z975).fillna(0.0).clip(lower=0.0)
    return frame.sort_values(["series_id", "period"]).reset_index(drop=True), negative


def _default_as_of(ws: Workspace) -> date:
    """The local day of the latest sold order (the day the stock count belongs to)."""
    from smbgrowth.metrics.base import local_time
    from smbgrowth.metrics.common import REVENUE_STATUSES

    o = ws.orders
    sold = o.filter(o.status.isin(REVENUE_STATUSES))
    latest = local_time(sold.ordered_at, ws.time_zone).max().execute()
    if latest is None or pd.isna(latest):
        return pd.Timestamp.now(tz=ws.time_zone).date()
    result: date = pd.Timestamp(latest).date()
    return result


def _texts(values: pd.Series) -> list[str | None]:
    return [None if pd.isna(v) else str(v) for v in values]


def _products(ws: Workspace) -> pd.DataFrame:
    frame = ws.read("products")
    out = pd.DataFrame(
        {
            "sku": frame["sku"].astype(str),
            "name": _texts(frame["name"]),
            "category": _texts(frame["category"]),
            "stock": pd.to_numeric(frame["stock_on_hand"], errors="coerce").astype(float),
            "lead_time_days": pd.to_numeric(frame["lead_time_days"], errors="coerce").astype(float),
            "unit_cost": pd.to_numeric(frame["unit_cost"], errors="coerce").astype(float),
        }
    )
    out["missing"] = False
    return out


def _sold_skus(ws: Workspace) -> int:
    from smbgrowth.metrics.common import REVENUE_STATUSES

    o = ws.orders
    lines = ws.order_lines
    sold = lines.filter(lines.sku.notnull()).join(
        o.filter(o.status.isin(REVENUE_STATUSES)).select("order_id"), "order_id"
    )
    return int(sold.sku.nunique().execute())


def _forecast(
    ws: Workspace, horizon_weeks: int, lead_times: pd.Series
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """The weekly SKU forecast, long enough for the longest lead time, and each SKU's notes."""
    from smbgrowth.models.forecast import forecast_sku_demand

    if _sold_skus(ws) == 0:
        return pd.DataFrame(columns=[*DEMAND_COLUMNS, "model"]), {}
    longest = float(lead_times.max()) if lead_times.notna().any() else 0.0
    horizon = max(horizon_weeks, math.ceil(longest / 7.0) + 2)
    result = forecast_sku_demand(ws, horizon=horizon)
    return result.frame(), {str(s.series_id): list(s.notes) for s in result.series}


def reorder_plan(
    ws: Workspace,
    *,
    service_level: float = 0.95,
    order_cost: float = DEFAULT_ORDER_COST,
    holding_rate: float = 0.25,
    as_of: date | None = None,
    horizon_weeks: int = 13,
    demand: pd.DataFrame | None = None,
    overstock_days: float = 180.0,
    reorder_within_days: int = 14,
    lead_time_sd_days: float = 0.0,
) -> ReorderPlan:
    """What to reorder, how much and by when, per SKU, with stock-out and over-stock risk.

    Parameters
    ----------
    ws : the workspace; products give stock, lead time and unit cost.
    service_level : cycle service level, the chance of no stock-out per
        replenishment cycle (0–1, exclusive).
    order_cost : cost of placing one order, reporting currency (default 50).
    holding_rate : yearly cost of holding stock as a share of its unit cost
        (capital, storage, shrinkage; 0.25 is a common rule of thumb).
    as_of : the day the stock count belongs to; default the local day of the
        latest sold order.
    horizon_weeks : weeks of forecast (raised to cover the longest lead time).
    demand : a ready weekly forecast with columns series_id (= sku), period
        (week start), mean and hi_95 (optionally model), instead of
        :func:`~smbgrowth.models.forecast.forecast_sku_demand`.
    overstock_days : days of cover above which a SKU counts as over-stocked.
    reorder_within_days : the reorder list holds SKUs to order within this many days.
    lead_time_sd_days : standard deviation of every lead time, in days.

    Returns
    -------
    ReorderPlan
        One :class:`SkuPlan` per product (and per sold SKU missing from the
        products table), sorted by SKU; ``.reorder`` is the reorder list.

    References
    ----------
    Silver, E. A., Pyke, D. F. & Thomas, D. J. (2017). *Inventory and
    Production Management in Supply Chains*, 4th ed., CRC Press.
    Heizer, J., Render, B. & Munson, C. (2017). *Operations Management*, 12th
    ed., Pearson, ch. 12.
    """
    _check_service_level(service_level)
    _check_non_negative(order_cost, "order cost")
    _check_non_negative(holding_rate, "holding rate")
    _check_non_negative(lead_time_sd_days, "lead-time standard deviation (days)")
    if not overstock_days > 0:
        raise ConfigError(f"overstock_days is {overstock_days}; it must be above 0, e.g. 180")
    if reorder_within_days < 0:
        raise ConfigError(f"reorder_within_days is {reorder_within_days}; use 0 or more, e.g. 14")
    if horizon_weeks < 1:
        raise ConfigError(f"horizon_weeks is {horizon_weeks}; it must be at least 1, e.g. 13")

    products = _products(ws)
    if products.empty:
        raise ModelError(
            "no products: import a products export with sku, stock_on_hand and lead_time_days "
            "before planning reorders"
        )
    if demand is None:
        demand, forecast_notes = _forecast(ws, horizon_weeks, products["lead_time_days"])
    else:
        forecast_notes = {}
    forecast, negative = _check_demand(demand)
    day = as_of if as_of is not None else _default_as_of(ws)
    settings = _Settings(
        as_of=day,
        service_level=service_level,
        order_cost=order_cost,
        holding_rate=holding_rate,
        lead_time_sd_days=lead_time_sd_days,
        overstock_days=overstock_days,
    )
    by_sku = {str(k): g for k, g in forecast.groupby("series_id", sort=True)}
    unknown = sorted(set(by_sku) - set(products["sku"]))
    if unknown:
        extra = pd.DataFrame(
            {"sku": unknown, "name": None, "category": None, "stock": math.nan,
             "lead_time_days": math.nan, "unit_cost": math.nan, "missing": True}
        )  # fmt: skip
        products = pd.concat([products, extra], ignore_index=True)
    plans = []
    for product in products.sort_values("sku").to_dict(orient="records"):
        sku = str(product["sku"])
        weeks = by_sku.get(sku)
        model = None
        if weeks is not None and weeks["model"].notna().any():
            model = str(weeks["model"].dropna().iloc[0])
        notes = list(forecast_notes.get(sku, []))
        plans.append(_plan_sku(product, weeks, model, notes, settings))
    plan_notes = []
    if negative:
        shown = ", ".join(negative[:5]) + (
            f" and {len(negative) - 5} more" if len(negative) > 5 else ""
        )
        plan_notes.append(
            f"the demand forecast of {shown} went below 0 in some weeks; read as 0 (demand for "
            "stock is units sold, never negative)"
        )
    if as_of is None:
        plan_notes.append(f"stock counted as of {day.isoformat()}, the day of the latest sale")
    return ReorderPlan(
        as_of=day,
        service_level=service_level,
        order_cost=order_cost,
        holding_rate=holding_rate,
        lead_time_sd_days=lead_time_sd_days,
        overstock_days=overstock_days,
        reorder_within_days=reorder_within_days,
        currency=ws.reporting_currency,
        skus=tuple(plans),
        notes=tuple(plan_notes),
    )
