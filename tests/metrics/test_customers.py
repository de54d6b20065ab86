"""Customers-driver metrics on a hand-made subscription book, checked by hand and by pandas.

The book (New York time, 2024): every customer's MRR at each month end is written
next to its subscriptions, and the movements follow from them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

import smbgrowth
from smbgrowth.data.sample import generate_sample_business
from smbgrowth.data.workspace import Workspace
from smbgrowth.metrics.registry import compute_metric

ZONE = "America/New_York"
MONTHS = ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06", "2024-07"]
MOVEMENTS = ("new", "expansion", "contraction", "churned", "reactivation")


def _utc(text: str | None) -> pd.Timestamp | None:
    return None if text is None else pd.Timestamp(text, tz="UTC")


SUBSCRIPTIONS = [
    # id, customer, plan, mrr, started_at (UTC), trial_ends_at, ended_at, status
    ("a1", "A", "Basic", 10, "2024-01-10 15:00", None, None, "active"),
    # B upgrades on 15 Feb: expansion 20.
    ("b1", "B", "Basic", 10, "2024-01-05 15:00", None, "2024-02-15 15:00", "canceled"),
    ("b2", "B", "Pro", 30, "2024-02-15 15:00", None, None, "active"),
    # C downgrades on 10 Mar: contraction 30.
    ("c1", "C", "Pro", 50, "2024-01-03 15:00", None, "2024-03-10 15:00", "canceled"),
    ("c2", "C", "Basic", 20, "2024-03-10 15:00", None, None, "active"),
    # D subscribes and leaves inside February.
    ("d1", "D", "Basic", 15, "2024-02-03 15:00", None, "2024-02-20 15:00", "canceled"),
    # E churns in February and comes back in April: reactivation.
    ("e1", "E", "Basic", 25, "2024-01-04 15:00", None, "2024-02-10 15:00", "canceled"),
    ("e2", "E", "Basic", 25, "2024-04-12 15:00", None, None, "active"),
    # F is on trial until 5 Mar: new MRR in March, not February.
    ("f1", "F", "Pro", 40, "2024-02-01 15:00", "2024-03-05 15:00", None, "active"),
    # G is still trialing with no trial end: never counts.
    ("g1", "G", "Pro", 99, "2024-01-02 15:00", None, None, "trialing"),
    # H ends exactly at local midnight 1 May (04:00 UTC, EDT): churned in April.
    ("h1", "H", "Basic", 5, "2024-01-20 15:00", None, "2024-05-01 04:00", "canceled"),
    # I starts 31 Jan 23:30 in New York, which is February in UTC.
    ("i1", "I", "Basic", 7, "2024-02-01 04:30", None, None, "active"),
    # J starts in July, after an empty May and June.
    ("j1", "J", "Pro", 12, "2024-07-15 15:00", None, None, "active"),
]

CUSTOMERS = {
    "A": "consumer",
    "B": "business",
    "C": "business",
    "D": "consumer",
    "E": "consumer",
    "F": "business",
    "G": "consumer",
    "H": "consumer",
    "I": "business",
    "J": "consumer",
}

HAND_MRR = [107, 102, 112, 132, 132, 132, 144]
HAND_MOVES = {
    "new": [107, 0, 40, 0, 0, 0, 12],
    "expansion": [0, 20, 0, 0, 0, 0, 0],
    "contraction": [0, 0, 30, 0, 0, 0, 0],
    "churned": [0, 25, 0, 5, 0, 0, 0],
    "reactivation": [0, 0, 0, 25, 0, 0, 0],
}
NAN = float("nan")


def _subscriptions_frame() -> pd.DataFrame:
    cols = ["subscription_id", "customer_id", "plan", "mrr", "started_at"]
    cols += ["trial_ends_at", "ended_at", "status"]
    frame = pd.DataFrame(SUBSCRIPTIONS, columns=cols)
    for col in ("started_at", "trial_ends_at", "ended_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


@pytest.fixture
def book(workspace: Workspace) -> Workspace:
    customers = pd.DataFrame({"customer_id": list(CUSTOMERS), "segment": list(CUSTOMERS.values())})
    workspace.append("customers", customers, source="test")
    workspace.append("subscriptions", _subscriptions_frame(), source="test")
    return workspace


def _values(ws: Workspace, metric: str, **kw: object) -> list[float]:
    result = compute_metric(ws, metric, **kw)  # type: ignore[arg-type]
    series = result.series()
    return [float(v) for v in series.to_numpy()]


def _same(got: list[float], want: list[float]) -> bool:
    if len(got) != len(want):
        return False
    return all(
        (math.isnan(g) and math.isnan(w)) or math.isclose(g, w, abs_tol=1e-9)
        for g, w in zip(got, want, strict=True)
    )


# -- an independent pandas computation: instants, not wall-clock ---------------------------


def _boundaries() -> list[pd.Timestamp]:
    """Local midnights starting each month from Jan to Aug 2024, as aware instants."""
    return [pd.Timestamp(f"2024-{m:02d}-01", tz=ZONE) for m in range(1, 9)]


def _pandas_book() -> pd.DataFrame:
    """Per customer and month: MRR at start and end, active at start/end, joined, paid before."""
    s = _subscriptions_frame()
    s = s[~((s.status == "trialing") & s.trial_ends_at.isna())]
    s = s.assign(begin=s[["started_at", "trial_ends_at"]].max(axis=1))
    bounds = _boundaries()
    rows = []
    for customer, subs in s.groupby("customer_id"):

        def at(t: pd.Timestamp, subs: pd.DataFrame = subs) -> tuple[float, bool]:
            on = (subs.begin <= t) & (subs.ended_at.isna() | (subs.ended_at > t))
            return float(subs.mrr[on].sum()), bool(on.any())

        for month, t0, t1 in zip(MONTHS, bounds[:-1], bounds[1:], strict=True):
            m0, a0 = at(t0)
            m1, a1 = at(t1)
            began = bool(((subs.begin >= t0) & (subs.begin < t1)).any())
            paid_before = bool((subs.begin[subs.mrr > 0] < t0).any())
            rows.append((customer, month, m0, m1, a0, a1, began, paid_before))
    cols = ["customer", "period", "m0", "m1", "a0", "a1", "began", "paid_before"]
    return pd.DataFrame(rows, columns=cols)


def _pandas_movements(b: pd.DataFrame) -> dict[str, list[float]]:
    kinds = {
        "new": ((b.m0 == 0) & (b.m1 > 0) & ~b.paid_before) * b.m1,
        "reactivation": ((b.m0 == 0) & (b.m1 > 0) & b.paid_before) * b.m1,
        "churned": ((b.m0 > 0) & (b.m1 == 0)) * b.m0,
        "expansion": ((b.m0 > 0) & (b.m1 > b.m0)) * (b.m1 - b.m0),
        "contraction": ((b.m0 > 0) & (b.m1 > 0) & (b.m1 < b.m0)) * (b.m0 - b.m1),
    }
    return {k: v.groupby(b.period).sum().reindex(MONTHS).tolist() for k, v in kinds.items()}


def _pandas_churn(b: pd.DataFrame, denominator: str, same_period: str) -> list[float]:
    out = []
    for month in MONTHS:
        g = b[b.period == month]
        joined = ~g.a0 & g.began
        lost = g.a0 & ~g.a1
        if same_period == "count":
            num = (lost | (joined & ~g.a1)).sum()
            extra = joined.sum()
        else:
            num = lost.sum()
            extra = (joined & g.a1).sum()
        den = g.a0.sum() + (extra if denominator == "start_plus_new" else 0)
        out.append(num / den if den else NAN)
    return out


# -- MRR and its movements -----------------------------------------------------------------


def test_mrr_matches_hand_and_pandas(book: Workspace) -> None:
    b = _pandas_book()
    assert _values(book, "mrr") == HAND_MRR
    assert b.groupby("period").m1.sum().reindex(MONTHS).tolist() == HAND_MRR


def test_mrr_by_plan_sums_to_total(book: Workspace) -> None:
    frame = compute_metric(book, "mrr", by="plan").frame
    assert frame.groupby("period").value.sum().tolist() == HAND_MRR
    april = frame[frame.period == "2024-04"].set_index("plan").value.to_dict()
    assert april == {"Basic": 10 + 20 + 25 + 7, "Pro": 30 + 40}


def test_mrr_by_segment(book: Workspace) -> None:
    frame = compute_metric(book, "mrr", by="segment").frame
    feb = frame[frame.period == "2024-02"].set_index("segment").value.to_dict()
    assert feb == {"business": 30 + 50 + 7, "consumer": 10 + 5}


@pytest.mark.parametrize("kind", MOVEMENTS)
def test_movement_matches_hand_and_pandas(book: Workspace, kind: str) -> None:
    assert _values(book, f"mrr_{kind}") == HAND_MOVES[kind]
    assert _pandas_movements(_pandas_book())[kind] == HAND_MOVES[kind]


def test_movements_reconcile_with_mrr(book: Workspace) -> None:
    mrr = _values(book, "mrr")
    moves = {k: _values(book, f"mrr_{k}") for k in MOVEMENTS}
    previous = 0.0
    for i, end in enumerate(mrr):
        change = moves["new"][i] + moves["expansion"][i] + moves["reactivation"][i]
        change -= moves["contraction"][i] + moves["churned"][i]
        assert end - previous == pytest.approx(change)
        previous = end


def test_quarter_grain(book: Workspace) -> None:
    assert _values(book, "mrr", grain="quarter") == [112, 132, 144]
    assert _values(book, "mrr_new", grain="quarter") == [112, 0, 12]
    assert _values(book, "mrr_reactivation", grain="quarter") == [0, 25, 0]
    assert _values(book, "mrr_churned", grain="quarter") == [0, 5, 0]


def test_window_keeps_stock_from_before(book: Workspace) -> None:
    result = compute_metric(book, "mrr", start=date(2024, 3, 1), end=date(2024, 4, 30))
    assert result.series().to_dict() == {"2024-03": 112, "2024-04": 132}


def test_trial_and_never_ending_trial_are_not_mrr(book: Workspace) -> None:
    # F's 40 arrives in March (trial end), G's 99 never.
    assert _values(book, "mrr_new")[1:3] == [0, 40]
    assert max(_values(book, "mrr")) < 99 + 132


def test_empty_book_gives_no_rows(workspace: Workspace) -> None:
    assert compute_metric(workspace, "mrr").frame.empty
    assert compute_metric(workspace, "customer_churn_rate").frame.empty


# -- retention and ARPA --------------------------------------------------------------------


def test_revenue_retention(book: Workspace) -> None:
    grr = [NAN, 82 / 107, 72 / 102, 107 / 112, 1.0, 1.0, 1.0]
    nrr = [NAN, 102 / 107, 72 / 102, 132 / 112, 1.0, 1.0, 1.0]
    assert _same(_values(book, "gross_revenue_retention"), grr)
    assert _same(_values(book, "net_revenue_retention"), nrr)
    b = _pandas_book()
    mv = pd.DataFrame(_pandas_movements(b), index=MONTHS)
    start = b.groupby("period").m0.sum().reindex(MONTHS).replace(0, NAN)
    gross = (start - mv.churned - mv.contraction) / start
    net = gross + (mv.expansion + mv.reactivation) / start
    assert _same(gross.tolist(), grr)
    assert _same(net.tolist(), nrr)


def test_arpa(book: Workspace) -> None:
    want = [107 / 6, 102 / 5, 112 / 6, 132 / 6, 132 / 6, 132 / 6, 144 / 7]
    assert _same(_values(book, "arpa"), want)
    b = _pandas_book()
    paying = b[b.m1 > 0].groupby("period")
    assert _same((paying.m1.sum() / paying.size()).reindex(MONTHS).tolist(), want)


# -- customer churn ------------------------------------------------------------------------

CHURN = {
    ("start", "exclude"): [NAN, 1 / 6, 0, 1 / 6, 0, 0, 0],
    ("start", "count"): [NAN, 2 / 6, 0, 1 / 6, 0, 0, 0],
    # January: six customers join and stay, so the Stripe denominator is 6, not 0.
    ("start_plus_new", "exclude"): [0, 1 / 6, 0, 1 / 7, 0, 0, 0],
    ("start_plus_new", "count"): [0, 2 / 7, 0, 1 / 7, 0, 0, 0],
}


@pytest.mark.parametrize(("denominator", "same_period"), list(CHURN))
def test_customer_churn_rate_options(book: Workspace, denominator: str, same_period: str) -> None:
    options = {"denominator": denominator, "same_period": same_period}
    got = _values(book, "customer_churn_rate", options=options)
    want = CHURN[(denominator, same_period)]
    assert _same(got, want)
    assert _same(_pandas_churn(_pandas_book(), denominator, same_period), want)


def test_customer_churn_default_is_chartmogul(book: Workspace) -> None:
    assert _same(_values(book, "customer_churn_rate"), CHURN[("start", "exclude")])


def test_churn_by_segment(book: Workspace) -> None:
    frame = compute_metric(book, "customer_churn_rate", by="segment").frame
    april = frame[frame.period == "2024-04"].set_index("segment").value.to_dict()
    # Active at 1 April: consumers A, H; business B, C, F, I. H leaves at the boundary.
    assert april == {"consumer": 0.5, "business": 0.0}


# -- repeat purchases and CSAT -------------------------------------------------------------


@pytest.fixture
def shop(workspace: Workspace) -> Workspace:
    orders = [
        ("o1", "X", "2024-01-05 15:00", "completed", 100, 0),
        ("o2", "X", "2024-01-20 15:00", "completed", 50, 0),
        ("o3", "X", "2024-02-10 15:00", "completed", 30, 0),
        ("o4", "Y", "2024-02-01 04:30", "completed", 20, 0),  # 31 Jan in New York
        ("o5", "Y", "2024-02-15 15:00", "completed", 40, 0),
        ("o6", "Z", "2024-02-03 15:00", "cancelled", 99, 0),
        ("o7", "Z", "2024-03-04 15:00", "completed", 60, 0),
        ("o8", "W", "2024-01-10 15:00", "refunded", 80, 80),
        ("o9", "W", "2024-03-10 15:00", "completed", 70, 0),
        ("o10", "V", "2024-05-05 15:00", "completed", 10, 0),
    ]
    frame = pd.DataFrame(
        orders, columns=["order_id", "customer_id", "ordered_at", "status", "total", "refunded"]
    )
    frame["ordered_at"] = pd.to_datetime(frame["ordered_at"], utc=True)
    workspace.append("orders", frame, source="test")
    tickets = pd.DataFrame(
        {
            "ticket_id": ["t1", "t2", "t3", "t4", "t5"],
            "customer_id": ["X", "Y", "X", "W", "Z"],
            "opened_at": pd.to_datetime(
                [
                    "2024-01-05 15:00",
                    "2024-01-06 15:00",
                    "2024-02-01 04:30",  # 31 Jan in New York
                    "2024-01-07 15:00",
                    "2024-02-07 15:00",
                ],
                utc=True,
            ),
            "csat": [5.0, 3.0, 2.0, None, 4.0],
        }
    )
    workspace.append("tickets", tickets, source="test")
    return workspace


def test_repeat_purchase_rate(shop: Workspace) -> None:
    # Jan: X, Y, W all first-timers; Feb: X and Y return (Y's first order is January
    # in New York); Mar: W returns, Z's first sold order; Apr: nobody; May: V new.
    want = [0.0, 1.0, 0.5, NAN, 0.0]
    assert _same(_values(shop, "repeat_purchase_rate"), want)
    orders = shop.read("orders")
    sold = orders[orders.status != "cancelled"].copy()
    local = sold.ordered_at.dt.tz_convert(ZONE)
    sold["period"] = local.dt.strftime("%Y-%m")
    first = sold.groupby("customer_id").period.min()
    buyers = sold.drop_duplicates(["customer_id", "period"])
    buyers = buyers.assign(repeat=buyers.period > buyers.customer_id.map(first))
    rate = buyers.groupby("period").repeat.mean()
    assert _same(
        rate.reindex(["2024-01", "2024-02", "2024-03", "2024-04", "2024-05"]).tolist(), want
    )


def test_csat_mean_and_share(shop: Workspace) -> None:
    assert _same(_values(shop, "csat"), [10 / 3, 4.0])
    share = _values(shop, "csat", options={"measure": "share_satisfied"})
    assert _same(share, [1 / 3, 1.0])
    tickets = shop.read("tickets").dropna(subset=["csat"])
    period = tickets.opened_at.dt.tz_convert(ZONE).dt.strftime("%Y-%m")
    assert _same(tickets.groupby(period).csat.mean().tolist(), [10 / 3, 4.0])
    total = compute_metric(shop, "csat", grain="total").total()
    assert total == pytest.approx(14 / 4)


# -- the demo business ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    path: Path = tmp_path_factory.mktemp("demo") / "ws"
    ws = smbgrowth.init_workspace(path, currency="USD", time_zone=ZONE)
    generate_sample_business(ws, customers=2000, seed=1)
    try:
        yield ws
    finally:
        ws.close()


@pytest.mark.slow
def test_demo_business_is_sane(demo: Workspace) -> None:
    mrr = compute_metric(demo, "mrr").series()
    assert mrr.iloc[-1] > 0
    assert (mrr >= 0).all()
    moves = {k: compute_metric(demo, f"mrr_{k}").series().reindex(mrr.index) for k in MOVEMENTS}
    change = mrr.diff().fillna(mrr.iloc[0])
    flow = moves["new"] + moves["expansion"] + moves["reactivation"]
    flow = flow - moves["contraction"] - moves["churned"]
    pd.testing.assert_series_equal(change, flow.fillna(0), check_names=False, atol=1e-6)
    for denominator in ("start", "start_plus_new"):
        for same in ("exclude", "count"):
            opts = {"denominator": denominator, "same_period": same}
            churn = compute_metric(demo, "customer_churn_rate", options=opts).series().dropna()
            assert not churn.empty
            assert ((churn >= 0) & (churn <= 1)).all()
    grr = compute_metric(demo, "gross_revenue_retention").series().dropna()
    nrr = compute_metric(demo, "net_revenue_retention").series().dropna()
    assert ((grr >= 0) & (grr <= 1)).all()
    assert (nrr.reindex(grr.index) >= grr - 1e-12).all()
    arpa = compute_metric(demo, "arpa").series().dropna()
    assert (arpa > 0).all()
    by_plan = compute_metric(demo, "mrr", by="plan").frame.groupby("period").value.sum()
    pd.testing.assert_series_equal(by_plan, mrr, check_names=False, check_index_type=False)
    repeat = compute_metric(demo, "repeat_purchase_rate").series().dropna()
    assert ((repeat >= 0) & (repeat <= 1)).all()
    csat = compute_metric(demo, "csat").series().dropna()
    assert ((csat >= 1) & (csat <= 5)).all()
