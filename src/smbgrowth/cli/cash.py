"""Cash command: ``smbgrowth cashflow``, the projected bank balance and the risk of running out."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from smbgrowth.cli.common import JsonOpt, WorkspaceOpt, one_line_errors, parse_date, with_workspace
from smbgrowth.cli.output import Output
from smbgrowth.cli.output import money as _money
from smbgrowth.cli.output import share as _share
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import ConfigError

__all__ = ["cashflow", "print_projection", "register"]


def _balance(ws: Workspace, balance: float | None, as_of: date | None) -> tuple[float, date | None]:
    """The opening balance and its day: as given, else the one stored in the workspace."""
    from smbgrowth.models.cashflow import opening_balance

    if balance is not None:
        return balance, as_of
    stored = opening_balance(ws)
    if as_of is not None and as_of != stored.as_of:
        raise ConfigError(
            f"the stored cash balance is as of {stored.as_of}, not {as_of}; pass --balance AMOUNT "
            f"for --as-of {as_of}"
        )
    return stored.amount, stored.as_of


def cashflow(
    weeks: Annotated[
        int | None,
        typer.Option(
            "--weeks", min=1, max=104, help="Weeks to project (13 unless --months is given)."
        ),
    ] = None,
    months: Annotated[
        int | None,
        typer.Option("--months", min=1, max=36, help="Months to project, instead of weeks."),
    ] = None,
    balance: Annotated[
        float | None,
        typer.Option(
            "--balance",
            help="Cash in the bank at the end of --as-of (default: the workspace's stored "
            "balance).",
        ),
    ] = None,
    scenario: Annotated[
        Path | None,
        typer.Option(
            "--scenario", help="YAML file: sales_change, late_payers, hires, investments."
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Day the balance is for, YYYY-MM-DD (default: the stored balance's day, else "
            "the last day with data).",
        ),
    ] = None,
    paths: Annotated[
        int, typer.Option("--paths", min=1, max=100_000, help="Simulated futures.")
    ] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same seed, same result.")] = 0,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Project the cash balance by week or month: quantiles, chance of running out, drivers."""
    from smbgrowth.models.cashflow import load_scenario, project_cash

    out = Output(as_json)
    with one_line_errors(out):
        if weeks is not None and months is not None:
            raise ConfigError("give --weeks or --months, not both")
        day = parse_date(as_of, "--as-of")
        plan = load_scenario(scenario) if scenario is not None else None

    def work(ws: Workspace) -> Any:
        amount, start = _balance(ws, balance, day)
        return project_cash(
            ws,
            amount,
            weeks=weeks,
            months=months,
            as_of=start,
            scenario=plan,
            paths=paths,
            seed=seed,
        )

    result = with_workspace(out, workspace, work)
    data = result.to_dict()
    if as_json:
        out.json(data)
        return
    print_projection(out, data)


def print_projection(out: Output, data: dict[str, Any]) -> None:
    grain = data["grain"]
    title = (
        f"Cash balance by {grain}, {data['currency']} (opening {_money(data['opening_balance'])} "
        f"on {data['as_of']}, {data['paths']:,} paths)"
    )
    grid = Table(title=title)
    grid.add_column(grain, no_wrap=True)
    for column in ("p10", "median", "p90", "P(negative)"):
        grid.add_column(column, justify="right", no_wrap=True)
    for row in data["periods"]:
        grid.add_row(
            row["period"],
            _money(row["p10"]),
            _money(row["p50"]),
            _money(row["p90"]),
            _share(row["p_negative"]),
        )
    out.console.print(grid)
    runway = data["runway"]["text"]
    out.console.print(f"Runway: {runway}.")
    chance = f"Chance of running out before {data['horizon_end']}: {_share(data['p_negative_any'])}"
    first = data["first_negative"]
    if first is not None:
        chance += (
            f", most likely first in the {grain} starting {first['period']} "
            f"({_share(first['probability'])} of paths)"
        )
    out.console.print(chance + ".")
    drains = [d for d in data["drivers"] if d["amount"] < 0][:3]
    if drains:
        listed = ", ".join(f"{d['item']} {d['amount']:,.0f}" for d in drains)
        out.console.print(
            f"Biggest drains up to the lowest point (the {grain} starting "
            f"{data['lowest_period']}): {listed}."
        )
    for note in data["notes"]:
        out.console.print(f"[dim]note: {note}[/]", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the ``cashflow`` command to the main command."""
    app.command("cashflow")(cashflow)
