"""Simulate a system-dynamics model for many runs at once with numpy.

Every variable is an array with one value per run, so 1,000 Monte Carlo runs
cost about as much Python work as one. Runs differ only through ``overrides``
(per-run constant values). The engine is deterministic: the same model, step,
method and overrides give bit-identical results.

Non-negative stocks: when a step would take a non-negative stock below zero,
the flows draining it (its positive outflows and negative inflows) are scaled
down together so the stock lands exactly on zero; every clipped flow value is
counted per flow and per run. Non-negative flows are clipped at zero the same
way. Auxiliaries read flows before the stock clipping (they see what the
equations asked for); the recorded flows are the clipped ones that moved
material.

Backends: ``backend="numpy"`` is the array engine of this module;
``backend="compiled"`` runs the same steps as scalar machine code generated per
model (numba, see :mod:`smbgrowth.dynamics.compiled`), with the same results
(to the rounding of ``exp``, ``log`` and ``**``), clip counts and errors.
``"auto"`` (the default) picks the compiled backend when numba is installed
and ``runs × steps`` is at least :data:`AUTO_COMPILED_RUN_STEPS`, where
compiling (1-5 s once per model structure and process) pays for itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from smbgrowth.dynamics.model import CompiledModel, Model
from smbgrowth.errors import SimulationError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["AUTO_COMPILED_RUN_STEPS", "Backend", "SimulationResult", "simulate"]

FloatArray = npt.NDArray[np.float64]
Backend = Literal["auto", "numpy", "compiled"]

AUTO_COMPILED_RUN_STEPS = 100_000
"""``backend="auto"`` compiles when ``runs × steps`` reaches this.

