"""The B2B side: a sales pipeline of cafés and offices, and the invoices of those won.

Each account's deal passes lead → qualified → proposal → won, each step with
its own probability (else it is lost there) after an exponential wait. Deals
still under way at the end of the data stay open at the stage reached. Won
accounts are invoiced on the first of every month at their monthly contract
value (with some variation) until they churn (geometric months); invoices are
net-30 and are paid on time, late or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow.compute as pc

from smbgrowth.data.sample import columns as col
from smbgrowth.data.sample.catalog import CAFE_SUFFIXES, COMPANY_PREFIXES, OFFICE_SUFFIXES
from smbgrowth.data.sample.customers import CustomerBase, customer_ids
from smbgrowth.data.sample.params import B2BPipeline
from smbgrowth.data.sample.timeline import DAY, Timeline, add_months

__all__ = [
    "DEAL_STAGES",
    "INVOICE_STATUSES",
    "DealBook",
    "InvoiceBook",
    "deal_stages_frame",
    "deals_frame",
    "draw_deals",
    "draw_invoices",
    "invoices_frame",
]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

DEAL_STAGES: tuple[str, ...] = ("lead", "qualified", "proposal", "won", "lost")
INVOICE_STATUSES: tuple[str, ...] = ("paid", "open")
PIPELINES: tuple[str, ...] = ("wholesale", "office")
_WON, _LOST = 3, 4


@dataclass(frozen=True)
class DealBook:
    """One deal per B2B account, in the order the accounts were created.

    ``won`` is 1 (won), 0 (lost) or -1 (open); amounts are cents.
    """

    customer: IntArray
    created_s: IntArray
    stage: IntArray
    closed_s: IntArray
    won: IntArray
    monthly_value: IntArray
    pipeline: IntArray
    owner: IntArray
    #: When each deal entered each stage of DEAL_STAGES (columns), -1 if it did not.
    entered_s: IntArray

    def __len__(self) -> int:
        return len(self.created_s)


@dataclass(frozen=True)
class InvoiceBook:
    """Invoices sorted by issue instant; ``-1`` marks a missing instant; cents."""

    customer: IntArray
    issued_s: IntArray
    due_s: IntArray
    net: IntArray
    tax: IntArray
    amount: IntArray
    paid_s: IntArray
    paid_amount: IntArray

    def __len__(self) -> int:
        return len(self.issued_s)


def draw_deals(
    rng: np.random.Generator, timeline: Timeline, customers: CustomerBase, params: B2BPipeline
) -> DealBook:
    """Draw each account's deal: how far it got, when it closed and what it is worth."""
    accounts = customers.b2b
    n = len(accounts)
    created = customers.created_s[accounts]
    steps = ("qualified", "proposal", "won")
    p_pass = np.array([params.stage_probabilities[s] for s in steps], dtype=np.float64)
    waits = np.rint(rng.exponential(params.days_per_stage_mean * DAY, (n, 3))).astype(np.int64)
    passes = rng.random((n, 3)) < p_pass[None, :]
    reached = created[:, None] + np.cumsum(waits, axis=1)
    failed_at = np.where(passes.all(axis=1), 3, np.argmin(passes, axis=1))
    outcome_s = reached[np.arange(n), np.minimum(failed_at, 2)]
    won = failed_at == 3
    closed = outcome_s < timeline.end_s
    # Open deals sit at the last stage reached before the end of the data.
    reached_by_end = (passes & (reached < timeline.end_s)).cumprod(axis=1).sum(axis=1)
    open_stage = np.minimum(reached_by_end, 2)
    stage = np.where(closed, np.where(won, _WON, _LOST), open_stage).astype(np.int64)

    # Stage history: lead at creation, then each passed step when reached (before the
    # end of the data), and lost when the failed step's wait was over.
    entered = np.full((n, len(DEAL_STAGES)), -1, dtype=np.int64)
    entered[:, 0] = created
    passed = passes.cumprod(axis=1).astype(bool) & (reached < timeline.end_s)
    entered[:, 1:4] = np.where(passed, reached, -1)
    entered[:, _LOST] = np.where(closed & ~won, outcome_s, -1)

    wholesale = customers.segment[accounts] == 2
    median = np.where(
        wholesale,
        params.monthly_value_median["wholesale"],
        params.monthly_value_median["business"],
    )
    monthly = np.rint(median * rng.lognormal(0.0, params.monthly_value_sigma, n)) * 100
    return DealBook(
        customer=accounts.astype(np.int64),
        created_s=created.astype(np.int64),
        stage=stage,
        closed_s=outcome_s.astype(np.int64),
        won=np.where(closed, won.astype(np.int64), -1).astype(np.int64),
        monthly_value=monthly.astype(np.int64),
        pipeline=np.where(wholesale, 0, 1).astype(np.int64),
        owner=rng.integers(0, len(params.owners), size=n).astype(np.int64),
        entered_s=entered,
    )


