"""A system-dynamics model as plain, readable data: stocks, flows, auxiliaries.

A :class:`Model` is a list of named variables whose equations are strings in the
small language of :mod:`smbgrowth.dynamics.expressions`. Building a model checks
it completely (unknown and duplicate names, circular auxiliaries, flows that do
not connect stocks, declared units that do not add up, see
:mod:`smbgrowth.dynamics.units`) and compiles its equations, so a model that
exists can be simulated.

Evaluation order: at each time step the stocks, constants and ``time`` are
known; auxiliaries and flows are computed in dependency order (a topological
sort over the names each equation reads). A flow's equation may read
auxiliaries and other flows. Initial values of stocks may be equations too; at
t = 0 they are resolved together with the auxiliaries and flows they read
(e.g. an initial value ``capacity_ordering * delay``).
"""

from __future__ import annotations

import keyword
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from smbgrowth.dynamics.expressions import RESERVED_NAMES, CompiledEquation, compile_equation
from smbgrowth.dynamics.units import Unit, infer_unit, parse_unit
from smbgrowth.errors import SimulationError

__all__ = [
    "Auxiliary",
    "CompiledModel",
    "Constant",
    "Flow",
    "Lookup",
    "Model",
    "Stock",
]


@dataclass(frozen=True)
class Stock:
    """An accumulation (users, backlog, capacity) changed only by its flows.

    ``initial`` is a number or an equation evaluated at t = 0. A ``non_negative``
    stock never goes below zero: its outflows are clipped when they would empty
    it past zero, and the clips are counted in the simulation result.
    """

    name: str
    initial: float | str
    unit: str = ""
    doc: str = ""
    non_negative: bool = True


@dataclass(frozen=True)
class Flow:
    """A rate per time unit moving material from ``source`` to ``target`` (stock names).

    ``None`` means outside the model (a source or a sink). A ``non_negative``
    flow (a uniflow) is clipped at zero.
    """

    name: str
    source: str | None
    target: str | None
    equation: str | float
    unit: str = ""
    doc: str = ""
    non_negative: bool = False


@dataclass(frozen=True)
class Auxiliary:
    """A variable computed from others at each time step."""

    name: str
    equation: str | float
    unit: str = ""
    doc: str = ""


@dataclass(frozen=True)
class Constant:
    """A parameter: fixed within a run, replaceable per run through ``overrides``."""

    name: str
    value: float
    unit: str = ""
    doc: str = ""


@dataclass(frozen=True)
class Lookup:
    """A table function: linear interpolation between points, flat beyond the ends.

    ``x_unit`` is the unit its argument must have and ``y_unit`` the unit of
    its result (``""``: not declared, not checked).
    """

    name: str
    xs: Sequence[float]
    ys: Sequence[float]
    doc: str = ""
    x_unit: str = ""
    y_unit: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "xs", tuple(float(x) for x in self.xs))
        object.__setattr__(self, "ys", tuple(float(y) for y in self.ys))
        if not self.xs or len(self.xs) != len(self.ys):
            raise SimulationError(
                f"lookup {self.name!r} needs as many ys as xs and at least one point "
                f"(got {len(self.xs)} xs, {len(self.ys)} ys)"
            )
        if any(b <= a for a, b in zip(self.xs, self.xs[1:], strict=False)):
            raise SimulationError(f"lookup {self.name!r} needs strictly increasing xs")


@dataclass(frozen=True)
class CompiledModel:
    """The checked, compiled form of a model that the engine runs."""

    stock_names: tuple[str, ...]
    flow_names: tuple[str, ...]
    auxiliary_names: tuple[str, ...]
    constants: Mapping[str, float]
    initial_numbers: Mapping[str, float]
    initial_order: tuple[tuple[str, CompiledEquation], ...]
    step_order: tuple[tuple[str, CompiledEquation], ...]
    non_negative_flows: frozenset[str]
    non_negative_stocks: tuple[str, ...]
    inflows: Mapping[str, tuple[str, ...]]
    outflows: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class Model:
    """A system-dynamics model: stocks, flows, auxiliaries, constants and lookups.

    Building it validates and compiles every equation and checks the declared
    units (see :mod:`smbgrowth.dynamics.units`); errors are one-line
    :class:`~smbgrowth.errors.SimulationError` messages naming the variable.

    ``time_unit`` (e.g. ``"month"``) is the unit of ``time`` and of every rate:
    a flow's unit must be its stocks' unit per ``time_unit``. When it is empty,
    ``time`` is undeclared and the flows only have to agree with each other:
    every flow with a unit must imply the same time unit (stock unit / flow unit).
    Units are checked only where they are declared; ``""`` is never checked.
    """

    name: str
    stocks: Sequence[Stock] = ()
    flows: Sequence[Flow] = ()
    auxiliaries: Sequence[Auxiliary] = ()
    constants: Sequence[Constant] = ()
    lookups: Sequence[Lookup] = ()
    doc: str = ""
    time_unit: str = ""
    compiled: CompiledModel = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for attr in ("stocks", "flows", "auxiliaries", "constants", "lookups"):
            object.__setattr__(self, attr, tuple(getattr(self, attr)))
        object.__setattr__(self, "compiled", _compile(self))

    @property
    def variable_names(self) -> tuple[str, ...]:
        """Return the names of stocks, flows and auxiliaries, in declaration order."""
        return (
            *(s.name for s in self.stocks),
            *(f.name for f in self.flows),
            *(a.name for a in self.auxiliaries),
        )


