"""A compiled backend for :func:`smbgrowth.dynamics.simulate`: one machine-code kernel per model.

The numpy engine evaluates each equation once per step for all runs at once,
so its cost is dominated by numpy call overhead and memory traffic. This
module instead writes the whole simulation of one run as scalar Python source
(every stock, flow, auxiliary and constant a local variable, time steps in a
loop), compiles it with numba (nogil, no fast-math) and runs contiguous slices
of the runs on a few threads. The generated code follows the numpy engine
statement by statement, in the same order of floating-point operations:

- equations: ``+ - * / **`` as IEEE operations (division by zero gives
  inf/nan as in numpy), comparisons give 1.0/0.0, ``min``/``max`` propagate
  NaN like ``np.minimum``/``np.maximum``, ``if_then_else`` tests ``!= 0``,
  lookups interpolate exactly as ``np.interp`` (flat beyond the ends);
- a non-negative flow below zero is set to zero and counted;
- flows draining a non-negative stock past zero are scaled down by the same
  iterative rule as the numpy engine's ``limit_outflows``; auxiliaries see the
  flows before this scaling, the recorded flows are the scaled ones;
- Euler and RK4 steps with ``max(0, ...)`` on non-negative stocks after every
  (sub)step; clips are counted once per step (all RK4 stages together) and
  not for the final evaluation.

Initial values (and their errors) are computed by the numpy engine; non-finite
values are reported by the engine from the recorded arrays and final stocks,
with the same messages. Results are bit for bit those of the numpy backend
except where numpy's own vectorised ``exp``/``log`` (e.g. on AVX-512) differ
from the C library's by an ulp.

Kernels are cached by their generated source (a pure function of the model's
structure, its lookup tables and what is recorded), so each model structure is
compiled once per process: about 1-1.5 s for market growth, 3 s (Euler) and
5 s (RK4) for the ~70-variable business model, plus about 0.5 s to import
numba the first time. Kernels are not cached on disk (the code is generated).

Running: the kernel releases the GIL; the runs are split into one contiguous
slice per available core, each run on its own thread (numba's own parallel
layer is not used: its default workqueue layer aborts the process on
concurrent use from several threads).
"""

from __future__ import annotations

import ast
import functools
import itertools
import math
import os
import threading
import time as _time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from smbgrowth.dynamics.model import CompiledModel, Lookup, Model
from smbgrowth.errors import SimulationError

__all__ = ["KernelOutput", "available", "generate_source", "kernel_for", "run_kernel"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_SCALE_MARGIN = 1 + 1e-12  # the numpy engine's tolerance before scaling flows down
_MIN_RUNS_PER_THREAD = 32
_SLICES_PER_THREAD = 4
_UNROLLED_LOOKUP = 16  # lookups up to this many points count, longer ones bisect


@functools.cache
def available() -> bool:
    """Return whether numba can be imported (the compiled backend can run)."""
    try:
        import numba  # noqa: F401
    except ImportError:  # pragma: no cover - numba is a dependency
        return False
    return True


@dataclass(frozen=True)
class KernelOutput:
    """What one compiled simulation returns."""

    out: FloatArray  # (recorded variable, recorded point, run)
    final: FloatArray  # (stock, run)
    clips: IntArray  # (flow, run)


class _Names:
    """Maps model names to the local variables of the generated code."""

    def __init__(self, c: CompiledModel, lookups: Mapping[str, int], suffix: str = "") -> None:
        self.local: dict[str, str] = {"time": "tt"}
        for i, name in enumerate(c.constants):
            self.local[name] = f"c{i}{suffix}"
        for i, name in enumerate(c.stock_names):
            self.local[name] = f"x{i}{suffix}"
        for i, (name, _) in enumerate(c.step_order):
            self.local[name] = f"v{i}{suffix}"
        self.lookups = lookups


def _number(value: float) -> str:
    if math.isnan(value):
        return "np.nan"
    if math.isinf(value):
        return "np.inf" if value > 0 else "(-np.inf)"
    return repr(float(value))


_BIN = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_CMP = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}


