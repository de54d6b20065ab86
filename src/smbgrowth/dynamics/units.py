"""Units of measure for system-dynamics models, checked when a model is built.

A unit string names base units combined with ``*``, ``/``, parentheses and
powers (``^n`` or ``**n``; ``n`` may be negative or fractional)::

    "people"    "money/month"    "1/month"    "tasks/(people*month)"
    "money/customer/month"       (left-associative: money/(customer*month))
    "month^-1"  "area**0.5"      "people^(1/3)"

Two strings have to be told apart:

- ``""`` (empty or blank) means **not declared**: a wildcard that matches any
  unit and is never checked;
- ``"1"`` or ``"dimensionless"`` means a pure number (a share, a ratio, a switch).

Base units are identifiers compared **exactly**: ``customer`` and
``customers`` are different units, and so are ``month`` and ``months``; there is
no plural folding and there are no conversions or scale factors (``1000`` is
not a unit). Pick one spelling per model.

:func:`parse_unit` turns a unit string into a canonical :class:`Unit` (base unit
-> exponent), so ``"money/customer/month"`` and ``"money/(customer*month)"``
are equal. :func:`infer_unit` computes the unit an equation gives from the
units of the names it reads:

- a number is a wildcard: it adopts whatever unit is needed (so ``2 * x`` is a
  wildcard too);
- a name has the declared unit of its variable (a wildcard when undeclared) and
  ``time`` has the model's time unit;
- ``+``, ``-``, ``min``, ``max``, comparisons and the two branches of
  ``if_then_else`` need equal units (a wildcard matches anything);
- ``*`` and ``/`` combine units; unary ``-`` and ``abs`` keep them;
- ``x ** y`` needs a dimensionless ``y``; when ``x`` has units, ``y`` must be a
  number written in the equation (``x ** 2``, ``x ** (1/3)``) and the result is
  ``x``'s unit to that power;
- ``exp`` and ``log`` need a dimensionless argument and give a dimensionless result;
- comparisons give a dimensionless result; the condition of ``if_then_else`` is
  not checked against anything;
- a lookup call needs an argument in the lookup's ``x_unit`` and gives its ``y_unit``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction

from smbgrowth.dynamics.expressions import parse_equation
from smbgrowth.errors import SimulationError

__all__ = [
    "DIMENSIONLESS",
    "Unit",
    "infer_unit",
    "parse_unit",
]


def _format_exponent(exponent: Fraction) -> str:
    if exponent.denominator == 1:
        return str(exponent.numerator)
    return f"({exponent.numerator}/{exponent.denominator})"


def _format_factor(base: str, exponent: Fraction) -> str:
    return base if exponent == 1 else f"{base}^{_format_exponent(exponent)}"


@dataclass(frozen=True)
class Unit:
    """A canonical unit: base units with their non-zero exponents, sorted by name.

    Build one with :func:`parse_unit` or :meth:`Unit.of`; ``Unit()`` is
    dimensionless. Units multiply, divide and take rational powers; ``str()``
    gives a canonical, parseable spelling such as ``people^2/month`` or
    ``tasks/(month*people)``.
    """

    powers: tuple[tuple[str, Fraction], ...] = ()

    def __post_init__(self) -> None:
        merged: dict[str, Fraction] = {}
        for base, exponent in self.powers:
            merged[base] = merged.get(base, Fraction(0)) + Fraction(exponent)
        canonical = tuple(sorted((b, e) for b, e in merged.items() if e != 0))
        object.__setattr__(self, "powers", canonical)

    @classmethod
    def of(cls, exponents: Mapping[str, int | Fraction]) -> Unit:
        """Return the unit with the given base-unit exponents (zeros are dropped)."""
        return cls(tuple((base, Fraction(e)) for base, e in exponents.items()))

    @property
    def exponents(self) -> dict[str, Fraction]:
        """Return the base units and their exponents, e.g. ``{'money': 1, 'month': -1}``."""
        return dict(self.powers)

    @property
    def is_dimensionless(self) -> bool:
        """Return whether the unit is a pure number."""
        return not self.powers

    def __mul__(self, other: Unit) -> Unit:
        return Unit(self.powers + other.powers)

    def __truediv__(self, other: Unit) -> Unit:
        return Unit(self.powers + tuple((b, -e) for b, e in other.powers))

    def __pow__(self, exponent: int | Fraction) -> Unit:
        return Unit(tuple((b, e * Fraction(exponent)) for b, e in self.powers))

    def __str__(self) -> str:
        above = [_format_factor(b, e) for b, e in self.powers if e > 0]
        below = [_format_factor(b, -e) for b, e in self.powers if e < 0]
        text = "*".join(above) or "1"
        if len(below) == 1:
            text += f"/{below[0]}"
        elif below:
            text += f"/({'*'.join(below)})"
        return text


DIMENSIONLESS = Unit()
"""The unit of pure numbers (spelled ``"1"`` or ``"dimensionless"``)."""

_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>\*\*|[*/^()+-]))"
)
_EXAMPLES = "e.g. 'money/month', 'tasks/(people*month)', '1' (dimensionless) or '' (undeclared)"


class _UnitSyntaxError(Exception):
    """Raised inside the unit parser; turned into a SimulationError by parse_unit."""


class _UnitParser:
    """Recursive descent over ``product := power (('*' | '/') power)*``."""

    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        position = 0
        stripped = text.rstrip()
        while position < len(stripped):
            match = _TOKEN.match(stripped, position)
            if match is None:
                bad = stripped[position:].strip()[:1]
                raise _UnitSyntaxError(f"unexpected character {bad!r}")
            kind = match.lastgroup or "op"
            self.tokens.append((kind, match.group(kind)))
            position = match.end()
        self.position = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise _UnitSyntaxError("it ends too early")
        self.position += 1
        return token

    def expect(self, op: str) -> None:
        token = self.take()
        if token != ("op", op):
            raise _UnitSyntaxError(f"expected {op!r}, found {token[1]!r}")

    def parse(self) -> Unit:
        unit = self.product()
        token = self.peek()
        if token is not None:
            raise _UnitSyntaxError(f"unexpected {token[1]!r}")
        return unit

    def product(self) -> Unit:
        unit = self.power()
        while (token := self.peek()) in (("op", "*"), ("op", "/")):
            self.position += 1
            factor = self.power()
            unit = unit * factor if token == ("op", "*") else unit / factor
        return unit

    def power(self) -> Unit:
        unit = self.factor()
        if self.peek() in (("op", "^"), ("op", "**")):
            self.position += 1
            unit = unit ** self.exponent()
        return unit

    def factor(self) -> Unit:
        kind, text = self.take()
        if kind == "name":
            return DIMENSIONLESS if text == "dimensionless" else Unit(((text, Fraction(1)),))
        if kind == "number":
            if Fraction(text) != 1:
                raise _UnitSyntaxError(
                    f"the number {text} is not a unit, only 1 may appear as in '1/month'"
                )
            return DIMENSIONLESS
        if text == "(":
            unit = self.product()
            self.expect(")")
            return unit
        raise _UnitSyntaxError(f"unexpected {text!r}")

    def exponent(self) -> Fraction:
        if self.peek() == ("op", "("):
            self.position += 1
            value = self.signed_number()
            if self.peek() == ("op", "/"):
                self.position += 1
                kind, text = self.take()
                if kind != "number" or Fraction(text) == 0:
                    raise _UnitSyntaxError(f"expected a non-zero number after '/', found {text!r}")
                value /= Fraction(text)
            self.expect(")")
            return value
        return self.signed_number()

    def signed_number(self) -> Fraction:
        sign = 1
        if self.peek() in (("op", "-"), ("op", "+")):
            sign = -1 if self.take()[1] == "-" else 1
        kind, text = self.take()
        if kind != "number":
            raise _UnitSyntaxError(f"expected a number as exponent, found {text!r}")
        return sign * Fraction(text)


def parse_unit(text: str, owner: str = "unit") -> Unit | None:
    """Return the canonical unit of a unit string, or ``None`` when it is not declared.

    Parameters
    ----------
    text
        The unit string: ``""`` (not declared, a wildcard), ``"1"`` or
        ``"dimensionless"``, or base units combined with ``*``, ``/``,
        parentheses and powers ``^n`` / ``**n``.
    owner
        How to name the variable in the error message, e.g. ``"stock 'users'"``.

    Raises
    ------
    SimulationError
        When the string is not a valid unit (one line, naming ``owner``).
    """
    if not isinstance(text, str):
        raise SimulationError(f"{owner} has unit {text!r}, which is not a string; {_EXAMPLES}")
    if not text.strip():
        return None
    try:
        return _UnitParser(text).parse()
    except _UnitSyntaxError as exc:
        raise SimulationError(
            f"{owner} has unit {text!r}, which is not a valid unit: {exc}; {_EXAMPLES}"
        ) from None


def _literal(node: ast.expr) -> Fraction | None:
    """Return the exact value of a numbers-only expression such as ``2`` or ``(1/3)``."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            return None
        try:
            return Fraction(str(node.value))
        except (ValueError, OverflowError):
            return None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _literal(node.operand)
        if value is None:
            return None
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div):
        left, right = _literal(node.left), _literal(node.right)
        if left is None or right is None:
            return None
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        return None if right == 0 else left / right
    return None


