"""Needs assessment and ranking: which automations the business needs, and which pay.

A driver's **need** (0–1) combines three pieces of evidence, each 0–1:

* the scorecard — the share of the driver's headline metrics whose trend is
  worsening (weight 0.4);
* the growth model — the share of the simulated months in which the limit
  that belongs to the driver holds growth back (weight 0.4): capacity →
  operations (and customers at half weight, since slow service raises churn),
  cash → finance, the market → demand, plain demand → demand and sales &
  marketing at half weight;
* the process inventory — the driver's share of the hours spent on recorded
  processes (weight 0.2).

An opportunity's **impact** is its value — median NPV over the best median
NPV among the candidates, 0 when it does not pay — amplified by the need of
its driver: ``value × (0.5 + need)``. Its **feasibility** multiplies the
effort (low 1, medium 0.85, high 0.7), whether the data it works on is there
(else × 0.6) and, for time-saving automations, whether the inventory has a
process it works on (else × 0.7). Opportunities rank by impact ×
feasibility; the explanation says which of these placed it where.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from smbgrowth.dynamics.explain import BindingPeriod
from smbgrowth.jsonsafe import json_safe
from smbgrowth.metrics.base import DRIVERS
from smbgrowth.metrics.scorecard import Scorecard
from smbgrowth.plan.roi import OpportunityROI, ProcessLike, ROIResult

__all__ = [
    "BINDING_DRIVERS",
    "DEPARTMENT_DRIVERS",
    "EFFORT",
    "Need",
    "RankedOpportunity",
    "assess_needs",
    "rank_opportunities",
]

#: Which drivers a binding limit of the growth model points at, with weights.
BINDING_DRIVERS: dict[str, dict[str, float]] = {
    "capacity": {"operations": 1.0, "customers": 0.5},
    "cash": {"finance": 1.0},
    "market": {"demand": 1.0},
    "demand": {"demand": 0.5, "sales & marketing": 0.5},
}
#: Which driver a process's department belongs to.
DEPARTMENT_DRIVERS: dict[str, str] = {
    "support": "operations",
    "customer service": "operations",
    "operations": "operations",
    "fulfilment": "operations",
    "warehouse": "operations",
    "finance": "finance",
    "accounting": "finance",
    "marketing": "sales & marketing",
    "sales": "sales & marketing",
}
EFFORT = {"low": 1.0, "medium": 0.85, "high": 0.7}
W_SCORECARD, W_BINDING, W_HOURS = 0.4, 0.4, 0.2


@dataclass(frozen=True)
class Need:
    """How much a driver needs help, and why."""

    driver: str
    score: float
    scorecard: float
    binding: float
    hours: float
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return json_safe(asdict(self))  # type: ignore[no-any-return]


def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"


def assess_needs(
    scorecard: Scorecard | None,
    binding: Sequence[BindingPeriod],
    inventory: Iterable[ProcessLike],
    *,
    months: int,
) -> dict[str, Need]:
    """Each driver's need for help (see the module doc), with the evidence in words."""
    worse: dict[str, float] = {d: 0.0 for d in DRIVERS}
    why: dict[str, list[str]] = {d: [] for d in DRIVERS}
    if scorecard is not None:
        for card in scorecard.drivers:
            judged = [m for m in card.metrics if m.trend in ("improving", "worsening", "flat")]
            bad = [m for m in judged if m.trend == "worsening"]
            if judged:
                worse[card.driver] = len(bad) / len(judged)
            if bad:
                names = ", ".join(m.name for m in bad)
                why[card.driver].append(
                    f"{len(bad)} of {len(judged)} headline metrics worsening ({names})"
                )
    bound: dict[str, float] = {d: 0.0 for d in DRIVERS}
    seen: list[BindingPeriod] = []
    for period in binding:
        share = (period.to_month - period.from_month + 1) / max(months, 1)
        for driver, weight in BINDING_DRIVERS.get(period.constraint, {}).items():
            bound[driver] = min(1.0, bound[driver] + weight * share)
            first = not any(p.constraint == period.constraint for p in seen)
            if period.constraint != "demand" and weight >= 1.0 and first:
                why[driver].append(period.sentence)
        seen.append(period)
    hours: dict[str, float] = {d: 0.0 for d in DRIVERS}
    for p in inventory:
        owner = DEPARTMENT_DRIVERS.get(p.department.strip().lower())
        if owner is not None:
            hours[owner] += p.runs_per_month * p.minutes_per_run / 60.0
    total = sum(hours.values())
    shares = {d: (h / total if total > 0 else 0.0) for d, h in hours.items()}
    for d, h in hours.items():
        if total > 0 and shares[d] >= 0.2:
            why[d].append(f"{h:,.0f} hours a month of recorded work ({_pct(shares[d])} of all)")
    return {
        d: Need(
            driver=d,
            score=W_SCORECARD * worse[d] + W_BINDING * bound[d] + W_HOURS * shares[d],
            scorecard=worse[d],
            binding=bound[d],
            hours=shares[d],
            reasons=why[d],
        )
        for d in DRIVERS
    }


@dataclass(frozen=True)
class RankedOpportunity:
    """An opportunity's place in the plan: its scores, its ROI and the reason in words."""

    rank: int
    roi: OpportunityROI
    need: float
    value: float
    impact: float
    feasibility: float
    score: float
    feasibility_notes: list[str]
    explanation: str

    @property
    def id(self) -> str:
        return self.roi.id

    def to_dict(self, *, cumulative: bool = True) -> dict[str, Any]:
        o = self.roi.opportunity
        out = {
            "rank": self.rank,
            "id": o.id,
            "name": o.name,
            "driver": o.driver,
            "kind": o.kind,
            "playbook": o.playbook,
            "need": self.need,
            "value": self.value,
            "impact": self.impact,
            "feasibility": self.feasibility,
            "score": self.score,
            "feasibility_notes": self.feasibility_notes,
            "explanation": self.explanation,
            "roi": self.roi.to_dict(cumulative=cumulative),
            "assumptions": o.to_dict(),
        }
        return json_safe(out)  # type: ignore[no-any-return]


