"""Users: the dashboard's users and roles, managed by owners (everyone else gets 403).

An owner adds users, resets a user's password and role (the store's
``replace``: the user's sessions end), and removes users, never themselves;
an owner cannot change their own role either, so a workspace always keeps
the owner who is logged in.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from smbgrowth.errors import ConfigError
from smbgrowth.web.common import render, require
from smbgrowth.web.users import MIN_PASSWORD, ROLES, Session, User, UserStore

__all__ = ["router"]

router = APIRouter()
owner_only = require("owner")


def _store(request: Request) -> UserStore:
    store = request.app.state.users
    assert isinstance(store, UserStore)
    return store


def _user_dict(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "role": user.role,
        "created_at": user.created_at,
        "disabled": user.disabled,
    }


def _exists(store: UserStore, name: str) -> bool:
    try:
        store.get(name)
    except ConfigError:
        return False
    return True


def _save(
    store: UserStore, session: Session, name: str, password: str, role: str, *, replace: bool
) -> User:
    """Add or reset a user; one-line errors for what may not be done."""
    if replace:
        if not _exists(store, name):
            raise ConfigError(f"no user {name!r}; add them first")
        if name == session.username and role != session.role:
            raise ConfigError("you cannot change your own role; ask another owner")
    return store.add(name, password, role, replace=replace)


def _remove(store: UserStore, session: Session, name: str) -> None:
    if name == session.username:
        raise ConfigError("you cannot remove yourself; ask another owner")
    store.remove(name)


def _page(
    request: Request,
    *,
    message: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "admin/users.html",
        {
            "title": "Users",
            "users": _store(request).list(),
            "roles": tuple(reversed(ROLES)),
            "min_password": MIN_PASSWORD,
            "message": message,
            "error": error,
        },
        status_code=status_code,
    )


async def _fields(request: Request, *names: str) -> dict[str, str]:
    form = await request.form()
    out = {}
    for name in names:
        value = form.get(name)
        text = value if isinstance(value, str) else ""
        out[name] = text if name == "password" else text.strip()
    return out


# -- pages ---------------------------------------------------------------------------


@router.get("/users", response_class=HTMLResponse, include_in_schema=False)
async def users_page(request: Request, session: Session = Depends(owner_only)) -> HTMLResponse:
    return _page(request)


@router.post("/users/add", response_class=HTMLResponse, include_in_schema=False)
async def users_add(request: Request, session: Session = Depends(owner_only)) -> HTMLResponse:
    f = await _fields(request, "username", "role", "password")
    try:
        user = _save(
            _store(request), session, f["username"], f["password"], f["role"], replace=False
        )
    except ConfigError as exc:
        return _page(request, error=str(exc), status_code=400)
    return _page(request, message=f"User {user.username} ({user.role}) can now log in.")


@router.post("/users/reset", response_class=HTMLResponse, include_in_schema=False)
async def users_reset(request: Request, session: Session = Depends(owner_only)) -> Response:
    f = await _fields(request, "username", "role", "password")
    try:
        user = _save(
            _store(request), session, f["username"], f["password"], f["role"], replace=True
        )
    except ConfigError as exc:
        return _page(request, error=str(exc), status_code=400)
    if user.username == session.username:
        # A reset ends the user's sessions, this one included.
        return RedirectResponse("/login?next=/users", status_code=303)
    return _page(
        request,
        message=f"User {user.username} is now {user.role} with the new password; "
        "their sessions were ended.",
    )


@router.post("/users/remove", response_class=HTMLResponse, include_in_schema=False)
async def users_remove(request: Request, session: Session = Depends(owner_only)) -> HTMLResponse:
    f = await _fields(request, "username")
    try:
        _remove(_store(request), session, f["username"])
    except ConfigError as exc:
        return _page(request, error=str(exc), status_code=400)
    return _page(request, message=f"User {f['username']} removed; their sessions were ended.")


# -- API -------------------------------------------------------------------------------


class NewUser(BaseModel):
    """A user to add (or, with ``replace``, whose password and role to reset)."""

    username: str = Field(max_length=64)
    role: str = "viewer"
    password: str = Field(max_length=1024)
    replace: bool = False


@router.get("/api/users", tags=["users"])
async def api_users(request: Request, session: Session = Depends(owner_only)) -> dict[str, Any]:
    """The dashboard's users and their roles (owner only)."""
    return {"users": [_user_dict(u) for u in _store(request).list()]}


@router.post("/api/users", tags=["users"], status_code=201)
async def api_add_user(
    request: Request, body: NewUser, session: Session = Depends(owner_only)
) -> dict[str, Any]:
    """Add a user, or reset a user's password and role with ``replace`` (owner only)."""
    user = _save(
        _store(request), session, body.username, body.password, body.role, replace=body.replace
    )
    return _user_dict(user)


@router.delete("/api/users/{name}", tags=["users"])
async def api_remove_user(
    request: Request, name: str, session: Session = Depends(owner_only)
) -> dict[str, Any]:
    """Remove a user and end their sessions (owner only; not yourself)."""
    store = _store(request)
    if not _exists(store, name):
        raise HTTPException(status_code=404, detail=f"no user {name!r}")
    _remove(store, session, name)
    return {"username": name, "removed": True}
