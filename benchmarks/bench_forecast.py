"""Demand forecasting: 10,000 SKUs × 3 years of daily sales, with a model chosen per SKU.

Simulates daily unit sales per SKU (Poisson around a level with growth or
decline, a weekly and a yearly cycle; a third of the SKUs slow movers), then

* smbgrowth: totals by week (Monday weeks, as ``sku_demand`` does) and
  ``Forecaster("week", 13, n_windows=2, refit=False)`` — rolling-origin
  backtest of AutoETS, Theta and seasonal-naive (above 200 series AutoARIMA
  is left out, the standard Theta method replaces AutoTheta and ETS searches
  additive-error models only, by default),
  the best per SKU by MASE, then a 13-week forecast with 80/95 % intervals
  from the chosen model only;
* the reference, statsforecast alone doing the same work the usual way:
  ``cross_validation`` of the same three models on the same weekly series
  and windows, then ``forecast`` with all three models (selection by
  MASE left to the user).

Both use two processes (``n_jobs=2``). Prints times, the mean backtest MASE
of the chosen models against seasonal-naive's, and the ratio.

    python benchmarks/bench_forecast.py [--skus 10000] [--repeat 3]
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
import json, sys, time, warnings
import pandas as pd
warnings.simplefilter("ignore")
daily = pd.read_parquet(sys.argv[1])
from smbgrowth.models.forecast import Forecaster
t = time.perf_counter()
weekly = (daily.groupby(["series_id", pd.Grouper(key="period", freq="W-MON", label="left",
                                                 closed="left")])["y"].sum().reset_index())
result = Forecaster("week", 13, n_windows=2, refit=False, n_jobs=2).forecast(weekly)
seconds = time.perf_counter() - t
# The baseline is a candidate, so the chosen model never scores worse than it; report
# how much better it is on average, and how often another model was chosen.
chosen = [s.score().mase for s in result.series if s.score() is not None]
base = [s.score(s.baseline).mase for s in result.series if s.score(s.baseline) is not None]
other = sum(1 for s in result.series if s.model != s.baseline) / len(result.series)
print(json.dumps({"seconds": seconds, "mase": sum(chosen) / len(chosen),
                  "baseline_mase": sum(base) / len(base), "other": other,
                  "rows": len(result.frame())}))
"""

REFERENCE = """
import json, sys, time, warnings
import pandas as pd
warnings.simplefilter("ignore")
from statsforecast import StatsForecast
from statsforecast.models import AutoETS, SeasonalNaive, Theta
daily = pd.read_parquet(sys.argv[1])
t = time.perf_counter()
weekly = (daily.groupby(["series_id", pd.Grouper(key="period", freq="W-MON", label="left",
                                                 closed="left")])["y"].sum().reset_index()
          .rename(columns={"series_id": "unique_id", "period": "ds"}))
models = [AutoETS(season_length=1, model="AZN"), Theta(season_length=52),
          SeasonalNaive(season_length=52)]
sf = StatsForecast(models=models, freq="W-MON", n_jobs=2)
cv = sf.cross_validation(df=weekly, h=13, n_windows=2, step_size=13, level=[80, 95], refit=False)
fc = sf.forecast(df=weekly, h=13, level=[80, 95])
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "rows": len(fc)}))
"""


def simulate(skus: int, days: int = 1095, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    weekly = 1 + 0.25 * np.sin(2 * np.pi * t / 7)
    yearly = 1 + 0.3 * np.sin(2 * np.pi * (t - 300) / 365.25)
    frames = []
    for start in range(0, skus, 1000):
        k = min(1000, skus - start)
        level = rng.lognormal(1.0, 1.0, k)[:, None]
        level[: k // 3] *= 0.1  # slow movers
        growth = 1 + rng.uniform(-0.3, 0.6, k)[:, None] * t[None, :] / days
        lam = level * growth * weekly[None, :] * yearly[None, :]
        y = rng.poisson(lam).astype(np.float32)
        frames.append(
            pd.DataFrame(
                {
                    "series_id": np.repeat([f"SKU-{start + i:05d}" for i in range(k)], days),
                    "period": np.tile(pd.date_range("2023-11-27", periods=days, freq="D"), k),
                    "y": y.ravel(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def run(script: str, data: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", script, str(data)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr.strip().splitlines()[-1])
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    data = WORK / f"sku_daily_{args.skus}.parquet"
    if not data.exists():
        simulate(args.skus).to_parquet(data, index=False)
    mine, theirs = [], []
    for i in range(args.repeat):
        a = run(SMBGROWTH, data)
        b = run(REFERENCE, data)
        mine.append(a["seconds"])
        theirs.append(b["seconds"])
        print(
            f"run {i + 1}: smbgrowth {a['seconds']:.1f} s, statsforecast alone "
            f"{b['seconds']:.1f} s; backtest MASE {a['mase']:.3f} for the chosen models vs "
            f"{a['baseline_mase']:.3f} for seasonal-naive; a model other than the baseline "
            f"chosen for {a['other']:.0%} of SKUs",
            flush=True,
        )
    m, t = statistics.median(mine), statistics.median(theirs)
    print(
        f"{args.skus:,} SKUs × 3 years daily (median of {args.repeat}): smbgrowth {m:.1f} s, "
        f"statsforecast alone {t:.1f} s, ratio {t / m:.2f}×"
    )


if __name__ == "__main__":
    main()
