"""Ready-made models: Bass diffusion and Forrester's market-growth model.

Both are built from the plain data classes of :mod:`smbgrowth.dynamics.model`
and checked against trajectories from an independent engine (see
``tests/dynamics/test_conformance.py``). Variable names are readable; the
``*_REFERENCE_COLUMNS`` mappings give the reference models' names.

References
----------
Bass, F. M. (1969). A new product growth for model consumer durables.
Management Science 15(5), 215-227.

Forrester, J. W. (1968). Market growth as influenced by capital investment.
Industrial Management Review 9(2), 83-105.
"""

from __future__ import annotations

from dataclasses import replace

from smbgrowth.dynamics.delays import material_delay3
from smbgrowth.dynamics.model import Auxiliary, Constant, Flow, Lookup, Model, Stock
from smbgrowth.errors import SimulationError

__all__ = [
    "BASS_REFERENCE_COLUMNS",
    "MARKET_GROWTH_REFERENCE_COLUMNS",
    "MARKET_GROWTH_SCENARIOS",
    "bass_diffusion",
    "market_growth",
]

BASS_REFERENCE_COLUMNS = {
    "Potential Users": "potential_users",
    "Users": "users",
    "Adoption": "adoption",
    "F": "adopted_fraction",
}
"""Reference column name -> variable of :func:`bass_diffusion`."""

MARKET_GROWTH_REFERENCE_COLUMNS = {
    "Salesmen S1": "salesmen",
    "Backlog BL7": "backlog",
    "Production Capacity PC27": "production_capacity",
    "Production Capacity On Order PCOO26": "production_capacity_on_order",
    "Delivery Rate Average DRA11": "delivery_rate_average",
    "Delivery Delay Recognized by Company DDRC13": "delivery_delay_recognized_by_company",
    "Delivery Delay Recognized by Market DDRM14": "delivery_delay_recognized_by_market",
    "Delivery Delay Taditional DDT19": "delivery_delay_traditional",
    "Orders Booked OB3": "orders_booked",
    "Delivery Rate DR10": "delivery_rate",
}
"""Reference column name (spelled as in the reference CSV) -> variable of :func:`market_growth`."""

MARKET_GROWTH_SCENARIOS: dict[str, dict[str, float]] = {
    "F": {"salesmen_loop_switch": 1.0, "capacity_loop_switch": 1.0},
}
"""Loop switches (SW1, SW3) per scenario; scenario F has all loops on."""


def bass_diffusion(
    *,
    market_size: float = 5_000_000,
    innovation: float = 0.05,
    imitation: float = 0.5,
) -> Model:
    """Return the Bass diffusion model: potential users become users by innovation and imitation.

    Time unit: month. Defaults are the reference case (N = 5,000,000, p = 0.05,
    q = 0.5). Closed form of the adopted fraction:
    F(t) = (1 - e^{-(p+q)t}) / (1 + (q/p) e^{-(p+q)t}).
    """
    return Model(
        name="bass_diffusion",
        doc="Bass (1969) diffusion of a new product through a fixed market.",
        time_unit="month",
        stocks=[
            Stock("potential_users", "market_size", "people", "People who have not adopted yet."),
            Stock("users", 0.0, "people", "People who have adopted."),
        ],
        flows=[
            Flow(
                "adoption",
                "potential_users",
                "users",
                "innovation + imitation",
                "people/month",
                "Adoption from advertising plus word of mouth.",
                non_negative=True,
            ),
        ],
        auxiliaries=[
            Auxiliary(
                "innovation",
                "innovation_coefficient * potential_users",
                "people/month",
                "Adoption driven by outside influence (advertising).",
            ),
            Auxiliary(
                "imitation",
                "imitation_coefficient * potential_users * users / (users + potential_users)",
                "people/month",
                "Adoption driven by contact with users (word of mouth).",
            ),
            Auxiliary(
                "adopted_fraction",
                "users / market_size",
                "1",
                "Share of the market that has adopted (F).",
            ),
        ],
        constants=[
            Constant("market_size", market_size, "people", "Total market N."),
            Constant("innovation_coefficient", innovation, "1/month", "Coefficient p."),
            Constant("imitation_coefficient", imitation, "1/month", "Coefficient q."),
        ],
    )


