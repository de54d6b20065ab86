"""Dashboard users, roles and login sessions, kept in the workspace's ``ops.sqlite``.

Roles, from most to least: ``owner`` (everything, including users and
enabling workflows), ``analyst`` (imports, approvals, simulations; no user
admin, no enabling workflows) and ``viewer`` (reads everything, changes
nothing). Passwords are hashed with Argon2id (argon2-cffi); a session is a
random token whose SHA-256 is stored with its CSRF token and expiry, so a
copy of the database does not hold usable session cookies.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from smbgrowth.data.migrations import migrate_sqlite
from smbgrowth.errors import ConfigError, WorkspaceError

__all__ = [
    "MIN_PASSWORD",
    "ROLES",
    "SESSION_HOURS",
    "Session",
    "User",
    "UserStore",
    "role_allows",
]

ROLES = ("viewer", "analyst", "owner")
MIN_PASSWORD = 10
SESSION_HOURS = 12
_NAME = re.compile(r"[A-Za-z0-9._@+-]{1,64}")


def role_allows(role: str, needed: str) -> bool:
    """Whether ``role`` has at least the rights of ``needed``."""
    return ROLES.index(role) >= ROLES.index(needed)


@dataclass(frozen=True)
class User:
    username: str
    role: str
    created_at: str
    disabled: bool


@dataclass(frozen=True)
class Session:
    username: str
    role: str
    csrf: str
    expires_at: datetime


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


class UserStore:
    """Users and sessions of one workspace (thread-safe; one SQLite connection)."""

    def __init__(self, workspace: str | Path) -> None:
        path = Path(workspace) / "ops.sqlite"
        if not path.exists():
            raise WorkspaceError(
                f"no workspace at {workspace}; create one with `smbgrowth init --workspace "
                f"{workspace}`"
            )
        self._con = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._con.execute("PRAGMA journal_mode=WAL")
        migrate_sqlite(self._con)
        self._lock = threading.Lock()
        self._hasher = PasswordHasher()
        # A hash to verify against when the user does not exist, so that a wrong
        # name and a wrong password take the same time.
        self._dummy = self._hasher.hash(secrets.token_hex(16))

    def close(self) -> None:
        self._con.close()

    # -- users -------------------------------------------------------------------

    def add(self, username: str, password: str, role: str, *, replace: bool = False) -> User:
        """Create (or with ``replace``, reset) a user; one-line errors for bad input."""
        if not _NAME.fullmatch(username):
            raise ConfigError(f"user name {username!r} must be 1-64 letters, digits or . _ @ + -")
        if role not in ROLES:
            raise ConfigError(f"role {role!r} is not one of {', '.join(reversed(ROLES))}")
        if len(password) < MIN_PASSWORD:
            raise ConfigError(f"the password must have at least {MIN_PASSWORD} characters")
        digest = self._hasher.hash(password)
        at = _now().isoformat(timespec="seconds")
        with self._lock:
            exists = self._con.execute(
                "SELECT 1 FROM users WHERE username = ?", (username,)
            ).fetchone()
            if exists and not replace:
                raise ConfigError(
                    f"user {username!r} exists; use --replace to reset the password or role"
                )
            with self._con:
                self._con.execute("BEGIN")
                self._con.execute(
                    "INSERT INTO users (username, password_hash, role, created_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (username) DO UPDATE SET "
                    "password_hash = excluded.password_hash, role = excluded.role, disabled = 0",
                    (username, digest, role, at),
                )
                # A reset ends the user's sessions.
                self._con.execute("DELETE FROM web_sessions WHERE username = ?", (username,))
                self._con.execute("COMMIT")
        return self.get(username)

    def get(self, username: str) -> User:
        with self._lock:
            row = self._con.execute(
                "SELECT username, role, created_at, disabled FROM users WHERE username = ?",
                (username,),
            ).fetchone()
        if row is None:
            raise ConfigError(f"no user {username!r}; add one with `smbgrowth users add`")
        return User(row[0], row[1], row[2], bool(row[3]))

    def list(self) -> list[User]:
        with self._lock:
            rows = self._con.execute(
                "SELECT username, role, created_at, disabled FROM users ORDER BY username"
            ).fetchall()
        return [User(r[0], r[1], r[2], bool(r[3])) for r in rows]

    def remove(self, username: str) -> None:
        self.get(username)
        with self._lock:
            self._con.execute("BEGIN")
            self._con.execute("DELETE FROM web_sessions WHERE username = ?", (username,))
            self._con.execute("DELETE FROM users WHERE username = ?", (username,))
            self._con.execute("COMMIT")

    def count(self) -> int:
        with self._lock:
            return int(self._con.execute("SELECT count(*) FROM users").fetchone()[0])

    def verify(self, username: str, password: str) -> User | None:
        """The user if the password is right (and the user enabled), else None."""
        with self._lock:
            row = self._con.execute(
                "SELECT password_hash, disabled FROM users WHERE username = ?", (username,)
            ).fetchone()
        digest = row[0] if row else self._dummy
        try:
            self._hasher.verify(digest, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None or row[1]:
            return None
        if self._hasher.check_needs_rehash(digest):
            with self._lock:
                self._con.execute(
                    "UPDATE users SET password_hash = ? WHERE username = ?",
                    (self._hasher.hash(password), username),
                )
        return self.get(username)

    # -- sessions -------------------------------------------------------------------

    def start_session(self, username: str, hours: float = SESSION_HOURS) -> tuple[str, Session]:
        """A new session: the cookie token (shown once) and the session."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = _now()
        expires = now + timedelta(hours=hours)
        user = self.get(username)
        with self._lock:
            self._con.execute("DELETE FROM web_sessions WHERE expires_at < ?", (now.isoformat(),))
            self._con.execute(
                "INSERT INTO web_sessions VALUES (?, ?, ?, ?, ?)",
                (_hash_token(token), username, csrf, now.isoformat(), expires.isoformat()),
            )
        return token, Session(username, user.role, csrf, expires)

    def session(self, token: str | None) -> Session | None:
        """The live session of a cookie token, or None."""
        if not token or len(token) > 200:
            return None
        with self._lock:
            row = self._con.execute(
                "SELECT s.username, u.role, s.csrf, s.expires_at, u.disabled "
                "FROM web_sessions s JOIN users u USING (username) WHERE s.token_hash = ?",
                (_hash_token(token),),
            ).fetchone()
        if row is None or row[4]:
            return None
        expires = datetime.fromisoformat(row[3])
        if expires < _now():
            return None
        return Session(row[0], row[1], row[2], expires)

    def end_session(self, token: str | None) -> None:
        if token:
            with self._lock:
                self._con.execute(
                    "DELETE FROM web_sessions WHERE token_hash = ?", (_hash_token(token),)
                )
