"""Project the calibrated business under scenarios, with uncertainty, and explain it.

:func:`simulate_business` runs the baseline and every scenario in one batch of
Monte Carlo runs (the same draws for all: common random numbers), summarises
revenue, customers, cash, runway and the probability of running out of cash
with per-month percentiles (fan charts), compares each scenario with the
baseline run by run, and explains the central run of each: the binding
constraint over time, the sensitivity of the baseline to its uncertain
parameters, and the lifecycle stage of the simulated trajectory.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from smbgrowth.dynamics.business import business_model
from smbgrowth.dynamics.calibration import Calibration
from smbgrowth.dynamics.engine import simulate
from smbgrowth.dynamics.explain import (
    BindingPeriod,
    SensitivityBar,
    binding_constraints,
    projected_stage,
    sensitivity,
)
from smbgrowth.dynamics.model import Model
from smbgrowth.dynamics.scenarios import Scenario, scenario_overrides
from smbgrowth.dynamics.uncertainty import sample_constants
from smbgrowth.errors import ConfigError, ModelError, SimulationError
from smbgrowth.jsonsafe import json_safe

__all__ = ["BusinessSimulation", "ScenarioOutcome", "simulate_business"]

FloatArray = npt.NDArray[np.float64]
QUANTILES = (10, 50, 90)
#: Variables kept for every run (per step, for exact monthly totals).
RECORDED = ("total_revenue", "customers", "cash", "subscribers", "profit", "staff")


def _q(values: FloatArray) -> dict[str, float]:
    p = np.percentile(values, QUANTILES)
    return {f"p{q}": float(v) for q, v in zip(QUANTILES, p, strict=True)}


@dataclass(frozen=True)
class ScenarioOutcome:
    """One scenario's distribution of outcomes and its explanation."""

    name: str
    description: str
    revenue: dict[str, float]
    revenue_last_month: dict[str, float]
    customers_end: dict[str, float]
    cash_end: dict[str, float]
    p_cash_out: float
    runway_months: float | None
    vs_baseline: dict[str, Any]
    binding_constraints: list[BindingPeriod]
    fan: pd.DataFrame
    stage: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, float] = field(default_factory=dict)

    def to_dict(self, *, fan: bool = True) -> dict[str, Any]:
        """JSON-ready form (the fan chart as a list of months)."""
        out: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "revenue": self.revenue,
            "revenue_last_month": self.revenue_last_month,
            "customers_end": self.customers_end,
            "cash_end": self.cash_end,
            "p_cash_out": self.p_cash_out,
            "runway_months": self.runway_months,
            "vs_baseline": self.vs_baseline,
            "binding_constraints": [b.to_dict() for b in self.binding_constraints],
            "stage": self.stage,
        }
        if fan:
            out["fan"] = self.fan.to_dict(orient="records")
        return json_safe(out)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class BusinessSimulation:
    """Baseline and scenarios: outcomes, fan charts, tornado data and the model used.

    ``clipped`` counts, per flow, the steps (over all runs) in which the flow was
    cut so that a stock that cannot go negative did not (e.g. work done limited
    by the backlog there is).
    """

    runs: int
    months: int
    seed: int | None
    deterministic: bool
    scenarios: list[ScenarioOutcome]
    sensitivity: dict[str, list[SensitivityBar]]
    model: Model
    trajectories: pd.DataFrame
    clipped: dict[str, int] = field(default_factory=dict)

    def to_dict(self, *, fan: bool = True) -> dict[str, Any]:
        """JSON-ready form: ``{"runs", "months", "scenarios": [...], "sensitivity", "clipped"}``."""
        return {
            "runs": self.runs,
            "months": self.months,
            "seed": self.seed,
            "deterministic": self.deterministic,
            "scenarios": [s.to_dict(fan=fan) for s in self.scenarios],
            "sensitivity": {k: [b.to_dict() for b in bars] for k, bars in self.sensitivity.items()},
            "clipped": dict(self.clipped),
        }