def market_growth(scenario: str = "F") -> Model:
    """Return Forrester's (1968) market-growth model of a small company's growth.

    Salesmen bring orders, the backlog grows, the delivery delay rises, the
    market sours and the company under-invests in capacity. Time unit: month.
    The loop switches ``salesmen_loop_switch`` (SW1) and
    ``capacity_loop_switch`` (SW3) are constants, so they can be overridden per
    run. The market loop (SW2) is always on: with it off, sales effectiveness
    would follow two constants the reference does not give.

    The production capacity on order is the content of the third-order
    capacity-receiving delay (three explicit stocks, see
    :func:`~smbgrowth.dynamics.delays.material_delay3`), so it is an auxiliary
    summing the stages rather than a fourth stock.
    """
    if scenario not in MARKET_GROWTH_SCENARIOS:
        raise SimulationError(
            f"unknown market-growth scenario {scenario!r}; "
            f"scenarios: {', '.join(MARKET_GROWTH_SCENARIOS)}"
        )
    switches = MARKET_GROWTH_SCENARIOS[scenario]
    delay_stocks, delay_flows = material_delay3(
        "capacity_receiving",
        "capacity_ordering",
        "capacity_receiving_delay",
        target="production_capacity",
        unit="units/month/month",
        doc="PCR25: capacity arriving, DELAY3 of capacity ordering.",
    )
    # The stages hold capacity (units/month); their flows are units/month/month.
    delay_stocks = [replace(stock, unit="units/month") for stock in delay_stocks]

    def smoothed(
        stock: str, input: str, time: str, unit: str, doc: str, initial: str | None = None
    ) -> tuple[Stock, Flow]:
        """First-order exponential average of ``input`` over ``time``."""
        return (
            Stock(stock, initial or input, unit, doc=doc),
            Flow(f"{stock}_change", None, stock, f"({input} - {stock}) / {time}", f"{unit}/month"),
        )

    averages = [
        smoothed(
            "delivery_rate_average",
            "delivery_rate",
            "delivery_rate_averaging_time",
            "units/month",
            "DRA11: delivery rate averaged over DRAT.",
        ),
        smoothed(
            "delivery_delay_recognized_by_company",
            "delivery_delay_indicated",
            "company_recognition_time",
            "month",
            "DDRC13: delivery delay as the company sees it.",
        ),
        # The market and tradition average what the company recognises (as in the
        # reference trajectories), both starting at the indicated delay.
        smoothed(
            "delivery_delay_recognized_by_market",
            "delivery_delay_recognized_by_company",
            "market_recognition_time",
            "month",
            "DDRM14: delivery delay as the market sees it.",
            initial="delivery_delay_indicated",
        ),
        smoothed(
            "delivery_delay_traditional",
            "delivery_delay_recognized_by_company",
            "tradition_time",
            "month",
            "DDT19: the delivery delay the company is used to.",
            initial="delivery_delay_indicated",
        ),
    ]

    return Model(
        name=f"market_growth_{scenario}",
        doc=f"Forrester (1968) market growth, scenario {scenario}.",
        time_unit="month",
        stocks=[
            Stock("salesmen", 10.0, "people", "S1: sales force."),
            Stock("backlog", 8000.0, "units", "BL7: orders not yet delivered."),
            Stock(
                "production_capacity",
                "initial_production_capacity",
                "units/month",
                "PC27: units the company can deliver per month.",
            ),
            *(stock for stock, _ in averages),
            *delay_stocks,
        ],
        flows=[
            Flow(
                "salesmen_hiring",
                None,
                "salesmen",
                "(indicated_salesmen - salesmen) / salesmen_adjustment_time",
                "people/month",
                "SH6: net hiring towards the budgeted sales force.",
            ),
            Flow(
                "orders_booked",
                None,
                "backlog",
                "salesmen_effective * sales_effectiveness",
                "units/month",
                "OB3: orders the sales force books.",
            ),
            Flow(
                "delivery_rate",
                "backlog",
                None,
                "production_capacity * production_capacity_fraction",
                "units/month",
                "DR10: deliveries out of the backlog.",
            ),
            *(flow for _, flow in averages),
            *delay_flows,
        ],
        auxiliaries=[
            Auxiliary("budget", "delivery_rate_average * revenue_to_sales", "dollars/month", "B4."),
            Auxiliary("indicated_salesmen", "budget / salesman_salary", "people", "IS5."),
            Auxiliary(
                "salesmen_effective",
                "if_then_else(salesmen_loop_switch == 0, 60, salesmen)",
                "people",
                "SSW2: fixed 60 salesmen when the salesmen loop is off.",
            ),
            Auxiliary(
                "sales_effectiveness_from_delay",
                "sales_effectiveness_table(delivery_delay_recognized_by_market)",
                "1",
                "SEDM15: how the recognised delivery delay lowers sales.",
            ),
            Auxiliary(
                "sales_effectiveness_multiplier",
                "sales_effectiveness_from_delay",
                "1",
                "SEDS (the market loop is always on).",
            ),
            Auxiliary(
                "sales_effectiveness",
                "sales_effectiveness_multiplier * sales_effectiveness_maximum",
                "units/(people*month)",
                "SE18.",
            ),
            Auxiliary(
                "production_capacity_fraction",
                "capacity_utilisation_table(backlog / production_capacity)",
                "1",
                "PCF9.",
            ),
            Auxiliary(
                "delivery_delay_indicated", "backlog / delivery_rate_average", "month", "DDI12."
            ),
            Auxiliary(
                "delivery_delay_operating_goal",
                "delivery_delay_traditional * delivery_delay_weight"
                " + delivery_delay_management_goal * (1 - delivery_delay_weight)",
                "month",
                "DDOG20.",
            ),
            Auxiliary(
                "delivery_delay_condition",
                "delivery_delay_recognized_by_company / delivery_delay_operating_goal"
                " - delivery_delay_bias",
                "1",
                "DDC21.",
            ),
            Auxiliary(
                "capacity_expansion_fraction",
                "capacity_expansion_table(delivery_delay_condition)",
                "1/month",
                "CEF.",
            ),
            Auxiliary(
                "capacity_ordering",
                "production_capacity * if_then_else(capacity_loop_switch == 0, 0, "
                "capacity_expansion_fraction)",
                "units/month/month",
                "PCO24: capacity ordered (negative: orders cancelled).",
            ),
            Auxiliary(
                "production_capacity_on_order",
                " + ".join(s.name for s in delay_stocks),
                "units/month",
                "PCOO26: capacity ordered, not yet received (sum of the delay stages).",
            ),
        ],
        constants=[
            Constant("salesmen_adjustment_time", 20.0, "month", "SAT."),
            Constant("salesman_salary", 2000.0, "dollars/(people*month)", "SS."),
            Constant("revenue_to_sales", 12.0, "dollars/units", "RS."),
            Constant("sales_effectiveness_maximum", 400.0, "units/(people*month)", "SEM."),
            Constant("delivery_rate_averaging_time", 1.0, "month", "DRAT."),
            Constant("company_recognition_time", 4.0, "month", "TDDRC."),
            Constant("market_recognition_time", 6.0, "month", "TDDRM."),
            Constant("tradition_time", 12.0, "month", "TDDT."),
            Constant("capacity_receiving_delay", 12.0, "month", "PCRD."),
            Constant("initial_production_capacity", 12000.0, "units/month", "PCI."),
            Constant("delivery_delay_management_goal", 2.0, "month", "DDMG."),
            Constant("delivery_delay_weight", 0.0, "1", "DDW."),
            Constant("delivery_delay_bias", 0.3, "1", "DDB."),
            *(Constant(name, value, "1", "Loop switch.") for name, value in switches.items()),
        ],
        lookups=[
            Lookup(
                "sales_effectiveness_table",
                [float(x) for x in range(11)],
                [1, 0.97, 0.87, 0.73, 0.53, 0.38, 0.25, 0.15, 0.08, 0.03, 0.02],
                "SEDM15 table over the delivery delay recognised by the market.",
                x_unit="month",
                y_unit="1",
            ),
            Lookup(
                "capacity_utilisation_table",
                [x / 2 for x in range(11)],
                [0, 0.25, 0.5, 0.67, 0.8, 0.87, 0.93, 0.95, 0.97, 0.98, 1],
                "PCF9 table over backlog / capacity.",
                x_unit="month",
                y_unit="1",
            ),
            Lookup(
                "capacity_expansion_table",
                [x / 2 for x in range(6)],
                [-0.07, -0.02, 0, 0.02, 0.07, 0.15],
                "CEF table over the delivery delay condition.",
                x_unit="1",
                y_unit="1/month",
            ),
        ],
    )
