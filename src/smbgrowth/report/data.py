"""The report's sections: each one calls the library and lays out its results as blocks.

A :class:`Section` is an ordered list of blocks — paragraphs, bullet lists,
tables of already formatted text, charts (Plotly figure dicts from
:mod:`smbgrowth.report.charts`) and notes. Templates only place them; no metric
or model logic lives outside the library. A section whose data are missing says
so in a note; a library call raising :class:`~smbgrowth.errors.SmbGrowthError`
becomes a note with its message, and the rest of the report still builds.
Warnings the library raises (:class:`~smbgrowth.errors.SmbGrowthWarning`)
become notes too.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pandas as pd

from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import DataError, MetricError, SmbGrowthError, SmbGrowthWarning
from smbgrowth.formatting import format_value
from smbgrowth.report import charts

__all__ = [
    "Block",
    "BulletList",
    "ChartBlock",
    "Note",
    "Paragraph",
    "Report",
    "ReportPeriod",
    "Section",
    "TableBlock",
    "build_report",
    "cohort_section",
    "customer_section",
    "experiment_section",
    "forecast_section",
    "format_money",
    "format_value",
    "funnel_section",
    "kpi_section",
    "plan_section",
    "report_period",
    "scorecard_section",
    "simulation_section",
]

SIMULATION_RUNS = 500
PLAN_RUNS = 200
HISTORY_MONTHS = 24


# -- blocks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Paragraph:
    """A sentence or two of text."""

    text: str
    kind: Literal["paragraph"] = "paragraph"


@dataclass(frozen=True)
class BulletList:
    """A list of sentences, optionally under a heading."""

    items: list[str]
    title: str | None = None
    kind: Literal["bullets"] = "bullets"


@dataclass(frozen=True)
class TableBlock:
    """A table of formatted cells; ``numeric`` marks the right-aligned columns."""

    columns: list[str]
    rows: list[list[str]]
    title: str | None = None
    numeric: list[bool] = field(default_factory=list)
    kind: Literal["table"] = "table"


@dataclass(frozen=True)
class ChartBlock:
    """A Plotly figure (``{"data", "layout"}``) with a unique element id."""

    chart_id: str
    figure: charts.Figure
    kind: Literal["chart"] = "chart"


@dataclass(frozen=True)
class Note:
    """One line saying what is missing or what went wrong."""

    text: str
    kind: Literal["note"] = "note"


Block = Paragraph | BulletList | TableBlock | ChartBlock | Note


@dataclass(frozen=True)
class Section:
    """One part of the report: an id (the HTML anchor), a heading and its blocks."""

    id: str
    title: str
    blocks: list[Block]

    @property
    def charts(self) -> list[ChartBlock]:
        return [b for b in self.blocks if isinstance(b, ChartBlock)]

    @property
    def notes(self) -> list[str]:
        return [b.text for b in self.blocks if isinstance(b, Note)]


@dataclass(frozen=True)
class ReportPeriod:
    """The days the KPI trends, cohorts and funnel cover (inclusive)."""

    start: date
    end: date

    def to_dict(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


@dataclass(frozen=True)
class Report:
    """Everything the HTML shows, built from one workspace."""

    title: str
    currency: str
    period: ReportPeriod
    generated_at: datetime
    sections: list[Section]


# -- formatting --------------------------------------------------------------------------


def format_money(value: float | None) -> str:
    """An amount in whole units with thousands separators (— when unknown)."""
    return "—" if value is None or value != value else f"{value:,.0f}"


def _share(value: float | None) -> str:
    """A probability that never rounds a real risk down to 0 % (or up to 100 %)."""
    if value is None:
        return "—"
    if 0 < value < 0.01:
        return "<1%"
    if 0.99 < value < 1:
        return ">99%"
    return f"{value:.0%}"


def _range(q: dict[str, Any]) -> str:
    low, high = format_money(q.get("p10")), format_money(q.get("p90"))
    return f"{format_money(q.get('p50'))} ({low} to {high})"


# -- guarding ----------------------------------------------------------------------------


def _guarded(build: Callable[[], list[Block]]) -> list[Block]:
    """The blocks, or a note with the library's message; its warnings become notes."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SmbGrowthWarning)
        try:
            blocks = build()
        except SmbGrowthError as exc:
            blocks = [Note(str(exc))]
    seen: set[str] = set()
    for w in caught:
        text = str(w.message)
        if issubclass(w.category, SmbGrowthWarning) and text not in seen:
            seen.add(text)
            blocks.append(Note(text))
    return blocks