def _check_names(model: Model) -> dict[str, str]:
    kinds: dict[str, str] = {}
    groups: list[tuple[str, Sequence[Stock | Flow | Auxiliary | Constant | Lookup]]] = [
        ("stock", model.stocks),
        ("flow", model.flows),
        ("auxiliary", model.auxiliaries),
        ("constant", model.constants),
        ("lookup", model.lookups),
    ]
    for kind, items in groups:
        for item in items:
            name = item.name
            if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
                raise SimulationError(
                    f"model {model.name!r}: {kind} name {name!r} must be a Python-style "
                    "identifier (letters, digits, underscores)"
                )
            if name in RESERVED_NAMES:
                raise SimulationError(
                    f"model {model.name!r}: {kind} name {name!r} is reserved "
                    f"({', '.join(sorted(RESERVED_NAMES))})"
                )
            if name in kinds:
                raise SimulationError(
                    f"model {model.name!r}: duplicate name {name!r} ({kinds[name]} and {kind})"
                )
            kinds[name] = kind
    return kinds


def _topological(
    nodes: Mapping[str, CompiledEquation], what: str, model_name: str
) -> tuple[tuple[str, CompiledEquation], ...]:
    """Order equations so each comes after the equations it reads; report any cycle."""
    order: list[tuple[str, CompiledEquation]] = []
    state: dict[str, int] = {}  # 1 = in progress, 2 = done
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for dep in sorted(nodes[name].names):
            if dep not in nodes:
                continue
            if state.get(dep) == 1:
                cycle = [*path[path.index(dep) :], dep]
                raise SimulationError(
                    f"model {model_name!r}: {what} depend on each other in a circle: "
                    + " -> ".join(cycle)
                )
            if dep not in state:
                visit(dep)
        path.pop()
        state[name] = 2
        order.append((name, nodes[name]))

    for name in nodes:
        if name not in state:
            visit(name)
    return tuple(order)


def _compile(model: Model) -> CompiledModel:
    kinds = _check_names(model)
    stock_names = tuple(s.name for s in model.stocks)
    lookups = {lk.name: (lk.xs, lk.ys) for lk in model.lookups}
    known = [n for n, k in kinds.items() if k != "lookup"]

    inflows: dict[str, list[str]] = {s: [] for s in stock_names}
    outflows: dict[str, list[str]] = {s: [] for s in stock_names}
    for flow in model.flows:
        if flow.source is None and flow.target is None:
            raise SimulationError(f"flow {flow.name!r} needs a source or a target stock")
        if flow.source is not None and flow.source == flow.target:
            raise SimulationError(f"flow {flow.name!r} has the same source and target")
        for end, stocks in (("source", outflows), ("target", inflows)):
            stock = getattr(flow, end)
            if stock is None:
                continue
            if stock not in inflows:
                raise SimulationError(
                    f"flow {flow.name!r}: {end} {stock!r} is not a stock; "
                    f"stocks: {', '.join(stock_names) or 'none'}"
                )
            stocks[stock].append(flow.name)

    step: dict[str, CompiledEquation] = {}
    for aux in model.auxiliaries:
        step[aux.name] = compile_equation(
            f"auxiliary {aux.name!r}", aux.equation, known=known, lookups=lookups
        )
    for flow in model.flows:
        step[flow.name] = compile_equation(
            f"flow {flow.name!r}", flow.equation, known=known, lookups=lookups
        )
    step_order = _topological(step, "auxiliaries and flows", model.name)

    initial_numbers: dict[str, float] = {}
    initial_nodes: dict[str, CompiledEquation] = dict(step)
    for stock in model.stocks:
        if isinstance(stock.initial, int | float) and not isinstance(stock.initial, bool):
            initial_numbers[stock.name] = float(stock.initial)
        else:
            initial_nodes[stock.name] = compile_equation(
                f"initial value of stock {stock.name!r}",
                stock.initial,
                known=known,
                lookups=lookups,
            )
    initial_order = _topological(initial_nodes, "initial values", model.name)
    _check_units(model)

    return CompiledModel(
        stock_names=stock_names,
        flow_names=tuple(f.name for f in model.flows),
        auxiliary_names=tuple(a.name for a in model.auxiliaries),
        constants={c.name: float(c.value) for c in model.constants},
        initial_numbers=initial_numbers,
        initial_order=initial_order,
        step_order=step_order,
        non_negative_flows=frozenset(f.name for f in model.flows if f.non_negative),
        non_negative_stocks=tuple(s.name for s in model.stocks if s.non_negative),
        inflows={k: tuple(v) for k, v in inflows.items()},
        outflows={k: tuple(v) for k, v in outflows.items()},
    )


