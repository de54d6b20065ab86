"""Benchmarks of smbgrowth's system-dynamics engine against PySD, part by part.

Part ``market``: Monte Carlo of Forrester's market-growth model. The model is
smbgrowth's ``market_growth("F")``, exported to XMILE and read by PySD, so both
run the same equations (Euler, dt 0.5 month, 100 months). Each of the runs
draws the salesmen adjustment time, the sales effectiveness maximum and the
capacity receiving delay uniformly within ±20 % of their values. smbgrowth
advances all runs at once; PySD runs ``model.run(params=...)`` in a loop, as
its users do (recording the final salesmen only, which is PySD's cheapest
output), on the model read once. Prints times and the ratio, and checks that
both give the same final salesmen. smbgrowth uses its default backend
(``auto``: compiled with numba for batches this size); its first run, which
compiles the model, is timed apart as the warm-up, then each repeat times
smbgrowth (and its numpy backend, for comparison) and PySD.

Part ``smb``: Monte Carlo of the SMB business model
(``business_model(BusinessParameters(), months=60)``): ``--smb-runs`` runs
(default 100,000) of 60 months, Euler with dt 0.25 month, recording revenue,
customers and cash each month, with eight constants drawn by
``monte_carlo`` around their defaults. Prints the warm-up (compile) time, the
median of ``--repeat`` timed runs with the default backend and with the numpy
backend, and how far the two backends' results are apart.

    python benchmarks/bench_dynamics.py [--part market|smb] [--runs 1000] [--pysd-runs N]
        [--smb-runs 100000] [--repeat 3]

Without ``--part`` every part runs. PySD is a test dependency
(``pip install -e .[dev]``). By default PySD makes all ``--runs`` runs; with
``--pysd-runs`` below ``--runs`` its time is scaled linearly to ``--runs`` (the
output says so).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from smbgrowth.dynamics import Distribution, export_xmile, market_growth, monte_carlo, simulate
from smbgrowth.dynamics.business import BusinessParameters, business_model
from smbgrowth.dynamics.engine import Backend

VARIED = ("salesmen_adjustment_time", "sales_effectiveness_maximum", "capacity_receiving_delay")


def draws(runs: int, seed: int = 1) -> dict[str, np.ndarray]:
    model = market_growth("F")
    base = {c.name: c.value for c in model.constants}
    rng = np.random.default_rng(seed)
    return {name: base[name] * rng.uniform(0.8, 1.2, runs) for name in VARIED}


def run_smbgrowth(
    values: dict[str, np.ndarray], backend: Backend = "auto"
) -> tuple[float, np.ndarray]:
    model = market_growth("F")
    runs = len(next(iter(values.values())))
    start = time.perf_counter()
    result = simulate(
        model,
        t_end=100,
        dt=0.5,
        runs=runs,
        overrides=values,
        record_every=100,
        backend=backend,
    )
    seconds = time.perf_counter() - start
    return seconds, result.stocks["salesmen"][-1]


def run_pysd(values: dict[str, np.ndarray], runs: int) -> tuple[float, np.ndarray]:
    import pysd

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "market_growth.xmile"
        export_xmile(market_growth("F"), path, t_end=100, dt=0.5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = pysd.read_xmile(str(path))
            final = np.empty(runs)
            start = time.perf_counter()
            for i in range(runs):
                params = {name: float(values[name][i]) for name in VARIED}
                out = model.run(params=params, return_columns=["salesmen"], return_timestamps=[100])
                final[i] = float(out["salesmen"].iloc[-1])
            seconds = time.perf_counter() - start
    return seconds, final


def market_part(args: argparse.Namespace) -> None:
    """Part ``market``: Monte Carlo of market growth, smbgrowth against PySD."""
    runs = args.runs
    pysd_runs = min(args.pysd_runs or runs, runs)
    scaled_note = "" if pysd_runs == runs else f" (measured on {pysd_runs:,}, scaled linearly)"
    values = draws(runs)
    warm, _ = run_smbgrowth(values)
    print(f"market warm-up (compiles the model): smbgrowth {warm:.2f} s", flush=True)
    mine, numpy_times, theirs = [], [], []
    for i in range(args.repeat):
        a, ours = run_smbgrowth(values)
        n, numpy_final = run_smbgrowth(values, backend="numpy")
        b, pysd_final = run_pysd(values, pysd_runs)
        scaled = b * runs / pysd_runs
        same = np.allclose(ours[:pysd_runs], pysd_final, rtol=1e-6)
        backends = float(np.max(np.abs(ours - numpy_final) / np.abs(numpy_final)))
        mine.append(a)
        numpy_times.append(n)
        theirs.append(scaled)
        print(
            f"market run {i + 1}: smbgrowth {runs:,} runs {1000 * a:.1f} ms (numpy backend "
            f"{1000 * n:.1f} ms, largest relative gap {backends:.1e}); PySD {pysd_runs:,} runs "
            f"{b:.2f} s ({1000 * b / pysd_runs:.1f} ms a run"
            + (f", → {scaled:.1f} s for {runs:,}" if pysd_runs != runs else "")
            + f"); same final salesmen: {same}",
            flush=True,
        )
    m, t = statistics.median(mine), statistics.median(theirs)
    n = statistics.median(numpy_times)
    print(
        f"{runs:,} Monte Carlo runs of market growth (median of {args.repeat}): "
        f"smbgrowth {1000 * m:.1f} ms (numpy backend {1000 * n:.1f} ms, warm-up {warm:.2f} s), "
        f"PySD {t:.1f} s{scaled_note}, ratio {t / m:,.0f}× (numpy backend {t / n:,.0f}×)",
        flush=True,
    )


# The business model's uncertain constants in part ``smb``, around their defaults.
SMB_DISTRIBUTIONS = {
    "wom_rate": Distribution("lognormal", 0.006, 0.3),
    "churn_customers": Distribution("lognormal", 0.08, 0.25),
    "cac_ads": Distribution("lognormal", 50.0, 0.25),
    "productivity": Distribution("lognormal", 300.0, 0.2),
    "conversion_probability": Distribution("normal", 0.3, 0.05, low=0.01),
    "order_value_customers": Distribution("lognormal", 40.0, 0.15),
    "quality_perception_time": Distribution("lognormal", 2.0, 0.3),
    "price_elasticity": Distribution("normal", 0.8, 0.2, low=0.0),
}
SMB_RECORD = ("revenue", "customers", "cash")


def smb_part(args: argparse.Namespace) -> None:
    """Part ``smb``: 100,000 Monte Carlo runs of the business model, 60 months."""
    model = business_model(BusinessParameters(), months=60)
    runs = args.smb_runs

    def default_backend() -> tuple[float, dict[str, np.ndarray], dict[str, np.ndarray]]:
        start = time.perf_counter()
        result, drawn = monte_carlo(
            model,
            SMB_DISTRIBUTIONS,
            runs=runs,
            seed=1,
            t_end=60,
            dt=0.25,
            record_every=1,
            record=SMB_RECORD,
        )
        seconds = time.perf_counter() - start
        return seconds, {name: result[name] for name in SMB_RECORD}, drawn

    warm, _, _ = default_backend()
    print(f"smb warm-up (compiles the model): {warm:.2f} s", flush=True)
    timed, numpy_timed = [], []
    for i in range(args.repeat):
        seconds, ours, drawn = default_backend()
        start = time.perf_counter()
        reference = simulate(
            model,
            runs=runs,
            overrides=drawn,
            backend="numpy",
            t_end=60,
            dt=0.25,
            record_every=1,
            record=SMB_RECORD,
        )
        numpy_seconds = time.perf_counter() - start
        gap = max(
            float(
                np.max(
                    np.abs(ours[name] - reference[name]) / np.maximum(np.abs(reference[name]), 1e-9)
                )
            )
            for name in SMB_RECORD
        )
        timed.append(seconds)
        numpy_timed.append(numpy_seconds)
        print(
            f"smb run {i + 1}: {runs:,} runs × 60 months: default backend {seconds:.2f} s, "
            f"numpy backend {numpy_seconds:.2f} s; largest relative gap {gap:.1e}",
            flush=True,
        )
    m, n = statistics.median(timed), statistics.median(numpy_timed)
    print(
        f"{runs:,} Monte Carlo runs of the SMB model, 60 months at dt 0.25 (median of "
        f"{args.repeat}): default backend {m:.2f} s (warm-up {warm:.2f} s), numpy backend "
        f"{n:.2f} s, {n / m:.1f}× faster",
        flush=True,
    )


# Benchmark parts, run in this order; ``--part NAME`` runs one of them.
PARTS: dict[str, Callable[[argparse.Namespace], None]] = {
    "market": market_part,
    "smb": smb_part,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=list(PARTS), help="run only this part")
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument(
        "--pysd-runs",
        type=int,
        default=None,
        help="PySD runs actually made (default: --runs); fewer are scaled linearly",
    )
    parser.add_argument("--smb-runs", type=int, default=100_000, help="runs of part smb")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for name, part in PARTS.items():
        if args.part is None or args.part == name:
            part(args)


if __name__ == "__main__":
    main()
