"""Operations of the sample business: support tickets, costs, stock and recurring processes.

Support delays follow a queue with fixed capacity: the busier a month is
relative to the team's capacity, the longer first responses and resolutions
take (mean ``base / (1 - utilisation)``), and slow resolutions earn lower
CSAT. Costs are monthly bills derived from the business's own volumes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from smbgrowth.data.sample import columns as col
from smbgrowth.data.sample.b2b import DealBook, InvoiceBook
from smbgrowth.data.sample.catalog import VENDOR_LEAD_TIME_DAYS, Catalog
from smbgrowth.data.sample.customers import CustomerBase, customer_ids
from smbgrowth.data.sample.marketing import SpendBook
from smbgrowth.data.sample.orders import OrderBook, OrderLines
from smbgrowth.data.sample.params import B2BPipeline, Costs, Support
from smbgrowth.data.sample.timeline import DAY, Timeline

__all__ = [
    "TicketBook",
    "draw_tickets",
    "expenses_frame",
    "processes_frame",
    "products_frame",
    "tickets_frame",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
HOUR = 3600


@dataclass(frozen=True)
class TicketBook:
    """Tickets sorted by opening; ``-1`` marks a missing instant, NaN a missing CSAT."""

    customer: IntArray
    opened_s: IntArray
    first_response_s: IntArray
    resolved_s: IntArray
    category: IntArray
    categories: tuple[str, ...]
    channel: IntArray
    channels: tuple[str, ...]
    csat: FloatArray
    capacity_per_month: int

    def __len__(self) -> int:
        return len(self.opened_s)


def draw_tickets(
    rng: np.random.Generator, timeline: Timeline, orders: OrderBook, params: Support
) -> TicketBook:
    """Draw tickets per order and category, with delays that grow with the monthly load."""
    categories = tuple(params.ticket_rate_per_order)
    picked: list[IntArray] = []
    kinds: list[IntArray] = []
    for k, name in enumerate(categories):
        hit = np.flatnonzero(rng.random(len(orders)) < params.ticket_rate_per_order[name])
        picked.append(hit.astype(np.int64))
        kinds.append(np.full(len(hit), k, dtype=np.int64))
    order = np.concatenate(picked)
    category = np.concatenate(kinds)
    wait = rng.gamma(2.0, params.open_delay_days_mean * DAY / 2.0, len(order))
    opened = orders.ordered_s[order] + np.rint(wait).astype(np.int64)
    inside = opened < timeline.end_s
    order, category, opened = order[inside], category[inside], opened[inside]
    sort = np.lexsort((category, order, opened))
    order, category, opened = order[sort], category[sort], opened[sort]
    n = len(opened)

    month = timeline.month_index(opened)
    per_month = np.bincount(month, minlength=len(timeline.month_starts()))
    capacity = max(1, math.ceil(int(per_month.max(initial=0)) / params.peak_utilisation))
    utilisation = np.minimum(per_month[month] / capacity, params.max_utilisation)
    slowdown = 1.0 / (1.0 - utilisation)
    shape = params.delay_shape
    first_h = rng.gamma(shape, params.first_response_base_hours * slowdown / shape)
    resolve_h = rng.gamma(shape, params.resolution_base_hours * slowdown / shape)
    first = opened + np.rint(first_h * HOUR).astype(np.int64)
    resolved = first + np.rint(resolve_h * HOUR).astype(np.int64)
    first = np.where(first < timeline.end_s, first, -1)
    resolved = np.where(resolved < timeline.end_s, resolved, -1)

    days_to_resolve = (resolved - opened) / DAY
    score = np.rint(
        params.csat_intercept
        - params.csat_slope_per_log_day * np.log1p(np.maximum(days_to_resolve, 0.0))
        + rng.normal(0.0, params.csat_noise, n)
    )
    answered = (resolved >= 0) & (rng.random(n) < params.csat_response_rate)
    csat = np.where(answered, np.clip(score, 1.0, 5.0), np.nan)

    channels = tuple(params.channels)
    channel_p = np.array([params.channels[c] for c in channels], dtype=np.float64)
    channel = rng.choice(len(channels), size=n, p=channel_p / channel_p.sum()).astype(np.int64)
    return TicketBook(
        customer=orders.customer[order],
        opened_s=opened.astype(np.int64),
        first_response_s=first.astype(np.int64),
        resolved_s=resolved.astype(np.int64),
        category=category,
        categories=categories,
        channel=channel,
        channels=channels,
        csat=csat.astype(np.float64),
        capacity_per_month=capacity,
    )


def tickets_frame(tickets: TicketBook, customers: CustomerBase) -> pd.DataFrame:
    """Return the ``tickets`` table."""
    n = len(tickets)
    prefix, width = customer_ids(len(customers))
    return col.frame(
        {
            "ticket_id": col.ids("T", np.arange(1, n + 1, dtype=np.int64), max(6, len(str(n)))),
            "customer_id": col.ids(prefix, tickets.customer + 1, width),
            "opened_at": col.instants(tickets.opened_s),
            "first_response_at": col.instants(
                np.maximum(tickets.first_response_s, 0), tickets.first_response_s < 0
            ),
            "resolved_at": col.instants(np.maximum(tickets.resolved_s, 0), tickets.resolved_s < 0),
            "category": col.labels(tickets.categories, tickets.category),
            "channel": col.labels(tickets.channels, tickets.channel),
            "csat": col.numbers(tickets.csat, np.isnan(tickets.csat)),
        }
    )


@dataclass
class _Bills:
    """Expense rows collected month by month."""

    incurred: list[int]
    category: list[str]
    vendor: list[str]
    cents: list[int]
    due: list[int]
    paid: list[int]
    recurring: list[bool]

    def add(
        self,
        incurred: int,
        category: str,
        vendor: str,
        cents: int,
        due: int,
        paid: int,
        recurring: bool,
    ) -> None:
        if cents <= 0:
            return
        self.incurred.append(incurred)
        self.category.append(category)
        self.vendor.append(vendor)
        self.cents.append(cents)
        self.due.append(due)
        self.paid.append(paid)
        self.recurring.append(recurring)


def _monthly_sum(
    month: IntArray, weights: npt.NDArray[np.floating[Any]], months: int
) -> FloatArray:
    sums: FloatArray = np.bincount(month, weights=weights, minlength=months)[:months].astype(
        np.float64
    )
    return sums


def expenses_frame(
    rng: np.random.Generator,
    timeline: Timeline,
    orders: OrderBook,
    lines: OrderLines,
    catalog: Catalog,
    invoices: InvoiceBook,
    spend: SpendBook,
    costs: Costs,
    b2b: B2BPipeline,
) -> pd.DataFrame:
    """Return the ``expenses`` table: one bill per cost, vendor and month.

    Monthly volumes are computed with one vectorised pass per source; the loop
    runs over months and vendors only.
    """
    starts = timeline.month_starts()
    months = len(starts)
    ends = np.append(starts[1:], starts[-1] + 31 * DAY)
    first_s, last_s = timeline.start_s, timeline.end_s - 1

    order_month = timeline.month_index(orders.ordered_s)
    n_orders = np.bincount(order_month, minlength=months)[:months]
    web = ~orders.marketplace
    fees = _monthly_sum(
        order_month[web],
        orders.total[web] * costs.payment_fee_rate + costs.payment_fee_fixed * 100.0,
        months,
    )
    shipped = orders.fulfilled_s >= 0
    label = np.where(
        orders.domestic, costs.shipping_label_domestic, costs.shipping_label_international
    )
    labels = _monthly_sum(
        timeline.month_index(orders.fulfilled_s[shipped]), label[shipped] * 100.0, months
    )
    vendors = len(catalog.vendors)
    line_month = order_month[lines.order]
    line_cost = lines.quantity * catalog.cost_cents[lines.product]
    cogs = np.bincount(
        line_month * vendors + catalog.vendor_of[lines.product],
        weights=line_cost,
        minlength=months * vendors,
    )[: months * vendors].reshape(months, vendors)
    b2b_cogs = _monthly_sum(
        timeline.month_index(invoices.issued_s), invoices.net * b2b.cogs_share, months
    )
    spend_month = timeline.month_index(spend.day * DAY + timeline.start_s)
    channels = len(spend.channel)
    marketing = np.bincount(
        spend_month * channels + spend.channel_of,
        weights=spend.spend.astype(np.float64),
        minlength=months * channels,
    )[: months * channels].reshape(months, channels)

    bills = _Bills([], [], [], [], [], [], [])
    slip = rng.integers(-3, 6, size=(months, vendors + 1))
    for m in range(months):
        opens = max(int(starts[m]), first_s)
        closes = min(int(ends[m]) - DAY + 12 * HOUR, last_s)
        mid = min(int(starts[m]) + 14 * DAY, last_s)
        if opens > last_s:
            break
        headcount = costs.founders + math.ceil(n_orders[m] / costs.orders_per_employee_month)
        rent = max(amount for seats, amount in costs.rent_steps if headcount >= seats)
        bills.add(opens, "rent", "Harbor Properties", round(rent * 100), opens, opens + DAY, True)
        payroll = round(headcount * costs.salary_per_head * 100)
        bills.add(closes, "payroll", "Gusto Payroll", payroll, closes, closes, True)
        software_day = min(opens + 4 * DAY, last_s)
        for vendor, amount in costs.software.items():
            cents = round(amount * 100)
            bills.add(software_day, "software", vendor, cents, software_day, software_day, True)
        bills.add(closes, "payment_fees", "Stripe", round(fees[m]), closes, closes, False)
        ship_due = closes + 15 * DAY
        bills.add(closes, "shipping", "UPS", round(labels[m]), ship_due, ship_due, False)
        due = mid + costs.cogs_terms_days * DAY
        for v, vendor in enumerate(catalog.vendors):
            cents = round(cogs[m, v] + (b2b_cogs[m] if v == 0 else 0.0))
            bills.add(mid, "cogs", vendor, cents, due, due + int(slip[m, v]) * DAY, False)
        if costs.marketing_in_expenses:
            for c, channel in enumerate(spend.channel):
                vendor = costs.marketing_vendors[channel]
                bills.add(
                    closes, "marketing", vendor, round(marketing[m, c]), closes, closes, False
                )

    incurred = np.array(bills.incurred, dtype=np.int64)
    paid = np.array(bills.paid, dtype=np.int64)
    order = np.argsort(incurred, kind="stable")
    unpaid = paid[order] >= timeline.end_s
    n = len(order)
    category_of = [bills.category[i] for i in order]
    vendor_of = [bills.vendor[i] for i in order]
    return col.frame(
        {
            "expense_id": col.ids("EXP-", np.arange(1, n + 1, dtype=np.int64), 6),
            "incurred_at": col.instants(incurred[order]),
            "category": col.texts(category_of),
            "vendor": col.texts(vendor_of),
            "amount": col.money(np.array(bills.cents, dtype=np.int64)[order]),
            "due_at": col.instants(np.array(bills.due, dtype=np.int64)[order]),
            "paid_at": col.instants(np.where(unpaid, 0, paid[order]), unpaid),
            "recurring": col.flags(np.array(bills.recurring, dtype=np.bool_)[order]),
        }
    )


def products_frame(
    rng: np.random.Generator,
    timeline: Timeline,
    orders: OrderBook,
    lines: OrderLines,
    catalog: Catalog,
) -> pd.DataFrame:
    """Return the ``products`` table, with stock on hand from the last 90 days' sales."""
    products = catalog.products
    recent = orders.ordered_s[lines.order] >= timeline.end_s - 90 * DAY
    sold = np.bincount(
        lines.product[recent], weights=lines.quantity[recent], minlength=len(products)
    )
    cover_days = rng.uniform(10.0, 75.0, len(products))
    stock = sold / 90.0 * cover_days
    stock[rng.choice(len(products), size=3, replace=False)] = 0.0
    by_weight = np.array([p.by_weight for p in products], dtype=np.bool_)
    stock = np.where(by_weight, np.round(stock, 1), np.ceil(stock))
    return col.frame(
        {
            "sku": col.texts([p.sku for p in products]),
            "name": col.texts([p.name for p in products]),
            "category": col.texts([p.category for p in products]),
            "unit_cost": col.money(catalog.cost_cents),
            "price": col.money(catalog.price_cents),
            "stock_on_hand": col.numbers(stock),
            "lead_time_days": col.numbers(
                np.array([VENDOR_LEAD_TIME_DAYS[p.vendor] for p in products], dtype=np.float64)
            ),
            "vendor": col.texts([p.vendor for p in products]),
        }
    )