def _section(section_id: str, title: str, *parts: Callable[[], list[Block]]) -> Section:
    blocks: list[Block] = []
    for part in parts:
        blocks.extend(_guarded(part))
    return Section(section_id, title, blocks)


# -- the period --------------------------------------------------------------------------


def _month_start(day: date, back: int = 0) -> date:
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def _last_day_with_data(ws: Workspace) -> date | None:
    o = ws.orders
    last = o.ordered_at.max().execute()
    if last is None or pd.isna(last):
        return None
    stamp = pd.Timestamp(last)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(UTC)
    local: date = stamp.tz_convert(ZoneInfo(ws.time_zone)).date()
    return local


def report_period(
    ws: Workspace, start: date | None = None, end: date | None = None
) -> ReportPeriod:
    """The KPI period: as given, else the last 24 months of data (whole months).

    Raises
    ------
    DataError
        When the workspace holds no customers, orders, subscriptions or invoices.
    MetricError
        When ``start`` is after ``end``.
    """
    if not any(ws.row_count(t) for t in ("orders", "customers", "subscriptions", "invoices")):
        raise DataError(
            f"the workspace {ws.path} is empty: import exports first (smbgrowth import) "
            "or build the sample business (smbgrowth demo)"
        )
    if start and end and start > end:
        raise MetricError(f"--from {start} is after --to {end}")
    if end is None:
        last = _last_day_with_data(ws) if ws.row_count("orders") else None
        end = last or date.today()
        if start is not None and end < start:
            end = start
    if start is None:
        start = _month_start(end, HISTORY_MONTHS - 1)
    return ReportPeriod(start, end)


# -- 1. scorecard and stage --------------------------------------------------------------


def scorecard_section(ws: Workspace) -> Section:
    """Each driver's headline metrics (now, previous month, a year ago, trend) and the
    lifecycle stage with its evidence."""
    from smbgrowth.metrics.scorecard import driver_scorecard
    from smbgrowth.models.lifecycle import judge_stage

    def card() -> list[Block]:
        scorecard = driver_scorecard(ws)
        rows = []
        for d in scorecard.drivers:
            for i, m in enumerate(d.metrics):
                star = " *" if m.metric == d.moved_most else ""
                if not m.available:
                    rows.append(
                        [
                            d.driver if i == 0 else "",
                            m.name,
                            f"not available: needs {m.needs}",
                            "",
                            "",
                            "",
                        ]
                    )
                    continue
                rows.append(
                    [
                        d.driver if i == 0 else "",
                        m.name + star,
                        format_value(m.value, m.unit),
                        format_value(m.previous, m.unit),
                        format_value(m.last_year, m.unit),
                        m.trend or "n/a",
                    ]
                )
        return [
            TableBlock(
                ["driver", "metric", scorecard.period, "previous", "a year ago", "trend"],
                rows,
                title=f"Scorecard for {scorecard.period}",
                numeric=[False, False, True, True, True, False],
            ),
            Paragraph("* moved most in its driver since the previous month."),
        ]

    def stage() -> list[Block]:
        judgement = judge_stage(ws)
        return [
            Paragraph(
                f"Lifecycle stage: {judgement.stage} (confidence {judgement.confidence:.0%})."
            ),
            BulletList(list(judgement.evidence), title="Evidence"),
        ]

    return _section("scorecard", "Scorecard and lifecycle stage", card, stage)


