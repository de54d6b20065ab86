"""Automation plan commands: ``smbgrowth plan`` and its roadmap, realised, survey and more."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from smbgrowth.cli.common import JsonOpt, WorkspaceOpt, one_line_errors, with_workspace
from smbgrowth.cli.output import Output
from smbgrowth.cli.output import money as _money
from smbgrowth.cli.output import share as _share
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import ConfigError

__all__ = ["plan_app", "print_plan", "register"]

plan_app = typer.Typer(
    help="Automation plan: which automations the business needs, what they return under "
    "uncertainty, in which order to pilot them, and what they really returned.",
    invoke_without_command=True,
)

RunsOpt = Annotated[
    int, typer.Option("--runs", min=1, max=100_000, help="Monte Carlo runs per opportunity.")
]
MonthsOpt = Annotated[int, typer.Option("--months", min=1, max=120, help="Planning horizon.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed: same seed, same plan.")]
RateOpt = Annotated[
    str, typer.Option("--discount-rate", help="Annual discount rate for the NPV (10% or 0.1).")
]
FreedOpt = Annotated[
    str,
    typer.Option(
        "--freed-time-value",
        help="Share of back-office hours saved that turns into money (100% or 1).",
    ),
]
CatalogueOpt = Annotated[
    Path | None,
    typer.Option(
        "--catalogue",
        help="A catalogue YAML whose entries override the shipped ones and the workspace's.",
    ),
]


def _share_arg(text: str, flag: str) -> float:
    value = text.strip()
    try:
        return float(value[:-1]) / 100 if value.endswith("%") else float(value)
    except ValueError:
        raise ConfigError(f"{flag} {text!r} is not a share like 10% or 0.1") from None


def _make(
    out: Output,
    workspace: Path | None,
    *,
    catalogue: Path | None,
    runs: int,
    months: int,
    seed: int,
    discount_rate: str,
    freed_time_value: str,
    max_items: int = 5,
    parallel_pilots: int = 2,
) -> Any:
    from smbgrowth.plan.planner import make_plan

    with one_line_errors(out):
        rate = _share_arg(discount_rate, "--discount-rate")
        freed = _share_arg(freed_time_value, "--freed-time-value")

    def work(ws: Workspace) -> Any:
        with out.progress("planning") as bar:
            steps = iter((0.05, 0.15, 0.3, 0.5))
            return make_plan(
                ws,
                catalogue=catalogue,
                months=months,
                runs=runs,
                seed=seed,
                discount_rate=rate,
                freed_time_value=freed,
                max_items=max_items,
                parallel_pilots=parallel_pilots,
                progress=(lambda text: bar(text, next(steps, 0.9))) if bar else None,
            )

    return with_workspace(out, workspace, work)


@plan_app.callback()
def plan(
    ctx: typer.Context,
    runs: RunsOpt = 500,
    months: MonthsOpt = 24,
    seed: SeedOpt = 0,
    discount_rate: RateOpt = "10%",
    freed_time_value: FreedOpt = "100%",
    catalogue: CatalogueOpt = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Explain this many in words.")] = 3,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Rank the automation opportunities by impact × feasibility, with their ROI distribution."""
    if ctx.invoked_subcommand is not None:
        return
    out = Output(as_json)
    result = _make(
        out,
        workspace,
        catalogue=catalogue,
        runs=runs,
        months=months,
        seed=seed,
        discount_rate=discount_rate,
        freed_time_value=freed_time_value,
    )
    if as_json:
        out.json(result.to_dict())
        return
    print_plan(out, result.to_dict(cumulative=False), top=top)
    out.console.print("Next: smbgrowth plan roadmap — the pilots, in order, and what to measure.")


