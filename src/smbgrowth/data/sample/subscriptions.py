"""The coffee subscription: who subscribes, to which plan, and when they churn.

Churn follows the shifted-beta-geometric (sBG) model of Fader & Hardie (2007):
each subscriber has a monthly churn probability ``θ ~ Beta(alpha, beta)`` and
their number of paid months is ``Geometric(θ)`` (1, 2, …).

References
----------
.. [1] Fader, P. S. and Hardie, B. G. S. (2007). How to Project Customer
   Retention. *Journal of Interactive Marketing* 21(1), 76–90.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from smbgrowth.data.sample import columns as col
from smbgrowth.data.sample.customers import CustomerBase, customer_ids
from smbgrowth.data.sample.params import SubscriptionChurn
from smbgrowth.data.sample.timeline import DAY, Timeline, add_months

__all__ = ["SUBSCRIPTION_STATUSES", "SubscriptionBook", "draw_subscriptions", "subscriptions_frame"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

SUBSCRIPTION_STATUSES: tuple[str, ...] = ("active", "canceled")


@dataclass(frozen=True)
class SubscriptionBook:
    """Subscriptions as arrays, sorted by start; ``-1`` marks a missing instant."""

    customer: IntArray
    plan: IntArray
    started_s: IntArray
    ended_s: IntArray
    canceled_s: IntArray
    had_trial: BoolArray
    months_paid: IntArray
    reason: IntArray

    def __len__(self) -> int:
        return len(self.started_s)


def draw_subscriptions(
    rng: np.random.Generator,
    timeline: Timeline,
    customers: CustomerBase,
    params: SubscriptionChurn,
) -> SubscriptionBook:
    """Draw the subscribers and their sBG lifetimes.

    A share ``subscriber_share`` of web customers subscribes an exponential
    number of days (mean ``start_delay_days_mean``) after their first order,
    if that is before the end of the data. A subscriber with churn
    probability ``θ`` pays ``L ~ Geometric(θ)`` months and the subscription
    ends ``L`` calendar months after it started (Fader & Hardie 2007, eq. 1);
    one still running at the end of the data is active.
    """
    web = customers.web
    joins = rng.random(len(web)) < params.subscriber_share
    delay = np.rint(rng.exponential(params.start_delay_days_mean * DAY, len(web))).astype(np.int64)
    started = customers.created_s[web] + delay
    keep = joins & (started < timeline.end_s)
    subscriber, started = web[keep], started[keep]
    order = np.argsort(started, kind="stable")
    subscriber, started = subscriber[order], started[order]
    n = len(started)

    plans = tuple(params.plans)
    weights = np.array([params.plan_weights[p] for p in plans], dtype=np.float64)
    plan = rng.choice(len(plans), size=n, p=weights / weights.sum()).astype(np.int64)
    churn = rng.beta(params.alpha, params.beta, n)
    months = rng.geometric(churn).astype(np.int64)
    ended = add_months(started, months)
    churned = ended < timeline.end_s
    notice = rng.integers(1, 10 * DAY, size=n)
    canceled = np.maximum(ended - notice, started)
    reasons = tuple(params.cancellation_reasons)
    reason_p = np.array([params.cancellation_reasons[r] for r in reasons], dtype=np.float64)
    reason = rng.choice(len(reasons), size=n, p=reason_p / reason_p.sum()).astype(np.int64)
    return SubscriptionBook(
        customer=subscriber.astype(np.int64),
        plan=plan,
        started_s=started.astype(np.int64),
        ended_s=np.where(churned, ended, -1).astype(np.int64),
        canceled_s=np.where(churned, canceled, -1).astype(np.int64),
        had_trial=rng.random(n) < params.trial_share,
        months_paid=months,
        reason=np.where(churned, reason, -1).astype(np.int64),
    )


def subscriptions_frame(
    book: SubscriptionBook, customers: CustomerBase, params: SubscriptionChurn, currency: str
) -> pd.DataFrame:
    """Return the ``subscriptions`` table."""
    n = len(book)
    number = np.arange(1, n + 1, dtype=np.int64)
    prefix, width = customer_ids(len(customers))
    plans = tuple(params.plans)
    mrr_cents = np.array([round(params.plans[p] * 100) for p in plans], dtype=np.int64)
    active = book.ended_s < 0
    return col.frame(
        {
            "subscription_id": col.ids("SUB", number, max(6, len(str(n)))),
            "customer_id": col.ids(prefix, book.customer + 1, width),
            "plan": col.labels(plans, book.plan),
            "started_at": col.instants(book.started_s),
            "trial_ends_at": col.instants(book.started_s, ~book.had_trial),
            "canceled_at": col.instants(np.maximum(book.canceled_s, 0), active),
            "ended_at": col.instants(np.maximum(book.ended_s, 0), active),
            "mrr": col.money(mrr_cents[book.plan]),
            "currency": col.labels((currency,), np.zeros(n, dtype=np.int64)),
            "billing_interval": col.labels(("month",), np.zeros(n, dtype=np.int64)),
            "status": col.labels(SUBSCRIPTION_STATUSES, (~active).astype(np.int64)),
            "cancellation_reason": col.labels(
                tuple(params.cancellation_reasons), np.maximum(book.reason, 0), active
            ),
        }
    )
