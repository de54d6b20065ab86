"""E-mail messages: templates with the customer's fields, unsubscribe links, sending once.

Templates are Jinja2 in a sandbox: ``NAME.html`` (auto-escaped) and
``NAME.txt`` from the workspace's ``templates/`` folder, else from the
playbooks shipped with smbgrowth. Every marketing message carries a one-click
unsubscribe link (RFC 8058: ``List-Unsubscribe`` with an HTTPS URL and
``List-Unsubscribe-Post: List-Unsubscribe=One-Click``) whose token is signed
with the workspace's key, and a ``Message-ID`` derived from the send's
idempotency key, so a message has the same ID however often it is attempted.

Sending: a send recorded as sent is never repeated; otherwise the message
goes into the outbox once and the mailer process
(:mod:`smbgrowth.automation.mailer`) delivers it and records the server's
answer. 4xx answers raise :class:`TemporaryFailure` (retried with back-off),
5xx answers :class:`PermanentFailure` (a refused recipient is suppressed).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import smtplib
import ssl
import time
from dataclasses import dataclass
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, parseaddr
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import BaseLoader, Template, TemplateNotFound, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from smbgrowth.automation.config import AutomationConfig, signing_key
from smbgrowth.automation.store import AutomationStore
from smbgrowth.errors import WorkflowError

__all__ = [
    "PermanentFailure",
    "Rendered",
    "TemporaryFailure",
    "message_id",
    "read_unsubscribe_token",
    "render",
    "send_once",
    "unsubscribe_token",
]


class TemporaryFailure(WorkflowError):
    """The server said try later (4xx) or could not be reached: retry with back-off."""


class PermanentFailure(WorkflowError):
    """The server refused for good (5xx); ``recipient`` when the address itself is bad."""

    def __init__(self, message: str, *, recipient: bool = False) -> None:
        super().__init__(message)
        self.recipient = recipient


class _Loader(BaseLoader):
    """Workspace templates first, then the shipped playbook templates."""

    def __init__(self, workspace: Path) -> None:
        self.folder = workspace / "templates"

    def get_source(self, environment: Any, template: str) -> tuple[str, str, Any]:
        if "/" in template or "\\" in template or template.startswith("."):
            raise TemplateNotFound(template)
        own = self.folder / template
        if own.is_file():
            text = own.read_text(encoding="utf-8")
            mtime = own.stat().st_mtime
            return text, str(own), lambda: own.stat().st_mtime == mtime
        shipped = resources.files("smbgrowth.automation") / "playbooks" / "templates" / template
        if shipped.is_file():
            return shipped.read_text(encoding="utf-8"), str(shipped), lambda: True
        raise TemplateNotFound(template)


@functools.lru_cache(maxsize=32)
def _environment(workspace: Path, html: bool) -> SandboxedEnvironment:
    """One sandboxed environment per workspace and kind (templates compile once, reload on
    change)."""
    return SandboxedEnvironment(
        loader=_Loader(workspace),
        autoescape=html,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@functools.lru_cache(maxsize=256)
def _inline(workspace: Path, source: str) -> Template:
    """A compiled one-line template (subject, recipient), compiled once."""
    return _environment(workspace, html=False).from_string(source)


def unsubscribe_token(workspace: str | Path, email: str, mailing_list: str) -> str:
    """A signed token naming an address and a list (no database lookup needed to verify)."""
    body = f"{email.strip().lower()}\n{mailing_list}".encode()
    mac = hmac.new(signing_key(workspace), body, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(body + b"\n" + mac).decode().rstrip("=")


def read_unsubscribe_token(workspace: str | Path, token: str) -> tuple[str, str]:
    """(email, list) of a valid token; WorkflowError for a forged or damaged one."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        email, mailing_list, _ = raw.split(b"\n", 2)
        mac = raw[len(email) + len(mailing_list) + 2 :]
    except (ValueError, TypeError):
        raise WorkflowError("this unsubscribe link is damaged") from None
    expected = hmac.new(
        signing_key(workspace), email + b"\n" + mailing_list, hashlib.sha256
    ).digest()[:16]
    if not hmac.compare_digest(mac, expected):
        raise WorkflowError("this unsubscribe link is not valid")
    return email.decode(), mailing_list.decode()


def message_id(idem_key: str, mail_from: str) -> str:
    """A stable Message-ID for one send: the same key always gives the same ID."""
    digest = hashlib.sha256(idem_key.encode()).hexdigest()[:32]
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "smbgrowth.local"
    return f"<{digest}@{domain}>"


@dataclass(frozen=True)
class Rendered:
    """A rendered message, ready to send."""

    to: str
    subject: str
    text: str
    html: str | None
    unsubscribe_url: str | None


