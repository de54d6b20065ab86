"""The sample business: complete, reproducible, internally consistent and true to its parameters."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1

from smbgrowth import CANONICAL_TABLES, Workspace, init_workspace
from smbgrowth.data.sample import DEFAULT_END, SampleSummary, generate_sample_business
from smbgrowth.errors import ConfigError, WorkspaceError

# Tables the sample draws; fx_rates stays empty and customer_segments is derived later.
BUSINESS_TABLES = [n for n in CANONICAL_TABLES if n not in ("fx_rates", "customer_segments")]
WEEK_S = 7 * 86_400


def _generate(path: Path, **kwargs: Any) -> tuple[Workspace, SampleSummary]:
    ws = init_workspace(path)
    return ws, generate_sample_business(ws, **kwargs)


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, SampleSummary]]:
    """20,000 customers over three years: enough for the statistical checks."""
    ws, summary = _generate(tmp_path_factory.mktemp("big") / "ws", customers=20_000, seed=7)
    yield ws, summary
    ws.close()


@pytest.fixture(scope="module")
def ws(big: tuple[Workspace, SampleSummary]) -> Workspace:
    return big[0]


@pytest.fixture(scope="module")
def truth(ws: Workspace) -> dict[str, Any]:
    value = ws.sample_truth()
    assert value is not None
    return value


def _sql(ws: Workspace, query: str) -> pd.DataFrame:
    return ws.duck.execute(query).df()


def _monthly(ws: Workspace, table: str, column: str) -> pd.Series:
    counts = _sql(
        ws,
        f"SELECT date_trunc('month', {column}) AS month, count(*) AS n "
        f"FROM {table} GROUP BY 1 ORDER BY 1",
    )
    return pd.Series(counts["n"].to_numpy(), index=pd.DatetimeIndex(counts["month"]))


def _bgnbd_expected_repeats(
    t: np.ndarray, r: float, alpha: float, a: float, b: float
) -> np.ndarray:
    """E[X(t)] of the BG/NBD model, Fader, Hardie & Lee (2005), equation (9)."""
    z = t / (alpha + t)
    hyp = hyp2f1(r, b, a + b - 1.0, z)
    return (a + b - 1.0) / (a - 1.0) * (1.0 - (alpha / (alpha + t)) ** r * hyp)


# -- completeness and truth ----------------------------------------------------------------


def test_fills_every_business_table_except_fx_rates(big: tuple[Workspace, SampleSummary]) -> None:
    ws, summary = big
    for name in BUSINESS_TABLES:
        assert ws.row_count(name) > 0, name
        assert summary.rows[name] == ws.row_count(name), name
        sources = _sql(ws, f"SELECT DISTINCT source FROM {name}")["source"].tolist()
        assert sources == ["sample"], name
    assert ws.row_count("fx_rates") == 0
    assert summary.rows["customers"] == 20_000
    assert summary.end == DEFAULT_END
    assert summary.start == dt.date(2023, 11, 1)


def test_records_true_parameters(
    big: tuple[Workspace, SampleSummary], truth: dict[str, Any]
) -> None:
    _, summary = big
    assert dict(summary.truth) == truth
    assert truth["time_unit"] == "week"
    assert set(truth["bgnbd"]) >= {"r", "alpha", "a", "b", "time_unit"}
    assert truth["bgnbd"]["time_unit"] == "week"
    assert set(truth["gamma_gamma"]) >= {"p", "q", "gamma"}
    assert set(truth["sbg"]) >= {"alpha", "beta"}
    assert set(truth["marketing"]["cac"]) == {"google_ads", "facebook", "instagram"}
    assert truth["support"]["capacity_tickets_per_month"] > 0
    assert "delay_model" in truth["support"]
    assert truth["seed"] == 7
    assert truth["currency"] == "USD"
    assert 0 < truth["web"]["session_sample_rate"] <= 1


def test_timestamps_are_utc_and_inside_the_range(ws: Workspace, truth: dict[str, Any]) -> None:
    start = pd.Timestamp(truth["start"], tz="UTC")
    until = pd.Timestamp(truth["observed_until"])
    orders = ws.read("orders")
    assert str(orders["ordered_at"].dtype) in {"datetime64[us, UTC]", "datetime64[ns, UTC]"}
    for table, column in [
        ("orders", "ordered_at"),
        ("orders", "fulfilled_at"),
        ("customers", "created_at"),
        ("web_events", "occurred_at"),
        ("tickets", "resolved_at"),
        ("subscriptions", "ended_at"),
        ("invoices", "paid_at"),
        ("expenses", "incurred_at"),
    ]:
        low, high = _sql(ws, f"SELECT min({column}), max({column}) FROM {table}").iloc[0]
        assert low >= start and high < until, (table, column)


# -- determinism ---------------------------------------------------------------------------


def _tables(ws: Workspace) -> dict[str, pd.DataFrame]:
    return {name: ws.read(name).drop(columns=["imported_at"]) for name in CANONICAL_TABLES}


def test_same_seed_gives_identical_tables_and_another_seed_does_not(tmp_path: Path) -> None:
    first, _ = _generate(tmp_path / "a", customers=1500, seed=11)
    second, _ = _generate(tmp_path / "b", customers=1500, seed=11)
    other, _ = _generate(tmp_path / "c", customers=1500, seed=12)
    try:
        a, b, c = _tables(first), _tables(second), _tables(other)
        for name in CANONICAL_TABLES:
            pd.testing.assert_frame_equal(a[name], b[name], check_exact=True)
        assert first.sample_truth() == second.sample_truth()
        for name in ["customers", "orders", "order_lines", "web_events", "tickets", "invoices"]:
            assert not a[name].equals(c[name]), name
    finally:
        for w in (first, second, other):
            w.close()


# -- internal consistency ------------------------------------------------------------------


def test_order_totals_add_up(ws: Workspace) -> None:
    broken = _sql(
        ws,
        "SELECT count(*) FILTER (WHERE total <> subtotal - discount + shipping + tax) AS total, "
        "count(*) FILTER (WHERE total_original <> total) AS original, "
        "count(*) FILTER (WHERE refunded > total OR refunded < 0) AS refund, "
        "count(*) FILTER (WHERE status = 'refunded' AND refunded <> total) AS full_refund, "
        "count(*) FILTER (WHERE status = 'partially_refunded' "
        "                 AND NOT (refunded > 0 AND refunded < total)) AS partial_refund, "
        "count(*) FILTER (WHERE status = 'cancelled' AND cancelled_at IS NULL) AS cancelled "
        "FROM orders",
    ).iloc[0]
    assert broken.sum() == 0, broken.to_dict()
    shares = ws.read("orders")["status"].value_counts(normalize=True)
    assert 0.01 < shares["cancelled"] < 0.05
    assert 0.005 < shares["refunded"] < 0.03
    assert 0.01 < shares["partially_refunded"] < 0.05


def test_order_lines_sum_to_the_subtotal(ws: Workspace) -> None:
    mismatched = _sql(
        ws,
        "SELECT o.order_id FROM orders o JOIN order_lines l USING (order_id) "
        "GROUP BY o.order_id, o.subtotal HAVING sum(l.line_total) <> o.subtotal",
    )
    assert mismatched.empty
    lines = _sql(
        ws,
        "SELECT count(*) AS n, min(line_no) AS lo, max(line_no) AS hi "
        "FROM order_lines GROUP BY order_id",
    )
    assert len(lines) == ws.row_count("orders")
    assert (lines["lo"] == 1).all() and (lines["hi"] == lines["n"]).all()
    assert set(lines["n"]) == {1, 2, 3, 4}
    wrong = _sql(
        ws,
        "SELECT count(*) AS n FROM order_lines "
        "WHERE round(quantity * unit_price, 2) - discount <> line_total OR quantity <= 0",
    )
    assert wrong["n"].iloc[0] == 0


def test_customers_look_like_real_customers(ws: Workspace, truth: dict[str, Any]) -> None:
    customers = ws.read("customers")
    assert customers["customer_id"].str.fullmatch(r"C\d{6}").all()
    assert customers["email"].is_unique
    pattern = re.compile(r"[a-z]+\.[a-z]+\d+@example\.com")
    assert customers["email"].map(lambda e: bool(pattern.fullmatch(e))).all()
    assert set(customers["segment"]) == {"consumer", "business", "wholesale"}
    assert customers["country"].value_counts(normalize=True)["US"] > 0.8
    assert customers["country"].nunique() >= 5
    assert customers["time_zone"].notna().all()
    assert customers["company"].notna().sum() == (customers["segment"] != "consumer").sum()
    first_orders = _sql(
        ws,
        "SELECT count(*) AS n FROM customers c JOIN "
        "(SELECT customer_id, min(ordered_at) AS first FROM orders GROUP BY 1) o "
        "USING (customer_id) "
        "WHERE o.first <> c.created_at",
    )
    assert first_orders["n"].iloc[0] == 0
    b2b = customers["acquisition_channel"] == "sales"
    assert b2b.sum() == truth["b2b_accounts"]
    assert set(customers.loc[b2b, "segment"]) <= {"business", "wholesale"}


def test_marketing_expenses_equal_marketing_spend(ws: Workspace, truth: dict[str, Any]) -> None:
    assert truth["expenses"]["marketing_in_expenses"] is True
    diff = _sql(
        ws,
        "WITH e AS (SELECT date_trunc('month', incurred_at) AS m, sum(amount) AS a "
        "           FROM expenses WHERE category = 'marketing' GROUP BY 1), "
        "s AS (SELECT date_trunc('month', date) AS m, sum(spend) AS a "
        "      FROM marketing_spend GROUP BY 1) "
        "SELECT count(*) AS months, sum(abs(e.a - s.a)) AS gap FROM s JOIN e USING (m)",
    )
    assert diff["months"].iloc[0] == 36
    assert diff["gap"].iloc[0] == 0


def test_expenses_are_monthly_bills_that_grow(ws: Workspace) -> None:
    expenses = ws.read("expenses")
    assert {"rent", "payroll", "software", "cogs", "marketing", "shipping"} <= set(
        expenses["category"]
    )
    assert expenses.loc[
        expenses["category"].isin(["rent", "payroll", "software"]), "recurring"
    ].all()
    assert not expenses.loc[expenses["category"] == "cogs", "recurring"].any()
    payroll = expenses[expenses["category"] == "payroll"].sort_values("incurred_at")["amount"]
    assert payroll.iloc[-1] > payroll.iloc[0]
    assert (expenses["due_at"] >= expenses["incurred_at"]).all()
    assert (expenses["amount"] > 0).all()


# -- the growth story ---------------------------------------------------------------------


def test_new_customers_grow(ws: Workspace) -> None:
    new = _monthly(ws, "customers", "created_at")
    assert len(new) == 36
    assert new.iloc[-12:].sum() > 2 * new.iloc[:12].sum()


def test_orders_peak_in_q4_and_dip_in_summer(ws: Workspace) -> None:
    orders = _monthly(ws, "orders", "ordered_at")
    for year in (2024, 2025):
        in_year = orders[orders.index.year == year]
        q4 = in_year[in_year.index.month >= 10].mean()
        summer = in_year[in_year.index.month.isin([6, 7, 8])].mean()
        assert q4 > summer, year
    # Against the trend (a centred 12-month moving average), Q4 is above and summer below.
    trend = orders.rolling(13, center=True).apply(
        lambda w: (0.5 * w[0] + w[1:-1].sum() + 0.5 * w[-1]) / 12.0, raw=True
    )
    ratio = (orders / trend).dropna()
    assert ratio[ratio.index.month.isin([10, 11, 12])].mean() > 1.0
    assert ratio[ratio.index.month.isin([6, 7, 8])].mean() < 0.95


def test_support_slows_down_as_volume_grows(ws: Workspace) -> None:
    tickets = _sql(
        ws,
        "SELECT opened_at, epoch(resolved_at) - epoch(opened_at) AS resolve_s, "
        "epoch(first_response_at) - epoch(opened_at) AS respond_s, csat FROM tickets",
    )
    opened = tickets["opened_at"]
    first_half = opened < opened.min() + pd.DateOffset(months=6)
    last_half = opened >= opened.max() - pd.DateOffset(months=6)
    assert (
        tickets.loc[last_half, "resolve_s"].median()
        > 1.5 * tickets.loc[first_half, "resolve_s"].median()
    )
    assert (
        tickets.loc[last_half, "respond_s"].median() > tickets.loc[first_half, "respond_s"].median()
    )
    assert tickets.loc[last_half, "csat"].mean() < tickets.loc[first_half, "csat"].mean()
    assert tickets["csat"].dropna().between(1, 5).all()


def test_fulfilment_is_slower_when_volume_is_high(ws: Workspace) -> None:
    delay = _sql(
        ws,
        "SELECT date_trunc('month', ordered_at) AS m, "
        "median(epoch(fulfilled_at) - epoch(ordered_at)) / 3600 AS hours "
        "FROM orders WHERE fulfilled_at IS NOT NULL GROUP BY 1 ORDER BY 1",
    )
    assert delay["hours"].iloc[:6].median() < delay["hours"].iloc[-7:-1].median()
    assert delay["hours"].min() > 12


# -- true to the generative models --------------------------------------------------------


def test_repeat_purchases_match_the_bgnbd_expectation(ws: Workspace, truth: dict[str, Any]) -> None:
    """Mean repeat purchases equal the BG/NBD E[X(T)] averaged over each customer's own T.

    Every web customer i is observed from the first order to ``observed_until``,
    T_i weeks; under the model E[X_i] = E[X(T_i)] (Fader, Hardie & Lee 2005,
    eq. 9). By the central limit theorem the mean of X_i - E[X_i] over ~19,800
    independent customers is within 4 standard errors of 0 except with
    probability < 1e-4.
    """
    bg = truth["bgnbd"]
    counts = _sql(
        ws,
        "SELECT epoch(c.created_at) AS born, count(*) - 1 AS repeats "
        "FROM customers c JOIN orders o USING (customer_id) GROUP BY c.customer_id, born",
    )
    until = pd.Timestamp(truth["observed_until"]).timestamp()
    t = (until - counts["born"].to_numpy(dtype=float)) / WEEK_S
    expected = _bgnbd_expected_repeats(t, bg["r"], bg["alpha"], bg["a"], bg["b"])
    observed = counts["repeats"].to_numpy(dtype=float)
    standard_error = observed.std(ddof=1) / np.sqrt(len(observed))
    assert len(observed) == truth["web_customers"]
    assert abs(observed.mean() - expected.mean()) < 4 * standard_error
    assert 0.02 < standard_error < 0.06


def test_first_order_values_match_the_gamma_gamma_mean(
    ws: Workspace, truth: dict[str, Any]
) -> None:
    """A first subtotal is one Gamma-Gamma draw, mean p·γ/(q-1) (Fader, Hardie & Berger 2005)."""
    gg = truth["gamma_gamma"]
    first = _sql(
        ws,
        "SELECT arg_min(subtotal, ordered_at)::DOUBLE AS value FROM orders GROUP BY customer_id",
    )["value"].to_numpy()
    expected = gg["p"] * gg["gamma"] / (gg["q"] - 1.0)
    standard_error = first.std(ddof=1) / np.sqrt(len(first))
    assert abs(first.mean() - expected) < 4 * standard_error


def test_subscriptions_churn_at_first_renewal_as_sbg_says(
    ws: Workspace, truth: dict[str, Any]
) -> None:
    """P(churn at the first renewal) = E[θ] = alpha / (alpha + beta) (sBG, Fader & Hardie 2007)."""
    sbg = truth["sbg"]
    subs = _sql(
        ws,
        "SELECT started_at, ended_at, status FROM subscriptions "
        f"WHERE started_at + INTERVAL 1 MONTH < TIMESTAMPTZ '{truth['observed_until']}'",
    )
    one_month = subs["ended_at"] == subs["started_at"] + pd.DateOffset(months=1)
    p = sbg["alpha"] / (sbg["alpha"] + sbg["beta"])
    n = len(subs)
    assert n > 1000
    assert abs(one_month.mean() - p) < 4 * np.sqrt(p * (1 - p) / n)
    assert set(subs["status"]) == {"active", "canceled"}
    assert (subs["status"] == "canceled").eq(subs["ended_at"].notna()).all()


def test_paid_channel_spend_per_new_customer_is_the_true_cac(
    ws: Workspace, truth: dict[str, Any]
) -> None:
    cac = _sql(
        ws,
        "WITH s AS (SELECT channel, sum(spend)::DOUBLE AS spend FROM marketing_spend GROUP BY 1), "
        "c AS (SELECT acquisition_channel AS channel, count(*) AS n FROM customers GROUP BY 1) "
        "SELECT channel, spend / n AS cac FROM s JOIN c USING (channel)",
    ).set_index("channel")["cac"]
    for channel, true_cac in truth["marketing"]["cac"].items():
        assert abs(cac[channel] / true_cac - 1) < 0.15, channel
    spend = ws.read("marketing_spend")
    assert (spend["clicks"] <= spend["impressions"]).all()
    assert spend.groupby("channel")["campaign"].nunique().min() >= 2


# -- web, B2B ------------------------------------------------------------------------------


def test_web_funnel_narrows_and_is_bounded(ws: Workspace) -> None:
    steps = _sql(ws, "SELECT step, count(*) AS n FROM web_events GROUP BY 1").set_index("step")["n"]
    order = ["visit", "product_view", "add_to_cart", "checkout", "purchase"]
    assert all(steps[a] > steps[b] for a, b in itertools.pairwise(order))
    assert ws.row_count("web_events") <= 3 * ws.row_count("orders")
    purchases = _sql(
        ws,
        "SELECT count(*) AS n, count(customer_id) AS known FROM web_events WHERE step = 'purchase'",
    )
    assert purchases["n"].iloc[0] == purchases["known"].iloc[0]
    by_device = _sql(
        ws,
        "SELECT device, count(*) FILTER (WHERE step = 'purchase') "
        "/ count(*) FILTER (WHERE step = 'visit') AS conv FROM web_events GROUP BY 1",
    ).set_index("device")["conv"]
    assert by_device["desktop"] > by_device["mobile"]
    visits = _sql(
        ws,
        "SELECT count(DISTINCT session_id) AS s, "
        "count(*) FILTER (WHERE step = 'visit') AS v FROM web_events",
    )
    assert visits["s"].iloc[0] == visits["v"].iloc[0]


def test_invoices_are_net_30_with_late_and_unpaid_ones(ws: Workspace) -> None:
    invoices = ws.read("invoices")
    assert ((invoices["due_at"] - invoices["issued_at"]) == pd.Timedelta(days=30)).all()
    paid = invoices["paid_at"].notna()
    assert (invoices.loc[paid, "paid_at"] > invoices.loc[paid, "due_at"]).sum() > 5
    assert (~paid).sum() >= 2
    assert (invoices.loc[paid, "status"] == "paid").all()
    assert (invoices.loc[~paid, "status"] == "open").all()
    assert (invoices.loc[paid, "paid_amount"] == invoices.loc[paid, "amount"]).all()
    assert (invoices.loc[~paid, "paid_amount"] < invoices.loc[~paid, "amount"]).all()


def test_deals_move_through_the_pipeline(ws: Workspace) -> None:
    deals = ws.read("deals")
    assert set(deals["stage"]) <= {"lead", "qualified", "proposal", "won", "lost"}
    assert {"won", "lost"} <= set(deals["stage"])
    assert (deals.loc[deals["stage"] == "won", "won"] == True).all()  # noqa: E712
    assert (deals.loc[deals["stage"] == "lost", "won"] == False).all()  # noqa: E712
    assert deals.loc[~deals["stage"].isin(["won", "lost"]), "won"].isna().all()
    invoiced = set(ws.read("invoices")["customer_id"])
    assert invoiced <= set(deals.loc[deals["stage"] == "won", "customer_id"])


def test_products_and_processes(ws: Workspace) -> None:
    products = ws.read("products")
    assert 35 <= len(products) <= 45
    assert (products["price"] > products["unit_cost"]).all()
    assert {"coffee", "tea", "equipment", "accessories"} == set(products["category"])
    assert (products["stock_on_hand"] == 0).sum() >= 1
    processes = ws.read("processes")
    assert len(processes) == 8
    assert processes["error_rate"].between(0, 1).all()
    assert (processes["runs_per_month"] > 0).all()
    assert processes["touches_customers"].any() and not processes["touches_customers"].all()


# -- experiments ---------------------------------------------------------------------------

EXPERIMENT_IDS = ("checkout-redesign", "winback-email")


@pytest.fixture(scope="module")
def decisive(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Workspace, SampleSummary]]:
    """300,000 customers over one year: about 6,600 buying sessions in the checkout test.

    The standard error of log(conversion ratio) is about 2 / sqrt(buyers), ≈ 0.025,
    so a true ratio of 1.12 (log 0.113) is told from 1.0 by more than four of them.
    One year rather than three puts more of the growth curve's sessions in the
    test's last six weeks for the same number of customers.
    """
    path = tmp_path_factory.mktemp("decisive") / "ws"
    ws, summary = _generate(path, customers=300_000, years=1.0, seed=7)
    yield ws, summary
    ws.close()


def _experiment(ws: Workspace, experiment_id: str) -> pd.DataFrame:
    return _sql(ws, f"SELECT * FROM experiments WHERE experiment_id = '{experiment_id}'")


def test_experiments_hold_two_tests_with_their_truth(
    big: tuple[Workspace, SampleSummary], truth: dict[str, Any]
) -> None:
    ws, summary = big
    experiments = ws.read("experiments")
    assert len(experiments) == summary.rows["experiments"] > 0
    assert set(experiments["experiment_id"]) == set(EXPERIMENT_IDS)
    assert not experiments.duplicated(["experiment_id", "unit_id"]).any()
    assert experiments["covariate"].isna().all()
    want = {
        "checkout-redesign": (
            "session",
            ["control", "new-checkout"],
            "reached purchase step",
            0.12,
        ),
        "winback-email": ("customer", ["control", "email"], "orders within 30 days", 0.0),
    }
    assert set(truth["experiments"]) == set(EXPERIMENT_IDS)
    for experiment_id, (unit_type, variants, metric, lift) in want.items():
        rows = experiments[experiments["experiment_id"] == experiment_id]
        t = truth["experiments"][experiment_id]
        assert (t["unit_type"], t["variants"], t["metric"]) == (unit_type, variants, metric)
        assert t["control"] == variants[0] == "control"
        assert t["true_relative_lift"] == pytest.approx(lift)
        assert t["split"] == [0.5, 0.5]
        assert t["units"] == len(rows) > 500, experiment_id
        assert set(rows["unit_type"]) == {unit_type}
        assert set(rows["variant"]) == set(variants)


def test_checkout_units_are_the_last_six_weeks_sessions_at_their_first_event(
    ws: Workspace, truth: dict[str, Any]
) -> None:
    t = truth["experiments"]["checkout-redesign"]
    first_day = pd.Timestamp(t["first_day"], tz="UTC")
    assert first_day == pd.Timestamp(truth["end"], tz="UTC") - pd.Timedelta(days=41)
    sessions = _sql(
        ws, "SELECT session_id, min(occurred_at) AS first FROM web_events GROUP BY 1"
    ).set_index("session_id")["first"]
    units = _experiment(ws, "checkout-redesign").set_index("unit_id")["assigned_at"]
    assert units.index.isin(sessions.index).all()
    assert (units == sessions.loc[units.index]).all()
    in_window = sessions.index[sessions >= first_day]
    assert set(units.index) == set(in_window)


def test_winback_units_are_lapsed_customers_assigned_on_one_day(
    ws: Workspace, truth: dict[str, Any]
) -> None:
    t = truth["experiments"]["winback-email"]
    day = pd.Timestamp(t["assigned_on"], tz="UTC")
    assert day == pd.Timestamp(truth["end"], tz="UTC") - pd.Timedelta(days=60)
    units = _experiment(ws, "winback-email")
    assert units["unit_id"].isin(ws.read("customers")["customer_id"]).all()
    assert (units["assigned_at"] >= day).all()
    assert (units["assigned_at"] < day + pd.Timedelta(days=1)).all()
    assert units["assigned_at"].nunique() > len(units) // 2  # spread over the day
    orders = _sql(ws, "SELECT customer_id, ordered_at FROM orders")
    last = orders[orders["ordered_at"] < day].groupby("customer_id")["ordered_at"].max()
    lapsed = (day - last.dt.floor("D")).dt.days
    low, high = t["lapsed_days"]
    assert (low, high) == (90, 365)
    assert set(units["unit_id"]) == set(lapsed.index[lapsed.between(low, high)])


def _split_p_value(frame: pd.DataFrame) -> float:
    from scipy.stats import binomtest

    treated = int((frame["variant"] != "control").sum())
    return float(binomtest(treated, len(frame), 0.5).pvalue)


@pytest.mark.slow
@pytest.mark.parametrize("sample", ["big", "decisive"])
@pytest.mark.parametrize("experiment_id", EXPERIMENT_IDS)
def test_experiments_split_units_fifty_fifty(
    sample: str, experiment_id: str, request: pytest.FixtureRequest
) -> None:
    ws, _ = request.getfixturevalue(sample)
    units = _experiment(ws, experiment_id)
    assert _split_p_value(units) > 0.001, (sample, experiment_id)


@pytest.mark.slow
def test_checkout_redesign_converts_twelve_percent_more(
    decisive: tuple[Workspace, SampleSummary],
) -> None:
    ws, summary = decisive
    lift = summary.truth["experiments"]["checkout-redesign"]["true_relative_lift"]
    events = _sql(ws, "SELECT session_id, step FROM web_events")
    bought = set(events.loc[events["step"] == "purchase", "session_id"])
    units = _experiment(ws, "checkout-redesign")
    units["bought"] = units["unit_id"].isin(bought)
    by_variant = units.groupby("variant")["bought"].agg(["sum", "count"])
    buyers, n = by_variant["sum"], by_variant["count"]
    assert buyers.sum() > 5000
    conv = buyers / n
    ratio = conv["new-checkout"] / conv["control"]
    # delta method: var(log p̂) = (1 - p) / (n p) for each variant, independent
    se = float(np.sqrt(((1.0 - conv) / (n * conv)).sum()))
    assert se < 0.03
    assert np.log(1.0 + lift) / se > 4.0  # the sample tells 1.12 from 1.0
    assert abs(np.log(ratio) - np.log(1.0 + lift)) < 4.0 * se, (ratio, se)
    assert np.log(ratio) / se > 3.0  # and it does: no effect is rejected


@pytest.mark.slow
def test_winback_email_changes_nothing(decisive: tuple[Workspace, SampleSummary]) -> None:
    ws, summary = decisive
    t = summary.truth["experiments"]["winback-email"]
    units = _experiment(ws, "winback-email")[["unit_id", "variant", "assigned_at"]]
    orders = _sql(ws, "SELECT customer_id AS unit_id, ordered_at FROM orders")
    joined = units.merge(orders, on="unit_id", how="inner")
    within = (joined["ordered_at"] >= joined["assigned_at"]) & (
        joined["ordered_at"] < joined["assigned_at"] + pd.Timedelta(days=t["outcome_days"])
    )
    per_unit = joined[within].groupby("unit_id").size()
    units["orders"] = units["unit_id"].map(per_unit).fillna(0).astype(float)
    stats = units.groupby("variant")["orders"].agg(["mean", "var", "count"])
    assert stats["mean"].min() > 0.02 and stats["count"].min() > 10_000
    ratio = stats.loc["email", "mean"] / stats.loc["control", "mean"]
    se = float(np.sqrt((stats["var"] / (stats["count"] * stats["mean"] ** 2)).sum()))
    assert se < 0.05
    assert abs(np.log(ratio)) < 4.0 * se, (ratio, se)


# -- contract ------------------------------------------------------------------------------


def test_refuses_a_workspace_that_holds_data(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws")
    try:
        ws.append("products", pd.DataFrame({"sku": ["OWN-1"], "name": ["Our own"]}), "test")
        with pytest.raises(WorkspaceError, match="already holds data in products"):
            generate_sample_business(ws, customers=200)
        assert ws.row_count("customers") == 0
        assert ws.sample_truth() is None
    finally:
        ws.close()


def test_reports_progress_and_rejects_bad_arguments(tmp_path: Path) -> None:
    seen: list[tuple[str, float]] = []
    ws, summary = _generate(
        tmp_path / "ws",
        customers=300,
        years=1.5,
        end=dt.date(2025, 6, 30),
        progress=lambda stage, done: seen.append((stage, done)),
    )
    try:
        assert summary.end == dt.date(2025, 6, 30)
        assert (summary.end - summary.start).days + 1 == round(1.5 * 365.25)
        fractions = [done for _, done in seen]
        assert fractions == sorted(fractions) and fractions[-1] == 1.0
        assert {stage for stage, _ in seen} >= {"customers", "orders", "web_events", "done"}
        with pytest.raises(ConfigError):
            generate_sample_business(ws, customers=10)
    finally:
        ws.close()
    for i, bad in enumerate([{"customers": 10}, {"years": 0.2}, {"years": float("nan")}]):
        other = init_workspace(tmp_path / f"bad{i}")
        try:
            with pytest.raises(ConfigError):
                generate_sample_business(other, **bad)
        finally:
            other.close()