def print_plan(out: Output, data: dict[str, Any], *, top: int = 3) -> None:
    """Print the needs, the ranked opportunities and the top ones explained."""
    c = data["currency"]
    needs = Table(title="Needs by driver (0–1)")
    for column in ("driver", "need", "scorecard worsening", "limit binds", "share of hours"):
        needs.add_column(column, justify="left" if column == "driver" else "right")
    for d, n in data["needs"].items():
        needs.add_row(
            d,
            f"{n['score']:.2f}",
            _share(n["scorecard"]),
            _share(n["binding"]),
            _share(n["hours"]),
        )
    out.console.print(needs)
    grid = Table(
        title=f"Automation opportunities, {data['months']} months, {data['runs']:,} runs each "
        f"(NPV at {data['discount_rate']:.0%}: median, p10–p90)"
    )
    for column in (
        "#",
        "opportunity",
        "driver",
        f"NPV ({c.strip()})",
        "payback month",
        "P(ROI>0, 12 m)",
        "hours/month",
        "score",
    ):
        grid.add_column(column, justify="left" if column in ("opportunity", "driver") else "right")
    for o in data["opportunities"]:
        r = o["roi"]
        pay = r["payback_month"]
        grid.add_row(
            str(o["rank"]),
            o["name"],
            o["driver"],
            f"{_money(r['npv']['p50'])} ({_money(r['npv']['p10'])}–{_money(r['npv']['p90'])})",
            "—"
            if pay["p50"] is None
            else f"{pay['p50']:.0f} (≤{pay['p90'] or '>' + str(data['months'])})",
            _share(r["p_payback_12"]),
            f"{r['hours_saved']['p50']:,.1f}",
            f"{o['score']:.2f}",
        )
    out.console.print(grid)
    for o in data["opportunities"][:top]:
        out.console.print(f"[bold]{o['rank']}. {o['name']}[/]: {o['explanation']}", highlight=False)


