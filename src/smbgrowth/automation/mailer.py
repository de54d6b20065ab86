"""The mailer: a small process that delivers the outbox, so a crashed worker never loses or
repeats an e-mail.

The worker's e-mail step does not talk to the mail server itself. It puts the
finished message in the ``outbox`` (once per idempotency key) and waits for
the outcome. The mailer — a separate process the worker starts in its own
session, so that killing the worker does not kill it — claims queued
messages one at a time, hands each to the SMTP server over one kept-open
connection, and records the server's answer: ``done`` (and "sent" in the sent
log, with the audit entry, in one transaction) after the server accepted the
message, ``deferred`` for a 4xx answer or a lost connection (the step retries
with back-off and queues it again), ``bounced`` for a refused recipient,
``failed`` for other 5xx answers.

When the worker dies, the mailer finishes the message in hand, records it,
and exits; the restarted worker finds the outcome (or its message still
queued) and never sends a second copy. Only if the mailer itself dies in the
middle of a delivery is the outcome unknown; the next mailer then delivers
that message again with the same Message-ID, which receiving servers use to
drop duplicates.

Run as ``python -m smbgrowth.automation.mailer WORKSPACE PARENT_PID``.
"""

from __future__ import annotations

import json
import os
import signal
import smtplib
import sqlite3
import sys
import time
from pathlib import Path

from smbgrowth.automation.config import AutomationConfig, load_config
from smbgrowth.automation.store import now_iso

__all__ = ["POLL_SECONDS", "deliver", "main", "run_mailer"]

#: How often an idle mailer looks for work.
POLL_SECONDS = 0.01


def _connect_db(workspace: Path) -> sqlite3.Connection:
    con = sqlite3.connect(workspace / "ops.sqlite", timeout=30, isolation_level=None)
    con.execute("PRAGMA busy_timeout=30000")
    con.execute("PRAGMA synchronous=NORMAL")
    return con


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _claim(con: sqlite3.Connection, me: int) -> tuple[str, str, str, bytes, str | None] | None:
    """Take the oldest queued message (or one whose mailer died mid-delivery)."""
    for key, owner in con.execute(
        "SELECT idem_key, owner FROM outbox WHERE status = 'sending' AND owner != ?", (me,)
    ).fetchall():
        if not _alive(owner):
            # Unknown outcome: deliver again under the same Message-ID.
            con.execute(
                "UPDATE outbox SET status = 'queued', owner = NULL, at = ?"
                " WHERE idem_key = ? AND status = 'sending' AND owner = ?",
                (now_iso(), key, owner),
            )
    row = con.execute(
        "UPDATE outbox SET status = 'sending', owner = ?, at = ? WHERE idem_key = ("
        " SELECT idem_key FROM outbox WHERE status = 'queued' ORDER BY queued_at LIMIT 1)"
        " RETURNING idem_key, sender, recipient, message, audit",
        (me, now_iso()),
    ).fetchone()
    return None if row is None else (row[0], row[1], row[2], bytes(row[3]), row[4])


def _finish(
    con: sqlite3.Connection, key: str, status: str, error: str | None, audit: str | None
) -> None:
    con.execute("BEGIN IMMEDIATE")
    try:
        con.execute(
            "UPDATE outbox SET status = ?, error = ?, at = ? WHERE idem_key = ?",
            (status, error, now_iso(), key),
        )
        if status == "done":
            con.execute(
                "UPDATE sent_log SET status = 'sent', at = ? WHERE idem_key = ?", (now_iso(), key)
            )
            if audit:
                entry = json.loads(audit)
                action = str(entry.pop("action", "automation.email_sent"))
                con.execute(
                    "INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, ?, ?)",
                    (now_iso(), "mailer", action, json.dumps(entry, sort_keys=True, default=str)),
                )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


class _Connection:
    """One SMTP connection, opened when needed, reopened after errors, closed when idle."""

    IDLE_SECONDS = 30.0

    def __init__(self, config: AutomationConfig) -> None:
        self.config = config
        self.server: smtplib.SMTP | None = None
        self.last_use = 0.0

    def get(self) -> smtplib.SMTP:
        from smbgrowth.automation.messages import _connect

        if self.server is None:
            self.server = _connect(self.config)
            self.server.ehlo_or_helo_if_needed()
        self.last_use = time.monotonic()
        return self.server

    def drop_if_idle(self) -> None:
        if self.server is not None and time.monotonic() - self.last_use > self.IDLE_SECONDS:
            self.drop()

    def drop(self) -> None:
        if self.server is not None:
            try:
                self.server.quit()
            except (OSError, smtplib.SMTPException):
                self.server.close()
        self.server = None


def deliver(smtp: _Connection, sender: str, recipient: str, message: bytes) -> tuple[str, str]:
    """Hand one message to the server: (status, detail) as recorded in the outbox."""
    from smbgrowth.automation.messages import TemporaryFailure

    try:
        server = smtp.get()
        server.sendmail(sender, [recipient], message)
    except TemporaryFailure as exc:
        smtp.drop()
        return "deferred", str(exc)
    except smtplib.SMTPRecipientsRefused as exc:
        code, reply = next(iter(exc.recipients.values()))
        smtp.drop()
        text = f"RCPT TO: {code} {reply.decode(errors='replace')}"
        return ("deferred" if 400 <= code < 500 else "bounced"), text
    except smtplib.SMTPResponseException as exc:
        code = exc.smtp_code
        error = exc.smtp_error
        text = f"{code} {error.decode(errors='replace') if isinstance(error, bytes) else error}"
        smtp.drop()
        if 400 <= code < 500:
            return "deferred", text
        return ("bounced" if code in (550, 551, 553) else "failed"), text
    except (OSError, smtplib.SMTPException) as exc:
        smtp.drop()
        return "deferred", f"mail server connection failed: {exc}"
    return "done", ""


def run_mailer(workspace: Path, parent: int) -> None:
    """Deliver the outbox until the parent worker is gone (then finish and exit)."""
    stopping = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stopping.update(now=True))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    me = os.getpid()
    con = _connect_db(workspace)
    smtp = _Connection(load_config(workspace))
    try:
        while True:
            job = _claim(con, me)
            if job is None:
                if stopping["now"] or not _alive(parent) or os.getppid() != parent:
                    return
                smtp.drop_if_idle()
                time.sleep(POLL_SECONDS)
                continue
            key, sender, recipient, message, audit = job
            status, detail = deliver(smtp, sender, recipient, message)
            _finish(con, key, status, detail or None, audit)
    finally:
        smtp.drop()
        con.close()


def main() -> None:
    """``python -m smbgrowth.automation.mailer WORKSPACE PARENT_PID``."""
    workspace, parent = Path(sys.argv[1]), int(sys.argv[2])
    run_mailer(workspace, parent)


if __name__ == "__main__":
    main()
