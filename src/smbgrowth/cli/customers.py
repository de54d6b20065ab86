"""Customer commands: CLV models (``smbgrowth clv …``), segments and churn risk."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from smbgrowth.cli.common import JsonOpt, WorkspaceOpt, one_line_errors, parse_date, with_workspace
from smbgrowth.cli.output import Output
from smbgrowth.errors import SmbGrowthError

__all__ = ["clv_app", "register"]


def segments(
    workspace: WorkspaceOpt = None,
    method: Annotated[
        str, typer.Option("--method", help="rfm (named RFM segments) or cluster (k-means).")
    ] = "rfm",
    save: Annotated[
        bool, typer.Option("--save/--no-save", help="Write the segments to the workspace.")
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """Segment customers by RFM or behaviour, profile each segment and save the result."""
    from smbgrowth.models.segments import segment_customers

    out = Output(as_json)
    result = with_workspace(
        out, workspace, lambda ws: segment_customers(ws, method=method, save=save)
    )
    data = result.to_dict()
    if as_json:
        out.json(data)
        return
    title = f"{data['customers']:,} customers by {method}"
    if result.k:
        title += f" (k = {result.k}, best silhouette)"
    grid = Table(title=title, box=None, padding=(0, 1))
    with_clv = bool(data["segments"]) and "mean_clv" in data["segments"][0]
    columns = ["segment", "customers", "revenue", "mean spend", "orders", "days since"]
    columns += ["CLV", "P(alive)"] if with_clv else []
    for column in columns:
        grid.add_column(column, no_wrap=True, justify="left" if column == "segment" else "right")
    grid.add_column("top categories")
    for row in data["segments"]:
        grid.add_row(
            row["segment"],
            f"{row['customers']:,.0f}",
            f"{row['revenue_share']:.0%}",
            f"{row['mean_spend']:,.0f}",
            f"{row['mean_orders']:.1f}",
            f"{row['mean_recency_days']:.0f}",
            *([f"{row['mean_clv']:,.0f}", f"{row['mean_p_alive']:.0%}"] if with_clv else []),
            ", ".join(row["top_categories"]),
        )
    out.console.print(grid)
    if data["entered"] is not None:
        out.console.print(f"{data['entered']:,} customer(s) entered a new segment.")


def _warn_if_not_identified(out: Output, data: dict[str, Any]) -> None:
    """One line under a customer-value result whose fit the data do not pin down."""
    if data.get("identified", True):
        return
    out.console.print(
        f"[bold yellow]Not reliable:[/] {data['identification_issue']}.",
        highlight=False,
        soft_wrap=True,
    )


clv_app = typer.Typer(help="Customer lifetime value: fit, predict and validate the models.")

TimeUnitOpt = Annotated[
    str, typer.Option("--time-unit", help="day, week or month (the models' period).")
]


def _time_unit(value: str) -> Any:
    if value not in ("day", "week", "month"):
        raise SmbGrowthError(f"--time-unit must be day, week or month, not {value!r}")
    return value


@clv_app.command("fit")
def clv_fit(
    model: Annotated[
        str, typer.Option("--model", help="bgnbd, mbgnbd, pareto, bgbb, gammagamma or sbg.")
    ] = "bgnbd",
    workspace: WorkspaceOpt = None,
    time_unit: TimeUnitOpt = "week",
    calibration_end: Annotated[
        str | None, typer.Option("--calibration-end", help="Fit on data up to this day.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Fit a customer-value model to the workspace by maximum likelihood."""
    from smbgrowth.models.clv.workflow import MODEL_NAMES, fit_model

    out = Output(as_json)
    with one_line_errors(out):
        if model not in MODEL_NAMES:
            raise SmbGrowthError(f"unknown model {model!r}; choose one of {', '.join(MODEL_NAMES)}")
        unit = _time_unit(time_unit)
        end = parse_date(calibration_end, "--calibration-end")
    fitted = with_workspace(
        out, workspace, lambda ws: fit_model(ws, model, time_unit=unit, calibration_end=end)
    )
    data = fitted.to_dict()
    if as_json:
        out.json(data)
        return
    grid = Table("parameter", "estimate", "standard error", title=f"{model} fit")
    for name, value in data["params"].items():
        grid.add_row(name, f"{value:.4g}", f"{data['standard_errors'][name]:.3g}")
    out.console.print(grid)
    out.console.print(
        f"log-likelihood {data['log_likelihood']:,.2f} on {data['n_customers']:,} "
        f"{'cohort curves' if model == 'sbg' else 'customers'}"
    )
    _warn_if_not_identified(out, data)


