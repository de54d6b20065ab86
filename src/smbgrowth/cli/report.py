"""Report command: ``smbgrowth report``, one self-contained HTML file showing the business."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from smbgrowth.cli.common import JsonOpt, WorkspaceOpt, one_line_errors, parse_date, with_workspace
from smbgrowth.cli.output import Output
from smbgrowth.data.workspace import Workspace

__all__ = ["register", "report"]


def report(
    out_path: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.")] = Path(
        "report.html"
    ),
    from_: Annotated[
        str | None,
        typer.Option("--from", help="First day of the KPI, cohort and funnel period (YYYY-MM-DD)."),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option("--to", help="Last day of that period [default: the last 24 months of data]."),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write one HTML file showing the whole business: scorecard, trends, cohorts, funnel,
    segments and CLV, experiments, forecasts and cash, simulation and the automation plan."""
    from smbgrowth.report import write_report

    out = Output(as_json)
    with one_line_errors(out):
        start = parse_date(from_, "--from")
        end = parse_date(to, "--to")

    def work(ws: Workspace) -> object:
        with out.progress("building the report") as progress:
            return write_report(ws, out_path, start=start, end=end, progress=progress)

    written = with_workspace(out, workspace, work)
    data = written.to_dict()  # type: ignore[attr-defined]
    if as_json:
        out.json(data)
        return
    notes = sum(len(s["notes"]) for s in data["sections"])
    out.console.print(
        f"Wrote [bold]{data['path']}[/] ({data['bytes'] / 1e6:.1f} MB, "
        f"{len(data['sections'])} sections, KPI period {data['period']['from']} to "
        f"{data['period']['to']})" + (f"; {notes} note(s) inside." if notes else ".")
    )


def register(app: typer.Typer) -> None:
    """Add the ``report`` command to the main command."""
    app.command("report")(report)