# -- 2. KPI trends -----------------------------------------------------------------------


def kpi_section(ws: Workspace, period: ReportPeriod) -> Section:
    """Monthly revenue, new customers, orders and AOV, and churn over the period."""
    from smbgrowth.metrics.registry import compute_metric

    def monthly(metric_id: str) -> pd.DataFrame:
        frame: pd.DataFrame = compute_metric(
            ws, metric_id, grain="month", start=period.start, end=period.end
        ).frame
        return frame

    def line(metric_id: str, title: str, unit: str, chart_id: str) -> Callable[[], list[Block]]:
        def build() -> list[Block]:
            frame = monthly(metric_id)
            if frame.empty:
                return [Note(f"{title}: no data between {period.start} and {period.end}.")]
            return [ChartBlock(chart_id, charts.kpi_trend_figure(frame, title=title, unit=unit))]

        return build

    def orders_aov() -> list[Block]:
        orders, aov = monthly("orders"), monthly("aov")
        if orders.empty:
            return [Note(f"No orders between {period.start} and {period.end}.")]
        figure = charts.orders_aov_figure(orders, aov, currency=ws.reporting_currency)
        return [ChartBlock("kpi-orders-aov", figure)]

    currency = ws.reporting_currency
    return _section(
        "kpis",
        "KPI trends",
        lambda: [Paragraph(f"Monthly, from {period.start} to {period.end}.")],
        line("revenue_net", f"Net revenue ({currency})", "currency", "kpi-revenue"),
        line("new_customers", "New customers", "customers", "kpi-new-customers"),
        orders_aov,
        line("customer_churn_rate", "Customer churn rate", "ratio", "kpi-churn"),
    )


# -- 3. cohorts --------------------------------------------------------------------------


def cohort_section(ws: Workspace, period: ReportPeriod) -> Section:
    """Customer retention by acquisition month for the cohorts acquired in the period."""
    from smbgrowth.metrics.cohorts import cohort_retention

    def build() -> list[Block]:
        matrix = cohort_retention(ws, measure="customers", start=period.start, end=period.end)
        if matrix.sizes.empty or matrix.counts.empty:
            return [Note("No customers were acquired in the period: no cohorts to show.")]
        return [
            Paragraph(
                "Each row is the customers whose first order fell in that month; each cell "
                "the share of them who ordered again that many months later."
            ),
            ChartBlock("cohort-heatmap", charts.cohort_heatmap_figure(matrix)),
        ]

    return _section("cohorts", "Cohort retention", build)


# -- 4. funnel ---------------------------------------------------------------------------


def funnel_section(ws: Workspace, period: ReportPeriod) -> Section:
    """Share of web sessions reaching each funnel step, when web events exist."""
    from smbgrowth.metrics.registry import compute_metric
    from smbgrowth.metrics.sales import FUNNEL_STEPS

    def total(metric_id: str, **options: str) -> float | None:
        result = compute_metric(
            ws, metric_id, grain="total", start=period.start, end=period.end, options=options
        )
        values = result.frame["value"].dropna()
        return None if values.empty else float(values.iloc[0])

    def build() -> list[Block]:
        if ws.row_count("web_events") == 0:
            return [Note("No web events in the workspace: import web analytics to see the funnel.")]
        sessions = total("sessions")
        if not sessions:
            return [Note(f"No web sessions between {period.start} and {period.end}.")]
        shares: list[float | None] = [1.0]
        rows = [[FUNNEL_STEPS[0], "", "100%"]]
        for step in FUNNEL_STEPS[1:]:
            step_rate = total("funnel_step_conversion", step=step)
            before = shares[-1]
            shares.append(None if step_rate is None or before is None else before * step_rate)
            rows.append(
                [
                    step,
                    "—" if step_rate is None else f"{step_rate:.1%}",
                    "—" if shares[-1] is None else f"{shares[-1]:.1%}",
                ]
            )
        return [
            Paragraph(
                f"{sessions:,.0f} sessions from {period.start} to {period.end}; a session "
                "reaches a step when it has an event at that step or a later one."
            ),
            ChartBlock("funnel", charts.funnel_figure(list(FUNNEL_STEPS), shares)),
            TableBlock(
                ["step", "from the step before", "of all sessions"],
                rows,
                numeric=[False, True, True],
            ),
        ]

    return _section("funnel", "Web funnel", build)


