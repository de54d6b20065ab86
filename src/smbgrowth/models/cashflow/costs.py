"""Future cash out: open bills, recurring, variable, marketing and other costs.

Outflows
    * open bills: expenses incurred on or before ``as_of`` and unpaid then are
      paid on their due date (overdue ones the next day); bills unpaid more than
      90 days after falling due are taken as settled outside the data; an
      export without any ``paid_at`` is taken as cash-basis (no open bills);
    * recurring costs (``recurring`` true, or when unset a category such as
      payroll, rent or software): each (category, vendor) continues at its last
      amount and its cadence (median gap: weekly, fortnightly, monthly,
      quarterly or yearly; monthly when seen once), paid with its usual
      incurred → paid lag; a cost not seen for two cadences has stopped;
    * variable costs (COGS, payment fees, shipping, fulfilment): their ratio to
      revenue over the last 6 months, applied to each path's sales and paid
      with the category's usual lag;
    * marketing at its daily average of the last 3 months; other irregular
      costs, per category, at their daily average of the last 6 months.

Scenario hires and investments are the other outflows: see
:mod:`~smbgrowth.models.cashflow.scenario`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from smbgrowth.data.workspace import Workspace
from smbgrowth.metrics.base import local_time
from smbgrowth.models.cashflow.common import _DAY, _days

# Internal to the cash-flow package: nothing here is public.
__all__: list[str] = []

_VARIABLE = frozenset(
    {
        "cogs",
        "cost_of_goods_sold",
        "cost_of_sales",
        "payment_fees",
        "merchant_fees",
        "shipping",
        "fulfilment",
        "fulfillment",
        "freight",
    }
)
_MARKETING = frozenset({"marketing", "advertising", "ads"})
_RECURRING = frozenset(
    {"payroll", "salaries", "wages", "rent", "software", "insurance", "utilities", "lease"}
)
_RATIO_MONTHS = 6
_MARKETING_MONTHS = 3
_STALE_BILL_DAYS = 90
_CADENCES: tuple[tuple[str, float, int, int], ...] = (
    # name, largest median gap (days), step in days, step in months
    ("weekly", 10.0, 7, 0),
    ("fortnightly", 21.0, 14, 0),
    ("monthly", 45.0, 0, 1),
    ("quarterly", 135.0, 0, 3),
    ("yearly", math.inf, 0, 12),
)
_FIXED_ITEMS = ("open invoices", "sales", "invoiced sales", "open bills", "hires")


def _load_expenses(ws: Workspace) -> pd.DataFrame:
    t = ws.expenses
    zone = ws.time_zone
    frame: pd.DataFrame = t.select(
        category=t.category.fill_null("other"),
        vendor=t.vendor.fill_null("(none)"),
        incurred=local_time(t.incurred_at, zone).date(),
        due=local_time(t.due_at, zone).date(),
        paid=local_time(t.paid_at, zone).date(),
        amount=t.amount.cast("float64"),
        recurring=t.recurring,
    ).execute()
    for column in ("incurred", "due", "paid"):
        frame[column] = _days(frame[column])
    category = frame["category"].astype(str).str.strip().str.lower()
    frame["category"] = category.str.replace(r"[\s\-]+", "_", regex=True)
    named = frame["category"].isin(_RECURRING)
    frame["recurring"] = frame["recurring"].astype("boolean").fillna(named).astype(bool)
    return frame


def _item_name(category: str) -> str:
    return f"{category} costs" if category in _FIXED_ITEMS else category


def _covered_days(first: pd.Timestamp | None, as_of: pd.Timestamp, months: int) -> int:
    start = as_of - pd.DateOffset(months=months)
    if first is not None and not pd.isna(first):
        start = max(start, first - _DAY)
    return max(1, int((as_of - start).days))


def _lag_days(group: pd.DataFrame, as_of: pd.Timestamp) -> int:
    """Usual days from incurred to paid (payments known at as_of), else to due, else 0."""
    known = group[group["paid"] <= as_of]
    paid = (known["paid"] - known["incurred"]).dt.days.dropna()
    if paid.size:
        return max(0, round(float(paid.median())))
    due = (group["due"] - group["incurred"]).dt.days.dropna()
    return max(0, round(float(due.median()))) if due.size else 0


@dataclass(frozen=True)
class _RecurringCost:
    category: str
    vendor: str
    amount: float
    cadence: str
    last: pd.Timestamp
    lag_days: int

    def dates(self, as_of: pd.Timestamp, until: pd.Timestamp) -> list[pd.Timestamp]:
        """Future incurred dates after as_of up to ``until``; empty when it stopped."""
        _, _, step_days, step_months = next(c for c in _CADENCES if c[0] == self.cadence)
        span = step_days or 31 * step_months
        if self.last < as_of - pd.Timedelta(days=2 * span):
            return []
        month_end = self.last.is_month_end
        out: list[pd.Timestamp] = []
        for k in range(1, 10_000):
            if step_days:
                day = self.last + pd.Timedelta(days=step_days * k)
            elif month_end:
                day = self.last + pd.offsets.MonthEnd(step_months * k)
            else:
                day = self.last + pd.DateOffset(months=step_months * k)
            if day > until:
                break
            if day > as_of:
                out.append(pd.Timestamp(day))
        return out


def _recurring_costs(expenses: pd.DataFrame, as_of: pd.Timestamp) -> list[_RecurringCost]:
    rec = expenses[expenses["recurring"] & (expenses["incurred"] <= as_of)]
    out = []
    for (category, vendor), group in rec.groupby(["category", "vendor"], sort=True):
        by_day = group.groupby("incurred", sort=True)["amount"].sum()
        gaps = np.diff(by_day.index.to_numpy()).astype("timedelta64[D]").astype(np.float64)
        median_gap = float(np.median(gaps)) if gaps.size else 30.0
        cadence = next(name for name, most, _, _ in _CADENCES if median_gap <= most)
        out.append(
            _RecurringCost(
                category=str(category),
                vendor=str(vendor),
                amount=float(by_day.iloc[-1]),
                cadence=cadence,
                last=pd.Timestamp(by_day.index[-1]),
                lag_days=_lag_days(group, as_of),
            )
        )
    return out


def _open_bills(expenses: pd.DataFrame, as_of: pd.Timestamp, notes: list[str]) -> pd.DataFrame:
    if expenses["paid"].notna().sum() == 0:
        if not expenses.empty:
            notes.append("expenses carry no paid dates: taken as paid when incurred")
        return expenses.iloc[:0]
    e = expenses[expenses["incurred"] <= as_of]
    unpaid = e["paid"].isna() | (e["paid"] > as_of)
    reference = e["due"].fillna(e["incurred"])
    stale = e["paid"].isna() & (reference < as_of - pd.Timedelta(days=_STALE_BILL_DAYS))
    bills = e[unpaid & ~stale]
    if int(stale.sum()):
        notes.append(
            f"{int(stale.sum())} bill(s) unpaid more than {_STALE_BILL_DAYS} days after falling "
            "due are taken as settled outside the data"
        )
    return bills


def _first_day(
    ws: Workspace, invoices: pd.DataFrame, expenses: pd.DataFrame
) -> pd.Timestamp | None:
    found = [invoices["issued"].min(), expenses["incurred"].min()]
    o = ws.orders
    first = o.ordered_at.min().execute()
    if first is not None and not pd.isna(first):
        stamp = pd.Timestamp(first)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
        found.append(stamp.tz_convert(ws.time_zone).tz_localize(None).normalize())
    days = [pd.Timestamp(d) for d in found if not pd.isna(d)]
    return min(days) if days else None


def _revenue_between(ws: Workspace, as_of: pd.Timestamp, months: int) -> float:
    from smbgrowth.metrics.registry import compute_metric

    start = (as_of - pd.DateOffset(months=months) + _DAY).date()
    total = compute_metric(ws, "revenue_net", grain="total", start=start, end=as_of.date()).total()
    return float(total or 0.0)
