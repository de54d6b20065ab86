"""ROI of automation opportunities under uncertainty, on the calibrated growth model.

Each opportunity becomes an automation scenario of the business model
(:mod:`smbgrowth.dynamics.business`) and runs in one Monte Carlo batch with
the baseline: the model's uncertain parameters are drawn once and shared by
every opportunity (common random numbers), and each opportunity's stated
effect ranges and costs are drawn per run (triangular ``[low, likely, high]``).

How effects reach the model:

* time saved on **support** work (the model's operations work is the support
  tickets it was calibrated on) adds capacity, ``1 / (1 − saved) − 1``, and
  its error reduction removes rework — service quality, churn and hiring
  follow from the model;
* time saved on any **other** process (invoicing, bookkeeping, posting...) is
  a monthly cost saving: hours saved × the process's hourly cost ×
  ``freed_time_value`` (the share of freed time that turns into money);
* avoided errors save ``runs × error rate × error reduction × cost of an error``
  a month on every matched process;
* conversion lift, churn reduction and word-of-mouth lift change the model's
  lead conversion, churn and referrals.

All effects grow with adoption (``ramp_months``; 0 = at once); set-up is paid
over ``setup_months`` from ``start_month``. The net benefit of an opportunity
in a run is its cash minus the baseline's cash, month by month; from it come
the payback month (the first month the cumulative net benefit is positive),
the NPV at an annual discount rate (monthly flows discounted at
``(1 + rate) ** (month / 12)``), the probability of a positive return within
12 months and the effect on cash runway.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from smbgrowth.dynamics.business import business_model
from smbgrowth.dynamics.calibration import Calibration
from smbgrowth.dynamics.engine import simulate
from smbgrowth.dynamics.uncertainty import sample_constants
from smbgrowth.errors import ConfigError, SimulationError
from smbgrowth.jsonsafe import json_safe
from smbgrowth.plan.catalogue import Opportunity

__all__ = [
    "MODELLED_DEPARTMENTS",
    "OpportunityROI",
    "ProcessLike",
    "ROIResult",
    "evaluate_opportunities",
    "matched_processes",
]

FloatArray = npt.NDArray[np.float64]
QUANTILES = (10, 50, 90)
#: Departments whose work is the growth model's operations work (support tickets).
MODELLED_DEPARTMENTS = frozenset({"support", "customer service", "customer support"})


class ProcessLike(Protocol):
    """What the ROI needs of a process of the inventory."""

    @property
    def name(self) -> str: ...
    @property
    def department(self) -> str: ...
    @property
    def runs_per_month(self) -> float: ...
    @property
    def minutes_per_run(self) -> float: ...
    @property
    def error_rate(self) -> float: ...
    @property
    def error_cost(self) -> float: ...
    @property
    def hourly_cost(self) -> float: ...


def matched_processes(opportunity: Opportunity, inventory: Sequence[ProcessLike]) -> list[Any]:
    """The inventory's processes an opportunity works on."""
    return [p for p in inventory if opportunity.processes.matches(p.name, p.department)]


def _q(values: FloatArray) -> dict[str, float]:
    p = np.percentile(values, QUANTILES)
    return {f"p{q}": float(v) for q, v in zip(QUANTILES, p, strict=True)}


def _q_months(values: FloatArray) -> dict[str, float | None]:
    """Percentiles of months where ``inf`` (never within the horizon) stays ``None``."""
    p = np.percentile(values, QUANTILES, method="inverted_cdf")
    return {
        f"p{q}": (None if math.isinf(v) else float(v)) for q, v in zip(QUANTILES, p, strict=True)
    }


@dataclass(frozen=True)
class OpportunityROI:
    """One opportunity's distribution of returns against the baseline.

    Money is in the workspace currency; ``payback_month`` quantiles are months
    from the start of the plan (None: not within the horizon);
    ``monthly_net_benefit`` is the average monthly net benefit in months 7–12
    (after set-up and most of the ramp-up), the yardstick for realised ROI.
    """

    opportunity: Opportunity
    processes: list[str]
    hours_saved: dict[str, float]
    cost_saving: dict[str, float]
    setup_cost: dict[str, float]
    monthly_cost: dict[str, float]
    npv: dict[str, float]
    p_npv_positive: float
    payback_month: dict[str, float | None]
    p_payback_12: float
    net_benefit: dict[str, float]
    monthly_net_benefit: dict[str, float]
    revenue_change: dict[str, float]
    customers_change: dict[str, float]
    p_cash_out: float
    runway_months: float | None
    cumulative: pd.DataFrame
    model_effects: dict[str, float] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.opportunity.id

    def to_dict(self, *, cumulative: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.opportunity.id,
            "name": self.opportunity.name,
            "driver": self.opportunity.driver,
            "processes": self.processes,
            "hours_saved": self.hours_saved,
            "cost_saving": self.cost_saving,
            "setup_cost": self.setup_cost,
            "monthly_cost": self.monthly_cost,
            "npv": self.npv,
            "p_npv_positive": self.p_npv_positive,
            "payback_month": self.payback_month,
            "p_payback_12": self.p_payback_12,
            "net_benefit": self.net_benefit,
            "monthly_net_benefit": self.monthly_net_benefit,
            "revenue_change": self.revenue_change,
            "customers_change": self.customers_change,
            "p_cash_out": self.p_cash_out,
            "runway_months": self.runway_months,
            "model_effects": self.model_effects,
        }
        if cumulative:
            out["cumulative"] = self.cumulative.to_dict(orient="records")
        return json_safe(out)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class ROIResult:
    """Every opportunity's ROI and the baseline's cash risk, from one batch."""

    months: int
    runs: int
    seed: int | None
    discount_rate: float
    freed_time_value: float
    parameter_uncertainty: bool
    baseline_p_cash_out: float
    baseline_runway_months: float | None
    opportunities: list[OpportunityROI]

    def get(self, opportunity_id: str) -> OpportunityROI:
        for o in self.opportunities:
            if o.id == opportunity_id:
                return o
        raise KeyError(opportunity_id)


