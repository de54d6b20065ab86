"""Numbers for people: the one formatter of metric values used by the CLI, report and dashboard."""

from __future__ import annotations

__all__ = ["format_value"]


def format_value(value: float | None, unit: str = "") -> str:
    """A metric value: percentages for ratios, units of time, thousands separators,
    no cents once an amount reaches 100; ``–`` when unknown."""
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    number = float(value)
    if unit == "ratio":
        return f"{number:.1%}"
    suffix = {"hours": " h", "days": " d", "months": " mo", "x": "×"}.get(unit, "")
    if suffix:
        return f"{number:,.1f}{suffix}"
    if number.is_integer() or abs(number) >= 100:
        return f"{number:,.0f}"
    return f"{number:,.2f}"
