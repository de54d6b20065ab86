"""Forecast command: ``smbgrowth forecast``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from smbgrowth.cli.common import JsonOpt, WorkspaceOpt, with_workspace
from smbgrowth.cli.output import Output

__all__ = ["forecast", "register"]


def _table(title: str, columns: tuple[str, ...], left: tuple[str, ...]) -> Table:
    """A borderless table with the given columns, text columns left-aligned."""
    grid = Table(title=title, box=None, padding=(0, 1), title_justify="left")
    for column in columns:
        grid.add_column(column, justify="left" if column in left else "right")
    return grid


def _fmt(x: float | None) -> str:
    return "" if x is None else f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"


def forecast(
    metric: Annotated[
        str, typer.Option("--metric", "-m", help="Registry metric to forecast (see kpis --list).")
    ] = "revenue_net",
    grain: Annotated[
        str, typer.Option("--grain", "-g", help="day, week, month, quarter or year.")
    ] = "month",
    horizon: Annotated[
        int | None,
        typer.Option(
            "--horizon",
            help="Periods ahead [default: 28 days, 13 weeks, 12 months, 4 quarters, 2 years].",
            show_default=False,
        ),
    ] = None,
    by: Annotated[
        str | None, typer.Option("--by", help="One series per value of this dimension.")
    ] = None,
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            help="Candidate model (ets, arima, theta, seasonal_naive, mstl; croston, adida, "
            "imapa for intermittent demand); repeat [default: ets, arima, theta, "
            "seasonal_naive].",
            show_default=False,
        ),
    ] = None,
    windows: Annotated[int, typer.Option("--windows", help="Backtest cut-offs.")] = 3,
    demand: Annotated[
        bool,
        typer.Option("--demand", help="Forecast units sold per SKU (weekly) instead of a metric."),
    ] = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Forecast a metric (or demand per SKU) with intervals; the model is chosen by backtest."""
    from smbgrowth.models.forecast import forecast_metric, forecast_sku_demand

    out = Output(as_json)

    def work(ws: Any) -> Any:
        if demand:
            return forecast_sku_demand(ws, horizon=horizon or 13, models=model, n_windows=windows)
        return forecast_metric(
            ws, metric, grain=grain, horizon=horizon, by=by, models=model, n_windows=windows
        )

    result = with_workspace(out, workspace, work)
    data = result.to_dict()
    if as_json:
        out.json(data)
        return
    if demand:
        _print_demand(out, data)
        return
    for s in data["series"]:
        title = (
            f"{data['metric']} by {data['grain']} ({data['unit']}): {s['series_id']}, {s['model']}"
        )
        grid = _table(title, ("period", "forecast", "80% interval", "95% interval"), ("period",))
        for row in s["forecast"]:
            grid.add_row(
                row["period"],
                _fmt(row["mean"]),
                f"{_fmt(row['lo_80'])} – {_fmt(row['hi_80'])}",
                f"{_fmt(row['lo_95'])} – {_fmt(row['hi_95'])}",
            )
        out.console.print(grid)
        if s["backtest"]:
            bt = _table(
                f"backtest ({s['backtest'][0]['windows']} windows)",
                ("model", "MASE", "sMAPE", "80% cover", "95% cover", ""),
                ("model", ""),
            )
            for b in s["backtest"]:
                tag = "chosen" if b["model"] == s["model"] else ""
                tag = "baseline" if b["model"] == s["baseline"] and not tag else tag
                bt.add_row(
                    b["model"],
                    f"{b['mase']:.2f}" if b["mase"] is not None else "n/a",
                    f"{b['smape']:.1%}",
                    f"{b['coverage_80']:.0%}" if b["coverage_80"] is not None else "n/a",
                    f"{b['coverage_95']:.0%}" if b["coverage_95"] is not None else "n/a",
                    tag,
                )
            out.console.print(bt)
        for note in s["notes"]:
            out.console.print(f"[dim]note: {note}[/]", soft_wrap=True, highlight=False)
        out.console.print()


def _print_demand(out: Output, data: dict[str, Any]) -> None:
    grid = _table(
        f"units sold per SKU, next {data['horizon']} weeks",
        ("sku", "model", "units", "95% interval", "MASE", "baseline MASE", "returned"),
        ("sku", "model"),
    )
    for s in data["series"]:
        total = sum(r["mean"] or 0.0 for r in s["forecast"])
        lo = sum(r["lo_95"] or 0.0 for r in s["forecast"])
        hi = sum(r["hi_95"] or 0.0 for r in s["forecast"])
        scores = {b["model"]: b["mase"] for b in s["backtest"]}
        chosen, base = scores.get(s["model"]), scores.get(s["baseline"])
        returns = s.get("returns")
        returned = ""
        if returns:
            rate = returns["return_rate"]
            returned = f"{returns['units_returned']:,.0f}" + (
                f" ({rate:.0%})" if rate is not None else ""
            )
        grid.add_row(
            s["series_id"],
            s["model"],
            f"{total:,.0f}",
            f"{lo:,.0f} – {hi:,.0f}",
            f"{chosen:.2f}" if chosen is not None else "n/a",
            f"{base:.2f}" if base is not None else "n/a",
            returned,
        )
    out.console.print(grid)
    out.console.print(
        "[dim]The interval of a total adds the weekly bounds (a conservative range).[/]"
    )
    out.console.print(
        "[dim]Units are gross units sold, never below 0; returns (negative quantities) are "
        "not netted: 'returned' is the units returned over the history and their share of "
        "units sold.[/]",
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    app.command("forecast")(forecast)
