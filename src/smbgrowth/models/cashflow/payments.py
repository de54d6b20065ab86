"""How customers pay their invoices, learned from the invoices they paid, and simulated.

:func:`learn_payment_behaviour` returns a :class:`PaymentBehaviour`: days late
(local paid day − local due day, negative when early) and days to pay (issue →
paid) per customer and pooled, from the invoices paid on or before ``as_of``;
void and draft invoices are ignored. The rules:

Own or pooled
    A customer with at least :data:`MIN_OWN_INVOICES` paid invoices is
    simulated from their own empirical distribution; everyone else from the
    pooled one of all paid invoices.

Open invoices
    Days late are drawn *given that the invoice is still unpaid at as_of*: from
    the reference distribution restricted to values above the days already
    overdue (see :meth:`PaymentBehaviour.sample_days_late`). An invoice later
    than any paid invoice of its reference distribution is not collected (``inf``).

Collected share
    The share of the invoiced amount that was paid, over invoices issued at
    least 120 days before the end of the data.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import ConfigError
from smbgrowth.metrics.base import local_time
from smbgrowth.models.cashflow.common import FloatArray, _days, _json

__all__ = ["MIN_OWN_INVOICES", "PaymentBehaviour", "learn_payment_behaviour"]

#: A customer with at least this many paid invoices is simulated from their own history.
MIN_OWN_INVOICES = 3
_IGNORED_INVOICES = ("void", "draft")
_SETTLED_AFTER_DAYS = 120


def _load_invoices(ws: Workspace) -> pd.DataFrame:
    t = ws.invoices
    t = t.filter(t.status.isnull() | ~t.status.lower().isin(_IGNORED_INVOICES))
    zone = ws.time_zone
    frame: pd.DataFrame = t.select(
        invoice_id=t.invoice_id,
        customer_id=t.customer_id.fill_null("(unknown)"),
        issued=local_time(t.issued_at, zone).date(),
        due=local_time(t.due_at, zone).date(),
        paid=local_time(t.paid_at, zone).date(),
        amount=t.amount.cast("float64"),
        paid_amount=t.paid_amount.cast("float64").fill_null(0.0),
    ).execute()
    for column in ("issued", "due", "paid"):
        frame[column] = _days(frame[column])
    frame["customer_id"] = frame["customer_id"].astype(str)
    return frame


def _draw(reference: FloatArray, cutoff: float, u: FloatArray, fallback: float) -> FloatArray:
    """Values of ``reference`` above ``cutoff``, picked uniformly by ``u``; inf when none."""
    if reference.size == 0:
        return np.full(u.shape, fallback, dtype=np.float64)
    low = int(np.searchsorted(reference, cutoff, side="right"))
    left = reference.size - low
    if left == 0:
        return np.full(u.shape, np.inf, dtype=np.float64)
    pick = np.minimum(low + np.floor(u * left).astype(np.int64), reference.size - 1)
    drawn: FloatArray = reference[pick]
    return drawn


@dataclass(frozen=True)
class PaymentBehaviour:
    """How customers pay their invoices, learned from the invoices they paid.

    A customer with at least :data:`MIN_OWN_INVOICES` paid invoices (with a due
    date, for days late; with an issue date, for days to pay) is simulated from
    their own empirical distribution; everyone else from the pooled one of all
    paid invoices.

    Attributes
    ----------
    customers
        One row per customer with a paid invoice (index ``customer_id``):
        ``invoices`` (paid, with a due date), ``mean_days_late``,
        ``median_days_late``, ``p90_days_late``, ``share_paid_late`` (paid after
        the due day), ``mean_days_to_pay`` (issue → paid) and ``uses_own``.
    pooled
        The same summary over all paid invoices.
    days_late, days_to_pay
        Sorted days late (paid − due, may be negative) and days to pay per
        customer who uses their own history.
    pooled_days_late, pooled_days_to_pay
        Sorted pooled distributions.
    payment_terms_days
        Usual due − issued days per customer, and ``pooled_terms_days`` overall.
    collected_share
        Share of the invoiced amount that was paid, over invoices issued at least
        120 days before the end of the data (1.0 when there are none).
    """

    customers: pd.DataFrame
    pooled: dict[str, float]
    days_late: Mapping[str, FloatArray]
    days_to_pay: Mapping[str, FloatArray]
    pooled_days_late: FloatArray
    pooled_days_to_pay: FloatArray
    payment_terms_days: Mapping[str, float]
    pooled_terms_days: float
    collected_share: float
    min_invoices: int = MIN_OWN_INVOICES

    def uses_own(self, customer_id: str) -> bool:
        """Return whether a customer is simulated from their own paid invoices."""
        return str(customer_id) in self.days_late

    def terms_days(self, customer_id: str) -> float:
        """Return the customer's usual payment terms in days (pooled when unknown)."""
        return float(self.payment_terms_days.get(str(customer_id), self.pooled_terms_days))

    def sample_days_late(
        self,
        customer_ids: Sequence[str],
        rng: np.random.Generator,
        already_overdue_days: float | Sequence[float] | FloatArray | None = None,
        *,
        size: int | None = None,
    ) -> FloatArray:
        """Return simulated days late (paid − due) for invoices of these customers.

        Drawn from each customer's reference distribution restricted to values
        *above* ``already_overdue_days`` (days from due to as_of; negative when
        not yet due): an invoice still unpaid at as_of is paid after as_of.
        ``inf`` means no paid invoice was ever that late: not collected. Without
        any paid invoice at all, invoices are taken as paid on the due day (or
        the day after as_of when already overdue).

        Returns shape ``(len(customer_ids),)``, or ``(size, len(customer_ids))``.
        """
        ids = [str(c) for c in customer_ids]
        n = len(ids)
        if already_overdue_days is None:
            cut = np.full(n, -np.inf)
        else:
            cut = np.broadcast_to(np.asarray(already_overdue_days, dtype=np.float64), (n,))
        u = rng.random((1 if size is None else size, n))
        out = np.empty_like(u)
        for j, cid in enumerate(ids):
            reference = self.days_late.get(cid, self.pooled_days_late)
            fallback = max(0.0, math.floor(cut[j]) + 1.0) if math.isfinite(cut[j]) else 0.0
            out[:, j] = _draw(reference, float(cut[j]), u[:, j], fallback)
        result: FloatArray = out[0] if size is None else out
        return result

    def sample_days_to_pay(
        self, customer_ids: Sequence[str], rng: np.random.Generator, *, size: int | None = None
    ) -> FloatArray:
        """Return simulated days from issue to payment for new invoices of these customers."""
        ids = [str(c) for c in customer_ids]
        u = rng.random((1 if size is None else size, len(ids)))
        out = np.empty_like(u)
        for j, cid in enumerate(ids):
            reference = self.days_to_pay.get(cid, self.pooled_days_to_pay)
            out[:, j] = _draw(reference, -np.inf, u[:, j], self.terms_days(cid))
        result: FloatArray = out[0] if size is None else out
        return result

    def to_dict(self) -> dict[str, Any]:
        """Return the summaries as JSON-safe lists and numbers."""
        rows = []
        for cid, row in self.customers.iterrows():
            rows.append({"customer_id": str(cid), **{k: _json(v) for k, v in row.items()}})
        return {
            "min_invoices": self.min_invoices,
            "pooled": {k: _json(v) for k, v in self.pooled.items()},
            "collected_share": _json(self.collected_share),
            "customers": rows,
        }


