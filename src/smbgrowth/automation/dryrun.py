"""Dry run: who would get what, when — without sending, writing or starting anything.

The trigger is evaluated on an in-memory copy of the automation state and a
read of the workspace: an event trigger uses the latest rows of the table it
listens to as stand-in events, a schedule its next ticks, conditions,
metrics and segments their current matches. Each run's steps are walked from
now with their waits and send windows; each e-mail is rendered for its
recipient and checked for consent, suppression and frequency caps.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from smbgrowth.automation.config import load_config
from smbgrowth.automation.definitions import (
    ApprovalStep,
    EmailStep,
    EventTrigger,
    IfStep,
    ScheduleTrigger,
    SegmentTrigger,
    Step,
    WaitStep,
    WaitUntilStep,
    Workflow,
)
from smbgrowth.automation.engine import _passes, _zone, can_email, in_holdout, seconds_until
from smbgrowth.automation.messages import render
from smbgrowth.automation.schedule import due_ticks
from smbgrowth.automation.store import AutomationStore
from smbgrowth.automation.triggers import (
    IMPORT_EVENTS,
    Due,
    customer_context,
    due_condition_runs,
)
from smbgrowth.errors import SmbGrowthError

__all__ = ["DryRun", "PlannedAction", "dry_run"]


@dataclass(frozen=True)
class PlannedAction:
    """One effect a run would have."""

    step: str
    action: str
    at: str
    to: str | None = None
    subject: str | None = None
    allowed: bool = True
    reason: str = ""


@dataclass(frozen=True)
class DryRun:
    """What a workflow would do now."""

    workflow: str
    version: str
    runs: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _walk(
    workspace: Path,
    store: AutomationStore,
    workflow: Workflow,
    steps: list[Step],
    prefix: str,
    context: dict[str, Any],
    at: datetime,
    out: list[PlannedAction],
) -> datetime:
    config = load_config(workspace)
    for i, step in enumerate(steps):
        path = f"{prefix}{i}"
        if isinstance(step, WaitStep):
            at += timedelta(seconds=step.wait.total_seconds)
        elif isinstance(step, WaitUntilStep):
            w = step.wait_until
            at += timedelta(
                seconds=seconds_until(w.time, list(w.days), _zone(w.timezone, context), at)
            )
        elif isinstance(step, IfStep):
            branch = step.then if _passes(step, context) else step.otherwise
            label = "then" if branch is step.then else "else"
            at = _walk(workspace, store, workflow, branch, f"{path}.{label}.", context, at, out)
        elif isinstance(step, EmailStep):
            window = workflow.settings.send_window
            if window is not None:
                at += timedelta(
                    seconds=seconds_until(window.start, list(window.days),
                                          _zone(window.timezone, context), at,
                                          window_end=window.end)
                )  # fmt: skip
            try:
                rendered = render(
                    workspace,
                    config,
                    template=step.send_email.template,
                    subject=step.send_email.subject,
                    to=step.send_email.to,
                    context=context,
                    mailing_list=workflow.mailing_list,
                    marketing=workflow.kind == "marketing",
                )
            except SmbGrowthError as exc:
                out.append(
                    PlannedAction(path, "email", at.isoformat(), None, None, False, str(exc))
                )
                continue
            allowed, reason = can_email(
                store, rendered.to, workflow,
                (context.get("customer") or {}).get("accepts_marketing"),
            )  # fmt: skip
            out.append(
                PlannedAction(path, "email", at.isoformat(), rendered.to, rendered.subject,
                              allowed, reason)
            )  # fmt: skip
        elif isinstance(step, ApprovalStep):
            out.append(
                PlannedAction(path, "approval", at.isoformat(), None, step.approval.prompt, True,
                              f"waits up to {step.approval.timeout_hours:g} h, then "
                              f"{step.approval.default}")
            )  # fmt: skip
        else:
            action = next(iter(step.model_dump(by_alias=True)))
            out.append(PlannedAction(path, action, at.isoformat()))
    return at


def _stand_in_events(workspace: Path, workflow: Workflow, limit: int) -> list[Due]:
    t = workflow.trigger
    assert isinstance(t, EventTrigger)
    table = next((tb for tb, (ev, _) in IMPORT_EVENTS.items() if ev == t.event), None)
    if table is None:
        return []
    from smbgrowth.data.workspace import open_workspace

    ws = open_workspace(workspace)
    try:
        order = {"orders": "ordered_at", "invoices": "issued_at", "tickets": "opened_at",
                 "subscriptions": "started_at"}.get(table, "created_at")  # fmt: skip
        frame = ws.duck.execute(
            f"SELECT t.* FROM {table} t ORDER BY {order} DESC NULLS LAST LIMIT ?", [limit]
        ).df()
        key = IMPORT_EVENTS[table][1]
        rows = frame.to_dict("records")
        ids = sorted({str(r.get("customer_id")) for r in rows if r.get("customer_id")})
        customers: dict[str, dict[str, Any]] = (
            {
                str(r["customer_id"]): {str(k): v for k, v in r.items()}
                for r in ws.duck.execute(
                    "SELECT * FROM customers WHERE customer_id IN (SELECT unnest(?))", [ids]
                )
                .df()
                .to_dict("records")
            }
            if table != "customers"
            else {}
        )
        time_zone = ws.time_zone
    finally:
        ws.close()
    store = AutomationStore.snapshot(workspace)
    out = []
    try:
        for r in rows:
            cid = str(r.get("customer_id") or "")
            row = {str(k): v for k, v in r.items()}
            customer = row if table == "customers" else customers.get(cid, {"customer_id": cid})
            kind = t.event.split(".")[0]
            context: dict[str, Any] = {"customer": customer_context(store, customer, time_zone)}
            if kind != "customer":  # as the worker does: the row is the customer itself
                context[kind] = {k: str(v) for k, v in r.items()}
            out.append(Due(workflow, workflow.version, f"{workflow.name}:event:{r[key]}",
                           f"{t.event} {r[key]} (stand-in)", cid or None, context))  # fmt: skip
    finally:
        store.close()
    return out


def dry_run(
    workspace: str | Path, workflow: Workflow, *, limit: int = 20, now: datetime | None = None
) -> DryRun:
    """What ``workflow`` would do now (see the module doc); nothing is written or sent."""
    workspace = Path(workspace)
    now = now or datetime.now(UTC)
    notes: list[str] = []
    t = workflow.trigger
    dues: list[Due] = []
    if isinstance(t, EventTrigger):
        dues = _stand_in_events(workspace, workflow, limit)
        notes.append(f"the {len(dues)} latest {t.event.split('.')[0]} rows stand in for events")
    elif isinstance(t, ScheduleTrigger):
        ticks = due_ticks(t.schedule.cron, t.schedule.timezone, now, now + timedelta(days=31))
        dues = [
            Due(workflow, workflow.version, f"{workflow.name}:tick:{k.key}", f"tick {k.key}", None,
                {"tick": {"local": k.key, "at": k.at.isoformat()}}, k.at.isoformat())
            for k in ticks[:limit]
        ]  # fmt: skip
    else:
        store = AutomationStore.snapshot(workspace)
        try:
            pairs = [(workflow, workflow.version)]
            dues = [d for _, d in due_condition_runs(workspace, store, pairs, now)][:limit]
            if (
                isinstance(t, SegmentTrigger)
                and store.get_state(f"segment:{workflow.name}") is None
            ):
                notes.append(
                    "the first check records who is in the segment; runs start with later "
                    f"{'entries' if t.segment.when == 'enter' else 'exits'}"
                )
        finally:
            store.close()
    store = AutomationStore.snapshot(workspace)
    runs = []
    try:
        for due in dues:
            start = datetime.fromisoformat(due.when) if due.when else now
            holdout = in_holdout(workflow.name, due.subject, workflow.settings.holdout)
            actions: list[PlannedAction] = []
            if not holdout:
                _walk(workspace, store, workflow, workflow.steps, "", due.context, start, actions)
            runs.append({
                "run_id": due.run_id,
                "trigger": due.trigger_key,
                "subject": due.subject,
                "holdout": holdout,
                "actions": [asdict(a) for a in actions],
            })  # fmt: skip
    finally:
        store.close()
    if not runs:
        notes.append("nothing would run now")
    return DryRun(workflow.name, workflow.version, runs, notes)