# -- 5. segments and CLV -----------------------------------------------------------------


def _not_identified(fit: dict[str, Any]) -> list[Block]:
    """One note when the customer-value fit is not identified by the data, else nothing."""
    if fit["identified"]:
        return []
    return [
        Note(
            f"Not reliable: {fit['identification_issue']}. The figures below rest on a "
            "fit the data cannot pin down."
        )
    ]


def customer_section(ws: Workspace, *, top: int = 10) -> Section:
    """RFM segment shares, the spread of 12-month CLV with the top customers, and the
    churn-risk list (customers whose P(alive) is falling, by value at risk)."""
    from smbgrowth.models.clv.workflow import churn_risk, identification, predict_customers
    from smbgrowth.models.segments import segment_customers

    currency = ws.reporting_currency

    def segments() -> list[Block]:
        data = segment_customers(ws, method="rfm", save=False).to_dict()
        rows = data["segments"]
        if not isinstance(rows, list) or not rows:
            return [Note("No customers with a sold order: no segments.")]
        table = [
            [
                str(s["segment"]),
                f"{s['customers']:,}",
                f"{s['customer_share']:.0%}",
                f"{s['revenue_share']:.0%}",
                format_money(s["mean_spend"]),
                f"{s['mean_recency_days']:.0f}",
                ", ".join(str(c) for c in s["top_categories"]),
            ]
            for s in rows
        ]
        return [
            ChartBlock("segments", charts.segment_share_figure(rows)),
            TableBlock(
                [
                    "segment",
                    "customers",
                    "share",
                    "revenue",
                    f"mean spend ({currency})",
                    "days since last order",
                    "top categories",
                ],
                table,
                title=f"{data['customers']:,} customers by RFM segment",
                numeric=[False, True, True, True, True, True, False],
            ),
        ]

    def value() -> list[Block]:
        clv = predict_customers(ws)
        if clv.empty:
            return [Note("No customers to value.")]
        head = clv.head(top)
        caveat = _not_identified(identification(clv))
        return [
            *caveat,
            Paragraph(
                f"The {len(clv):,} customers are worth "
                f"{format_money(float(clv.clv.sum(skipna=False)))} "
                f"{currency} over the next 12 months (BG/NBD with Gamma-Gamma, discounted); "
                f"mean P(alive) {float(clv.p_alive.mean()):.0%}."
            ),
            ChartBlock("clv", charts.clv_histogram_figure(clv.clv, currency=currency)),
            TableBlock(
                ["customer", "P(alive)", "expected purchases", f"CLV ({currency})"],
                [
                    [str(k), f"{r.p_alive:.0%}", f"{r.expected_purchases:.1f}", format_money(r.clv)]
                    for k, r in head.iterrows()
                ],
                title=f"Top {len(head)} customers by CLV",
                numeric=[False, True, True, True],
            ),
        ]

    def risk() -> list[Block]:
        table = churn_risk(ws, top=top)
        caveat = _not_identified(identification(table))
        if table.empty:
            return [*caveat, Note("No repeat customers whose P(alive) is falling.")]
        return [
            *caveat,
            TableBlock(
                [
                    "customer",
                    "orders",
                    "days since last",
                    "P(alive)",
                    f"value at risk ({currency})",
                ],
                [
                    [
                        str(k),
                        f"{r.frequency + 1:.0f}",
                        f"{r.days_since_last:.0f}",
                        f"{r.p_alive:.0%} (was {r.p_alive_before:.0%})",
                        format_money(r.value_at_risk),
                    ]
                    for k, r in table.iterrows()
                ],
                title=f"Churn risk: top {len(table)} by value at risk",
                numeric=[False, True, True, True, True],
            ),
        ]

    return _section("customers", "Segments and customer value", segments, value, risk)


