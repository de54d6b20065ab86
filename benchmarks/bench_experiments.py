"""Experiment analysis: 10,000,000 units × 3 variants × 3 metrics, smbgrowth against pandas + scipy.

Simulates one row per unit (variant, a conversion flag, revenue with 88 %
zeros and a lognormal tail, an order count) and analyses it

* with smbgrowth (``analyze_experiment`` on the DataFrame: sufficient
  statistics in DuckDB, then frequentist comparisons, Bayesian chance to win,
  SRM, Holm correction and the readout), and
* the way an analyst would by hand: pandas ``groupby`` for the sizes, means
  and variances, then ``statsmodels.proportions_ztest`` for the conversion and
  ``scipy.stats.ttest_ind_from_stats`` (Welch) for revenue and orders.

Each run is a fresh process so that its peak memory is its own; the data is
read from the same Parquet file by both. Prints medians and the ratio.

    python benchmarks/bench_experiments.py [--units 10000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work"

SMBGROWTH = """
import json, resource, sys, time, warnings
import pandas as pd
frame = pd.read_parquet(sys.argv[1])
from smbgrowth.models.experiments import analyze_experiment
warnings.simplefilter("ignore")
t = time.perf_counter()
result = analyze_experiment(frame, unit="unit", variant="variant",
                            metrics=["converted", "revenue", "orders"])
seconds = time.perf_counter() - t
c = result.comparison("revenue", "B")
print(json.dumps({"seconds": seconds, "p_revenue_B": c.p_value, "units": result.units,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

REFERENCE = """
import json, resource, sys, time
import numpy as np, pandas as pd
from scipy import stats
from statsmodels.stats.proportion import proportions_ztest
frame = pd.read_parquet(sys.argv[1])
t = time.perf_counter()
if frame.unit.duplicated().any():
    raise SystemExit("units repeat")
g = frame.groupby("variant", observed=True)
agg = g.agg(n=("unit", "size"), conv=("converted", "sum"),
            rev_mean=("revenue", "mean"), rev_var=("revenue", "var"),
            ord_mean=("orders", "mean"), ord_var=("orders", "var"))
out = {}
for v in ["B", "C"]:
    a, b = agg.loc["A"], agg.loc[v]
    out[v] = {
        "conv": proportions_ztest([b.conv, a.conv], [b.n, a.n])[1],
        "revenue": stats.ttest_ind_from_stats(b.rev_mean, np.sqrt(b.rev_var), b.n,
                                              a.rev_mean, np.sqrt(a.rev_var), a.n, False).pvalue,
        "orders": stats.ttest_ind_from_stats(b.ord_mean, np.sqrt(b.ord_var), b.n,
                                             a.ord_mean, np.sqrt(a.ord_var), a.n, False).pvalue,
    }
srm = stats.chisquare(agg.n.to_numpy()).pvalue
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "p_revenue_B": out["B"]["revenue"],
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def simulate(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    variant = rng.integers(0, 3, n)
    lift = np.array([1.0, 1.02, 0.99])[variant]
    converted = rng.random(n) < 0.12 * lift
    orders = np.where(converted, rng.poisson(0.4, n) + 1, 0).astype(np.int32)
    revenue = np.where(converted, rng.lognormal(3.4, 1.1, n) * orders, 0.0)
    return pd.DataFrame(
        {
            # Ids in random order, as hashed user ids are: no shortcut for sorted ids.
            "unit": rng.permutation(n).astype(np.int64),
            "variant": pd.Categorical.from_codes(variant, ["A", "B", "C"]),
            "converted": converted.astype(np.int8),
            "revenue": revenue.round(2),
            "orders": orders,
        }
    )


def run(script: str, data: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", script, str(data)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr.strip().splitlines()[-1])
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    data = WORK / f"experiment_shuffled_{args.units}.parquet"
    if not data.exists():
        simulate(args.units).to_parquet(data, index=False)
    mine: list[float] = []
    theirs: list[float] = []
    peaks: dict[str, list[float]] = {"smbgrowth": [], "pandas": []}
    for i in range(args.repeat):
        a = run(SMBGROWTH, data)
        b = run(REFERENCE, data)
        mine.append(float(a["seconds"]))  # type: ignore[arg-type]
        theirs.append(float(b["seconds"]))  # type: ignore[arg-type]
        peaks["smbgrowth"].append(float(a["peak_mb"]))  # type: ignore[arg-type]
        peaks["pandas"].append(float(b["peak_mb"]))  # type: ignore[arg-type]
        same = abs(float(a["p_revenue_B"]) - float(b["p_revenue_B"])) < 1e-9  # type: ignore[arg-type]
        print(
            f"run {i + 1}: smbgrowth {a['seconds']:.2f} s, pandas+scipy {b['seconds']:.2f} s, "
            f"revenue p-value B equal: {same}",
            flush=True,
        )
    m, t = statistics.median(mine), statistics.median(theirs)
    print(
        f"{args.units:,} units × 3 variants × 3 metrics (median of {args.repeat}): "
        f"smbgrowth {m:.2f} s, peak {statistics.median(peaks['smbgrowth']):.0f} MB; "
        f"pandas + scipy {t:.2f} s, peak {statistics.median(peaks['pandas']):.0f} MB; "
        f"ratio {t / m:.2f}×"
    )


if __name__ == "__main__":
    main()