def _show(unit: Unit | None) -> str:
    return "undeclared" if unit is None else str(unit)


_OPERATOR_TEXT: dict[type[ast.operator], str] = {ast.Add: "+", ast.Sub: "-"}
_COMPARE_TEXT: dict[type[ast.cmpop], str] = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
}


class _Inference:
    """Walks an equation's syntax tree and computes its unit (``None``: wildcard)."""

    def __init__(
        self,
        owner: str,
        source: str,
        tree: ast.expr,
        names: Mapping[str, Unit | None],
        lookups: Mapping[str, tuple[Unit | None, Unit | None]],
        time_unit: Unit | None,
    ) -> None:
        self.owner = owner
        self.source = source
        self.whole = ast.unparse(tree)
        self.names = names
        self.lookups = lookups
        self.time_unit = time_unit

    def fail(self, node: ast.expr, problem: str, detail: str) -> SimulationError:
        piece = ast.unparse(node)
        where = "" if piece == self.whole else f" (equation {self.source!r})"
        return SimulationError(f"{self.owner}: {problem} in {piece!r}: {detail}{where}")

    def same(self, node: ast.expr, units: Iterable[Unit | None], detail: str) -> Unit | None:
        known = {u for u in units if u is not None}
        if len(known) > 1:
            raise self.fail(node, "units do not match", detail)
        return next(iter(known), None)

    def unit(self, node: ast.expr) -> Unit | None:
        if isinstance(node, ast.Constant):
            return None
        if isinstance(node, ast.Name):
            if node.id == "time":
                return self.time_unit
            return self.names.get(node.id)
        if isinstance(node, ast.UnaryOp):
            return self.unit(node.operand)
        if isinstance(node, ast.BinOp):
            return self.binary(node)
        if isinstance(node, ast.Compare):
            operands = [self.unit(node.left), *(self.unit(c) for c in node.comparators)]
            pieces = [_show(operands[0])]
            for op, operand in zip(node.ops, operands[1:], strict=True):
                pieces += [_COMPARE_TEXT.get(type(op), "?"), _show(operand)]
            self.same(node, operands, " ".join(pieces))
            return DIMENSIONLESS
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return self.call(node, node.func.id)
        return None

    def binary(self, node: ast.BinOp) -> Unit | None:
        left, right = self.unit(node.left), self.unit(node.right)
        if isinstance(node.op, ast.Add | ast.Sub):
            symbol = _OPERATOR_TEXT[type(node.op)]
            return self.same(node, (left, right), f"{_show(left)} {symbol} {_show(right)}")
        if isinstance(node.op, ast.Mult | ast.Div):
            if left is None or right is None:
                return None
            return left * right if isinstance(node.op, ast.Mult) else left / right
        if isinstance(node.op, ast.Pow):
            if right is not None and not right.is_dimensionless:
                raise self.fail(
                    node, "an exponent must be dimensionless", f"the exponent has unit {right}"
                )
            if left is None or left.is_dimensionless:
                return left
            exponent = _literal(node.right)
            if exponent is None:
                raise self.fail(
                    node,
                    "a base with units needs a number as exponent",
                    f"the base has unit {left}",
                )
            return left**exponent
        return None

    def call(self, node: ast.Call, func: str) -> Unit | None:
        args = [self.unit(a) for a in node.args]
        if func in self.lookups:
            x_unit, y_unit = self.lookups[func]
            if x_unit is not None and args and args[0] is not None and args[0] != x_unit:
                raise self.fail(
                    node,
                    f"lookup {func!r} takes x in {x_unit}",
                    f"the argument has unit {args[0]}",
                )
            return y_unit
        if func in ("min", "max"):
            return self.same(node, args, f"{func}({', '.join(_show(u) for u in args)})")
        if func == "abs":
            return args[0] if args else None
        if func in ("exp", "log"):
            if args and args[0] is not None and not args[0].is_dimensionless:
                raise self.fail(
                    node,
                    f"{func} needs a dimensionless argument",
                    f"the argument has unit {args[0]}",
                )
            return DIMENSIONLESS
        if func == "if_then_else" and len(args) == 3:
            _, yes, no = args
            return self.same(node, (yes, no), f"the branches give {_show(yes)} and {_show(no)}")
        return None


def infer_unit(
    owner: str,
    equation: str | float,
    *,
    names: Mapping[str, Unit | None],
    lookups: Mapping[str, tuple[Unit | None, Unit | None]] | None = None,
    time_unit: Unit | None = None,
) -> Unit | None:
    """Return the unit an equation gives, or ``None`` when it is a wildcard.

    The equation must already be valid in the language of
    :mod:`smbgrowth.dynamics.expressions`; the rules are in this module's docstring.

    Parameters
    ----------
    owner
        How to name the variable in error messages, e.g. ``"model 'm': flow 'f'"``.
    equation
        The equation (a number is a wildcard).
    names
        Unit of each name the equation may read (``None`` or missing: undeclared).
    lookups
        ``name -> (x_unit, y_unit)`` of the lookup tables (``None``: undeclared).
    time_unit
        Unit of ``time`` (``None``: undeclared).

    Raises
    ------
    SimulationError
        When the equation combines units that do not match (one line naming
        ``owner``, the offending piece and the units involved).
    """
    if isinstance(equation, int | float) and not isinstance(equation, bool):
        return None
    source = " ".join(str(equation).split())
    tree = parse_equation(owner, source)
    return _Inference(owner, source, tree, names, lookups or {}, time_unit).unit(tree)