def draw_invoices(
    rng: np.random.Generator,
    timeline: Timeline,
    deals: DealBook,
    params: B2BPipeline,
    tax_rate: float,
) -> InvoiceBook:
    """Invoice every won account on the first of each month until it churns."""
    won = np.flatnonzero(deals.won == 1)
    won_s = deals.closed_s[won]
    lifetime = rng.geometric(params.monthly_churn, len(won)).astype(np.int64)
    until = add_months(won_s, lifetime)
    who: list[IntArray] = []
    when: list[IntArray] = []
    for month_start in timeline.month_starts():
        issued = int(month_start) + 9 * 3600
        if issued < timeline.start_s or issued >= timeline.end_s:
            continue
        billed = won[(won_s < issued) & (until > issued)]
        who.append(billed)
        when.append(np.full(len(billed), issued, dtype=np.int64))
    deal = np.concatenate(who) if who else np.zeros(0, dtype=np.int64)
    issued_s = np.concatenate(when) if when else np.zeros(0, dtype=np.int64)
    n = len(deal)

    variation = rng.lognormal(
        -0.5 * params.invoice_variation_sigma**2, params.invoice_variation_sigma, n
    )
    net = np.rint(deals.monthly_value[deal] * variation).astype(np.int64)
    tax = np.floor(net * tax_rate + 0.5).astype(np.int64)
    amount = net + tax
    due = issued_s + params.payment_terms_days * DAY

    kinds = tuple(params.payment_behaviour)
    kind_p = np.array([params.payment_behaviour[k] for k in kinds], dtype=np.float64)
    kind = rng.choice(len(kinds), size=n, p=kind_p / kind_p.sum())
    on_time = issued_s + rng.integers(2 * DAY, params.payment_terms_days * DAY, size=n)
    late = due + DAY + np.rint(rng.exponential(params.late_days_mean * DAY, n)).astype(np.int64)
    paid = np.select(
        [kind == kinds.index("on_time"), kind == kinds.index("late")], [on_time, late], -1
    )
    paid = np.where(paid >= timeline.end_s, -1, paid).astype(np.int64)
    partial = (kind == kinds.index("unpaid")) & (rng.random(n) < params.partial_share_of_unpaid)
    paid_amount = np.where(paid >= 0, amount, np.where(partial, amount // 2, 0)).astype(np.int64)
    return InvoiceBook(
        customer=deals.customer[deal],
        issued_s=issued_s,
        due_s=due.astype(np.int64),
        net=net,
        tax=tax,
        amount=amount,
        paid_s=paid,
        paid_amount=paid_amount,
    )


def deals_frame(deals: DealBook, customers: CustomerBase, params: B2BPipeline) -> pd.DataFrame:
    """Return the ``deals`` table."""
    n = len(deals)
    prefix, width = customer_ids(len(customers))
    company = pc.binary_join_element_wise(
        col.strings(COMPANY_PREFIXES, customers.company_prefix[deals.customer]),
        col.strings(CAFE_SUFFIXES + OFFICE_SUFFIXES, customers.company_suffix[deals.customer]),
        " ",
    )
    what = col.strings(("wholesale beans", "office coffee"), deals.pipeline)
    return col.frame(
        {
            "deal_id": col.ids("D", np.arange(1, n + 1, dtype=np.int64), max(5, len(str(n)))),
            "name": pc.binary_join_element_wise(company, what, " – "),
            "customer_id": col.ids(prefix, deals.customer + 1, width),
            "created_at": col.instants(deals.created_s),
            "stage": col.labels(DEAL_STAGES, deals.stage),
            "pipeline": col.labels(PIPELINES, deals.pipeline),
            "amount": col.money(deals.monthly_value * 12),
            "closed_at": col.instants(deals.closed_s),
            "won": col.flags(deals.won == 1, deals.won < 0),
            "owner": col.labels(params.owners, deals.owner),
        }
    )


def deal_stages_frame(deals: DealBook) -> pd.DataFrame:
    """Return the ``deal_stages`` table: one row per stage each deal entered."""
    n = len(deals)
    deal_no, stage_no = np.nonzero(deals.entered_s >= 0)
    return col.frame(
        {
            "deal_id": col.ids("D", deal_no.astype(np.int64) + 1, max(5, len(str(n)))),
            "stage": col.labels(DEAL_STAGES, stage_no.astype(np.int64)),
            "entered_at": col.instants(deals.entered_s[deal_no, stage_no]),
        }
    )


def invoices_frame(invoices: InvoiceBook, customers: CustomerBase, currency: str) -> pd.DataFrame:
    """Return the ``invoices`` table."""
    n = len(invoices)
    prefix, width = customer_ids(len(customers))
    unpaid = invoices.paid_s < 0
    return col.frame(
        {
            "invoice_id": col.ids("INV-", np.arange(1, n + 1, dtype=np.int64), max(6, len(str(n)))),
            "customer_id": col.ids(prefix, invoices.customer + 1, width),
            "issued_at": col.instants(invoices.issued_s),
            "due_at": col.instants(invoices.due_s),
            "amount": col.money(invoices.amount),
            "tax": col.money(invoices.tax),
            "currency": col.labels((currency,), np.zeros(n, dtype=np.int64)),
            "paid_at": col.instants(np.maximum(invoices.paid_s, 0), unpaid),
            "paid_amount": col.money(invoices.paid_amount),
            "status": col.labels(INVOICE_STATUSES, unpaid.astype(np.int64)),
        }
    )
