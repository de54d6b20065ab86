"""The scorecard reads every headline metric the right way, and never invents one.

Each case builds a small workspace in which a metric's raw value rises (or falls)
month over month, and states by hand — not from the registry — which way is good
for the business. The scorecard's trend must say *improving* when the data move
the good way and *worsening* in the mirror case. Net burn is checked on both
sides of zero, since a shop that makes money has a negative burn.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import smbgrowth
from smbgrowth.cli.main import app
from smbgrowth.data.workspace import Workspace
from smbgrowth.metrics import METRICS, metric_needs
from smbgrowth.metrics.scorecard import HEADLINES, MetricCard, driver_scorecard

PERIOD = "2024-12"
MONTHS = 12
RISING = [10 + 2 * k for k in range(MONTHS)]  # 10 … 32
FALLING = RISING[::-1]


def _at(k: int, day: int = 15, hour: int = 12) -> pd.Timestamp:
    """Instant in month ``k`` of 2024 (k = 0 is January)."""
    return pd.Timestamp(2024, 1, day, hour, tz="UTC") + pd.DateOffset(months=k)


def _orders(rows: list[tuple[str, str | None, pd.Timestamp, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["order_id", "customer_id", "ordered_at", "total"])
    frame["status"] = "completed"
    return frame


Build = Callable[[Workspace, list[int]], None]


def _new_customers(ws: Workspace, xs: list[int]) -> None:
    rows = [(f"c{k}-{i}", _at(k)) for k, n in enumerate(xs) for i in range(n)]
    ws.append("customers", pd.DataFrame(rows, columns=["customer_id", "created_at"]), "test")


def _active_customers(ws: Workspace, xs: list[int]) -> None:
    rows = [(f"o{k}-{i}", f"c{i}", _at(k), 50.0) for k, n in enumerate(xs) for i in range(n)]
    ws.append("orders", _orders(rows), "test")


def _sessions(ws: Workspace, xs: list[int]) -> None:
    rows = [(f"e{k}-{i}", f"s{k}-{i}", _at(k), "visit") for k, n in enumerate(xs) for i in range(n)]
    frame = pd.DataFrame(rows, columns=["event_id", "session_id", "occurred_at", "step"])
    ws.append("web_events", frame, "test")


def _leads(ws: Workspace, xs: list[int]) -> None:
    rows = [(f"d{k}-{i}", _at(k)) for k, n in enumerate(xs) for i in range(n)]
    ws.append("deals", pd.DataFrame(rows, columns=["deal_id", "created_at"]), "test")


def _paid_customers(ws: Workspace, per_month: int) -> None:
    rows = [(f"c{k}-{i}", _at(k), "ads") for k in range(MONTHS) for i in range(per_month)]
    frame = pd.DataFrame(rows, columns=["customer_id", "created_at", "acquisition_channel"])
    ws.append("customers", frame, "test")


def _spend(ws: Workspace, amounts: list[float]) -> None:
    rows = [(_at(k).date(), "ads", "always-on", a) for k, a in enumerate(amounts)]
    frame = pd.DataFrame(rows, columns=["date", "channel", "campaign", "spend"])
    ws.append("marketing_spend", frame, "test")


def _cac(ws: Workspace, xs: list[int]) -> None:
    # Ten new customers a month through the paid channel; spend follows the level.
    _paid_customers(ws, 10)
    _spend(ws, [100.0 * x for x in xs])


def _roas(ws: Workspace, xs: list[int]) -> None:
    # Flat spend; each new customer's first order is worth the level.
    _paid_customers(ws, 10)
    _spend(ws, [1000.0] * MONTHS)
    rows = [
        (f"o{k}-{i}", f"c{k}-{i}", _at(k, hour=13), 10.0 * x)
        for k, x in enumerate(xs)
        for i in range(10)
    ]
    ws.append("orders", _orders(rows), "test")


def _funnel_conversion(ws: Workspace, xs: list[int]) -> None:
    rows = []
    for k, x in enumerate(xs):
        for i in range(100):
            rows.append((f"v{k}-{i}", f"s{k}-{i}", _at(k), "visit"))
            if i < x:
                rows.append((f"p{k}-{i}", f"s{k}-{i}", _at(k, hour=13), "purchase"))
    frame = pd.DataFrame(rows, columns=["event_id", "session_id", "occurred_at", "step"])
    ws.append("web_events", frame, "test")


def _win_rate(ws: Workspace, xs: list[int]) -> None:
    rows = [
        (f"d{k}-{i}", _at(k, day=1), _at(k), i < x) for k, x in enumerate(xs) for i in range(40)
    ]
    ws.append(
        "deals", pd.DataFrame(rows, columns=["deal_id", "created_at", "closed_at", "won"]), "test"
    )


def _ticket_hours(column: str) -> Build:
    def build(ws: Workspace, xs: list[int]) -> None:
        rows = []
        for k, x in enumerate(xs):
            for i in range(10):
                opened = _at(k, hour=1)
                rows.append((f"t{k}-{i}", opened, opened + pd.Timedelta(hours=x)))
        frame = pd.DataFrame(rows, columns=["ticket_id", "opened_at", column])
        ws.append("tickets", frame, "test")

    return build


def _tickets_per_100_orders(ws: Workspace, xs: list[int]) -> None:
    orders = [(f"o{k}-{i}", None, _at(k), 20.0) for k in range(MONTHS) for i in range(100)]
    ws.append("orders", _orders(orders), "test")
    tickets = [(f"t{k}-{i}", _at(k)) for k, x in enumerate(xs) for i in range(x)]
    ws.append("tickets", pd.DataFrame(tickets, columns=["ticket_id", "opened_at"]), "test")


def _fulfilment_days(ws: Workspace, xs: list[int]) -> None:
    rows = [(f"o{k}-{i}", None, _at(k, day=1), 20.0) for k in range(MONTHS) for i in range(5)]
    frame = _orders(rows)
    frame["fulfilled_at"] = [
        _at(k, day=1) + pd.Timedelta(hours=4 * xs[k]) for k in range(MONTHS) for _ in range(5)
    ]
    ws.append("orders", frame, "test")


def _subscriptions(ws: Workspace, ends: list[int], starts: list[int], pool: int = 100) -> None:
    """A pool of 100 subscribers at 100 a month from December 2023; in each month of 2024
    ``ends[k]`` of them leave on the 10th and ``starts[k]`` new ones join on the 20th."""
    active = [f"s-init-{i}" for i in range(pool)]
    started = {s: pd.Timestamp("2023-12-15 12:00", tz="UTC") for s in active}
    ended: dict[str, pd.Timestamp] = {}
    for k in range(MONTHS):
        for s in active[: ends[k]]:
            ended[s] = _at(k, day=10)
        active = active[ends[k] :]
        for i in range(starts[k]):
            sid = f"s{k}-{i}"
            started[sid] = _at(k, day=20)
            active.append(sid)
    frame = pd.DataFrame(
        {
            "subscription_id": list(started),
            "customer_id": [f"c-{s}" for s in started],
            "started_at": list(started.values()),
            "ended_at": [ended.get(s) for s in started],
            "mrr": 100.0,
            "status": ["canceled" if s in ended else "active" for s in started],
        }
    )
    frame["ended_at"] = pd.to_datetime(frame["ended_at"], utc=True)
    ws.append("subscriptions", frame, "test")


def _churn(ws: Workspace, xs: list[int]) -> None:
    _subscriptions(ws, ends=xs, starts=xs)


def _nrr(ws: Workspace, xs: list[int]) -> None:
    # Net revenue retention is 1 − the share of MRR lost: it rises as fewer leave.
    _subscriptions(ws, ends=[40 - x for x in xs], starts=[40 - x for x in xs])


def _mrr(ws: Workspace, xs: list[int]) -> None:
    up = xs[-1] > xs[0]
    _subscriptions(ws, ends=[0 if up else 5] * MONTHS, starts=[5 if up else 0] * MONTHS)


def _repeat_purchase_rate(ws: Workspace, xs: list[int]) -> None:
    # 40 buyers a month, ``x`` of them customers who first bought in June 2023.
    old = [
        (f"first-{i}", f"old-{i}", pd.Timestamp("2023-06-15", tz="UTC"), 30.0) for i in range(40)
    ]
    rows = list(old)
    for k, x in enumerate(xs):
        rows += [(f"o{k}-{i}", f"old-{i}", _at(k), 30.0) for i in range(x)]
        rows += [(f"n{k}-{i}", f"new{k}-{i}", _at(k), 30.0) for i in range(40 - x)]
    ws.append("orders", _orders(rows), "test")


def _revenue_net(ws: Workspace, xs: list[int]) -> None:
    rows = [(f"o{k}-{i}", f"c{i}", _at(k), 10.0 * x) for k, x in enumerate(xs) for i in range(3)]
    ws.append("orders", _orders(rows), "test")


def _aov(ws: Workspace, xs: list[int]) -> None:
    # Fewer orders when they are bigger: revenue stays flat-ish, the average moves.
    rows = [(f"o{k}-{i}", f"c{i}", _at(k), 5.0 * x) for k, x in enumerate(xs) for i in range(10)]
    ws.append("orders", _orders(rows), "test")


def _gross_margin(ws: Workspace, xs: list[int]) -> None:
    # One 100-dollar line a month whose cost is 100 − 2 × level (margin 2 × level %).
    ws.append("orders", _orders([(f"o{k}", "c1", _at(k), 100.0) for k in range(MONTHS)]), "test")
    lines = pd.DataFrame(
        {
            "order_id": [f"o{k}" for k in range(MONTHS)],
            "line_no": 1,
            "quantity": 1,
            "unit_price": 100.0,
            "line_total": 100.0,
            "unit_cost": [100.0 - 2 * x for x in xs],
        }
    )
    ws.append("order_lines", lines, "test")


def _expenses(ws: Workspace, amounts: list[float]) -> None:
    frame = pd.DataFrame(
        {
            "expense_id": [f"x{k}" for k in range(MONTHS)],
            "incurred_at": [_at(k, day=5) for k in range(MONTHS)],
            "amount": amounts,
        }
    )
    ws.append("expenses", frame, "test")


def _burn(ws: Workspace, xs: list[int]) -> None:
    # A loss-making shop: expenses 3 000 a month, revenue 100 × level.
    ws.append(
        "orders", _orders([(f"o{k}", "c1", _at(k), 100.0 * x) for k, x in enumerate(xs)]), "test"
    )
    _expenses(ws, [3000.0] * MONTHS)


#: metric → (builder whose data rise with the level, whether a rising *level* is good).
#: The level is not always the metric's value: for burn it is revenue (burn falls as
#: it rises); for NRR it is how many stay. The good way is stated here in business
#: terms, independently of the registry's ``higher_is_better``.
CASES: dict[str, tuple[Build, bool]] = {
    "new_customers": (_new_customers, True),
    "active_customers": (_active_customers, True),
    "sessions": (_sessions, True),
    "leads": (_leads, True),
    "cac": (_cac, False),  # spend per new customer rises: worse
    "roas": (_roas, True),
    "funnel_conversion": (_funnel_conversion, True),
    "win_rate": (_win_rate, True),
    "resolution_hours_median": (_ticket_hours("resolved_at"), False),
    "first_response_hours_median": (_ticket_hours("first_response_at"), False),
    "tickets_per_100_orders": (_tickets_per_100_orders, False),
    "fulfilment_days_median": (_fulfilment_days, False),
    "customer_churn_rate": (_churn, False),
    "repeat_purchase_rate": (_repeat_purchase_rate, True),
    "net_revenue_retention": (_nrr, True),
    "mrr": (_mrr, True),
    "revenue_net": (_revenue_net, True),
    "gross_margin": (_gross_margin, True),
    "aov": (_aov, True),
    "burn": (_burn, True),  # revenue rises against flat costs: burn falls, better
}

HEADLINE_IDS = [m for ids in HEADLINES.values() for m in ids]


def _card(ws: Workspace, metric_id: str) -> MetricCard:
    card = driver_scorecard(ws, period=PERIOD)
    found = [m for d in card.drivers for m in d.metrics if m.metric == metric_id]
    assert len(found) == 1, f"{metric_id} is not on the scorecard"
    return found[0]


@pytest.fixture
def make_ws(tmp_path: Path) -> Iterator[Callable[[str], Workspace]]:
    opened: list[Workspace] = []

    def make(name: str) -> Workspace:
        ws = smbgrowth.init_workspace(tmp_path / name, currency="USD")
        opened.append(ws)
        return ws

    yield make
    for ws in opened:
        ws.close()


def test_every_headline_metric_has_a_direction_case() -> None:
    assert sorted(CASES) == sorted(HEADLINE_IDS)


@pytest.mark.parametrize("metric_id", HEADLINE_IDS)
@pytest.mark.parametrize("rising", [True, False], ids=["level-rises", "level-falls"])
def test_scorecard_trend_follows_the_good_direction(
    make_ws: Callable[[str], Workspace], metric_id: str, rising: bool
) -> None:
    build, rising_is_good = CASES[metric_id]
    ws = make_ws("ws")
    build(ws, RISING if rising else FALLING)
    card = _card(ws, metric_id)
    assert card.available and card.needs is None
    expected = "improving" if rising == rising_is_good else "worsening"
    assert card.trend == expected, (metric_id, card)


@pytest.mark.parametrize(
    ("revenue_growth", "cost_growth", "expected"),
    [
        # A profitable shop (burn < 0) whose costs grow faster than its revenue.
        (0.01, 0.06, "worsening"),
        # The same shop with revenue outgrowing costs.
        (0.10, 0.02, "improving"),
        # The reported case: revenue falls, costs flat, the shop still in profit.
        (-0.04, 0.0, "worsening"),
    ],
)
def test_burn_of_a_profitable_shop_reads_the_right_way(
    make_ws: Callable[[str], Workspace], revenue_growth: float, cost_growth: float, expected: str
) -> None:
    ws = make_ws("ws")
    revenue = [2000.0 * (1 + revenue_growth) ** k for k in range(MONTHS)]
    ws.append(
        "orders", _orders([(f"o{k}", "c1", _at(k), r) for k, r in enumerate(revenue)]), "test"
    )
    _expenses(ws, [1000.0 * (1 + cost_growth) ** k for k in range(MONTHS)])
    card = _card(ws, "burn")
    assert card.value is not None and card.value < 0  # in profit: negative burn
    assert card.trend == expected
    # The change against the previous month has the sign of the move, even below 0.
    assert card.previous is not None and card.change_previous is not None
    assert (card.change_previous > 0) == (card.value > card.previous)


def test_burn_turning_from_profit_to_loss_is_worsening(
    make_ws: Callable[[str], Workspace],
) -> None:
    ws = make_ws("ws")
    ws.append("orders", _orders([(f"o{k}", "c1", _at(k), 1000.0) for k in range(MONTHS)]), "test")
    _expenses(ws, [700.0 + 60.0 * k for k in range(MONTHS)])  # −300 … +360
    assert _card(ws, "burn").trend == "worsening"


# -- availability ----------------------------------------------------------------------

#: What an orders-only shop is told to import, per headline metric it cannot compute.
ORDERS_ONLY_NEEDS = {
    "new_customers": "customers with created_at",
    "sessions": "web_events",
    "leads": "deals",
    "cac": "marketing_spend and customers with acquisition_channel",
    "roas": "marketing_spend and customers with acquisition_channel",
    "funnel_conversion": "web_events",
    "win_rate": "deals with closed_at",
    "resolution_hours_median": "tickets with resolved_at",
    "first_response_hours_median": "tickets with first_response_at",
    "tickets_per_100_orders": "tickets",
    "fulfilment_days_median": "orders with fulfilled_at",
    "customer_churn_rate": "subscriptions",
    "net_revenue_retention": "subscriptions",
    "mrr": "subscriptions",
    "gross_margin": "order_lines with unit_cost or products with unit_cost",
    "burn": "expenses",
}


@pytest.fixture
def orders_only(make_ws: Callable[[str], Workspace]) -> Workspace:
    ws = make_ws("orders-only")
    rows = [
        (f"o{k}-{i}", f"c{i}", _at(k), 100.0) for k in range(MONTHS) for i in range(20 - k)
    ]  # revenue falls every month
    ws.append("orders", _orders(rows), "test")
    return ws


def test_orders_only_shop_sees_not_available_with_what_to_import(orders_only: Workspace) -> None:
    card = driver_scorecard(orders_only, period=PERIOD)
    cards = {m.metric: m for d in card.drivers for m in d.metrics}
    assert set(cards) == set(HEADLINE_IDS)
    for metric_id, needs in ORDERS_ONLY_NEEDS.items():
        m = cards[metric_id]
        assert not m.available and m.needs == needs, metric_id
        assert m.not_available == f"not available: needs {needs}"
        assert (m.value, m.previous, m.last_year, m.trend) == (None, None, None, None)
        assert (m.change_previous, m.change_last_year) == (None, None)
    for metric_id in set(HEADLINE_IDS) - set(ORDERS_ONLY_NEEDS):
        assert cards[metric_id].available and cards[metric_id].value is not None, metric_id
    # Falling revenue on an orders-only shop is worsening, and burn says nothing.
    assert cards["revenue_net"].trend == "worsening"
    for d in card.drivers:
        if d.moved_most is not None:
            assert cards[d.moved_most].available
    sales = next(d for d in card.drivers if d.driver == "sales & marketing")
    assert sales.moved_most is None


def test_orders_only_scorecard_json_has_no_number_for_missing_metrics(
    orders_only: Workspace,
) -> None:
    path = str(orders_only.path)
    orders_only.close()
    result = CliRunner().invoke(
        app, ["scorecard", "--workspace", path, "--json", "--period", PERIOD]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    cards = {m["metric"]: m for d in data["drivers"] for m in d["metrics"]}
    for metric_id, needs in ORDERS_ONLY_NEEDS.items():
        m = cards[metric_id]
        assert m["available"] is False and m["needs"] == needs
        numbers = ("value", "previous", "last_year", "change_previous", "change_last_year")
        assert all(m[k] is None for k in numbers) and m["trend"] is None
    text = CliRunner().invoke(app, ["scorecard", "--workspace", path, "--period", PERIOD])
    assert text.exit_code == 0, text.output
    assert "not available: needs expenses" in text.output


def test_kpis_for_an_unavailable_metric_says_what_to_import(orders_only: Workspace) -> None:
    path = str(orders_only.path)
    orders_only.close()
    shown = CliRunner().invoke(app, ["kpis", "--workspace", path, "-m", "burn"])
    assert shown.exit_code == 0, shown.output
    assert "not available: needs expenses" in shown.output
    as_json = CliRunner().invoke(app, ["kpis", "--workspace", path, "-m", "cac", "--json"])
    data = json.loads(as_json.output)
    assert data["available"] is False and data["rows"] == []
    assert data["needs"] == "marketing_spend and customers with acquisition_channel"


@pytest.fixture(scope="module")
def empty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    with smbgrowth.init_workspace(tmp_path_factory.mktemp("empty") / "ws") as ws:
        yield ws


@pytest.mark.parametrize("metric_id", sorted(METRICS))
def test_every_metric_declares_what_it_needs(empty: Workspace, metric_id: str) -> None:
    metric = METRICS[metric_id]
    assert metric.needs, f"{metric_id} declares no inputs"
    # An empty workspace lacks every input, and says so in words.
    assert metric_needs(empty, metric_id)


def test_report_scorecard_shows_what_to_import(orders_only: Workspace) -> None:
    from smbgrowth.report.data import TableBlock, scorecard_section

    table = next(b for b in scorecard_section(orders_only).blocks if isinstance(b, TableBlock))
    rows = {row[1]: row for row in table.rows}
    assert rows["Net burn"][2:] == ["not available: needs expenses", "", "", ""]
    assert rows["Customer acquisition cost"][2].startswith("not available: needs marketing_spend")


@pytest.mark.anyio
async def test_dashboard_overview_shows_what_to_import(orders_only: Workspace) -> None:
    from smbgrowth.web.users import UserStore
    from tests.web.conftest import PASSWORDS, dashboard, log_in

    path = orders_only.path
    orders_only.close()
    users = UserStore(path)
    try:
        users.add("owner", PASSWORDS["owner"], "owner")
    finally:
        users.close()
    async with dashboard(path) as client:
        await log_in(client, "owner")
        page = await client.get("/")
        api = await client.get("/api/scorecard")
    assert "not available: needs expenses" in page.text
    burn = next(m for d in api.json()["drivers"] for m in d["metrics"] if m["metric"] == "burn")
    assert burn["available"] is False and burn["value"] is None and burn["needs"] == "expenses"


def test_runway_without_expenses_says_what_to_import(orders_only: Workspace) -> None:
    from decimal import Decimal

    from smbgrowth.errors import MetricError
    from smbgrowth.metrics.finance import cash_runway_months

    # Revenue alone would read as "not burning cash": an unlimited runway.
    with pytest.raises(MetricError, match="import expenses"):
        cash_runway_months(orders_only, Decimal(10_000), 3)


# -- the rest of the registry ----------------------------------------------------------
#
# Metrics off the scorecard are judged by the same rule on their monthly series, so
# that promoting one to a headline cannot bring a wrong direction with it.


def _orders_per_month(ws: Workspace, xs: list[int]) -> None:
    rows = [(f"o{k}-{i}", f"c{k}-{i}", _at(k), 40.0) for k, x in enumerate(xs) for i in range(x)]
    ws.append("orders", _orders(rows), "test")


def _csat(ws: Workspace, xs: list[int]) -> None:
    rows = [(f"t{k}-{i}", _at(k), x / 8) for k, x in enumerate(xs) for i in range(5)]
    ws.append("tickets", pd.DataFrame(rows, columns=["ticket_id", "opened_at", "csat"]), "test")


def _won_deals(days: bool) -> Build:
    def build(ws: Workspace, xs: list[int]) -> None:
        rows = []
        for k, x in enumerate(xs):
            closed = _at(k, day=28)
            created = closed - pd.Timedelta(days=x) if days else closed - pd.Timedelta(days=3)
            rows += [(f"d{k}-{i}", created, closed, True, 100.0 * x) for i in range(4)]
        columns = ["deal_id", "created_at", "closed_at", "won", "amount"]
        ws.append("deals", pd.DataFrame(rows, columns=columns), "test")

    return build


def _new_mrr(ws: Workspace, xs: list[int]) -> None:
    _subscriptions(ws, ends=[0] * MONTHS, starts=xs)


def _arpa(ws: Workspace, xs: list[int]) -> None:
    rows = [
        (f"s{k}-{i}", f"c{k}-{i}", _at(k, day=20), 10.0 * x)
        for k, x in enumerate(xs)
        for i in range(5)
    ]
    frame = pd.DataFrame(rows, columns=["subscription_id", "customer_id", "started_at", "mrr"])
    ws.append("subscriptions", frame, "test")


def _ticket_backlog(ws: Workspace, xs: list[int]) -> None:
    # ``x`` tickets opened mid-month and resolved early the next month: open at month end.
    rows = [(f"t{k}-{i}", _at(k), _at(k + 1, day=2)) for k, x in enumerate(xs) for i in range(x)]
    frame = pd.DataFrame(rows, columns=["ticket_id", "opened_at", "resolved_at"])
    ws.append("tickets", frame, "test")


def _invoices(ws: Workspace, xs: list[int]) -> None:
    # 40 invoices a month, issued on the 1st, due on the 10th; ``x`` are paid late, the
    # next month, the others on the 5th.
    rows = []
    for k, x in enumerate(xs):
        for i in range(40):
            paid = _at(k + 1, day=5) if i < x else _at(k, day=5)
            rows.append((f"i{k}-{i}", _at(k, day=1), _at(k, day=10), 1000.0, paid, 1000.0))
    columns = ["invoice_id", "issued_at", "due_at", "amount", "paid_at", "paid_amount"]
    ws.append("invoices", pd.DataFrame(rows, columns=columns), "test")


def _checkout_to_purchase(ws: Workspace, xs: list[int]) -> None:
    rows = []
    for k, x in enumerate(xs):
        for i in range(100):
            rows.append((f"c{k}-{i}", f"s{k}-{i}", _at(k), "checkout"))
            if i < x:
                rows.append((f"p{k}-{i}", f"s{k}-{i}", _at(k, hour=13), "purchase"))
    frame = pd.DataFrame(rows, columns=["event_id", "session_id", "occurred_at", "step"])
    ws.append("web_events", frame, "test")


def _revenue_growth(ws: Workspace, xs: list[int]) -> None:
    # Month-over-month growth of x % (and the year before at 10 % a month).
    revenue, rows = 1000.0, []
    for k in range(-12, MONTHS):
        revenue *= 1 + (xs[k] if k >= 0 else 10) / 100
        rows.append((f"o{k}", "c1", _at(k), revenue))
    ws.append("orders", _orders(rows), "test")


def _paid_shop(ws: Workspace, xs: list[int]) -> None:
    # Ten paid customers a month, each buying once for 100 at half margin; spend rises
    # with the level, so each customer costs more to win.
    _paid_customers(ws, 10)
    _spend(ws, [100.0 * x for x in xs])
    ids = [(k, f"c{k}-{i}") for k in range(MONTHS) for i in range(10)]
    ws.append("orders", _orders([(f"o-{c}", c, _at(k, hour=13), 100.0) for k, c in ids]), "test")
    lines = pd.DataFrame(
        {"order_id": [f"o-{c}" for _, c in ids], "line_no": 1, "quantity": 1}
        | {"unit_price": 100.0, "line_total": 100.0, "unit_cost": 50.0}
    )
    ws.append("order_lines", lines, "test")


def _stock_turning(ws: Workspace, xs: list[int]) -> None:
    # Stock on hand fixed; units sold (at cost 10) follow the level.
    products = pd.DataFrame({"sku": ["A"], "unit_cost": [10.0], "stock_on_hand": [500]})
    ws.append("products", products, "test")
    ws.append(
        "orders", _orders([(f"o{k}", "c1", _at(k), 20.0 * x) for k, x in enumerate(xs)]), "test"
    )
    lines = pd.DataFrame(
        {"order_id": [f"o{k}" for k in range(MONTHS)], "line_no": 1, "sku": "A"}
        | {"quantity": xs, "unit_price": 20.0, "line_total": [20.0 * x for x in xs]}
    )
    ws.append("order_lines", lines, "test")


def _expenses_level(ws: Workspace, xs: list[int]) -> None:
    _expenses(ws, [100.0 * x for x in xs])


def _spend_level(ws: Workspace, xs: list[int]) -> None:
    _spend(ws, [100.0 * x for x in xs])


#: metric → (builder, whether a rising level is good; None: neither way, no trend).
MORE_CASES: dict[str, tuple[Build, bool | None]] = {
    "revenue_gross": (_revenue_net, True),
    "orders": (_orders_per_month, True),
    "csat": (_csat, True),
    "first_response_hours_p90": (_ticket_hours("first_response_at"), False),
    "resolution_hours_p90": (_ticket_hours("resolved_at"), False),
    "sales_cycle_days": (_won_deals(days=True), False),
    "average_deal_size": (_won_deals(days=False), True),
    "deal_conversion": (_win_rate, True),
    "gross_revenue_retention": (_nrr, True),
    "mrr_churned": (_churn, False),
    "mrr_new": (_new_mrr, True),
    "arpa": (_arpa, True),
    "ticket_backlog": (_ticket_backlog, False),
    "invoices_paid_late_share": (_invoices, False),
    "dso": (_invoices, False),
    "funnel_step_conversion": (_checkout_to_purchase, True),
    "revenue_growth_mom": (_revenue_growth, True),
    "cac_payback_months": (_paid_shop, False),
    "ltv_to_cac": (_paid_shop, False),
    "inventory_turns": (_stock_turning, True),
    "days_of_inventory": (_stock_turning, True),  # more sold from the same stock: leaner
    "operating_expenses": (_expenses_level, None),
    "marketing_spend": (_spend_level, None),
}


@pytest.mark.parametrize("metric_id", sorted(MORE_CASES))
@pytest.mark.parametrize("rising", [True, False], ids=["level-rises", "level-falls"])
def test_trend_rule_reads_other_metrics_the_good_way(
    make_ws: Callable[[str], Workspace], metric_id: str, rising: bool
) -> None:
    from smbgrowth.metrics import compute_metric
    from smbgrowth.metrics.scorecard import _trend

    build, rising_is_good = MORE_CASES[metric_id]
    ws = make_ws("ws")
    build(ws, RISING if rising else FALLING)
    assert metric_needs(ws, metric_id) is None
    series = compute_metric(
        ws, metric_id, grain="month", start=_at(0, day=1).date(), end=_at(11, day=28).date()
    ).series()
    trend = _trend(series, METRICS[metric_id].higher_is_better)
    if rising_is_good is None:
        assert trend == "n/a"
    else:
        assert trend == ("improving" if rising == rising_is_good else "worsening"), series


#: Registry metrics without a constructed case here, and why.
NOT_CONSTRUCTED = {
    "revenue_share": "a share of the whole: neither way is better (no trend)",
    "revenue_cagr": "total grain only: never on the scorecard",
    "ar_overdue_amount": "total grain only: never on the scorecard",
    "revenue_growth_yoy": "needs two years of data; the same rule as revenue_growth_mom",
    "stage_conversion": "needs a deal-stage history",
    "mrr_expansion": "needs upgrades of one customer's subscriptions",
    "mrr_contraction": "needs downgrades of one customer's subscriptions",
    "mrr_reactivation": "needs returning subscribers",
}


def test_every_registry_metric_is_checked_or_says_why_not() -> None:
    covered = set(CASES) | set(MORE_CASES) | set(NOT_CONSTRUCTED)
    assert covered == set(METRICS)
    assert not (set(CASES) | set(MORE_CASES)) & set(NOT_CONSTRUCTED)