@plan_app.command("roadmap")
def roadmap(
    runs: RunsOpt = 500,
    months: MonthsOpt = 24,
    seed: SeedOpt = 0,
    discount_rate: RateOpt = "10%",
    freed_time_value: FreedOpt = "100%",
    catalogue: CatalogueOpt = None,
    max_items: Annotated[
        int, typer.Option("--max-items", min=1, max=20, help="Automations on the roadmap.")
    ] = 5,
    parallel_pilots: Annotated[
        int, typer.Option("--parallel-pilots", min=1, max=10, help="Pilots running at once.")
    ] = 2,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The phased roadmap: pilots with holdouts, then scale; order, measures and risks."""
    out = Output(as_json)
    result = _make(
        out,
        workspace,
        catalogue=catalogue,
        runs=runs,
        months=months,
        seed=seed,
        discount_rate=discount_rate,
        freed_time_value=freed_time_value,
        max_items=max_items,
        parallel_pilots=parallel_pilots,
    )
    data = result.roadmap.to_dict()
    if as_json:
        out.json(data)
        return
    print_roadmap(out, data, result.currency)


def print_roadmap(out: Output, data: dict[str, Any], currency: str) -> None:
    """Print the roadmap item by item."""
    grid = Table(title=f"Roadmap over {data['months']} months")
    for column in ("order", "automation", "pilot", "holdout", "scale from", "median NPV"):
        grid.add_column(column, justify="left" if column == "automation" else "right")
    for item in data["items"]:
        pilot = item["phases"][0]
        scale = item["phases"][1]["start_month"] if len(item["phases"]) > 1 else "—"
        grid.add_row(
            str(item["order"]),
            item["name"],
            f"months {pilot['start_month']}–{pilot['end_month']}",
            _share(pilot["holdout"]) if pilot["holdout"] else "before/after",
            str(scale),
            f"{currency}{_money(item['expected']['npv']['p50'])}",
        )
    out.console.print(grid)
    for item in data["items"]:
        out.console.print(f"[bold]{item['order']}. {item['name']}[/] — {item['how']}")
        for phase in item["phases"]:
            out.console.print(
                f"  {phase['name']} (from month {phase['start_month']}, {phase['scope']}): "
                f"measure {'; '.join(phase['measure'])}. {phase['decision']}",
                highlight=False,
                soft_wrap=True,
            )
        for risk in item["risks"]:
            out.console.print(f"  risk: {risk}", highlight=False, soft_wrap=True)
    for left in data["left_out"]:
        out.console.print(f"[dim]not on the roadmap: {left['id']} — {left['reason']}[/]")


@plan_app.command("realised")
def realised(
    workflow: Annotated[
        str | None,
        typer.Argument(help="Workflow to evaluate [default: every one run with a holdout]."),
    ] = None,
    window_days: Annotated[
        int, typer.Option("--window-days", min=1, max=365, help="Days after a run to count.")
    ] = 30,
    metric: Annotated[
        str, typer.Option("--metric", help="Target metric: converted or revenue.")
    ] = "converted",
    catalogue: CatalogueOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """What an automation run with a holdout really returned, against what was planned."""
    from smbgrowth.plan.planner import realised_returns

    out = Output(as_json)
    found = with_workspace(
        out,
        workspace,
        lambda ws: realised_returns(
            ws, workflow, window_days=window_days, metric=metric, catalogue=catalogue
        ),
    )
    data = {"automations": [r.to_dict() for r in found]}
    for item in data["automations"]:
        item.pop("experiment", None)
    if as_json:
        out.json(data)
        return
    for r in found:
        out.console.print(f"[bold]{r.workflow}[/]: {r.summary}", highlight=False, soft_wrap=True)
        for note in r.notes:
            out.console.print(f"  [dim]{note}[/]", highlight=False, soft_wrap=True)


@plan_app.command("survey")
def survey(
    defaults: Annotated[
        bool, typer.Option("--defaults", help="Accept every default without asking.")
    ] = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Walk through the business's recurring processes and record them (Enter keeps a default)."""
    from smbgrowth.plan.inventory import save_processes
    from smbgrowth.plan.survey import run_survey

    out = Output(as_json)

    def ask(question: str, default: str) -> str:
        if defaults:
            return default
        return str(typer.prompt(question, default=default, err=as_json))

    def say(text: str) -> None:
        if not defaults:
            (out.errors if as_json else out.console).print(text, highlight=False)

    def work(ws: Workspace) -> Any:
        processes = run_survey(ws, ask, say)
        save_processes(ws, processes)
        return processes

    processes = with_workspace(out, workspace, work)
    data = {"processes": [p.to_dict() for p in processes]}
    if as_json:
        out.json(data)
        return
    print_processes(out, data["processes"])
    out.console.print(f"Recorded {len(processes)} processes. Next: smbgrowth plan")


def print_processes(out: Output, rows: list[dict[str, Any]]) -> None:
    grid = Table(title="Process inventory")
    for column in ("process", "department", "runs/month", "min/run", "hours/month", "origin"):
        grid.add_column(column, justify="left" if column in ("process", "department") else "right")
    for p in rows:
        grid.add_row(
            p["name"],
            p["department"],
            f"{p['runs_per_month']:,.1f}",
            f"{p['minutes_per_run']:,.0f}",
            f"{p['hours_per_month']:,.1f}",
            p["origin"],
        )
    out.console.print(grid)


@plan_app.command("processes")
def processes(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """The process inventory: recorded processes and those inferred from the data."""
    from smbgrowth.plan.inventory import process_inventory

    out = Output(as_json)
    found = with_workspace(out, workspace, process_inventory)
    data = {"processes": [p.to_dict() for p in found]}
    if as_json:
        out.json(data)
        return
    print_processes(out, data["processes"])
    for p in found:
        if p.origin == "inferred":
            out.console.print(f"[dim]{p.name}: {p.basis}[/]", highlight=False)


@plan_app.command("catalogue")
def catalogue_cmd(
    export: Annotated[
        Path | None,
        typer.Option("--export", help="Write the shipped catalogue (with comments) here to edit."),
    ] = None,
    catalogue: CatalogueOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The opportunity catalogue in use: effects, costs, pilots and risks (all editable)."""
    from smbgrowth.plan.catalogue import load_catalogue, shipped_catalogue_text

    out = Output(as_json)
    if export is not None:
        with one_line_errors(out):
            if export.exists():
                raise ConfigError(f"{export} exists; choose another file or remove it")
            try:
                export.write_text(shipped_catalogue_text(), encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"cannot write {export}: {exc.strerror}") from None
    found = with_workspace(out, workspace, lambda ws: load_catalogue(ws.path, catalogue))
    data = {"sources": found.sources, "opportunities": [o.to_dict() for o in found]}
    if as_json:
        out.json(data)
        return
    grid = Table(title="Opportunity catalogue ([low, likely, high])")
    for column in ("id", "driver", "effects", "set-up", "monthly"):
        grid.add_column(column)
    for o in data["opportunities"]:
        effects = ", ".join(
            f"{k} {'/'.join(f'{v:.0%}' for v in r)}" for k, r in o["effects"].items()
        )
        grid.add_row(
            o["id"],
            o["driver"],
            effects,
            "/".join(_money(v) for v in o["setup_cost"]),
            "/".join(_money(v) for v in o["monthly_cost"]),
        )
    out.console.print(grid)
    out.console.print(f"Read from: {', '.join(data['sources'])}", highlight=False)
    if export is not None:
        out.console.print(
            f"Shipped catalogue written to {export}; put your edits in the workspace's "
            "catalogue.yaml or pass --catalogue."
        )


def register(app: typer.Typer) -> None:
    """Add ``smbgrowth plan …`` to the main command."""
    app.add_typer(plan_app, name="plan")
