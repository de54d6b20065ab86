"""Operations metrics against hand-computed values and independent pandas computations."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from smbgrowth.data.workspace import Workspace
from smbgrowth.metrics import compute_metric
from tests.metrics.test_finance import ORDERS, ZONE, build_shop, utc, values

# t1 answered after 2 h, solved after 24 h; t2 after 4 h / 744 h (solved in February);
# t3 opened 2024-01-31 22:00 New York (February in UTC), answered after 10 h, still open;
# t4 in March: never answered, solved after 24 h.
TICKETS = pd.DataFrame(
    {
        "ticket_id": ["t1", "t2", "t3", "t4"],
        "customer_id": ["c1", "c2", "c1", "c2"],
        "opened_at": [
            utc("2024-01-02 14:00"),
            utc("2024-01-10 14:00"),
            utc("2024-02-01 03:00"),
            utc("2024-03-05 12:00"),
        ],
        "first_response_at": [
            utc("2024-01-02 16:00"),
            utc("2024-01-10 18:00"),
            utc("2024-02-01 13:00"),
            None,
        ],
        "resolved_at": [
            utc("2024-01-03 14:00"),
            utc("2024-02-10 14:00"),
            None,
            utc("2024-03-06 12:00"),
        ],
    }
)


@pytest.fixture
def ops(tmp_path: Path) -> Any:
    ws = build_shop(tmp_path / "ops")
    ws.append("tickets", TICKETS, source="test")
    yield ws
    ws.close()


def pandas_hours(column: str, q: float) -> pd.Series:
    t = TICKETS.dropna(subset=[column]).copy()
    t["h"] = (t[column] - t.opened_at).dt.total_seconds() / 3600
    t["m"] = t.opened_at.dt.tz_convert(ZONE).dt.strftime("%Y-%m")
    return t.groupby("m")["h"].quantile(q)


@pytest.mark.parametrize(
    ("metric", "column", "q", "january"),
    [
        ("first_response_hours_median", "first_response_at", 0.5, 4.0),
        ("first_response_hours_p90", "first_response_at", 0.9, 8.8),
        ("resolution_hours_median", "resolved_at", 0.5, 384.0),
        ("resolution_hours_p90", "resolved_at", 0.9, 672.0),
    ],
)
def test_ticket_times(ops: Workspace, metric: str, column: str, q: float, january: float) -> None:
    got = values(ops, metric)
    assert got["2024-01"] == pytest.approx(january)
    assert got.get("2024-02") is None  # no ticket opened: no value
    for month, value in pandas_hours(column, q).items():
        assert got[month] == pytest.approx(value)
    total = values(ops, metric, grain="total")["total"]
    t = TICKETS.dropna(subset=[column])
    expected = ((t[column] - t.opened_at).dt.total_seconds() / 3600).quantile(q)
    assert total == pytest.approx(expected)


def test_ticket_times_by_segment(ops: Workspace) -> None:
    got = values(ops, "first_response_hours_median", by="segment")
    assert got[("2024-01", "smb")] == pytest.approx(6.0)
    assert got[("2024-01", "ent")] == pytest.approx(4.0)


def test_ticket_backlog(ops: Workspace) -> None:
    # End of January: t2 and t3 open; end of February: t3; on 6 March (last data day): t3.
    assert values(ops, "ticket_backlog") == {"2024-01": 2, "2024-02": 1, "2024-03": 1}
    assert values(ops, "ticket_backlog", grain="total") == {"total": 1}
    assert values(ops, "ticket_backlog", grain="total", end=date(2024, 2, 5)) == {"total": 2}
    by = values(ops, "ticket_backlog", by="segment")
    assert by[("2024-01", "smb")] == 1
    assert by[("2024-01", "ent")] == 1
    assert by[("2024-02", "ent")] == 0
    window = values(ops, "ticket_backlog", start=date(2024, 2, 1), end=date(2024, 4, 30))
    assert window == {"2024-02": 1, "2024-03": 1, "2024-04": 1}


def test_tickets_per_100_orders(ops: Workspace) -> None:
    got = values(ops, "tickets_per_100_orders")
    assert got["2024-01"] == pytest.approx(150.0)  # 3 tickets, 2 orders
    assert got["2024-02"] == 0.0  # an order, no ticket
    assert got["2024-03"] is None  # a ticket, no order
    assert values(ops, "tickets_per_100_orders", grain="total")["total"] == pytest.approx(100.0)


def test_fulfilment_days_median(ops: Workspace) -> None:
    got = values(ops, "fulfilment_days_median")
    assert got["2024-01"] == pytest.approx(1.75)  # 2 days and 1.5 days
    assert got["2024-02"] is None  # the only sold order was never shipped
    assert got["2024-04"] == pytest.approx(3.0)
    o = ORDERS[ORDERS.status != "cancelled"].dropna(subset=["fulfilled_at"])
    expected = ((o.fulfilled_at - o.ordered_at).dt.total_seconds() / 86400).median()
    assert values(ops, "fulfilment_days_median", grain="total")["total"] == pytest.approx(expected)


def test_inventory_turns_and_days(ops: Workspace) -> None:
    # Stock at cost: A 10 × 10 + B 4 × 5 (C has negative stock and no cost) = 120.
    # COGS: Jan 25 (A 2 × 10, B 1 × product cost 5), Feb 10 (refunded order still sold),
    # Apr 60. Data days: 10 Jan .. 5 Apr -> Jan 22 days, Feb 29, Apr 5, 87 in all.
    turns = values(ops, "inventory_turns")
    assert turns["2024-01"] == pytest.approx(25 / 120)
    assert turns["2024-03"] is None
    yearly = values(ops, "inventory_turns", options={"annualise": "yes"})
    assert yearly["2024-01"] == pytest.approx(25 / 120 * 365 / 22)
    assert values(ops, "inventory_turns", grain="total")["total"] == pytest.approx(95 / 120)
    doi = values(ops, "days_of_inventory")
    assert doi["2024-01"] == pytest.approx(120 / (25 / 22))
    assert doi["2024-02"] == pytest.approx(120 / (10 / 29))
    assert doi["2024-04"] == pytest.approx(120 / (60 / 5))
    assert values(ops, "days_of_inventory", grain="total")["total"] == pytest.approx(
        120 / (95 / 87)
    )
    window = values(ops, "days_of_inventory", start=date(2024, 1, 1), end=date(2024, 1, 31))
    assert window == pytest.approx({"2024-01": 120 / (25 / 31)})


def test_operations_metrics_run_on_an_empty_workspace(tmp_path: Path) -> None:
    import smbgrowth

    ws = smbgrowth.init_workspace(tmp_path / "empty", currency="USD", time_zone=ZONE)
    try:
        for metric in ("ticket_backlog", "days_of_inventory", "tickets_per_100_orders"):
            assert compute_metric(ws, metric).frame.empty
    finally:
        ws.close()
