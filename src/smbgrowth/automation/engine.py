"""Durable execution of workflows on DBOS: runs survive crashes, effects happen once.

One worker process per workspace launches DBOS on ``automation.dbos.sqlite``
in the workspace folder (SQLite; a PostgreSQL URL in
``SMBGROWTH_DBOS_DATABASE_URL`` for production) with a fixed executor id and
application version, so that after a crash or a restart it recovers every
run that was in flight. A run is the DBOS workflow :func:`run_workflow`; its
ID derives from its trigger (the same webhook delivered twice is one run)
and it executes the workflow *version* it started with, which the store
keeps forever, so editing a workflow never strands a run.

Each effect is a DBOS step keyed ``run id : step path : effect``: the step
checks the sent log (or the row's unique key) before acting, so a step that
is repeated after a crash does nothing twice. Waits are durable sleeps;
approvals are durable messages (``approval:<step>``) sent by the command line
or the web app, with a timeout and a default outcome.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from dbos import DBOS, DBOSClient, DBOSConfig, SetWorkflowID

from smbgrowth.automation.config import load_config
from smbgrowth.automation.definitions import (
    DAYS,
    ApprovalStep,
    ChatStep,
    EmailStep,
    IfStep,
    SocialStep,
    Step,
    TagStep,
    TaskStep,
    UpdateCustomerStep,
    WaitStep,
    WaitUntilStep,
    WebhookStep,
    Workflow,
)
from smbgrowth.automation.messages import PermanentFailure, TemporaryFailure, render, send_once
from smbgrowth.automation.store import GLOBAL, AutomationStore, now_iso
from smbgrowth.errors import WorkflowError

__all__ = [
    "APP_NAME",
    "APP_VERSION",
    "DBOS_FILE",
    "can_email",
    "dbos_config",
    "dbos_url",
    "in_holdout",
    "iter_steps",
    "run_workflow",
    "send_approval",
    "start_run",
]

APP_NAME = "smbgrowth-automation"
#: Recovery only resumes runs of the same application version: change it deliberately.
APP_VERSION = "1"
DBOS_FILE = "automation.dbos.sqlite"
EXECUTOR_ID = "worker"


def dbos_url(workspace: str | Path) -> str:
    """The DBOS system database: the workspace's SQLite file unless configured otherwise."""
    override = os.environ.get("SMBGROWTH_DBOS_DATABASE_URL")
    if override:
        return override
    return f"sqlite:///{(Path(workspace) / DBOS_FILE).resolve()}"


def dbos_config(workspace: str | Path) -> DBOSConfig:
    """DBOS settings of the worker of one workspace."""
    return {
        "name": APP_NAME,
        "system_database_url": dbos_url(workspace),
        "application_version": APP_VERSION,
        "executor_id": EXECUTOR_ID,
        "log_level": "ERROR",
        "notification_listener_polling_interval_sec": 0.2,
    }


# -- pure helpers (no effects) ----------------------------------------------------------


