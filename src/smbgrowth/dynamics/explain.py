"""Why the business grows as it does: binding constraints, sensitivity and lifecycle stage.

Binding constraint (constraint dominance). The business model has three limits
that can be switched off from any month: capacity (service quality no longer
falls with load), cash (spend and hiring are never cut) and the market (it
stops shrinking: winning customers no longer uses it up). For every month ``m``
and limit, the model is run once more with that limit removed from ``m`` on;
all of those runs go through the engine as one batch. The limit *binds* at
``m`` when removing it raises the customer base (customers and subscribers)
``LOOKAHEAD`` months later by at least ``THRESHOLD`` (relative); the one that
raises it most is the binding one.
When none does, growth is limited by demand itself (acquisition spend, word
of mouth and churn). Consecutive months with the same binding limit form a
period, described with the model's own indicators over that period
(utilisation, the fall in service quality, the rise in churn, the cut in
spend, the share of the market left).

Sensitivity (tornado). Each uncertain constant is set to the 10th and the 90th
percentile of its distribution while the others stay at their central values;
the swing of an outcome (revenue over the horizon, cash at the end) ranks the
constants by how much their uncertainty matters.

Stage. The simulated trajectory (history followed by the projection's
central path) is judged by the same :class:`~smbgrowth.models.lifecycle.LifecycleModel`
as the KPI layer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from smbgrowth.dynamics.engine import simulate
from smbgrowth.dynamics.model import Model
from smbgrowth.dynamics.uncertainty import Distribution

__all__ = [
    "CONSTRAINTS",
    "LOOKAHEAD",
    "THRESHOLD",
    "BindingPeriod",
    "SensitivityBar",
    "binding_constraints",
    "sensitivity",
]

FloatArray = npt.NDArray[np.float64]

#: Months after the switch at which the gain in customers is measured.
LOOKAHEAD = 6
#: Relative gain in customers from removing a limit that makes it binding.
THRESHOLD = 0.02
#: The limits of the business model: switch constant and plain-language name.
CONSTRAINTS: dict[str, tuple[str, str]] = {
    "capacity": ("relax_capacity_from", "support and operations capacity"),
    "cash": ("relax_cash_from", "cash"),
    "market": ("relax_market_from", "the market running out"),
}
_INDICATORS = (
    "utilisation",
    "service_quality",
    "churn_multiplier",
    "cash_factor",
    "saturation",
    "cash",
    "total_revenue",
    "customers",
    "subscribers",
)


@dataclass(frozen=True)
class BindingPeriod:
    """A stretch of months during which one limit (or demand) holds growth back."""

    constraint: str
    from_month: int
    to_month: int
    customer_gain: float
    sentence: str
    evidence: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass(frozen=True)
class SensitivityBar:
    """One bar of the tornado: an uncertain constant and the outcome at its p10 and p90."""

    name: str
    low: float
    high: float
    outcome_at_low: float
    outcome_at_high: float
    swing: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def _pct(x: float) -> str:
    return f"{x * 100:+.0f} %"


def _describe(
    constraint: str, first: int, ind: Mapping[str, FloatArray]
) -> tuple[str, dict[str, float]]:
    """Evidence over a period from the central run's indicators (arrays over its months)."""
    name = "demand" if constraint == "demand" else CONSTRAINTS[constraint][1]
    if constraint == "capacity":
        util = float(np.max(ind["utilisation"]))
        quality = float(np.min(ind["service_quality"]))
        churn = float(np.max(ind["churn_multiplier"]))
        evidence = {"utilisation": util, "service_quality": quality, "churn_multiplier": churn}
        churn_text = "churn doubles" if churn >= 1.95 else f"churn ×{churn:.2f}"
        quality_text = f"service quality {_pct(quality - 1)}"
        detail = f"utilisation up to {util * 100:.0f} %, {quality_text}, {churn_text}"
    elif constraint == "cash":
        factor = float(np.min(ind["cash_factor"]))
        low = float(np.min(ind["cash"]))
        evidence = {"cash_factor": factor, "cash_low": low}
        detail = f"cash down to {low:,.0f}, marketing and hiring cut by {(1 - factor) * 100:.0f} %"
    elif constraint == "market":
        left = float(np.min(ind["saturation"]))
        evidence = {"market_left": left}
        detail = f"only {left * 100:.0f} % of the market is still to win"
    else:
        util = float(np.max(ind["utilisation"]))
        left = float(np.min(ind["saturation"]))
        evidence = {"utilisation": util, "market_left": left}
        detail = (
            "acquisition spend, word of mouth and churn set the pace; "
            f"utilisation at most {util * 100:.0f} %, {left * 100:.0f} % of the market left"
        )
    return f"from month {first} growth is limited by {name}: {detail}", evidence


