"""The driver scorecard: each driver's headline metrics now, before and a year ago.

For the latest complete month of the data (or a month the user names), every
headline metric shows its value, the previous month, the same month last year,
and a trend judged by one stated rule:

    trend = the mean of the last 3 months against the mean of the 3 months
    before them; a change of more than ±5 % is a move, up or down, and it is
    *improving* when it goes the metric's good way, *worsening* otherwise;
    anything within ±5 % is *flat*.

Changes are measured against the size of the earlier value, (new − old) ÷ |old|,
so a metric that can be negative moves the right way: net burn going from −100
(a profit) to −50 is a rise, which for burn is *worsening*.

A headline metric whose data the workspace lacks (net burn without expenses,
CAC without marketing spend) is shown as not available, with what to import,
and has no value, comparison or trend. Per driver, the metric that moved most is
the available one with the largest change against the previous month, in either
direction.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import pandas as pd

from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import MetricError
from smbgrowth.metrics.base import DRIVERS, Driver, MetricResult
from smbgrowth.metrics.common import REVENUE_STATUSES
from smbgrowth.metrics.registry import METRICS, compute_metric, metric_needs

__all__ = [
    "HEADLINES",
    "TREND_THRESHOLD",
    "TREND_WINDOW",
    "DriverCard",
    "MetricCard",
    "Scorecard",
    "driver_scorecard",
    "latest_complete_month",
]

#: Relative change of the trailing mean that counts as a move.
TREND_THRESHOLD = 0.05
#: Months in each of the two means compared by the trend rule.
TREND_WINDOW = 3

#: Headline metrics of each driver, most important first. A metric whose inputs
#: the workspace lacks is shown as not available; one whose inputs are there but
#: that has no value in the months shown is left out.
HEADLINES: dict[Driver, tuple[str, ...]] = {
    "demand": ("new_customers", "active_customers", "sessions", "leads"),
    "sales & marketing": ("cac", "roas", "funnel_conversion", "win_rate"),
    "operations": (
        "resolution_hours_median",
        "first_response_hours_median",
        "tickets_per_100_orders",
        "fulfilment_days_median",
    ),
    "customers": ("customer_churn_rate", "repeat_purchase_rate", "net_revenue_retention", "mrr"),
    "finance": ("revenue_net", "gross_margin", "aov", "burn"),
}


@dataclass(frozen=True)
class MetricCard:
    """One headline metric on the scorecard.

    When ``available`` is False the workspace lacks the data the metric needs;
    ``needs`` says what to import and every number and the trend are None.
    """

    metric: str
    name: str
    unit: str
    value: float | None
    previous: float | None
    last_year: float | None
    change_previous: float | None
    change_last_year: float | None
    trend: str | None
    higher_is_better: bool | None
    available: bool = True
    needs: str | None = None

    @property
    def not_available(self) -> str | None:
        """``not available: needs …`` for a metric without its data, else None."""
        return None if self.available else f"not available: needs {self.needs}"


@dataclass(frozen=True)
class DriverCard:
    """A driver's headline metrics and the one that moved most."""

    driver: str
    metrics: list[MetricCard]
    moved_most: str | None


