"""The automation plan of a workspace: needs, ranked opportunities with ROI, roadmap, realised ROI.

:func:`make_plan` gathers the evidence (the scorecard, the calibrated growth
model and its binding constraint, the process inventory, the catalogue and
the data the workspace holds), evaluates every opportunity's ROI in one
Monte Carlo batch, ranks them and lays out the roadmap. :func:`build_plan`
does the same from parts already in hand (a calibration, an inventory...),
which is how a constructed business is planned. The last plan is saved in
the workspace (``plan.json``) so that realised returns can later be set
against what was planned (:func:`realised_returns`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from smbgrowth.automation.store import AutomationStore
from smbgrowth.data.duck import scalar
from smbgrowth.data.schema import CANONICAL_TABLES
from smbgrowth.data.workspace import Workspace
from smbgrowth.dynamics.business import business_model
from smbgrowth.dynamics.calibration import Calibration, calibrate_workspace
from smbgrowth.dynamics.explain import BindingPeriod, binding_constraints
from smbgrowth.errors import MetricError, ModelError, WorkflowError
from smbgrowth.jsonsafe import json_safe
from smbgrowth.metrics.scorecard import Scorecard, driver_scorecard
from smbgrowth.plan.assessment import Need, RankedOpportunity, assess_needs, rank_opportunities
from smbgrowth.plan.catalogue import Catalogue, load_catalogue
from smbgrowth.plan.inventory import Process, process_inventory
from smbgrowth.plan.realised import RealisedROI, realised_roi
from smbgrowth.plan.roadmap import Roadmap, build_roadmap
from smbgrowth.plan.roi import ProcessLike, ROIResult, evaluate_opportunities, matched_processes

__all__ = [
    "PLAN_FILE",
    "AutomationPlan",
    "build_plan",
    "load_saved_plan",
    "make_plan",
    "realised_returns",
    "tables_with_data",
]

#: Where the last plan is kept in the workspace.
PLAN_FILE = "plan.json"


@dataclass(frozen=True)
class AutomationPlan:
    """Everything the plan found: the needs, the ranked opportunities, the roadmap."""

    currency: str
    generated_at: str
    roi: ROIResult
    needs: dict[str, Need]
    binding: list[BindingPeriod]
    inventory: list[Any]
    ranked: list[RankedOpportunity]
    roadmap: Roadmap
    catalogue_sources: list[str]

    def top(self, k: int = 3) -> list[RankedOpportunity]:
        return self.ranked[:k]

    def to_dict(self, *, cumulative: bool = True) -> dict[str, Any]:
        """The documented JSON form (see the README's ``plan`` keys)."""
        out = {
            "currency": self.currency,
            "generated_at": self.generated_at,
            "months": self.roi.months,
            "runs": self.roi.runs,
            "seed": self.roi.seed,
            "discount_rate": self.roi.discount_rate,
            "freed_time_value": self.roi.freed_time_value,
            "baseline": {
                "p_cash_out": self.roi.baseline_p_cash_out,
                "runway_months": self.roi.baseline_runway_months,
            },
            "needs": {d: n.to_dict() for d, n in self.needs.items()},
            "binding_constraints": [b.to_dict() for b in self.binding],
            "processes": [
                p.to_dict() if hasattr(p, "to_dict") else dict(vars(p)) for p in self.inventory
            ],
            "opportunities": [r.to_dict(cumulative=cumulative) for r in self.ranked],
            "roadmap": self.roadmap.to_dict(),
            "catalogue": self.catalogue_sources,
        }
        return json_safe(out)  # type: ignore[no-any-return]


def tables_with_data(ws: Workspace) -> set[str]:
    """The canonical tables that hold at least one row."""
    out = set()
    for table in CANONICAL_TABLES:
        if scalar(ws.duck, f'SELECT EXISTS (SELECT 1 FROM "{table}")'):
            out.add(table)
    return out


def build_plan(
    calibration: Calibration,
    inventory: Sequence[ProcessLike],
    catalogue: Catalogue,
    *,
    scorecard: Scorecard | None = None,
    available: set[str] | None = None,
    currency: str = "",
    months: int = 24,
    runs: int = 500,
    seed: int | None = 0,
    discount_rate: float = 0.10,
    freed_time_value: float = 1.0,
    max_items: int = 5,
    parallel_pilots: int = 2,
    deterministic: bool = False,
) -> AutomationPlan:
    """Plan from parts in hand: needs, ROI of every opportunity, ranking, roadmap."""
    model = business_model(calibration.params, months=months)
    constants = model.compiled.constants
    central = {e.name: e.value for e in calibration.estimates if e.name in constants}
    binding = binding_constraints(model, central, months=months)
    needs = assess_needs(scorecard, binding, inventory, months=months)
    roi = evaluate_opportunities(
        calibration,
        list(catalogue),
        inventory,
        months=months,
        runs=runs,
        seed=seed,
        discount_rate=discount_rate,
        freed_time_value=freed_time_value,
        deterministic=deterministic,
    )
    ranked = rank_opportunities(roi, needs, tables_with_data=available, currency=currency)
    roadmap = build_roadmap(
        ranked,
        months=months,
        max_items=max_items,
        parallel_pilots=parallel_pilots,
        currency=currency,
    )
    return AutomationPlan(
        currency=currency,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        roi=roi,
        needs=needs,
        binding=binding,
        inventory=list(inventory),
        ranked=ranked,
        roadmap=roadmap,
        catalogue_sources=catalogue.sources,
    )


def make_plan(
    ws: Workspace,
    *,
    catalogue: str | Path | None = None,
    months: int = 24,
    runs: int = 500,
    seed: int | None = 0,
    discount_rate: float = 0.10,
    freed_time_value: float = 1.0,
    max_items: int = 5,
    parallel_pilots: int = 2,
    save: bool = True,
    progress: Callable[[str], None] | None = None,
) -> AutomationPlan:
    """The workspace's automation plan (saved as ``plan.json`` unless ``save`` is False)."""
    say = progress or (lambda _: None)
    say("reading the catalogue and the process inventory")
    cat = load_catalogue(ws.path, catalogue)
    inventory = process_inventory(ws)
    say("scoring the drivers")
    try:
        scorecard: Scorecard | None = driver_scorecard(ws)
    except MetricError:
        scorecard = None
    say("calibrating the growth model")
    try:
        calibration = calibrate_workspace(ws)
    except ModelError as exc:
        raise ModelError(f"the automation plan needs the growth model: {exc}") from None
    say("simulating every opportunity against the baseline")
    plan = build_plan(
        calibration,
        inventory,
        cat,
        scorecard=scorecard,
        available=tables_with_data(ws),
        currency=_symbol(ws),
        months=months,
        runs=runs,
        seed=seed,
        discount_rate=discount_rate,
        freed_time_value=freed_time_value,
        max_items=max_items,
        parallel_pilots=parallel_pilots,
    )
    if save:
        path = Path(ws.path) / PLAN_FILE
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(plan.to_dict(cumulative=False), indent=1), encoding="utf-8")
        tmp.replace(path)
    return plan


