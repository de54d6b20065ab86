"""What-if scenarios and policies for the growth model, as YAML files.

A scenario changes levers of the business from a given month (month 1 is the
first simulated month)::

    name: Support automation
    description: A ticket-triage bot answers the simple questions.
    marketing:             # paid spend
      change: 20%          # all paid channels; -100% stops them
      channels: {google_ads: 50%}   # on top, per channel
      from_month: 3
    hire:
      people: 2
      from_month: 2
    price:
      change: 5%
      from_month: 1
    automation:
      name: Ticket triage bot
      start_month: 2
      setup_cost: 6000
      setup_months: 2
      monthly_cost: 300
      time_saved_per_task: 30%   # or capacity_gain: 40%
      error_reduction: 50%
      churn_reduction: 0%        # also conversion_lift, wom_lift, cost_saving (a month)
      ramp_months: 3
    parameters:            # any other model constant, e.g. a tougher market
      churn_quality_sensitivity: 3

Percentages are written ``20%`` or as fractions (``0.2``). Scenarios only
change constants, so every scenario runs in the same batch as the baseline
with the same Monte Carlo draws (common random numbers): differences between
scenarios are the scenario's effect, not noise. ``dynamics/scenarios/`` ships
examples.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import pydantic
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from smbgrowth.dynamics.business import BusinessParameters, channel_key
from smbgrowth.errors import ConfigError
from smbgrowth.yamlfile import load_model, validation_error

__all__ = [
    "Automation",
    "Hire",
    "Marketing",
    "Price",
    "Scenario",
    "builtin_scenarios",
    "load_scenario",
    "scenario_overrides",
]


def _percent(value: Any) -> Any:
    """``"20%"`` -> 0.2; numbers pass through."""
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        match = re.fullmatch(r"([+-]?\d+(?:\.\d+)?)%", text)
        if match:
            return float(match.group(1)) / 100
    return value


Share = Annotated[float, BeforeValidator(_percent)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Marketing(_Strict):
    """Change paid spend: all channels by ``change``, some by ``channels`` on top."""

    change: Share = Field(default=0.0, ge=-1.0, le=20.0)
    channels: dict[str, Share] = Field(default_factory=dict)
    from_month: int = Field(default=1, ge=1)


class Hire(_Strict):
    """Add ``people`` to the team from ``from_month`` (they still take the hiring delay)."""

    people: float = Field(gt=0, le=1000)
    from_month: int = Field(default=1, ge=1)


class Price(_Strict):
    """Change prices by ``change`` from ``from_month``."""

    change: Share = Field(ge=-0.9, le=5.0)
    from_month: int = Field(default=1, ge=1)


class Automation(_Strict):
    """An automation investment: its cost, what it saves, how fast it is adopted.

    Give either ``capacity_gain`` (extra capacity at full adoption) or
    ``time_saved_per_task`` (share of each task's time saved; the capacity
    gain is then ``1 / (1 − saved) − 1``). Customer-facing automations
    lift lead conversion (``conversion_lift``), word of mouth (``wom_lift``)
    or remove a share of churn (``churn_reduction``); back-office ones save
    ``cost_saving`` a month (hours and errors outside the modelled work). All
    effects grow with adoption (``ramp_months``; 0 = at once).
    """

    name: str = "automation"
    start_month: int = Field(default=1, ge=1)
    setup_cost: float = Field(default=0.0, ge=0)
    setup_months: float = Field(default=1.0, gt=0)
    monthly_cost: float = Field(default=0.0, ge=0)
    capacity_gain: Share | None = Field(default=None, ge=0, le=10)
    time_saved_per_task: Share | None = Field(default=None, ge=0, lt=1)
    error_reduction: Share = Field(default=0.0, ge=0, le=1)
    conversion_lift: Share = Field(default=0.0, ge=-1, le=10)
    churn_reduction: Share = Field(default=0.0, ge=0, le=1)
    wom_lift: Share = Field(default=0.0, ge=-1, le=10)
    cost_saving: float = Field(default=0.0, ge=0)
    ramp_months: float = Field(default=3.0, ge=0)

    def gain(self) -> float:
        """Capacity gain at full adoption."""
        if self.capacity_gain is not None and self.time_saved_per_task is not None:
            raise ConfigError(
                f"automation {self.name!r}: give capacity_gain or time_saved_per_task, not both"
            )
        if self.time_saved_per_task is not None:
            return 1.0 / (1.0 - self.time_saved_per_task) - 1.0
        return self.capacity_gain or 0.0


class Scenario(_Strict):
    """A named set of changes to the baseline (see the module doc)."""

    name: str = "scenario"
    description: str = ""
    marketing: Marketing | None = None
    hire: Hire | None = None
    price: Price | None = None
    automation: Automation | None = None
    parameters: dict[str, float] = Field(default_factory=dict)


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario YAML file; errors are one line naming the file and field."""
    scenario = load_model(
        path,
        Scenario,
        "scenario file",
        "name, marketing, hire, price, automation, parameters",
    )
    if scenario.name == "scenario":
        scenario = scenario.model_copy(update={"name": Path(path).stem.replace("_", " ")})
    return scenario


