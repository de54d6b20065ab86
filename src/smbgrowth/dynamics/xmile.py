"""Export a model to OASIS XMILE 1.0, the exchange format of Stella, Vensim and PySD.

The export is a faithful translation: stocks with their initial equations and
flows, flows and auxiliaries with their equations, constants as auxiliaries with
a number. Lookups are written as Stella writes graphical functions, embedded in
the variable that uses them: an auxiliary or flow whose equation is
``table(x)`` becomes ``<eqn>x</eqn>`` with a ``<gf>``; any other call
``table(x)`` becomes a helper auxiliary ``<variable>_<table>`` of that form
(PySD runs embedded graphical functions about 60 times faster than calls of a
stand-alone ``<gf>``; see :class:`_LookupPlacer`). A lookup that nothing calls
stays a stand-alone ``<gf>``. Points are written as ``<xscale>`` and ``<ypts>``
when evenly spaced (exactly as :func:`numpy.linspace` spaces them), else as
``<xpts>`` and ``<ypts>``.
Equations are translated through their :mod:`ast` tree, never by text
substitution:

=========================  ======================
smbgrowth                  XMILE
=========================  ======================
``a ** b``                 ``a ^ b``
``a == b``, ``a != b``     ``a = b``, ``a <> b``
``a < b < c``              ``(a < b) AND (b < c)``
``if_then_else(c, a, b)``  ``IF c THEN a ELSE b``
``min``/``max``            ``MIN``/``MAX`` (nested pairs)
``abs``/``exp``/``log``    ``ABS``/``EXP``/``LN``
``time``                   ``TIME``
``table(x)``               embedded ``<gf>``
=========================  ======================

Sub-expressions are parenthesised wherever XMILE's grammar could read them
differently from Python (unary minus binds tighter than ``^`` in XMILE,
``IF`` and comparisons are only allowed at the top of an expression).

Non-negative behaviour: a ``non_negative`` stock gets ``<non_negative/>`` and a
``non_negative`` flow (smbgrowth clips it at zero, as XMILE does for a uniflow)
gets ``<non_negative/>``; every other flow is a bi-flow and may be negative.
When no clipping happens, PySD 3.14 computes the same trajectories as
:func:`~smbgrowth.dynamics.engine.simulate` (checked in the tests).
"""

from __future__ import annotations

import ast
import math
import os
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np

from smbgrowth.dynamics.expressions import parse_equation
from smbgrowth.dynamics.model import Lookup, Model
from smbgrowth.errors import SimulationError

__all__ = ["XMILE_NAMESPACE", "export_xmile", "xmile_equation"]

XMILE_NAMESPACE = "http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"
"""The XML namespace of OASIS XMILE 1.0."""

_VENDOR = "smbgrowth"

# Words XMILE's expression grammar reads as operators or keywords: a variable
# with such a name is written in quotes.
_XMILE_KEYWORDS = frozenset({"if", "then", "else", "and", "or", "not", "mod", "time"})

# Names that PySD's XMILE reader turns into built-in structures whatever the
# model declares; a lookup with such a name could not be called.
_XMILE_BUILTIN_CALLS = frozenset(
    {
        "abs",
        "delay",
        "delay1",
        "delay3",
        "delayn",
        "exp",
        "forcst",
        "if_then_else",
        "int",
        "ln",
        "max",
        "min",
        "pulse",
        "ramp",
        "safediv",
        "smth1",
        "smth3",
        "smthn",
        "trend",
    }
)

_BINARY: dict[type[ast.operator], tuple[str, int]] = {
    ast.Add: ("+", 1),
    ast.Sub: ("-", 1),
    ast.Mult: ("*", 2),
    ast.Div: ("/", 2),
    ast.Pow: ("^", 3),
}
_COMPARE: dict[type[ast.cmpop], str] = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "=",
    ast.NotEq: "<>",
}
_ONE_ARGUMENT = {"abs": "ABS", "exp": "EXP", "log": "LN"}


def _number(value: float, where: str) -> str:
    if isinstance(value, bool) or not math.isfinite(value):
        raise SimulationError(f"{where}: XMILE cannot hold the number {value!r}")
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


def _reference(name: str) -> str:
    return f'"{name}"' if name.lower() in _XMILE_KEYWORDS else name