def _symbol(ws: Workspace) -> str:
    code = ws.reporting_currency
    return {"USD": "$", "EUR": "€", "GBP": "£"}.get(code, f"{code} ")


def load_saved_plan(ws: Workspace) -> dict[str, Any] | None:
    """The last saved plan of the workspace, or None."""
    path = Path(ws.path) / PLAN_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def realised_returns(
    ws: Workspace,
    workflow: str | None = None,
    *,
    window_days: int = 30,
    metric: str = "converted",
    catalogue: str | Path | None = None,
) -> list[RealisedROI]:
    """Realised ROI of the automations run with a holdout (one, or every one that has runs).

    The cost, minutes per action and hourly cost come from the catalogue entry
    whose playbook the workflow is and from the inventory's processes it works
    on; the planned range from the last saved plan (``smbgrowth plan``).
    """
    from smbgrowth.automation.playbooks import list_playbooks

    cat = load_catalogue(ws.path, catalogue)
    workflow_of = {p["name"]: p["workflow"] for p in list_playbooks()}
    # A playbook's runs are recorded under its workflow's name (winback, invoice-reminders...).
    by_playbook = {workflow_of.get(o.playbook, o.playbook): o for o in cat if o.playbook}
    saved = load_saved_plan(ws) or {}
    planned_by_id = {
        o["id"]: o["roi"].get("monthly_net_benefit") for o in saved.get("opportunities", [])
    }
    inventory: list[Process] = process_inventory(ws)
    with AutomationStore(ws.path, migrate=True) as store:
        names = store.workflow_names()
        if workflow is not None:
            if workflow not in names:
                raise WorkflowError(
                    f"no workflow {workflow!r} in this workspace; see smbgrowth automate list"
                )
            candidates = [workflow]
        else:
            candidates = []
            for name in names:
                if store.workflow(name).settings.holdout > 0 and store.runs(name, limit=1):
                    candidates.append(name)
    if not candidates:
        raise WorkflowError(
            "no automation has run with a holdout yet; enable a playbook with a holdout share "
            "(e.g. smbgrowth automate enable winback) and let it run"
        )
    out = []
    for name in candidates:
        opp = by_playbook.get(name)
        processes = matched_processes(opp, inventory) if opp is not None else []
        hourly = sum(p.hourly_cost for p in processes) / len(processes) if processes else 30.0
        minutes = sum(p.minutes_per_run for p in processes) / len(processes) if processes else 5.0
        out.append(
            realised_roi(
                ws,
                name,
                window_days=window_days,
                metric=metric,
                minutes_per_action=minutes,
                hourly_cost=hourly,
                monthly_cost=opp.monthly_cost.likely if opp is not None else 0.0,
                setup_cost=opp.setup_cost.likely if opp is not None else 0.0,
                planned=planned_by_id.get(opp.id) if opp is not None else None,
            )
        )
    return out
