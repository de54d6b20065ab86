"""Acquisition-cohort retention matrices (customers or revenue by age in periods).

A customer's cohort is the period (workspace time zone) of their first sold order
over all history; their age in a later order's period is the number of whole
periods since. The customer measure is the classic e-commerce retention triangle
(share of the cohort with a sold order at each age); the revenue measure is
ChartMogul's cohort net revenue retention curve applied to orders (the cohort's net
revenue at each age ÷ its net revenue at age 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import MetricError
from smbgrowth.metrics.base import local_time, period_label
from smbgrowth.metrics.common import REVENUE_STATUSES

__all__ = ["CohortMatrix", "cohort_retention"]

_PER_YEAR = {"month": 12, "quarter": 4}


@dataclass(frozen=True)
class CohortMatrix:
    """A retention triangle: one row per acquisition cohort, one column per age (0, 1, …).

    Attributes
    ----------
    measure, grain:
        What was counted and the period length.
    counts:
        Absolute values: active customers (``customers``) or net revenue
        (``revenue``) of each cohort at each age; 0 where nothing happened, NaN for
        ages the data do not reach yet.
    shares:
        ``counts`` ÷ the cohort's age-0 value (cohort size, or age-0 revenue).
    sizes:
        Customers acquired in each cohort.
    """

    measure: Literal["customers", "revenue"]
    grain: Literal["month", "quarter"]
    counts: pd.DataFrame
    shares: pd.DataFrame
    sizes: pd.Series

    def to_dict(self) -> dict[str, Any]:
        """``{"measure", "grain", "cohorts": [{"cohort", "size", "values"}]}``, JSON-ready.

        ``values`` are the shares from age 0 up to the last age the data reach; a share
        without a value (age-0 revenue of 0) is ``None``.
        """
        cohorts = []
        observed = self.counts.notna().to_numpy()
        for i, cohort in enumerate(self.shares.index):
            row = self.shares.to_numpy()[i][observed[i]]
            values = [None if np.isnan(v) else float(v) for v in row]
            size = int(self.sizes.to_numpy()[i])
            cohorts.append({"cohort": str(cohort), "size": size, "values": values})
        return {"measure": self.measure, "grain": self.grain, "cohorts": cohorts}


def _index(local: Any, grain: str) -> ir.IntegerValue:
    """Periods since year 0 of a local timestamp: year × 12 + month − 1 (or by quarter)."""
    part = local.month() if grain == "month" else local.quarter()
    result: ir.IntegerValue = local.year() * _PER_YEAR[grain] + part - 1
    return result


def cohort_retention(
    ws: Workspace,
    *,
    measure: Literal["customers", "revenue"] = "customers",
    grain: Literal["month", "quarter"] = "month",
    start: date | None = None,
    end: date | None = None,
) -> CohortMatrix:
    """Retention of each acquisition cohort by age, as shares, absolute values and sizes.

    Parameters
    ----------
    ws
        The workspace whose sold orders (completed, partially refunded or refunded)
        are read.
    measure
        ``customers``: share of the cohort with a sold order at each age.
        ``revenue``: the cohort's net revenue (total − refunded) at each age ÷ its
        age-0 net revenue.
    grain
        ``month`` or ``quarter`` cohorts and ages.
    start, end
        Keep cohorts acquired on these local days (inclusive); orders after ``end``
        are not counted, so ages stop at the period of ``end``.
    """
    if measure not in ("customers", "revenue"):
        raise MetricError(f"unknown cohort measure {measure!r}; choose customers or revenue")
    if grain not in _PER_YEAR:
        raise MetricError(f"cohorts are by month or quarter, not {grain!r}")
    if start and end and start > end:
        raise MetricError(f"--from {start} is after --to {end}")
    zone = ws.time_zone
    o = ws.orders
    o = o.filter(o.status.isin(REVENUE_STATUSES), o.customer_id.notnull())
    local = local_time(o.ordered_at, zone)
    o = o.select(
        customer_id=o.customer_id,
        day=local.date(),
        idx=_index(local, grain),
        label=period_label(local, grain),
        net=(o.total - o.refunded.fill_null(0)).cast("float64"),
    )
    first = o.group_by("customer_id").aggregate(
        first_day=o.day.min(), cohort_idx=o.idx.min(), cohort=o.label.min()
    )
    if start is not None:
        first = first.filter(first.first_day >= ibis.literal(start))
    if end is not None:
        first = first.filter(first.first_day <= ibis.literal(end))
        o = o.filter(o.day <= ibis.literal(end))
    rows = o.join(first, "customer_id")
    rows = rows.mutate(age=rows.idx - rows.cohort_idx)
    cells = rows.group_by(["cohort", "cohort_idx", "age"]).aggregate(
        customers=rows.customer_id.nunique(), revenue=rows.net.sum()
    )
    sizes_expr = first.group_by("cohort").aggregate(size=first.count())
    frame = cells.execute()
    size_frame = sizes_expr.execute()
    last_idx = int(o.idx.max().execute()) if not frame.empty else 0
    return _pivot(frame, size_frame, measure, grain, last_idx)


def _pivot(
    frame: pd.DataFrame,
    size_frame: pd.DataFrame,
    measure: Literal["customers", "revenue"],
    grain: Literal["month", "quarter"],
    last_idx: int,
) -> CohortMatrix:
    sizes = size_frame.set_index("cohort")["size"].astype("int64").sort_index()
    sizes.index.name = "cohort"
    if frame.empty:
        empty = pd.DataFrame(index=sizes.index, dtype="float64")
        return CohortMatrix(measure, grain, empty, empty.copy(), sizes)
    counts = frame.pivot_table(
        index="cohort", columns="age", values=measure, aggfunc="sum", fill_value=0
    ).astype("float64")
    # Ages run to the oldest cohort's horizon, even when nobody bought at the last ages.
    oldest = int(frame["cohort_idx"].min())
    ages = list(range(max(int(frame["age"].max()), last_idx - oldest) + 1))
    counts = counts.reindex(index=sizes.index, columns=ages, fill_value=0.0)
    reach = frame.groupby("cohort")["cohort_idx"].first().reindex(sizes.index)
    horizon = last_idx - reach.to_numpy()
    unobserved = np.asarray(ages)[None, :] > horizon[:, None]
    counts = counts.mask(unobserved)
    counts.columns.name = "age"
    base = sizes.astype("float64") if measure == "customers" else counts[0]
    shares = counts.div(base.where(base != 0), axis=0)
    return CohortMatrix(measure, grain, counts, shares, sizes)
