"""Export a model to OASIS XMILE 1.0, the exchange format of Stella, Vensim and PySD.

The export is a faithful translation: stocks with their initial equations and
flows, flows and auxiliaries with their equations, constants as auxiliaries with
a number, lookups as graphical functions (``<gf>`` with ``<xscale>`` and
``<ypts>`` when the points are evenly spaced, else ``<xpts>``/``<ypts>`` without
``<xscale>``, which readers such as PySD take to mean evenly spaced points).
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
``table(x)``               ``table(x)``
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
from pathlib import Path
from typing import Literal

from smbgrowth.dynamics.expressions import parse_equation
from smbgrowth.dynamics.model import Model
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
    """Writes an allowed smbgrowth syntax tree as an XMILE expression."""

    def __init__(self, owner: str, source: str) -> None:
        self.owner = owner
        self.source = source

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
        args = [self.top(a) for a in node.args]
        if func in ("min", "max"):
            if len(args) < 2:
                raise self.fail(node)
            name = func.upper()
            text = f"{name}({args[-2]}, {args[-1]})"
            for arg in reversed(args[:-2]):
                text = f"{name}({arg}, {text})"
            return text
        if func in _ONE_ARGUMENT:
            if len(args) != 1:
                raise self.fail(node)
            return f"{_ONE_ARGUMENT[func]}({args[0]})"
        if len(args) != 1:
            raise self.fail(node)
        return f"{_reference(func)}({args[0]})"


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
        (time unit: months).
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
        time_units="Months",
    )
    _sub(specs, "start", "0")
    _sub(specs, "stop", _number(float(t_end), "t_end"))
    _sub(specs, "dt", _number(float(dt), "dt"))

    xmodel = _sub(root, "model")
    if model.doc:
        _sub(xmodel, "doc", model.doc)
    variables = _sub(xmodel, "variables")
    compiled = model.compiled

    for stock in model.stocks:
        element = _sub(variables, "stock", name=stock.name)
        _sub(element, "eqn", xmile_equation(stock.initial, f"initial value of {stock.name!r}"))
        for inflow in compiled.inflows[stock.name]:
            _sub(element, "inflow", _reference(inflow))
        for outflow in compiled.outflows[stock.name]:
            _sub(element, "outflow", _reference(outflow))
        if stock.non_negative:
            _sub(element, "non_negative")
        _describe(element, stock.unit, stock.doc)

    for flow in model.flows:
        element = _sub(variables, "flow", name=flow.name)
        _sub(element, "eqn", xmile_equation(flow.equation, f"flow {flow.name!r}"))
        if flow.non_negative:
            _sub(element, "non_negative")
        _describe(element, flow.unit, flow.doc)

    for aux in model.auxiliaries:
        element = _sub(variables, "aux", name=aux.name)
        _sub(element, "eqn", xmile_equation(aux.equation, f"auxiliary {aux.name!r}"))
        _describe(element, aux.unit, aux.doc)

    for constant in model.constants:
        element = _sub(variables, "aux", name=constant.name)
        _sub(element, "eqn", _number(float(constant.value), f"constant {constant.name!r}"))
        _describe(element, constant.unit, constant.doc)

    for lookup in model.lookups:
        element = _sub(variables, "gf", name=lookup.name)
        _sub(
            element,
            "yscale",
            min=_number(min(lookup.ys), lookup.name),
            max=_number(max(lookup.ys), lookup.name),
        )
        steps = [b - a for a, b in zip(lookup.xs, lookup.xs[1:], strict=False)]
        evenly = len(steps) > 0 and all(abs(d - steps[0]) <= 1e-12 * abs(steps[0]) for d in steps)
        if evenly:
            # Evenly spaced points are given by their range, as XMILE intends; readers
            # then interpolate on a regular grid (PySD: several times faster).
            _sub(
                element,
                "xscale",
                min=_number(lookup.xs[0], lookup.name),
                max=_number(lookup.xs[-1], lookup.name),
            )
        else:
            _sub(element, "xpts", ",".join(_number(x, lookup.name) for x in lookup.xs))
        _sub(element, "ypts", ",".join(_number(y, lookup.name) for y in lookup.ys))
        if lookup.doc:
            _sub(element, "doc", lookup.doc)

    ET.indent(root, space="  ")
    text = '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text