def _money(x: float, currency: str) -> str:
    sign = "-" if x < 0 else ""
    return f"{sign}{currency}{abs(x):,.0f}"


def _payback(m: float | None) -> str:
    return "does not pay back within the horizon" if m is None else f"pays back in month {m:.0f}"


def rank_opportunities(
    roi: ROIResult,
    needs: Mapping[str, Need],
    *,
    tables_with_data: set[str] | None = None,
    currency: str = "",
) -> list[RankedOpportunity]:
    """Score and rank the evaluated opportunities (see the module doc)."""
    best = max((max(o.npv["p50"], 0.0) for o in roi.opportunities), default=0.0)
    scored: list[tuple[float, float, OpportunityROI, dict[str, Any]]] = []
    for o in roi.opportunities:
        opp = o.opportunity
        need = needs[opp.driver].score if opp.driver in needs else 0.0
        value = max(o.npv["p50"], 0.0) / best if best > 0 else 0.0
        impact = value * (0.5 + need)
        notes: list[str] = []
        feasibility = EFFORT[opp.effort]
        notes.append(f"{opp.effort} effort")
        if tables_with_data is not None:
            missing = [t for t in opp.requires if t not in tables_with_data]
            if missing:
                feasibility *= 0.6
                notes.append(f"needs data it does not have yet: {', '.join(missing)}")
            elif opp.requires:
                notes.append("the data it works on is there")
        if opp.effects.time_saved is not None and not o.processes:
            feasibility *= 0.7
            notes.append("no process in the inventory it would save time on")
        if opp.kind == "playbook":
            notes.append(f"ready as the {opp.playbook} playbook")
        score = impact * feasibility
        scored.append(
            (score, o.npv["p50"], o, {"need": need, "value": value, "impact": impact,
                                       "feasibility": feasibility, "notes": notes})
        )  # fmt: skip
    scored.sort(key=lambda t: (-t[0], -t[1], t[2].id))
    out: list[RankedOpportunity] = []
    for rank, (score, _, o, parts) in enumerate(scored, start=1):
        out.append(
            RankedOpportunity(
                rank=rank,
                roi=o,
                need=parts["need"],
                value=parts["value"],
                impact=parts["impact"],
                feasibility=parts["feasibility"],
                score=score,
                feasibility_notes=parts["notes"],
                explanation=_explain(rank, len(scored), o, needs, parts, roi, currency),
            )
        )
    return out


def _explain(
    rank: int,
    of: int,
    o: OpportunityROI,
    needs: Mapping[str, Need],
    parts: Mapping[str, Any],
    roi: ROIResult,
    currency: str,
) -> str:
    opp = o.opportunity
    need = needs.get(opp.driver)
    sentences: list[str] = []
    if need is not None and need.reasons:
        sentences.append(f"{opp.driver.capitalize()} needs help: " + "; ".join(need.reasons) + ".")
    elif need is not None:
        sentences.append(f"{opp.driver.capitalize()} shows no pain now (need {need.score:.2f}).")
    effects = []
    if o.hours_saved["p50"] > 0.05:
        effects.append(
            f"saves {o.hours_saved['p50']:,.1f} hours a month "
            f"({o.hours_saved['p10']:,.1f}–{o.hours_saved['p90']:,.1f})"
            + (f" on {', '.join(o.processes)}" if o.processes else "")
        )
    me = o.model_effects
    if me.get("capacity_gain"):
        effects.append(f"adds {100 * me['capacity_gain']:.0f} % support capacity")
    if me.get("churn_reduction"):
        effects.append(f"removes {100 * me['churn_reduction']:.0f} % of churn")
    if me.get("conversion_lift"):
        effects.append(f"lifts lead conversion {100 * me['conversion_lift']:.0f} %")
    if me.get("wom_lift"):
        effects.append(f"lifts word of mouth {100 * me['wom_lift']:.0f} %")
    if effects:
        sentences.append("It " + ", ".join(effects) + ".")
    npv = o.npv
    sentences.append(
        f"NPV over {roi.months} months at {100 * roi.discount_rate:.0f} %: "
        f"{_money(npv['p50'], currency)} (p10 {_money(npv['p10'], currency)}, "
        f"p90 {_money(npv['p90'], currency)}); {_payback(o.payback_month['p50'])} "
        f"on the median run ({_payback(o.payback_month['p90'])} on the slow p90 one); "
        f"{_pct(o.p_payback_12)} chance of a positive return within 12 months."
    )
    if roi.baseline_p_cash_out > 0 or o.p_cash_out > 0:
        sentences.append(
            f"Chance of running out of cash: {_pct(o.p_cash_out)} "
            f"(baseline {_pct(roi.baseline_p_cash_out)})."
        )
    why = []
    if parts["value"] == 0:
        why.append("it does not pay back on the median run")
    elif parts["value"] >= 0.5:
        why.append("it is among the best returns")
    if need is not None and need.score >= 0.3:
        why.append(f"its driver's need is high ({need.score:.2f})")
    elif need is not None and need.score < 0.1:
        why.append(f"its driver's need is low ({need.score:.2f})")
    if parts["feasibility"] < 0.8:
        why.append("feasibility is limited (" + "; ".join(parts["notes"][1:]) + ")")
    reason = (" because " + " and ".join(why)) if why else ""
    sentences.insert(0, f"Ranks {rank} of {of}{reason}.")
    return " ".join(sentences)