class _Translator:
    """Writes an allowed smbgrowth syntax tree as an XMILE expression.

    ``lookup_call`` (when given) writes a call ``table(x)`` of one of the model's
    lookups: it returns the name of the auxiliary that holds the value.
    """

    def __init__(
        self,
        owner: str,
        source: str,
        lookup_call: Callable[[str, ast.expr], str] | None = None,
    ) -> None:
        self.owner = owner
        self.source = source
        self.lookup_call = lookup_call

    def fail(self, node: ast.AST) -> SimulationError:
        piece = ast.unparse(node) if isinstance(node, ast.expr) else type(node).__name__
        return SimulationError(
            f"{self.owner}: cannot translate {piece!r} in {self.source!r} to XMILE"
        )

    def top(self, node: ast.expr) -> str:
        """Translate an expression standing alone (an equation or a call argument)."""
        if isinstance(node, ast.Call) and _is_name(node.func, "if_then_else"):
            return self.conditional(node)
        if isinstance(node, ast.Compare):
            return self.compare(node)
        return self.expr(node)

    def expr(self, node: ast.expr) -> str:
        """Translate an expression used as an operand (parenthesised when compound)."""
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, int | float):
                raise self.fail(node)
            return _number(node.value, self.owner)
        if isinstance(node, ast.Name):
            return "TIME" if node.id == "time" else _reference(node.id)
        if isinstance(node, ast.BinOp):
            return self.binary(node)
        if isinstance(node, ast.UnaryOp):
            sign = {ast.USub: "-", ast.UAdd: "+"}.get(type(node.op))
            if sign is None:
                raise self.fail(node)
            return f"{sign}{self.operand(node.operand, 3, right=True)}"
        if isinstance(node, ast.Compare):
            return f"({self.compare(node)})"
        if isinstance(node, ast.Call):
            if _is_name(node.func, "if_then_else"):
                return f"({self.conditional(node)})"
            return self.call(node)
        raise self.fail(node)

    def operand(self, node: ast.expr, level: int, *, right: bool) -> str:
        """Translate an operand of an operator of precedence ``level``."""
        text = self.expr(node)
        if isinstance(node, ast.UnaryOp) or (
            isinstance(node, ast.Constant) and text.startswith("-")
        ):
            return f"({text})"
        if isinstance(node, ast.BinOp):
            inner = _BINARY[type(node.op)][1]
            if inner < level or (inner == level and (right or level == 3)):
                return f"({text})"
        return text

    def binary(self, node: ast.BinOp) -> str:
        found = _BINARY.get(type(node.op))
        if found is None:
            raise self.fail(node)
        symbol, level = found
        left = self.operand(node.left, level, right=False)
        right = self.operand(node.right, level, right=True)
        return f"{left} {symbol} {right}"

    def compare(self, node: ast.Compare) -> str:
        operands = [node.left, *node.comparators]
        parts: list[str] = []
        for i, op in enumerate(node.ops):
            symbol = _COMPARE.get(type(op))
            if symbol is None:
                raise self.fail(node)
            parts.append(f"{self.expr(operands[i])} {symbol} {self.expr(operands[i + 1])}")
        if len(parts) == 1:
            return parts[0]
        return " AND ".join(f"({part})" for part in parts)

    def conditional(self, node: ast.Call) -> str:
        if len(node.args) != 3 or node.keywords:
            raise self.fail(node)
        # XMILE's grammar has no IF inside the parts of an IF: parenthesise it.
        cond, yes, no = (
            self.expr(a) if isinstance(a, ast.Call) else self.top(a) for a in node.args
        )
        return f"IF {cond} THEN {yes} ELSE {no}"

    def call(self, node: ast.Call) -> str:
        if not isinstance(node.func, ast.Name) or node.keywords:
            raise self.fail(node)
        func = node.func.id
        if func not in ("min", "max") and func not in _ONE_ARGUMENT:
            return self.lookup(node, func)
        args = [self.top(a) for a in node.args]
        if func in ("min", "max"):
            if len(args) < 2:
                raise self.fail(node)
            name = func.upper()
            text = f"{name}({args[-2]}, {args[-1]})"
            for arg in reversed(args[:-2]):
                text = f"{name}({arg}, {text})"
            return text
        if len(args) != 1:
            raise self.fail(node)
        return f"{_ONE_ARGUMENT[func]}({args[0]})"

    def lookup(self, node: ast.Call, func: str) -> str:
        if len(node.args) != 1:
            raise self.fail(node)
        if self.lookup_call is not None:
            return _reference(self.lookup_call(func, node.args[0]))
        return f"{_reference(func)}({self.top(node.args[0])})"


