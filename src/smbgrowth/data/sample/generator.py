"""Generate a whole sample business into an empty workspace, reproducibly."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from smbgrowth.data.duck import scalar
from smbgrowth.data.sample import (
    b2b,
    experiments,
    marketing,
    operations,
    orders,
    subscriptions,
    web,
)
from smbgrowth.data.sample.catalog import home_country, make_catalog, tax_rate
from smbgrowth.data.sample.customers import customers_frame, draw_customers
from smbgrowth.data.sample.params import SampleParameters
from smbgrowth.data.sample.timeline import (
    Timeline,
    acquisition_intensity,
    make_timeline,
    seasonal_weights,
)
from smbgrowth.data.schema import CANONICAL_TABLES
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import ConfigError, WorkspaceError

__all__ = ["DEFAULT_END", "SOURCE", "SampleSummary", "generate_sample_business"]

#: Last day of the sample data unless told otherwise (fixed, so the data are reproducible).
DEFAULT_END = dt.date(2026, 10, 31)
#: The ``source`` of every row the generator writes.
SOURCE = "sample"
_MIN_CUSTOMERS = 100
_YEARS = (1.0, 20.0)

Progress = Callable[[str, float], None]

# Share of the run each stage takes (for the progress bar), in the order they run;
# committing the transaction takes the rest.
_STAGES: tuple[tuple[str, float], ...] = (
    ("customers", 0.055),
    ("consent", 0.005),
    ("orders", 0.19),
    ("order_lines", 0.18),
    ("subscriptions", 0.01),
    ("marketing_spend", 0.01),
    ("web_events", 0.345),
    ("deals", 0.004),
    ("deal_stages", 0.001),
    ("invoices", 0.005),
    ("tickets", 0.015),
    ("expenses", 0.01),
    ("products", 0.005),
    ("processes", 0.005),
    ("experiments", 0.005),
)


@dataclass(frozen=True)
class SampleSummary:
    """What :func:`generate_sample_business` wrote.

    Attributes
    ----------
    rows
        Rows written per canonical table (``fx_rates`` stays empty).
    start, end
        First and last day of the data (both included).
    truth
        The true parameters, as recorded in the workspace's ``sample_truth``.
    """

    rows: Mapping[str, int]
    start: dt.date
    end: dt.date
    truth: Mapping[str, Any]


def _check_arguments(customers: int, years: float, end: dt.date | None) -> dt.date:
    if isinstance(customers, bool) or not isinstance(customers, int):
        raise ConfigError(f"customers must be a whole number, not {customers!r}")
    if customers < _MIN_CUSTOMERS:
        raise ConfigError(f"customers must be at least {_MIN_CUSTOMERS}, not {customers}")
    if not (math.isfinite(years) and _YEARS[0] <= years <= _YEARS[1]):
        raise ConfigError(f"years must be between {_YEARS[0]:g} and {_YEARS[1]:g}, not {years!r}")
    if end is None:
        return DEFAULT_END
    if isinstance(end, dt.datetime):
        return end.date()
    if not isinstance(end, dt.date):
        raise ConfigError(f"end must be a date such as 2026-10-31, not {end!r}")
    return end


def _check_empty(ws: Workspace) -> None:
    filled = [f"{name} ({n} rows)" for name in CANONICAL_TABLES if (n := ws.row_count(name))]
    if filled:
        raise WorkspaceError(
            f"workspace {ws.path} already holds data in {', '.join(filled)}; "
            "the sample business is generated into an empty workspace only, "
            "so create a new workspace for it"
        )


def _truth(
    params: SampleParameters,
    timeline: Timeline,
    *,
    seed: int,
    customers_n: int,
    years: float,
    currency: str,
    home: str,
    tax: float,
    b2b_accounts: int,
    session_sample_rate: float,
    support_capacity: int,
    experiment_truth: dict[str, Any],
) -> dict[str, Any]:
    acq = asdict(params.acquisition)
    acq["midpoint_years"] = params.acquisition.midpoint_share * timeline.days / 365.25
    conversion = web.conversion_rates(params.web)
    devices = tuple(params.web.device_share)
    rp = params.repeat_purchase
    gg = params.order_value
    observed_until = dt.datetime.combine(timeline.end, dt.time(), dt.UTC) + dt.timedelta(days=1)
    return {
        "generator": "smbgrowth.data.sample",
        "seed": seed,
        "customers": customers_n,
        "web_customers": customers_n - b2b_accounts,
        "b2b_accounts": b2b_accounts,
        "years": years,
        "start": timeline.start.isoformat(),
        "end": timeline.end.isoformat(),
        "observed_until": observed_until.isoformat(),
        "currency": currency,
        "home_country": home,
        "tax_rate": tax,
        "time_unit": rp.time_unit,
        "acquisition": acq,
        "bgnbd": {
            "r": rp.r,
            "alpha": rp.alpha,
            "a": rp.a,
            "b": rp.b,
            "time_unit": rp.time_unit,
            "birth": "customers.created_at (the first order) of web customers",
            "dropout": "after each repeat purchase, with probability p ~ Beta(a, b)",
            "purchase_rate": "lambda ~ Gamma(shape r, rate alpha) purchases per week",
            "repeat_purchases": "orders after the first, whatever their status",
        },
        "gamma_gamma": {
            "p": gg.p,
            "q": gg.q,
            "gamma": gg.gamma,
            "monetary_value": gg.monetary_value,
            "population_mean_order_value": gg.p * gg.gamma / (gg.q - 1.0),
        },
        "sbg": asdict(params.subscription_churn),
        "subscription_renewals_in_orders": False,
        "marketing": asdict(params.marketing),
        "orders": asdict(params.orders),
        "web": {
            **asdict(params.web),
            "session_sample_rate": session_sample_rate,
            "conversion_by_channel_device": {
                ch: {dev: float(conversion[i, j]) for j, dev in enumerate(devices)}
                for i, ch in enumerate(web.TRAFFIC_CHANNELS)
            },
        },
        "support": {
            **asdict(params.support),
            "capacity_tickets_per_month": support_capacity,
            "delay_model": (
                "mean hours = base hours / (1 - min(tickets opened that month / capacity, "
                "max_utilisation)); first response and resolution drawn Gamma(delay_shape)"
            ),
        },
        "b2b": asdict(params.b2b),
        "expenses": {
            **asdict(params.costs),
            "marketing_note": "category 'marketing' equals marketing_spend per channel and month",
        },
        "experiments": experiment_truth,
        "fx_rates": "empty: every amount is in the reporting currency",
    }


def _opening_cash(ws: Workspace, timeline: Timeline) -> dict[str, Any]:
    """The bank balance at the end of the data: about three months of operating expenses.

    The rule: every expense incurred in the last 91 days of the data, summed and
    rounded to the nearest 100 — a common cash buffer for a small retailer. It is
    read back from the stored expenses, so it takes no random draw and leaves
    every table as it was.
    """
    since = dt.datetime.combine(timeline.end - dt.timedelta(days=90), dt.time(), dt.UTC)
    total = scalar(ws.duck, "SELECT sum(amount) FROM expenses WHERE incurred_at >= ?", [since])
    amount = round(float(total or 0.0) / 100.0) * 100.0
    return {"amount": amount, "as_of": timeline.end.isoformat()}


def consent_frame(people: pd.DataFrame) -> pd.DataFrame:
    """Each customer's consent, stated when they became a customer."""
    stated = people[people["accepts_marketing"].notna()]
    return pd.DataFrame(
        {
            "customer_id": stated["customer_id"],
            "stated_at": stated["created_at"],
            "accepts_marketing": stated["accepts_marketing"],
        }
    )