def in_holdout(workflow: str, subject: str | None, share: float) -> bool:
    """Whether a subject is held out of a workflow: a stable hash, the same every time."""
    if share <= 0 or subject is None:
        return False
    digest = hashlib.sha256(f"{workflow}\n{subject}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def iter_steps(steps: list[Step], prefix: str = "") -> Iterator[tuple[str, Step]]:
    """Every step with its path (``0``, ``2.then.1``...), branches included."""
    for i, step in enumerate(steps):
        path = f"{prefix}{i}"
        yield path, step
        if isinstance(step, IfStep):
            yield from iter_steps(step.then, f"{path}.then.")
            yield from iter_steps(step.otherwise, f"{path}.else.")


def _lookup(context: dict[str, Any], field: str) -> Any:
    value: Any = context
    for part in field.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return None
    return value


def _passes(step: IfStep, context: dict[str, Any]) -> bool:
    t = step.test
    value = _lookup(context, t.field)
    if "equals" in t.model_fields_set:
        return bool(value == t.equals)
    if "not_equals" in t.model_fields_set:
        return bool(value != t.not_equals)
    if t.is_in is not None:
        return value in t.is_in
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    if t.above is not None:
        return number > t.above
    return t.below is not None and number < t.below


def _zone(name: str, context: dict[str, Any]) -> ZoneInfo:
    if name == "customer":
        name = str(_lookup(context, "customer.time_zone") or context.get("time_zone") or "UTC")
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def seconds_until(
    at: time, days: list[str], zone: ZoneInfo, now: datetime, *, window_end: time | None = None
) -> float:
    """Seconds from ``now`` to the next allowed local time (0 if inside the window now)."""
    local = now.astimezone(zone)
    for offset in range(8):
        day = (local + timedelta(days=offset)).date()
        if DAYS[day.weekday()] not in days:
            continue
        start = datetime.combine(day, at, tzinfo=zone)
        if window_end is not None and offset == 0:
            end = datetime.combine(day, window_end, tzinfo=zone)
            if start <= local < end:
                return 0.0
        if start >= local or (window_end is None and start == local):
            return max((start - local).total_seconds(), 0.0)
    return 0.0


def can_email(
    store: AutomationStore, email: str, workflow: Workflow, accepts_marketing: Any
) -> tuple[bool, str]:
    """Consent and suppression for one address: (allowed, reason)."""
    blocked = store.suppression(email)
    if GLOBAL in blocked:
        return False, f"suppressed ({blocked[GLOBAL]})"
    if workflow.kind == "transactional":
        return True, "transactional"
    if workflow.mailing_list in blocked:
        return (
            False,
            f"unsubscribed from {workflow.mailing_list} ({blocked[workflow.mailing_list]})",
        )
    explicit = store.consent(email, workflow.mailing_list)
    if explicit is False:
        return False, "consent withdrawn"
    if explicit is None and accepts_marketing is not True:
        return False, "no marketing consent"
    return True, "consent"


# -- steps: every effect happens here, once ------------------------------------------------


@DBOS.step()
def _audit(workspace: str, action: str, detail: dict[str, Any]) -> None:
    with AutomationStore(workspace, migrate=False) as store:
        store.audit(f"automation.{action}", detail)


@DBOS.step()
def _set_status(workspace: str, run_id: str, status: str, detail: dict[str, Any]) -> None:
    with AutomationStore(workspace, migrate=False) as store:
        store.set_run_status(run_id, status, detail, audit=True)


@DBOS.step()
def _gate(workspace: str, run_id: str, definition: str, context: dict[str, Any]) -> float:
    """Seconds to wait before sending: the send window and the workflow's rate limit."""
    workflow = Workflow.model_validate_json(definition)
    settings = workflow.settings
    now = datetime.now(UTC)
    wait = 0.0
    if settings.send_window is not None:
        w = settings.send_window
        wait = seconds_until(
            w.start, list(w.days), _zone(w.timezone, context), now, window_end=w.end
        )
    if wait == 0 and settings.rate_limit is not None:
        r = settings.rate_limit
        window = timedelta(hours=r.per_hours)
        with AutomationStore(workspace, migrate=False) as store:
            if store.sends_by_workflow(workflow.name, now - window) >= r.count:
                wait = window.total_seconds() / r.count
    return wait


def _temporary(exc: BaseException) -> bool:
    """Only temporary failures (4xx, network) are worth another attempt."""
    return isinstance(exc, TemporaryFailure)


RETRY = {
    "retries_allowed": True,
    "max_attempts": 8,
    "interval_seconds": 1.0,
    "backoff_rate": 2.0,
    "should_retry": _temporary,
}


@DBOS.step(**RETRY)  # type: ignore[arg-type]
def _send_email(
    workspace: str, run_id: str, path: str, definition: str, context: dict[str, Any]
) -> dict[str, Any]:
    workflow = Workflow.model_validate_json(definition)
    step = _step_at(workflow, path)
    assert isinstance(step, EmailStep)
    config = load_config(workspace)
    if workflow.settings.from_address:
        config = config.model_copy(update={"mail_from": workflow.settings.from_address})
    idem_key = f"{run_id}:{path}:email"
    with AutomationStore(workspace, migrate=False) as store:
        if store.sent_status(idem_key) == "sent":
            return {"status": "already sent"}
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
        allowed, reason = can_email(
            store, rendered.to, workflow, _lookup(context, "customer.accepts_marketing")
        )
        cap = workflow.settings.frequency_cap
        if allowed and cap is not None and workflow.kind == "marketing":
            since = datetime.now(UTC) - timedelta(days=cap.per_days)
            if store.sends_to(rendered.to, since) >= cap.count:
                allowed, reason = False, f"frequency cap ({cap.count} in {cap.per_days:g} days)"
        if not allowed:
            store.audit(
                "automation.email_skipped",
                {"run_id": run_id, "step": path, "workflow": workflow.name, "reason": reason,
                 "to": rendered.to},
            )  # fmt: skip
            return {"status": "skipped", "reason": reason, "to": rendered.to}
        try:
            outcome = send_once(
                store,
                config,
                rendered,
                idem_key=idem_key,
                run_id=run_id,
                kind="marketing" if workflow.kind == "marketing" else "email",
                audit={"action": "automation.email_sent", "run_id": run_id, "step": path,
                       "workflow": workflow.name, "to": rendered.to,
                       "subject": rendered.subject},
            )  # fmt: skip
        except PermanentFailure as exc:
            store.mark_sent(idem_key, "bounced" if exc.recipient else "failed", str(exc))
            if exc.recipient:
                store.suppress(rendered.to, GLOBAL, f"hard bounce: {exc}")
            store.audit(
                "automation.email_failed",
                {"run_id": run_id, "step": path, "workflow": workflow.name, "to": rendered.to,
                 "reason": str(exc), "suppressed": exc.recipient},
            )  # fmt: skip
            return {"status": "bounced" if exc.recipient else "failed", "reason": str(exc),
                    "to": rendered.to}  # fmt: skip
        except TemporaryFailure as exc:
            store.audit(
                "automation.email_deferred",
                {"run_id": run_id, "step": path, "workflow": workflow.name, "reason": str(exc)},
            )
            raise
        return {"status": outcome, "to": rendered.to}


def _signed_headers(body: bytes, idem_key: str, secret: str | None) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Idempotency-Key": idem_key}
    if secret:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers["X-Signature"] = f"sha256={digest}"
    return headers


@DBOS.step(**RETRY)  # type: ignore[arg-type]
def _post(
    workspace: str,
    run_id: str,
    path: str,
    kind: str,
    url: str,
    method: str,
    payload: dict[str, Any],
    secret: str | None,
) -> dict[str, Any]:
    """An HTTP call with an Idempotency-Key header; retried on 5xx and network errors."""
    idem_key = f"{run_id}:{path}:{kind}"
    with AutomationStore(workspace, migrate=False) as store:
        if store.sent_status(idem_key) == "sent":
            return {"status": "already sent"}
        body = json.dumps(payload, sort_keys=True, default=str).encode()
        store.mark_sending(idem_key, run_id, kind, url, None)
        try:
            response = httpx.request(
                method, url, content=body, headers=_signed_headers(body, idem_key, secret),
                timeout=30.0,
            )  # fmt: skip
        except httpx.HTTPError as exc:
            raise TemporaryFailure(f"{kind} to {url} failed: {exc}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise TemporaryFailure(f"{kind} to {url}: HTTP {response.status_code}")
        status = "sent" if response.status_code < 400 else "failed"
        store.mark_sent(idem_key, status, f"HTTP {response.status_code}")
        store.audit(
            f"automation.{kind}",
            {"run_id": run_id, "step": path, "url": url, "status": response.status_code},
        )
        return {"status": status, "http_status": response.status_code}


@DBOS.step()
def _record(
    workspace: str, run_id: str, path: str, definition: str, context: dict[str, Any]
) -> Any:
    """Tasks, tags, customer updates and social posts: stored once per run and step."""
    from jinja2.sandbox import SandboxedEnvironment

    workflow = Workflow.model_validate_json(definition)
    step = _step_at(workflow, path)
    env = SandboxedEnvironment(autoescape=False)

    def fill(text: str) -> str:
        return env.from_string(text).render(**context)

    customer = str(_lookup(context, "customer.customer_id") or "")
    idem_key = f"{run_id}:{path}"
    with AutomationStore(workspace, migrate=False) as store:
        if isinstance(step, TaskStep):
            due = None
            if step.task.due_in_days is not None:
                due = now_iso(datetime.now(UTC) + timedelta(days=step.task.due_in_days))
            created = store.create_task(
                idem_key, run_id, fill(step.task.title), step.task.assignee, due
            )
            result: Any = {"task_created": created}
        elif isinstance(step, TagStep):
            if not customer:
                return {"status": "skipped", "reason": "no customer"}
            store.tag(customer, step.tag.add, step.tag.remove)
            result = {"tags": store.tags(customer)}
        elif isinstance(step, UpdateCustomerStep):
            if not customer:
                return {"status": "skipped", "reason": "no customer"}
            store.update_customer(customer, dict(step.update_customer))
            result = {"updated": sorted(step.update_customer)}
        elif isinstance(step, SocialStep):
            post_at = now_iso(datetime.now(UTC) + timedelta(hours=step.social_post.after_hours))
            queued = store.queue_social(
                idem_key, run_id, step.social_post.channel, fill(step.social_post.text), post_at
            )
            result = {"queued": queued, "post_at": post_at}
        else:
            raise WorkflowError(f"step {path} is not a record step")
        store.audit(
            "automation.step",
            {"run_id": run_id, "step": path, "workflow": workflow.name, "result": result},
        )
        return result


@DBOS.step()
def _request_approval(
    workspace: str, run_id: str, path: str, definition: str, context: dict[str, Any]
) -> str:
    from jinja2.sandbox import SandboxedEnvironment

    workflow = Workflow.model_validate_json(definition)
    step = _step_at(workflow, path)
    assert isinstance(step, ApprovalStep)
    prompt = SandboxedEnvironment().from_string(step.approval.prompt).render(**context)
    timeout_at = now_iso(datetime.now(UTC) + timedelta(hours=step.approval.timeout_hours))
    with AutomationStore(workspace, migrate=False) as store:
        store.request_approval(
            run_id, path, workflow.name, prompt, timeout_at, step.approval.default
        )
        store.set_run_status(run_id, "waiting", {"approval": path, "prompt": prompt})
        store.audit(
            "automation.approval_requested",
            {"run_id": run_id, "step": path, "workflow": workflow.name, "prompt": prompt},
        )
    return prompt


@DBOS.step()
def _decide(workspace: str, run_id: str, path: str, decision: str, actor: str) -> None:
    with AutomationStore(workspace, migrate=False) as store:
        store.decide_approval(run_id, path, decision, actor)
        store.set_run_status(run_id, "running", {})
        store.audit(
            "automation.approval_decided",
            {"run_id": run_id, "step": path, "decision": decision},
            actor=actor,
        )


def _step_at(workflow: Workflow, path: str) -> Step:
    for p, step in iter_steps(workflow.steps):
        if p == path:
            return step
    raise WorkflowError(f"workflow {workflow.name!r} has no step {path}")


# -- the run ------------------------------------------------------------------------------


def _execute(
    workspace: str,
    run_id: str,
    definition: str,
    workflow: Workflow,
    steps: list[Step],
    prefix: str,
    context: dict[str, Any],
    outcomes: dict[str, Any],
) -> None:
    for i, step in enumerate(steps):
        path = f"{prefix}{i}"
        if isinstance(step, EmailStep):
            gated = workflow.settings.send_window or workflow.settings.rate_limit
            while gated and (delay := _gate(workspace, run_id, definition, context)) > 0:
                DBOS.sleep(delay)
            outcomes[path] = _send_email(workspace, run_id, path, definition, context)
        elif isinstance(step, WaitStep):
            DBOS.sleep(step.wait.total_seconds)
        elif isinstance(step, WaitUntilStep):
            w = step.wait_until
            delay = _wait_until(w.time.isoformat(), list(w.days), w.timezone, context)
            if delay > 0:
                DBOS.sleep(delay)
        elif isinstance(step, IfStep):
            branch = step.then if _passes(step, context) else step.otherwise
            label = "then" if branch is step.then else "else"
            _execute(workspace, run_id, definition, workflow, branch, f"{path}.{label}.",
                     context, outcomes)  # fmt: skip
        elif isinstance(step, WebhookStep):
            h = step.webhook
            outcomes[path] = _post(workspace, run_id, path, "webhook", h.url, h.method,
                                   {"run_id": run_id, "workflow": workflow.name, **h.body,
                                    "context": context}, h.secret)  # fmt: skip
        elif isinstance(step, ChatStep):
            from jinja2.sandbox import SandboxedEnvironment

            text = SandboxedEnvironment().from_string(step.notify_chat.text).render(**context)
            outcomes[path] = _post(workspace, run_id, path, "chat", step.notify_chat.url, "POST",
                                   {"text": text}, None)  # fmt: skip
        elif isinstance(step, ApprovalStep):
            _request_approval(workspace, run_id, path, definition, context)
            message = DBOS.recv(
                f"approval:{path}", timeout_seconds=step.approval.timeout_hours * 3600
            )
            if isinstance(message, dict) and message.get("decision") in ("approve", "reject"):
                decision, actor = str(message["decision"]), str(message.get("actor", "user"))
            else:
                decision, actor = step.approval.default, "timeout"
            _decide(workspace, run_id, path, decision, actor)
            outcomes[path] = {"decision": decision, "actor": actor}
            if decision == "reject":
                outcomes["stopped"] = path
                return
        else:
            outcomes[path] = _record(workspace, run_id, path, definition, context)
        if "stopped" in outcomes:
            return


@DBOS.step()
def _wait_until(at: str, days: list[str], zone: str, context: dict[str, Any]) -> float:
    return seconds_until(time.fromisoformat(at), days, _zone(zone, context), datetime.now(UTC))


@DBOS.workflow()
def run_workflow(
    workspace: str,
    run_id: str,
    definition: str,
    version: str,
    subject: str | None,
    context: dict[str, Any],
) -> dict[str, Any]:
    """One run of one workflow version (the DBOS workflow; its ID is ``run_id``).

    The definition (the stored version's JSON) is part of the run's input, so
    the run executes exactly the version it started with whatever is edited later.
    """
    workflow = Workflow.model_validate_json(definition)
    name = workflow.name
    if in_holdout(name, subject, workflow.settings.holdout):
        _set_status(workspace, run_id, "holdout", {"workflow": name, "subject": subject})
        return {"status": "holdout"}
    outcomes: dict[str, Any] = {}
    try:
        _execute(workspace, run_id, definition, workflow, workflow.steps, "", context, outcomes)
    except Exception as exc:  # a step gave up after its retries: record, do not hide
        _set_status(workspace, run_id, "failed", {"workflow": name, "error": str(exc)[:500]})
        return {"status": "failed", "error": str(exc)[:500], "steps": outcomes}
    status = "stopped" if "stopped" in outcomes else "done"
    _set_status(workspace, run_id, "done", {"workflow": name, "outcome": status})
    return {"status": status, "steps": outcomes}


def start_run(
    store: AutomationStore,
    workflow: Workflow,
    version: str,
    run_id: str,
    trigger_key: str,
    subject: str | None,
    context: dict[str, Any],
) -> bool:
    """Start a run (in the worker) once per ``run_id``; True if it is new.

    The run is indexed before it starts (its steps update that row); starting is
    idempotent, so a crash in between is repaired when the trigger is seen again.
    """
    holdout = in_holdout(workflow.name, subject, workflow.settings.holdout)
    new = store.record_trigger(run_id, workflow.name, version, trigger_key, subject, holdout)
    with SetWorkflowID(run_id):
        DBOS.start_workflow(
            run_workflow, str(store.workspace), run_id, workflow.to_json(), version, subject,
            context,
        )  # fmt: skip
    return new


def send_approval(workspace: str | Path, run_id: str, step: str, approve: bool, actor: str) -> None:
    """Approve or reject a waiting step from another process (command line, web)."""
    decision = "approve" if approve else "reject"
    with AutomationStore(workspace, migrate=False) as store:
        pending = [a for a in store.pending_approvals() if a["run_id"] == run_id]
        if not pending:
            raise WorkflowError(
                f"run {run_id!r} is not waiting for an approval; see smbgrowth automate approvals"
            )
        if step == "":
            step = str(pending[0]["step"])
        elif step not in {str(a["step"]) for a in pending}:
            raise WorkflowError(f"run {run_id!r} is not waiting at step {step!r}")
        # First decision wins: a second, conflicting one is refused, not silently dropped.
        if not store.decide_approval(run_id, step, decision, actor):
            raise WorkflowError(f"run {run_id!r} step {step} has already been decided")
    client = DBOSClient(system_database_url=dbos_url(workspace), application_name=APP_NAME)
    try:
        client.send(
            run_id,
            {"decision": decision, "actor": actor},
            topic=f"approval:{step}",
            idempotency_key=f"{run_id}:{step}:decision",
        )
    except Exception as exc:  # the run never heard of it: undo the recorded decision
        with AutomationStore(workspace, migrate=False) as store:
            store.con.execute(
                "UPDATE approvals SET decision = NULL, decided_at = NULL, actor = NULL"
                " WHERE run_id = ? AND step = ?",
                (run_id, step),
            )
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WorkflowError(
            f"the decision could not be delivered to run {run_id!r} ({first}); "
            "is the automation worker running for this workspace?"
        ) from None
    finally:
        client.destroy()
    with AutomationStore(workspace, migrate=False) as store:
        store.audit(
            "automation.approval_sent",
            {"run_id": run_id, "step": step, "decision": decision},
            actor=actor,
        )
