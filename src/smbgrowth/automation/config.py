"""How the automation reaches the world: SMTP server, sender, public URL, webhook secrets.

Read from ``automation.yaml`` in the workspace folder, with environment
variables taking precedence (``SMBGROWTH_SMTP_HOST``, ``SMBGROWTH_SMTP_PORT``,
``SMBGROWTH_SMTP_USER``, ``SMBGROWTH_SMTP_PASSWORD``, ``SMBGROWTH_SMTP_TLS``,
``SMBGROWTH_MAIL_FROM``, ``SMBGROWTH_PUBLIC_URL``)::

    smtp: {host: smtp.example.com, port: 587, user: shop, password: ..., tls: starttls}
    mail_from: "Bean & Leaf <hello@example.com>"
    public_url: https://shop.example.com/smbgrowth   # where /unsubscribe and /hooks live
    hook_secrets: {shopify: "...", stripe: "..."}     # HMAC-SHA256 keys per event source
    poll_seconds: 5
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from smbgrowth.yamlfile import load_model

__all__ = ["CONFIG_FILE", "AutomationConfig", "SmtpConfig", "load_config", "signing_key"]

CONFIG_FILE = "automation.yaml"
_KEY_FILE = ".automation-key"


class SmtpConfig(BaseModel):
    """The outgoing mail server."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    host: str = "127.0.0.1"
    port: int = Field(default=25, ge=1, le=65535)
    user: str | None = None
    password: str | None = None
    tls: Literal["none", "starttls", "ssl"] = "none"
    timeout: float = Field(default=30.0, gt=0)


class AutomationConfig(BaseModel):
    """Settings of the automation engine of one workspace (see the module doc)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    smtp: SmtpConfig = Field(default_factory=SmtpConfig)
    mail_from: str = "smbgrowth <automation@localhost>"
    public_url: str = "http://127.0.0.1:8000"
    hook_secrets: dict[str, str] = Field(default_factory=dict)
    poll_seconds: float = Field(default=5.0, gt=0, le=3600)
    condition_minutes: float = Field(
        default=60.0, gt=0, description="How often metric, segment and record triggers are checked."
    )


def load_config(workspace: str | Path) -> AutomationConfig:
    """The workspace's automation settings, with environment overrides."""
    path = Path(workspace) / CONFIG_FILE
    config = (
        load_model(path, AutomationConfig, "automation settings", "smtp, mail_from, public_url")
        if path.exists()
        else AutomationConfig()
    )
    smtp = config.smtp.model_dump()
    env = os.environ
    for key, name, kind in (
        ("host", "SMBGROWTH_SMTP_HOST", str),
        ("port", "SMBGROWTH_SMTP_PORT", int),
        ("user", "SMBGROWTH_SMTP_USER", str),
        ("password", "SMBGROWTH_SMTP_PASSWORD", str),
        ("tls", "SMBGROWTH_SMTP_TLS", str),
    ):
        if env.get(name):
            smtp[key] = kind(env[name])
    updates: dict[str, object] = {"smtp": SmtpConfig.model_validate(smtp)}
    if env.get("SMBGROWTH_MAIL_FROM"):
        updates["mail_from"] = env["SMBGROWTH_MAIL_FROM"]
    if env.get("SMBGROWTH_PUBLIC_URL"):
        updates["public_url"] = env["SMBGROWTH_PUBLIC_URL"]
    return config.model_copy(update=updates)


def signing_key(workspace: str | Path) -> bytes:
    """The workspace's secret for unsubscribe links (created once, readable by the owner only)."""
    path = Path(workspace) / _KEY_FILE
    if not path.exists():
        key = secrets.token_hex(32)
        tmp = path.with_name(path.name + f".{os.getpid()}")
        tmp.write_text(key, encoding="utf-8")
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)  # atomic: the first writer wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text(encoding="utf-8").strip().encode()
