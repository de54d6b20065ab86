"""The ``smbgrowth`` command: parse options, call one library function, print the result.

Every command takes ``--workspace`` (default ``./smbgrowth-workspace`` or
``$SMBGROWTH_WORKSPACE``) and ``--json``. Errors are one line on stderr and a
non-zero exit status; with ``--json`` the error is also printed as
``{"error": "..."}``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from smbgrowth import __version__
from smbgrowth.cli import (
    automate,
    cash,
    customers,
    experiments,
    forecasts,
    inventory,
    simulate,
)
from smbgrowth.cli import plan as plan_cli
from smbgrowth.cli import report as report_cli
from smbgrowth.cli import web as web_cli
from smbgrowth.cli.common import (
    JsonOpt,
    WorkspaceOpt,
    one_line_errors,
    open_ws,
    parse_date,
    with_workspace,
)
from smbgrowth.cli.output import Output
from smbgrowth.data.importer import import_files
from smbgrowth.data.plan import ImportOptions
from smbgrowth.data.quality import workspace_status
from smbgrowth.data.sources import SOURCES
from smbgrowth.data.suggest import suggest_mapping, write_suggestion
from smbgrowth.data.workspace import DUCKDB_FILE, Workspace, init_workspace, open_workspace
from smbgrowth.errors import MetricError, SmbGrowthError, WorkspaceError
from smbgrowth.metrics.registry import compute_metric, get_metric, list_metrics, metric_needs
from smbgrowth.metrics.scorecard import driver_scorecard
from smbgrowth.settings import resolve_workspace_path

app = typer.Typer(
    name="smbgrowth",
    help="Growth engine for small and medium businesses: import your exports, then measure, "
    "model, simulate and automate your growth.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"smbgrowth {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """smbgrowth command line."""


@app.command()
def init(
    workspace: WorkspaceOpt = None,
    currency: Annotated[str, typer.Option(help="Reporting currency (ISO 4217).")] = "USD",
    time_zone: Annotated[
        str, typer.Option("--time-zone", help="IANA time zone for days, weeks and months.")
    ] = "UTC",
    as_json: JsonOpt = False,
) -> None:
    """Create a workspace: a folder with a DuckDB file for business data and a SQLite file
    for operational state."""
    out = Output(as_json)
    with one_line_errors(out):
        path = resolve_workspace_path(workspace)
        ws = init_workspace(path, currency=currency, time_zone=time_zone)
        info = {
            "workspace": str(ws.path),
            "reporting_currency": ws.reporting_currency,
            "time_zone": ws.time_zone,
            "schema_version": ws.schema_version,
        }
        ws.close()
    if as_json:
        out.json(info)
    else:
        out.console.print(
            f"Created workspace [bold]{info['workspace']}[/] "
            f"({info['reporting_currency']}, {info['time_zone']})."
        )


@app.command("import")
def import_(
    source: Annotated[str, typer.Argument(help=f"Export format: {', '.join(SOURCES)}.")],
    files: Annotated[list[Path], typer.Argument(help="Export files (CSV, .xlsx or .parquet).")],
    workspace: WorkspaceOpt = None,
    table: Annotated[
        str | None, typer.Option("--table", "-t", help="Target table (csv source).")
    ] = None,
    mapping: Annotated[
        Path | None, typer.Option("--mapping", "-m", help="Mapping YAML: file column per field.")
    ] = None,
    date_format: Annotated[
        str | None, typer.Option("--date-format", help="strptime layout, e.g. '%d/%m/%Y'.")
    ] = None,
    decimal: Annotated[
        str | None, typer.Option("--decimal", help="Decimal separator when ambiguous: . or ,")
    ] = None,
    channel: Annotated[
        str | None, typer.Option("--channel", help="Channel of an ads export without one.")
    ] = None,
    sheet: Annotated[str | None, typer.Option("--sheet", help="Excel sheet name.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and show the mapping; write nothing.")
    ] = False,
    suggest: Annotated[
        Path | None,
        typer.Option(
            "--suggest-mapping",
            help="Write a mapping file to edit for the first file (recognised columns "
            "filled in, the rest commented) and import nothing.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Import exports into the workspace: all or nothing; re-importing changes nothing.

    Without --mapping, well-known headers are recognised and the mapping used is printed.
    A mapping file looks like:

        table: order_lines
        date_format: "%m/%d/%Y"
        columns: {order_id: Order ID, ordered_at: Order Date, line_total: Sales}
    """
    out = Output(as_json)
    with one_line_errors(out):
        if decimal not in (None, ".", ","):
            raise SmbGrowthError(f"--decimal must be '.' or ',', not {decimal!r}")
        options = ImportOptions(
            table=table,
            mapping_file=str(mapping) if mapping else None,
            date_format=date_format,
            decimal=decimal,
            channel=channel,
            sheet=sheet,
        )
        ws = open_ws(workspace)
        try:
            if suggest is not None:
                if not files:
                    raise SmbGrowthError("name the export file to suggest a mapping for")
                suggestion = suggest_mapping(ws, source, files[0], options)
                written = write_suggestion(suggestion, suggest)
            else:
                with out.progress("importing") as progress:
                    result = import_files(
                        ws, source, files, options, dry_run=dry_run, progress=progress
                    )
        finally:
            ws.close()
    if suggest is not None:
        info = {
            "mapping": str(written),
            "table": suggestion.table,
            "found": suggestion.found,
            "missing": suggestion.missing,
        }
        if as_json:
            out.json(info)
            return
        out.console.print(
            f"Wrote [bold]{written}[/] for {suggestion.table}: {len(suggestion.found)} "
            f"field(s) found"
            + (f", still needed: {', '.join(suggestion.missing)}" if suggestion.missing else "")
            + f". Edit it, then import with --mapping {written}.",
            highlight=False,
        )
        return
    if as_json:
        out.json(result.to_dict())
        return
    for f in result.files:
        how = "guessed" if f.mapping_guessed else "mapped"
        out.console.print(f"[bold]{Path(f.file).name}[/] → {f.label} ({f.rows_read} rows, {how})")
        if f.mapping_guessed or dry_run:
            for fld, header in f.mapping.items():
                out.console.print(f"  {fld:<22} ← {header}", highlight=False)
        for fld, fmt in f.date_formats.items():
            if fmt != "iso":
                out.console.print(f"  dates in {fld} read as {fmt}", highlight=False)
        for w in f.warnings:
            out.console.print(f"  [yellow]note:[/] {w}")
    grid = Table("table", "rows", "inserted", "updated", "unchanged", "removed")
    for t in result.totals().values():
        grid.add_row(
            t.table, *(str(v) for v in (t.rows, t.inserted, t.updated, t.unchanged, t.removed))
        )
    out.console.print(grid)
    if dry_run:
        out.console.print("[yellow]Dry run: nothing was written.[/]")


