"""The guided process survey, independent of the terminal.

:func:`run_survey` walks through the process inventory (recorded, inferred,
then the template kinds the business has not shown yet), asks for each whether
to keep it and its numbers, then lets the user add processes. Questions go
through two callables so that the CLI, a web form or a test can drive it:

* ``ask(question, default) -> answer`` — an empty answer means the default;
* ``say(text)`` — shows a line.

Every default comes from the data or the templates, so pressing Enter all the
way gives the inventory as :func:`~smbgrowth.plan.inventory.process_inventory`
sees it. An invalid answer is asked again with a one-line reason, at most
three times; the third invalid answer raises :class:`ConfigError`. The caller
saves the result with :func:`~smbgrowth.plan.inventory.save_processes`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import ConfigError
from smbgrowth.plan.inventory import (
    TEMPLATES,
    Process,
    by_labour_cost,
    process_inventory,
    recognised_kinds,
    template_process,
)

__all__ = [
    "MAX_ATTEMPTS",
    "Ask",
    "Say",
    "parse_count",
    "parse_error_rate",
    "parse_money",
    "run_survey",
]

Ask = Callable[[str, str], str]
Say = Callable[[str], None]
_T = TypeVar("_T")

#: Invalid answers to one question before the survey gives up.
MAX_ATTEMPTS = 3

_YES = ("y", "yes", "true", "1")
_NO = ("n", "no", "false", "0")
_CURRENCY = re.compile(r"^[$€£¥]|^[A-Za-z]{3}\s+|\s+[A-Za-z]{3}$|[$€£¥]$")
_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")


def _number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def parse_count(text: str, what: str) -> float:
    """A number ≥ 0 (runs, minutes); ValueError with a one-line reason otherwise."""
    try:
        value = _number(text.strip())
    except ValueError:
        raise ValueError(f"{what} must be a number ≥ 0") from None
    if value < 0:
        raise ValueError(f"{what} must be a number ≥ 0")
    return value


def parse_money(text: str, what: str = "the amount") -> float:
    """An amount ≥ 0; a currency sign or code and thousands commas are allowed ("$1,200")."""
    cleaned = _CURRENCY.sub("", text.strip()).strip()
    if _THOUSANDS.match(cleaned):
        cleaned = cleaned.replace(",", "")
    try:
        value = _number(cleaned)
    except ValueError:
        raise ValueError(f"{what} must be an amount ≥ 0, like 35 or 35.50") from None
    if value < 0:
        raise ValueError(f"{what} must be an amount ≥ 0, like 35 or 35.50")
    return value


def parse_error_rate(text: str) -> float:
    """A share of runs: ``3%`` or ``0.03``; a bare number above 1 is refused as ambiguous."""
    reason = "error rate must be a share between 0 and 1 (0.03) or a percentage (3%)"
    raw = text.strip()
    percent = raw.endswith("%")
    try:
        value = _number(raw.rstrip("%").strip())
    except ValueError:
        raise ValueError(reason) from None
    if percent:
        value /= 100.0
    if not 0.0 <= value <= 1.0:
        raise ValueError(reason)
    return value


def _parse_yes_no(text: str, what: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _YES:
        return True
    if lowered in _NO:
        return False
    raise ValueError(f"{what}: answer y or n")


def _parse_text(text: str, what: str) -> str:
    if not text.strip():
        raise ValueError(f"{what} cannot be empty")
    return text.strip()


def _show(value: float) -> str:
    return f"{value:.6g}"


def _show_rate(value: float) -> str:
    return f"{value * 100:.4g}%"


def _yes_no(value: bool) -> str:
    return "y" if value else "n"


class _Asker:
    """Asks one question until the answer parses, at most MAX_ATTEMPTS times."""

    def __init__(self, ask: Ask, say: Say) -> None:
        self._ask = ask
        self._say = say

    def __call__(self, question: str, default: str, parse: Callable[[str], _T]) -> _T:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            answer = self._ask(question, default).strip() or default
            try:
                return parse(answer)
            except ValueError as exc:
                if attempt == MAX_ATTEMPTS:
                    raise ConfigError(
                        f"survey stopped: {exc} ({MAX_ATTEMPTS} invalid answers to {question!r})"
                    ) from None
                self._say(f"  {exc}; try again")
        raise AssertionError("unreachable")  # pragma: no cover

    def number(
        self,
        question: str,
        current: float,
        parse: Callable[[str], float],
        show: Callable[[float], str] = _show,
    ) -> float:
        """Ask for a number; an answer equal to the shown default keeps the exact value."""
        default = show(current)
        answer = self(question, default, lambda text: (text, parse(text)))
        return current if answer[0] == default else answer[1]


def _ask_numbers(q: _Asker, p: Process, name: str) -> Process:
    runs = q.number(
        f"{name}: runs per month", p.runs_per_month, lambda t: parse_count(t, "runs per month")
    )
    minutes = q.number(
        f"{name}: minutes per run", p.minutes_per_run, lambda t: parse_count(t, "minutes per run")
    )
    rate = q.number(f"{name}: error rate (3% or 0.03)", p.error_rate, parse_error_rate, _show_rate)
    error_cost = q.number(
        f"{name}: cost of one error", p.error_cost, lambda t: parse_money(t, "cost of an error")
    )
    hourly = q.number(
        f"{name}: hourly cost of the staff doing it",
        p.hourly_cost,
        lambda t: parse_money(t, "hourly cost"),
    )
    touches = q(
        f"{name}: do customers see it? (y/n)",
        _yes_no(p.touches_customers),
        lambda t: _parse_yes_no(t, "touches customers"),
    )
    changed = (runs, minutes, rate, error_cost, hourly, touches) != (
        p.runs_per_month,
        p.minutes_per_run,
        p.error_rate,
        p.error_cost,
        p.hourly_cost,
        p.touches_customers,
    )
    return replace(
        p,
        runs_per_month=runs,
        minutes_per_run=minutes,
        error_rate=rate,
        error_cost=error_cost,
        hourly_cost=hourly,
        touches_customers=touches,
        origin="survey",
        basis="entered in the process survey" if changed else f"confirmed in the survey: {p.basis}",
    )


def _candidates(ws: Workspace) -> tuple[list[Process], list[Process]]:
    """The inventory, and template processes of kinds it does not cover."""
    inventory = process_inventory(ws)
    covered: set[str] = set()
    for p in inventory:
        covered |= recognised_kinds(p)
    ids = {p.process_id for p in inventory}
    extra = [
        template_process(kind)
        for kind in TEMPLATES
        if kind not in covered and kind.replace("_", "-") not in ids
    ]
    return inventory, extra


def _new_id(taken: set[str]) -> str:
    n = 1
    while f"S{n:02d}" in taken:
        n += 1
    return f"S{n:02d}"


def _new_process(q: _Asker, taken: set[str]) -> Process:
    name = q("name of the process", "", lambda t: _parse_text(t, "the name"))
    kinds = [k for k, t in TEMPLATES.items() if t.matches(name)]
    base = template_process(kinds[0]) if kinds else None
    department = q(
        f"{name}: department",
        base.department if base else "operations",
        lambda t: _parse_text(t, "the department"),
    )
    start = Process(
        process_id=_new_id(taken),
        name=name,
        department=department,
        runs_per_month=base.runs_per_month if base else 10.0,
        minutes_per_run=base.minutes_per_run if base else 15.0,
        error_rate=base.error_rate if base else 0.02,
        error_cost=base.error_cost if base else 20.0,
        hourly_cost=base.hourly_cost if base else 30.0,
        touches_customers=base.touches_customers if base else False,
        origin="survey",
        basis="added in the process survey",
    )
    p = _ask_numbers(q, start, name)
    return replace(p, basis="added in the process survey")


def run_survey(ws: Workspace, ask: Ask, say: Say) -> list[Process]:
    """Walk the user through the process inventory; return the processes they keep.

    Recorded and inferred processes default to kept; template kinds the data
    does not show default to dropped, unless the workspace shows no process at
    all (then the templates are the starting inventory). Every returned process
    has origin ``survey``; its basis says whether its numbers were confirmed
    or entered. Sorted by labour cost a month, highest first.

    Raises ConfigError after three invalid answers to one question.
    """
    q = _Asker(ask, say)
    inventory, extra = _candidates(ws)
    kept: list[Process] = []
    say(f"{len(inventory)} processes from your data, {len(extra)} more common ones to consider.")
    for p, default_keep in [
        *((p, True) for p in inventory),
        *((p, not inventory) for p in extra),
    ]:
        say(f"{p.name} ({p.department}) — {p.basis}")
        keep = q(
            f"keep {p.name!r}? (y/n)",
            _yes_no(default_keep),
            lambda t: _parse_yes_no(t, "keep it"),
        )
        if keep:
            kept.append(_ask_numbers(q, p, p.name))
    taken = {p.process_id for p in (*inventory, *extra)}
    while q("add another process? (y/n)", "n", lambda t: _parse_yes_no(t, "add another")):
        added = _new_process(q, taken)
        taken.add(added.process_id)
        kept.append(added)
    say(f"{len(kept)} processes in the inventory.")
    return by_labour_cost(kept)