def _expr(node: ast.expr, names: _Names) -> str:
    """Return scalar source for one checked equation tree (see expressions.py)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return _number(float(node.value))
    if isinstance(node, ast.Name):
        return names.local[node.id]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        return f"_power({_expr(node.left, names)}, {_expr(node.right, names)})"
    if isinstance(node, ast.BinOp):
        op = _BIN[type(node.op)]
        return f"({_expr(node.left, names)} {op} {_expr(node.right, names)})"
    if isinstance(node, ast.UnaryOp):
        sign = "-" if isinstance(node.op, ast.USub) else "+"
        return f"({sign}{_expr(node.operand, names)})"
    if isinstance(node, ast.Compare):
        operands = [_expr(node.left, names), *(_expr(c, names) for c in node.comparators)]
        tests = [
            f"({operands[i]} {_CMP[type(op)]} {operands[i + 1]})" for i, op in enumerate(node.ops)
        ]
        return f"(1.0 if {' and '.join(tests)} else 0.0)"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        func = node.func.id
        args = [_expr(a, names) for a in node.args]
        if func in names.lookups:
            return f"lookup_{names.lookups[func]}({args[0]})"
        if func in ("min", "max"):
            pair = "_minimum" if func == "min" else "_maximum"
            result = args[0]
            for arg in args[1:]:
                result = f"{pair}({result}, {arg})"
            return result
        if func == "if_then_else":
            return f"({args[1]} if {args[0]} != 0.0 else {args[2]})"
        if func == "abs":
            return f"abs({args[0]})"
        if func in ("exp", "log"):
            return f"np.{func}({args[0]})"
    raise SimulationError(f"the compiled backend cannot translate {ast.unparse(node)!r}")


def _lookup_function(index: int, lookup: Lookup) -> str:
    """Return the source of ``np.interp(x, xs, ys)`` for one lookup table.

    The points are constants of the code (tuples), not arrays: passing arrays
    to a function costs numba atomic reference counts at every call. The slope
    of segment ``a`` is ``(ys[a+1] - ys[a]) / (xs[a+1] - xs[a])``, the double
    np.interp computes, and ``a`` is the segment its binary search finds.
    """
    xs, ys = lookup.xs, lookup.ys
    name = f"lookup_{index}"
    if len(xs) == 1:  # np.interp gives the one value everywhere, even for NaN
        return f"def {name}(x):\n    return {_number(ys[0])}\n"
    x, y = np.array(xs), np.array(ys)
    with np.errstate(all="ignore"):
        slopes = (y[1:] - y[:-1]) / (x[1:] - x[:-1])

    def table(values: Sequence[float]) -> str:
        return "(" + ", ".join(_number(float(v)) for v in values) + ",)"

    lines = [
        f"X{index} = {table(xs)}",
        f"Y{index} = {table(ys)}",
        f"S{index} = {table(slopes)}",
        f"def {name}(x):",
        "    if x != x:",
        "        return x",
        f"    if x < {_number(xs[0])}:",
        f"        return {_number(ys[0])}",
        f"    if x >= {_number(xs[-1])}:",
        f"        return {_number(ys[-1])}",
    ]
    if len(xs) <= _UNROLLED_LOOKUP:  # count the inner points at or below x
        lines.append("    a = 0" + "".join(f" + (x >= {_number(v)})" for v in xs[1:-1]))
    else:  # branch-free binary search for the last point at or below x
        lines += [
            "    a = 0",
            f"    length = {len(xs) - 1}",
            "    while length > 1:",
            "        half = length >> 1",
            f"        a = a + half if X{index}[a + half] <= x else a",
            "        length -= half",
        ]
    lines += [
        f"    xa = X{index}[a]",
        "    if xa == x:",
        f"        return Y{index}[a]",
        f"    slope = S{index}[a]",
        f"    value = slope * (x - xa) + Y{index}[a]",
        "    if value != value:",
        f"        value = slope * (x - X{index}[a + 1]) + Y{index}[a + 1]",
        f"        if value != value and Y{index}[a] == Y{index}[a + 1]:",
        f"            value = Y{index}[a]",
        "    return value",
    ]
    return "\n".join(lines) + "\n"


def generate_source(model: Model, method: str, record: Sequence[str]) -> str:
    """Return the Python source of the kernel simulating ``model`` run by run.

    The kernel is ``kernel(lo, hi, consts, init, rec_row, steps, dt,
    out, final, clips)`` and simulates runs ``lo`` to ``hi - 1``: ``consts`` is
    (constant, run), ``init`` (stock, run),
    ``rec_row[i]`` the output row of step ``i`` (-1: not recorded), ``out``
    (recorded variable, row, run), ``final`` (stock, run), ``clips`` (flow, run).

    The statement emitters take lane suffixes (one lane, ``""``, here): advancing
    two runs together with interleaved statements was measured slower, and
    compiling took four times longer.
    """
    c = model.compiled
    names = {"": _Names(c, {lk.name: i for i, lk in enumerate(model.lookups)})}
    base = names[""]
    flow_index = {name: i for i, name in enumerate(c.flow_names)}
    clippable: set[str] = set(c.non_negative_flows)
    limited = [s for s in c.non_negative_stocks if c.inflows[s] or c.outflows[s]]
    for stock in limited:
        clippable.update(c.inflows[stock], c.outflows[stock])
    flagged = [name for name in c.flow_names if name in clippable]
    limit_flows = [
        f for f in c.flow_names if any(f in c.inflows[s] or f in c.outflows[s] for s in limited)
    ]

    def flag(name: str, sfx: str) -> str:
        return f"g{flow_index[name]}{sfx}"

    def limit_vars(sfx: str) -> list[str]:
        return [names[sfx].local[f] for f in limit_flows]

    def limit_args(sfx: str) -> list[str]:
        return ["dt", *(names[sfx].local[s] for s in limited), *limit_vars(sfx)]

    lines: list[str] = []

    def emit(depth: int, text: str) -> None:
        lines.append("    " * depth + text)

    def evaluate(depth: int, sfxs: Sequence[str]) -> None:
        for name, equation in c.step_order:
            if equation.tree is None:  # pragma: no cover - every CompiledEquation keeps it
                raise SimulationError(f"{equation.owner} has no syntax tree to compile")
            for sfx in sfxs:
                var = names[sfx].local[name]
                emit(depth, f"{var} = {_expr(equation.tree, names[sfx])}")
                if name in c.non_negative_flows:
                    emit(depth, f"if {var} < 0.0:")
                    emit(depth + 1, f"{flag(name, sfx)} = 1")
                    emit(depth + 1, f"{var} = 0.0")
        if not limited:
            return
        # Fast path, the same as a first pass finding nothing to scale: every net
        # >= 0 (a NaN net never scales anything either). The scaling itself is a
        # separate function: inlined, its loop slows the common path down.
        # Here net = stock * (1 / dt) + inflows - outflows: only its sign is used, and
        # it differs from stock / dt + ... by an ulp of stock / dt, far below the
        # 1e-12 margin of the scaling test (identical when dt is a power of 2).
        for sfx in sfxs:
            for j, stock in enumerate(limited):
                net(depth, names[sfx], stock, f"net{j}{sfx}", "* inv_dt")
        for sfx in sfxs:
            every = " & ".join(f"(net{j}{sfx} >= 0.0)" for j in range(len(limited)))
            emit(depth, f"if not ({every}):")
            hits = [f"h{flow_index[f]}{sfx}" for f in limit_flows]
            targets = ", ".join([*limit_vars(sfx), *hits])
            emit(depth + 1, f"{targets} = limit({', '.join(limit_args(sfx))})")
            for f, h in zip(limit_flows, hits, strict=True):
                emit(depth + 1, f"{flag(f, sfx)} = {flag(f, sfx)} | {h}")

    def limit_function() -> None:
        emit(0, f"def limit({', '.join(limit_args(''))}):")
        for f in limit_flows:
            emit(1, f"h{flow_index[f]} = 0")
        depth = 1
        emit(depth, f"for _pass in range({len(c.non_negative_stocks) + 1}):")
        emit(depth + 1, "changed = False")
        for stock in limited:
            x = base.local[stock]
            ins = [base.local[f] for f in c.inflows[stock]]
            outs = [base.local[f] for f in c.outflows[stock]]
            net(depth + 1, base, stock, "net")
            emit(depth + 1, "if not net >= 0.0:")
            emit(depth + 2, "drain = 0.0")
            emit(depth + 2, "fill = 0.0")
            for v in outs:
                emit(depth + 2, f"drain += _maximum({v}, 0.0)")
                emit(depth + 2, f"fill += _maximum(-{v}, 0.0)")
            for v in ins:
                emit(depth + 2, f"drain += _maximum(-{v}, 0.0)")
                emit(depth + 2, f"fill += _maximum({v}, 0.0)")
            emit(depth + 2, f"available = _maximum({x}, 0.0) / dt + fill")
            emit(depth + 2, f"if drain > available * {_SCALE_MARGIN!r}:")
            emit(depth + 3, "changed = True")
            emit(depth + 3, "factor = available / drain")
            for group, test in ((c.outflows[stock], "> 0.0"), (c.inflows[stock], "< 0.0")):
                for f in group:
                    v = base.local[f]
                    emit(depth + 3, f"if {v} {test}:")
                    emit(depth + 4, f"h{flow_index[f]} = 1")
                    emit(depth + 4, f"{v} = {v} * factor")
        emit(depth + 1, "if not changed:")
        emit(depth + 2, "break")
        hits = [f"h{flow_index[f]}" for f in limit_flows]
        emit(1, f"return {', '.join([*limit_vars(''), *hits])}")

    def net(depth: int, n: _Names, stock: str, var: str, per_dt: str = "/ dt") -> None:
        emit(depth, f"{var} = {n.local[stock]} {per_dt}")
        for f in c.inflows[stock]:
            emit(depth, f"{var} = {var} + {n.local[f]}")
        for f in c.outflows[stock]:
            emit(depth, f"{var} = {var} - {n.local[f]}")

    def derivatives(depth: int, k: str, sfxs: Sequence[str]) -> None:
        for i, stock in enumerate(c.stock_names):
            for sfx in sfxs:
                terms = "0.0"
                for f in c.inflows[stock]:
                    terms = f"({terms} + {names[sfx].local[f]})"
                for f in c.outflows[stock]:
                    terms = f"({terms} - {names[sfx].local[f]})"
                emit(depth, f"{k}{i}{sfx} = {terms}")

    def new_state(depth: int, target: str, h: str, k: str, sfxs: Sequence[str]) -> None:
        for i, stock in enumerate(c.stock_names):
            for sfx in sfxs:
                value = f"s{i}{sfx} + {h} * {k}{i}{sfx}"
                if stock in c.non_negative_stocks:
                    value = f"_maximum({value}, 0.0)"
                emit(depth, f"{target}{i}{sfx} = {value}")

    def body(depth: int, sfxs: Sequence[str]) -> None:
        run = {sfx: f"r + {k}" if k else "r" for k, sfx in enumerate(sfxs)}
        for sfx in sfxs:
            for i in range(len(c.constants)):
                emit(depth, f"c{i}{sfx} = consts[{i}, {run[sfx]}]")
            if method != "euler":
                every = "".join(f"c{i}{sfx}, " for i in range(len(c.constants)))
                emit(depth, f"cs{sfx} = ({every}0.0)")
            for i in range(len(c.stock_names)):
                emit(depth, f"s{i}{sfx} = init[{i}, {run[sfx]}]")
            for name in flagged:
                emit(depth, f"n{flow_index[name]}{sfx} = 0")
        emit(depth, "for i in range(steps + 1):")
        d = depth + 1
        emit(d, "t = i * dt")
        for sfx in sfxs:
            for name in flagged:
                emit(d, f"{flag(name, sfx)} = 0")
            for i in range(len(c.stock_names)):
                emit(d, f"x{i}{sfx} = s{i}{sfx}")
        emit(d, "tt = t")
        evaluate(d, sfxs)
        emit(d, "row = rec_row[i]")
        emit(d, "if row >= 0:")
        for sfx in sfxs:
            for k, name in enumerate(record):
                emit(d + 1, f"out[{k}, row, {run[sfx]}] = {names[sfx].local[name]}")
        if not record:
            emit(d + 1, "pass")
        emit(d, "if i == steps:")
        emit(d + 1, "break")
        derivatives(d, "k1_", sfxs)
        if method == "euler":
            rate = "k1_"
        else:
            for stage, (h, k_in, when) in enumerate(
                (("half", "k1_", "t + half"), ("half", "k2_", "t + half"), ("dt", "k3_", "t + dt")),
                start=2,
            ):
                new_state(d, "x", h, k_in, sfxs)
                if not c.stock_names:
                    continue
                for sfx in sfxs:
                    rates = [f"k{stage}_{i}{sfx}" for i in range(len(c.stock_names))]
                    hits = [f"h{flow_index[f]}{sfx}" for f in flagged]
                    stocks = [f"x{i}{sfx}" for i in range(len(c.stock_names))]
                    emit(
                        d,
                        f"{', '.join([*rates, *hits])}, = stage(cs{sfx}, "
                        f"{when}, dt, inv_dt, {', '.join(stocks)})",
                    )
                    for f, h in zip(flagged, hits, strict=True):
                        emit(d, f"{flag(f, sfx)} = {flag(f, sfx)} | {h}")
            for i in range(len(c.stock_names)):
                for sfx in sfxs:
                    emit(
                        d,
                        f"r{i}{sfx} = (k1_{i}{sfx} + 2 * k2_{i}{sfx} + 2 * k3_{i}{sfx}"
                        f" + k4_{i}{sfx}) / 6",
                    )
            rate = "r"
        new_state(d, "s", "dt", rate, sfxs)
        for sfx in sfxs:
            for name in flagged:
                j = flow_index[name]
                emit(d, f"n{j}{sfx} += {flag(name, sfx)}")
        for sfx in sfxs:
            for i in range(len(c.stock_names)):
                emit(depth, f"final[{i}, {run[sfx]}] = s{i}{sfx}")
            for name in flagged:
                j = flow_index[name]
                emit(depth, f"clips[{j}, {run[sfx]}] = n{j}{sfx}")

    for index, lookup in enumerate(model.lookups):
        lines.append(_lookup_function(index, lookup))
    if limited:
        limit_function()
        emit(0, "")
    if method != "euler" and c.stock_names:
        # RK4 stages 2-4: one function instead of three inlined copies (compile time).
        stocks = ", ".join(f"x{i}" for i in range(len(c.stock_names)))
        # Constants come as one tuple: arrays passed to a function cost numba
        # atomic reference counts at every call.
        emit(0, f"def stage(cs, tt, dt, inv_dt, {stocks}):")
        emit(1, f"{''.join(f'c{i}, ' for i in range(len(c.constants)))}_ = cs")
        for name in flagged:
            emit(1, f"{flag(name, '')} = 0")
        evaluate(1, [""])
        derivatives(1, "k", [""])
        rates = [f"k{i}" for i in range(len(c.stock_names))]
        emit(1, f"return {', '.join([*rates, *(flag(f, '') for f in flagged)])},")
        emit(0, "")
    emit(0, "def kernel(lo, hi, consts, init, rec_row, steps, dt, out, final, clips):")
    emit(1, "half = dt / 2")
    emit(1, "inv_dt = 1.0 / dt")
    emit(1, "for r in range(lo, hi):")
    body(2, [""])
    return "\n".join(lines) + "\n"


@functools.cache
def _helpers() -> dict[str, Any]:
    """Compile the scalar helpers the kernels call (once per process)."""
    import numba

    jit = numba.njit(nogil=True, error_model="numpy", cache=False)

    def _maximum(a: float, b: float) -> float:
        # np.maximum: NaN when either is NaN.
        return a if (a >= b or a != a) else b

    def _power(a: float, b: float) -> float:
        # pow's exact special cases first (the C library's pow, which np.power
        # calls, gives the same): a price factor of 1 is common and pow is slow.
        if a == 1.0 or b == 0.0:
            return 1.0
        if b == 1.0:
            return a
        return float(a**b)

    def _minimum(a: float, b: float) -> float:
        return a if (a <= b or a != a) else b

    return {
        "_maximum": jit(_maximum),
        "_minimum": jit(_minimum),
        "_power": jit(_power),
    }


_SIGNATURE = (
    "void(int64, int64, float64[:, ::1], float64[:, ::1], "
    "int64[::1], int64, float64, float64[:, :, ::1], float64[:, ::1], int64[:, ::1])"
)


@dataclass(frozen=True)
class Kernel:
    """A compiled kernel and how long compiling it took."""

    run: Callable[..., None]
    compile_seconds: float


@functools.lru_cache(maxsize=64)
def kernel_for(source: str) -> Kernel:
    """Compile generated kernel source (cached: the same source compiles once)."""
    import numba

    start = _time.perf_counter()
    namespace: dict[str, Any] = {"np": np, **_helpers()}
    exec(compile(source, "<smbgrowth.dynamics.compiled kernel>", "exec"), namespace)
    for name in [n for n in namespace if n in ("limit", "stage") or n.startswith("lookup_")]:
        namespace[name] = numba.njit(nogil=True, error_model="numpy", cache=False)(namespace[name])
    jitted = numba.njit(_SIGNATURE, nogil=True, error_model="numpy", cache=False)(
        namespace["kernel"]
    )
    return Kernel(jitted, _time.perf_counter() - start)


# Models are frozen and hashable: equal models share their generated source.
_source = functools.lru_cache(maxsize=64)(generate_source)


def _threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


# numba kernels release the GIL; this lock only keeps concurrent simulate() calls
# from oversubscribing the cores with their threads at once.
_LAUNCH = threading.Lock()


@functools.cache
def _pool(threads: int) -> ThreadPoolExecutor:
    """Return the threads that run kernels next to the calling thread (made once)."""
    return ThreadPoolExecutor(max(1, threads), thread_name_prefix="smbgrowth-dynamics")


def run_kernel(
    model: Model,
    *,
    method: str,
    record: Sequence[str],
    constants: Mapping[str, FloatArray],
    initial: Mapping[str, FloatArray],
    steps: int,
    dt: float,
    recorded: Sequence[int],
    runs: int,
) -> KernelOutput:
    """Simulate ``runs`` runs with the compiled kernel of ``model``; see :func:`generate_source`."""
    c = model.compiled
    try:
        source = _source(model, method, tuple(record))
    except TypeError:  # pragma: no cover - a model with an unhashable part
        source = generate_source(model, method, record)
    kernel = kernel_for(source)
    consts = np.empty((len(c.constants), runs))
    for i, name in enumerate(c.constants):
        consts[i] = constants[name]
    init = np.empty((len(c.stock_names), runs))
    for i, name in enumerate(c.stock_names):
        init[i] = initial[name]
    rec_row = np.full(steps + 1, -1, dtype=np.int64)
    for row, step in enumerate(recorded):
        rec_row[step] = row
    out = np.empty((len(record), len(recorded), runs))
    final = np.empty((len(c.stock_names), runs))
    clips = np.zeros((len(c.flow_names), runs), dtype=np.int64)
    args = (consts, init, rec_row, steps, float(dt), out, final, clips)
    workers = min(_threads(), max(1, runs // _MIN_RUNS_PER_THREAD))
    # A few slices per thread, taken in turn: a thread slowed by other work
    # on the machine takes fewer of them.
    slices = workers * _SLICES_PER_THREAD if workers > 1 else 1
    bounds = [runs * k // slices for k in range(slices + 1)]
    todo = iter(list(itertools.pairwise(bounds)))

    def work() -> None:
        for lo, hi in todo:  # a list iterator: each slice goes to one thread
            kernel.run(lo, hi, *args)

    with _LAUNCH:
        jobs = [_pool(workers - 1).submit(work) for _ in range(workers - 1)]
        work()
        for job in jobs:
            job.result()
    return KernelOutput(out, final, clips)