# -- 6. experiments ----------------------------------------------------------------------


def experiment_section(ws: Workspace) -> Section:
    """Each experiment's readout and its lift with the 95 % interval."""
    from smbgrowth.models.experiments import analyze_workspace_experiment, list_experiments

    def one(index: int, experiment_id: str, unit_type: str) -> Callable[[], list[Block]]:
        def build() -> list[Block]:
            metrics = ["reached:purchase"] if unit_type == "session" else ["converted", "revenue"]
            data = analyze_workspace_experiment(ws, experiment_id, metrics).to_dict()
            comparisons = [c for m in data["metrics"] for c in m["comparisons"]]
            rows = [
                [
                    str(c["metric"]),
                    f"{c['variant']} vs {c['control']}",
                    _pct(c.get("rel_lift")),
                    _interval(c.get("rel_ci")),
                    str(c.get("verdict", "")),
                ]
                for c in comparisons
            ]
            blocks: list[Block] = [
                Paragraph(f"{experiment_id}: {data['readout']}"),
            ]
            if comparisons:
                blocks.append(
                    ChartBlock(
                        f"experiment-{index}",
                        charts.experiment_lift_figure(comparisons, title=experiment_id),
                    )
                )
                blocks.append(
                    TableBlock(
                        ["metric", "comparison", "lift", "95% interval", "verdict"],
                        rows,
                        numeric=[False, False, True, True, False],
                    )
                )
            return blocks

        return build

    def build() -> list[Block]:
        if ws.row_count("experiments") == 0:
            return [Note("No experiments in the workspace.")]
        found = list_experiments(ws)
        blocks: list[Block] = []
        for i, row in enumerate(found.itertuples()):
            blocks.extend(_guarded(one(i, str(row.experiment_id), str(row.unit_type))))
        return blocks

    return _section("experiments", "Experiments", build)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1%}"


def _interval(ci: Sequence[float | None] | None) -> str:
    if not ci or ci[0] is None or ci[1] is None:
        return "—"
    return f"{ci[0]:+.1%} to {ci[1]:+.1%}"


# -- 7. forecasts and cash ---------------------------------------------------------------


def forecast_section(ws: Workspace, *, seed: int = 0) -> Section:
    """The 12-month net revenue forecast with intervals, and the 13-week cash view."""
    from smbgrowth.models.cashflow import opening_balance, project_cash
    from smbgrowth.models.forecast import forecast_metric

    currency = ws.reporting_currency

    def revenue() -> list[Block]:
        data = forecast_metric(ws, "revenue_net", grain="month", horizon=12).to_dict()
        blocks: list[Block] = []
        for i, series in enumerate(data["series"]):
            blocks.append(
                ChartBlock(
                    f"forecast-{i}",
                    charts.forecast_figure(
                        series, title=f"Net revenue forecast ({currency})", unit=data["unit"]
                    ),
                )
            )
            blocks.append(
                Paragraph(
                    f"Model {series['model']}, chosen by backtest"
                    + ("; it beats the naive baseline." if series["beats_baseline"] else ".")
                )
            )
            blocks.extend(Note(n) for n in series["notes"])
        return blocks or [Note("Not enough history to forecast net revenue.")]

    def cash() -> list[Block]:
        balance = opening_balance(ws)
        data = project_cash(ws, balance.amount, weeks=13, as_of=balance.as_of, seed=seed).to_dict()
        chance = (
            f"Chance of running out before {data['horizon_end']}: {_share(data['p_negative_any'])}"
        )
        first = data["first_negative"]
        if first is not None:
            chance += (
                f", most likely first in the week starting {first['period']} "
                f"({_share(first['probability'])} of paths)"
            )
        drains = [d for d in data["drivers"] if d["amount"] < 0][:3]
        sentences = [
            f"Opening balance {format_money(data['opening_balance'])} {currency} on "
            f"{data['as_of']}; {data['paths']:,} simulated paths.",
            f"Runway: {data['runway']['text']}.",
            chance + ".",
        ]
        if drains:
            listed = ", ".join(f"{d['item']} {format_money(d['amount'])}" for d in drains)
            sentences.append(
                f"Biggest drains up to the lowest point (the week starting "
                f"{data['lowest_period']}): {listed}."
            )
        return [
            ChartBlock("cash", charts.cash_paths_figure(data)),
            BulletList(sentences, title="13-week cash"),
            *(Note(n) for n in data["notes"]),
        ]

    return _section("forecasts", "Forecasts and cash", revenue, cash)


