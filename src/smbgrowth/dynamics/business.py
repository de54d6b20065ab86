"""The stock-and-flow model of a small or medium business, built as plain data.

:func:`business_model` turns a :class:`BusinessParameters` (usually the output
of :mod:`smbgrowth.dynamics.calibration`) into a :class:`~smbgrowth.dynamics.model.Model`
that the generic engine runs; nothing here is special to the engine. Time is in
months. The structure, loop by loop:

Demand
    ``potential_market`` people who could become customers flow into
    ``leads`` through paid channels (planned spend ÷ CAC, with diminishing
    returns: ``(spend / reference spend) ** elasticity``), organic discovery and
    word of mouth (Bass imitation: ``wom_rate × customers × service quality``),
    each as new customers it brings divided by the conversion probability;
    all three shrink as the market is used up (``saturation`` = potential
    market ÷ market size) and follow the calendar ``seasonality``. Leads
    convert with ``conversion_probability`` after ``lead_time`` months; the
    rest return to the potential market.
Customers
    New customers split over the ``customers_<segment>`` stocks; a share also
    subscribes (``subscribers``). Customers buy at ``purchase_rate`` orders a
    month (plus the first order) with ``order_value`` per order; they churn at
    their base rate times ``churn_multiplier``, which rises as service quality
    falls (``1 + churn_quality_sensitivity × (1 − quality)``) and with prices.
Operations
    Orders and subscriptions bring work (tasks: tickets, handling), more when
    errors cause rework. Capacity is ``effective staff × productivity × (1 +
    automation capacity gain × automation level)``. Work the team cannot take
    on piles up in ``backlog`` and is worked off with spare capacity within
    ``catch_up_time``. ``utilisation`` (new work plus backlog, over capacity)
    sets the response time (``normal_response_time / (1 − utilisation)``, as
    in an M/M/1 queue, plus the backlog's wait) and, through
    ``quality_curve``, the indicated service quality, which customers perceive
    after ``quality_perception_time`` (``service_quality``). The team is kept
    at ``planned_staff`` (leavers are replaced) or, with
    ``hire_to_workload``, grown to the workload; positions take
    ``hiring_delay`` to fill (``recruits``) and new hires ramp up over
    ``ramp_up_time`` at reduced productivity (``new_staff``); staff leave at
    ``attrition_rate``.
Automation
    From ``automation_start``, ``automation_level`` rises towards 1 with time
    constant ``automation_ramp_time`` (a learning curve; 0 = at once). In
    proportion it adds capacity, removes errors, lifts lead conversion
    (``automation_conversion_lift``) and word of mouth
    (``automation_wom_lift``), removes a share of churn
    (``automation_churn_reduction``) and saves costs outside the modelled
    work (``automation_cost_saving``: hours and errors of back-office
    processes); it costs a one-off set-up spread over
    ``automation_setup_months`` and a monthly running cost.
Finance
    ``cash`` receives revenue and pays COGS, payroll, fixed costs, hiring,
    marketing and automation. When cash falls below ``cash_buffer_months`` of
    fixed costs, ``cash_factor`` cuts marketing spend and hiring in proportion.

Constraint switches: the constants ``relax_capacity_from``,
``relax_cash_from`` and ``relax_market_from`` (months; default never) remove
the capacity and cash limits from that month on and stop the market from
shrinking further. They do
nothing in a normal run; :mod:`smbgrowth.dynamics.explain` uses them to find
which limit binds when.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from smbgrowth.dynamics.model import Auxiliary, Constant, Flow, Lookup, Model, Stock
from smbgrowth.errors import SimulationError

__all__ = [
    "NEVER",
    "QUALITY_CURVE",
    "BusinessParameters",
    "Channel",
    "Segment",
    "business_model",
    "channel_key",
]

NEVER = 1.0e9
"""A month that never comes: the default start of scenario changes and relaxations."""

QUALITY_CURVE: tuple[tuple[float, float], ...] = (
    (0.0, 1.0),
    (0.8, 1.0),
    (0.9, 0.96),
    (1.0, 0.85),
    (1.1, 0.68),
    (1.25, 0.5),
    (1.5, 0.32),
    (2.0, 0.18),
    (3.0, 0.1),
)
"""Indicated service quality (1 = as good as it gets) by utilisation of capacity.