def _levers(
    opportunity: Opportunity,
    processes: Sequence[ProcessLike],
    n: int,
    rng: np.random.Generator,
    *,
    freed_time_value: float,
    start_month: int,
    central: bool,
) -> tuple[dict[str, FloatArray], FloatArray]:
    """Model constants (per run) for one opportunity, and the hours it saves a month."""

    def draw(r: Any) -> FloatArray:
        if r is None:
            return np.zeros(n)
        return np.full(n, r.likely) if central else np.asarray(r.sample(n, rng), dtype=float)

    e = opportunity.effects
    saved = draw(e.time_saved)
    fewer_errors = draw(e.error_reduction)
    modelled = [p for p in processes if p.department.strip().lower() in MODELLED_DEPARTMENTS]
    other = [p for p in processes if p not in modelled]
    hours = sum(p.runs_per_month * p.minutes_per_run / 60.0 for p in processes)
    hours_saved = saved * hours
    labour = sum(p.runs_per_month * p.minutes_per_run / 60.0 * p.hourly_cost for p in other)
    errors = sum(p.runs_per_month * p.error_rate * p.error_cost for p in processes)
    saving = saved * labour * freed_time_value + fewer_errors * errors
    levers = {
        "automation_start": np.full(n, float(start_month - 1)),
        "automation_setup_cost": draw(opportunity.setup_cost),
        "automation_setup_months": np.full(n, opportunity.setup_months),
        "automation_monthly_cost": draw(opportunity.monthly_cost),
        "automation_ramp_time": np.full(n, opportunity.ramp_months),
        "automation_capacity_gain": (1.0 / (1.0 - np.minimum(saved, 0.95)) - 1.0)
        if modelled
        else np.zeros(n),
        "automation_error_reduction": fewer_errors if modelled else np.zeros(n),
        "automation_cost_saving": saving,
        "automation_conversion_lift": draw(e.conversion_lift),
        "automation_churn_reduction": draw(e.churn_reduction),
        "automation_wom_lift": draw(e.wom_lift),
    }
    return levers, hours_saved