def scenario_from_mapping(data: dict[str, Any], where: str = "scenario") -> Scenario:
    """Validate a scenario given as a mapping (e.g. from the web)."""
    try:
        return Scenario.model_validate(data)
    except pydantic.ValidationError as exc:
        raise validation_error(exc, where, Scenario) from None


def builtin_scenarios() -> dict[str, Path]:
    """The example scenario files shipped with smbgrowth, by file stem."""
    folder = resources.files("smbgrowth.dynamics") / "scenarios"
    out: dict[str, Path] = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".yaml"):
            out[entry.name.removesuffix(".yaml")] = Path(str(entry))
    return dict(sorted(out.items()))


def scenario_overrides(scenario: Scenario, params: BusinessParameters) -> dict[str, float]:
    """Model constants a scenario sets, for a business with ``params``.

    Months in the file count from 1 (the first simulated month = model time 0).
    """
    out: dict[str, float] = {}
    where = f"scenario {scenario.name!r}"
    if scenario.marketing is not None:
        m = scenario.marketing
        out["spend_change"] = m.change
        out["spend_change_from"] = float(m.from_month - 1)
        known = {channel_key(ch): ch for ch in params.channels}
        for ch, change in m.channels.items():
            k = channel_key(ch)
            if k not in known:
                raise ConfigError(
                    f"{where}: no paid channel {ch!r}; the paid channels are "
                    f"{', '.join(params.channels) or 'none'}"
                )
            out[f"spend_change_{k}"] = change
    if scenario.hire is not None:
        out["extra_staff"] = scenario.hire.people
        out["extra_staff_from"] = float(scenario.hire.from_month - 1)
    if scenario.price is not None:
        out["price_change"] = scenario.price.change
        out["price_change_from"] = float(scenario.price.from_month - 1)
    if scenario.automation is not None:
        a = scenario.automation
        out.update(
            automation_start=float(a.start_month - 1),
            automation_setup_cost=a.setup_cost,
            automation_setup_months=a.setup_months,
            automation_monthly_cost=a.monthly_cost,
            automation_capacity_gain=a.gain(),
            automation_error_reduction=a.error_reduction,
            automation_ramp_time=a.ramp_months,
            automation_conversion_lift=a.conversion_lift,
            automation_churn_reduction=a.churn_reduction,
            automation_wom_lift=a.wom_lift,
            automation_cost_saving=a.cost_saving,
        )
    for name, value in scenario.parameters.items():
        if name in out:
            raise ConfigError(f"{where}: parameter {name!r} is already set by the scenario")
        out[name] = float(value)
    return out
