"""Crash safety: the worker is SIGKILLed again and again; every e-mail still arrives once.

The worker runs as a real subprocess and sends to a real SMTP server; the count
is taken at the server by Message-ID: every expected e-mail exactly once, no
loss and no duplicate. (Deliveries go through the mailer process, which a
SIGKILL of the worker does not reach: see smbgrowth.automation.mailer.)
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from smbgrowth.automation.store import AutomationStore
from tests.automation.conftest import SmtpSink, enable, wait_for

RUNS = 200
KILLS = 20
EMAILS_PER_RUN = 3

SEQUENCE = """\
name: kill-seq
kind: transactional
trigger:
  event: customer.created
steps:
  - send_email: {template: welcome_1, subject: "One for {{ customer.first_name }}"}
  - wait: {seconds: 0.5}
  - send_email: {template: welcome_2, subject: "Two"}
  - wait: {seconds: 1}
  - send_email: {template: welcome_3, subject: "Three"}
"""


def _start_worker(workspace: Path, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as err:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "smbgrowth.cli.main",
                "automate",
                "worker",
                "-w",
                str(workspace),
                "--poll",
                "0.2",
            ],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


def _starts(log: Path) -> int:
    return log.read_text(errors="replace").count("worker running for") if log.exists() else 0


def _add_events(workspace: Path, first: int, count: int) -> None:
    with AutomationStore(workspace) as store:
        for i in range(first, first + count):
            store.add_event(
                f"c{i:03d}",
                "test",
                "customer.created",
                {"customer": {"customer_id": f"c{i:03d}", "email": f"user{i:03d}@example.com",
                              "name": f"User {i}"}},
            )  # fmt: skip


@pytest.mark.slow
def test_kill_worker_repeatedly_every_email_exactly_once(
    auto_ws: Path, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    from dbos import DBOSClient

    from smbgrowth.automation.engine import APP_NAME, dbos_url

    enable(auto_ws, SEQUENCE)
    rng = random.Random(20261201)
    log = tmp_path / "worker.log"
    batch = RUNS // KILLS
    proc = _start_worker(auto_ws, log)
    try:
        for kill in range(KILLS):
            _add_events(auto_ws, kill * batch, batch)
            wait_for(lambda n=kill + 1: _starts(log) >= n, timeout=30, interval=0.05)
            time.sleep(rng.uniform(0.2, 1.5))
            proc.send_signal(signal.SIGKILL)
            assert proc.wait(timeout=10) == -signal.SIGKILL
            proc = _start_worker(auto_ws, log)

        def all_done() -> bool:
            with AutomationStore(auto_ws) as store:
                runs = store.runs("kill-seq", limit=10_000)
            return len(runs) == RUNS and all(r.status == "done" for r in runs)

        wait_for(all_done, timeout=90, interval=0.5)
        with contextlib.suppress(AssertionError):  # the assertions below say what is missing
            wait_for(lambda: len(smtp_sink.messages()) >= RUNS * EMAILS_PER_RUN, timeout=10)
        time.sleep(1.0)  # anything late (a duplicate) would arrive now
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    assert _starts(log) == KILLS + 1
    received = smtp_sink.messages()
    by_id = Counter(r.message_id for r in received)
    # Never a second copy: every Message-ID arrived at most once.
    assert set(by_id.values()) == {1}, [m for m, n in by_id.items() if n > 1]
    # Every expected e-mail arrived: 600 Message-IDs, three per recipient.
    assert len(by_id) == RUNS * EMAILS_PER_RUN
    per_recipient = Counter(rcpt for r in received for rcpt in r.recipients)
    for i in range(RUNS):
        assert per_recipient[f"user{i:03d}@example.com"] == EMAILS_PER_RUN
    with AutomationStore(auto_ws) as store:
        log_ids = {r["message_id"] for r in store.con.execute("SELECT * FROM sent_log")}
    assert set(by_id) == log_ids

    with AutomationStore(auto_ws) as store:
        runs = store.runs("kill-seq", limit=10_000)
        assert sorted(r.run_id for r in runs) == [f"kill-seq:event:c{i:03d}" for i in range(RUNS)]
        assert {r.status for r in runs} == {"done"}
        sent = store.con.execute(
            "SELECT status, count(*) AS n FROM sent_log GROUP BY status"
        ).fetchall()
        assert {r["status"]: r["n"] for r in sent} == {"sent": RUNS * EMAILS_PER_RUN}
        assert store.pending_events() == []

    client = DBOSClient(system_database_url=dbos_url(auto_ws), application_name=APP_NAME)
    try:
        statuses = {
            w.workflow_id: w.status
            for w in client.list_workflows()
            if w.workflow_id.startswith("kill-seq:")
        }
    finally:
        client.destroy()
    assert len(statuses) == RUNS
    assert set(statuses.values()) == {"SUCCESS"}