def evaluate_opportunities(
    calibration: Calibration,
    opportunities: Sequence[Opportunity],
    inventory: Sequence[ProcessLike],
    *,
    months: int = 24,
    runs: int = 500,
    seed: int | None = 0,
    discount_rate: float = 0.10,
    freed_time_value: float = 1.0,
    start_month: int = 1,
    parameter_uncertainty: bool = True,
    deterministic: bool = False,
    dt: float = 0.25,
) -> ROIResult:
    """Run every opportunity against the baseline and summarise its returns.

    Parameters
    ----------
    calibration
        The calibrated business (:func:`~smbgrowth.dynamics.calibration.calibrate_workspace`).
    opportunities
        The candidates (from :func:`~smbgrowth.plan.catalogue.load_catalogue`).
    inventory
        The process inventory (:func:`~smbgrowth.plan.inventory.process_inventory`).
    runs
        Monte Carlo runs per opportunity.
    discount_rate
        Annual rate for the NPV.
    freed_time_value
        Share of the hours saved on processes outside the model that turns into money.
    parameter_uncertainty
        Draw the model's uncertain parameters too (else only the effect ranges vary).
    deterministic
        One run, every range at its likely value and every parameter at its centre.
    """
    if not 1 <= months <= 120:
        raise ConfigError(f"months must be between 1 and 120, got {months}")
    if not deterministic and not 1 <= runs <= 100_000:
        raise ConfigError(f"runs must be between 1 and 100,000, got {runs}")
    if not -0.5 < discount_rate <= 1.0:
        raise ConfigError(f"the discount rate must be between -50 % and 100 %, got {discount_rate}")
    if not 0 <= freed_time_value <= 1:
        raise ConfigError(f"freed_time_value must be between 0 and 1, got {freed_time_value}")
    if not 1 <= start_month <= months:
        raise ConfigError(f"start_month must be between 1 and {months}, got {start_month}")
    ids = [o.id for o in opportunities]
    if len(set(ids)) != len(ids):
        raise ConfigError("opportunity ids must be unique")
    params = calibration.params
    model = business_model(params, months=months)
    constants = model.compiled.constants
    n = 1 if deterministic else runs
    rng = np.random.default_rng(seed)
    draws: dict[str, FloatArray] = {}
    if parameter_uncertainty and not deterministic:
        distributions = {k: d for k, d in calibration.distributions.items() if k in constants}
        draws = sample_constants(model, distributions, n, rng)
    blocks = 1 + len(opportunities)
    total = n * blocks
    columns: dict[str, FloatArray] = {}

    def column(name: str) -> FloatArray:
        if name not in columns:
            base = draws.get(name)
            columns[name] = (
                np.tile(base, blocks) if base is not None else np.full(total, constants[name])
            )
        return columns[name]

    for name in draws:
        column(name)
    hours: list[FloatArray] = []
    matched: list[list[Any]] = []
    effects: list[dict[str, FloatArray]] = []
    for j, opportunity in enumerate(opportunities):
        processes = matched_processes(opportunity, inventory)
        levers, saved = _levers(
            opportunity,
            processes,
            n,
            rng,
            freed_time_value=freed_time_value,
            start_month=start_month,
            central=deterministic,
        )
        block = slice((j + 1) * n, (j + 2) * n)
        for name, values in levers.items():
            if name not in constants:
                raise SimulationError(f"the business model has no constant {name!r}")
            column(name)[block] = values
        hours.append(saved)
        matched.append(processes)
        effects.append(levers)
    try:
        result = simulate(
            model,
            t_end=float(months),
            dt=dt,
            runs=total,
            overrides=dict(columns),
            record=("cash", "customers", "total_revenue"),
        )
    except SimulationError as exc:
        raise SimulationError(f"the business model could not be simulated: {exc}") from None
    per = round(1 / dt)
    ends = slice(per, months * per + 1, per)
    cash_steps = result["cash"]
    cash_m = cash_steps[ends]
    customers_end = result["customers"][-1]
    revenue = result["total_revenue"][: months * per].sum(axis=0) * dt
    base = slice(0, n)
    discount = (1.0 + discount_rate) ** (-np.arange(1, months + 1) / 12.0)
    year = min(12, months)
    window = slice(max(0, year - 6), year)
    labels = np.arange(1, months + 1)

    def runway(block: slice) -> tuple[float, float | None]:
        negative = cash_steps[:, block] < 0
        out = negative.any(axis=0)
        first = np.where(out, np.argmax(negative, axis=0) * dt, np.inf)
        median = float(np.median(first))
        return float(np.mean(out)), (None if math.isinf(median) else median)

    base_out, base_runway = runway(base)
    outcomes: list[OpportunityROI] = []
    for j, opportunity in enumerate(opportunities):
        block = slice((j + 1) * n, (j + 2) * n)
        cumulative = cash_m[:, block] - cash_m[:, base]
        flows = np.diff(cumulative, axis=0, prepend=0.0)
        npv = (flows * discount[:, None]).sum(axis=0)
        positive = cumulative > 0
        payback = np.where(positive.any(axis=0), np.argmax(positive, axis=0) + 1.0, np.inf)
        pct = np.percentile(cumulative, QUANTILES, axis=1)
        fan = pd.DataFrame({"month_index": labels})
        for q, row in zip(QUANTILES, pct, strict=True):
            fan[f"net_benefit_p{q}"] = row
        p_out, run_months = runway(block)
        lev = effects[j]
        outcomes.append(
            OpportunityROI(
                opportunity=opportunity,
                processes=[p.name for p in matched[j]],
                hours_saved=_q(hours[j]),
                cost_saving=_q(lev["automation_cost_saving"]),
                setup_cost=_q(lev["automation_setup_cost"]),
                monthly_cost=_q(lev["automation_monthly_cost"]),
                npv=_q(npv),
                p_npv_positive=float(np.mean(npv > 0)),
                payback_month=_q_months(payback),
                p_payback_12=float(np.mean(cumulative[year - 1] > 0)),
                net_benefit=_q(cumulative[-1]),
                monthly_net_benefit=_q(flows[window].mean(axis=0)),
                revenue_change=_q(revenue[block] - revenue[base]),
                customers_change=_q(customers_end[block] - customers_end[base]),
                p_cash_out=p_out,
                runway_months=run_months,
                cumulative=fan,
                model_effects={
                    k.removeprefix("automation_"): float(np.median(v))
                    for k, v in lev.items()
                    if k
                    in (
                        "automation_capacity_gain",
                        "automation_error_reduction",
                        "automation_cost_saving",
                        "automation_conversion_lift",
                        "automation_churn_reduction",
                        "automation_wom_lift",
                    )
                    and float(np.median(v)) != 0.0
                },
            )
        )
    return ROIResult(
        months=months,
        runs=n,
        seed=None if deterministic else seed,
        discount_rate=discount_rate,
        freed_time_value=freed_time_value,
        parameter_uncertainty=parameter_uncertainty and not deterministic,
        baseline_p_cash_out=base_out,
        baseline_runway_months=base_runway,
        opportunities=outcomes,
    )
