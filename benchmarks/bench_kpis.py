"""KPI throughput: smbgrowth's registry against a straightforward pandas implementation.

1. Builds (once, cached in ``benchmarks/_work``) a sample business with about
   1,000,000 orders.
2. smbgrowth: every registry metric by month, plus the driver scorecard.
3. pandas: the tables loaded into DataFrames, then the same monthly metrics for
   the set implemented below (the common KPIs an analyst writes by hand); the
   ratio is taken on that set, both sides computing exactly those metrics.
4. Optionally (``--big``), 50,000,000 synthetic orders written straight into a
   workspace by DuckDB, and the order-based KPIs computed out of core.

    python benchmarks/bench_kpis.py [--customers 310000] [--repeat 3] [--big]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

import smbgrowth
from smbgrowth.data import generate_sample_business
from smbgrowth.data.workspace import Workspace
from smbgrowth.metrics import METRICS, compute_all, compute_metric
from smbgrowth.metrics.scorecard import driver_scorecard

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work"
SOLD = ("completed", "partially_refunded", "refunded")


def build(customers: int) -> Path:
    path = WORK / f"kpi-{customers}"
    if not (path / "business.duckdb").exists():
        t = time.perf_counter()
        with smbgrowth.init_workspace(path, time_zone="America/New_York") as ws:
            generate_sample_business(ws, customers=customers, years=3.0, seed=5)
        print(f"built {path.name} in {time.perf_counter() - t:.0f} s")
    return path


# -- pandas: what an analyst writes by hand ---------------------------------------------------


def _month(ts: pd.Series, zone: str) -> pd.Series:
    return ts.dt.tz_convert(zone).dt.strftime("%Y-%m")


def pandas_kpis(ws: Workspace) -> dict[str, pd.Series]:
    zone = ws.time_zone
    load = lambda name: ws.duck.execute(f"SELECT * FROM {name}").df()  # noqa: E731
    c, o, w, d = load("customers"), load("orders"), load("web_events"), load("deals")
    m, t, e = load("marketing_spend"), load("tickets"), load("expenses")
    for frame in (o, m, e):
        for col in frame.columns:
            if frame[col].dtype == object and col in ("total", "refunded", "spend", "amount"):
                frame[col] = frame[col].astype(float)
    o["total"] = o["total"].astype(float)
    o["refunded"] = o["refunded"].astype(float).fillna(0)
    sold = o[o.status.isin(SOLD)].assign(month=lambda f: _month(f.ordered_at, zone))
    out: dict[str, pd.Series] = {}
    out["new_customers"] = (
        c.dropna(subset=["created_at"]).groupby(_month(c.created_at.dropna(), zone)).size()
    )
    buyers = sold.dropna(subset=["customer_id"])
    out["active_customers"] = buyers.groupby("month").customer_id.nunique()
    out["sessions"] = w.groupby(_month(w.occurred_at, zone)).session_id.nunique()
    out["leads"] = d.groupby(_month(d.created_at, zone)).size()
    gross = sold.groupby("month").total.sum()
    net = (sold.total - sold.refunded).groupby(sold.month).sum()
    count = sold.groupby("month").size()
    out["revenue_gross"] = gross
    out["revenue_net"] = net
    out["orders"] = count
    out["aov"] = net / count
    m["spend"] = m["spend"].astype(float)
    out["marketing_spend"] = m.groupby(pd.to_datetime(m.date).dt.strftime("%Y-%m")).spend.sum()
    t = t.assign(month=_month(t.opened_at, zone))
    hours = (t.resolved_at - t.opened_at).dt.total_seconds() / 3600
    first = (t.first_response_at - t.opened_at).dt.total_seconds() / 3600
    out["resolution_hours_median"] = hours.groupby(t.month).median()
    out["first_response_hours_median"] = first.groupby(t.month).median()
    out["tickets_per_100_orders"] = t.groupby("month").size() / count * 100
    fulfil = (sold.fulfilled_at - sold.ordered_at).dt.total_seconds() / 86400
    out["fulfilment_days_median"] = fulfil.groupby(sold.month).median()
    e["amount"] = e["amount"].astype(float)
    out["operating_expenses"] = e.groupby(_month(e.incurred_at, zone)).amount.sum()
    out["csat"] = t.groupby("month").csat.mean()
    return out


def smbgrowth_kpis(ws: Workspace, ids: list[str]) -> dict[str, pd.Series]:
    return {i: compute_metric(ws, i, grain="month").series() for i in ids}


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def big(orders: int) -> None:
    """Write ``orders`` synthetic orders with DuckDB and compute order KPIs out of core."""
    path = WORK / f"kpi-big-{orders}"
    if not (path / "business.duckdb").exists():
        t = time.perf_counter()
        with smbgrowth.init_workspace(path, time_zone="America/New_York") as ws:
            customers = orders // 10
            ws.duck.execute(
                f"""INSERT INTO customers (customer_id, created_at, segment, acquisition_channel,
                        source, imported_at)
                    SELECT 'c' || i, TIMESTAMPTZ '2021-01-01' + to_seconds(i * 2),
                           ['consumer', 'business'][1 + i % 2],
                           ['google_ads', 'organic', 'email'][1 + i % 3], 'bench', now()
                    FROM range({customers}) r(i)"""
            ).fetchall()
            ws.duck.execute(
                f"""INSERT INTO orders (order_id, customer_id, ordered_at, status, total,
                        refunded, source, imported_at)
                    SELECT 'o' || i, 'c' || (hash(i) % {customers}),
                           TIMESTAMPTZ '2021-01-01' + to_seconds(i * 2),
                           CASE WHEN i % 50 = 0 THEN 'refunded' ELSE 'completed' END,
                           CAST(10 + hash(i * 7) % 20000 / 100.0 AS DECIMAL(18, 2)),
                           CASE WHEN i % 50 = 0 THEN 10 ELSE 0 END, 'bench', now()
                    FROM range({orders}) r(i)"""
            ).fetchall()
        print(f"wrote {orders:,} orders in {time.perf_counter() - t:.0f} s")
    with smbgrowth.open_workspace(path) as ws:
        ws.duck.execute("SET memory_limit = '2GB'").fetchall()
        ids = ["revenue_net", "orders", "aov", "new_customers", "active_customers"]
        ids = [i for i in ids if i in METRICS]
        t = time.perf_counter()
        smbgrowth_kpis(ws, ids)
        elapsed = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{orders:,} orders: {', '.join(ids)} by month in {elapsed:.1f} s, peak RSS {peak:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=310_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--big", action="store_true", help="also run 50,000,000 orders")
    args = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    path = build(args.customers)
    with smbgrowth.open_workspace(path) as ws:
        n_orders = ws.row_count("orders")
        print(f"workspace: {n_orders:,} orders, {ws.row_count('customers'):,} customers")
        every = sorted(m.id for m in METRICS.values() if "month" in m.grains)

        def everything() -> object:
            results = compute_all(ws, grain="month", metric_ids=every)
            return driver_scorecard(ws, results=results)

        full, _ = timed(everything, args.repeat)
        reference = pandas_kpis(ws)
        shared = sorted(i for i in reference if i in METRICS)
        ours_t, ours = timed(lambda: smbgrowth_kpis(ws, shared), args.repeat)
        theirs_t, theirs = timed(lambda: pandas_kpis(ws), args.repeat)
        assert isinstance(ours, dict) and isinstance(theirs, dict)
        for i in shared:
            a = ours[i].dropna().astype(float)
            b = theirs[i].dropna().astype(float).reindex(a.index)
            gap = (a - b).abs().max()
            if not gap <= 1e-6 * max(1.0, float(b.abs().max())):
                print(f"  note: {i} differs from the pandas version by {gap:.6g}")
    print(f"full set ({len(every)} metrics by month) + scorecard: median {full:.2f} s")
    print(f"shared set ({len(shared)} metrics): smbgrowth {ours_t:.2f} s, pandas {theirs_t:.2f} s")
    print(f"speed-up smbgrowth vs pandas: {theirs_t / ours_t:.2f}x")
    if args.big:
        big(50_000_000)


if __name__ == "__main__":
    main()