Flat up to 80 % utilisation, then falling as queues build (waiting times grow
like ``1 / (1 − utilisation)`` in a queue); at twice the capacity customers see
a fifth of normal quality.
"""


def channel_key(name: str) -> str:
    """Return the identifier used in variable names for a channel or segment name."""
    key = re.sub(r"[^0-9a-zA-Z]+", "_", name.strip().lower()).strip("_")
    if not key:
        raise SimulationError(f"name {name!r} has no letters or digits to build a variable name")
    return key if not key[0].isdigit() else f"n{key}"


@dataclass(frozen=True)
class Channel:
    """A paid acquisition channel.

    ``spend`` is the planned monthly spend; ``cac`` the cost of one new customer
    at that spend; ``elasticity`` how new customers respond to spend (1:
    proportional; below 1: diminishing returns).
    """

    spend: float
    cac: float
    elasticity: float = 0.7


@dataclass(frozen=True)
class Segment:
    """A customer segment: its share of new customers and how its customers behave."""

    share: float
    churn: float
    purchase_rate: float
    order_value: float
    initial: float = 0.0


@dataclass(frozen=True)
class BusinessParameters:
    """Every number of the business model (monthly rates, money in the workspace currency).

    The defaults describe a small online shop; calibration replaces them with
    estimates from the workspace and says which ones it could not estimate.
    """

    # demand
    market_size: float = 200_000.0
    customers_ever: float = 2000.0
    organic_customers: float = 120.0
    wom_rate: float = 0.006
    conversion_probability: float = 0.3
    lead_time: float = 0.5
    channels: Mapping[str, Channel] = field(
        default_factory=lambda: {"ads": Channel(spend=3000.0, cac=50.0)}
    )
    seasonality: Sequence[float] = (1.0,) * 12
    start_month: int = 1
    # customers
    segments: Mapping[str, Segment] = field(
        default_factory=lambda: {
            "customers": Segment(
                share=1.0, churn=0.08, purchase_rate=0.4, order_value=40.0, initial=2000.0
            )
        }
    )
    subscription_take_rate: float = 0.0
    subscription_churn: float = 0.05
    subscription_fee: float = 25.0
    initial_subscribers: float = 0.0
    churn_quality_sensitivity: float = 2.0
    price_elasticity: float = 0.8
    price_churn_elasticity: float = 1.0
    # operations
    tasks_per_order: float = 0.08
    tasks_per_subscriber: float = 0.08
    error_rate: float = 0.05
    productivity: float = 300.0
    new_staff_productivity: float = 0.5
    initial_staff: float = 2.0
    target_utilisation: float = 0.85
    normal_response_time: float = 0.05
    catch_up_time: float = 1.0
    quality_perception_time: float = 2.0
    hiring_delay: float = 2.0
    ramp_up_time: float = 3.0
    hiring_adjustment_time: float = 3.0
    attrition_rate: float = 0.02
    hire_to_workload: float = 1.0
    # finance
    initial_cash: float = 50_000.0
    cogs_share: float = 0.45
    fixed_costs: float = 8000.0
    other_revenue: float = 0.0
    salary: float = 4300.0
    cost_per_hire: float = 3000.0
    cash_buffer_months: float = 1.0
    # automation (no automation unless a scenario starts one)
    automation_start: float = NEVER
    automation_setup_cost: float = 0.0
    automation_setup_months: float = 1.0
    automation_monthly_cost: float = 0.0
    automation_capacity_gain: float = 0.0
    automation_error_reduction: float = 0.0
    automation_ramp_time: float = 3.0
    automation_conversion_lift: float = 0.0
    automation_churn_reduction: float = 0.0
    automation_wom_lift: float = 0.0
    automation_cost_saving: float = 0.0
    # scenario levers
    spend_change: float = 0.0
    spend_change_from: float = NEVER
    price_change: float = 0.0
    price_change_from: float = NEVER
    extra_staff: float = 0.0
    extra_staff_from: float = NEVER

    def with_values(self, **values: Any) -> BusinessParameters:
        """Return a copy with some fields replaced (unknown names are an error)."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise SimulationError(f"unknown business parameter {unknown[0]!r}")
        return replace(self, **values)

    def check(self) -> None:
        """Raise a one-line :class:`SimulationError` for impossible values."""
        positive = (
            "market_size",
            "lead_time",
            "productivity",
            "target_utilisation",
            "normal_response_time",
            "catch_up_time",
            "quality_perception_time",
            "hiring_delay",
            "ramp_up_time",
            "hiring_adjustment_time",
            "salary",
            "automation_setup_months",
        )
        for name in positive:
            if not getattr(self, name) > 0:
                raise SimulationError(f"{name} must be positive, got {getattr(self, name)}")
        shares = (
            "conversion_probability",
            "subscription_take_rate",
            "error_rate",
            "new_staff_productivity",
            "cogs_share",
            "automation_error_reduction",
            "automation_churn_reduction",
        )
        for name in shares:
            if not 0 <= getattr(self, name) <= 1:
                raise SimulationError(f"{name} must be between 0 and 1, got {getattr(self, name)}")
        if self.automation_ramp_time < 0:
            raise SimulationError(
                "automation_ramp_time must be 0 (at once) or positive, "
                f"got {self.automation_ramp_time}"
            )
        for name in ("automation_conversion_lift", "automation_wom_lift"):
            if not -1 <= getattr(self, name) <= 10:
                raise SimulationError(
                    f"{name} must be between -1 and 10, got {getattr(self, name)}"
                )
        if self.automation_cost_saving < 0:
            raise SimulationError(
                f"automation_cost_saving must be >= 0, got {self.automation_cost_saving}"
            )
        if self.conversion_probability == 0:
            raise SimulationError("conversion_probability must be above 0")
        if len(self.seasonality) != 12 or min(self.seasonality) < 0:
            raise SimulationError("seasonality needs 12 non-negative monthly factors")
        if not 1 <= self.start_month <= 12:
            raise SimulationError(f"start_month must be 1-12, got {self.start_month}")
        if not self.segments:
            raise SimulationError("the business needs at least one customer segment")
        total = sum(s.share for s in self.segments.values())
        if abs(total - 1) > 1e-6:
            raise SimulationError(f"segment shares must add up to 1, got {total:g}")
        for name, seg in self.segments.items():
            if min(seg.share, seg.churn, seg.purchase_rate, seg.order_value, seg.initial) < 0:
                raise SimulationError(f"segment {name!r} has a negative value")
        for name, ch in self.channels.items():
            if not (ch.spend >= 0 and ch.cac > 0 and 0 < ch.elasticity <= 1.5):
                raise SimulationError(
                    f"channel {name!r} needs spend >= 0, cac > 0 and 0 < elasticity <= 1.5"
                )
        keys = [channel_key(n) for n in [*self.channels, *self.segments]]
        if len(set(keys)) != len(keys):
            raise SimulationError("channel and segment names must differ after normalising")