@clv_app.command("predict")
def clv_predict(
    workspace: WorkspaceOpt = None,
    horizon: Annotated[
        int, typer.Option("--horizon", min=1, help="Months ahead (periods ahead for bgbb).")
    ] = 12,
    discount_rate: Annotated[
        float, typer.Option("--discount-rate", min=0.0, max=0.99, help="Monthly discount rate.")
    ] = 0.01,
    model: Annotated[
        str,
        typer.Option("--model", help="bgnbd, mbgnbd or pareto (with Gamma-Gamma), sbg or bgbb."),
    ] = "bgnbd",
    time_unit: TimeUnitOpt = "week",
    top: Annotated[int, typer.Option("--top", min=1, help="Customers to show.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Each customer's P(alive), expected purchases and spend, and discounted CLV.

    With --model sbg: subscription survival and retention by month and the
    expected remaining lifetime; with --model bgbb: P(alive) and expected
    purchasing periods per customer (each period one purchase opportunity).
    """
    from smbgrowth.models.clv.workflow import identification, predict_customers

    out = Output(as_json)
    with one_line_errors(out):
        unit = _time_unit(time_unit)
    if model == "sbg":
        _predict_retention(out, workspace, horizon, discount_rate)
        return
    if model == "bgbb":
        _predict_discrete(out, workspace, horizon, unit, top)
        return
    table = with_workspace(
        out,
        workspace,
        lambda ws: predict_customers(
            ws, model=model, horizon_months=horizon, discount_rate=discount_rate, time_unit=unit
        ),
    )
    # NaN (null in JSON) when any customer could not be valued: never a silent partial sum.
    total = float(table.clv.sum(skipna=False))
    rows = [
        {"customer_id": str(k), **{c: float(v) for c, v in r.items()}}
        for k, r in table.head(top).iterrows()
    ]
    if as_json:
        out.json(
            {
                "model": model,
                "horizon_months": horizon,
                "discount_rate": discount_rate,
                "customers": len(table),
                "total_clv": total,
                **identification(table),
                "top": rows,
            }
        )
        return
    title = f"Top {len(rows)} of {len(table):,} customers, next {horizon} months"
    grid = Table("customer", "P(alive)", "purchases", "spend each", "CLV", title=title)
    for r in rows:
        grid.add_row(
            r["customer_id"],
            f"{r['p_alive']:.0%}",
            f"{r['expected_purchases']:.1f}",
            f"{r['expected_spend']:,.2f}",
            f"{r['clv']:,.0f}",
        )
    out.console.print(grid)
    if math.isfinite(total):
        out.console.print(f"Customer base worth {total:,.0f} over the next {horizon} months.")
    else:
        out.console.print("The customer base cannot be valued from this fit.")
    _warn_if_not_identified(out, identification(table))


def _predict_retention(
    out: Output, workspace: Path | None, horizon: int, discount_rate: float
) -> None:
    from smbgrowth.models.clv.workflow import predict_retention

    data = with_workspace(
        out,
        workspace,
        lambda ws: predict_retention(ws, horizon_months=horizon, discount_rate=discount_rate),
    )
    if out.as_json:
        out.json(data)
        return
    grid = Table("month", "still subscribed", "renewal rate", title="Subscription retention (sBG)")
    for row in data["months"]:
        grid.add_row(str(row["month"]), f"{row['survival']:.1%}", f"{row['retention']:.1%}")
    out.console.print(grid)
    first = data["residual_lifetime"][0]
    if first["months"] is None:
        plain = "The mean lifetime is unbounded (alpha ≤ 1: a long tail of loyal subscribers)"
    else:
        plain = f"A new subscriber stays {first['months']:.1f} months on average"
    out.console.print(f"{plain}; {first['discounted_months']:.1f} discounted months.")
    _warn_if_not_identified(out, data)


def _predict_discrete(
    out: Output, workspace: Path | None, horizon: int, unit: Any, top: int
) -> None:
    from smbgrowth.models.clv.workflow import identification, predict_discrete

    table = with_workspace(
        out, workspace, lambda ws: predict_discrete(ws, horizon_periods=horizon, time_unit=unit)
    )
    rows = [
        {"customer_id": str(k), **{c: float(v) for c, v in r.items()}}
        for k, r in table.head(top).iterrows()
    ]
    if out.as_json:
        fit = identification(table)
        out.json(
            {"model": "bgbb", "horizon_periods": horizon, "time_unit": unit, **fit, "top": rows}
        )
        return
    title = f"Top {len(rows)} of {len(table):,} customers, next {horizon} {unit}s (BG/BB)"
    grid = Table("customer", "P(alive)", "periods with a purchase", title=title)
    for r in rows:
        grid.add_row(r["customer_id"], f"{r['p_alive']:.0%}", f"{r['expected_purchases']:.1f}")
    out.console.print(grid)
    _warn_if_not_identified(out, identification(table))


@clv_app.command("validate")
def clv_validate(
    workspace: WorkspaceOpt = None,
    model: Annotated[str, typer.Option("--model", help="bgnbd, mbgnbd or pareto.")] = "bgnbd",
    calibration_end: Annotated[
        str | None, typer.Option("--calibration-end", help="[default: two thirds in].")
    ] = None,
    time_unit: TimeUnitOpt = "week",
    as_json: JsonOpt = False,
) -> None:
    """Fit on a calibration period and compare predicted with actual holdout purchases."""
    from smbgrowth.models.clv.workflow import validate_model

    out = Output(as_json)
    with one_line_errors(out):
        unit = _time_unit(time_unit)
        end = parse_date(calibration_end, "--calibration-end")
    result = with_workspace(
        out,
        workspace,
        lambda ws: validate_model(ws, model=model, calibration_end=end, time_unit=unit),
    )
    data = result.to_dict()
    if as_json:
        out.json(data)
        return
    grid = Table("repeat purchases in calibration", "customers", "predicted", "actual",
                 title=f"{model}: {data['calibration_end']} → {data['holdout_end']}")  # fmt: skip
    for b in data["by_frequency"]:
        grid.add_row(b["frequency"], f"{b['customers']:,.0f}", f"{b['predicted']:,.1f}",
                     f"{b['actual']:,.0f}")  # fmt: skip
    out.console.print(grid)
    out.console.print(
        f"Holdout repeat purchases: predicted {data['predicted']:,.0f}, actual "
        f"{data['actual']:,.0f} (error {data['error']:+.1%})."
    )
    _warn_if_not_identified(out, data)


def churn_risk_(
    workspace: WorkspaceOpt = None,
    top: Annotated[int, typer.Option("--top", min=1, help="How many customers.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Repeat customers whose P(alive) is falling, ranked by the value at risk."""
    from smbgrowth.models.clv.workflow import churn_risk, identification

    out = Output(as_json)
    table = with_workspace(out, workspace, lambda ws: churn_risk(ws, top=top))
    rows = [
        {"customer_id": str(k), **{c: float(v) for c, v in r.items()}} for k, r in table.iterrows()
    ]
    if as_json:
        out.json({"customers": rows, **identification(table)})
        return
    grid = Table("customer", "orders", "days since", "P(alive)", "value at risk")
    for r in rows:
        grid.add_row(
            r["customer_id"],
            f"{r['frequency'] + 1:.0f}",
            f"{r['days_since_last']:.0f}",
            f"{r['p_alive']:.0%} (was {r['p_alive_before']:.0%})",
            f"{r['value_at_risk']:,.0f}",
        )
    out.console.print(grid)
    _warn_if_not_identified(out, identification(table))


def register(app: typer.Typer) -> None:
    """Add the customer commands to the main command."""
    app.command()(segments)
    app.add_typer(clv_app, name="clv")
    app.command("churn-risk")(churn_risk_)
