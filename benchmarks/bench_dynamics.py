"""Benchmarks of smbgrowth's system-dynamics engine against PySD, part by part.

Part ``market``: Monte Carlo of Forrester's market-growth model. The model is
smbgrowth's ``market_growth("F")``, exported to XMILE and read by PySD, so both
run the same equations (Euler, dt 0.5 month, 100 months). Each of the runs
draws the salesmen adjustment time, the sales effectiveness maximum and the
capacity receiving delay uniformly within ±20 % of their values. smbgrowth
advances all runs at once; PySD runs ``model.run(params=...)`` in a loop, as
its users do (recording the final salesmen only, which is PySD's cheapest
output), on the model read once. Prints times and the ratio, and checks that
both give the same final salesmen.

    python benchmarks/bench_dynamics.py [--part market] [--runs 1000] [--pysd-runs N] [--repeat 3]

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

from smbgrowth.dynamics import export_xmile, market_growth, simulate

VARIED = ("salesmen_adjustment_time", "sales_effectiveness_maximum", "capacity_receiving_delay")


def draws(runs: int, seed: int = 1) -> dict[str, np.ndarray]:
    model = market_growth("F")
    base = {c.name: c.value for c in model.constants}
    rng = np.random.default_rng(seed)
    return {name: base[name] * rng.uniform(0.8, 1.2, runs) for name in VARIED}


def run_smbgrowth(values: dict[str, np.ndarray]) -> tuple[float, np.ndarray]:
    model = market_growth("F")
    runs = len(next(iter(values.values())))
    start = time.perf_counter()
    result = simulate(model, t_end=100, dt=0.5, runs=runs, overrides=values, record_every=100)
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
    mine, theirs = [], []
    for i in range(args.repeat):
        a, ours = run_smbgrowth(values)
        b, pysd_final = run_pysd(values, pysd_runs)
        scaled = b * runs / pysd_runs
        same = np.allclose(ours[:pysd_runs], pysd_final, rtol=1e-6)
        mine.append(a)
        theirs.append(scaled)
        print(
            f"market run {i + 1}: smbgrowth {runs:,} runs {a:.3f} s; PySD {pysd_runs:,} runs "
            f"{b:.2f} s ({1000 * b / pysd_runs:.1f} ms a run"
            + (f", → {scaled:.1f} s for {runs:,}" if pysd_runs != runs else "")
            + f"); same final salesmen: {same}",
            flush=True,
        )
    m, t = statistics.median(mine), statistics.median(theirs)
    print(
        f"{runs:,} Monte Carlo runs of market growth (median of {args.repeat}): "
        f"smbgrowth {m:.3f} s, PySD {t:.1f} s{scaled_note}, ratio {t / m:,.0f}×",
        flush=True,
    )


# Benchmark parts, run in this order; ``--part NAME`` runs one of them.
PARTS: dict[str, Callable[[argparse.Namespace], None]] = {
    "market": market_part,
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
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for name, part in PARTS.items():
        if args.part is None or args.part == name:
            part(args)


if __name__ == "__main__":
    main()
