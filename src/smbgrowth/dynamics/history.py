"""A business's monthly history in the terms of the growth model.

:class:`History` holds the monthly series calibration needs: new customers
by acquisition channel and by segment, paid spend by channel, orders and
revenue by segment, subscriptions, support tickets with their response
times, and costs. :func:`history_from_workspace` reads it from a workspace
(complete months in the workspace's time zone); a history can also be built
from a simulated run (see :func:`smbgrowth.dynamics.calibration.history_from_run`),
which is how calibration is tested against known parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from smbgrowth.data.duck import run
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import ModelError

__all__ = [
    "PAYROLL_CATEGORIES",
    "REFERRAL_CHANNELS",
    "VARIABLE_CATEGORIES",
    "History",
    "history_from_workspace",
]

#: Acquisition channels whose customers come by word of mouth.
REFERRAL_CHANNELS = frozenset({"referral", "referrals", "word_of_mouth", "word of mouth", "wom"})
#: Expense categories that scale with sales (cost of goods, shipping, payment fees).
VARIABLE_CATEGORIES = frozenset(
    {"cogs", "cost_of_goods_sold", "shipping", "payment_fees", "fulfilment", "fulfillment",
     "merchant_fees", "packaging"}
)  # fmt: skip
#: Expense categories that are the cost of staff.
PAYROLL_CATEGORIES = frozenset({"payroll", "salaries", "wages", "staff"})
_MARKETING_CATEGORIES = frozenset({"marketing", "advertising", "ads"})

_SOLD = "('completed', 'partially_refunded', 'refunded')"


@dataclass(frozen=True)
class History:
    """Monthly series of one business, indexed by month labels ``YYYY-MM``.

    Attributes
    ----------
    totals
        One row per month: ``orders``, ``revenue`` (net order revenue),
        ``subscription_revenue``, ``subscribers`` (at month end),
        ``new_subscriptions``, ``cancellations``, ``tickets``,
        ``response_months`` (mean time to resolve a ticket opened that month),
        ``payroll``, ``fixed_costs``, ``variable_costs``, ``other_revenue``;
        NaN where the data do not say.
    new_by_channel, spend_by_channel
        New customers per acquisition channel; spend per paid channel.
    new_by_segment, orders_by_segment, revenue_by_segment
        New customers, orders and net order revenue per customer segment.
    active_by_segment, churned_by_segment
        Observed active customers (mean over the month) and customers lost per
        segment when the data record them (a CRM or a simulation); empty
        otherwise, and calibration reconstructs them.
    customers_before
        Customers acquired before the first month.
    """

    totals: pd.DataFrame
    new_by_channel: pd.DataFrame
    spend_by_channel: pd.DataFrame
    new_by_segment: pd.DataFrame
    orders_by_segment: pd.DataFrame
    revenue_by_segment: pd.DataFrame
    active_by_segment: pd.DataFrame = field(default_factory=pd.DataFrame)
    churned_by_segment: pd.DataFrame = field(default_factory=pd.DataFrame)
    customers_before: float = 0.0

    @property
    def months(self) -> list[str]:
        """The month labels, oldest first."""
        return [str(m) for m in self.totals.index]

    @property
    def start_month(self) -> int:
        """Calendar month (1-12) of the first month."""
        return int(self.months[0][5:7])

    def tail(self, months: int) -> History:
        """Return the last ``months`` months (customers before them counted as before)."""
        n = len(self.totals)
        if months >= n:
            return self
        cut = n - months
        earlier = float(self.new_by_segment.iloc[:cut].to_numpy().sum())

        def last(frame: pd.DataFrame) -> pd.DataFrame:
            return frame.iloc[cut:] if len(frame) == n else frame

        return History(
            totals=self.totals.iloc[cut:],
            new_by_channel=last(self.new_by_channel),
            spend_by_channel=last(self.spend_by_channel),
            new_by_segment=last(self.new_by_segment),
            orders_by_segment=last(self.orders_by_segment),
            revenue_by_segment=last(self.revenue_by_segment),
            active_by_segment=last(self.active_by_segment),
            churned_by_segment=last(self.churned_by_segment),
            customers_before=self.customers_before + earlier,
        )


def _month_range(first: str, last: str) -> list[str]:
    return [str(p) for p in pd.period_range(first, last, freq="M")]


def _pivot(rows: list[tuple[Any, ...]], months: list[str]) -> pd.DataFrame:
    """Rows (month, key, value) -> months × keys, zero where absent."""
    if not rows:
        return pd.DataFrame(index=pd.Index(months, name="month"))
    frame = pd.DataFrame(rows, columns=["month", "key", "value"])
    frame["key"] = frame["key"].fillna("unknown").astype(str)
    wide = frame.pivot_table(index="month", columns="key", values="value", aggfunc="sum")
    wide = wide.reindex(months).fillna(0.0).astype("float64")
    wide.columns.name = None
    wide.index.name = "month"
    return wide


def _series(rows: list[tuple[Any, ...]], months: list[str], fill: float = 0.0) -> pd.Series:
    values = {str(m): float(v) for m, v in rows if v is not None}
    return pd.Series([values.get(m, fill) for m in months], index=months, dtype="float64")


def history_from_workspace(ws: Workspace) -> History:
    """Read the monthly history of a workspace (complete months, local time zone).

    Raises
    ------
    ModelError
        When the workspace has fewer than three complete months of sold orders.
    """
    from smbgrowth.metrics.scorecard import latest_complete_month

    last = latest_complete_month(ws)
    con = ws.duck
    tz = ws.time_zone.replace("'", "''")

    def month_of(column: str) -> str:
        return f"strftime(timezone('{tz}', {column}), '%Y-%m')"

    first_row = run(
        con,
        f"SELECT min({month_of('ordered_at')}) FROM orders WHERE status IN {_SOLD}",
    )
    first = first_row[0][0] if first_row else None
    if first is None or last is None:
        raise ModelError("the growth model needs sold orders: import orders first")
    months = _month_range(first, last)
    if len(months) < 3:
        raise ModelError(
            f"the growth model needs at least 3 complete months of orders; the data cover "
            f"{len(months)} ({first} to {last})"
        )
    month_list = ", ".join(f"'{m}'" for m in months)

    # Customers' first sold order: the month they were acquired.
    firsts = f"""
        SELECT o.customer_id, min(o.ordered_at) AS first_at,
               any_value(coalesce(c.acquisition_channel, 'unknown')) AS channel,
               any_value(coalesce(c.segment, 'customers')) AS segment
        FROM orders o LEFT JOIN customers c USING (customer_id)
        WHERE o.status IN {_SOLD} AND o.customer_id IS NOT NULL
        GROUP BY o.customer_id
    """
    new_channel = run(
        con,
        f"SELECT {month_of('first_at')} AS m, channel, count(*) FROM ({firsts}) "
        f"WHERE m IN ({month_list}) GROUP BY ALL",
    )
    new_segment = run(
        con,
        f"SELECT {month_of('first_at')} AS m, segment, count(*) FROM ({firsts}) "
        f"WHERE m IN ({month_list}) GROUP BY ALL",
    )
    before = run(
        con, f"SELECT count(*) FROM ({firsts}) WHERE {month_of('first_at')} < '{months[0]}'"
    )
    orders_rows = run(
        con,
        f"""
        SELECT {month_of("o.ordered_at")} AS m, coalesce(c.segment, 'customers') AS seg,
               count(*) AS n,
               sum(o.total - coalesce(o.refunded, 0))::DOUBLE AS net
        FROM orders o LEFT JOIN customers c USING (customer_id)
        WHERE o.status IN {_SOLD} AND m IN ({month_list})
        GROUP BY ALL
        """,
    )
    spend = run(
        con,
        f"SELECT strftime(date, '%Y-%m') AS m, channel, sum(spend)::DOUBLE "
        f"FROM marketing_spend WHERE m IN ({month_list}) GROUP BY ALL",
    )

    totals = pd.DataFrame(index=pd.Index(months, name="month"))
    orders_by_segment = _pivot([(m, s, n) for m, s, n, _ in orders_rows], months)
    revenue_by_segment = _pivot([(m, s, v) for m, s, _, v in orders_rows], months)
    totals["orders"] = orders_by_segment.sum(axis=1)
    totals["revenue"] = revenue_by_segment.sum(axis=1)

    # Subscriptions: starts, ends, subscribers at month end and revenue.
    subs = run(con, "SELECT count(*) FROM subscriptions")[0][0]
    if subs:
        sub_rows = run(
            con,
            f"""
            WITH months AS (
                SELECT unnest([{month_list}]) AS m
            ), bounds AS (
                SELECT m, (strptime(m || '-01', '%Y-%m-%d') + INTERVAL 1 MONTH) AS month_end
                FROM months
            )
            SELECT b.m,
                (SELECT count(*) FROM subscriptions s
                  WHERE {month_of("s.started_at")} = b.m),
                (SELECT count(*) FROM subscriptions s
                  WHERE s.ended_at IS NOT NULL AND {month_of("s.ended_at")} = b.m),
                (SELECT count(*) FROM subscriptions s
                  WHERE timezone('{tz}', s.started_at) < b.month_end
                    AND (s.ended_at IS NULL OR timezone('{tz}', s.ended_at) >= b.month_end)),
                (SELECT coalesce(sum(s.mrr), 0)::DOUBLE FROM subscriptions s
                  WHERE timezone('{tz}', s.started_at) < b.month_end
                    AND (s.ended_at IS NULL OR timezone('{tz}', s.ended_at) >= b.month_end))
            FROM bounds b ORDER BY b.m
            """,
        )
        totals["new_subscriptions"] = [float(r[1]) for r in sub_rows]
        totals["cancellations"] = [float(r[2]) for r in sub_rows]
        totals["subscribers"] = [float(r[3]) for r in sub_rows]
        totals["subscription_revenue"] = [float(r[4]) for r in sub_rows]
    else:
        for column in ("new_subscriptions", "cancellations", "subscribers", "subscription_revenue"):
            totals[column] = 0.0

    tickets = run(
        con,
        f"""
        SELECT {month_of("opened_at")} AS m, count(*),
               avg(epoch(resolved_at - opened_at) / 86400.0 / 30.4375)
        FROM tickets WHERE m IN ({month_list}) GROUP BY ALL
        """,
    )
    if tickets:
        totals["tickets"] = _series([(m, n) for m, n, _ in tickets], months)
        totals["response_months"] = _series([(m, d) for m, _, d in tickets], months, np.nan)
    else:
        totals["tickets"] = np.nan
        totals["response_months"] = np.nan

    expenses = run(
        con,
        f"SELECT {month_of('incurred_at')} AS m, lower(coalesce(category, 'other')), "
        f"sum(amount)::DOUBLE FROM expenses WHERE m IN ({month_list}) GROUP BY ALL",
    )
    if expenses:
        by_category = _pivot(expenses, months)
        kinds = {"payroll": PAYROLL_CATEGORIES, "variable_costs": VARIABLE_CATEGORIES}
        used: set[str] = set()
        for column, names in kinds.items():
            cols = [c for c in by_category.columns if c in names]
            used.update(cols)
            totals[column] = by_category[cols].sum(axis=1) if cols else 0.0
        fixed = [c for c in by_category.columns if c not in used | _MARKETING_CATEGORIES]
        totals["fixed_costs"] = by_category[fixed].sum(axis=1) if fixed else 0.0
    else:
        for column in ("payroll", "variable_costs", "fixed_costs"):
            totals[column] = np.nan

    # Invoiced revenue of customers who never order (e.g. wholesale accounts).
    invoices = run(
        con,
        f"""
        SELECT {month_of("i.issued_at")} AS m, sum(i.amount)::DOUBLE
        FROM invoices i
        WHERE m IN ({month_list}) AND NOT EXISTS (
            SELECT 1 FROM orders o WHERE o.customer_id = i.customer_id
              AND o.status IN {_SOLD})
        GROUP BY ALL
        """,
    )
    totals["other_revenue"] = _series(invoices, months)

    return History(
        totals=totals,
        new_by_channel=_pivot(new_channel, months),
        spend_by_channel=_pivot(spend, months),
        new_by_segment=_pivot(new_segment, months),
        orders_by_segment=orders_by_segment,
        revenue_by_segment=revenue_by_segment,
        customers_before=float(before[0][0]) if before else 0.0,
    )