def _summary(late: pd.Series, to_pay: pd.Series) -> dict[str, float]:
    return {
        "invoices": float(late.size),
        "mean_days_late": float(late.mean()) if late.size else math.nan,
        "median_days_late": float(late.median()) if late.size else math.nan,
        "p90_days_late": float(late.quantile(0.9)) if late.size else math.nan,
        "share_paid_late": float((late > 0).mean()) if late.size else math.nan,
        "mean_days_to_pay": float(to_pay.mean()) if to_pay.size else math.nan,
    }


def _behaviour(
    invoices: pd.DataFrame, as_of: dt.date | None, min_invoices: int
) -> PaymentBehaviour:
    inv = invoices
    if as_of is not None:
        inv = inv[inv["issued"] <= pd.Timestamp(as_of)]
    paid = inv[inv["paid"].notna()]
    if as_of is not None:
        paid = paid[paid["paid"] <= pd.Timestamp(as_of)]
    with_due = paid[paid["due"].notna()]
    late = (with_due["paid"] - with_due["due"]).dt.days.astype(float)
    to_pay = (paid["paid"] - paid["issued"]).dt.days.astype(float)
    late_by = late.groupby(with_due["customer_id"])
    pay_by = to_pay.groupby(paid["customer_id"])

    rows = {}
    for cid in sorted(set(paid["customer_id"])):
        own_late = late_by.get_group(cid) if cid in late_by.groups else late.iloc[:0]
        own_pay = pay_by.get_group(cid) if cid in pay_by.groups else to_pay.iloc[:0]
        rows[cid] = {**_summary(own_late, own_pay), "uses_own": own_late.size >= min_invoices}
    columns = [*_summary(late.iloc[:0], to_pay.iloc[:0]), "uses_own"]
    customers = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    customers.index.name = "customer_id"
    if not customers.empty:
        customers["invoices"] = customers["invoices"].astype(int)
        customers["uses_own"] = customers["uses_own"].astype(bool)

    def sorted_values(values: pd.Series) -> FloatArray:
        return np.sort(values.to_numpy(dtype=np.float64))

    late_refs = {str(c): sorted_values(v) for c, v in late_by if v.size >= min_invoices}
    pay_refs = {str(c): sorted_values(v) for c, v in pay_by if v.size >= min_invoices}
    terms_all = inv[inv["due"].notna()]
    terms = (terms_all["due"] - terms_all["issued"]).dt.days.astype(float)
    by_customer = terms.groupby(terms_all["customer_id"])
    per_customer_terms = {str(c): float(v.median()) for c, v in by_customer}
    pooled_terms = float(terms.median()) if terms.size else 30.0

    end = pd.Timestamp(as_of) if as_of is not None else _latest(inv)
    old = inv
    if end is not None:
        old = inv[inv["issued"] <= end - pd.Timedelta(days=_SETTLED_AFTER_DAYS)]
    if old.empty or float(old["amount"].sum()) <= 0:
        collected = 1.0
    else:
        # Paid in full by then: all of it; never fully paid: the partial payments (they
        # carry no date); paid in full only later: nothing known at the time.
        fully = old["paid"].notna() & (old["paid"] <= end)
        partial = np.where(old["paid"].isna(), np.minimum(old["paid_amount"], old["amount"]), 0.0)
        received = np.where(fully, old["amount"], partial)
        collected = float(min(1.0, max(0.0, received.sum() / old["amount"].sum())))
    return PaymentBehaviour(
        customers=customers,
        pooled=_summary(late, to_pay),
        days_late=late_refs,
        days_to_pay=pay_refs,
        pooled_days_late=sorted_values(late),
        pooled_days_to_pay=sorted_values(to_pay),
        payment_terms_days=per_customer_terms,
        pooled_terms_days=pooled_terms,
        collected_share=collected,
        min_invoices=min_invoices,
    )


def _latest(inv: pd.DataFrame) -> pd.Timestamp | None:
    stamps = [inv["issued"].max(), inv["paid"].max()]
    found = [pd.Timestamp(s) for s in stamps if not pd.isna(s)]
    return max(found) if found else None


def learn_payment_behaviour(
    ws: Workspace, *, as_of: dt.date | None = None, min_invoices: int = MIN_OWN_INVOICES
) -> PaymentBehaviour:
    """Return how the workspace's customers pay: days late per customer and pooled.

    Days late = local paid day − local due day (negative when early), from the
    invoices paid on or before ``as_of`` (default: all of them). Void and draft
    invoices are ignored. See :class:`PaymentBehaviour` for the own-or-pooled
    rule.
    """
    if min_invoices < 1:
        raise ConfigError(f"min_invoices must be at least 1, not {min_invoices}")
    return _behaviour(_load_invoices(ws), as_of, min_invoices)