def render(
    workspace: str | Path,
    config: AutomationConfig,
    *,
    template: str,
    subject: str,
    to: str,
    context: dict[str, Any],
    mailing_list: str,
    marketing: bool,
) -> Rendered:
    """Render subject, text and HTML parts for one recipient (one-line errors)."""
    workspace = Path(workspace)
    text_env = _environment(workspace, html=False)
    html_env = _environment(workspace, html=True)
    try:
        recipient = _inline(workspace, to).render(**context)
    except (TemplateSyntaxError, UndefinedError) as exc:
        raise WorkflowError(f"recipient {to!r}: {exc}") from None
    address = parseaddr(recipient)[1].strip().lower()
    if "@" not in address:
        raise WorkflowError(f"no e-mail address to send to (got {to!r} → {address!r})")
    url = None
    if marketing:
        query = urlencode({"t": unsubscribe_token(workspace, address, mailing_list)})
        url = f"{config.public_url.rstrip('/')}/unsubscribe?{query}"
    values = {**context, "unsubscribe_url": url or ""}
    try:
        subject_text = " ".join(_inline(workspace, subject).render(**values).split())
        text = text_env.get_template(f"{template}.txt").render(**values)
        try:
            html: str | None = html_env.get_template(f"{template}.html").render(**values)
        except TemplateNotFound:
            html = None
    except TemplateNotFound as exc:
        raise WorkflowError(
            f"template {exc.name!r} not found in the workspace's templates/ folder or the "
            "shipped playbooks"
        ) from None
    except (TemplateSyntaxError, UndefinedError) as exc:
        raise WorkflowError(f"template {template!r}: {exc}") from None
    return Rendered(address, subject_text, text, html, url)


def build_message(rendered: Rendered, config: AutomationConfig, idem_key: str) -> Message:
    """The MIME message: text and HTML alternatives, one-click unsubscribe headers."""
    text = MIMEText(rendered.text, "plain", "utf-8")
    if rendered.html is not None:
        msg: Message = MIMEMultipart("alternative")
        msg.attach(text)
        msg.attach(MIMEText(rendered.html, "html", "utf-8"))
    else:
        msg = text
    name, address = parseaddr(config.mail_from)
    msg["From"] = formataddr((str(Header(name, "utf-8")) if name else "", address))
    msg["To"] = rendered.to
    msg["Subject"] = Header(rendered.subject, "utf-8").encode()
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id(idem_key, config.mail_from)
    msg["X-Smbgrowth-Key"] = idem_key
    if rendered.unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{rendered.unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return msg


def _connect(config: AutomationConfig) -> smtplib.SMTP:
    s = config.smtp
    try:
        if s.tls == "ssl":
            server: smtplib.SMTP = smtplib.SMTP_SSL(
                s.host, s.port, timeout=s.timeout, context=ssl.create_default_context()
            )
        else:
            server = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            if s.tls == "starttls":
                server.starttls(context=ssl.create_default_context())
        if s.user:
            server.login(s.user, s.password or "")
    except (OSError, smtplib.SMTPException) as exc:
        raise TemporaryFailure(f"cannot reach the mail server {s.host}:{s.port}: {exc}") from None
    return server


def send_once(
    store: AutomationStore,
    config: AutomationConfig,
    rendered: Rendered,
    *,
    idem_key: str,
    run_id: str,
    kind: str = "email",
    audit: dict[str, Any] | None = None,
    wait_seconds: float = 120.0,
) -> str:
    """Send a message at most once per ``idem_key`` through the mailer; "sent" or "already sent".

    The message goes into the outbox (once); the mailer process delivers it and
    records the outcome, which this waits for. ``kind`` is recorded in the sent log
    (``marketing`` sends count towards frequency caps); ``audit`` is written by the
    mailer in the same transaction as "sent". Raises :class:`TemporaryFailure` for a
    deferral (or when nothing happened within ``wait_seconds``) and
    :class:`PermanentFailure` for a refusal.
    """
    if store.sent_status(idem_key) == "sent":
        return "already sent"
    state = store.outbox_state(idem_key)
    if state is None:
        msg = build_message(rendered, config, idem_key)
        data = msg.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        store.queue_mail(
            idem_key,
            run_id,
            kind,
            parseaddr(config.mail_from)[1],
            rendered.to,
            str(msg["Message-ID"]),
            data,
            audit,
        )
    elif state[0] == "deferred":
        store.requeue_mail(idem_key)
    deadline = time.monotonic() + wait_seconds
    while True:
        status, error = store.outbox_state(idem_key) or ("queued", None)
        if status == "done":
            return "sent"
        if status == "deferred":
            raise TemporaryFailure(error or "the mail server deferred the message")
        if status in ("bounced", "failed"):
            raise PermanentFailure(error or status, recipient=status == "bounced")
        if time.monotonic() > deadline:
            raise TemporaryFailure("the mailer has not delivered the message yet")
        time.sleep(0.01)