def processes_frame(
    timeline: Timeline,
    orders: OrderBook,
    invoices: InvoiceBook,
    tickets: TicketBook,
    deals: DealBook,
) -> pd.DataFrame:
    """Return the ``processes`` table: recurring work at the last 90 days' volumes."""
    since = timeline.end_s - 90 * DAY

    def per_month(instants: IntArray) -> float:
        return round(float(np.count_nonzero(instants >= since)) / 3.0, 1)

    won_closed = deals.closed_s[(deals.won == 1)]
    rows = [
        # name, department, runs/month, minutes/run, error rate, error cost, hourly cost, customers
        (
            "Order fulfilment (pick, pack, label)",
            "operations",
            per_month(orders.ordered_s),
            6.0,
            0.012,
            18.0,
            24.0,
            True,
        ),
        (
            "Invoicing wholesale accounts",
            "finance",
            per_month(invoices.issued_s),
            12.0,
            0.03,
            35.0,
            38.0,
            True,
        ),
        ("Bookkeeping and bank reconciliation", "finance", 22.0, 45.0, 0.02, 120.0, 45.0, False),
        (
            "Customer e-mail replies",
            "support",
            per_month(tickets.opened_s),
            9.0,
            0.04,
            12.0,
            26.0,
            True,
        ),
        ("Social media posting", "marketing", 20.0, 35.0, 0.01, 5.0, 30.0, True),
        ("Inventory reorder", "operations", 20.0, 25.0, 0.05, 250.0, 32.0, False),
        ("Newsletter", "marketing", 4.0, 150.0, 0.02, 40.0, 30.0, True),
        (
            "Wholesale account onboarding",
            "sales",
            max(per_month(won_closed), 0.3),
            120.0,
            0.08,
            90.0,
            40.0,
            True,
        ),
    ]
    n = len(rows)
    return col.frame(
        {
            "process_id": col.ids("P", np.arange(1, n + 1, dtype=np.int64), 2),
            "name": col.texts([r[0] for r in rows]),
            "department": col.texts([r[1] for r in rows]),
            "runs_per_month": col.numbers(np.array([r[2] for r in rows], dtype=np.float64)),
            "minutes_per_run": col.numbers(np.array([r[3] for r in rows], dtype=np.float64)),
            "error_rate": col.numbers(np.array([r[4] for r in rows], dtype=np.float64)),
            "error_cost": col.money(np.array([round(r[5] * 100) for r in rows], dtype=np.int64)),
            "hourly_cost": col.money(np.array([round(r[6] * 100) for r in rows], dtype=np.int64)),
            "touches_customers": col.flags(np.array([r[7] for r in rows], dtype=np.bool_)),
        }
    )
