"""Benchmark of the automation plan's ROI Monte Carlo, with PySD as the reference.

The sample business (``generate_sample_business``, ``--customers`` customers,
seed 1) is generated into a temporary workspace and calibrated; the process
inventory and the shipped catalogue (12 opportunities) are read from it.

smbgrowth: ``evaluate_opportunities(calibration, catalogue, inventory,
runs=R, months=24)`` — the baseline and every opportunity, 13 × R runs of the
calibrated business model (Euler, dt 0.25 month, 24 months) in one batch,
with the model's uncertain parameters and each opportunity's effect ranges
drawn per run. Its first call, which compiles the model, is timed apart as
the warm-up; then the median of ``--repeat`` calls, and runs per second.
``make_plan(ws, runs=R, save=False)`` (catalogue, inventory, scorecard,
calibration, binding constraints, the ROI batch, ranking, roadmap) is timed
end to end the same way, and the ROI batch's share of it is printed.

Reference: PySD runs the same business model from smbgrowth's XMILE export
(``export_xmile``, same dt and horizon) in a loop of ``model.run(params=...,
return_columns=["cash"])``, on the model read once. The parameter sets are
exactly those of the ROI batch: the drawn model parameters and the
``automation_*`` levers of the first ``--pysd-runs`` runs of each of
``chatbot_deflection``, ``win_back`` and ``bookkeeping_import`` (rebuilt
with ``evaluate_opportunities``' own draws, same seed, same order; the script
checks them against the batch's reported quantiles). The same parameter sets
also run through ``smbgrowth.dynamics.engine.simulate`` in one batch (small:
the numpy backend), and both tools' cash at month 24 is compared. The ratio is
PySD's time per run over smbgrowth's time per run in the ROI batch (which
includes summarising the runs); the ratio against the small batch is printed
too.

    python benchmarks/bench_plan.py [--customers 5000] [--runs 500] [--repeat 3]
        [--pysd-runs 20]

PySD is a test dependency (``pip install -e .[dev]``).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from smbgrowth.data.sample import generate_sample_business
from smbgrowth.data.workspace import init_workspace
from smbgrowth.dynamics import export_xmile
from smbgrowth.dynamics.business import business_model
from smbgrowth.dynamics.calibration import Calibration, calibrate_workspace
from smbgrowth.dynamics.engine import simulate
from smbgrowth.dynamics.uncertainty import sample_constants
from smbgrowth.plan.catalogue import Opportunity, load_catalogue
from smbgrowth.plan.inventory import process_inventory
from smbgrowth.plan.planner import make_plan
from smbgrowth.plan.roi import (
    ProcessLike,
    ROIResult,
    _levers,
    evaluate_opportunities,
    matched_processes,
)

MONTHS = 24
DT = 0.25
SEED = 0  # evaluate_opportunities' default seed
PYSD_OPPORTUNITIES = ("chatbot_deflection", "win_back", "bookkeeping_import")


def roi_parameter_sets(
    calibration: Calibration,
    catalogue: Sequence[Opportunity],
    inventory: Sequence[ProcessLike],
    runs: int,
) -> dict[str, dict[str, np.ndarray]]:
    """Per-run constants of every opportunity, drawn as ``evaluate_opportunities`` draws them.

    Same seed, same order of draws (model parameters first, then each
    opportunity's levers in catalogue order), defaults for the rest.
    """
    model = business_model(calibration.params, months=MONTHS)
    constants = model.compiled.constants
    rng = np.random.default_rng(SEED)
    distributions = {k: d for k, d in calibration.distributions.items() if k in constants}
    draws = sample_constants(model, distributions, runs, rng)
    out = {}
    for opportunity in catalogue:
        levers, _ = _levers(
            opportunity,
            matched_processes(opportunity, inventory),
            runs,
            rng,
            freed_time_value=1.0,
            start_month=1,
            central=False,
        )
        out[opportunity.id] = {**draws, **levers}
    return out


def pick(values: dict[str, dict[str, np.ndarray]], k: int) -> dict[str, np.ndarray]:
    """The first ``k`` runs of each of PYSD_OPPORTUNITIES, stacked in that order."""
    names = values[PYSD_OPPORTUNITIES[0]].keys()
    return {
        name: np.concatenate([values[o][name][:k] for o in PYSD_OPPORTUNITIES]) for name in names
    }


def run_pysd(
    calibration: Calibration, sets: dict[str, np.ndarray], folder: Path
) -> tuple[float, float, np.ndarray]:
    """Read the exported model once, then one ``model.run`` per parameter set."""
    import pysd

    path = folder / "business.xmile"
    model = business_model(calibration.params, months=MONTHS)
    export_xmile(model, path, t_end=MONTHS, dt=DT)
    runs = len(next(iter(sets.values())))
    final = np.empty(runs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        reference = pysd.read_xmile(str(path))
        read = time.perf_counter() - start
        start = time.perf_counter()
        for i in range(runs):
            params = {name: float(values[i]) for name, values in sets.items()}
            out = reference.run(params=params, return_columns=["cash"], return_timestamps=[MONTHS])
            final[i] = float(out["cash"].iloc[-1])
        seconds = time.perf_counter() - start
    return read, seconds, final


def run_smbgrowth_sets(
    calibration: Calibration, sets: dict[str, np.ndarray]
) -> tuple[float, np.ndarray, int]:
    """The same parameter sets through ``simulate`` in one batch: time, final cash, clips."""
    model = business_model(calibration.params, months=MONTHS)
    runs = len(next(iter(sets.values())))
    start = time.perf_counter()
    result = simulate(
        model, t_end=MONTHS, dt=DT, runs=runs, overrides=sets, record=("cash",), record_every=1
    )
    seconds = time.perf_counter() - start
    return seconds, result["cash"][-1], sum(result.clipped.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=500, help="Monte Carlo runs per opportunity")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--pysd-runs",
        type=int,
        default=20,
        help=f"PySD parameter sets per opportunity ({', '.join(PYSD_OPPORTUNITIES)})",
    )
    args = parser.parse_args()
    runs, k = args.runs, min(args.pysd_runs, args.runs)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        ws = init_workspace(folder / "ws")
        generate_sample_business(ws, customers=args.customers, seed=1)
        calibration = calibrate_workspace(ws)
        inventory = process_inventory(ws)
        catalogue = list(load_catalogue(ws.path))
        print(
            f"set-up: {args.customers:,} customers generated and calibrated, "
            f"{len(inventory)} processes, {len(catalogue)} opportunities "
            f"({time.perf_counter() - start:.1f} s)",
            flush=True,
        )
        total = (1 + len(catalogue)) * runs
        last: ROIResult | None = None

        def roi() -> float:
            nonlocal last
            start = time.perf_counter()
            last = evaluate_opportunities(
                calibration, catalogue, inventory, runs=runs, months=MONTHS
            )
            return time.perf_counter() - start

        def plan() -> float:
            start = time.perf_counter()
            make_plan(ws, runs=runs, save=False)
            return time.perf_counter() - start

        warm = roi()
        print(f"ROI warm-up (compiles the model): {warm:.2f} s", flush=True)
        plan_warm = plan()
        print(f"make_plan warm-up: {plan_warm:.2f} s", flush=True)

        values = roi_parameter_sets(calibration, catalogue, inventory, runs)
        assert last is not None
        same_draws = all(
            np.allclose(
                [last.get(o).setup_cost[q], last.get(o).cost_saving[q]],
                np.percentile(
                    [values[o]["automation_setup_cost"], values[o]["automation_cost_saving"]],
                    int(q[1:]),
                    axis=1,
                ),
                rtol=1e-12,
            )
            for o in values
            for q in ("p10", "p50", "p90")
        )
        print(f"rebuilt parameter sets match the ROI batch's draws: {same_draws}", flush=True)
        sets = pick(values, k)
        pysd_n = len(PYSD_OPPORTUNITIES) * k
        roi_times, plan_times, pysd_times, sets_times = [], [], [], []
        gap = float("nan")
        for i in range(args.repeat):
            a = roi()
            p = plan()
            s, ours, clipped = run_smbgrowth_sets(calibration, sets)
            read, b, theirs = run_pysd(calibration, sets, folder)
            rel = np.abs(theirs - ours) / np.maximum(np.abs(ours), 1e-9)
            gap = float(np.max(rel))
            roi_times.append(a)
            plan_times.append(p)
            sets_times.append(s)
            pysd_times.append(b)
            print(
                f"run {i + 1}: ROI batch {total:,} runs {1000 * a:.0f} ms; make_plan "
                f"{1000 * p:.0f} ms; same {pysd_n} parameter sets: smbgrowth "
                f"{1000 * s:.1f} ms, PySD {b:.2f} s ({1000 * b / pysd_n:.1f} ms a run, "
                f"reading the file {read:.2f} s); cash at month {MONTHS}: largest relative "
                f"gap {gap:.1e} (smbgrowth clipped {clipped} times)",
                flush=True,
            )
        ws.close()

    a, p = statistics.median(roi_times), statistics.median(plan_times)
    b, s = statistics.median(pysd_times), statistics.median(sets_times)
    ours_per_run = a / total
    theirs_per_run = b / pysd_n
    sets_per_run = s / pysd_n
    rows = [
        ("ROI batch (evaluate_opportunities)", f"{a:.3f} s", f"{total:,} runs, {total / a:,.0f}/s"),
        ("make_plan end to end", f"{p:.3f} s", f"ROI batch is {100 * a / p:.0f} % of it"),
        (
            f"smbgrowth, the {pysd_n} PySD parameter sets",
            f"{1000 * s:.1f} ms",
            f"{1e6 * sets_per_run:.0f} µs a run",
        ),
        (
            f"PySD, {pysd_n} parameter sets",
            f"{b:.2f} s",
            f"{1000 * theirs_per_run:.1f} ms a run",
        ),
        (
            "ratio, PySD ÷ smbgrowth per run",
            f"{theirs_per_run / ours_per_run:,.0f}×",
            f"({theirs_per_run / sets_per_run:,.0f}× against the {pysd_n}-run batch)",
        ),
        (f"cash at month {MONTHS}, PySD vs smbgrowth", f"{gap:.1e}", "largest relative gap"),
    ]
    print(
        f"\nSummary (medians of {args.repeat}; {runs} runs per opportunity, {MONTHS} months, "
        f"dt {DT}; warm-up {warm:.2f} s):"
    )
    width = max(len(r[0]) for r in rows)
    for label, value, note in rows:
        print(f"  {label:<{width}}  {value:>10}  {note}")


if __name__ == "__main__":
    main()