# -- 8. simulation -----------------------------------------------------------------------


def simulation_section(ws: Workspace, *, runs: int = SIMULATION_RUNS, seed: int = 0) -> Section:
    """Fan charts of revenue, customers and cash for the baseline against the shipped
    support automation over 24 months, with the binding constraints in words."""
    from smbgrowth.dynamics.calibration import calibrate_workspace
    from smbgrowth.dynamics.projection import simulate_business
    from smbgrowth.dynamics.scenarios import builtin_scenarios, load_scenario

    currency = ws.reporting_currency

    def build() -> list[Block]:
        calibration = calibrate_workspace(ws)
        automation = load_scenario(builtin_scenarios()["support_automation"])
        result = simulate_business(calibration, [automation], months=24, runs=runs, seed=seed)
        data = result.to_dict(fan=False)
        blocks: list[Block] = [
            Paragraph(
                f"The growth model calibrated from the data, {data['runs']:,} Monte Carlo runs "
                f"per scenario over {data['months']} months (median, p10–p90)."
            ),
            TableBlock(
                [
                    "scenario",
                    f"revenue ({currency})",
                    "customers at end",
                    f"cash at end ({currency})",
                    "P(cash out)",
                ],
                [
                    [
                        str(s["name"]),
                        _range(s["revenue"]),
                        _range(s["customers_end"]),
                        _range(s["cash_end"]),
                        _share(s["p_cash_out"]),
                    ]
                    for s in data["scenarios"]
                ],
                numeric=[False, True, True, True, True],
            ),
        ]
        for measure, title in (
            ("revenue", f"Monthly revenue ({currency})"),
            ("customers", "Active customers"),
            ("cash", f"Cash ({currency})"),
        ):
            figure = charts.fan_chart_figure(result.trajectories, measure, title=title)
            blocks.append(ChartBlock(f"fan-{measure}", figure))
        for s in data["scenarios"]:
            sentences = [str(b["sentence"]) for b in s["binding_constraints"]]
            if s["runway_months"] is not None:
                sentences.append(f"Cash runs out around month {s['runway_months']:.0f}.")
            if sentences:
                blocks.append(BulletList(sentences, title=f"{s['name']}: what limits growth"))
        assumed = [e.name for e in calibration.assumed]
        if assumed:
            blocks.append(Note(f"Assumed, not from the data: {', '.join(assumed)}."))
        return blocks

    return _section("simulation", "Growth simulation", build)


# -- 9. automation plan ------------------------------------------------------------------


