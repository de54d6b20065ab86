"""Experiment commands: ``smbgrowth experiment analyze | plan | list``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from smbgrowth.cli.common import JsonOpt, WorkspaceOpt, one_line_errors, with_workspace
from smbgrowth.cli.output import Output
from smbgrowth.errors import ModelError

__all__ = ["experiment_app", "register"]

experiment_app = typer.Typer(
    help="A/B tests: analyse results, plan new tests, list the workspace's."
)


def _counts(values: list[str]) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for value in values:
        name, sep, rest = value.rpartition("=")
        conv, slash, units = rest.partition("/")
        try:
            if not sep or not slash or not name:
                raise ValueError
            out[name] = (int(conv), int(units))
        except ValueError:
            raise ModelError(
                f"--counts {value!r} must look like VARIANT=CONVERSIONS/UNITS, e.g. B=51/100"
            ) from None
    return out


def _split(values: list[str]) -> dict[str, float] | None:
    if not values:
        return None
    out: dict[str, float] = {}
    for value in values:
        name, sep, share = value.rpartition("=")
        try:
            if not sep or not name:
                raise ValueError
            out[name] = float(share)
        except ValueError:
            raise ModelError(
                f"--split {value!r} must look like VARIANT=SHARE, e.g. control=0.5"
            ) from None
    return out


def _lift(x: float, binomial: bool) -> str:
    text = f"{x * 100:+.2f}" if binomial else f"{x * 100:+.1f}%"
    return text.replace("-", "−")


def _mean(x: float, binomial: bool) -> str:
    return f"{x:.2%}" if binomial else f"{x:,.4g}"


def _print_result(out: Output, data: dict[str, Any]) -> None:
    method = data["method"]
    for m in data["metrics"]:
        role = "guardrail" if m["guardrail"] else "goal"
        binomial = m["kind"] == "binomial"
        unit = "points" if binomial else "% of control"
        title = f"{m['metric']} ({m['kind']}, {role}; lift in {unit}; {method})"
        grid = Table(title=title, box=None, padding=(0, 1), title_justify="left")
        for column in (
            "variant",
            "units",
            "mean",
            "lift",
            "interval",
            "p",
            "win",
            "verdict",
        ):
            grid.add_column(column, justify="left" if column in ("variant", "verdict") else "right")
        comps = {c["variant"]: c for c in m["comparisons"]}
        for v in m["variants"]:
            c = comps.get(v["variant"])
            mean = _mean(v["mean"], binomial)
            if c is None:
                grid.add_row(v["variant"], f"{v['units']:,}", mean, "", "", "", "", "control")
                continue
            lift, (lo, hi) = (c["abs_lift"], c["ci"]) if binomial else (c["rel_lift"], c["rel_ci"])
            verdict = c["guardrail"] or c["verdict"]
            colour = {"better": "green", "ok": "green", "worse": "red", "failed": "red"}.get(
                verdict, "yellow" if verdict == "warning" else "default"
            )
            p = c["p_value_adjusted"] if c["p_value_adjusted"] is not None else c["p_value"]
            interval = (
                f"{_lift(lo, binomial)} … {_lift(hi, binomial)}"
                if lo is not None and hi is not None
                else "n/a"
            )
            grid.add_row(
                v["variant"],
                f"{v['units']:,}",
                mean,
                _lift(lift, binomial) if lift is not None else "n/a",
                interval,
                f"{p:.2g}" if p is not None else "",
                f"{c['chance_to_win']:.0%}",
                f"[{colour}]{verdict}[/]",
            )
        out.console.print(grid)
        out.console.print()
    if data["srm_detected"]:
        out.errors.print(
            f"[bold red]sample ratio mismatch (p = {data['srm_p_value']:.2g}): the units per "
            "variant do not match the intended split; check the assignment first[/]",
            soft_wrap=True,
        )
    out.console.print(data["readout"], soft_wrap=True, highlight=False)
    for note in data["notes"]:
        out.console.print(f"[dim]note: {note}[/]", soft_wrap=True, highlight=False)


@experiment_app.command("analyze")
def analyze(
    file: Annotated[
        Path | None,
        typer.Argument(
            help="CSV, Excel or Parquet file: one row per unit (rows of a unit are added up). "
            "Omit it with --experiment or --counts.",
            show_default=False,
        ),
    ] = None,
    unit_col: Annotated[
        str, typer.Option("--unit-col", help="Column with the unit id.")
    ] = "unit_id",
    variant_col: Annotated[
        str, typer.Option("--variant-col", help="Column with the variant.")
    ] = "variant",
    metric: Annotated[
        list[str] | None,
        typer.Option(
            "--metric",
            help="Outcome column, or NUMERATOR/DENOMINATOR for a ratio metric; repeat. The first "
            "is the goal the recommendation is about. With --experiment: converted, orders, "
            "revenue, aov, reached:STEP, events:STEP.",
            show_default=False,
        ),
    ] = None,
    guardrail: Annotated[
        list[str] | None,
        typer.Option(
            "--guardrail", help="Metric that must not get worse; repeat.", show_default=False
        ),
    ] = None,
    lower_is_better: Annotated[
        list[str] | None,
        typer.Option(
            "--lower-is-better",
            help="Metric where lower is better (refunds); repeat.",
            show_default=False,
        ),
    ] = None,
    control: Annotated[
        str | None,
        typer.Option(
            "--control", help="Control variant [default: control, A, baseline… or the first]."
        ),
    ] = None,
    covariate: Annotated[
        str | None,
        typer.Option("--covariate", help="Pre-period column for variance reduction (CUPED)."),
    ] = None,
    method: Annotated[
        str, typer.Option("--method", help="frequentist, bayesian or sequential.")
    ] = "frequentist",
    alpha: Annotated[float, typer.Option("--alpha", help="Significance level.")] = 0.05,
    correction: Annotated[
        str, typer.Option("--correction", help="Multiple-testing correction: holm, bh or none.")
    ] = "holm",
    cap: Annotated[
        float | None,
        typer.Option("--cap", help="Cap heavy-tailed outcomes at this quantile, e.g. 0.99."),
    ] = None,
    split: Annotated[
        list[str] | None,
        typer.Option(
            "--split",
            help="Intended share per variant, VARIANT=SHARE; repeat [default: equal].",
            show_default=False,
        ),
    ] = None,
    prior_sd: Annotated[
        float | None,
        typer.Option(
            "--prior-sd", help="Bayesian: prior s.d. of the relative lift [default: flat]."
        ),
    ] = None,
    units_called: Annotated[
        str | None,
        typer.Option(
            "--units-called", help="What the units are, for the readout (visitors, users)."
        ),
    ] = None,
    experiment: Annotated[
        str | None,
        typer.Option(
            "--experiment", help="Analyse this experiment of the workspace instead of a file."
        ),
    ] = None,
    window: Annotated[
        float | None,
        typer.Option(
            "--window",
            help="With --experiment: days of outcomes after assignment "
            "[default: 30 for customers, 1 for sessions].",
            show_default=False,
        ),
    ] = None,
    pre_days: Annotated[
        float | None,
        typer.Option(
            "--pre-days",
            help="With --experiment: pre-period days for CUPED, 0 for none [default: the window].",
        ),
    ] = None,
    counts: Annotated[
        list[str] | None,
        typer.Option(
            "--counts",
            help="Aggregated results instead of a file: VARIANT=CONVERSIONS/UNITS; repeat.",
            show_default=False,
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Analyse an A/B test: lifts with intervals, p-values, chance to win, SRM and a readout."""
    import warnings

    from smbgrowth.errors import SmbGrowthWarning
    from smbgrowth.models import experiments as ex

    out = Output(as_json)
    options: dict[str, Any] = {
        "method": method,
        "alpha": alpha,
        "correction": correction,
        "prior_sd": prior_sd,
    }
    with warnings.catch_warnings():
        # The mismatch is printed in red (or is in the JSON); no Python warning text.
        warnings.simplefilter("ignore", SmbGrowthWarning)
        with one_line_errors(out):
            sources = sum(x is not None and x != [] for x in (file, experiment, counts))
            if sources != 1:
                raise ModelError("give exactly one of: a FILE, --experiment ID or --counts")
            named_split = _split(split or [])
            if counts:
                if metric and len(metric) > 1:
                    raise ModelError(
                        "--counts describes one conversion metric; give at most one --metric"
                    )
                data = ex.counts_data(
                    _counts(counts), metric=(metric or ["conversion"])[0], control=control
                )
                result = ex.analyze_data(
                    data,
                    expected_split=[named_split[v] for v in data.variants] if named_split else None,
                    unit_noun=units_called or "units",
                    **options,
                )
            elif experiment is not None:
                result = with_workspace(
                    out,
                    workspace,
                    lambda ws: ex.analyze_workspace_experiment(
                        ws,
                        experiment,
                        metric or _default_metrics(ws, experiment),
                        guardrails=guardrail or [],
                        window_days=window,
                        pre_days=pre_days,
                        control=control,
                        lower_is_better=lower_is_better or [],
                        cap=cap,
                        expected_split=named_split,
                        **({"unit_noun": units_called} if units_called else {}),
                        **options,
                    ),
                )
            else:
                if not metric:
                    raise ModelError("say which outcome to compare with --metric COLUMN")
                assert file is not None
                result = ex.analyze_experiment(
                    file,
                    unit=unit_col,
                    variant=variant_col,
                    metrics=metric,
                    guardrails=guardrail or [],
                    control=control,
                    covariate=covariate,
                    lower_is_better=lower_is_better or [],
                    cap=cap,
                    expected_split=named_split,
                    unit_noun=units_called or "units",
                    **options,
                )
    data_out = result.to_dict()
    if as_json:
        out.json(data_out)
        return
    _print_result(out, data_out)


