"""The small equation language of smbgrowth's system-dynamics models.

An equation is one Python-syntax expression, parsed with :mod:`ast` and checked
against a short list of allowed constructs before it is turned into a function
over numpy arrays (one value per simulation run):

- numbers, variable names and ``time`` (the simulation clock);
- ``+ - * / **``, unary ``-``/``+`` and parentheses;
- comparisons ``< <= > >= == !=`` (1.0 when true, 0.0 when false; chains allowed);
- ``min(a, b, ...)``, ``max(a, b, ...)``, ``abs(x)``, ``exp(x)``, ``log(x)``;
- ``if_then_else(condition, when_true, when_false)`` (condition true when non-zero);
- ``name(x)`` for a declared lookup table ``name``.

Anything else (attributes, subscripts, keywords, ``and``/``or``, strings...) is a
:class:`~smbgrowth.errors.SimulationError` that names the variable and the
offending piece.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from smbgrowth.errors import SimulationError

__all__ = [
    "FUNCTIONS",
    "RESERVED_NAMES",
    "CompiledEquation",
    "Evaluator",
    "compile_equation",
    "parse_equation",
]

Evaluator = Callable[[Mapping[str, Any]], Any]
"""A compiled equation: takes the current values by name, returns an array or a float."""

FUNCTIONS: dict[str, int | None] = {
    "min": None,
    "max": None,
    "abs": 1,
    "exp": 1,
    "log": 1,
    "if_then_else": 3,
}
"""Built-in functions and how many arguments each takes (``None``: two or more)."""

RESERVED_NAMES = frozenset({"time", *FUNCTIONS})
"""Names a model variable cannot take."""

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.divide,
    ast.Pow: np.power,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.USub: np.negative,
    ast.UAdd: np.positive,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
}
_ALLOWED = (
    "numbers, names, time, + - * / **, parentheses, comparisons, "
    "min, max, abs, exp, log, if_then_else and lookups"
)


@dataclass(frozen=True)
class CompiledEquation:
    """An equation checked and turned into a function, with the names it reads.

    ``tree`` is the checked syntax tree (a constant for a number equation), kept
    for code generators such as :mod:`smbgrowth.dynamics.compiled`.
    """

    owner: str
    text: str
    names: frozenset[str]
    evaluate: Evaluator
    tree: ast.expr | None = field(default=None, compare=False, repr=False)


def parse_equation(owner: str, text: str) -> ast.expr:
    """Return the syntax tree of one equation, or raise a one-line SimulationError."""
    source = " ".join(str(text).split())
    if not source:
        raise SimulationError(f"{owner} has an empty equation")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        column = f" at column {exc.offset}" if exc.offset else ""
        raise SimulationError(
            f"{owner} has an equation that is not a valid expression{column}: {source!r}"
        ) from None
    return tree.body


def compile_equation(
    owner: str,
    text: str | float,
    *,
    known: Sequence[str],
    lookups: Mapping[str, tuple[Sequence[float], Sequence[float]]],
) -> CompiledEquation:
    """Check one equation against the language and the model's names, and compile it.

    Parameters
    ----------
    owner
        How to name the variable in error messages, e.g. ``"auxiliary 'budget'"``.
    text
        The equation (a number is accepted as a constant equation).
    known
        The variable names the equation may read (``time`` is always allowed).
    lookups
        Lookup tables callable by name: ``name -> (xs, ys)``.
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        value = float(text)
        return CompiledEquation(
            owner, repr(value), frozenset(), lambda ns: value, ast.Constant(value)
        )
    source = " ".join(str(text).split())
    tree = parse_equation(owner, source)
    names: set[str] = set()
    builder = _Builder(owner, source, frozenset(known), lookups, names)
    evaluate = builder.build(tree)
    return CompiledEquation(owner, source, frozenset(names), evaluate, tree)


