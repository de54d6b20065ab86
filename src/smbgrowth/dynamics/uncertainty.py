"""Parameter uncertainty: distributions of a model's constants and Monte Carlo runs.

A constant's value is its central estimate; a :class:`Distribution` says how
uncertain it is. :func:`monte_carlo` draws every uncertain constant once per
run from a seeded ``numpy.random.Generator`` and advances all runs together,
so the same seed gives the same runs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from smbgrowth.dynamics.engine import SimulationResult, simulate
from smbgrowth.dynamics.model import Model
from smbgrowth.errors import SimulationError

__all__ = ["Distribution", "monte_carlo", "sample_constants"]

FloatArray = npt.NDArray[np.float64]
Kind = Literal["normal", "lognormal", "uniform", "triangular"]


@dataclass(frozen=True)
class Distribution:
    """How uncertain a constant is.

    ``normal``: mean ``a``, standard deviation ``b`` (draws below ``low`` are
    clipped to it when ``low`` is set, e.g. 0 for a rate). ``lognormal``: median
    ``a``, standard deviation of the log ``b``. ``uniform``: from ``a`` to ``b``.
    ``triangular``: from ``a`` to ``c`` with mode ``b``.
    """

    kind: Kind
    a: float
    b: float
    c: float = math.nan
    low: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("normal", "lognormal", "uniform", "triangular"):
            raise SimulationError(
                f"unknown distribution {self.kind!r}; use normal, lognormal, uniform or triangular"
            )
        if self.kind in ("normal", "lognormal") and not self.b >= 0:
            raise SimulationError(f"{self.kind} spread must be non-negative, got {self.b}")
        if self.kind == "lognormal" and not self.a > 0:
            raise SimulationError(f"lognormal median must be positive, got {self.a}")
        if self.kind == "uniform" and not self.a <= self.b:
            raise SimulationError(f"uniform needs low <= high, got {self.a} and {self.b}")
        if self.kind == "triangular" and not self.a <= self.b <= self.c:
            raise SimulationError(
                f"triangular needs low <= mode <= high, got {self.a}, {self.b}, {self.c}"
            )

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        """Return ``size`` independent draws."""
        if self.kind == "normal":
            values = rng.normal(self.a, self.b, size)
        elif self.kind == "lognormal":
            values = self.a * np.exp(rng.normal(0.0, self.b, size))
        elif self.kind == "uniform":
            values = rng.uniform(self.a, self.b, size)
        else:
            values = (
                rng.triangular(self.a, self.b, self.c, size)
                if self.a < self.c
                else np.full(size, self.a)
            )
        if self.low is not None:
            values = np.maximum(values, self.low)
        out: FloatArray = values.astype(np.float64)
        return out


def sample_constants(
    model: Model,
    distributions: Mapping[str, Distribution],
    runs: int,
    rng: np.random.Generator,
) -> dict[str, FloatArray]:
    """Return one draw per run of every constant that has a distribution, in name order."""
    known = {c.name for c in model.constants}
    unknown = sorted(set(distributions) - known)
    if unknown:
        raise SimulationError(
            f"distribution for {unknown[0]!r}, which is not a constant of {model.name}; "
            f"its constants are: {', '.join(sorted(known))}"
        )
    return {name: distributions[name].sample(rng, runs) for name in sorted(distributions)}


def monte_carlo(
    model: Model,
    distributions: Mapping[str, Distribution],
    *,
    runs: int,
    seed: int,
    t_end: float,
    dt: float,
    method: Literal["euler", "rk4"] = "euler",
    record_every: float | None = None,
    overrides: Mapping[str, FloatArray | float] | None = None,
    record: Sequence[str] | None = None,
) -> tuple[SimulationResult, dict[str, FloatArray]]:
    """Run ``runs`` simulations with constants drawn from their distributions.

    Returns the result and the drawn constants (for sensitivity analysis).
    ``overrides`` fix constants for every run (a scenario) on top of the draws.
    """
    if not isinstance(runs, int) or runs < 1:
        raise SimulationError(f"runs must be a positive integer, got {runs!r}")
    drawn = sample_constants(model, distributions, runs, np.random.default_rng(seed))
    values: dict[str, FloatArray | float] = dict(drawn)
    values.update(overrides or {})
    result = simulate(
        model,
        t_end=t_end,
        dt=dt,
        method=method,
        runs=runs,
        overrides=values,
        record_every=record_every,
        record=record,
    )
    return result, drawn