def _default_metrics(ws: Any, experiment: str) -> list[str]:
    from smbgrowth.models.experiments import list_experiments

    rows = list_experiments(ws)
    row = rows[rows.experiment_id == experiment]
    if len(row) and row.unit_type.iloc[0] == "session":
        return ["reached:purchase"]
    return ["converted", "revenue"]


@experiment_app.command("plan")
def plan(
    baseline: Annotated[
        float,
        typer.Option(
            "--baseline", help="Control's conversion rate (0.031), or its mean with --sd."
        ),
    ],
    mde: Annotated[
        float | None,
        typer.Option(
            "--mde",
            help="Smallest change worth detecting, relative (0.1 = +10%) unless --absolute.",
        ),
    ] = None,
    absolute: Annotated[
        bool, typer.Option("--absolute", help="--mde is an absolute change (0.003 = +0.3 points).")
    ] = False,
    power: Annotated[float, typer.Option("--power", help="Chance to detect a true change.")] = 0.8,
    alpha: Annotated[float, typer.Option("--alpha", help="Significance level.")] = 0.05,
    daily_units: Annotated[
        float | None,
        typer.Option("--daily-units", help="Units entering the test per day, all variants."),
    ] = None,
    variants: Annotated[int, typer.Option("--variants", help="Variants including control.")] = 2,
    sd: Annotated[
        float | None, typer.Option("--sd", help="Per-unit standard deviation, for a mean metric.")
    ] = None,
    units: Annotated[
        int | None,
        typer.Option(
            "--units", help="Units per variant you have: print the detectable effect instead."
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Plan a test: units and days to detect a change, or the change a given size detects.

    Planning reads no data; --workspace is accepted like every command's.
    """
    from smbgrowth.models.experiments import minimum_detectable_effect, plan_sample_size

    out = Output(as_json)
    with one_line_errors(out):
        if (mde is None) == (units is None):
            raise ModelError(
                "give --mde (to size the test) or --units (to get the detectable change)"
            )
        if units is not None:
            mde_plan = minimum_detectable_effect(
                baseline, units, power=power, alpha=alpha, variants=variants, sd=sd
            )
            if as_json:
                out.json(mde_plan.to_dict())
                return
            rate = sd is None
            out.console.print(
                f"With {units:,} units per variant, the test detects a change of "
                f"{mde_plan.mde_relative:+.1%} relative"
                + (
                    f" ({baseline:.2%} → {baseline + mde_plan.mde_absolute:.2%})"
                    if rate
                    else f" ({baseline:,.4g} → {baseline + mde_plan.mde_absolute:,.4g})"
                )
                + f" with {power:.0%} power at α = {alpha:g}.",
                highlight=False,
                soft_wrap=True,
            )
            return
        assert mde is not None
        size = plan_sample_size(
            baseline,
            mde,
            relative=not absolute,
            power=power,
            alpha=alpha,
            variants=variants,
            daily_units=daily_units,
            sd=sd,
        )
    if as_json:
        out.json(size.to_dict())
        return
    change = (
        f"{size.baseline:.2%} → {size.target:.2%}"
        if sd is None
        else f"{size.baseline:,.4g} → {size.target:,.4g}"
    )
    text = (
        f"To detect {change} ({size.mde_relative:+.1%} relative) with {power:.0%} power at "
        f"α = {alpha:g}: {size.units_per_variant:,} units per variant, "
        f"{size.total_units:,} in all."
    )
    if size.days is not None:
        text += (
            f" At {daily_units:,.0f} a day that is {size.days} days; run {size.weeks} full "
            f"week{'s' if size.weeks != 1 else ''} so every weekday counts the same."
        )
    out.console.print(text, highlight=False, soft_wrap=True)


@experiment_app.command("list")
def list_(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """List the experiments in the workspace with their units and dates."""
    from smbgrowth.models.experiments import list_experiments

    out = Output(as_json)
    frame = with_workspace(out, workspace, list_experiments)
    rows = [
        {
            "experiment_id": r.experiment_id,
            "unit_type": r.unit_type,
            "variants": int(r.variants),
            "units": int(r.units),
            "first_assigned": str(r.first_assigned),
            "last_assigned": str(r.last_assigned),
        }
        for r in frame.itertuples()
    ]
    if as_json:
        out.json({"experiments": rows})
        return
    if not rows:
        out.console.print(
            "No experiments yet: import assignments with "
            "`smbgrowth import csv FILE --table experiments`."
        )
        return
    grid = Table(box=None, padding=(0, 1))
    for column in ("experiment", "unit", "variants", "units", "first assigned", "last assigned"):
        grid.add_column(column, justify="right" if column in ("variants", "units") else "left")
    for r in rows:
        grid.add_row(
            r["experiment_id"],
            r["unit_type"],
            str(r["variants"]),
            f"{r['units']:,}",
            r["first_assigned"][:16],
            r["last_assigned"][:16],
        )
    out.console.print(grid)


def register(app: typer.Typer) -> None:
    app.add_typer(experiment_app, name="experiment")
