"""The phased roadmap: pilot small with a holdout, measure, then scale what works.

From the ranked plan, the opportunities that pay on the median run (and more
often than not) are taken in rank order, at most ``max_items``; an
opportunity another depends on comes in before it. Each gets

* a **pilot**: the catalogue's scope and length (set-up included), with its
  holdout share for customer-facing automations (measured against the
  holdout with ``smbgrowth plan realised``) or a before/after time log for
  back-office ones; at most ``parallel_pilots`` pilots run at once, and a
  pilot starts only after the pilots of what it depends on have ended;
* a **scale** phase from the month after the pilot, with the rule that
  decides it: scale when the realised result reaches the plan's p10, stop
  and revisit the assumptions when it does not;
* what to measure in each phase and the risks to watch (customer contact,
  data security, human oversight).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from smbgrowth.errors import ConfigError
from smbgrowth.jsonsafe import json_safe
from smbgrowth.metrics.registry import METRICS
from smbgrowth.plan.assessment import RankedOpportunity

__all__ = ["Phase", "Roadmap", "RoadmapItem", "build_roadmap"]


@dataclass(frozen=True)
class Phase:
    """One phase of one automation: when, how big, what to measure and the decision at its end."""

    name: str
    start_month: int
    end_month: int | None
    scope: str
    holdout: float
    measure: list[str]
    decision: str


@dataclass(frozen=True)
class RoadmapItem:
    """One automation on the roadmap."""

    order: int
    rank: int
    id: str
    name: str
    driver: str
    playbook: str | None
    depends_on: list[str]
    phases: list[Phase]
    risks: list[str]
    expected: dict[str, Any]
    how: str


@dataclass(frozen=True)
class Roadmap:
    """The ordered items, those left out with the reason, and the plan's horizon."""

    months: int
    items: list[RoadmapItem]
    left_out: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return json_safe(asdict(self))  # type: ignore[no-any-return]


def _metric_name(metric: str) -> str:
    m = METRICS.get(metric)
    return m.name if m is not None else metric


def _workflow(playbook: str) -> str:
    """The workflow name a playbook's runs are recorded under."""
    from smbgrowth.automation.playbooks import list_playbooks

    names = {p["name"]: p["workflow"] for p in list_playbooks()}
    return str(names.get(playbook, playbook))


def _risks(r: RankedOpportunity) -> list[str]:
    o = r.roi.opportunity
    out = []
    if o.risks.customer_contact and o.playbook:
        out.append(
            "Contacts customers: marketing mail goes only to consenting contacts, with "
            "frequency caps and one-click unsubscribe (enforced by the automation engine); "
            "review the copy before the pilot."
        )
    elif o.risks.customer_contact:
        out.append(
            "Customers see what it produces: check it before the pilot and keep a way to "
            "reach a person."
        )
    if o.risks.data_security:
        out.append(f"Data security: {o.risks.data_security}")
    if o.risks.human_oversight:
        out.append(f"Human oversight: {o.risks.human_oversight}")
    return out


def build_roadmap(
    ranked: Sequence[RankedOpportunity],
    *,
    months: int = 24,
    max_items: int = 5,
    parallel_pilots: int = 2,
    currency: str = "",
) -> Roadmap:
    """Order and phase the worthwhile opportunities (see the module doc)."""
    if max_items < 1 or parallel_pilots < 1:
        raise ConfigError("max_items and parallel_pilots must be at least 1")
    by_id = {r.id: r for r in ranked}
    chosen: list[str] = []
    left_out: list[dict[str, str]] = []

    def add(opportunity_id: str, trail: tuple[str, ...] = ()) -> None:
        if opportunity_id in chosen:
            return
        if opportunity_id in trail:
            raise ConfigError(
                "catalogue: dependencies go round in a circle: "
                + " -> ".join([*trail, opportunity_id])
            )
        for dep in by_id[opportunity_id].roi.opportunity.depends_on:
            if dep in by_id:
                add(dep, (*trail, opportunity_id))
        chosen.append(opportunity_id)

    for r in ranked:
        worth = r.roi.npv["p50"] > 0 and r.roi.p_npv_positive >= 0.5
        if not worth:
            left_out.append(
                {"id": r.id, "reason": "does not pay back within the horizon on most runs"}
            )
        elif len(chosen) >= max_items:
            left_out.append({"id": r.id, "reason": f"beyond the first {max_items} automations"})
        else:
            add(r.id)

    pilot_end: dict[str, int] = {}
    running: list[tuple[int, int]] = []  # (start, end) of scheduled pilots
    items: list[RoadmapItem] = []
    for order, opportunity_id in enumerate(chosen, start=1):
        r = by_id[opportunity_id]
        o = r.roi.opportunity
        length = max(o.pilot.months, math.ceil(o.setup_months))
        start = 1 + max((pilot_end[d] for d in o.depends_on if d in pilot_end), default=0)
        while any(
            sum(1 for s, e in running if s <= m <= e) >= parallel_pilots
            for m in range(start, start + length)
        ):
            start += 1
        end = start + length - 1
        running.append((start, end))
        pilot_end[o.id] = end
        measure = [_metric_name(m) for m in o.measure]
        hours = r.roi.hours_saved
        if o.pilot.holdout > 0:
            pilot_measure = [
                *measure,
                f"lift against the {100 * o.pilot.holdout:.0f} % holdout "
                + (
                    f"(smbgrowth plan realised {_workflow(o.playbook)})"
                    if o.playbook
                    else "(record who was held out; smbgrowth experiment analyze)"
                ),
            ]
            decision = (
                "Scale if the realised monthly net benefit reaches the plan's p10 "
                f"({currency}{r.roi.monthly_net_benefit['p10']:,.0f}) and the lift's interval "
                "excludes harm; otherwise stop and revise the assumptions."
            )
        else:
            pilot_measure = [
                *measure,
                "hours spent on the process, logged for two weeks before and during the pilot",
            ]
            decision = (
                f"Scale if the hours saved reach the plan's p10 ({hours['p10']:,.1f} h a month) "
                "with no rise in errors; otherwise stop and revise the assumptions."
            )
        phases = [
            Phase(
                name="pilot",
                start_month=start,
                end_month=end,
                scope=o.pilot.scope,
                holdout=o.pilot.holdout,
                measure=pilot_measure,
                decision=decision,
            )
        ]
        if end < months:
            phases.append(
                Phase(
                    name="scale",
                    start_month=end + 1,
                    end_month=None,
                    scope="everyone it applies to"
                    + (
                        f", keeping a {100 * o.pilot.holdout:.0f} % holdout"
                        if o.pilot.holdout
                        else ""
                    ),
                    holdout=o.pilot.holdout,
                    measure=[*measure, "realised ROI against the planned range, monthly"],
                    decision="Keep while the realised monthly net benefit stays within or above "
                    "the planned range; review every quarter.",
                )
            )
        how = (
            f"smbgrowth automate dry-run {o.playbook}, then smbgrowth automate enable {o.playbook}"
            if o.playbook
            else "set up in the tool of your choice; record the process's hours before and after"
        )
        items.append(
            RoadmapItem(
                order=order,
                rank=r.rank,
                id=o.id,
                name=o.name,
                driver=o.driver,
                playbook=o.playbook,
                depends_on=list(o.depends_on),
                phases=phases,
                risks=_risks(r),
                expected={
                    "npv": r.roi.npv,
                    "payback_month": r.roi.payback_month,
                    "hours_saved": r.roi.hours_saved,
                    "monthly_net_benefit": r.roi.monthly_net_benefit,
                },
                how=how,
            )
        )
    return Roadmap(months=months, items=items, left_out=left_out)
