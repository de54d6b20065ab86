"""Delays built from explicit stocks and flows, so that they stay readable data.

A third-order material delay (DELAY3) of an input rate ``u`` with average
delay ``D`` is a chain of three stocks, each emptying at ``stage / (D / 3)``::

    u --> [stage 1] --(stage_1 / (D/3))--> [stage 2] --(stage_2 / (D/3))-->
          [stage 3] --(stage_3 / (D/3))--> output

The material in transit is the sum of the three stages. Each stage starts at
``u(0) * D / 3``, the steady state for the input at t = 0, **even when u(0) is
negative**: the stages are not non-negative stocks. This matters: Forrester's
market-growth model starts with negative capacity ordering, and an engine that
clamps the stages at zero ends with 133.59 salesmen at month 100 instead of
123.90.
"""

from __future__ import annotations

from smbgrowth.dynamics.model import Flow, Stock

__all__ = ["material_delay3"]


def material_delay3(
    name: str,
    input: str,
    delay: str,
    *,
    source: str | None = None,
    target: str | None = None,
    unit: str = "",
    doc: str = "",
) -> tuple[list[Stock], list[Flow]]:
    """Return the three stage stocks and four flows of a third-order material delay.

    Parameters
    ----------
    name
        Name of the delay's output flow; stages are ``{name}_stage_1..3``, the
        entering flow ``{name}_entering`` and the inner flows ``{name}_stage_k_out``.
    input
        Equation of the rate entering the delay.
    delay
        Equation of the average delay time (the whole chain, not one stage).
    source
        Stock the entering material comes from (``None``: outside the model).
    target
        Stock the delayed output flows into (``None``: outside the model).
    """
    stages = [f"{name}_stage_{k}" for k in (1, 2, 3)]
    per_stage = f"(({delay}) / 3)"
    stocks = [
        Stock(
            stage,
            f"({input}) * {per_stage}",
            unit=unit,
            doc=f"Stage {k} of 3 of the material delay {name!r} (may be negative).",
            non_negative=False,
        )
        for k, stage in enumerate(stages, start=1)
    ]
    flows = [
        Flow(f"{name}_entering", source, stages[0], input, unit, f"Rate entering {name!r}."),
        Flow(f"{name}_stage_1_out", stages[0], stages[1], f"{stages[0]} / {per_stage}", unit),
        Flow(f"{name}_stage_2_out", stages[1], stages[2], f"{stages[1]} / {per_stage}", unit),
        Flow(name, stages[2], target, f"{stages[2]} / {per_stage}", unit, doc),
    ]
    return stocks, flows