def _season_lookup(p: BusinessParameters, months: int) -> Lookup:
    """Seasonal factor by model month, interpolated between mid-months."""
    xs = [k + 0.5 for k in range(-1, months + 2)]
    ys = [p.seasonality[(p.start_month - 1 + k) % 12] for k in range(-1, months + 2)]
    return Lookup(
        "seasonality_curve",
        xs,
        ys,
        "Demand relative to an average month, by model month (calendar seasonality).",
    )


def business_model(
    params: BusinessParameters,
    *,
    months: int,
    spend_history: Mapping[str, Sequence[float] | npt.NDArray[np.float64]] | None = None,
    name: str = "smb_growth",
) -> Model:
    """Build the business model for ``months`` months (see the module doc for its structure).

    Parameters
    ----------
    params
        The business's numbers.
    months
        Simulated horizon; the seasonality table covers it.
    spend_history
        Actual monthly spend per paid channel, replacing the planned spend (for
        the historical run compared with the actual history).
    """
    params.check()
    if months < 1:
        raise SimulationError(f"months must be at least 1, got {months}")
    p = params
    stocks: list[Stock] = []
    flows: list[Flow] = []
    aux: list[Auxiliary] = []
    lookups: list[Lookup] = [
        _season_lookup(p, months),
        Lookup(
            "quality_curve",
            [x for x, _ in QUALITY_CURVE],
            [y for _, y in QUALITY_CURVE],
            "Indicated service quality by utilisation.",
            x_unit="1",
            y_unit="1",
        ),
    ]
    c: list[Constant] = []

    def const(key: str, value: float, unit: str, doc: str) -> None:
        c.append(Constant(key, float(value), unit, doc))

    # ---- demand -------------------------------------------------------------
    const("market_size", p.market_size, "customers", "People who could ever become customers.")
    const(
        "organic_customers",
        p.organic_customers,
        "customers/month",
        "New customers a month who find the business on their own (full market, average season).",
    )
    const(
        "wom_rate",
        p.wom_rate,
        "1/month",
        "New customers one customer brings a month by word of mouth (full market, best service).",
    )
    const("conversion_probability", p.conversion_probability, "1", "Share of leads that buy.")
    const(
        "automation_conversion_lift",
        p.automation_conversion_lift,
        "1",
        "Scenario: relative rise of lead conversion at full automation (0.1: +10 %).",
    )
    const(
        "automation_wom_lift",
        p.automation_wom_lift,
        "1",
        "Scenario: relative rise of word of mouth at full automation (e.g. review requests).",
    )
    const("lead_time", p.lead_time, "month", "Time from lead to decision.")
    const("spend_change", p.spend_change, "1", "Scenario: relative change of paid spend.")
    const("spend_change_from", p.spend_change_from, "month", "Scenario: month the spend changes.")
    const("relax_market_from", NEVER, "month", "Analysis switch: the market stops shrinking then.")
    const(
        "customers_ever",
        p.customers_ever,
        "customers",
        "Customers acquired before the start (they have left the potential market).",
    )
    stocks.append(
        Stock(
            "potential_market",
            "max(market_size - customers_ever, 0)",
            "customers",
            "People in the market who are not leads or customers yet.",
        )
    )
    aux += [
        Auxiliary("seasonality", "seasonality_curve(time)", "1", "Seasonal demand factor."),
        Auxiliary(
            "conversion_share",
            "min(conversion_probability * (1 + automation_conversion_lift * automation_in_place),"
            " 1)",
            "1",
            "Share of leads that buy, after conversion automation.",
        ),
        Auxiliary(
            "saturation",
            "open_market / market_size",
            "1",
            "Share of the market still open.",
        ),
        Auxiliary(
            "spend_factor",
            "1 + spend_change * (time >= spend_change_from)",
            "1",
            "Planned paid spend relative to today.",
        ),
        Auxiliary("demand_pull", "saturation * seasonality", "1", "Saturation × seasonality."),
    ]
    spend_terms: list[str] = []
    for ch_name, ch in p.channels.items():
        k = channel_key(ch_name)
        const(f"spend_{k}", ch.spend, "money/month", f"Planned monthly spend on {ch_name}.")
        const(f"cac_{k}", ch.cac, "money/customers", f"Cost of a new customer from {ch_name}.")
        const(f"elasticity_{k}", ch.elasticity, "1", f"Response of {ch_name} to spend.")
        const(
            f"spend_change_{k}",
            0.0,
            "1",
            f"Scenario: relative change of spend on {ch_name} (on top of spend_change).",
        )
        if spend_history is not None and ch_name in spend_history:
            series = list(spend_history[ch_name])
            lookups.append(
                Lookup(
                    f"spend_history_{k}",
                    [m + 0.5 for m in range(len(series))],
                    [max(float(v), 0.0) for v in series],
                    f"Actual monthly spend on {ch_name}.",
                    x_unit="month",
                    y_unit="money/month",
                )
            )
            planned = f"spend_history_{k}(time)"
        else:
            planned = (
                f"spend_{k} * max(spend_factor + spend_change_{k} * (time >= spend_change_from), 0)"
            )
        aux.append(
            Auxiliary(f"planned_spend_{k}", planned, "money/month", f"Planned spend on {ch_name}.")
        )
        aux.append(
            Auxiliary(
                f"effective_spend_{k}",
                f"planned_spend_{k} * cash_factor",
                "money/month",
                f"Spend on {ch_name} after cash cuts.",
            )
        )
        flows.append(
            Flow(
                f"leads_from_{k}",
                "potential_market",
                "leads",
                f"spend_{k} / (cac_{k} * conversion_probability)"
                f" * (effective_spend_{k} / spend_{k}) ** elasticity_{k} * demand_pull"
                if ch.spend > 0
                else f"effective_spend_{k} / (cac_{k} * conversion_probability) * demand_pull",
                "customers/month",
                f"Leads bought on {ch_name}, with diminishing returns to spend.",
                non_negative=True,
            )
        )
        spend_terms.append(f"effective_spend_{k}")
    aux.append(
        Auxiliary(
            "marketing_spend",
            " + ".join(spend_terms) if spend_terms else "0",
            "money/month",
            "Paid marketing spend this month.",
        )
    )
    flows += [
        Flow(
            "leads_organic",
            "potential_market",
            "leads",
            "organic_customers / conversion_probability * demand_pull",
            "customers/month",
            "Leads who find the business on their own.",
            non_negative=True,
        ),
        Flow(
            "leads_word_of_mouth",
            "potential_market",
            "leads",
            "wom_rate * (1 + automation_wom_lift * automation_in_place) * customers"
            " * service_quality * demand_pull / conversion_probability",
            "customers/month",
            "Leads referred by customers, more when service is good (Bass imitation).",
            non_negative=True,
        ),
        Flow(
            "conversions",
            "leads",
            None,
            "leads * conversion_share / lead_time",
            "customers/month",
            "Leads who become customers.",
            non_negative=True,
        ),
        Flow(
            "lost_leads",
            "leads",
            "potential_market",
            "leads * (1 - conversion_share) / lead_time",
            "customers/month",
            "Leads who do not buy and return to the market.",
            non_negative=True,
        ),
    ]
    stocks.append(
        Stock(
            "open_market",
            "potential_market",
            "customers",
            "The potential market as it limits demand: follows potential_market, and stops "
            "shrinking from relax_market_from (to test whether market depletion binds).",
        )
    )
    draining = [f"leads_from_{channel_key(ch)}" for ch in p.channels]
    draining += ["leads_organic", "leads_word_of_mouth"]
    flows.append(
        Flow(
            "open_market_change",
            None,
            "open_market",
            f"(lost_leads - {' - '.join(draining)}) * (time < relax_market_from)",
            "customers/month",
            "The change of the potential market, until the market switch.",
        )
    )
    lead_flows = [f"leads_from_{channel_key(ch)}" for ch in p.channels]
    lead_flows += [
        "leads_organic",
        "wom_rate * customers * demand_pull / conversion_probability",
    ]
    stocks.append(
        Stock(
            "leads",
            f"({' + '.join(lead_flows)}) * lead_time",
            "customers",
            "Prospects deciding whether to buy (starts with the leads of one lead time).",
        )
    )

    # ---- customers ------------------------------------------------------------
    const(
        "churn_quality_sensitivity",
        p.churn_quality_sensitivity,
        "1",
        "Extra churn per unit of lost service quality (2: churn doubles at half quality).",
    )
    const(
        "automation_churn_reduction",
        p.automation_churn_reduction,
        "1",
        "Scenario: share of churn removed at full automation (retention e-mails, win-back).",
    )
    const("price_change", p.price_change, "1", "Scenario: relative price change.")
    const("price_change_from", p.price_change_from, "month", "Scenario: month prices change.")
    const("price_elasticity", p.price_elasticity, "1", "Fall in purchases per price rise.")
    const("price_churn_elasticity", p.price_churn_elasticity, "1", "Rise in churn per price rise.")
    const("first_orders", 1.0, "orders/customers", "Orders placed by a new customer at once.")
    aux += [
        Auxiliary(
            "price_factor",
            "1 + price_change * (time >= price_change_from)",
            "1",
            "Prices relative to today.",
        ),
        Auxiliary(
            "churn_multiplier",
            "(1 + churn_quality_sensitivity * (1 - service_quality))"
            " * price_factor ** price_churn_elasticity"
            " * (1 - automation_churn_reduction * automation_in_place)",
            "1",
            "Churn relative to its base rate: rises as service quality falls and prices rise,"
            " falls with retention automation.",
        ),
        Auxiliary(
            "purchase_factor",
            "seasonality * price_factor ** (0 - price_elasticity)",
            "1",
            "Purchase frequency relative to normal (season, prices).",
        ),
    ]
    customer_terms: list[str] = []
    order_terms: list[str] = []
    revenue_terms: list[str] = []
    for seg_name, seg in p.segments.items():
        k = channel_key(seg_name)
        const(f"share_{k}", seg.share, "1", f"Share of new customers in {seg_name}.")
        const(f"churn_{k}", seg.churn, "1/month", f"Base monthly churn of {seg_name}.")
        const(
            f"purchase_rate_{k}",
            seg.purchase_rate,
            "orders/(customers*month)",
            f"Repeat orders a month per {seg_name} customer.",
        )
        const(f"order_value_{k}", seg.order_value, "money/orders", f"Average {seg_name} order.")
        stocks.append(
            Stock(f"customers_{k}", seg.initial, "customers", f"Active {seg_name} customers.")
        )
        flows += [
            Flow(
                f"acquired_{k}",
                None,
                f"customers_{k}",
                f"conversions * share_{k}",
                "customers/month",
                f"New {seg_name} customers.",
                non_negative=True,
            ),
            Flow(
                f"churned_{k}",
                f"customers_{k}",
                None,
                f"customers_{k} * churn_{k} * churn_multiplier",
                "customers/month",
                f"{seg_name} customers lost.",
                non_negative=True,
            ),
        ]
        aux.append(
            Auxiliary(
                f"orders_{k}",
                f"customers_{k} * purchase_rate_{k} * purchase_factor"
                f" + acquired_{k} * first_orders",
                "orders/month",
                f"Orders from {seg_name} customers.",
            )
        )
        customer_terms.append(f"customers_{k}")
        order_terms.append(f"orders_{k}")
        revenue_terms.append(f"orders_{k} * order_value_{k}")
    const("subscription_take_rate", p.subscription_take_rate, "1", "New customers who subscribe.")
    const("subscription_churn", p.subscription_churn, "1/month", "Base monthly cancellation rate.")
    const(
        "subscription_fee",
        p.subscription_fee,
        "money/(customers*month)",
        "Monthly fee per subscriber.",
    )
    stocks.append(Stock("subscribers", p.initial_subscribers, "customers", "Active subscriptions."))
    flows += [
        Flow(
            "new_subscriptions",
            None,
            "subscribers",
            "conversions * subscription_take_rate",
            "customers/month",
            "New subscriptions.",
            non_negative=True,
        ),
        Flow(
            "cancellations",
            "subscribers",
            None,
            "subscribers * subscription_churn * churn_multiplier",
            "customers/month",
            "Subscriptions cancelled.",
            non_negative=True,
        ),
    ]
    aux += [
        Auxiliary("customers", " + ".join(customer_terms), "customers", "Active customers."),
        Auxiliary("orders", " + ".join(order_terms), "orders/month", "Orders a month."),
        Auxiliary(
            "order_revenue",
            f"({' + '.join(revenue_terms)}) * price_factor",
            "money/month",
            "Revenue from orders.",
        ),
        Auxiliary(
            "subscription_revenue",
            "subscribers * subscription_fee * price_factor",
            "money/month",
            "Revenue from subscriptions.",
        ),
        Auxiliary("revenue", "order_revenue + subscription_revenue", "money/month", "Net revenue."),
    ]

    # ---- operations -----------------------------------------------------------
    const(
        "tasks_per_order", p.tasks_per_order, "tasks/orders", "Work (tickets, handling) per order."
    )
    const(
        "tasks_per_subscriber",
        p.tasks_per_subscriber,
        "tasks/(customers*month)",
        "Work per subscriber a month.",
    )
    const("error_rate", p.error_rate, "1", "Share of work redone because of errors.")
    const(
        "productivity",
        p.productivity,
        "tasks/(staff*month)",
        "Tasks one trained person does a month.",
    )
    const("new_staff_productivity", p.new_staff_productivity, "1", "Productivity while ramping up.")
    const("target_utilisation", p.target_utilisation, "1", "Utilisation the hiring plan aims at.")
    const(
        "normal_response_time",
        p.normal_response_time,
        "month",
        "Time to finish a task when the team is not busy.",
    )
    const("catch_up_time", p.catch_up_time, "month", "Time to work off a backlog.")
    const(
        "quality_perception_time",
        p.quality_perception_time,
        "month",
        "Time for customers to notice a change in service.",
    )
    const("hiring_delay", p.hiring_delay, "month", "Time to fill a position.")
    const("ramp_up_time", p.ramp_up_time, "month", "Time for a new hire to be fully productive.")
    const("hiring_adjustment_time", p.hiring_adjustment_time, "month", "Time to act on a gap.")
    const("attrition_rate", p.attrition_rate, "1/month", "Share of staff leaving a month.")
    const("hire_to_workload", p.hire_to_workload, "1", "1: hire to the workload; 0: do not.")
    const("planned_staff", p.initial_staff, "staff", "Staff kept (leavers are replaced).")
    const("extra_staff", p.extra_staff, "staff", "Scenario: people hired on top of the plan.")
    const("extra_staff_from", p.extra_staff_from, "month", "Scenario: month of the extra hires.")
    const("relax_capacity_from", NEVER, "month", "Analysis switch: capacity never limits.")
    const("automation_start", p.automation_start, "month", "Scenario: month automation starts.")
    const(
        "automation_capacity_gain",
        p.automation_capacity_gain,
        "1",
        "Capacity added by full automation (0.25: +25 %).",
    )
    const(
        "automation_error_reduction",
        p.automation_error_reduction,
        "1",
        "Share of errors removed by full automation.",
    )
    const("automation_ramp_time", p.automation_ramp_time, "month", "Learning-curve time constant.")
    aux += [
        Auxiliary(
            "automation_active", "time >= automation_start", "1", "1 once automation has started."
        ),
        Auxiliary(
            "automation_in_place",
            "if_then_else(automation_ramp_time > 0, automation_level, automation_active)",
            "1",
            "Share of the automation's effect in place (at once when the ramp time is 0).",
        ),
        Auxiliary(
            "effective_error_rate",
            "error_rate * (1 - automation_error_reduction * automation_in_place)",
            "1",
            "Errors after automation.",
        ),
        Auxiliary(
            "incoming_work",
            "(orders * tasks_per_order + subscribers * tasks_per_subscriber)"
            " * (1 + effective_error_rate)",
            "tasks/month",
            "New work a month, including rework of errors.",
        ),
        Auxiliary("staff", "experienced_staff + new_staff", "staff", "People doing the work."),
        Auxiliary(
            "automation_multiplier",
            "1 + automation_capacity_gain * automation_in_place",
            "1",
            "Capacity gained from automation.",
        ),
        Auxiliary(
            "capacity",
            "(experienced_staff + new_staff * new_staff_productivity) * productivity"
            " * automation_multiplier",
            "tasks/month",
            "Tasks the team can do a month.",
        ),
        Auxiliary(
            "spare_capacity",
            "max(capacity - incoming_work, 0)",
            "tasks/month",
            "Capacity left after the new work.",
        ),
        Auxiliary(
            "utilisation",
            "(incoming_work + backlog / catch_up_time) / max(capacity, 0.000001)",
            "1",
            "Work wanted (new work and the backlog) relative to capacity.",
        ),
        Auxiliary(
            "response_time",
            "normal_response_time / (1 - min(utilisation, 0.95))"
            " + backlog / max(capacity, 0.000001)",
            "month",
            "Average time to finish a task: queueing (as in an M/M/1 queue) plus the backlog.",
        ),
        Auxiliary(
            "work_done",
            "min(incoming_work, capacity) + catching_up",
            "tasks/month",
            "Work finished a month.",
        ),
        Auxiliary(
            "indicated_quality",
            "if_then_else(time >= relax_capacity_from, 1, quality_curve(utilisation))",
            "1",
            "Service quality the current load allows.",
        ),
        Auxiliary(
            "desired_staff",
            "max(planned_staff, hire_to_workload * incoming_work"
            " / (productivity * automation_multiplier * target_utilisation))"
            " + extra_staff * (time >= extra_staff_from)",
            "staff",
            "Staff the workload (and the hiring plan) calls for.",
        ),
        Auxiliary(
            "staff_gap",
            "desired_staff + attrition * hiring_delay - experienced_staff - new_staff - recruits",
            "staff",
            "People still to hire (the pipeline covers the leavers expected while hiring).",
        ),
    ]
    stocks += [
        Stock("backlog", 0.0, "tasks", "Work beyond capacity, waiting to be done."),
        Stock(
            "service_quality",
            "indicated_quality",
            "1",
            "Service quality as customers perceive it (1 = best).",
        ),
        Stock("recruits", 0.0, "staff", "Positions being filled."),
        Stock("new_staff", 0.0, "staff", "Hires still ramping up."),
        Stock("experienced_staff", p.initial_staff, "staff", "Fully productive staff."),
        Stock("automation_level", 0.0, "1", "How far automation has been adopted (0-1)."),
    ]
    flows += [
        Flow(
            "overflow",
            None,
            "backlog",
            "max(incoming_work - capacity, 0)",
            "tasks/month",
            "New work the team cannot take on this month.",
            non_negative=True,
        ),
        Flow(
            "catching_up",
            "backlog",
            None,
            "min(backlog / catch_up_time, spare_capacity)",
            "tasks/month",
            "Backlog worked off with spare capacity.",
            non_negative=True,
        ),
        Flow(
            "quality_change",
            None,
            "service_quality",
            "(indicated_quality - service_quality) / quality_perception_time",
            "1/month",
            "Customers' perception catching up with the service they get.",
        ),
        Flow(
            "hiring",
            None,
            "recruits",
            "max(attrition + staff_gap / hiring_adjustment_time, 0) * cash_factor",
            "staff/month",
            "Positions opened: leavers replaced and the gap closed (cut when cash is short).",
            non_negative=True,
        ),
        Flow(
            "arrivals",
            "recruits",
            "new_staff",
            "recruits / hiring_delay",
            "staff/month",
            "New hires starting.",
            non_negative=True,
        ),
        Flow(
            "ramping_up",
            "new_staff",
            "experienced_staff",
            "new_staff / ramp_up_time",
            "staff/month",
            "New hires becoming fully productive.",
            non_negative=True,
        ),
        Flow(
            "attrition",
            "experienced_staff",
            None,
            "experienced_staff * attrition_rate",
            "staff/month",
            "Staff leaving.",
            non_negative=True,
        ),
        Flow(
            "automation_adoption",
            None,
            "automation_level",
            "if_then_else(automation_ramp_time > 0,"
            " automation_active * (1 - automation_level) / max(automation_ramp_time, 0.000001),"
            " 0)",
            "1/month",
            "Automation being adopted (learning curve).",
            non_negative=True,
        ),
    ]

    # ---- finance --------------------------------------------------------------
    const("cogs_share", p.cogs_share, "1", "Cost of goods sold per unit of revenue.")
    const("fixed_costs", p.fixed_costs, "money/month", "Rent, software, other payroll a month.")
    const(
        "other_revenue",
        p.other_revenue,
        "money/month",
        "Recurring revenue outside orders and subscriptions (e.g. invoiced accounts).",
    )
    const("salary", p.salary, "money/(staff*month)", "Monthly cost of one person.")
    const("cost_per_hire", p.cost_per_hire, "money/staff", "Recruiting cost of one hire.")
    const(
        "cash_buffer_months",
        p.cash_buffer_months,
        "month",
        "Months of fixed costs kept in cash before spend and hiring are cut.",
    )
    const("relax_cash_from", NEVER, "month", "Analysis switch: cash never limits.")
    const("automation_setup_cost", p.automation_setup_cost, "money", "Scenario: set-up cost.")
    const(
        "automation_setup_months", p.automation_setup_months, "month", "Months the set-up is paid."
    )
    const("automation_monthly_cost", p.automation_monthly_cost, "money/month", "Running cost.")
    const(
        "automation_cost_saving",
        p.automation_cost_saving,
        "money/month",
        "Scenario: costs saved at full automation outside the modelled work (hours, errors).",
    )
    stocks.append(Stock("cash", p.initial_cash, "money", "Money in the bank.", non_negative=False))
    aux += [
        Auxiliary("payroll", "staff * salary", "money/month", "Cost of the staff."),
        Auxiliary("cogs", "total_revenue * cogs_share", "money/month", "Cost of goods sold."),
        Auxiliary(
            "fixed_spending", "fixed_costs + payroll", "money/month", "Costs that do not scale."
        ),
        Auxiliary(
            "automation_cost",
            "automation_active * (automation_monthly_cost + (time < automation_start"
            " + automation_setup_months) * automation_setup_cost / automation_setup_months)"
            " - automation_cost_saving * automation_in_place",
            "money/month",
            "Automation set-up and running cost, less what it saves outside the modelled work.",
        ),
        Auxiliary(
            "costs",
            "cogs + fixed_spending + arrivals * cost_per_hire + marketing_spend + automation_cost",
            "money/month",
            "All costs paid a month.",
        ),
        Auxiliary(
            "cash_factor",
            "if_then_else(time >= relax_cash_from, 1,"
            " min(1, max(0, cash / max(cash_buffer_months * fixed_spending, 1))))",
            "1",
            "Share of planned marketing and hiring the cash allows (1 = no cut).",
        ),
        Auxiliary(
            "total_revenue", "revenue + other_revenue", "money/month", "All revenue a month."
        ),
        Auxiliary("profit", "total_revenue - costs", "money/month", "Cash flow."),
    ]
    flows += [
        Flow("cash_in", None, "cash", "total_revenue", "money/month", "Money collected."),
        Flow("cash_out", "cash", None, "costs", "money/month", "Costs paid."),
    ]
    return Model(
        name=name,
        doc="A small or medium business: demand, customers, operations, automation and cash.",
        stocks=stocks,
        flows=flows,
        auxiliaries=aux,
        constants=c,
        lookups=lookups,
        time_unit="month",
    )
