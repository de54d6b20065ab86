"""The automation's own state in the workspace's ``ops.sqlite``.

Workflow versions and their enabled flag, the run index, the sent log that
makes every external effect happen once, consent and suppression, tasks,
approvals, the social-post queue, customer tags, the event inbox, trigger
state, and the append-only audit log. The store opens only the SQLite file
(never the DuckDB file), in WAL mode with a busy timeout, so the worker,
the command line and the web app can use it at the same time.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from smbgrowth.automation.definitions import Workflow, parse_workflow
from smbgrowth.data.migrations import migrate_sqlite
from smbgrowth.errors import WorkflowError

__all__ = ["GLOBAL", "AutomationStore", "RunRecord", "normalise_email", "now_iso"]

#: The suppression list that blocks every list (a global opt-out or a hard bounce).
GLOBAL = "*"


def normalise_email(email: str) -> str:
    """An address in lower case without spaces; one-line error when it is not an address."""
    address = email.strip().lower()
    local, _, domain = address.rpartition("@")
    if not local or "." not in domain or " " in address:
        raise WorkflowError(f"{email!r} is not an e-mail address")
    return address


def now_iso(at: datetime | None = None) -> str:
    """An instant as ISO 8601 UTC with microseconds (sortable text)."""
    return (at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class RunRecord:
    """One run as the automation records it."""

    run_id: str
    workflow: str
    version: str
    trigger_key: str
    subject: str | None
    holdout: bool
    status: str
    started_at: str
    finished_at: str | None
    detail: dict[str, Any]


class AutomationStore:
    """Read and write the automation tables of one workspace (see the module doc)."""

    def __init__(self, workspace: str | Path, *, migrate: bool = True) -> None:
        from smbgrowth.data.workspace import SQLITE_FILE

        self.workspace = Path(workspace)
        path = self.workspace / SQLITE_FILE
        if not path.exists():
            raise WorkflowError(
                f"{self.workspace} is not a workspace (no {SQLITE_FILE}); run smbgrowth init"
            )
        self.con = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self.con.row_factory = sqlite3.Row
        self.con.execute("PRAGMA busy_timeout=30000")
        if migrate:
            self.con.execute("PRAGMA journal_mode=WAL")
            migrate_sqlite(self.con)
        # WAL with NORMAL sync survives a crashed process (only a power cut can lose the
        # last commits); the sent log's guarantees are about crashed processes.
        self.con.execute("PRAGMA synchronous=NORMAL")

    @classmethod
    def snapshot(cls, workspace: str | Path) -> AutomationStore:
        """An in-memory copy of the store: reads see the real state, writes go nowhere."""
        real = cls(workspace)
        try:
            memory = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            real.con.backup(memory)
        finally:
            real.close()
        copy = cls.__new__(cls)
        copy.workspace = Path(workspace)
        copy.con = memory
        copy.con.row_factory = sqlite3.Row
        return copy

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> AutomationStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An IMMEDIATE transaction (writers queue instead of failing)."""
        self.con.execute("BEGIN IMMEDIATE")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    # -- audit ------------------------------------------------------------------------

    def audit(self, action: str, detail: dict[str, Any], actor: str = "automation") -> None:
        """Append to the workspace's audit log (append-only: updates and deletes are refused)."""
        self.con.execute(
            "INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, ?, ?)",
            (now_iso(), actor, action, json.dumps(detail, sort_keys=True, default=str)),
        )

    def audit_entries(
        self, *, workflow: str | None = None, run_id: str | None = None, limit: int = 200
    ) -> list[dict[str, Any]]:
        """Audit entries of the automation, newest first, optionally for one workflow or run."""
        sql = "SELECT id, at, actor, action, detail FROM audit_log WHERE action LIKE 'automation.%'"
        args: list[Any] = []
        if workflow is not None:
            sql += " AND json_extract(detail, '$.workflow') = ?"
            args.append(workflow)
        if run_id is not None:
            sql += " AND json_extract(detail, '$.run_id') = ?"
            args.append(run_id)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        return [{**dict(r), "detail": json.loads(r["detail"])} for r in self.con.execute(sql, args)]

    # -- workflows --------------------------------------------------------------------

    def save_workflow(self, workflow: Workflow, path: str | None = None) -> str:
        """Store a workflow's version (kept forever) and make it the current one."""
        version = workflow.version
        with self.transaction() as con:
            con.execute(
                "INSERT OR IGNORE INTO workflow_versions VALUES (?, ?, ?, ?)",
                (workflow.name, version, workflow.to_json(), now_iso()),
            )
            row = con.execute(
                "SELECT version, enabled FROM workflows WHERE name = ?", (workflow.name,)
            ).fetchone()
            enabled = int(row["enabled"]) if row else 0
            con.execute(
                "INSERT OR REPLACE INTO workflows VALUES (?, ?, ?, ?, ?)",
                (workflow.name, version, enabled, path, now_iso()),
            )
        if row is None or row["version"] != version:
            self.audit(
                "automation.workflow_saved",
                {"workflow": workflow.name, "version": version, "path": path},
                actor="user",
            )
        return version

    def workflow(self, name: str, version: str | None = None) -> Workflow:
        """A stored workflow: the current version, or a given one."""
        if version is None:
            row = self.con.execute(
                "SELECT version FROM workflows WHERE name = ?", (name,)
            ).fetchone()
            if row is None:
                known = ", ".join(self.workflow_names()) or "none"
                raise WorkflowError(f"no workflow named {name!r}; workflows: {known}")
            version = str(row["version"])
        row = self.con.execute(
            "SELECT definition FROM workflow_versions WHERE name = ? AND version = ?",
            (name, version),
        ).fetchone()
        if row is None:
            raise WorkflowError(f"workflow {name!r} has no version {version!r}")
        return Workflow.model_validate_json(row["definition"])

    def workflow_names(self) -> list[str]:
        return [r["name"] for r in self.con.execute("SELECT name FROM workflows ORDER BY name")]

    def workflows(self) -> list[dict[str, Any]]:
        """Every workflow with its current version, enabled flag and run counts."""
        rows = self.con.execute(
            """SELECT w.name, w.version, w.enabled, w.path, w.updated_at,
                      (SELECT count(*) FROM automation_runs r WHERE r.workflow = w.name) AS runs,
                      (SELECT count(*) FROM automation_runs r WHERE r.workflow = w.name
                         AND r.status IN ('running', 'waiting')) AS active
               FROM workflows w ORDER BY w.name"""
        )
        return [dict(r) | {"enabled": bool(r["enabled"])} for r in rows]

    def set_enabled(self, name: str, enabled: bool, actor: str = "user") -> None:
        self.workflow(name)  # raises for an unknown name
        self.con.execute(
            "UPDATE workflows SET enabled = ?, updated_at = ? WHERE name = ?",
            (int(enabled), now_iso(), name),
        )
        self.audit(
            "automation.enabled" if enabled else "automation.disabled", {"workflow": name}, actor
        )

    def enabled_workflows(self) -> list[tuple[Workflow, str]]:
        """(current definition, version) of every enabled workflow."""
        rows = self.con.execute("SELECT name, version FROM workflows WHERE enabled = 1").fetchall()
        return [(self.workflow(r["name"], r["version"]), str(r["version"])) for r in rows]

    # -- runs -------------------------------------------------------------------------

    def record_run(
        self,
        run_id: str,
        workflow: str,
        version: str,
        trigger_key: str,
        subject: str | None,
        holdout: bool,
    ) -> bool:
        """Index a new run; False when a run with this id already exists."""
        cur = self.con.execute(
            "INSERT OR IGNORE INTO automation_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, '{}')",
            (
                run_id,
                workflow,
                version,
                trigger_key,
                subject,
                int(holdout),
                "holdout" if holdout else "running",
                now_iso(),
            ),
        )
        return cur.rowcount == 1

    def record_trigger(
        self,
        run_id: str,
        workflow: str,
        version: str,
        trigger_key: str,
        subject: str | None,
        holdout: bool,
    ) -> bool:
        """Index a run and audit its trigger in one transaction; False if it already exists."""
        with self.transaction():
            new = self.record_run(run_id, workflow, version, trigger_key, subject, holdout)
            if new:
                self.audit(
                    "automation.triggered",
                    {"run_id": run_id, "workflow": workflow, "version": version,
                     "trigger": trigger_key, "subject": subject, "holdout": holdout},
                )  # fmt: skip
        return new

    def set_run_status(
        self, run_id: str, status: str, detail: dict[str, Any] | None = None, *, audit: bool = False
    ) -> None:
        """Set a run's status (and, with ``audit``, log it in the same transaction)."""
        finished = now_iso() if status in ("done", "failed", "holdout", "cancelled") else None
        with self.transaction():
            self.con.execute(
                "UPDATE automation_runs SET status = ?, finished_at = coalesce(?, finished_at),"
                " detail = ? WHERE run_id = ?",
                (status, finished, json.dumps(detail or {}, default=str), run_id),
            )
            if audit:
                self.audit(f"automation.run_{status}", {"run_id": run_id, **(detail or {})})

    def runs(
        self, workflow: str | None = None, *, status: str | None = None, limit: int = 100
    ) -> list[RunRecord]:
        sql = "SELECT * FROM automation_runs WHERE 1 = 1"
        args: list[Any] = []
        if workflow is not None:
            sql += " AND workflow = ?"
            args.append(workflow)
        if status is not None:
            sql += " AND status = ?"
            args.append(status)
        sql += " ORDER BY started_at DESC, run_id LIMIT ?"
        args.append(limit)
        return [
            RunRecord(
                r["run_id"],
                r["workflow"],
                r["version"],
                r["trigger_key"],
                r["subject"],
                bool(r["holdout"]),
                r["status"],
                r["started_at"],
                r["finished_at"],
                json.loads(r["detail"] or "{}"),
            )
            for r in self.con.execute(sql, args)
        ]

    def run(self, run_id: str) -> RunRecord:
        found = [r for r in self.runs(limit=1_000_000) if r.run_id == run_id]
        if not found:
            raise WorkflowError(f"no run {run_id!r}; see smbgrowth automate history")
        return found[0]

    # -- sent log ---------------------------------------------------------------------

    def sent_status(self, idem_key: str) -> str | None:
        row = self.con.execute(
            "SELECT status FROM sent_log WHERE idem_key = ?", (idem_key,)
        ).fetchone()
        return None if row is None else str(row["status"])

    def mark_sending(
        self, idem_key: str, run_id: str, kind: str, recipient: str | None, message_id: str | None
    ) -> None:
        self.con.execute(
            "INSERT INTO sent_log VALUES (?, ?, ?, ?, 'sending', ?, ?, NULL)"
            " ON CONFLICT (idem_key) DO UPDATE SET status = 'sending', at = excluded.at",
            (idem_key, run_id, kind, recipient, message_id, now_iso()),
        )

    def mark_sent(
        self,
        idem_key: str,
        status: str = "sent",
        detail: str | None = None,
        *,
        audit: dict[str, Any] | None = None,
    ) -> None:
        """Record an effect's outcome (and, with ``audit``, its audit entry, atomically)."""
        with self.transaction():
            self.con.execute(
                "UPDATE sent_log SET status = ?, at = ?, detail = ? WHERE idem_key = ?",
                (status, now_iso(), detail, idem_key),
            )
            if audit is not None:
                entry = dict(audit)
                self.audit(str(entry.pop("action", "automation.effect")), entry)

    def queue_mail(
        self,
        idem_key: str,
        run_id: str,
        kind: str,
        sender: str,
        recipient: str,
        message_id: str,
        message: bytes,
        audit: dict[str, Any] | None,
    ) -> None:
        """Put a message in the outbox and the sent log as "sending" (once per key)."""
        at = now_iso()
        with self.transaction() as con:
            con.execute(
                "INSERT INTO sent_log VALUES (?, ?, ?, ?, 'sending', ?, ?, NULL)"
                " ON CONFLICT (idem_key) DO NOTHING",
                (idem_key, run_id, kind, recipient, message_id, at),
            )
            con.execute(
                "INSERT INTO outbox VALUES (?, ?, ?, ?, ?, 'queued', NULL, NULL, ?, ?)"
                " ON CONFLICT (idem_key) DO NOTHING",
                (idem_key, sender, recipient, message,
                 None if audit is None else json.dumps(audit, default=str), at, at),
            )  # fmt: skip

    def outbox_state(self, idem_key: str) -> tuple[str, str | None] | None:
        row = self.con.execute(
            "SELECT status, error FROM outbox WHERE idem_key = ?", (idem_key,)
        ).fetchone()
        return None if row is None else (str(row["status"]), row["error"])

    def requeue_mail(self, idem_key: str) -> None:
        self.con.execute(
            "UPDATE outbox SET status = 'queued', owner = NULL, at = ?"
            " WHERE idem_key = ? AND status = 'deferred'",
            (now_iso(), idem_key),
        )

    def sends_to(self, recipient: str, since: datetime) -> int:
        """Marketing e-mails sent to a recipient since a time (for frequency caps)."""
        row = self.con.execute(
            "SELECT count(*) AS n FROM sent_log WHERE recipient = ? AND kind = 'marketing'"
            " AND status = 'sent' AND at >= ?",
            (recipient.lower(), now_iso(since)),
        ).fetchone()
        return int(row["n"])

    def sends_by_workflow(self, workflow: str, since: datetime) -> int:
        row = self.con.execute(
            "SELECT count(*) AS n FROM sent_log s JOIN automation_runs r USING (run_id)"
            " WHERE r.workflow = ? AND s.status = 'sent' AND s.at >= ?",
            (workflow, now_iso(since)),
        ).fetchone()
        return int(row["n"])

    # -- consent and suppression --------------------------------------------------------

    def record_consent(self, email: str, list_name: str, granted: bool, source: str) -> None:
        email = normalise_email(email)
        self.con.execute(
            "INSERT INTO consent (email, list, granted, at, source) VALUES (?, ?, ?, ?, ?)",
            (email.strip().lower(), list_name, int(granted), now_iso(), source),
        )
        self.audit(
            "automation.consent",
            {
                "email": email.strip().lower(),
                "list": list_name,
                "granted": granted,
                "source": source,
            },
            actor=source,
        )

    def consent(self, email: str, list_name: str) -> bool | None:
        """The latest explicit consent for a list (or for all lists); None if never recorded."""
        row = self.con.execute(
            "SELECT granted FROM consent WHERE email = ? AND list IN (?, ?)"
            " ORDER BY id DESC LIMIT 1",
            (email.strip().lower(), list_name, GLOBAL),
        ).fetchone()
        return None if row is None else bool(row["granted"])

    def suppress(self, email: str, list_name: str, reason: str, actor: str = "automation") -> None:
        email = normalise_email(email)
        self.con.execute(
            "INSERT OR REPLACE INTO suppression VALUES (?, ?, ?, ?)",
            (email.strip().lower(), list_name, reason, now_iso()),
        )
        self.audit(
            "automation.suppressed",
            {"email": email.strip().lower(), "list": list_name, "reason": reason},
            actor=actor,
        )

    def suppression(self, email: str) -> dict[str, str]:
        """List -> reason for every suppression of an address (``*``: all lists)."""
        rows = self.con.execute(
            "SELECT list, reason FROM suppression WHERE email = ?", (email.strip().lower(),)
        )
        return {r["list"]: r["reason"] for r in rows}

    # -- tasks, approvals, social posts, customer changes -----------------------------

    def create_task(
        self, idem_key: str, run_id: str, title: str, assignee: str | None, due_at: str | None
    ) -> bool:
        cur = self.con.execute(
            "INSERT OR IGNORE INTO tasks (idem_key, run_id, title, assignee, due_at, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (idem_key, run_id, title, assignee, due_at, now_iso()),
        )
        return cur.rowcount == 1

    def tasks(self, *, open_only: bool = True) -> list[dict[str, Any]]:
        sql = "SELECT * FROM tasks" + (" WHERE done_at IS NULL" if open_only else "")
        return [dict(r) for r in self.con.execute(sql + " ORDER BY id")]

    def request_approval(
        self,
        run_id: str,
        step: str,
        workflow: str,
        prompt: str,
        timeout_at: str,
        default: str,
    ) -> None:
        self.con.execute(
            "INSERT OR IGNORE INTO approvals (run_id, step, workflow, prompt, requested_at,"
            " timeout_at, default_outcome) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (run_id, step, workflow, prompt, now_iso(), timeout_at, default),
        )

    def pending_approvals(self) -> list[dict[str, Any]]:
        return [
            dict(r)
            for r in self.con.execute(
                "SELECT * FROM approvals WHERE decision IS NULL ORDER BY requested_at"
            )
        ]

    def decide_approval(self, run_id: str, step: str, decision: str, actor: str) -> bool:
        cur = self.con.execute(
            "UPDATE approvals SET decision = ?, decided_at = ?, actor = ?"
            " WHERE run_id = ? AND step = ? AND decision IS NULL",
            (decision, now_iso(), actor, run_id, step),
        )
        return cur.rowcount == 1

    def queue_social(
        self, idem_key: str, run_id: str, channel: str, text: str, post_at: str
    ) -> bool:
        cur = self.con.execute(
            "INSERT OR IGNORE INTO social_queue (idem_key, run_id, channel, text, post_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (idem_key, run_id, channel, text, post_at),
        )
        return cur.rowcount == 1

    def social_queue(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.con.execute("SELECT * FROM social_queue ORDER BY post_at")]

    def tag(self, customer_id: str, add: list[str], remove: list[str]) -> None:
        with self.transaction() as con:
            for t in add:
                con.execute(
                    "INSERT OR IGNORE INTO customer_tags VALUES (?, ?, ?)",
                    (customer_id, t, now_iso()),
                )
            for t in remove:
                con.execute(
                    "DELETE FROM customer_tags WHERE customer_id = ? AND tag = ?", (customer_id, t)
                )

    def tags(self, customer_id: str) -> list[str]:
        rows = self.con.execute(
            "SELECT tag FROM customer_tags WHERE customer_id = ? ORDER BY tag", (customer_id,)
        )
        return [r["tag"] for r in rows]

    def update_customer(self, customer_id: str, fields: dict[str, Any]) -> None:
        with self.transaction() as con:
            for field, value in fields.items():
                con.execute(
                    "INSERT OR REPLACE INTO customer_fields VALUES (?, ?, ?, ?)",
                    (customer_id, field, json.dumps(value), now_iso()),
                )

    def customer_fields(self, customer_id: str) -> dict[str, Any]:
        rows = self.con.execute(
            "SELECT field, value FROM customer_fields WHERE customer_id = ?", (customer_id,)
        )
        return {r["field"]: json.loads(r["value"]) for r in rows}

    # -- events and trigger state -------------------------------------------------------

    def add_event(self, event_id: str, source: str, kind: str, payload: dict[str, Any]) -> bool:
        """Store an incoming event once (a repeated delivery is ignored); True if new."""
        cur = self.con.execute(
            "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?, NULL)",
            (event_id, source, kind, json.dumps(payload, sort_keys=True, default=str), now_iso()),
        )
        return cur.rowcount == 1

    def pending_events(self, limit: int = 500) -> list[dict[str, Any]]:
        rows = self.con.execute(
            "SELECT * FROM events WHERE processed_at IS NULL"
            " ORDER BY received_at, event_id LIMIT ?",
            (limit,),
        )
        return [dict(r) | {"payload": json.loads(r["payload"])} for r in rows]

    def mark_event_processed(self, event_id: str) -> None:
        self.mark_events_processed([event_id])

    def mark_events_processed(self, event_ids: list[str]) -> None:
        """Close events whose runs have all been started (one transaction)."""
        at = now_iso()
        with self.transaction():
            self.con.executemany(
                "UPDATE events SET processed_at = ? WHERE event_id = ?",
                [(at, e) for e in event_ids],
            )

    def get_state(self, key: str) -> Any:
        row = self.con.execute("SELECT value FROM trigger_state WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row["value"])

    def set_state(self, key: str, value: Any) -> None:
        self.con.execute(
            "INSERT OR REPLACE INTO trigger_state VALUES (?, ?, ?)",
            (key, json.dumps(value, default=str), now_iso()),
        )

    def load_file(self, path: str | Path) -> Workflow:
        """Validate a workflow file and store it as the current version."""
        text = Path(path).read_text(encoding="utf-8")
        workflow = parse_workflow(text, str(path))
        self.save_workflow(workflow, str(path))
        return workflow