def binding_constraints(
    model: Model,
    overrides: Mapping[str, float],
    *,
    months: int,
    dt: float = 0.25,
    lookahead: int = LOOKAHEAD,
    threshold: float = THRESHOLD,
) -> list[BindingPeriod]:
    """Which limit binds in which months of the central run (see the module doc).

    Months are numbered from 1 (the first simulated month).
    """
    starts = list(range(0, max(months - lookahead, 0) + 1))
    names = list(CONSTRAINTS)
    runs = 1 + len(names) * len(starts)
    values: dict[str, FloatArray | float] = {k: float(v) for k, v in overrides.items()}
    for switch, _ in CONSTRAINTS.values():
        values[switch] = np.full(runs, float(overrides.get(switch, 1e9)))
    for i, name in enumerate(names):
        switch = CONSTRAINTS[name][0]
        column = values[switch]
        assert isinstance(column, np.ndarray)
        column[1 + i * len(starts) : 1 + (i + 1) * len(starts)] = starts
    result = simulate(
        model,
        t_end=float(months),
        dt=dt,
        runs=runs,
        overrides=values,
        record_every=1.0,
        record=_INDICATORS,
    )
    revenue = result["customers"] + result["subscribers"]
    base = revenue[:, 0]
    best: list[tuple[str, float]] = []
    for j, m in enumerate(starts):
        at = m + lookahead
        gains = {}
        for i, name in enumerate(names):
            run = 1 + i * len(starts) + j
            gains[name] = float(revenue[at, run] / base[at] - 1) if base[at] > 0 else 0.0
        top = max(gains, key=lambda k: gains[k])
        best.append((top, gains[top]) if gains[top] >= threshold else ("demand", gains[top]))
    # Months past the last start share its verdict.
    while len(best) < months:
        best.append(best[-1])
    indicators = {k: result[k][:, 0] for k in _INDICATORS}
    periods: list[BindingPeriod] = []
    start = 0
    for i in range(1, len(best) + 1):
        if i == len(best) or best[i][0] != best[start][0]:
            name = best[start][0]
            window = {k: v[start : i + 1] for k, v in indicators.items()}
            sentence, evidence = _describe(name, start + 1, window)
            gain = max(g for _, g in best[start:i])
            periods.append(BindingPeriod(name, start + 1, i, round(gain, 4), sentence, evidence))
            start = i
    return periods


def _quantile(dist: Distribution, q: float) -> float:
    rng = np.random.default_rng(12345)
    return float(np.quantile(dist.sample(rng, 20_000), q))


def sensitivity(
    model: Model,
    distributions: Mapping[str, Distribution],
    central: Mapping[str, float],
    *,
    months: int,
    outcomes: Sequence[str] = ("revenue_total", "cash_end"),
    dt: float = 0.25,
) -> dict[str, list[SensitivityBar]]:
    """Tornado data per outcome: each uncertain constant at its p10 and p90, others central.

    Outcomes: ``revenue_total`` (revenue over the horizon), ``cash_end``,
    ``customers_end``. Bars are sorted by swing, largest first.
    """
    names = [n for n in sorted(distributions) if n in model.compiled.constants]
    if not names:
        return {o: [] for o in outcomes}
    runs = 1 + 2 * len(names)
    values: dict[str, FloatArray | float] = {k: float(v) for k, v in central.items()}
    lows = {n: _quantile(distributions[n], 0.1) for n in names}
    highs = {n: _quantile(distributions[n], 0.9) for n in names}
    for i, n in enumerate(names):
        column = np.full(runs, float(central.get(n, model.compiled.constants[n])))
        column[1 + 2 * i] = lows[n]
        column[2 + 2 * i] = highs[n]
        values[n] = column
    result = simulate(
        model,
        t_end=float(months),
        dt=dt,
        runs=runs,
        overrides=values,
        record=("total_revenue", "cash", "customers"),
    )
    per = round(1 / dt)
    revenue = result["total_revenue"][:-1].reshape(months, per, runs).sum(axis=(0, 1)) * dt
    measures = {
        "revenue_total": revenue,
        "cash_end": result["cash"][-1],
        "customers_end": result["customers"][-1],
    }
    out: dict[str, list[SensitivityBar]] = {}
    for outcome in outcomes:
        y = measures[outcome]
        bars = [
            SensitivityBar(
                n,
                lows[n],
                highs[n],
                float(y[1 + 2 * i]),
                float(y[2 + 2 * i]),
                float(abs(y[2 + 2 * i] - y[1 + 2 * i])),
            )
            for i, n in enumerate(names)
        ]
        out[outcome] = sorted(bars, key=lambda b: -b.swing)
    return out


def projected_stage(
    history_revenue: Sequence[float],
    history_customers: Sequence[float],
    projected_revenue: Sequence[float],
    projected_customers: Sequence[float],
    *,
    first_month: str,
) -> dict[str, Any]:
    """Lifecycle stage at the end of the projection, by the KPI layer's classifier.

    Revenue is monthly; customers cumulative (everyone ever acquired).
    """
    from smbgrowth.models.lifecycle import LifecycleModel

    revenue = [*history_revenue, *projected_revenue]
    customers = [*history_customers, *projected_customers]
    index = pd.period_range(first_month, periods=len(revenue), freq="M")
    model = LifecycleModel().fit(
        revenue=pd.Series(revenue, index=index),
        customers=pd.Series(customers[: len(revenue)], index=index[: len(customers)]),
    )
    judgement = model.explain().to_dict()
    judgement["months_projected"] = len(projected_revenue)
    return {
        k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in judgement.items()
    }