def _is_name(node: ast.expr, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def xmile_equation(equation: str | float, owner: str = "equation") -> str:
    """Return an smbgrowth equation written in XMILE's expression language.

    ``owner`` names the variable in error messages.
    """
    if isinstance(equation, int | float) and not isinstance(equation, bool):
        return _number(equation, owner)
    source = " ".join(str(equation).split())
    return _Translator(owner, source).top(parse_equation(owner, source))


def _check_names(model: Model) -> None:
    seen: dict[str, str] = {}
    for group in (model.stocks, model.flows, model.auxiliaries, model.constants, model.lookups):
        for item in group:
            key = item.name.lower()
            if key in seen:
                raise SimulationError(
                    f"model {model.name!r}: names {seen[key]!r} and {item.name!r} are the "
                    "same in XMILE, where names ignore case"
                )
            seen[key] = item.name
    for lookup in model.lookups:
        if lookup.name.lower() in _XMILE_BUILTIN_CALLS | _XMILE_KEYWORDS:
            raise SimulationError(
                f"model {model.name!r}: lookup {lookup.name!r} has the name of an XMILE "
                "built-in function; rename it to export the model"
            )


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrib)
    if text is not None:
        element.text = text
    return element


def _describe(element: ET.Element, unit: str, doc: str) -> None:
    if unit:
        _sub(element, "units", unit)
    if doc:
        _sub(element, "doc", doc)


def _graphical_function(gf: ET.Element, lookup: Lookup) -> None:
    """Write ``lookup``'s points into the graphical function ``gf``."""
    _sub(
        gf,
        "yscale",
        min=_number(min(lookup.ys), lookup.name),
        max=_number(max(lookup.ys), lookup.name),
    )
    xs = [float(x) for x in lookup.xs]
    # <xscale> stands for len(ys) evenly spaced points; use it only when a reader
    # spacing them (PySD: numpy.linspace) finds exactly the model's points.
    if len(xs) > 1 and np.linspace(xs[0], xs[-1], len(xs)).tolist() == xs:
        _sub(gf, "xscale", min=_number(xs[0], lookup.name), max=_number(xs[-1], lookup.name))
    else:
        _sub(gf, "xpts", ",".join(_number(x, lookup.name) for x in xs))
    _sub(gf, "ypts", ",".join(_number(y, lookup.name) for y in lookup.ys))


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


class _LookupPlacer:
    """Places every lookup call in a variable with an embedded graphical function.

    This is how Stella writes graphical functions (the variable's ``<eqn>`` is
    the input, its ``<gf>`` the table), and PySD turns it into one
    :func:`numpy.interp` call per step. A stand-alone ``<gf>`` called as a
    function is valid XMILE too, but PySD evaluates each such call with
    ``xarray.DataArray.interp`` (``pysd.py_backend.lookups.Lookups._call``),
    about 1 ms a call: about 60 times slower on the market-growth model.

    A variable whose whole equation is ``table(x)`` gets the table itself; any
    other call ``table(x)`` becomes a helper auxiliary ``<variable>_<table>``
    (one per distinct table and argument) holding ``x`` and the table.
    """

    def __init__(self, model: Model) -> None:
        self.tables = {lookup.name: lookup for lookup in model.lookups}
        self.taken = {
            item.name.lower()
            for group in (
                model.stocks,
                model.flows,
                model.auxiliaries,
                model.constants,
                model.lookups,
            )
            for item in group
        }
        self.helpers: list[tuple[str, str, Lookup]] = []
        self.called: set[str] = set()
        self._seen: dict[tuple[str, str], str] = {}
        self._variable = ""

    def _name(self, table: str) -> str:
        base = f"{self._variable}_{table}"
        name, count = base, 1
        while name.lower() in self.taken | _XMILE_BUILTIN_CALLS | _XMILE_KEYWORDS:
            count += 1
            name = f"{base}_{count}"
        self.taken.add(name.lower())
        return name

    def _call(self, table: str, argument: ast.expr) -> str:
        if table not in self.tables:
            raise SimulationError(f"{self._variable!r}: {table!r} is not a lookup of the model")
        key = (table, ast.dump(argument))
        if key not in self._seen:
            owner = f"argument of lookup {table!r}"
            equation = _Translator(owner, ast.unparse(argument), self._call).top(argument)
            name = self._name(table)
            self._seen[key] = name
            self.helpers.append((name, equation, self.tables[table]))
            self.called.add(table)
        return self._seen[key]

    def equation(
        self, equation: str | float, owner: str, variable: str, *, embed: bool
    ) -> tuple[str, Lookup | None]:
        """Translate ``equation``; return it and the table to embed, if any."""
        if isinstance(equation, int | float) and not isinstance(equation, bool):
            return _number(equation, owner), None
        self._variable = variable
        source = " ".join(str(equation).split())
        node = parse_equation(owner, source)
        translator = _Translator(owner, source, self._call)
        if (
            embed
            and isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in self.tables
            and len(node.args) == 1
            and not node.keywords
        ):
            self.called.add(node.func.id)
            return translator.top(node.args[0]), self.tables[node.func.id]
        return translator.top(node), None