class _Builder:
    """Turns an allowed syntax tree into nested closures over numpy functions."""

    def __init__(
        self,
        owner: str,
        source: str,
        known: frozenset[str],
        lookups: Mapping[str, tuple[Sequence[float], Sequence[float]]],
        names: set[str],
    ) -> None:
        self.owner = owner
        self.source = source
        self.known = known
        self.lookups = lookups
        self.names = names

    def fail(self, node: ast.AST, why: str) -> SimulationError:
        piece = ast.unparse(node) if isinstance(node, ast.expr) else type(node).__name__
        return SimulationError(f"{self.owner}: {why} {piece!r} in {self.source!r}")

    def build(self, node: ast.expr) -> Evaluator:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, int | float):
                raise self.fail(node, f"unsupported value (allowed: {_ALLOWED})")
            value = float(node.value)
            return lambda ns: value
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.BinOp):
            op = _BINARY.get(type(node.op))
            if op is None:
                raise self.fail(node, f"unsupported operator (allowed: {_ALLOWED})")
            left, right = self.build(node.left), self.build(node.right)
            return lambda ns: op(left(ns), right(ns))
        if isinstance(node, ast.UnaryOp):
            unary = _UNARY.get(type(node.op))
            if unary is None:
                raise self.fail(node, f"unsupported operator (allowed: {_ALLOWED})")
            operand = self.build(node.operand)
            return lambda ns: unary(operand(ns))
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.fail(node, f"unsupported syntax (allowed: {_ALLOWED})")

    def name(self, node: ast.Name) -> Evaluator:
        name = node.id
        if name in self.lookups:
            raise self.fail(node, "lookup used without an argument, write name(x):")
        if name != "time" and name not in self.known:
            known = ", ".join(sorted(self.known)) or "none"
            raise SimulationError(
                f"{self.owner} uses unknown name {name!r} in {self.source!r}; known names: {known}"
            )
        self.names.add(name)
        return lambda ns: ns[name]

    def compare(self, node: ast.Compare) -> Evaluator:
        operands = [self.build(node.left), *(self.build(c) for c in node.comparators)]
        ops: list[Callable[[Any, Any], Any]] = []
        for op in node.ops:
            found = _COMPARE.get(type(op))
            if found is None:
                raise self.fail(node, f"unsupported comparison (allowed: {_ALLOWED})")
            ops.append(found)

        def evaluate(ns: Mapping[str, Any]) -> Any:
            values = [operand(ns) for operand in operands]
            result = ops[0](values[0], values[1])
            for i in range(1, len(ops)):
                result = np.logical_and(result, ops[i](values[i], values[i + 1]))
            return np.asarray(result, dtype=float)

        return evaluate

    def call(self, node: ast.Call) -> Evaluator:
        if not isinstance(node.func, ast.Name):
            raise self.fail(node, f"unsupported call (allowed: {_ALLOWED})")
        func = node.func.id
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.fail(node, "functions take plain positional arguments:")
        args = [self.build(a) for a in node.args]
        if func in self.lookups:
            if len(args) != 1:
                raise self.fail(node, "a lookup takes exactly one argument:")
            xs_raw, ys_raw = self.lookups[func]
            xs = np.asarray(xs_raw, dtype=float)
            ys = np.asarray(ys_raw, dtype=float)
            (x,) = args
            self.names.add(func)
            return lambda ns: np.interp(x(ns), xs, ys)
        if func not in FUNCTIONS:
            lookups = ", ".join(sorted(self.lookups)) or "none"
            raise self.fail(
                node,
                f"unknown function (built-ins: {', '.join(FUNCTIONS)}; lookups: {lookups}):",
            )
        arity = FUNCTIONS[func]
        if (arity is None and len(args) < 2) or (arity is not None and len(args) != arity):
            wanted = "two or more" if arity is None else str(arity)
            raise self.fail(node, f"{func} takes {wanted} arguments:")
        if func in ("min", "max"):
            pair = np.minimum if func == "min" else np.maximum
            return lambda ns: functools.reduce(pair, [a(ns) for a in args])
        if func == "if_then_else":
            cond, yes, no = args
            return lambda ns: np.where(np.asarray(cond(ns)) != 0, yes(ns), no(ns))
        one = {"abs": np.abs, "exp": np.exp, "log": np.log}[func]
        (arg,) = args
        return lambda ns: one(arg(ns))
