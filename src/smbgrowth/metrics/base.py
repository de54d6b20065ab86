"""What a metric is, how it is asked for, and what it returns.

A :class:`Metric` is a definition: its id, driver, unit, the formula in words,
the convention it follows, the grains and dimensions it allows, and a function
that builds an Ibis expression for a :class:`Query`. Expressions are built from
Ibis operations (plus ``timezone``, which DuckDB and PostgreSQL both have), so
the same definition runs on any backend Ibis supports.

Every compute function returns a table with the columns ``period`` (unless the
grain is ``total``), the dimension named by ``Query.by`` (if any) and ``value``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pandas as pd

from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import MetricError

__all__ = [
    "DIMENSIONS",
    "DRIVERS",
    "GRAINS",
    "Driver",
    "Grain",
    "Metric",
    "MetricResult",
    "Option",
    "Query",
    "local_time",
]

Driver = Literal["demand", "sales & marketing", "operations", "customers", "finance"]
Grain = Literal["day", "week", "month", "quarter", "year", "total"]

DRIVERS: tuple[Driver, ...] = ("demand", "sales & marketing", "operations", "customers", "finance")
GRAINS: tuple[Grain, ...] = ("day", "week", "month", "quarter", "year", "total")

#: Dimension name → what it means. Metrics list the ones they support.
DIMENSIONS: dict[str, str] = {
    "segment": "customer segment (customers.segment)",
    "channel": "acquisition channel (customers.acquisition_channel; marketing_spend.channel)",
    "country": "customer country (customers.country)",
    "category": "product category (order_lines.product_category); expense category for expenses",
    "plan": "subscription plan (subscriptions.plan)",
    "stage": "pipeline stage (deal_stages.stage)",
}

_TIMESTAMP = dt.Timestamp(timezone="UTC")


@ibis.udf.scalar.builtin(name="timezone", signature=((dt.string, _TIMESTAMP), dt.timestamp))  # type: ignore[untyped-decorator]
def _timezone(zone: str, instant: Any) -> Any:
    """The wall-clock time of an instant in a time zone (SQL ``timezone(zone, ts)``)."""


def local_time(instant: ir.TimestampValue, zone: str) -> ir.TimestampValue:
    """The wall-clock time in ``zone`` of a UTC instant, for bucketing by local day."""
    result: ir.TimestampValue = _timezone(zone, instant)
    return result


@dataclass(frozen=True)
class Option:
    """A convention a metric lets the user choose, with its default."""

    name: str
    default: str
    choices: tuple[str, ...]
    help: str


@dataclass(frozen=True)
class Query:
    """One request for a metric: the workspace, grain, dimension, window and options."""

    ws: Workspace
    grain: Grain = "month"
    by: str | None = None
    start: date | None = None
    end: date | None = None
    options: Mapping[str, str] = field(default_factory=dict)

    @property
    def zone(self) -> str:
        return self.ws.time_zone

    def option(self, name: str, default: str) -> str:
        return str(self.options.get(name, default))

    def local(self, instant: ir.TimestampValue) -> ir.TimestampValue:
        """Local wall-clock time of an instant column."""
        return local_time(instant, self.zone)

    def period(self, when: ir.Value) -> ir.StringValue:
        """Label of the period a timestamp (UTC instant) or date falls in.

        Labels sort in time order: ``2024-03-05`` (day, and week by its Monday),
        ``2024-03``, ``2024-Q1``, ``2024``.
        """
        local: Any = self.local(when) if when.type().is_timestamp() else when
        return period_label(local, self.grain)

    def in_window(self, when: ir.Value) -> ir.BooleanValue:
        """True for rows inside [start, end] in local days (always true without a window)."""
        local: Any = self.local(when) if when.type().is_timestamp() else when
        day = local.date() if when.type().is_timestamp() else local
        cond: ir.BooleanValue = ibis.literal(True)
        if self.start is not None:
            cond = cond & (day >= ibis.literal(self.start))
        if self.end is not None:
            cond = cond & (day <= ibis.literal(self.end))
        return cond

    @property
    def keys(self) -> list[str]:
        """Group-by columns of the result: period and the dimension, as asked."""
        keys = [] if self.grain == "total" else ["period"]
        if self.by:
            keys.append(self.by)
        return keys


def period_label(local: Any, grain: str) -> ir.StringValue:
    """Period label of a local timestamp or date column for a grain (not ``total``)."""
    if grain == "day":
        return local.strftime("%Y-%m-%d")
    if grain == "week":
        return local.truncate("W").strftime("%Y-%m-%d")
    if grain == "month":
        return local.strftime("%Y-%m")
    if grain == "quarter":
        return local.year().cast("string") + "-Q" + local.quarter().cast("string")
    if grain == "year":
        return local.year().cast("string")
    raise MetricError(f"grain {grain!r} has no periods")


def period_range(first: str, last: str, grain: str) -> list[str]:
    """Every period label from ``first`` to ``last`` inclusive."""
    if grain == "total":
        return []
    if grain == "day":
        days = pd.date_range(first, last, freq="D")
        return [d.strftime("%Y-%m-%d") for d in days]
    if grain == "week":
        weeks = pd.date_range(first, last, freq="7D")
        return [d.strftime("%Y-%m-%d") for d in weeks]
    if grain == "month":
        return [p.strftime("%Y-%m") for p in pd.period_range(first, last, freq="M")]
    if grain == "quarter":
        a, b = pd.Period(first.replace("-Q", "Q"), "Q"), pd.Period(last.replace("-Q", "Q"), "Q")
        return [f"{p.year}-Q{p.quarter}" for p in pd.period_range(a, b, freq="Q")]
    return [str(y) for y in range(int(first), int(last) + 1)]


def window_periods(start: date, end: date, grain: str) -> tuple[str, str]:
    """First and last period labels of a date window."""
    ts0, ts1 = pd.Timestamp(start), pd.Timestamp(end)
    if grain == "day":
        return ts0.strftime("%Y-%m-%d"), ts1.strftime("%Y-%m-%d")
    if grain == "week":
        monday0 = ts0 - timedelta(days=ts0.weekday())
        monday1 = ts1 - timedelta(days=ts1.weekday())
        return monday0.strftime("%Y-%m-%d"), monday1.strftime("%Y-%m-%d")
    if grain == "month":
        return ts0.strftime("%Y-%m"), ts1.strftime("%Y-%m")
    if grain == "quarter":
        return f"{ts0.year}-Q{ts0.quarter}", f"{ts1.year}-Q{ts1.quarter}"
    return str(ts0.year), str(ts1.year)


Compute = Callable[[Query], ir.Table]


@dataclass(frozen=True)
class Metric:
    """One metric definition.

    Attributes
    ----------
    additive:
        True when values of disjoint groups add up (counts, money): empty periods
        are 0 and a split by a dimension sums to the total. False for ratios,
        medians and rates: empty periods have no value.
    higher_is_better:
        Direction used by the scorecard; None when neither is better.
    needs:
        The data the metric cannot be computed without: ``"table"`` (the table
        has rows) or ``"table.column"`` (some row has a value in the column);
        ``"a.x|b.y"`` is satisfied by either. See
        :func:`~smbgrowth.metrics.registry.missing_inputs`.
    """

    id: str
    name: str
    driver: Driver
    unit: str
    formula: str
    convention: str
    compute: Compute
    grains: tuple[Grain, ...] = GRAINS
    dimensions: tuple[str, ...] = ()
    additive: bool = True
    higher_is_better: bool | None = True
    options: tuple[Option, ...] = ()
    needs: tuple[str, ...] = ()

    def describe(self) -> dict[str, Any]:
        """The definition as data (for ``smbgrowth kpis --list`` and the docs)."""
        return {
            "id": self.id,
            "name": self.name,
            "driver": self.driver,
            "unit": self.unit,
            "formula": self.formula,
            "convention": self.convention,
            "grains": list(self.grains),
            "dimensions": list(self.dimensions),
            "additive": self.additive,
            "higher_is_better": self.higher_is_better,
            "needs": list(self.needs),
            "options": [
                {"name": o.name, "default": o.default, "choices": list(o.choices), "help": o.help}
                for o in self.options
            ],
        }


@dataclass(frozen=True)
class MetricResult:
    """A computed metric: its rows, ordered by period then dimension."""

    metric: Metric
    grain: Grain
    by: str | None
    frame: pd.DataFrame

    @property
    def rows(self) -> list[dict[str, Any]]:
        out = []
        for rec in self.frame.to_dict("records"):
            clean = {}
            for k, v in rec.items():
                clean[str(k)] = None if v is None or (isinstance(v, float) and pd.isna(v)) else v
            out.append(clean)
        return out

    def to_dict(self) -> dict[str, Any]:
        """``{"metric", "unit", "grain", "rows": [{"period", <dimension>, "value"}]}``."""
        return {
            "metric": self.metric.id,
            "unit": self.metric.unit,
            "grain": self.grain,
            **({"by": self.by} if self.by else {}),
            "rows": self.rows,
        }

    def series(self) -> pd.Series:
        """Values indexed by period (no dimension)."""
        if self.by:
            raise MetricError("series() needs a result without a dimension")
        if self.grain == "total":
            return pd.Series(self.frame["value"].to_numpy(), index=["total"])
        return pd.Series(self.frame["value"].to_numpy(), index=self.frame["period"].to_list())

    def total(self) -> float | None:
        """The single value of a ``total`` result without a dimension."""
        if self.grain != "total" or self.by or self.frame.empty:
            return None
        value = self.frame["value"].iloc[0]
        return None if pd.isna(value) else float(value)