The numpy engine advances about 6 million run-steps a second (business model
and market growth alike), the compiled kernels 20-40 million on two cores, and
compiling costs 1-5 s once per model structure in a process (plus about 0.5 s
to import numba). From this size on (e.g. 1,000 runs of 100 steps, 17 ms with
numpy) compiling pays for itself once a model is simulated a few dozen times,
as Monte Carlo studies, calibrations and sweeps do, and a single batch of
about 10^7 run-steps or more pays for it at once. Smaller simulations stay on
numpy and never wait for a compiler. Pass ``backend`` to choose explicitly.
"""


@dataclass(frozen=True)
class SimulationResult:
    """Trajectories of every stock, flow and auxiliary: arrays of shape (time, runs)."""

    model_name: str
    method: str
    dt: float
    runs: int
    time: FloatArray
    stocks: dict[str, FloatArray]
    flows: dict[str, FloatArray]
    auxiliaries: dict[str, FloatArray]
    clipped: dict[str, int]
    clipped_by_run: dict[str, npt.NDArray[np.int64]]

    def __getitem__(self, name: str) -> FloatArray:
        """Return the (time, runs) trajectory of one variable."""
        for group in (self.stocks, self.flows, self.auxiliaries):
            if name in group:
                return group[name]
        known = ", ".join([*self.stocks, *self.flows, *self.auxiliaries])
        raise SimulationError(f"no variable {name!r} in this result; variables: {known}")

    @property
    def variables(self) -> list[str]:
        """Return the recorded variable names: stocks, flows, then auxiliaries."""
        return [*self.stocks, *self.flows, *self.auxiliaries]

    def frame(self, run: int = 0) -> pd.DataFrame:
        """Return one run as a table: a ``time`` column and one column per variable."""
        import pandas as pd

        if not -self.runs <= run < self.runs:
            raise SimulationError(f"run {run} does not exist; this result has {self.runs} runs")
        data: dict[str, FloatArray] = {"time": self.time}
        for name in self.variables:
            data[name] = self[name][:, run]
        return pd.DataFrame(data)

    def percentiles(self, name: str, q: Sequence[float] = (10, 50, 90)) -> pd.DataFrame:
        """Return, for each time, the given percentiles of a variable across runs.

        Columns are ``time`` and ``p10``, ``p50``... (``p2.5`` for 2.5).
        """
        import pandas as pd

        values = np.percentile(self[name], list(q), axis=1)
        data: dict[str, FloatArray] = {"time": self.time}
        for level, row in zip(q, values, strict=True):
            data[f"p{float(level):g}"] = row
        return pd.DataFrame(data)


def simulate(
    model: Model,
    *,
    t_end: float,
    dt: float,
    method: Literal["euler", "rk4"] = "euler",
    runs: int = 1,
    overrides: Mapping[str, FloatArray | float] | None = None,
    record_every: float | None = None,
    record: Sequence[str] | None = None,
    block_runs: int = 4096,
    backend: Backend = "auto",
) -> SimulationResult:
    """Run the model from t = 0 to ``t_end`` with step ``dt`` for ``runs`` runs at once.

    Parameters
    ----------
    model
        The model to run.
    t_end, dt
        End time and step, in the model's time unit; ``t_end`` must be a whole
        number of steps.
    method
        ``"euler"`` (what Stella, Vensim and PySD use by default) or ``"rk4"``.
    runs
        Number of runs advanced together.
    overrides
        Constant values per run: a float for all runs or an array of length ``runs``.
    record_every
        Time between recorded points (a multiple of ``dt``); default every step.
        The final time is always recorded.
    record
        Names of the stocks, flows and auxiliaries to keep (default: all). Large
        Monte Carlo batches keep only what they need.
    block_runs
        Runs advanced together in one block of arrays; larger batches are split
        into blocks that fit the processor's cache (results are identical).
        Numpy backend only.
    backend
        ``"numpy"``, ``"compiled"`` (numba; same results) or ``"auto"``: compiled
        when numba is installed and ``runs × steps >= AUTO_COMPILED_RUN_STEPS``.
    """
    compiled = model.compiled
    if not (dt > 0 and np.isfinite(dt)):
        raise SimulationError(f"dt must be a positive number, got {dt}")
    steps = round(t_end / dt)
    if t_end <= 0 or abs(steps * dt - t_end) > 1e-9 * max(1.0, t_end):
        raise SimulationError(f"t_end={t_end} must be positive and a whole number of dt={dt}")
    if method not in ("euler", "rk4"):
        raise SimulationError(f"unknown method {method!r}; methods: euler, rk4")
    if not isinstance(runs, int) or runs < 1:
        raise SimulationError(f"runs must be a positive integer, got {runs!r}")
    stride = 1
    if record_every is not None:
        stride = round(record_every / dt)
        if stride < 1 or abs(stride * dt - record_every) > 1e-9 * max(1.0, record_every):
            raise SimulationError(f"record_every={record_every} must be a multiple of dt={dt}")
    recorded = list(range(0, steps + 1, stride))
    if recorded[-1] != steps:
        recorded.append(steps)

    if not isinstance(block_runs, int) or block_runs < 1:
        raise SimulationError(f"block_runs must be a positive integer, got {block_runs!r}")
    if backend not in ("auto", "numpy", "compiled"):
        raise SimulationError(f"unknown backend {backend!r}; backends: auto, numpy, compiled")
    keep = _recorded_names(compiled, record)
    constants = _constants(compiled, runs, overrides or {})
    use_compiled = backend == "compiled" or (
        backend == "auto" and runs * steps >= AUTO_COMPILED_RUN_STEPS and _numba_available()
    )
    if use_compiled:
        if not _numba_available():
            raise SimulationError('backend="compiled" needs numba (pip install numba)')
        stocks, flows, auxiliaries, clipped_by_run, final = _run_compiled(
            model, runs, constants, keep, steps, dt, method, recorded
        )
    else:
        blocks = []
        for start in range(0, runs, block_runs):
            size = min(block_runs, runs - start)
            part = {name: values[start : start + size] for name, values in constants.items()}
            runner = _Runner(compiled, size, part, keep)
            with np.errstate(all="ignore"):
                state = runner.initial_state()
                blocks.append(runner.run(state, steps, dt, method, recorded))
        if len(blocks) == 1:
            stocks, flows, auxiliaries, clipped_by_run, final = blocks[0]
        else:
            stocks, flows, auxiliaries, final = (
                {
                    name: np.concatenate([b[g][name] for b in blocks], axis=-1)
                    for name in blocks[0][g]
                }
                for g in (0, 1, 2, 4)
            )
            clipped_by_run = {
                name: np.concatenate([b[3][name] for b in blocks]) for name in blocks[0][3]
            }
    time = np.array([i * dt for i in recorded], dtype=float)
    _check_final(final, stocks, steps * dt)
    _check_finite(time, {**stocks, **flows, **auxiliaries})
    return SimulationResult(
        model_name=model.name,
        method=method,
        dt=float(dt),
        runs=runs,
        time=time,
        stocks=stocks,
        flows=flows,
        auxiliaries=auxiliaries,
        clipped={name: int(c.sum()) for name, c in clipped_by_run.items()},
        clipped_by_run=clipped_by_run,
    )


def _constants(
    compiled: CompiledModel, runs: int, overrides: Mapping[str, FloatArray | float]
) -> dict[str, FloatArray]:
    unknown = [name for name in overrides if name not in compiled.constants]
    if unknown:
        raise SimulationError(
            f"cannot override {unknown[0]!r}: not a constant; "
            f"constants: {', '.join(compiled.constants) or 'none'}"
        )
    values: dict[str, FloatArray] = {}
    for name, default in compiled.constants.items():
        raw = np.asarray(overrides.get(name, default), dtype=float)
        if raw.ndim == 0:
            values[name] = np.full(runs, float(raw))
        elif raw.shape == (runs,):
            values[name] = raw.copy()
        else:
            raise SimulationError(
                f"override of {name!r} has shape {raw.shape}; give a number or {runs} values"
            )
    return values


def _recorded_names(compiled: CompiledModel, record: Sequence[str] | None) -> frozenset[str]:
    every = (*compiled.stock_names, *compiled.flow_names, *compiled.auxiliary_names)
    if record is None:
        return frozenset(every)
    unknown = [name for name in record if name not in every]
    if unknown:
        raise SimulationError(
            f"cannot record {unknown[0]!r}: not a stock, flow or auxiliary of the model"
        )
    return frozenset(record)


def _numba_available() -> bool:
    from smbgrowth.dynamics.compiled import available

    return available()


def _run_compiled(
    model: Model,
    runs: int,
    constants: dict[str, FloatArray],
    keep: frozenset[str],
    steps: int,
    dt: float,
    method: str,
    recorded: list[int],
) -> tuple[
    dict[str, FloatArray],
    dict[str, FloatArray],
    dict[str, FloatArray],
    dict[str, npt.NDArray[np.int64]],
    dict[str, FloatArray],
]:
    """Run every run with the compiled kernel; same outputs as the numpy blocks."""
    from smbgrowth.dynamics.compiled import run_kernel

    c = model.compiled
    runner = _Runner(c, runs, constants, keep)
    with np.errstate(all="ignore"):
        initial = runner.initial_state()
    groups = (c.stock_names, c.flow_names, c.auxiliary_names)
    record = [name for group in groups for name in group if name in keep]
    output = run_kernel(
        model,
        method=method,
        record=record,
        constants=constants,
        initial=initial,
        steps=steps,
        dt=dt,
        recorded=recorded,
        runs=runs,
    )
    values = {name: output.out[k] for k, name in enumerate(record)}
    stocks, flows, auxiliaries = (
        {name: values[name] for name in group if name in values} for group in groups
    )
    clipped_by_run = {name: output.clips[j] for j, name in enumerate(c.flow_names)}
    final = {name: output.final[i] for i, name in enumerate(c.stock_names)}
    return stocks, flows, auxiliaries, clipped_by_run, final


def _check_final(
    final: Mapping[str, FloatArray], recorded: Mapping[str, FloatArray], t_end: float
) -> None:
    """Refuse non-finite final values of stocks that were not recorded."""
    for name, values in final.items():
        if name not in recorded and not np.isfinite(values).all():
            run = int(np.argmax(~np.isfinite(values)))
            raise SimulationError(
                f"stock {name!r} is not a finite number ({values[run]}) by time "
                f"{t_end:g} in run {run}; check divisions by zero and log arguments"
            )


def _check_finite(time: FloatArray, series: Mapping[str, FloatArray]) -> None:
    for name, values in series.items():
        bad = ~np.isfinite(values)
        if bad.any():
            row, run = np.argwhere(bad)[0]
            raise SimulationError(
                f"{name!r} is not a finite number ({values[row, run]}) at time "
                f"{time[row]:g} in run {run}; check divisions by zero and log arguments"
            )


class _Runner:
    """Holds one simulation's compiled model, constants and clip counters."""

    def __init__(
        self,
        compiled: CompiledModel,
        runs: int,
        constants: dict[str, FloatArray],
        keep: frozenset[str],
    ) -> None:
        self.c = compiled
        self.keep = keep
        self.runs = runs
        self.constants = constants
        self.clips = {name: np.zeros(runs, dtype=np.int64) for name in compiled.flow_names}

    def as_runs(self, value: Any) -> FloatArray:
        array = np.asarray(value, dtype=float)
        if array.shape != (self.runs,):
            array = np.broadcast_to(array, (self.runs,)).copy()
        return array

    def initial_state(self) -> dict[str, FloatArray]:
        ns: dict[str, Any] = dict(self.constants)
        ns["time"] = np.zeros(self.runs)
        for name, number in self.c.initial_numbers.items():
            ns[name] = np.full(self.runs, number)
        for name, equation in self.c.initial_order:
            value = self.as_runs(equation.evaluate(ns))
            if name in self.c.non_negative_flows:
                value = np.maximum(value, 0.0)
            ns[name] = value
        state = {name: ns[name] for name in self.c.stock_names}
        for name in self.c.non_negative_stocks:
            negative = state[name] < 0
            if negative.any():
                run = int(np.argmax(negative))
                raise SimulationError(
                    f"stock {name!r} is non-negative but starts at {state[name][run]:g} "
                    f"in run {run}; fix its initial value or set non_negative=False"
                )
        return state

    def evaluate(
        self, state: Mapping[str, FloatArray], t: float, h: float, clips: dict[str, Any]
    ) -> dict[str, FloatArray]:
        """Compute auxiliaries and (clipped) flows for one state; mark clips in ``clips``."""
        ns: dict[str, Any] = dict(self.constants)
        ns.update(state)
        ns["time"] = np.full(self.runs, t)
        for name, equation in self.c.step_order:
            value = self.as_runs(equation.evaluate(ns))
            if name in self.c.non_negative_flows:
                negative = value < 0
                if negative.any():
                    clips[name] = clips[name] | negative
                    value = np.where(negative, 0.0, value)
            ns[name] = value
        self.limit_outflows(state, ns, h, clips)
        return ns

    def limit_outflows(
        self, state: Mapping[str, FloatArray], ns: dict[str, Any], h: float, clips: dict[str, Any]
    ) -> None:
        """Scale down the flows draining non-negative stocks that would go below zero."""
        for _ in range(len(self.c.non_negative_stocks) + 1):
            changed = False
            for stock in self.c.non_negative_stocks:
                outs, ins = self.c.outflows[stock], self.c.inflows[stock]
                if not outs and not ins:
                    continue
                net = state[stock] / h
                for f in ins:
                    net = net + ns[f]
                for f in outs:
                    net = net - ns[f]
                if net.min() >= 0:  # the common case: nothing to clip, skip the details
                    continue
                drain = np.zeros(self.runs)
                fill = np.zeros(self.runs)
                for f in outs:
                    drain += np.maximum(ns[f], 0.0)
                    fill += np.maximum(-ns[f], 0.0)
                for f in ins:
                    drain += np.maximum(-ns[f], 0.0)
                    fill += np.maximum(ns[f], 0.0)
                available = np.maximum(state[stock], 0.0) / h + fill
                over = drain > available * (1 + 1e-12)
                if not over.any():
                    continue
                changed = True
                factor = np.where(over, available / np.where(over, drain, 1.0), 1.0)
                for f in outs:
                    hit = over & (ns[f] > 0)
                    clips[f] = clips[f] | hit
                    ns[f] = np.where(hit, ns[f] * factor, ns[f])
                for f in ins:
                    hit = over & (ns[f] < 0)
                    clips[f] = clips[f] | hit
                    ns[f] = np.where(hit, ns[f] * factor, ns[f])
            if not changed:
                return

    def derivatives(self, ns: Mapping[str, FloatArray]) -> dict[str, FloatArray]:
        deriv: dict[str, FloatArray] = {}
        for stock in self.c.stock_names:
            total = np.zeros(self.runs)
            for f in self.c.inflows[stock]:
                total = total + ns[f]
            for f in self.c.outflows[stock]:
                total = total - ns[f]
            deriv[stock] = total
        return deriv

    def advance(
        self, state: dict[str, FloatArray], rate: dict[str, FloatArray], h: float
    ) -> dict[str, FloatArray]:
        new = {s: state[s] + h * rate[s] for s in self.c.stock_names}
        for s in self.c.non_negative_stocks:
            new[s] = np.maximum(new[s], 0.0)  # removes rounding below zero after a clip
        return new

    def run(
        self,
        state: dict[str, FloatArray],
        steps: int,
        dt: float,
        method: str,
        recorded: list[int],
    ) -> tuple[
        dict[str, FloatArray],
        dict[str, FloatArray],
        dict[str, FloatArray],
        dict[str, npt.NDArray[np.int64]],
        dict[str, FloatArray],
    ]:
        c = self.c
        n = len(recorded)
        record_at = {step: row for row, step in enumerate(recorded)}
        every = (*c.stock_names, *c.flow_names, *c.auxiliary_names)
        out = {name: np.empty((n, self.runs)) for name in every if name in self.keep}
        false = np.zeros(self.runs, dtype=bool)
        for i in range(steps + 1):
            t = i * dt
            clips: dict[str, Any] = dict.fromkeys(c.flow_names, false)
            ns = self.evaluate(state, t, dt, clips)
            row = record_at.get(i)
            if row is not None:
                for name in out:
                    out[name][row] = ns[name]
            if i == steps:
                break
            k1 = self.derivatives(ns)
            if method == "euler":
                state = self.advance(state, k1, dt)
            else:
                half = dt / 2
                k2 = self.derivatives(
                    self.evaluate(self.advance(state, k1, half), t + half, dt, clips)
                )
                k3 = self.derivatives(
                    self.evaluate(self.advance(state, k2, half), t + half, dt, clips)
                )
                k4 = self.derivatives(self.evaluate(self.advance(state, k3, dt), t + dt, dt, clips))
                rate = {s: (k1[s] + 2 * k2[s] + 2 * k3[s] + k4[s]) / 6 for s in c.stock_names}
                state = self.advance(state, rate, dt)
            for name, hit in clips.items():
                self.clips[name] += hit
        return (
            {s: out[s] for s in c.stock_names if s in out},
            {f: out[f] for f in c.flow_names if f in out},
            {a: out[a] for a in c.auxiliary_names if a in out},
            self.clips,
            state,
        )