@app.command()
def status(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Show the tables, their row counts and date ranges, and data-quality warnings."""
    out = Output(as_json)
    st = with_workspace(out, workspace, lambda ws: workspace_status(ws))
    if as_json:
        out.json(st.to_dict())
        return
    out.console.print(
        f"Workspace [bold]{st.path}[/] — {st.reporting_currency}, {st.time_zone}, "
        f"schema v{st.schema_version}, {st.imports} import(s)"
    )
    grid = Table("table", "rows", "from", "to", "sources")
    for t in st.tables:
        grid.add_row(t.table, f"{t.rows:,}", t.first or "", t.last or "", ", ".join(t.sources))
    out.console.print(grid)
    for w in st.warnings:
        out.console.print(f"[yellow]warning[/] {w.table}: {w.message}")


def _parse_options(values: list[str] | None) -> dict[str, str]:
    options = {}
    for item in values or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise MetricError(f"--option {item!r} must look like name=value")
        options[name.strip()] = value.strip()
    return options


def _fmt(value: Any, unit: str) -> str:
    """A value for people (the formatter the report and the dashboard use too)."""
    from smbgrowth.formatting import format_value

    return format_value(value, unit)


@app.command()
def kpis(
    workspace: WorkspaceOpt = None,
    metric: Annotated[
        str | None, typer.Option("--metric", "-m", help="Metric id (see --list).")
    ] = None,
    grain: Annotated[
        str, typer.Option("--grain", "-g", help="day, week, month, quarter, year or total.")
    ] = "month",
    by: Annotated[
        str | None,
        typer.Option("--by", help="Dimension: segment, channel, country, category or plan."),
    ] = None,
    from_: Annotated[str | None, typer.Option("--from", help="First day (YYYY-MM-DD).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last day (YYYY-MM-DD).")] = None,
    option: Annotated[
        list[str] | None,
        typer.Option("--option", "-o", help="Metric convention, e.g. denominator=start."),
    ] = None,
    list_: Annotated[bool, typer.Option("--list", help="List every metric.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Compute a KPI by period and dimension, or list the KPI registry."""
    out = Output(as_json)
    with one_line_errors(out):
        if list_:
            described = [m.describe() for m in list_metrics()]
            if as_json:
                out.json({"metrics": described})
                return
            grid = Table("id", "driver", "unit", "formula", "dimensions")
            for d in described:
                grid.add_row(
                    d["id"], d["driver"], d["unit"], d["formula"], ", ".join(d["dimensions"])
                )
            out.console.print(grid)
            return
        if metric is None:
            raise MetricError("name a metric with --metric ID, or list them with --list")
        ws = open_ws(workspace)
        try:
            needs = metric_needs(ws, metric)
            if needs is None:
                result = compute_metric(
                    ws,
                    metric,
                    grain=grain,  # type: ignore[arg-type]
                    by=by,
                    start=parse_date(from_, "--from"),
                    end=parse_date(to, "--to"),
                    options=_parse_options(option),
                )
        finally:
            ws.close()
    if needs is not None:
        found = get_metric(metric)
        if as_json:
            unavailable = {"metric": found.id, "unit": found.unit, "grain": grain}
            out.json({**unavailable, "available": False, "needs": needs, "rows": []})
        else:
            out.console.print(f"{found.name}: not available: needs {needs}")
        return
    if as_json:
        out.json(result.to_dict())
        return
    columns = [*([] if grain == "total" else ["period"]), *([by] if by else []), "value"]
    grid = Table(*columns, title=f"{result.metric.name} ({result.metric.unit})")
    for row in result.rows:
        grid.add_row(
            *[_fmt(row[c], result.metric.unit) if c == "value" else str(row[c]) for c in columns]
        )
    out.console.print(grid)


@app.command()
def scorecard(
    workspace: WorkspaceOpt = None,
    period: Annotated[
        str | None, typer.Option("--period", help="Month YYYY-MM [default: latest complete].")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show each growth driver's headline metrics, their trend and what moved most."""
    out = Output(as_json)
    card = with_workspace(out, workspace, lambda ws: driver_scorecard(ws, period=period))
    if as_json:
        out.json(card.to_dict())
        return
    _print_scorecard(out, card)


def _print_scorecard(out: Output, card: Any) -> None:
    grid = Table("driver", "metric", card.period, "previous", "a year ago", "trend", box=None)
    colour = {"improving": "green", "worsening": "red", "flat": "white", "n/a": "dim"}
    for d in card.drivers:
        for i, m in enumerate(d.metrics):
            star = " *" if m.metric == d.moved_most else ""
            if not m.available:
                grid.add_row(
                    d.driver if i == 0 else "", m.name, "[dim]not available[/]", "", "", ""
                )
                continue
            grid.add_row(
                d.driver if i == 0 else "",
                m.name + star,
                _fmt(m.value, m.unit),
                _fmt(m.previous, m.unit),
                _fmt(m.last_year, m.unit),
                f"[{colour[m.trend]}]{m.trend}[/]",
            )
    out.console.print(grid)
    out.console.print("* moved most in its driver since the previous month")
    for m in (m for d in card.drivers for m in d.metrics if not m.available):
        out.console.print(f"{m.name}: {m.not_available}", soft_wrap=True)


@app.command()
def runway(
    balance: Annotated[float, typer.Option("--balance", help="Cash in the bank today.")],
    workspace: WorkspaceOpt = None,
    months: Annotated[int, typer.Option(min=1, max=24, help="Full months of burn to average.")] = 3,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Day (YYYY-MM-DD).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Months of cash runway: the balance ÷ the average monthly net burn of recent months."""
    from smbgrowth.metrics.finance import cash_runway_months

    out = Output(as_json)
    with one_line_errors(out):
        day = parse_date(as_of, "--as-of")
    value = with_workspace(
        out,
        workspace,
        lambda ws: cash_runway_months(ws, Decimal(str(balance)), months, as_of=day),
    )
    if as_json:
        out.json({"opening_balance": balance, "months_averaged": months, "runway_months": value})
    elif value is None:
        out.console.print("Not burning cash over those months: the runway is not limited by burn.")
    else:
        out.console.print(f"Runway: [bold]{value:.1f} months[/] at the recent monthly net burn.")


@app.command("ar-ageing")
def ar_ageing_(
    workspace: WorkspaceOpt = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Day (YYYY-MM-DD) [default: today].")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Open receivables by days past due: current, 1-30, 31-60, 61-90, 90+."""
    from smbgrowth.metrics.finance import ar_ageing

    out = Output(as_json)
    with one_line_errors(out):
        day = parse_date(as_of, "--as-of") or date.today()
    table = with_workspace(out, workspace, lambda ws: ar_ageing(ws, day))
    rows = [
        {
            "bucket": r["bucket"],
            "invoices": int(r["invoices"]),
            "amount": round(float(r["amount"]), 2),
        }
        for r in table.to_dict("records")
    ]
    if as_json:
        out.json({"as_of": day.isoformat(), "buckets": rows})
        return
    grid = Table("days past due", "invoices", "amount", title=f"Receivables on {day}")
    for r in rows:
        grid.add_row(str(r["bucket"]), f"{r['invoices']:,}", f"{r['amount']:,.2f}")
    out.console.print(grid)


@app.command()
def cohorts(
    workspace: WorkspaceOpt = None,
    measure: Annotated[
        str, typer.Option("--measure", help="customers (share active) or revenue.")
    ] = "customers",
    grain: Annotated[str, typer.Option("--grain", "-g", help="month or quarter.")] = "month",
    as_json: JsonOpt = False,
) -> None:
    """Show cohort retention: each acquisition cohort's share still buying by age."""
    from smbgrowth.metrics.cohorts import cohort_retention

    out = Output(as_json)
    with one_line_errors(out):
        if measure not in ("customers", "revenue"):
            raise MetricError("--measure must be customers or revenue")
        if grain not in ("month", "quarter"):
            raise MetricError("--grain must be month or quarter")
        ws = open_ws(workspace)
        try:
            matrix = cohort_retention(ws, measure=measure, grain=grain)  # type: ignore[arg-type]
        finally:
            ws.close()
    data = matrix.to_dict()
    if as_json:
        out.json(data)
        return
    ages = max((len(c["values"]) for c in data["cohorts"]), default=0)
    # As many ages as the terminal fits (the cohort label and size need ~20 columns).
    shown = min(ages, max(3, (out.console.width - 20) // 6))
    grid = Table(box=None, padding=(0, 1))
    grid.add_column("cohort", no_wrap=True)
    grid.add_column("size", justify="right", no_wrap=True)
    for age in range(shown):
        grid.add_column(str(age), justify="right", no_wrap=True)
    for c in data["cohorts"]:
        values = [f"{v:.0%}" if v is not None else "" for v in c["values"][:shown]]
        grid.add_row(c["cohort"], f"{c['size']:,.0f}", *values)
    out.console.print(grid)


@app.command()
def stage(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Judge the business's lifecycle stage from its own trajectory, with the evidence."""
    from smbgrowth.models.lifecycle import judge_stage

    out = Output(as_json)
    judgement = with_workspace(out, workspace, lambda ws: judge_stage(ws))
    if as_json:
        out.json(judgement.to_dict())
        return
    _print_stage(out, judgement)


def _print_stage(out: Output, judgement: Any) -> None:
    out.console.print(
        f"Lifecycle stage: [bold]{judgement.stage}[/] (confidence {judgement.confidence:.0%})"
    )
    for line in judgement.evidence:
        out.console.print(f"  • {line}")


@app.command()
def insights(
    workspace: WorkspaceOpt = None,
    limit: Annotated[int, typer.Option(min=1, help="How many insights to show.")] = 10,
    as_json: JsonOpt = False,
) -> None:
    """Find change points, anomalies and lead-lag links between the drivers' series."""
    from smbgrowth.models.insights import find_insights

    out = Output(as_json)
    found = with_workspace(out, workspace, lambda ws: find_insights(ws)[:limit])
    if as_json:
        out.json({"insights": [i.to_dict() for i in found]})
        return
    if not found:
        out.console.print("No insights: the series are too short or nothing stands out.")
    for i, item in enumerate(found, start=1):
        out.console.print(f"{i}. {item.sentence}")


def _demo_workspace(path: Path) -> Workspace:
    """Open a fresh workspace for the demo; replace an earlier demo, never real data."""
    if (path / DUCKDB_FILE).exists():
        ws = open_workspace(path)
        is_demo = ws.sample_truth() is not None
        has_rows = any(ws.row_count(t) for t in ("customers", "orders", "invoices"))
        ws.close()
        if has_rows and not is_demo:
            raise WorkspaceError(
                f"{path} holds imported data; run the demo in another folder with --workspace"
            )
        shutil.rmtree(path)
    return init_workspace(path)


@app.command()
def demo(
    workspace: WorkspaceOpt = None,
    customers: Annotated[int, typer.Option(min=10, help="Number of customers.")] = 5000,
    years: Annotated[float, typer.Option(min=0.5, max=20, help="Years of history.")] = 3.0,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same business).")] = 42,
    as_json: JsonOpt = False,
) -> None:
    """Generate a realistic sample business into a workspace and summarise it."""
    from smbgrowth.data.overview import yearly_overview
    from smbgrowth.data.sample import generate_sample_business
    from smbgrowth.models.clv.workflow import predict_customers
    from smbgrowth.models.inventory import reorder_plan
    from smbgrowth.models.lifecycle import judge_stage
    from smbgrowth.models.segments import segment_customers

    out = Output(as_json)
    with one_line_errors(out):
        path = resolve_workspace_path(workspace)
        ws = _demo_workspace(path)
        try:
            with out.progress("generating the sample business") as progress:
                summary = generate_sample_business(
                    ws, customers=customers, years=years, seed=seed, progress=progress
                )
            years_table = [y.to_dict() for y in yearly_overview(ws)]
            st = workspace_status(ws)
            card = driver_scorecard(ws)
            judgement = judge_stage(ws)
            segmentation = segment_customers(ws, method="rfm")
            value = predict_customers(ws)
            tests = _demo_experiments(ws)
            cash_view = _demo_cash(ws, seed)
            plan = reorder_plan(ws)
            growth = _demo_simulation(ws, seed)
            automation_plan = _demo_plan(ws, seed)
            written = _demo_report(ws, path)
        finally:
            ws.close()
    report: dict[str, Any] = {
        "workspace": str(path),
        "tables": {t.table: t.rows for t in st.tables},
        "years": years_table,
        "warnings": [w.message for w in st.warnings],
        "scorecard": card.to_dict(),
        "stage": judgement.to_dict(),
        "segments": segmentation.to_dict(),
        "clv": {
            "horizon_months": 12,
            "customers": len(value),
            "total_clv": float(value.clv.sum()),
            "mean_p_alive": float(value.p_alive.mean()),
        },
        "experiments": tests,
        "cashflow": cash_view,
        "reorder": [s.to_dict() for s in plan.reorder],
        "simulation": growth,
        "plan": automation_plan,
        "truth": summary.truth,
        "report": str(written.path),
    }
    if as_json:
        out.json(report)
        return
    out.console.print(f"Sample business written to [bold]{path}[/] (seed {seed}).")
    grid = Table("table", "rows")
    for name, rows in report["tables"].items():
        grid.add_row(name, f"{rows:,}")
    out.console.print(grid)
    money = _money_formatter(st.reporting_currency)
    yt = Table("year", "revenue", "orders", "new customers", "marketing spend")
    for y in years_table:
        yt.add_row(
            str(y["year"]),
            money(y["revenue"]),
            f"{y['orders']:,}",
            f"{y['new_customers']:,}",
            money(y["marketing_spend"]),
        )
    out.console.print(yt)
    for w in st.warnings:
        out.console.print(f"[yellow]warning[/] {w.table}: {w.message}")
    _print_scorecard(out, card)
    _print_stage(out, judgement)
    shares = ", ".join(
        f"{s['segment']} {s['customer_share']:.0%}" for s in report["segments"]["segments"]
    )
    out.console.print(f"Customer segments (RFM): {shares}")
    clv = report["clv"]
    out.console.print(
        f"Customer base worth {clv['total_clv']:,.0f} over the next 12 months "
        f"(BG/NBD + Gamma-Gamma); mean P(alive) {clv['mean_p_alive']:.0%}."
    )
    for t in tests:
        out.console.print(f"Experiment [bold]{t['experiment']}[/]: {t['readout']}", soft_wrap=True)
    cash.print_projection(out, cash_view)
    due = report["reorder"]
    out.console.print(
        f"Reorder list: {len(due)} SKU(s) to order within {plan.reorder_within_days} days"
        + (":" if due else ".")
    )
    for row in due[:8]:
        out.console.print(f"  {row['sentence']}", soft_wrap=True, highlight=False)
    if len(due) > 8:
        out.console.print(f"  … and {len(due) - 8} more: smbgrowth inventory reorder")
    simulate.print_simulation(out, growth)
    out.console.print("[bold]Top automation opportunities[/] (smbgrowth plan):")
    for o in automation_plan["opportunities"]:
        out.console.print(f"{o['rank']}. {o['name']}: {o['explanation']}", highlight=False)
    out.console.print(
        f"Next: smbgrowth kpis --list, smbgrowth cohorts, smbgrowth insights --workspace {path}"
    )
    out.console.print(f"The whole picture in one file: [bold]{written.path}[/]")


def _demo_report(ws: Workspace, path: Path) -> Any:
    """Write the sample business's report as ``report.html`` in its workspace."""
    from smbgrowth.report import write_report

    return write_report(ws, path / "report.html")


def _demo_cash(ws: Workspace, seed: int) -> dict[str, Any]:
    """Project the sample business's cash for 13 weeks from its stored balance."""
    from smbgrowth.models.cashflow import opening_balance, project_cash

    balance = opening_balance(ws)
    projection = project_cash(ws, balance.amount, weeks=13, as_of=balance.as_of, seed=seed)
    data: dict[str, Any] = projection.to_dict()
    return data


def _demo_simulation(ws: Workspace, seed: int) -> dict[str, Any]:
    """Calibrate the growth model and compare the shipped support automation with the baseline."""
    from smbgrowth.dynamics.calibration import calibrate_workspace
    from smbgrowth.dynamics.projection import simulate_business
    from smbgrowth.dynamics.scenarios import builtin_scenarios, load_scenario

    calibration = calibrate_workspace(ws)
    automation = load_scenario(builtin_scenarios()["support_automation"])
    result = simulate_business(calibration, [automation], months=24, runs=500, seed=seed)
    data = result.to_dict(fan=False)
    data["calibration"] = {
        "assumed": [e.name for e in calibration.assumed],
        "fit": calibration.to_dict()["fit"],
    }
    data["currency"] = ws.reporting_currency
    return data


def _demo_plan(ws: Workspace, seed: int) -> dict[str, Any]:
    """The sample business's automation plan: the top three opportunities, explained."""
    from smbgrowth.plan.planner import make_plan

    result = make_plan(ws, runs=300, seed=seed)
    data = result.to_dict(cumulative=False)
    return {
        "months": data["months"],
        "runs": data["runs"],
        "currency": data["currency"],
        "opportunities": data["opportunities"][:3],
        "roadmap": data["roadmap"]["items"][:3],
    }


def _demo_experiments(ws: Workspace) -> list[dict[str, Any]]:
    """Analyse the sample business's experiments on their default metrics."""
    import warnings

    from smbgrowth.errors import SmbGrowthWarning
    from smbgrowth.models.experiments import analyze_workspace_experiment, list_experiments

    found = []
    for row in list_experiments(ws).itertuples():
        metrics = ["reached:purchase"] if row.unit_type == "session" else ["converted", "revenue"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SmbGrowthWarning)
            result = analyze_workspace_experiment(ws, str(row.experiment_id), metrics)
        found.append(
            {
                "experiment": str(row.experiment_id),
                "recommendation": result.recommendation,
                "readout": result.readout,
            }
        )
    return found


def _money_formatter(currency: str) -> Callable[[float], str]:
    return lambda v: f"{v:,.0f} {currency}"


customers.register(app)
experiments.register(app)
forecasts.register(app)
inventory.register(app)
cash.register(app)
simulate.register(app)
automate.register(app)
plan_cli.register(app)
report_cli.register(app)
web_cli.register(app)


def run() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    run()