def generate_sample_business(
    ws: Workspace,
    *,
    customers: int = 5000,
    years: float = 3.0,
    seed: int = 42,
    end: dt.date | None = None,
    progress: Progress | None = None,
) -> SampleSummary:
    """Fill an empty workspace with a reproducible online coffee & tea retailer.

    The business grows from start-up into growth along a logistic curve with
    yearly and weekly seasonality; web customers buy by the BG/NBD model
    (Fader, Hardie & Lee 2005) with Gamma-Gamma order values (Fader, Hardie &
    Lee 2005, "RFM and CLV"), subscribers churn by the shifted-beta-geometric model
    (Fader & Hardie 2007), paid channels cost their true CAC per customer,
    support slows down as volume outgrows a fixed team, and cafés and offices
    are won through a pipeline and invoiced net-30. Two A/B tests close the
    history: a checkout redesign randomised by web session, with a true 12 %
    relative lift in visit → purchase conversion, and a win-back e-mail to
    lapsed customers with no effect (see
    :mod:`smbgrowth.data.sample.experiments`). Every table but
    ``fx_rates`` is filled in one transaction with ``source="sample"``, and
    the true parameters are stored as the workspace's ``sample_truth``.

    Parameters
    ----------
    ws
        An open workspace with no rows in any canonical table.
    customers
        Rows of the ``customers`` table: web customers plus B2B accounts.
    years
        Length of the history, ending on ``end``.
    seed
        Seed of the one ``numpy.random.Generator`` all draws come from; the
        same seed and arguments give the same table contents.
    end
        Last day of the data; default :data:`DEFAULT_END` (2026-10-31).
    progress
        Called as ``progress(stage, fraction done)`` after each stage.

    Returns
    -------
    SampleSummary
        Rows written per table, the date range and the truth.

    Raises
    ------
    WorkspaceError
        If the workspace already holds business data.
    ConfigError
        If an argument is out of range.

    References
    ----------
    .. [1] Fader, Hardie & Lee (2005). "Counting Your Customers" the Easy Way.
       *Marketing Science* 24(2), 275–284.
    .. [2] Fader, Hardie & Lee (2005). RFM and CLV: Using Iso-Value Curves
       for Customer Base Analysis. *Journal of Marketing Research* 42(4).
    .. [3] Fader & Hardie (2007). How to Project Customer Retention. *Journal
       of Interactive Marketing* 21(1), 76–90.
    """
    last_day = _check_arguments(customers, years, end)
    _check_empty(ws)
    params = SampleParameters()
    rng = np.random.default_rng(seed)
    timeline = make_timeline(last_day, years)
    currency = ws.reporting_currency
    home = home_country(currency)
    tax = tax_rate(home)
    catalog = make_catalog()
    rows: dict[str, int] = {}
    done = 0.0
    stage_weight = dict(_STAGES)

    def write(table: str, frame: Any) -> None:
        nonlocal done
        rows[table] = ws.append(table, frame, SOURCE)
        done += stage_weight[table]
        if progress is not None:
            progress(table, min(done, 1.0))

    web_weights = acquisition_intensity(timeline, params.acquisition) * seasonal_weights(
        timeline, params.acquisition
    )
    with ws.transaction():
        base = draw_customers(rng, timeline, params, customers, web_weights, home)
        people = customers_frame(base)
        write("customers", people)
        write("consent", consent_frame(people))

        book = orders.draw_orders(
            rng,
            timeline,
            base,
            params.repeat_purchase,
            params.order_value,
            params.orders,
            home,
            tax,
        )
        write("orders", orders.orders_frame(book, base, currency))
        lines = orders.build_lines(rng, book.subtotal, catalog, params.orders)
        write("order_lines", orders.order_lines_frame(lines, catalog, len(book)))

        subs = subscriptions.draw_subscriptions(rng, timeline, base, params.subscription_churn)
        write(
            "subscriptions",
            subscriptions.subscriptions_frame(subs, base, params.subscription_churn, currency),
        )

        spend = marketing.draw_marketing_spend(
            rng, timeline, base, params.acquisition, params.marketing, web_weights
        )
        write("marketing_spend", marketing.marketing_spend_frame(spend, timeline))

        events = web.draw_web_events(rng, timeline, base, book, params.web)
        sample_rate = events.session_sample_rate
        frame = web.web_events_frame(events, base)
        # The experiments need only each session's start and whether it bought.
        sessions = web.session_outcomes(events)
        del events
        write("web_events", frame)
        del frame

        deals = b2b.draw_deals(rng, timeline, base, params.b2b)
        write("deals", b2b.deals_frame(deals, base, params.b2b))
        write("deal_stages", b2b.deal_stages_frame(deals))
        invoices = b2b.draw_invoices(rng, timeline, deals, params.b2b, tax)
        write("invoices", b2b.invoices_frame(invoices, base, currency))

        tickets = operations.draw_tickets(rng, timeline, book, params.support)
        write("tickets", operations.tickets_frame(tickets, base))
        write(
            "expenses",
            operations.expenses_frame(
                rng, timeline, book, lines, catalog, invoices, spend, params.costs, params.b2b
            ),
        )
        write("products", operations.products_frame(rng, timeline, book, lines, catalog))
        write("processes", operations.processes_frame(timeline, book, invoices, tickets, deals))

        # Last, so that the draws above (and every other table) stay as they were.
        tests = experiments.draw_experiments(
            rng, timeline, len(base), book, sessions, params.experiments
        )
        write("experiments", experiments.experiments_frame(tests, len(base), len(sessions)))

        truth = _truth(
            params,
            timeline,
            seed=seed,
            customers_n=customers,
            years=years,
            currency=currency,
            home=home,
            tax=tax,
            b2b_accounts=int(base.is_b2b.sum()),
            session_sample_rate=sample_rate,
            support_capacity=tickets.capacity_per_month,
            experiment_truth=experiments.experiments_truth(tests, params.experiments, timeline),
        )
        # Stored as JSON, so the summary hands back the same lists-and-dicts form.
        truth = json.loads(json.dumps(truth))
        ws.set_meta("sample_truth", truth)
        ws.set_meta("cash_balance", _opening_cash(ws, timeline))
    rows["fx_rates"] = 0
    if progress is not None:
        progress("done", 1.0)
    return SampleSummary(rows=rows, start=timeline.start, end=timeline.end, truth=truth)
