"""BG/NBD and Pareto/NBD fitting: smbgrowth against lifetimes on the same customers.

Simulates customers from known parameters (the BG/NBD and Pareto/NBD stories,
39 weeks, purchase times rounded to whole days as exports give them), then fits
each model with smbgrowth and with lifetimes (``BetaGeoFitter``,
``ParetoNBDFitter``), each in a fresh process so that peak memory is its own,
and prints times, log-likelihoods, peak RSS and the ratio.

    python benchmarks/bench_clv.py [--customers 1000000] [--repeat 3] [--pareto-customers N]
                                   [--models bgnbd,pareto]

lifetimes is a benchmark-only dependency (``pip install -e .[bench]``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work"


def simulate_bgnbd(n: int, seed: int = 7, weeks: float = 39.0) -> np.ndarray:
    """Frequency, recency, T of ``n`` BG/NBD customers (r .24, α 4.4, a .79, b 2.4)."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(0.243, 1 / 4.414, n)
    p = rng.beta(0.793, 2.426, n)
    t_end = np.round(rng.uniform(weeks / 4, weeks, n) * 7) / 7
    x = np.zeros(n)
    t_x = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    now = np.zeros(n)
    while alive.any():
        gap = rng.exponential(1 / np.maximum(lam, 1e-12))
        now = np.where(alive, now + gap, now)
        bought = alive & (now < t_end)
        x += bought
        t_x = np.where(bought, now, t_x)
        alive = bought & (rng.random(n) >= p)
    return np.column_stack([x, np.floor(t_x * 7) / 7, t_end])


def simulate_pareto(n: int, seed: int = 8, weeks: float = 39.0) -> np.ndarray:
    """Frequency, recency, T of ``n`` Pareto/NBD customers (r .55, α 10.6, s .61, β 11.7)."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(0.553, 1 / 10.578, n)
    mu = rng.gamma(0.606, 1 / 11.669, n)
    t_end = np.round(rng.uniform(weeks / 4, weeks, n) * 7) / 7
    life = np.minimum(rng.exponential(1 / mu), t_end)
    x = rng.poisson(lam * life)
    # Given x purchases in (0, life], the last one is the maximum of x uniforms.
    last = np.where(x > 0, life * rng.random(n) ** (1 / np.maximum(x, 1)), 0.0)
    return np.column_stack([x, np.floor(last * 7) / 7, t_end])


CHILD = """
import json, resource, sys, time
import numpy as np
data = np.load(sys.argv[3])
x, t_x, T = data[:, 0], data[:, 1], data[:, 2]
which, model = sys.argv[1], sys.argv[2]
# Imports are not timed: only the fit is.
if which == "smbgrowth":
    from smbgrowth.models.clv import BetaGeoModel, ParetoNBDModel
else:
    import pandas as pd
    from lifetimes import BetaGeoFitter, ParetoNBDFitter
t = time.perf_counter()
if which == "smbgrowth":
    fitted = (BetaGeoModel() if model == "bgnbd" else ParetoNBDModel()).fit(x, t_x, T)
    ll, params = fitted.log_likelihood_, fitted.params_
else:
    f = BetaGeoFitter() if model == "bgnbd" else ParetoNBDFitter()
    f.fit(pd.Series(x), pd.Series(t_x), pd.Series(T))
    params = {k: float(v) for k, v in f.params_.items()}
    ll = float("nan")
elapsed = time.perf_counter() - t
if which == "lifetimes":
    # lifetimes reports a rescaled objective; score its parameters with the same
    # likelihood smbgrowth maximises, outside the timed part.
    from smbgrowth.models.clv import BetaGeoModel, pareto_nbd_log_likelihood
    if model == "bgnbd":
        scorer = BetaGeoModel()
        scorer.params_ = params
        ll = float(scorer.log_likelihood(x, t_x, T).sum())
    else:
        ll = float(pareto_nbd_log_likelihood(x, t_x, T, **params).sum())
print(json.dumps({"seconds": elapsed, "log_likelihood": ll, "params": params,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(which: str, model: str, data: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, which, model, str(data)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{which} {model} failed: {done.stderr.strip().splitlines()[-3:]}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def compare(model: str, data: np.ndarray, repeat: int) -> None:
    path = WORK / f"clv-{model}-{len(data)}.npy"
    np.save(path, data)
    runs: dict[str, list[dict[str, object]]] = {"smbgrowth": [], "lifetimes": []}
    for _ in range(repeat):
        for which in runs:
            runs[which].append(run(which, model, path))
    print(f"{model}, {len(data):,} customers:")
    med = {}
    for which, results in runs.items():
        med[which] = statistics.median(float(r["seconds"]) for r in results)  # type: ignore[arg-type]
        peak = statistics.median(float(r["peak_mb"]) for r in results)  # type: ignore[arg-type]
        last = results[-1]
        params = ", ".join(f"{k} {v:.4f}" for k, v in last["params"].items())  # type: ignore[union-attr]
        print(
            f"  {which:>9}: median {med[which]:.2f} s, peak RSS {peak:.0f} MB, "
            f"log-likelihood {float(last['log_likelihood']):,.4f}; {params}"  # type: ignore[arg-type]
        )
    print(f"  speed-up smbgrowth vs lifetimes: {med['lifetimes'] / med['smbgrowth']:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--pareto-customers", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--models", default="bgnbd,pareto", help="comma-separated")
    args = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    models = args.models.split(",")
    if "bgnbd" in models:
        compare("bgnbd", simulate_bgnbd(args.customers), args.repeat)
    if "pareto" in models:
        compare("pareto", simulate_pareto(args.pareto_customers or args.customers), args.repeat)


if __name__ == "__main__":
    main()
