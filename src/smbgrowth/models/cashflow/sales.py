"""Future cash from sales: orders from the revenue forecast, and invoices that keep coming.

Future sales
    From the net-revenue forecast (``revenue_net``, :mod:`smbgrowth.models.forecast`)
    or a frame passed as ``revenue_forecast``. A period's forecast is spread
    evenly over its days and received the day of the sale (orders are paid at
    purchase). Forecast error is *persistent*: each path draws one standard
    normal shock ``z`` and every period's sales are ``mean + z · sd`` (floored at
    zero), with ``sd = (hi_95 − lo_95) / (2 · 1.96)``; a good start is followed
    by a good finish, which is what makes cash paths spread out honestly.

Future invoiced sales
    Only when invoices are separate sales (fewer than half of the invoiced
    amount of the last year matches a sold order of the same customer and total
    within 7 days; otherwise the invoices are already in the revenue forecast).
    Every customer invoiced in the last 3 months keeps being invoiced monthly,
    on the day of the month of their last invoice, at their average monthly
    invoiced amount of those 3 months; each invoice is collected ``days to pay``
    (issue → paid) later, drawn per path from the customer's distribution, and
    is paid at all with the historical ``collected_share``
    (:class:`~smbgrowth.models.cashflow.payments.PaymentBehaviour`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import ModelError
from smbgrowth.metrics.base import local_time
from smbgrowth.models.cashflow.common import FloatArray, IntArray, _days, _window
from smbgrowth.models.cashflow.periods import _Calendar

# Internal to the cash-flow package: nothing here is public.
__all__: list[str] = []

_Z95 = 1.959963984540054
_SOLD = ("completed", "partially_refunded", "refunded")
_INVOICING_MONTHS = 3
_MATCH_DAYS = 7


def _invoices_in_orders(ws: Workspace, inv: pd.DataFrame, as_of: pd.Timestamp) -> bool:
    """True when most recent invoiced amounts are also sold orders (same customer and total)."""
    recent = inv[(inv["issued"] > as_of - pd.DateOffset(years=1)) & (inv["issued"] <= as_of)]
    if recent.empty or float(recent["amount"].sum()) <= 0:
        return False
    o = ws.orders
    o = o.filter(o.status.isin(_SOLD) & o.customer_id.isin(sorted(set(recent["customer_id"]))))
    orders: pd.DataFrame = o.select(
        customer_id=o.customer_id,
        day=local_time(o.ordered_at, ws.time_zone).date(),
        cents=(o.total.cast("float64") * 100).round().cast("int64"),
    ).execute()
    if orders.empty:
        return False
    orders["day"] = _days(orders["day"])
    left = recent.assign(cents=(recent["amount"] * 100).round().astype("int64"))
    pairs = left.merge(orders, on=["customer_id", "cents"], how="inner")
    close = (pairs["issued"] - pairs["day"]).abs() <= pd.Timedelta(days=_MATCH_DAYS)
    matched = set(pairs.loc[close, "invoice_id"])
    share = float(recent.loc[recent["invoice_id"].isin(matched), "amount"].sum())
    return share >= 0.5 * float(recent["amount"].sum())


def _forecast_rates(
    frame: pd.DataFrame, cal: _Calendar, notes: list[str]
) -> tuple[FloatArray, FloatArray]:
    """Daily mean sales and daily forecast s.d. over the horizon."""
    missing = {"period", "mean", "lo_95", "hi_95"} - set(frame.columns)
    if missing:
        raise ModelError(
            f"the revenue forecast needs columns period, mean, lo_95 and hi_95; it lacks "
            f"{', '.join(sorted(missing))}"
        )
    f = frame
    if "series_id" in f.columns and f["series_id"].nunique() > 1:
        raise ModelError(
            "the revenue forecast holds several series; pass the total net-revenue series only"
        )
    f = f.assign(period=pd.to_datetime(f["period"]).dt.tz_localize(None).dt.normalize())
    f = f.sort_values("period").reset_index(drop=True)
    if f.empty:
        raise ModelError("the revenue forecast is empty; pass at least one period")
    starts = pd.DatetimeIndex(f["period"])
    if len(f) >= 2:
        gaps = np.diff(starts.to_numpy()).astype("timedelta64[D]").astype(np.float64)
        weekly = float(np.median(gaps)) <= 10
    else:
        weekly = cal.grain == "week"
    ends = starts + (pd.Timedelta(days=7) if weekly else pd.DateOffset(months=1))
    length = (ends - starts).days.to_numpy(dtype=np.float64)
    mean = np.maximum(f["mean"].to_numpy(dtype=np.float64), 0.0)
    sd = np.maximum(
        (f["hi_95"].to_numpy(dtype=np.float64) - f["lo_95"].to_numpy(dtype=np.float64))
        / (2 * _Z95),
        0.0,
    )
    dates = cal.dates
    pos = np.clip(starts.searchsorted(dates, side="right") - 1, 0, len(f) - 1)
    outside = int(((dates < starts[0]) | (dates >= ends[-1])).sum())
    if outside:
        notes.append(
            f"the revenue forecast does not cover {outside} day(s) of the horizon; its nearest "
            "period's level is used there"
        )
    return mean[pos] / length[pos], sd[pos] / length[pos]


def _revenue_forecast(
    ws: Workspace, cal: _Calendar, given: pd.DataFrame | None, notes: list[str]
) -> tuple[FloatArray, FloatArray, str]:
    if given is not None:
        mean, sd = _forecast_rates(given, cal, notes)
        return mean, sd, "given"
    o = ws.orders
    sold = int(o.filter(o.status.isin(_SOLD)).count().execute())
    if sold == 0:
        notes.append("no sold orders: no future order sales are projected")
        zeros = np.zeros(cal.days)
        return zeros, zeros.copy(), "none"
    from smbgrowth.models.forecast import data_end, forecast_metric

    end = data_end(ws)
    if end is not None and end > cal.as_of.date():
        notes.append(
            f"the revenue forecast is fitted on data up to {end}, after as_of {cal.as_of.date()}"
        )
    step = 7 if cal.grain == "week" else 28
    horizon = (cal.ends[-1] - cal.as_of).days // step + 2
    result = forecast_metric(ws, "revenue_net", grain=cal.grain, horizon=horizon)
    mean, sd = _forecast_rates(result.frame(), cal, notes)
    return mean, sd, f"revenue_net forecast ({result.series[0].model})"


@dataclass(frozen=True)
class _Future:
    """Future invoices: customer, issue day offset, amount."""

    customers: list[str]
    offsets: IntArray
    amounts: FloatArray
    monthly: float


def _future_invoices(inv: pd.DataFrame, cal: _Calendar, change: float) -> _Future:
    recent = _window(inv, "issued", cal.as_of, _INVOICING_MONTHS)
    customers: list[str] = []
    offsets: list[int] = []
    amounts: list[float] = []
    monthly_total = 0.0
    for cid, group in recent.groupby("customer_id", sort=True):
        monthly = float(group["amount"].sum()) / _INVOICING_MONTHS * (1.0 + change)
        monthly_total += monthly
        last = pd.Timestamp(group["issued"].max())
        month_end = last.is_month_end
        for k in range(1, 1000):
            day = last + (pd.offsets.MonthEnd(k) if month_end else pd.DateOffset(months=k))
            if day > cal.ends[-1]:
                break
            customers.append(str(cid))
            offsets.append(int((day - cal.as_of).days))
            amounts.append(monthly)
    offset_array = np.array(offsets, dtype=np.int64)
    return _Future(customers, offset_array, np.array(amounts, dtype=np.float64), monthly_total)
