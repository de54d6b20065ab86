"""What starts runs: events, schedules, metric thresholds, segment changes, record conditions.

Every trigger turns into ``(workflow, run id, trigger key, subject, context)``
with a run ID that names what triggered it, so evaluating a trigger twice
(after a crash, or with overlapping polls) starts nothing twice:

=========== ============================================== =====================================
trigger     run ID                                         once per
=========== ============================================== =====================================
event       ``<workflow>:event:<event id>``                 event (a re-delivered webhook is one)
schedule    ``<workflow>:tick:<local time>``                intended local time
metric      ``<workflow>:metric:<period>``                  crossing
segment     ``<workflow>:segment:<customer>:<on>:<n>``      entry or exit
condition   ``<workflow>:<record>:<id>``                    record
=========== ============================================== =====================================
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from smbgrowth.automation.definitions import (
    ConditionTrigger,
    EventTrigger,
    MetricTrigger,
    ScheduleTrigger,
    SegmentTrigger,
    Workflow,
)
from smbgrowth.automation.schedule import due_ticks
from smbgrowth.automation.store import AutomationStore
from smbgrowth.errors import SmbGrowthError

__all__ = [
    "Due",
    "customer_context",
    "due_condition_runs",
    "due_event_runs",
    "due_schedule_runs",
    "emit_import_events",
]

#: Canonical table -> the event a new row emits, and its key column.
IMPORT_EVENTS = {
    "customers": ("customer.created", "customer_id"),
    "orders": ("order.created", "order_id"),
    "invoices": ("invoice.created", "invoice_id"),
    "tickets": ("ticket.created", "ticket_id"),
    "subscriptions": ("subscription.created", "subscription_id"),
}


@dataclass(frozen=True)
class Due:
    """A run a trigger asks for."""

    workflow: Workflow
    version: str
    run_id: str
    trigger_key: str
    subject: str | None
    context: dict[str, Any]
    when: str = ""


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def customer_context(
    store: AutomationStore, customer: dict[str, Any] | None, time_zone: str
) -> dict[str, Any]:
    """A customer's fields for templates and conditions, with the automation's tags and edits."""
    row = {k: _plain(v) for k, v in (customer or {}).items()}
    cid = row.get("customer_id")
    if cid:
        row.update(store.customer_fields(str(cid)))
        row["tags"] = store.tags(str(cid))
    name = str(row.get("name") or "").strip()
    row.setdefault("first_name", name.split()[0] if name else "")
    row.setdefault("time_zone", time_zone)
    return row


# -- events -------------------------------------------------------------------------------


def _event_customer(payload: dict[str, Any]) -> dict[str, Any]:
    customer = payload.get("customer")
    if isinstance(customer, dict):
        return dict(customer)
    found: dict[str, Any] = {
        k: payload[k] for k in ("customer_id", "email", "name") if k in payload
    }
    return found


def due_event_runs(
    store: AutomationStore,
    workflows: list[tuple[Workflow, str]],
    events: list[dict[str, Any]],
    lookup: Any,
    time_zone: str,
) -> Iterator[tuple[str, Due | None]]:
    """For each pending event: the runs it starts (``(event id, None)`` closes the event)."""
    for event in events:
        for workflow, version in workflows:
            t = workflow.trigger
            if not isinstance(t, EventTrigger) or t.event != event["type"]:
                continue
            if t.source is not None and t.source != event["source"]:
                continue
            payload = dict(event["payload"])
            customer = _event_customer(payload)
            known = lookup(customer) if lookup is not None else None
            merged = {**(known or {}), **{k: v for k, v in customer.items() if v is not None}}
            if known and "accepts_marketing" in known:
                merged["accepts_marketing"] = known["accepts_marketing"]
            ctx_customer = customer_context(store, merged, time_zone)
            kind = event["type"].split(".")[0]
            context = {"event": payload, "customer": ctx_customer}
            if kind != "customer":
                context[kind] = payload
            subject = str(
                ctx_customer.get("customer_id") or ctx_customer.get("email") or event["event_id"]
            )
            yield (
                event["event_id"],
                Due(
                    workflow,
                    version,
                    f"{workflow.name}:event:{event['event_id']}",
                    f"event {event['type']} {event['event_id']}",
                    subject,
                    context,
                ),
            )
        yield event["event_id"], None


# -- schedules ---------------------------------------------------------------------------


def due_schedule_runs(
    store: AutomationStore, workflows: list[tuple[Workflow, str]], now: datetime
) -> Iterator[tuple[str, Due]]:
    """Ticks due since each schedule was last handled (a new schedule starts from now)."""
    for workflow, version in workflows:
        t = workflow.trigger
        if not isinstance(t, ScheduleTrigger):
            continue
        key = f"schedule:{workflow.name}"
        last = store.get_state(key)
        if last is None:
            store.set_state(key, now.isoformat())
            continue
        ticks = due_ticks(t.schedule.cron, t.schedule.timezone, datetime.fromisoformat(last), now)
        if not t.schedule.catch_up:
            ticks = ticks[-1:]
        for tick in ticks:
            context = {"tick": {"local": tick.key, "at": tick.at.isoformat(),
                                "timezone": t.schedule.timezone}}  # fmt: skip
            yield (
                key,
                Due(
                    workflow,
                    version,
                    f"{workflow.name}:tick:{tick.key}",
                    f"schedule {t.schedule.cron} {t.schedule.timezone} {tick.key}",
                    None,
                    context,
                    when=tick.at.isoformat(),
                ),
            )


# -- metrics, segments and record conditions (read the workspace) -------------------------


def _customers(ws: Any, ids: list[str]) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    frame = ws.duck.execute(
        "SELECT * FROM customers WHERE customer_id IN (SELECT unnest(?))", [ids]
    ).df()
    return {str(r["customer_id"]): r for r in frame.to_dict("records")}


def due_condition_runs(
    workspace: str | Path,
    store: AutomationStore,
    workflows: list[tuple[Workflow, str]],
    now: datetime,
) -> Iterator[tuple[str, Due]]:
    """Runs asked for by metric, segment and record-condition triggers (one workspace read)."""
    wanted = [
        (w, v)
        for w, v in workflows
        if isinstance(w.trigger, MetricTrigger | SegmentTrigger | ConditionTrigger)
    ]
    if not wanted:
        return
    from smbgrowth.data.workspace import open_workspace

    ws = open_workspace(workspace)
    try:
        for workflow, version in wanted:
            t = workflow.trigger
            if isinstance(t, MetricTrigger):
                yield from _metric_runs(ws, store, workflow, version, t)
            elif isinstance(t, SegmentTrigger):
                yield from _segment_runs(ws, store, workflow, version, t)
            elif isinstance(t, ConditionTrigger):
                yield from _condition_runs(ws, store, workflow, version, t, now)
    finally:
        ws.close()


def _metric_runs(
    ws: Any, store: AutomationStore, workflow: Workflow, version: str, t: MetricTrigger
) -> Iterator[tuple[str, Due]]:
    from smbgrowth.metrics.registry import compute_metric
    from smbgrowth.metrics.scorecard import latest_complete_month

    m = t.metric
    try:
        series = compute_metric(ws, m.metric, grain=m.grain).series()
    except SmbGrowthError:
        return
    if m.grain == "month":
        last = latest_complete_month(ws)
        series = series[[str(p) <= str(last) for p in series.index]] if last else series[:0]
    if series.empty:
        return
    period, value = str(series.index[-1]), float(series.iloc[-1])
    crossed = value > m.above if m.above is not None else value < float(m.below or 0)
    key = f"metric:{workflow.name}"
    was = store.get_state(key)
    if crossed and (was is None or not was.get("crossed")):
        yield (
            key,
            Due(
                workflow,
                version,
                f"{workflow.name}:metric:{period}",
                f"metric {m.metric} {value:g} in {period}",
                None,
                {"metric": {"id": m.metric, "period": period, "value": value}},
            ),
        )
    store.set_state(key, {"crossed": crossed, "period": period, "value": value})


def _segment_runs(
    ws: Any, store: AutomationStore, workflow: Workflow, version: str, t: SegmentTrigger
) -> Iterator[tuple[str, Due]]:
    rows = ws.duck.execute(
        "SELECT customer_id FROM customer_segments WHERE segment = ?", [t.segment.segment]
    ).fetchall()
    members = {str(r[0]) for r in rows}
    key = f"segment:{workflow.name}"
    state = store.get_state(key) or {"members": None, "changes": {}}
    before = set(state["members"]) if state["members"] is not None else None
    changes: dict[str, int] = state["changes"]
    if before is not None:
        moved = members - before if t.segment.when == "enter" else before - members
        found = _customers(ws, sorted(moved))
        for cid in sorted(moved):
            n = changes.get(cid, 0) + 1
            changes[cid] = n
            customer = customer_context(store, found.get(cid, {"customer_id": cid}), ws.time_zone)
            yield (
                key,
                Due(
                    workflow,
                    version,
                    f"{workflow.name}:segment:{cid}:{t.segment.when}:{n}",
                    f"segment {t.segment.segment} {t.segment.when}",
                    cid,
                    {"customer": customer, "segment": t.segment.segment},
                ),
            )
    store.set_state(key, {"members": sorted(members), "changes": changes})


def _condition_runs(
    ws: Any,
    store: AutomationStore,
    workflow: Workflow,
    version: str,
    t: ConditionTrigger,
    now: datetime,
) -> Iterator[tuple[str, Due]]:
    c = t.condition
    key = f"condition:{workflow.name}"
    if c.record == "invoice":
        cutoff = now - timedelta(days=c.overdue_days or 0)
        frame = ws.duck.execute(
            "SELECT * FROM invoices WHERE paid_at IS NULL AND due_at IS NOT NULL AND due_at <= ?",
            [cutoff],
        ).df()
        rows = frame.to_dict("records")
        found = _customers(ws, sorted({str(r["customer_id"]) for r in rows if r["customer_id"]}))
        for r in rows:
            invoice = {k: _plain(v) for k, v in r.items()}
            invoice["days_overdue"] = (now - r["due_at"].to_pydatetime()).days
            cid = str(r["customer_id"]) if r["customer_id"] else None
            customer = customer_context(
                store, found.get(cid or "", {"customer_id": cid}), ws.time_zone
            )
            yield (
                key,
                Due(
                    workflow,
                    version,
                    f"{workflow.name}:invoice:{r['invoice_id']}",
                    f"invoice {r['invoice_id']} {invoice['days_overdue']} days overdue",
                    cid,
                    {"invoice": invoice, "customer": customer},
                ),
            )
    elif c.record == "product":
        from smbgrowth.models.inventory import reorder_plan

        plan = reorder_plan(ws, as_of=now.date())
        for s in plan.reorder:
            row = s.to_dict()
            if not row.get("order_now"):
                continue
            yield (
                key,
                Due(
                    workflow,
                    version,
                    f"{workflow.name}:sku:{row['sku']}:{row.get('order_by') or now.date()}",
                    f"SKU {row['sku']} below its reorder point",
                    None,
                    {"product": {k: _plain(v) for k, v in row.items()}},
                ),
            )
    else:
        from smbgrowth.models.clv.workflow import predict_customers

        table = predict_customers(ws)
        threshold = c.p_alive_below or 0.0
        at_risk = table[table.p_alive < threshold]
        if c.min_value is not None:
            at_risk = at_risk[at_risk.clv >= c.min_value]
        found = _customers(ws, [str(i) for i in at_risk.index])
        for index, r in at_risk.iterrows():
            cid = str(index)
            customer = customer_context(
                store, found.get(str(cid), {"customer_id": cid}), ws.time_zone
            )
            customer.update(p_alive=float(r.p_alive), clv=float(r.clv))
            yield (
                key,
                Due(
                    workflow,
                    version,
                    f"{workflow.name}:customer:{cid}",
                    f"customer {cid} P(alive) {r.p_alive:.2f} below {threshold:g}",
                    str(cid),
                    {"customer": customer},
                ),
            )


# -- importers -----------------------------------------------------------------------------


def emit_import_events(ws: Any, started: datetime) -> int:
    """After an import: one event per new row of a table some enabled workflow listens to."""
    from smbgrowth.automation.definitions import Workflow as _W

    path = Path(ws.path)
    store = AutomationStore(path)
    try:
        wanted = {
            w.trigger.event
            for w, _ in store.enabled_workflows()
            if isinstance(w.trigger, EventTrigger) and isinstance(w, _W)
        }
        count = 0
        for table, (event, key) in IMPORT_EVENTS.items():
            if event not in wanted:
                continue
            frame = ws.duck.execute(f"SELECT * FROM {table} WHERE imported_at = ?", [started]).df()
            for row in frame.to_dict("records"):
                payload = {k: _plain(v) for k, v in row.items()}
                if store.add_event(f"import:{table}:{row[key]}", "import", event, payload):
                    count += 1
        return count
    finally:
        store.close()
