"""The worker: launches DBOS, turns triggers into runs, and keeps going until stopped.

Only one worker may run per workspace (a lock file guards it): two workers
recovering the same runs would repeat steps. On start, DBOS recovers every
run that was in flight; then, every ``poll_seconds``, the worker turns new
events and due schedule ticks into runs, and every ``condition_minutes`` it
reads the workspace for metric, segment and record-condition triggers.
Optionally it also serves the webhook and unsubscribe endpoints.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from smbgrowth.automation.config import load_config
from smbgrowth.automation.engine import dbos_config, start_run
from smbgrowth.automation.store import AutomationStore
from smbgrowth.automation.triggers import (
    _event_customer,
    due_condition_runs,
    due_event_runs,
    due_schedule_runs,
)
from smbgrowth.errors import SmbGrowthError, WorkflowError

__all__ = ["LOCK_FILE", "Worker"]

LOCK_FILE = "automation.lock"


class Worker:
    """The automation worker of one workspace (use as a context manager)."""

    def __init__(
        self,
        workspace: str | Path,
        *,
        poll_seconds: float | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.workspace = Path(workspace).resolve()
        self.config = load_config(self.workspace)
        self.poll_seconds = poll_seconds or self.config.poll_seconds
        self.log = log or (lambda message: None)
        self.stop = threading.Event()
        self._lock: IO[str] | None = None
        self._last_conditions: datetime | None = None

    def __enter__(self) -> Worker:
        from dbos import DBOS

        self.store = AutomationStore(self.workspace)
        lock = open(self.workspace / LOCK_FILE, "a+")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            self.store.close()
            raise WorkflowError(
                f"another worker is running for {self.workspace}; stop it first"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        self._lock = lock
        # Register the workflow functions, then launch (this recovers in-flight runs).
        import smbgrowth.automation.engine  # noqa: F401

        config = dbos_config(self.workspace)
        url = str(config.get("system_database_url", ""))
        if url.startswith("sqlite:///"):
            # Write-ahead logging: a commit costs a quarter of the default's, and readers
            # (the command line asking for a run's state) never block the worker.
            con = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)
            try:
                con.execute("PRAGMA journal_mode=WAL")
            finally:
                con.close()
        # The mailer delivers the outbox in its own session: killing the worker
        # leaves it to finish the message in hand (see automation.mailer).
        self._mailer = subprocess.Popen(
            [sys.executable, "-m", "smbgrowth.automation.mailer", str(self.workspace),
             str(os.getpid())],
            start_new_session=True,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        DBOS(config=config)
        DBOS.launch()
        self.store.audit("automation.worker_started", {"pid": os.getpid()}, actor="worker")
        return self

    def __exit__(self, *exc: object) -> None:
        from dbos import DBOS

        try:
            # Let steps in flight finish (a few seconds); unfinished runs resume on restart.
            DBOS.destroy(workflow_completion_timeout_sec=5)
        finally:
            self._mailer.terminate()
            try:
                self._mailer.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._mailer.kill()
            self.store.close()
            if self._lock is not None:
                fcntl.flock(self._lock, fcntl.LOCK_UN)
                self._lock.close()

    def _customer_lookup(self) -> tuple[Callable[[dict[str, Any]], dict[str, Any] | None], Any]:
        """Find customers by id or e-mail in the workspace (one read-only connection per poll).

        Returns the lookup and a function that closes the connection. When the
        business database is busy (an import holds it), events keep their own fields.
        """
        cache: dict[str, dict[str, Any]] = {}
        state: dict[str, Any] = {}

        def connection() -> Any:
            if "con" not in state:
                try:
                    import duckdb

                    state["con"] = duckdb.connect(
                        str(self.workspace / "business.duckdb"), read_only=True
                    )
                except Exception as exc:  # locked by a writer: use the events' own fields
                    self.log(f"customer details not read (workspace busy): {exc}")
                    state["con"] = None
            return state["con"]

        def lookup(customer: dict[str, Any]) -> dict[str, Any] | None:
            key = str(customer.get("customer_id") or customer.get("email") or "")
            if not key:
                return None
            if key not in cache:
                con = connection()
                found: dict[str, Any] = {}
                if con is not None:
                    frame = con.execute(
                        "SELECT * FROM customers WHERE customer_id = ? OR lower(email) = lower(?)"
                        " LIMIT 1",
                        [key, key],
                    ).df()
                    if len(frame):
                        found = {str(k): v for k, v in frame.iloc[0].to_dict().items()}
                cache[key] = found
            return cache[key] or None

        def prefetch(customers: list[dict[str, Any]]) -> None:
            """Read many customers in one query (the events of one poll)."""
            keys = sorted(
                {str(c.get("customer_id") or c.get("email") or "") for c in customers} - {""}
            )
            con = connection() if keys else None
            if con is None:
                return
            frame = con.execute(
                "SELECT * FROM customers WHERE customer_id IN (SELECT unnest(?))"
                " OR lower(email) IN (SELECT lower(unnest(?)))",
                [keys, keys],
            ).df()
            for row in frame.to_dict("records"):
                found = {str(k): v for k, v in row.items()}
                cache[str(found.get("customer_id"))] = found
                if found.get("email"):
                    cache[str(found["email"])] = found
                    cache[str(found["email"]).lower()] = found
            for key in keys:
                cache.setdefault(key, {})

        def close() -> None:
            if state.get("con") is not None:
                state["con"].close()

        lookup.prefetch = prefetch  # type: ignore[attr-defined]
        return lookup, close

    def poll(self, now: datetime | None = None) -> int:
        """One round: events, schedules and (when due) conditions -> runs. Returns runs started."""
        now = now or datetime.now(UTC)
        store = self.store
        workflows = store.enabled_workflows()
        started = 0
        time_zone = str(store.get_state("workspace_time_zone") or "UTC")
        events = store.pending_events()
        if events:
            lookup, close = self._customer_lookup()
            try:
                getattr(lookup, "prefetch", lambda _: None)(
                    [_event_customer(e["payload"]) for e in events]
                )
                done: list[str] = []
                for event_id, due in due_event_runs(store, workflows, events, lookup, time_zone):
                    if due is None:
                        done.append(event_id)
                        continue
                    started += start_run(store, due.workflow, due.version, due.run_id,
                                         due.trigger_key, due.subject, due.context)  # fmt: skip
                store.mark_events_processed(done)
            finally:
                close()
        for key, due in due_schedule_runs(store, workflows, now):
            started += start_run(store, due.workflow, due.version, due.run_id, due.trigger_key,
                                 due.subject, due.context)  # fmt: skip
            store.set_state(key, due.when)
        minutes = self.config.condition_minutes
        if self._last_conditions is None or (now - self._last_conditions).total_seconds() >= (
            minutes * 60
        ):
            try:
                for _, due in due_condition_runs(self.workspace, store, workflows, now):
                    started += start_run(store, due.workflow, due.version, due.run_id,
                                         due.trigger_key, due.subject, due.context)  # fmt: skip
                self._last_conditions = now
            except SmbGrowthError as exc:
                self.log(f"conditions not checked: {exc}")
            except Exception as exc:  # the workspace is locked by an import: try next round
                self.log(f"conditions not checked (workspace busy): {exc}")
        return started

    def run(self, *, until: Callable[[], bool] | None = None) -> None:
        """Poll until :attr:`stop` is set (or ``until()`` is true)."""
        while not self.stop.is_set():
            n = self.poll()
            if n:
                self.log(f"started {n} run(s)")
            if until is not None and until():
                return
            self.stop.wait(self.poll_seconds)