@dataclass(frozen=True)
class Scorecard:
    """The five drivers for one month."""

    period: str
    drivers: list[DriverCard]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _month(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def latest_complete_month(ws: Workspace) -> str | None:
    """The last month the data cover to its end, in the workspace's time zone.

    The data's end is the latest sold order, web event, ticket or ad-spend day; a
    month counts as complete when that end is on its last or next-to-last day (a
    quiet last day does not make a month partial). None without any sold order.
    """
    o = ws.orders
    latest_order = o.filter(o.status.isin(REVENUE_STATUSES)).ordered_at.max().execute()
    if latest_order is None or pd.isna(latest_order):
        return None
    ends = [pd.Timestamp(latest_order).tz_convert(ws.time_zone)]
    for table, column in (("web_events", "occurred_at"), ("tickets", "opened_at")):
        value = ws.table(table)[column].max().execute()
        if value is not None and not pd.isna(value):
            ends.append(pd.Timestamp(value).tz_convert(ws.time_zone))
    spend = ws.marketing_spend.date.max().execute()
    if spend is not None and not pd.isna(spend):
        ends.append(pd.Timestamp(spend).tz_localize(ws.time_zone) + pd.Timedelta(hours=23))
    local = max(ends)
    month = pd.Period(local.strftime("%Y-%m"), "M")
    if local.day < month.days_in_month - 1:
        month -= 1
    return str(month)


def _change(now: float | None, before: float | None) -> float | None:
    """Relative change (now − before) ÷ |before|; positive means the value rose."""
    if now is None or before is None or before == 0:
        return None
    return (now - before) / abs(before)


def _trend(series: pd.Series, higher_is_better: bool | None) -> str:
    values = series.dropna()
    if len(values) < 2 * TREND_WINDOW or higher_is_better is None:
        return "n/a"
    recent = float(values.iloc[-TREND_WINDOW:].mean())
    before = float(values.iloc[-2 * TREND_WINDOW : -TREND_WINDOW].mean())
    change = _change(recent, before)
    if change is None:
        return "n/a"
    if abs(change) <= TREND_THRESHOLD:
        return "flat"
    up = change > 0
    return "improving" if up == higher_is_better else "worsening"


def _value(series: pd.Series, period: str) -> float | None:
    if period not in series.index:
        return None
    v = series.loc[period]
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def _not_available(metric_id: str, needs: str) -> MetricCard:
    metric = METRICS[metric_id]
    return MetricCard(
        metric=metric.id,
        name=metric.name,
        unit=metric.unit,
        value=None,
        previous=None,
        last_year=None,
        change_previous=None,
        change_last_year=None,
        trend=None,
        higher_is_better=metric.higher_is_better,
        available=False,
        needs=needs,
    )


def driver_scorecard(
    ws: Workspace,
    *,
    period: str | None = None,
    results: Mapping[str, MetricResult] | None = None,
) -> Scorecard:
    """Build the scorecard for ``period`` (``YYYY-MM``; default: latest complete month).

    ``results`` may hold monthly results already computed without a window (from
    :func:`~smbgrowth.metrics.registry.compute_all`); they are reused instead of
    computing those metrics again.
    """
    period = period or latest_complete_month(ws)
    if period is None:
        raise MetricError("no sold orders yet: import orders before asking for a scorecard")
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", period):
        raise MetricError(f"period {period!r} is not a month like 2025-03")
    now = pd.Period(period, "M")
    start = (now - 24).start_time.date()
    end = now.end_time.date()
    drivers = []
    for driver in DRIVERS:
        cards = []
        for metric_id in HEADLINES[driver]:
            metric = METRICS.get(metric_id)
            if metric is None or "month" not in metric.grains:
                continue
            needs = metric_needs(ws, metric_id)
            if needs is not None:
                cards.append(_not_available(metric_id, needs))
                continue
            known = (results or {}).get(metric_id)
            if known is not None and known.grain == "month" and known.by is None:
                full = known.series()
                series = full[(full.index >= str(now - 24)) & (full.index <= str(now))]
            else:
                try:
                    series = compute_metric(
                        ws, metric_id, grain="month", start=start, end=end
                    ).series()
                except MetricError:
                    continue
            # A metric whose table is empty shows nothing rather than a row of zeros,
            # and months before its first value (the business or the measure did not
            # exist yet) have no value rather than 0.
            started = series.fillna(0) != 0
            if series.dropna().empty or not started.any():
                continue
            series = series.loc[started.idxmax() :]
            value = _value(series, str(now))
            previous = _value(series, str(now - 1))
            last_year = _value(series, str(now - 12))
            cards.append(
                MetricCard(
                    metric=metric.id,
                    name=metric.name,
                    unit=metric.unit,
                    value=value,
                    previous=previous,
                    last_year=last_year,
                    change_previous=_change(value, previous),
                    change_last_year=_change(value, last_year),
                    trend=_trend(series.loc[: str(now)], metric.higher_is_better),
                    higher_is_better=metric.higher_is_better,
                )
            )
        moved = [c for c in cards if c.available and c.change_previous is not None]
        most = max(moved, key=lambda c: abs(c.change_previous or 0.0)).metric if moved else None
        drivers.append(DriverCard(driver, cards, most))
    return Scorecard(str(now), drivers)