def export_xmile(
    model: Model,
    path: str | os.PathLike[str] | None,
    *,
    t_end: float,
    dt: float,
    method: Literal["euler", "rk4"] = "euler",
) -> str:
    """Write ``model`` as an OASIS XMILE 1.0 document and return its text.

    Parameters
    ----------
    model
        The model to export.
    path
        File to write (UTF-8); ``None`` only returns the text.
    t_end, dt
        Simulation specs: the run goes from 0 to ``t_end`` with step ``dt``
        (in the model's ``time_unit``; months when it has none).
    method
        Integration method recorded in the specs: ``"euler"`` or ``"rk4"``.
    """
    if method not in ("euler", "rk4"):
        raise SimulationError(f"unknown method {method!r}; methods: euler, rk4")
    if not (dt > 0 and math.isfinite(dt)) or not (t_end > 0 and math.isfinite(t_end)):
        raise SimulationError(f"XMILE export needs t_end > 0 and dt > 0 (got {t_end}, {dt})")
    _check_names(model)

    root = ET.Element("xmile", {"version": "1.0", "xmlns": XMILE_NAMESPACE})
    header = _sub(root, "header")
    _sub(header, "vendor", _VENDOR)
    _sub(header, "product", _VENDOR, version="1.0", lang="en")
    _sub(header, "name", model.name)

    specs = _sub(
        root,
        "sim_specs",
        method="Euler" if method == "euler" else "RK4",
        time_units=(model.time_unit or "month").capitalize() + "s",
    )
    _sub(specs, "start", "0")
    _sub(specs, "stop", _number(float(t_end), "t_end"))
    _sub(specs, "dt", _number(float(dt), "dt"))

    xmodel = _sub(root, "model")
    if model.doc:
        _sub(xmodel, "doc", model.doc)
    variables = _sub(xmodel, "variables")
    compiled = model.compiled

    placer = _LookupPlacer(model)

    for stock in model.stocks:
        element = _sub(variables, "stock", name=stock.name)
        initial, _ = placer.equation(
            stock.initial, f"initial value of {stock.name!r}", stock.name, embed=False
        )
        _sub(element, "eqn", initial)
        for inflow in compiled.inflows[stock.name]:
            _sub(element, "inflow", _reference(inflow))
        for outflow in compiled.outflows[stock.name]:
            _sub(element, "outflow", _reference(outflow))
        if stock.non_negative:
            _sub(element, "non_negative")
        _describe(element, stock.unit, stock.doc)

    for flow in model.flows:
        element = _sub(variables, "flow", name=flow.name)
        equation, table = placer.equation(
            flow.equation, f"flow {flow.name!r}", flow.name, embed=True
        )
        _sub(element, "eqn", equation)
        if table is not None:
            _graphical_function(_sub(element, "gf"), table)
        if flow.non_negative:
            _sub(element, "non_negative")
        _describe(element, flow.unit, flow.doc or (table.doc if table else ""))

    for aux in model.auxiliaries:
        element = _sub(variables, "aux", name=aux.name)
        equation, table = placer.equation(
            aux.equation, f"auxiliary {aux.name!r}", aux.name, embed=True
        )
        _sub(element, "eqn", equation)
        if table is not None:
            _graphical_function(_sub(element, "gf"), table)
        _describe(element, aux.unit, aux.doc or (table.doc if table else ""))

    for constant in model.constants:
        element = _sub(variables, "aux", name=constant.name)
        _sub(element, "eqn", _number(float(constant.value), f"constant {constant.name!r}"))
        _describe(element, constant.unit, constant.doc)

    for name, equation, table in placer.helpers:
        element = _sub(variables, "aux", name=name)
        _sub(element, "eqn", equation)
        _graphical_function(_sub(element, "gf"), table)
        _describe(
            element,
            _text(getattr(table, "y_unit", "")),
            f"Value of lookup {table.name} (exported from a call inside an equation).",
        )

    for lookup in model.lookups:
        if lookup.name in placer.called:
            continue
        # Never called: kept as a stand-alone graphical function.
        element = _sub(variables, "gf", name=lookup.name)
        _graphical_function(element, lookup)
        if lookup.doc:
            _sub(element, "doc", lookup.doc)

    ET.indent(root, space="  ")
    text = '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text