def plan_section(ws: Workspace, *, runs: int = PLAN_RUNS, seed: int = 0, top: int = 3) -> Section:
    """The ranked automation opportunities with NPV and payback, the top ones explained,
    and the roadmap."""
    from smbgrowth.plan.planner import make_plan

    def build() -> list[Block]:
        data = make_plan(ws, runs=runs, seed=seed, save=False).to_dict(cumulative=False)
        currency = str(data["currency"])
        opportunities = data["opportunities"]
        if not opportunities:
            return [Note("No automation opportunity applies to this business's data.")]
        rows = []
        for o in opportunities:
            roi = o["roi"]
            payback = roi["payback_month"]
            rows.append(
                [
                    str(o["rank"]),
                    str(o["name"]),
                    str(o["driver"]),
                    _range(roi["npv"]),
                    "not within the horizon"
                    if payback is None or payback.get("p50") is None
                    else f"month {payback['p50']:.0f}",
                    _share(roi["p_payback_12"]),
                ]
            )
        blocks: list[Block] = [
            Paragraph(
                f"Opportunities ranked by impact × feasibility; NPV over {data['months']} months "
                f"in {currency}, {data['runs']:,} runs each."
            ),
            ChartBlock("plan-npv", charts.npv_range_figure(opportunities, currency=currency)),
            TableBlock(
                [
                    "rank",
                    "opportunity",
                    "driver",
                    "NPV p50 (p10–p90)",
                    "payback (median)",
                    "P(pays back in 12 months)",
                ],
                rows,
                numeric=[True, False, False, True, True, True],
            ),
            BulletList(
                [f"{o['rank']}. {o['name']}: {o['explanation']}" for o in opportunities[:top]],
                title="Why the top ones",
            ),
        ]
        items = data["roadmap"]["items"]
        if items:
            roadmap = []
            for item in items:
                phases = "; ".join(_phase_months(p) + f" ({p['scope']})" for p in item["phases"])
                after = (
                    f" after {', '.join(str(d) for d in item['depends_on'])}"
                    if item["depends_on"]
                    else ""
                )
                roadmap.append(f"{item['order']}. {item['name']}{after}: {phases}.")
            blocks.append(BulletList(roadmap, title="Roadmap"))
        return blocks

    return _section("plan", "Automation plan", build)


def _phase_months(phase: dict[str, Any]) -> str:
    start, end = phase["start_month"], phase["end_month"]
    if end is None:
        return f"{phase['name']} from month {start}"
    if end == start:
        return f"{phase['name']} in month {start}"
    return f"{phase['name']} in months {start}–{end}"


# -- the whole report --------------------------------------------------------------------


def build_report(
    ws: Workspace,
    *,
    start: date | None = None,
    end: date | None = None,
    seed: int = 0,
    simulation_runs: int = SIMULATION_RUNS,
    plan_runs: int = PLAN_RUNS,
    progress: Callable[[str, float], None] | None = None,
) -> Report:
    """Every section of the report, built from the workspace.

    Raises
    ------
    DataError
        When the workspace is empty.
    MetricError
        When ``start`` is after ``end``.
    """
    period = report_period(ws, start, end)
    steps: list[tuple[str, Callable[[], Section]]] = [
        ("scorecard", lambda: scorecard_section(ws)),
        ("KPI trends", lambda: kpi_section(ws, period)),
        ("cohorts", lambda: cohort_section(ws, period)),
        ("funnel", lambda: funnel_section(ws, period)),
        ("segments and CLV", lambda: customer_section(ws)),
        ("experiments", lambda: experiment_section(ws)),
        ("forecasts and cash", lambda: forecast_section(ws, seed=seed)),
        ("simulation", lambda: simulation_section(ws, runs=simulation_runs, seed=seed)),
        ("automation plan", lambda: plan_section(ws, runs=plan_runs, seed=seed)),
    ]
    sections = []
    for i, (label, step) in enumerate(steps):
        if progress is not None:
            progress(label, i / len(steps))
        sections.append(step())
    return Report(
        title=f"Business report — {ws.path.name}",
        currency=ws.reporting_currency,
        period=period,
        generated_at=datetime.now(UTC),
        sections=sections,
    )
