"""A business at a glance, by year: revenue, orders, new customers (demo summary)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from smbgrowth.data.workspace import Workspace

__all__ = ["YearFigures", "yearly_overview"]


@dataclass(frozen=True)
class YearFigures:
    """Headline figures of one calendar year (in the workspace's time zone)."""

    year: int
    revenue: float
    orders: int
    new_customers: int
    marketing_spend: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def yearly_overview(ws: Workspace) -> list[YearFigures]:
    """Return net revenue (completed and partially refunded orders, less refunds), order
    count, new customers and marketing spend per calendar year."""
    tz = ws.time_zone
    o = ws.orders
    counted = o.filter(o.status.isin(["completed", "partially_refunded"]))
    year = counted.ordered_at.cast(f"timestamp('{tz}')").year()
    revenue = (
        counted.mutate(year=year, net=counted.total - counted.refunded.fill_null(0))
        .group_by("year")
        .aggregate(revenue=lambda t: t.net.sum(), orders=lambda t: t.count())
        .execute()
    )
    c = ws.customers
    with_date = c.filter(c.created_at.notnull())
    new = (
        with_date.mutate(year=with_date.created_at.cast(f"timestamp('{tz}')").year())
        .group_by("year")
        .aggregate(new_customers=lambda t: t.count())
        .execute()
    )
    m = ws.marketing_spend
    spend = m.mutate(year=m.date.year()).group_by("year").aggregate(spend=m.spend.sum()).execute()
    years = sorted(set(revenue["year"]) | set(new["year"]) | set(spend["year"]))
    rev = revenue.set_index("year")
    nc = new.set_index("year")["new_customers"]
    sp = spend.set_index("year")["spend"]
    return [
        YearFigures(
            year=int(y),
            revenue=float(rev["revenue"].get(y, 0) or 0),
            orders=int(rev["orders"].get(y, 0) or 0),
            new_customers=int(nc.get(y, 0) or 0),
            marketing_spend=float(sp.get(y, 0) or 0),
        )
        for y in years
    ]
