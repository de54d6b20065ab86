"""Cash-flow projection: the bank balance week by week or month by month, with its uncertainty.

:func:`project_cash` simulates ``paths`` futures of the business's cash, day by
day from the day after ``as_of``, and reports per period the balance quantiles,
the mean flow of every item (so a dip can be explained), the chance of being
below zero, when cash most likely first runs out, the runway and the items that
drive the lowest point. The rules, each chosen to be simple enough to check by
hand:

Periods
    Rolling: week *k* is the 7 days from ``as_of + 1 + 7k``; month *k* runs
    from ``as_of + 1`` plus *k* calendar months to the day before the next one
    (calendar months when ``as_of`` is a month's last day). Each period is
    labelled by its first day; balances are at the end of its last day.

Open invoices (receivables)
    Invoices issued on or before ``as_of`` and not fully paid by then (void and
    draft ignored) are collected on ``due + days late``, the days late drawn per
    path from :class:`PaymentBehaviour` *given that the invoice is still unpaid
    at as_of* (see :meth:`PaymentBehaviour.sample_days_late`). An invoice later
    than any paid invoice of its reference distribution is not collected within
    the horizon. Without a due date, the customer's usual terms apply.

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
    is paid at all with the historical ``collected_share``.

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
      costs, per category, at their daily average of the last 6 months;
    * scenario hires: ``count × monthly_cost`` on the last day of every
      projection month from ``month`` on; investments on their date.

A :class:`Scenario` (``load_scenario`` reads one from YAML) changes sales by a
share, makes customers pay later, adds hires and investments.

Balances are rounded to the cent; "below zero" is below zero after rounding.

Limits, said plainly: marketplace orders are taken as paid at purchase (payout
delays are not in the data); invoiced accounts are not churned within the
horizon; costs, other than variable ones, do not grow with sales; a monthly bill
that is due by ``as_of`` but not yet recorded is not projected.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd
import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field

from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import ConfigError, DataError, ModelError
from smbgrowth.metrics.base import local_time

__all__ = [
    "MIN_OWN_INVOICES",
    "QUANTILES",
    "CashBalance",
    "CashProjection",
    "Hire",
    "Investment",
    "LatePayer",
    "PaymentBehaviour",
    "Scenario",
    "learn_payment_behaviour",
    "load_scenario",
    "opening_balance",
    "project_cash",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: A customer with at least this many paid invoices is simulated from their own history.
MIN_OWN_INVOICES = 3
#: Balance quantiles reported per period.
QUANTILES: tuple[float, ...] = (0.05, 0.10, 0.50, 0.90, 0.95)
_Z95 = 1.959963984540054
_DAY = pd.Timedelta(days=1)
_IGNORED_INVOICES = ("void", "draft")
_SOLD = ("completed", "partially_refunded", "refunded")
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
_INVOICING_MONTHS = 3
_STALE_BILL_DAYS = 90
_SETTLED_AFTER_DAYS = 120
_MATCH_DAYS = 7
_CADENCES: tuple[tuple[str, float, int, int], ...] = (
    # name, largest median gap (days), step in days, step in months
    ("weekly", 10.0, 7, 0),
    ("fortnightly", 21.0, 14, 0),
    ("monthly", 45.0, 0, 1),
    ("quarterly", 135.0, 0, 3),
    ("yearly", math.inf, 0, 12),
)
_FIXED_ITEMS = ("open invoices", "sales", "invoiced sales", "open bills", "hires")


# -- scenario ------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class LatePayer(_Strict):
    """A customer who pays ``extra_days`` later than they usually do."""

    customer_id: str
    extra_days: int = Field(ge=-365, le=3650)


class Hire(_Strict):
    """``count`` people at ``monthly_cost`` each, paid from projection month ``month`` (1 = first).

    Each month's cost is paid on the last day of the projection month (like payroll).
    """

    month: int = Field(ge=1)
    count: int = Field(default=1, ge=1)
    monthly_cost: float = Field(gt=0)


class Investment(_Strict):
    """A one-off payment of ``amount`` on ``date``."""

    date: dt.date
    amount: float = Field(gt=0)
    label: str = "investment"


class Scenario(_Strict):
    """What-if changes to the projection.

    ``sales_change`` −0.2 means future sales (orders and invoices) 20 % lower.
    """

    sales_change: float = Field(default=0.0, ge=-1.0, le=10.0)
    late_payers: list[LatePayer] = Field(default_factory=list)
    hires: list[Hire] = Field(default_factory=list)
    investments: list[Investment] = Field(default_factory=list)


def _field_error(exc: pydantic.ValidationError, where: str) -> ConfigError:
    # A misspelt key also makes the real one "missing": name the misspelling first.
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"]).lstrip(".")
    if first["type"] == "extra_forbidden":
        items: dict[str, type[BaseModel]] = {
            "late_payers": LatePayer,
            "hires": Hire,
            "investments": Investment,
        }
        model = items.get(str(first["loc"][0]), Scenario) if len(first["loc"]) > 1 else Scenario
        known = ", ".join(model.model_fields)
        message = f"unknown field {loc}; the fields there are {known}"
    else:
        message = f"field {loc or '(top level)'}: {first['msg']} (got {first.get('input')!r})"
    return ConfigError(f"{where}: {message}".replace("\n", " "))


def load_scenario(path: str | Path) -> Scenario:
    """Return the scenario described by a YAML file.

    Raises
    ------
    ConfigError
        One line naming the file and the offending field.
    """
    path = Path(path)
    where = f"scenario file {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{where} does not exist; check the path") from None
    except OSError as exc:
        raise ConfigError(f"{where} cannot be read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None)
        why = f" ({problem})" if problem else ""
        raise ConfigError(f"{where} is not valid YAML{at}{why}; fix the syntax") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{where} must be a mapping with keys such as sales_change, late_payers, hires, "
            "investments"
        )
    try:
        return Scenario.model_validate(data)
    except pydantic.ValidationError as exc:
        raise _field_error(exc, where) from None


def _scenario(value: Scenario | Mapping[str, Any] | None) -> Scenario:
    if value is None:
        return Scenario()
    if isinstance(value, Scenario):
        return value
    try:
        return Scenario.model_validate(dict(value))
    except pydantic.ValidationError as exc:
        raise _field_error(exc, "scenario") from None


# -- opening balance -----------------------------------------------------------------------


class CashBalance(NamedTuple):
    """Cash in the bank at the end of ``as_of``."""

    amount: float
    as_of: dt.date


def opening_balance(ws: Workspace) -> CashBalance:
    """Return the cash balance stored in the workspace (``cash_balance`` metadata).

    Raises
    ------
    ConfigError
        When none is stored: pass the balance explicitly (``--balance`` on the CLI).
    """
    value = ws.get_meta("cash_balance")
    if not isinstance(value, dict) or "amount" not in value or "as_of" not in value:
        raise ConfigError(
            f"workspace {ws.path} stores no cash balance; pass --balance AMOUNT (the cash in "
            "the bank at the end of --as-of)"
        )
    try:
        return CashBalance(float(value["amount"]), dt.date.fromisoformat(str(value["as_of"])))
    except (TypeError, ValueError):
        raise ConfigError(
            f"workspace {ws.path} has an unreadable cash_balance {value!r}; pass --balance AMOUNT"
        ) from None


# -- loading -------------------------------------------------------------------------------


def _days(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.normalize()


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


def _last_data_day(ws: Workspace) -> dt.date:
    found: list[pd.Timestamp] = []
    for table, column in (("orders", "ordered_at"), ("invoices", "issued_at")):
        value = ws.table(table)[column].max().execute()
        if value is not None and not pd.isna(value):
            found.append(pd.Timestamp(value))
    value = ws.expenses.incurred_at.max().execute()
    if value is not None and not pd.isna(value):
        found.append(pd.Timestamp(value))
    if not found:
        raise DataError(
            f"workspace {ws.path} has no orders, invoices or expenses to project cash from; "
            "import them first"
        )
    latest = max(s.tz_localize("UTC") if s.tzinfo is None else s for s in found)
    day: dt.date = latest.tz_convert(ws.time_zone).date()
    today = pd.Timestamp.now(tz=ws.time_zone).date()
    return min(day, today)


# -- payment behaviour ---------------------------------------------------------------------


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


# -- projection ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Calendar:
    as_of: pd.Timestamp
    grain: Literal["week", "month"]
    starts: list[pd.Timestamp]
    ends: list[pd.Timestamp]

    @property
    def days(self) -> int:
        return (self.ends[-1] - self.as_of).days

    @property
    def dates(self) -> pd.DatetimeIndex:
        return pd.date_range(self.as_of + _DAY, self.ends[-1], freq="D")

    @property
    def end_index(self) -> IntArray:
        return np.array([(e - self.as_of).days - 1 for e in self.ends], dtype=np.int64)

    def offset(self, day: pd.Timestamp) -> int:
        """Day index of a date (0 = the day after as_of)."""
        return int((day - self.as_of).days) - 1

    def month_ends(self) -> list[pd.Timestamp]:
        """Last day of each projection month that ends inside the horizon."""
        first = self.as_of + _DAY
        out = []
        for m in range(1, 10_000):
            end = first + pd.DateOffset(months=m) - _DAY
            if end > self.ends[-1]:
                break
            out.append(end)
        return out


def _calendar(as_of: dt.date, weeks: int | None, months: int | None) -> _Calendar:
    base = pd.Timestamp(as_of)
    first = base + _DAY
    if months is not None:
        starts = [first + pd.DateOffset(months=k) for k in range(months + 1)]
        return _Calendar(base, "month", starts[:-1], [s - _DAY for s in starts[1:]])
    assert weeks is not None
    starts = [first + pd.Timedelta(days=7 * k) for k in range(weeks)]
    return _Calendar(base, "week", starts, [s + pd.Timedelta(days=6) for s in starts])


class _Flows:
    """Daily cash flows per path, and the mean daily flow of every item."""

    def __init__(self, paths: int, days: int) -> None:
        self.paths = paths
        self.days = days
        self.random = np.zeros((paths, days))
        self.fixed = np.zeros(days)
        self.items: dict[str, FloatArray] = {}

    def add(self, name: str, flow: FloatArray) -> None:
        if flow.ndim == 2:
            self.random += flow
            mean: FloatArray = flow.mean(axis=0)
        else:
            self.fixed += flow
            mean = flow
        self.items[name] = self.items.get(name, np.zeros(self.days)) + mean

    def lumps(self, index: npt.ArrayLike, amounts: npt.ArrayLike) -> FloatArray:
        """A daily flow with ``amounts`` on day ``index`` (days outside the horizon dropped)."""
        idx = np.asarray(index, dtype=np.int64)
        amt = np.broadcast_to(np.asarray(amounts, dtype=np.float64), idx.shape)
        keep = (idx >= 0) & (idx < self.days)
        flow = np.bincount(idx[keep], weights=amt[keep], minlength=self.days)
        return np.asarray(flow, dtype=np.float64)

    def path_lumps(self, day_offsets: FloatArray, amounts: FloatArray) -> FloatArray:
        """Per-path flow: column j pays ``amounts[j]`` on day offset ``day_offsets[p, j]``."""
        idx = day_offsets - 1.0
        keep = np.isfinite(idx) & (idx >= 0) & (idx < self.days)
        rows = np.broadcast_to(np.arange(self.paths)[:, None], idx.shape)
        flat = rows[keep] * self.days + idx[keep].astype(np.int64)
        weights = np.broadcast_to(amounts[None, :], idx.shape)[keep]
        counts = np.bincount(flat, weights=weights, minlength=self.paths * self.days)
        flow: FloatArray = counts.reshape(self.paths, self.days).astype(np.float64)
        return flow


def _item_name(category: str) -> str:
    return f"{category} costs" if category in _FIXED_ITEMS else category


def _window(frame: pd.DataFrame, column: str, as_of: pd.Timestamp, months: int) -> pd.DataFrame:
    start = as_of - pd.DateOffset(months=months)
    return frame[(frame[column] > start) & (frame[column] <= as_of)]


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


def _shift(flow: FloatArray, lag: int) -> FloatArray:
    """The flow moved ``lag`` days later (what falls past the horizon is dropped)."""
    if lag <= 0:
        return flow
    out = np.zeros_like(flow)
    days = flow.shape[-1]
    if lag < days:
        out[..., lag:] = flow[..., : days - lag]
    return out


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


def _late_extra(scenario: Scenario, customers: Sequence[str]) -> FloatArray:
    extra = {p.customer_id: p.extra_days for p in scenario.late_payers}
    return np.array([float(extra.get(c, 0)) for c in customers], dtype=np.float64)


@dataclass
class CashProjection:
    """Simulated cash balances per period, what moves them, and the risk of running out.

    Attributes
    ----------
    periods
        One row per period: ``period`` (first day), ``end`` (last day), ``mean``,
        ``p5``, ``p10``, ``p50``, ``p90``, ``p95`` (balance at the period's end)
        and ``p_negative`` (share of paths below zero at the period's end).
    flows
        Mean cash flow per period (rows) and item (columns); inflows positive.
    p_negative_any
        Share of paths whose balance is below zero on any day of the horizon.
    first_negative_period, first_negative_probability
        The period in which cash most often first goes below zero, and the
        share of all paths that first go below zero then (None and 0 when no
        path does).
    runway_period
        First period whose median end balance is below zero; None when the
        median stays at or above zero through the horizon.
    lowest_period
        Period with the lowest median balance.
    drivers
        Items ranked by their mean contribution from the start to the end of
        ``lowest_period`` (most negative first): columns ``item`` and ``amount``.
    """

    as_of: dt.date
    grain: Literal["week", "month"]
    opening_balance: float
    currency: str
    paths: int
    seed: int
    periods: pd.DataFrame
    flows: pd.DataFrame
    p_negative_any: float
    first_negative_period: dt.date | None
    first_negative_probability: float
    runway_period: dt.date | None
    lowest_period: dt.date
    drivers: pd.DataFrame
    scenario: Scenario
    assumptions: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def horizon_end(self) -> dt.date:
        """Last day of the projection."""
        end: dt.date = pd.Timestamp(self.periods["end"].iloc[-1]).date()
        return end

    @property
    def runway_text(self) -> str:
        """The runway in one sentence."""
        if self.runway_period is None:
            return (
                f"the median balance stays at or above zero through {self.horizon_end} "
                "(the end of the projection)"
            )
        return f"the median balance first falls below zero in the {self.grain} starting " + str(
            self.runway_period
        )

    def frame(self) -> pd.DataFrame:
        """Return the per-period balance table (see ``periods``)."""
        return self.periods.copy()

    def to_dict(self) -> dict[str, Any]:
        """Return the projection as JSON-safe dicts, lists, strings and numbers."""
        periods = []
        for (_, row), (_, flow) in zip(self.periods.iterrows(), self.flows.iterrows(), strict=True):
            entry = {k: _json(v, cents=k != "p_negative") for k, v in row.items()}
            entry["flows"] = {str(k): _json(v, cents=True) for k, v in flow.items()}
            periods.append(entry)
        first = (
            None
            if self.first_negative_period is None
            else {
                "period": self.first_negative_period.isoformat(),
                "probability": _json(self.first_negative_probability),
            }
        )
        return {
            "as_of": self.as_of.isoformat(),
            "grain": self.grain,
            "horizon_end": self.horizon_end.isoformat(),
            "currency": self.currency,
            "opening_balance": _json(self.opening_balance, cents=True),
            "paths": self.paths,
            "seed": self.seed,
            "periods": periods,
            "p_negative_any": _json(self.p_negative_any),
            "first_negative": first,
            "runway": {
                "period": None if self.runway_period is None else self.runway_period.isoformat(),
                "text": self.runway_text,
            },
            "lowest_period": self.lowest_period.isoformat(),
            "drivers": [
                {"item": str(r.item), "amount": _json(r.amount, cents=True)}
                for r in self.drivers.itertuples()
            ],
            "assumptions": _json(self.assumptions),
            "scenario": self.scenario.model_dump(mode="json"),
            "notes": list(self.notes),
        }


def _json(value: Any, *, cents: bool = False) -> Any:
    """A JSON-safe copy: NaN and inf become None; money (``cents``) is rounded to the cent."""
    if isinstance(value, dict):
        return {str(k): _json(v, cents=cents) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v, cents=cents) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        if not math.isfinite(number):
            return None
        return round(number, 2) if cents else number
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value


def _check_horizon(weeks: int | None, months: int | None) -> tuple[int | None, int | None]:
    if weeks is not None and months is not None:
        raise ConfigError("give either weeks or months for the projection, not both")
    if weeks is None and months is None:
        weeks = 13
    if weeks is not None and not 1 <= weeks <= 104:
        raise ConfigError(f"weeks must be between 1 and 104, not {weeks}")
    if months is not None and not 1 <= months <= 36:
        raise ConfigError(f"months must be between 1 and 36, not {months}")
    return weeks, months


def project_cash(
    ws: Workspace,
    opening_balance: float,
    *,
    weeks: int | None = None,
    months: int | None = None,
    as_of: dt.date | None = None,
    scenario: Scenario | Mapping[str, Any] | None = None,
    paths: int = 2000,
    seed: int = 0,
    revenue_forecast: pd.DataFrame | None = None,
) -> CashProjection:
    """Return the simulated cash balance per week (default 13) or month, with its risks.

    Parameters
    ----------
    ws
        The workspace (invoices, expenses, orders).
    opening_balance
        Cash in the bank at the end of ``as_of`` (see :func:`opening_balance`).
    weeks, months
        Horizon: 13 weeks unless one of them is given.
    as_of
        Last day already in the bank balance; default the last day with orders,
        invoices or expenses (not later than today).
    scenario
        A :class:`Scenario` (or its fields as a mapping).
    paths, seed
        Number of simulated futures and the seed of their ``numpy.random.Generator``.
    revenue_forecast
        Future order sales as a frame with ``period`` (first day), ``mean``,
        ``lo_95`` and ``hi_95``; default: forecast ``revenue_net`` by the
        projection's grain.

    Returns
    -------
    CashProjection
    """
    weeks, months = _check_horizon(weeks, months)
    if not 1 <= paths <= 100_000:
        raise ConfigError(f"paths must be between 1 and 100,000, not {paths}")
    if not math.isfinite(float(opening_balance)):
        raise ConfigError(f"the opening balance must be a number, not {opening_balance!r}")
    plan = _scenario(scenario)
    day0 = as_of if as_of is not None else _last_data_day(ws)
    cal = _calendar(day0, weeks, months)
    run = _Run(ws, cal, plan, np.random.default_rng(seed), _Flows(paths, cal.days), [], {})
    invoices = _load_invoices(ws)
    invoices = invoices[invoices["issued"] <= cal.as_of]
    known = set(invoices["customer_id"])
    for payer in plan.late_payers:
        if payer.customer_id not in known:
            raise ConfigError(
                f"scenario late_payers: customer {payer.customer_id!r} has no invoices in "
                f"workspace {ws.path}; use a customer_id from the invoices table"
            )
    # The draws always come in this order, so that one seed gives one result.
    sales = _add_sales(run, revenue_forecast)
    invoiced = _add_receivables(run, invoices)
    _add_costs(run, sales + invoiced[None, :], invoices)
    _add_scenario(run)
    return _summarise(run, float(opening_balance), seed)


@dataclass
class _Run:
    """One projection in the making: its inputs, its draws and what it found."""

    ws: Workspace
    cal: _Calendar
    plan: Scenario
    rng: np.random.Generator
    flows: _Flows
    notes: list[str]
    assumptions: dict[str, Any]


def _add_sales(run: _Run, given: pd.DataFrame | None) -> FloatArray:
    """Add future order sales (one persistent forecast shock per path); return them."""
    mean, sd, source = _revenue_forecast(run.ws, run.cal, given, run.notes)
    z = run.rng.standard_normal(run.flows.paths)
    sales = np.maximum(mean[None, :] + z[:, None] * sd[None, :], 0.0)
    sales *= 1.0 + run.plan.sales_change
    run.flows.add("sales", sales)
    run.assumptions["sales_forecast"] = source
    return sales


def _add_receivables(run: _Run, inv: pd.DataFrame) -> FloatArray:
    """Add collections of open and future invoices; return future invoicing by issue day."""
    t0, flows = run.cal.as_of, run.flows
    behaviour = _behaviour(inv, t0.date(), MIN_OWN_INVOICES)
    is_open = inv["paid"].isna() | (inv["paid"] > t0)
    open_inv = inv[is_open].copy()
    # Fully paid later: all of it was open at as_of; still unpaid: what is left of it.
    left = open_inv["amount"] - open_inv["paid_amount"]
    open_inv["open"] = open_inv["amount"].where(open_inv["paid"].notna(), left)
    open_inv = open_inv[open_inv["open"] > 0.005]
    if not open_inv.empty:
        customers = list(open_inv["customer_id"])
        terms = pd.to_timedelta([behaviour.terms_days(c) for c in customers], unit="D")
        due = open_inv["due"].fillna(open_inv["issued"] + terms)
        due_offset = np.asarray((due - t0).dt.days, dtype=np.float64)
        late = behaviour.sample_days_late(customers, run.rng, -due_offset, size=flows.paths)
        pay = due_offset[None, :] + late + _late_extra(run.plan, customers)[None, :]
        amounts = open_inv["open"].to_numpy(np.float64)
        flows.add("open invoices", flows.path_lumps(np.maximum(pay, 1.0), amounts))

    in_orders = _invoices_in_orders(run.ws, inv, t0)
    future = _Future([], np.zeros(0, np.int64), np.zeros(0), 0.0)
    if not in_orders:
        future = _future_invoices(inv, run.cal, run.plan.sales_change)
    if future.amounts.size:
        to_pay = behaviour.sample_days_to_pay(future.customers, run.rng, size=flows.paths)
        pay = future.offsets[None, :] + to_pay + _late_extra(run.plan, future.customers)[None, :]
        if behaviour.collected_share < 1.0:
            unpaid = run.rng.random(pay.shape) >= behaviour.collected_share
            pay = np.where(unpaid, np.inf, pay)
        flows.add("invoiced sales", flows.path_lumps(np.maximum(pay, 1.0), future.amounts))
    run.assumptions.update(
        open_invoices={"count": len(open_inv), "amount": float(open_inv["open"].sum())},
        invoices_in_orders=in_orders,
        invoiced_sales_per_month=future.monthly,
        collected_share=behaviour.collected_share,
    )
    return flows.lumps(future.offsets - 1, future.amounts)


def _add_costs(run: _Run, sales: FloatArray, inv: pd.DataFrame) -> None:
    """Add open bills, recurring, variable, marketing and other costs (all negative)."""
    t0, flows, notes = run.cal.as_of, run.flows, run.notes
    expenses = _load_expenses(run.ws)
    expenses = expenses[expenses["incurred"] <= t0]
    bills = _open_bills(expenses, t0, notes)
    if not bills.empty:
        due_day = bills["due"].where(bills["due"] > t0, t0 + _DAY)
        bill_days = (due_day - t0).dt.days - 1
        flows.add("open bills", -flows.lumps(bill_days, bills["amount"].to_numpy(np.float64)))
    recurring = _recurring_costs(expenses, t0)
    for cost in recurring:
        index = [(d - t0).days - 1 + cost.lag_days for d in cost.dates(t0, run.cal.ends[-1])]
        flows.add(_item_name(cost.category), -flows.lumps(index, cost.amount))

    other = expenses[~expenses["recurring"]]
    recent = _window(other, "incurred", t0, _RATIO_MONTHS)
    revenue = _revenue_between(run.ws, t0, _RATIO_MONTHS)
    if not run.assumptions["invoices_in_orders"]:
        revenue += float(_window(inv, "issued", t0, _RATIO_MONTHS)["amount"].sum())
    ratios: dict[str, float] = {}
    for category, group in recent[recent["category"].isin(_VARIABLE)].groupby("category"):
        if revenue <= 0:
            notes.append(f"no revenue in the last {_RATIO_MONTHS} months: {category} not projected")
            continue
        ratios[str(category)] = float(group["amount"].sum()) / revenue
        cost_flow = _shift(ratios[str(category)] * sales, _lag_days(group, t0))
        flows.add(_item_name(str(category)), -cost_flow)

    first_day = _first_day(run.ws, inv, expenses)
    rates: dict[str, float] = {}
    marketing = _window(other, "incurred", t0, _MARKETING_MONTHS)
    marketing = marketing[marketing["category"].isin(_MARKETING)]
    if not marketing.empty:
        days = _covered_days(first_day, t0, _MARKETING_MONTHS)
        rates["marketing"] = float(marketing["amount"].sum()) / days
    irregular = recent[~recent["category"].isin(_VARIABLE | _MARKETING)]
    days = _covered_days(first_day, t0, _RATIO_MONTHS)
    for category, group in irregular.groupby("category"):
        rates[str(category)] = float(group["amount"].sum()) / days
    for name, rate in rates.items():
        flows.add(_item_name(name), np.full(run.cal.days, -rate))
    run.assumptions.update(
        open_bills={"count": len(bills), "amount": float(bills["amount"].sum())},
        recurring=[
            {
                "category": c.category,
                "vendor": c.vendor,
                "amount": c.amount,
                "every": c.cadence,
                "lag_days": c.lag_days,
            }
            for c in recurring
        ],
        variable_cost_ratios=ratios,
        per_month={k: v * 365.25 / 12 for k, v in rates.items()},
    )


def _add_scenario(run: _Run) -> None:
    """Add the scenario's hires (paid at each projection month's end) and investments."""
    cal, flows = run.cal, run.flows
    month_ends = cal.month_ends()
    for hire in run.plan.hires:
        index = [cal.offset(end) for m, end in enumerate(month_ends, start=1) if m >= hire.month]
        flows.add("hires", -flows.lumps(index, hire.count * hire.monthly_cost))
        if hire.month > len(month_ends):
            run.notes.append(f"a hire in month {hire.month} starts after the projection ends")
    for investment in run.plan.investments:
        day = pd.Timestamp(investment.date)
        if not cal.as_of < day <= cal.ends[-1]:
            run.notes.append(
                f"investment {investment.label!r} on {investment.date} is outside the projection "
                f"({(cal.as_of + _DAY).date()} to {cal.ends[-1].date()}) and left out"
            )
            continue
        cost = -flows.lumps([cal.offset(day)], investment.amount)
        flows.add(f"investment: {investment.label}", cost)


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


def _summarise(run: _Run, opening: float, seed: int) -> CashProjection:
    cal, flows, paths = run.cal, run.flows, run.flows.paths
    net = flows.random + flows.fixed[None, :]
    balance = np.round(opening + np.cumsum(net, axis=1), 2)
    ends = cal.end_index
    at_end = balance[:, ends]
    q = np.quantile(at_end, QUANTILES, axis=0)
    periods = pd.DataFrame(
        {
            "period": [s.date() for s in cal.starts],
            "end": [e.date() for e in cal.ends],
            "mean": at_end.mean(axis=0),
            **{f"p{round(p * 100)}": q[i] for i, p in enumerate(QUANTILES)},
            "p_negative": (at_end < 0).mean(axis=0),
        }
    )
    negative = balance < 0
    ever = negative.any(axis=1)
    first_period: dt.date | None = None
    first_probability = 0.0
    if ever.any():
        first_day = negative[ever].argmax(axis=1)
        which = np.searchsorted(ends, first_day, side="left")
        counts = np.bincount(which, minlength=len(ends))
        top = int(counts.argmax())
        first_period = cal.starts[top].date()
        first_probability = float(counts[top] / paths)
    below = np.flatnonzero(periods["p50"].to_numpy() < 0)
    runway = cal.starts[int(below[0])].date() if below.size else None
    lowest = int(np.argmin(periods["p50"].to_numpy()))

    names = sorted(flows.items)
    per_period = {
        name: np.add.reduceat(flows.items[name], np.concatenate([[0], ends[:-1] + 1]))
        for name in names
    }
    flow_frame = pd.DataFrame(per_period, index=pd.Index(periods["period"], name="period"))
    upto = flow_frame.iloc[: lowest + 1].sum(axis=0)
    drivers = (
        pd.DataFrame({"item": upto.index.astype(str), "amount": upto.to_numpy(dtype=np.float64)})
        .sort_values(["amount", "item"], kind="stable")
        .reset_index(drop=True)
    )
    return CashProjection(
        as_of=cal.as_of.date(),
        grain=cal.grain,
        opening_balance=opening,
        currency=run.ws.reporting_currency,
        paths=paths,
        seed=seed,
        periods=periods,
        flows=flow_frame,
        p_negative_any=float(ever.mean()),
        first_negative_period=first_period,
        first_negative_probability=first_probability,
        runway_period=runway,
        lowest_period=cal.starts[lowest].date(),
        drivers=drivers,
        scenario=run.plan,
        assumptions=run.assumptions,
        notes=run.notes,
    )