def _monthly_sum(values: FloatArray, per: int, months: int, dt: float) -> FloatArray:
    """(steps+1, runs) rates -> (months, runs) monthly totals, as Euler integrates them."""
    runs = values.shape[1]
    out: FloatArray = values[: months * per].reshape(months, per, runs).sum(axis=1) * dt
    return out


def simulate_business(
    calibration: Calibration,
    scenarios: Sequence[Scenario] = (),
    *,
    months: int = 24,
    runs: int = 1000,
    seed: int | None = 0,
    deterministic: bool = False,
    dt: float = 0.25,
    explain: bool = True,
) -> BusinessSimulation:
    """Run the baseline and ``scenarios`` for ``months`` months.

    Parameters
    ----------
    calibration
        The calibrated business (:func:`~smbgrowth.dynamics.calibration.calibrate_workspace`).
    scenarios
        What-if scenarios compared with the baseline.
    runs
        Monte Carlo runs per scenario (ignored when ``deterministic``).
    seed
        Seed of the parameter draws: the same seed gives identical results.
    deterministic
        One run per scenario with every parameter at its central value.
    explain
        Also compute binding constraints, sensitivity and the stage.
    """
    if not 1 <= months <= 240:
        raise ConfigError(f"months must be between 1 and 240, got {months}")
    if not deterministic and not 1 <= runs <= 1_000_000:
        raise ConfigError(f"runs must be between 1 and 1,000,000, got {runs}")
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names) or "baseline" in names:
        raise ConfigError("scenario names must be unique and not 'baseline'")
    params = calibration.params
    model = business_model(params, months=months)
    constants = model.compiled.constants
    all_scenarios = [Scenario(name="baseline", description="The business as it runs today.")]
    all_scenarios += list(scenarios)
    settings: list[dict[str, float]] = []
    for s in all_scenarios:
        values = scenario_overrides(s, params)
        unknown = [k for k in values if k not in constants]
        if unknown:
            raise ConfigError(
                f"scenario {s.name!r}: {unknown[0]!r} is not a parameter of the model; "
                "see `smbgrowth simulate --parameters`"
            )
        settings.append(values)

    n = 1 if deterministic else runs
    distributions = {k: d for k, d in calibration.distributions.items() if k in constants}
    draws: dict[str, FloatArray] = {}
    if not deterministic:
        draws = sample_constants(model, distributions, n, np.random.default_rng(seed))
    total = n * len(all_scenarios)
    overrides: dict[str, FloatArray | float] = {}
    touched = set(draws) | {k for values in settings for k in values}
    for name in touched:
        column = np.empty(total)
        for i, values in enumerate(settings):
            block = slice(i * n, (i + 1) * n)
            if name in values:
                column[block] = values[name]
            elif name in draws:
                column[block] = draws[name]
            else:
                column[block] = constants[name]
        overrides[name] = column
    try:
        result = simulate(
            model, t_end=float(months), dt=dt, runs=total, overrides=overrides, record=RECORDED
        )
    except SimulationError as exc:
        raise SimulationError(f"the business model could not be simulated: {exc}") from None
    per = round(1 / dt)
    revenue_m = _monthly_sum(result["total_revenue"], per, months, dt)
    profit_m = _monthly_sum(result["profit"], per, months, dt)
    ends = slice(per, months * per + 1, per)
    customers_m = result["customers"][ends]
    cash_m = result["cash"][ends]
    subscribers_m = result["subscribers"][ends]
    staff_m = result["staff"][ends]
    cash_steps = result["cash"]

    history = calibration.history
    hist_revenue = (
        history.totals["revenue"]
        + history.totals.get("subscription_revenue", 0.0)
        + history.totals.get("other_revenue", 0.0)
    ).to_list()
    hist_customers = (
        history.new_by_segment.sum(axis=1).cumsum() + history.customers_before
    ).to_list()
    first_month = history.months[0]
    last = pd.Period(history.months[-1], freq="M")
    labels = [str(last + i) for i in range(1, months + 1)]

    central = {
        k: d for k, d in ((e.name, e.value) for e in calibration.estimates) if k in constants
    }
    outcomes: list[ScenarioOutcome] = []
    frames: list[pd.DataFrame] = []
    base_revenue = revenue_m[:, :n].sum(axis=0)
    base_cash = cash_m[-1, :n]
    for i, (scenario, values) in enumerate(zip(all_scenarios, settings, strict=True)):
        block = slice(i * n, (i + 1) * n)
        rev_total = revenue_m[:, block].sum(axis=0)
        negative = cash_steps[:, block] < 0
        out = negative.any(axis=0)
        first_negative = np.where(out, np.argmax(negative, axis=0) * dt, np.inf)
        runway = float(np.median(first_negative))
        fan = pd.DataFrame({"month": labels, "month_index": np.arange(1, months + 1)})
        for label, data in (
            ("revenue", revenue_m[:, block]),
            ("customers", customers_m[:, block]),
            ("cash", cash_m[:, block]),
            ("profit", profit_m[:, block]),
            ("subscribers", subscribers_m[:, block]),
            ("staff", staff_m[:, block]),
        ):
            p = np.percentile(data, QUANTILES, axis=1)
            for q, row in zip(QUANTILES, p, strict=True):
                fan[f"{label}_p{q}"] = row
        frame = fan.copy()
        frame.insert(0, "scenario", scenario.name)
        frames.append(frame)
        diff = rev_total - base_revenue
        cash_diff = cash_m[-1, block] - base_cash
        vs = (
            {}
            if i == 0
            else {
                "revenue": _q(diff),
                "cash_end": _q(cash_diff),
                "p_more_revenue": float(np.mean(diff > 0)),
                "p_more_cash": float(np.mean(cash_diff > 0)),
            }
        )
        periods: list[BindingPeriod] = []
        stage: dict[str, Any] = {}
        if explain:
            periods = binding_constraints(model, {**central, **values}, months=months, dt=dt)
            median_revenue = np.median(revenue_m[:, block], axis=1).tolist()
            ever = params.customers_ever + np.cumsum(
                np.median(
                    _monthly_sum_conversions(model, {**central, **values}, months, dt), axis=1
                )
            )
            try:
                stage = projected_stage(
                    hist_revenue,
                    hist_customers,
                    median_revenue,
                    ever.tolist(),
                    first_month=first_month,
                )
            except ModelError as exc:  # the stage is context, not the result
                stage = {"stage": None, "evidence": [f"stage not judged: {exc}"]}
        outcomes.append(
            ScenarioOutcome(
                name=scenario.name,
                description=scenario.description,
                revenue=_q(rev_total),
                revenue_last_month=_q(revenue_m[-1, block]),
                customers_end=_q(customers_m[-1, block]),
                cash_end=_q(cash_m[-1, block]),
                p_cash_out=float(np.mean(out)),
                runway_months=None if math.isinf(runway) else runway,
                vs_baseline=vs,
                binding_constraints=periods,
                fan=fan,
                stage=stage,
                overrides=values,
            )
        )
    bars: dict[str, list[SensitivityBar]] = {}
    if explain and distributions:
        bars = sensitivity(model, distributions, central, months=months, dt=dt)
    return BusinessSimulation(
        runs=n,
        months=months,
        seed=None if deterministic else seed,
        deterministic=deterministic,
        scenarios=outcomes,
        sensitivity=bars,
        model=model,
        trajectories=pd.concat(frames, ignore_index=True),
        clipped={k: v for k, v in result.clipped.items() if v},
    )


def _monthly_sum_conversions(
    model: Model, overrides: Mapping[str, float], months: int, dt: float
) -> FloatArray:
    """New customers a month in the central run (for the cumulative-customers curve)."""
    result = simulate(
        model, t_end=float(months), dt=dt, overrides=dict(overrides), record=("conversions",)
    )
    return _monthly_sum(result["conversions"], round(1 / dt), months, dt)
