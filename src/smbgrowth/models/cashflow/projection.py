"""Cash-flow projection: simulate the bank balance day by day and summarise it per period.

:func:`project_cash` simulates ``paths`` futures of the business's cash, day by
day from the day after ``as_of``, adding in this order (so that one seed gives
one result) future order sales (:mod:`~smbgrowth.models.cashflow.sales`),
collections of open and future invoices, costs
(:mod:`~smbgrowth.models.cashflow.costs`) and the scenario's hires and
investments (:mod:`~smbgrowth.models.cashflow.scenario`). The rules applied here:

Open invoices (receivables)
    Invoices issued on or before ``as_of`` and not fully paid by then (void and
    draft ignored) are collected on ``due + days late``, the days late drawn per
    path from :class:`~smbgrowth.models.cashflow.payments.PaymentBehaviour`
    *given that the invoice is still unpaid at as_of* (see
    :meth:`~smbgrowth.models.cashflow.payments.PaymentBehaviour.sample_days_late`).
    An invoice later than any paid invoice of its reference distribution is not
    collected within the horizon. Without a due date, the customer's usual terms
    apply.

Balances
    Balances are rounded to the cent; "below zero" is below zero after
    rounding. Per period (:mod:`~smbgrowth.models.cashflow.periods`) the
    projection reports the balance quantiles, the mean flow of every item, the
    chance of being below zero, when cash most likely first runs out, the runway
    and the items that drive the lowest point.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import ConfigError, DataError
from smbgrowth.models.cashflow.common import _DAY, FloatArray, _json, _window
from smbgrowth.models.cashflow.costs import (
    _MARKETING,
    _MARKETING_MONTHS,
    _RATIO_MONTHS,
    _VARIABLE,
    _covered_days,
    _first_day,
    _item_name,
    _lag_days,
    _load_expenses,
    _open_bills,
    _recurring_costs,
    _revenue_between,
)
from smbgrowth.models.cashflow.payments import MIN_OWN_INVOICES, _behaviour, _load_invoices
from smbgrowth.models.cashflow.periods import _Calendar, _calendar, _Flows, _shift
from smbgrowth.models.cashflow.sales import (
    _Future,
    _future_invoices,
    _invoices_in_orders,
    _revenue_forecast,
)
from smbgrowth.models.cashflow.scenario import Scenario, _scenario

__all__ = ["QUANTILES", "CashProjection", "project_cash"]

#: Balance quantiles reported per period.
QUANTILES: tuple[float, ...] = (0.05, 0.10, 0.50, 0.90, 0.95)


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


def _late_extra(scenario: Scenario, customers: Sequence[str]) -> FloatArray:
    extra = {p.customer_id: p.extra_days for p in scenario.late_payers}
    return np.array([float(extra.get(c, 0)) for c in customers], dtype=np.float64)


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
