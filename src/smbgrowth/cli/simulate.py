"""Growth simulator commands: ``smbgrowth simulate``, ``... calibrate``, ``... export``."""

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

__all__ = ["print_simulation", "register", "simulate_app"]

simulate_app = typer.Typer(
    help="Growth simulator: the business's own stock-and-flow model, calibrated from its data, "
    "run as Monte Carlo scenarios against the baseline.",
    invoke_without_command=True,
)


def _scenarios(values: list[str]) -> list[Any]:
    """Scenario files, or the names of the shipped examples (``--scenario support_automation``)."""
    from smbgrowth.dynamics.scenarios import builtin_scenarios, load_scenario

    shipped = builtin_scenarios()
    out = []
    for value in values:
        path = Path(value)
        if not path.exists() and value in shipped:
            path = shipped[value]
        elif not path.exists():
            raise ConfigError(
                f"scenario {value!r} is neither a file nor a shipped example ({', '.join(shipped)})"
            )
        out.append(load_scenario(path))
    return out


def _range(q: dict[str, float]) -> str:
    return f"{_money(q['p50'])} ({_money(q['p10'])}–{_money(q['p90'])})"


@simulate_app.callback()
def simulate(
    ctx: typer.Context,
    scenario: Annotated[
        list[str] | None,
        typer.Option(
            "--scenario",
            "-s",
            help="Scenario YAML file, or a shipped example: more_marketing, hire_support, "
            "price_rise, support_automation. Repeat to compare several.",
        ),
    ] = None,
    runs: Annotated[
        int, typer.Option("--runs", min=1, max=1_000_000, help="Monte Carlo runs per scenario.")
    ] = 1000,
    months: Annotated[int, typer.Option("--months", min=1, max=240, help="Months ahead.")] = 24,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same seed, same result.")] = 0,
    deterministic: Annotated[
        bool,
        typer.Option(
            "--deterministic", help="One run per scenario with every parameter at its estimate."
        ),
    ] = False,
    trajectories: Annotated[
        Path | None,
        typer.Option(
            "--trajectories",
            help="Write the fan-chart data (percentiles per scenario and month) to this CSV.",
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Compare scenarios with the baseline: revenue, customers, cash, runway, cash-out risk."""
    if ctx.invoked_subcommand is not None:
        return
    from smbgrowth.dynamics.calibration import calibrate_workspace
    from smbgrowth.dynamics.projection import simulate_business

    out = Output(as_json)
    with one_line_errors(out):
        plans = _scenarios(scenario or [])

    def work(ws: Workspace) -> Any:
        calibration = calibrate_workspace(ws)
        result = simulate_business(
            calibration,
            plans,
            months=months,
            runs=runs,
            seed=seed,
            deterministic=deterministic,
        )
        return calibration, result, ws.reporting_currency

    calibration, result, currency = with_workspace(out, workspace, work)
    if trajectories is not None:
        with one_line_errors(out):
            _write_csv(result.trajectories, trajectories)
    data = result.to_dict(fan=as_json)
    data["calibration"] = {
        "assumed": [e.name for e in calibration.assumed],
        "fit": calibration.to_dict()["fit"],
    }
    data["currency"] = currency
    if as_json:
        out.json(data)
        return
    print_simulation(out, data)
    if trajectories is not None:
        out.console.print(f"Fan-chart data written to {trajectories}.")


def _write_csv(frame: Any, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        frame.to_csv(tmp, index=False)
        tmp.replace(path)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from None


def print_simulation(out: Output, data: dict[str, Any]) -> None:
    """Print the scenario comparison, binding constraints and the tornado's top bars."""
    what = "deterministic run" if data["deterministic"] else f"{data['runs']:,} runs each"
    grid = Table(
        title=f"Next {data['months']} months, {data['currency']}, {what} (median, p10–p90)"
    )
    for column in ("scenario", "revenue", "customers at end", "cash at end", "P(cash out)"):
        grid.add_column(column, justify="left" if column == "scenario" else "right")
    for s in data["scenarios"]:
        grid.add_row(
            s["name"],
            _range(s["revenue"]),
            _range(s["customers_end"]),
            _range(s["cash_end"]),
            _share(s["p_cash_out"]),
        )
    out.console.print(grid)
    for s in data["scenarios"]:
        vs = s["vs_baseline"]
        head = f"[bold]{s['name']}[/]"
        if vs:
            head += (
                f": revenue {vs['revenue']['p50']:+,.0f} vs baseline "
                f"({_share(vs['p_more_revenue'])} of runs better), cash at end "
                f"{vs['cash_end']['p50']:+,.0f}"
            )
        if s["runway_months"] is not None:
            head += f"; cash runs out around month {s['runway_months']:.0f}"
        out.console.print(head)
        for period in s["binding_constraints"]:
            out.console.print(f"  {period['sentence']}", highlight=False)
        stage = s.get("stage") or {}
        if stage.get("stage"):
            out.console.print(f"  stage at the end: {stage['stage']}", highlight=False)
    bars = data["sensitivity"].get("revenue_total", [])[:5]
    if bars:
        listed = ", ".join(f"{b['name']} ({_money(b['swing'])})" for b in bars)
        out.console.print(f"Revenue is most sensitive to: {listed}.", highlight=False)
    if data.get("clipped"):
        listed = ", ".join(f"{k} {v:,}" for k, v in data["clipped"].items())
        out.console.print(
            f"[dim]flows cut to keep stocks from going negative (steps): {listed}[/]",
            highlight=False,
        )
    assumed = data["calibration"]["assumed"]
    if assumed:
        out.console.print(
            f"[dim]assumed, not from the data: {', '.join(assumed)}[/]", highlight=False
        )


@simulate_app.command("calibrate")
def calibrate(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Show the model's parameters: estimates from the data, assumptions, and the fit."""
    from smbgrowth.dynamics.calibration import calibrate_workspace

    out = Output(as_json)
    calibration = with_workspace(out, workspace, calibrate_workspace)
    data = calibration.to_dict()
    if as_json:
        out.json(data)
        return
    grid = Table(title="Growth model parameters")
    for column in ("parameter", "value", "± sd", "unit", "source", "basis"):
        grid.add_column(column, justify="right" if column in ("value", "± sd") else "left")
    for e in data["estimates"]:
        sd = e["sd"]
        grid.add_row(
            e["name"],
            f"{e['value']:,.4g}",
            "—" if sd is None else f"{sd:,.3g}",
            e["unit"],
            e["source"],
            e["basis"],
        )
    out.console.print(grid)
    fit = Table(title="Historical run vs the actual history")
    for column in ("series", "months", "MAPE", "bias"):
        fit.add_column(column, justify="left" if column == "series" else "right")
    for f in data["fit"]:
        fit.add_row(f["series"], str(f["months"]), f"{f['mape']:.0%}", f"{f['bias']:+.0%}")
    out.console.print(fit)
    for note in data["notes"]:
        out.console.print(f"[dim]note: {note}[/]", highlight=False)


@simulate_app.command("export")
def export(
    path: Annotated[Path, typer.Argument(help="Where to write the model, e.g. business.xmile.")],
    fmt: Annotated[
        str, typer.Option("--format", help="File format (xmile: OASIS XMILE 1.0).")
    ] = "xmile",
    months: Annotated[int, typer.Option("--months", min=1, max=240, help="Months to run.")] = 24,
    dt: Annotated[float, typer.Option("--dt", help="Time step in months.")] = 0.25,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the calibrated business model as XMILE (Stella can open it, PySD can run it)."""
    from smbgrowth.dynamics.business import business_model
    from smbgrowth.dynamics.calibration import calibrate_workspace
    from smbgrowth.dynamics.xmile import export_xmile

    out = Output(as_json)
    with one_line_errors(out):
        if fmt.lower() != "xmile":
            raise ConfigError(f"unknown format {fmt!r}; the format is xmile")

    def work(ws: Workspace) -> Any:
        calibration = calibrate_workspace(ws)
        model = business_model(calibration.params, months=months)
        export_xmile(model, path, t_end=float(months), dt=dt)
        return model

    model = with_workspace(out, workspace, work)
    data = {
        "path": str(path),
        "format": "xmile",
        "model": model.name,
        "months": months,
        "dt": dt,
        "stocks": len(model.stocks),
        "flows": len(model.flows),
        "auxiliaries": len(model.auxiliaries),
        "constants": len(model.constants),
    }
    if as_json:
        out.json(data)
        return
    out.console.print(
        f"Wrote {path}: {data['stocks']} stocks, {data['flows']} flows, "
        f"{data['auxiliaries']} auxiliaries, {data['constants']} constants "
        f"({months} months, dt {dt})."
    )


def register(app: typer.Typer) -> None:
    """Add ``smbgrowth simulate …`` to the main command."""
    app.add_typer(simulate_app, name="simulate")