def _spelled(unit: str) -> str:
    """Return a declared unit as written, on one line."""
    return " ".join(unit.split())


def _check_units(model: Model) -> None:
    """Check every declared unit against the equations and the flows' stocks."""
    prefix = f"model {model.name!r}"
    time_unit = parse_unit(model.time_unit, f"{prefix}: time_unit")
    names: dict[str, Unit | None] = {}
    items: list[tuple[str, Stock | Flow | Auxiliary | Constant]] = [
        *(("stock", s) for s in model.stocks),
        *(("flow", f) for f in model.flows),
        *(("auxiliary", a) for a in model.auxiliaries),
        *(("constant", c) for c in model.constants),
    ]
    for kind, item in items:
        names[item.name] = parse_unit(item.unit, f"{prefix}: {kind} {item.name!r}")
    lookups = {
        lk.name: (
            parse_unit(lk.x_unit, f"{prefix}: lookup {lk.name!r} (x_unit)"),
            parse_unit(lk.y_unit, f"{prefix}: lookup {lk.name!r} (y_unit)"),
        )
        for lk in model.lookups
    }

    def expect(owner: str, declared: str, equation: str | float, what: str) -> None:
        got = infer_unit(owner, equation, names=names, lookups=lookups, time_unit=time_unit)
        wanted = parse_unit(declared)
        if wanted is not None and got is not None and got != wanted:
            source = " ".join(str(equation).split())
            raise SimulationError(
                f"{owner} has unit {_spelled(declared)} but its {what} gives {got} (in {source!r})"
            )

    for aux in model.auxiliaries:
        expect(f"{prefix}: auxiliary {aux.name!r}", aux.unit, aux.equation, "equation")
    for flow in model.flows:
        expect(f"{prefix}: flow {flow.name!r}", flow.unit, flow.equation, "equation")
    for stock in model.stocks:
        expect(f"{prefix}: stock {stock.name!r}", stock.unit, stock.initial, "initial value")

    implied: tuple[Unit, str, str] | None = None  # time unit, flow, stock
    for flow in model.flows:
        flow_unit = names[flow.name]
        if flow_unit is None:
            continue
        for end in ("source", "target"):
            stock = getattr(flow, end)
            stock_unit = None if stock is None else names[stock]
            if stock_unit is None:
                continue
            if time_unit is not None:
                if flow_unit != stock_unit / time_unit:
                    raise SimulationError(
                        f"{prefix}: flow {flow.name!r} has unit {_spelled(flow.unit)} but its "
                        f"{end} stock {stock!r} has unit {stock_unit}, so the flow needs "
                        f"{stock_unit / time_unit} (stock unit per time unit {time_unit})"
                    )
                continue
            per = stock_unit / flow_unit
            if implied is None:
                implied = (per, flow.name, stock)
            elif per != implied[0]:
                raise SimulationError(
                    f"{prefix}: flows imply different time units: flow {implied[1]!r} "
                    f"with stock {implied[2]!r} implies {implied[0]}, flow "
                    f"{flow.name!r} ({_spelled(flow.unit)}) with stock {stock!r} "
                    f"({stock_unit}) implies {per}; fix the units or set time_unit"
                )
