"""Real collaborators for the automation tests: an SMTP server, an HTTP server, a workspace.

Nothing is mocked: the SMTP sink is aiosmtpd on loopback, the HTTP sink is the
standard library's server in a thread, and the worker is either the real
``Worker`` in a thread (``running_worker``) or the real command in a subprocess.
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

import smbgrowth
from smbgrowth.automation.store import AutomationStore

HOOK_SECRET = "s3cret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.1) -> Any:
    """Poll until ``predicate()`` is truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


# -- SMTP -----------------------------------------------------------------------------


@dataclass
class Received:
    """One message the sink accepted."""

    message_id: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class SmtpSink:
    """What the SMTP server accepted, and how it should answer (configure per address)."""

    host: str = "127.0.0.1"
    port: int = 0
    #: address -> how many more times RCPT TO answers 451 before it accepts.
    temp_fail: dict[str, int] = field(default_factory=dict)
    #: addresses refused with 550 at RCPT TO.
    reject: set[str] = field(default_factory=set)
    received: list[Received] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        address = address.lower()
        with self.lock:
            self.attempts[address] = self.attempts.get(address, 0) + 1
            if address in self.reject:
                return "550 5.1.1 No such user here"
            if self.temp_fail.get(address, 0) > 0:
                self.temp_fail[address] -= 1
                return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.received.append(
                Received(str(message["Message-ID"]), list(envelope.rcpt_tos), message)
            )
        return "250 Message accepted"

    def messages(self, to: str | None = None) -> list[Received]:
        with self.lock:
            found = list(self.received)
        return [r for r in found if to is None or to.lower() in r.recipients]

    def subjects(self, to: str) -> list[str]:
        return [str(r.message["Subject"]) for r in self.messages(to)]


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink(port=free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


# -- HTTP -----------------------------------------------------------------------------


@dataclass
class HttpRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class HttpSink:
    """Records every request; answers 500 the first ``fail_first`` times, then 200."""

    def __init__(self) -> None:
        self.requests: list[HttpRequest] = []
        self.fail_first = 0
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with sink.lock:
                    sink.requests.append(
                        HttpRequest(self.command, self.path, dict(self.headers.items()), body)
                    )
                    fail = sink.fail_first > 0
                    if fail:
                        sink.fail_first -= 1
                self.send_response(500 if fail else 200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": false}' if fail else b'{"ok": true}')

            do_POST = do_PUT = do_PATCH = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def received(self) -> list[HttpRequest]:
        with self.lock:
            return list(self.requests)


@pytest.fixture
def http_sink() -> Iterator[HttpSink]:
    sink = HttpSink()
    thread = threading.Thread(target=sink.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        sink.server.shutdown()
        sink.server.server_close()


# -- workspace --------------------------------------------------------------------------


def write_config(path: Path, smtp_port: int, poll_seconds: float = 0.2) -> None:
    (path / "automation.yaml").write_text(
        f"smtp: {{host: 127.0.0.1, port: {smtp_port}, timeout: 10}}\n"
        'mail_from: "Shop <hello@shop.example>"\n'
        "public_url: http://testserver\n"
        f"hook_secrets: {{shop: {HOOK_SECRET}}}\n"
        f"poll_seconds: {poll_seconds}\n",
        encoding="utf-8",
    )


@pytest.fixture
def auto_ws(tmp_path: Path, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh workspace whose automation sends to the SMTP sink."""
    for name in (
        "SMBGROWTH_SMTP_HOST",
        "SMBGROWTH_SMTP_PORT",
        "SMBGROWTH_SMTP_TLS",
        "SMBGROWTH_MAIL_FROM",
        "SMBGROWTH_PUBLIC_URL",
        "SMBGROWTH_DBOS_DATABASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    ws = smbgrowth.init_workspace(tmp_path / "ws", currency="USD", time_zone="Europe/Berlin")
    path = Path(ws.path)
    ws.close()
    write_config(path, smtp_sink.port)
    return path


def enable(workspace: Path, yaml_text: str, filename: str | None = None) -> str:
    """Save a workflow file in the workspace, store it and enable it; returns its version."""
    path = workspace / (filename or "flow.yaml")
    path.write_text(yaml_text, encoding="utf-8")
    with AutomationStore(workspace) as store:
        wf = store.load_file(path)
        store.set_enabled(wf.name, True)
        return wf.version


def customer_event(
    workspace: Path,
    event_id: str,
    email_address: str,
    *,
    kind: str = "customer.created",
    **fields: Any,
) -> None:
    customer = {"customer_id": event_id, "email": email_address, "name": "Ada Lovelace", **fields}
    with AutomationStore(workspace) as store:
        store.add_event(event_id, "test", kind, {"customer": customer})


@contextmanager
def running_worker(workspace: Path, poll_seconds: float = 0.2) -> Iterator[Any]:
    """The real worker of a workspace, in this process, polling in a thread.

    DBOS is a process-wide singleton: the worker's context manager launches it
    and destroys it again, so only one of these may be open at a time.
    """
    from smbgrowth.automation.worker import Worker

    with Worker(workspace, poll_seconds=poll_seconds) as worker:
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        try:
            yield worker
        finally:
            worker.stop.set()
            thread.join(timeout=30)


def run_status(workspace: Path, run_id: str) -> str | None:
    with AutomationStore(workspace) as store:
        found = [r for r in store.runs(limit=100_000) if r.run_id == run_id]
    return found[0].status if found else None


def runs_with_status(workspace: Path, status: str) -> list[str]:
    with AutomationStore(workspace) as store:
        return sorted(r.run_id for r in store.runs(status=status, limit=100_000))
