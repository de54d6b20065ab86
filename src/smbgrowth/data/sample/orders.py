"""Orders and order lines: BG/NBD repeat buying with Gamma-Gamma order values.

Each web customer's first order is their arrival; repeat orders follow the
BG/NBD story of Fader, Hardie & Lee (2005): while alive a customer buys as a
Poisson process with rate ``λ ~ Gamma(r, α)`` per week, and after each repeat
purchase drops out with probability ``p ~ Beta(a, b)``. Given ``N`` Poisson
arrivals in the observation window and a dropout after the ``J``-th repeat
purchase (``J ~ Geometric(p)``), the customer makes ``X = min(N, J)`` repeat
purchases at the first ``X`` of ``N`` uniform instants. Order subtotals follow
the Gamma-Gamma model of Fader, Hardie & Lee (2005): ``z ~ Gamma(p, ν)``
with ``ν ~ Gamma(q, γ)`` per customer.

References
----------
.. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting Your
   Customers" the Easy Way: An Alternative to the Pareto/NBD Model.
   *Marketing Science* 24(2), 275–284.
.. [2] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). RFM and CLV:
   Using Iso-Value Curves for Customer Base Analysis. *Journal of Marketing
   Research* 42(4), 415–430.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from smbgrowth.data.sample import columns as col
from smbgrowth.data.sample.catalog import Catalog
from smbgrowth.data.sample.customers import CustomerBase, customer_ids
from smbgrowth.data.sample.params import OrderPolicy, OrderValue, RepeatPurchase
from smbgrowth.data.sample.timeline import WEEK, Timeline

__all__ = [
    "ORDER_STATUSES",
    "SALES_CHANNELS",
    "OrderBook",
    "OrderLines",
    "build_lines",
    "draw_orders",
    "draw_repeat_purchases",
    "order_ids",
    "order_lines_frame",
    "orders_frame",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

ORDER_STATUSES: tuple[str, ...] = (
    "completed",
    "pending",
    "cancelled",
    "refunded",
    "partially_refunded",
)
_COMPLETED, _PENDING, _CANCELLED, _REFUNDED, _PARTIAL = range(5)
SALES_CHANNELS: tuple[str, ...] = ("web", "marketplace")


@dataclass(frozen=True)
class OrderBook:
    """All orders as arrays, sorted by ``ordered_s`` (index = order number - 1).

    Amounts are integer cents; ``-1`` marks a missing instant.
    """

    customer: IntArray
    ordered_s: IntArray
    is_first: BoolArray
    marketplace: BoolArray
    domestic: BoolArray
    subtotal: IntArray
    discount: IntArray
    shipping: IntArray
    tax: IntArray
    total: IntArray
    refunded: IntArray
    status: IntArray
    fulfilled_s: IntArray
    cancelled_s: IntArray

    def __len__(self) -> int:
        return len(self.ordered_s)


@dataclass(frozen=True)
class OrderLines:
    """Order lines as arrays, sorted by order and line number."""

    order: IntArray
    line_no: IntArray
    product: IntArray
    quantity: FloatArray
    unit_price: IntArray
    unit_cost: IntArray
    line_total: IntArray

    def __len__(self) -> int:
        return len(self.order)


def draw_repeat_purchases(
    rng: np.random.Generator, birth_s: IntArray, end_s: int, params: RepeatPurchase
) -> tuple[IntArray, IntArray]:
    """Draw BG/NBD repeat purchases for customers born at ``birth_s`` and observed until ``end_s``.

    Parameters
    ----------
    rng
        The random generator.
    birth_s
        Each customer's first purchase, in epoch seconds.
    end_s
        End of the observation window (exclusive), in epoch seconds.
    params
        ``r``, ``alpha`` (per week), ``a`` and ``b`` of the BG/NBD model.

    Returns
    -------
    owner, when
        For every repeat purchase, the position of its customer in ``birth_s``
        and its instant (strictly after the birth, before ``end_s``).

    References
    ----------
    Fader, Hardie & Lee (2005), section 2: the Poisson purchasing while active,
    the geometric dropout after each transaction and their gamma and beta
    mixing distributions.
    """
    n = len(birth_s)
    rate = rng.gamma(params.r, 1.0 / params.alpha, n)
    dropout = rng.beta(params.a, params.b, n)
    window_s = np.asarray(end_s - birth_s, dtype=np.int64)
    arrivals = rng.poisson(rate * (window_s / WEEK))
    alive_for = rng.geometric(dropout)
    made = np.minimum(arrivals, alive_for)

    buyers = np.flatnonzero(made > 0)
    n_arrivals = arrivals[buyers]
    group = np.repeat(np.arange(len(buyers), dtype=np.int64), n_arrivals)
    # Sorting (group, uniform) as one integer key orders each customer's arrivals.
    key = (group << 32) | rng.integers(0, 2**32, size=group.size, dtype=np.int64)
    key.sort()
    starts = np.cumsum(n_arrivals) - n_arrivals
    rank = np.arange(group.size, dtype=np.int64) - np.repeat(starts, n_arrivals)
    keep = rank < made[buyers][group]
    owner = buyers[group[keep]]
    u = ((key[keep] & 0xFFFFFFFF).astype(np.float64) + 0.5) / 2.0**32
    when = birth_s[owner] + 1 + np.floor(u * (window_s[owner] - 1)).astype(np.int64)
    return owner.astype(np.int64), when


def _fulfilment_delay_s(
    rng: np.random.Generator, timeline: Timeline, ordered_s: IntArray, policy: OrderPolicy
) -> IntArray:
    day = timeline.day_index(ordered_s)
    per_day = np.bincount(day, minlength=timeline.days)
    busy = float(np.quantile(per_day[per_day > 0], 0.95)) if per_day.any() else 1.0
    load = per_day[day] / max(busy, 1.0)
    mean_hours = policy.fulfilment_base_hours * (1.0 + policy.fulfilment_load_slope * load)
    hours = rng.gamma(policy.fulfilment_shape, mean_hours / policy.fulfilment_shape)
    return np.rint(hours * 3600.0).astype(np.int64)


def draw_orders(
    rng: np.random.Generator,
    timeline: Timeline,
    customers: CustomerBase,
    repeat: RepeatPurchase,
    value: OrderValue,
    policy: OrderPolicy,
    home: str,
    tax_rate: float,
) -> OrderBook:
    """Draw every web order: when, by whom, how much, and what happened to it."""
    web = customers.web
    birth = customers.created_s[web]
    owner, when = draw_repeat_purchases(rng, birth, timeline.end_s, repeat)
    customer = np.concatenate([web, web[owner]])
    ordered = np.concatenate([birth, when])
    first = np.concatenate([np.ones(len(web), np.bool_), np.zeros(len(owner), np.bool_)])
    order = np.lexsort((customer, ordered))
    customer, ordered, first = customer[order], ordered[order], first[order]
    n = len(ordered)

    # Gamma-Gamma: ν per customer (shape q, rate γ), subtotal ~ Gamma(p, rate ν).
    nu = np.zeros(len(customers), dtype=np.float64)
    nu[web] = rng.gamma(value.q, 1.0 / value.gamma, len(web))
    spend = rng.gamma(value.p, 1.0 / nu[customer])
    subtotal = np.maximum(np.rint(spend * 100.0), 1).astype(np.int64)

    domestic = customers.is_domestic(home)[customer]
    marketplace = rng.random(n) < policy.marketplace_share
    gets_discount = rng.random(n) < np.where(
        first, policy.first_order_discount_share, policy.repeat_discount_share
    )
    pct = np.where(
        gets_discount,
        np.where(first, policy.first_order_discount_pct, policy.repeat_discount_pct),
        0,
    ).astype(np.int64)
    discount = (subtotal * pct + 50) // 100
    merchandise = subtotal - discount
    shipping = np.where(
        domestic,
        np.where(
            merchandise < round(policy.free_shipping_threshold * 100),
            round(policy.shipping_fee * 100),
            0,
        ),
        round(policy.international_shipping_fee * 100),
    ).astype(np.int64)
    tax = np.where(domestic, np.floor((merchandise + shipping) * tax_rate + 0.5), 0.0).astype(
        np.int64
    )
    total = merchandise + shipping + tax

    u = rng.random(n)
    cut = np.cumsum([policy.cancel_rate, policy.refund_rate, policy.partial_refund_rate])
    status = np.select(
        [u < cut[0], u < cut[1], u < cut[2]], [_CANCELLED, _REFUNDED, _PARTIAL], _COMPLETED
    ).astype(np.int64)
    fulfilled = ordered + _fulfilment_delay_s(rng, timeline, ordered, policy)
    cancelled_at = ordered + np.rint(rng.exponential(3.0 * 3600.0, n)).astype(np.int64)
    cancelled_at = np.minimum(cancelled_at, timeline.end_s - 1)
    is_cancelled = status == _CANCELLED
    pending = ~is_cancelled & (fulfilled >= timeline.end_s)
    status[pending] = _PENDING
    partial_share = rng.uniform(0.15, 0.5, n)
    refunded = np.select(
        [is_cancelled, status == _REFUNDED, status == _PARTIAL],
        [total, total, np.floor(subtotal * partial_share).astype(np.int64)],
        0,
    ).astype(np.int64)

    return OrderBook(
        customer=customer.astype(np.int64),
        ordered_s=ordered.astype(np.int64),
        is_first=first,
        marketplace=marketplace,
        domestic=domestic,
        subtotal=subtotal,
        discount=discount,
        shipping=shipping,
        tax=tax,
        total=total,
        refunded=refunded,
        status=status,
        fulfilled_s=np.where(is_cancelled | pending, -1, fulfilled).astype(np.int64),
        cancelled_s=np.where(is_cancelled, cancelled_at, -1).astype(np.int64),
    )


def build_lines(
    rng: np.random.Generator, subtotal: IntArray, catalog: Catalog, policy: OrderPolicy
) -> OrderLines:
    """Fill each order's subtotal with 1–4 lines whose totals add up to it exactly.

    Line 1 is coffee or tea sold by weight; up to three further lines are
    fixed-price items, added only while they leave at least
    ``min_weighed_share`` of the subtotal (and 2.00) for the by-weight line.
    The by-weight line takes the rest: its quantity in kg (four decimals)
    times its per-kg price rounds to that rest to the cent.
    """
    n = len(subtotal)
    weighed = catalog.by_weight[
        rng.choice(len(catalog.by_weight), size=n, p=catalog.weighed_popularity)
    ]
    wanted = rng.choice(len(policy.lines_probabilities), size=n, p=policy.lines_probabilities)
    slots = len(policy.lines_probabilities) - 1
    items = catalog.fixed[
        rng.choice(len(catalog.fixed), size=(n, slots), p=catalog.fixed_popularity)
    ]
    price = catalog.price_cents[items]
    quantity = 1 + ((rng.random((n, slots)) < 0.2) & (price < 3000)).astype(np.int64)
    amount = quantity * price
    reserve = np.maximum(np.ceil(subtotal * policy.min_weighed_share), 200).astype(np.int64)
    budget = subtotal - reserve
    used = np.zeros(n, dtype=np.int64)
    accepted = np.zeros((n, slots), dtype=np.bool_)
    for k in range(slots):
        ok = (k < wanted) & (used + amount[:, k] <= budget)
        accepted[:, k] = ok
        used += np.where(ok, amount[:, k], 0)
    rest = subtotal - used

    rows, slot = np.nonzero(accepted)
    line_no = np.concatenate(
        [np.ones(n, dtype=np.int64), np.cumsum(accepted, axis=1)[rows, slot] + 1]
    )
    order = np.concatenate([np.arange(n, dtype=np.int64), rows.astype(np.int64)])
    product = np.concatenate([weighed, items[rows, slot]]).astype(np.int64)
    weighed_price = catalog.price_cents[weighed]
    qty = np.concatenate(
        [np.round(rest / weighed_price, 4), quantity[rows, slot].astype(np.float64)]
    )
    line_total = np.concatenate([rest, amount[rows, slot]])
    sort = np.argsort(order * 8 + line_no, kind="stable")
    return OrderLines(
        order=order[sort],
        line_no=line_no[sort],
        product=product[sort],
        quantity=qty[sort],
        unit_price=catalog.price_cents[product[sort]],
        unit_cost=catalog.cost_cents[product[sort]],
        line_total=line_total[sort].astype(np.int64),
    )


def order_ids(numbers: IntArray, count: int) -> object:
    """Return order ids ("O0000001") for 1-based order ``numbers`` out of ``count``."""
    return col.ids("O", numbers, max(7, len(str(count))))


def orders_frame(book: OrderBook, customers: CustomerBase, currency: str) -> pd.DataFrame:
    """Return the ``orders`` table."""
    n = len(book)
    number = np.arange(1, n + 1, dtype=np.int64)
    prefix, width = customer_ids(len(customers))
    locs = customers.locations
    no_fulfil = book.fulfilled_s < 0
    return col.frame(
        {
            "order_id": order_ids(number, n),
            "order_number": col.ids("#", number + 1000, 4),
            "customer_id": col.ids(prefix, book.customer + 1, width),
            "ordered_at": col.instants(book.ordered_s),
            "status": col.labels(ORDER_STATUSES, book.status),
            "fulfilled_at": col.instants(np.maximum(book.fulfilled_s, 0), no_fulfil),
            "cancelled_at": col.instants(np.maximum(book.cancelled_s, 0), book.cancelled_s < 0),
            "currency": col.labels((currency,), np.zeros(n, dtype=np.int64)),
            "total_original": col.money(book.total),
            "subtotal": col.money(book.subtotal),
            "discount": col.money(book.discount),
            "shipping": col.money(book.shipping),
            "tax": col.money(book.tax),
            "total": col.money(book.total),
            "refunded": col.money(book.refunded),
            "channel": col.labels(SALES_CHANNELS, book.marketplace.astype(np.int64)),
            "country": col.strings(
                [loc.country for loc in locs], customers.location[book.customer]
            ),
        }
    )


def order_lines_frame(lines: OrderLines, catalog: Catalog, n_orders: int) -> pd.DataFrame:
    """Return the ``order_lines`` table."""
    products = catalog.products
    return col.frame(
        {
            "order_id": order_ids(lines.order + 1, n_orders),
            "line_no": col.numbers(lines.line_no),
            "sku": col.labels([p.sku for p in products], lines.product),
            "product_name": col.labels([p.name for p in products], lines.product),
            "product_category": col.strings([p.category for p in products], lines.product),
            "quantity": col.numbers(lines.quantity),
            "unit_price": col.money(lines.unit_price),
            "unit_cost": col.money(lines.unit_cost),
            "discount": col.money(np.zeros(len(lines), dtype=np.int64)),
            "line_total": col.money(lines.line_total),
        }
    )
