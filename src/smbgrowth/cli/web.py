"""Dashboard commands: ``smbgrowth serve`` and ``smbgrowth users add|list|remove``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from smbgrowth.cli.common import JsonOpt, WorkspaceOpt, one_line_errors
from smbgrowth.cli.output import Output
from smbgrowth.errors import ConfigError
from smbgrowth.settings import resolve_workspace_path

__all__ = ["register", "users_app"]

users_app = typer.Typer(help="Dashboard users and their roles (owner, analyst, viewer).")


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port.")] = 8000,
    secure_cookies: Annotated[
        bool,
        typer.Option(
            "--secure-cookies/--no-secure-cookies",
            help="Mark the session cookie Secure (behind TLS). Default: when the request is HTTPS.",
        ),
    ] = False,
    proxy: Annotated[
        bool,
        typer.Option(
            "--proxy", help="Trust X-Forwarded-Proto/For from a reverse proxy on this host."
        ),
    ] = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Serve the dashboard: log in, read the scorecard, explore, simulate, approve, import."""
    import uvicorn

    from smbgrowth.data.workspace import open_workspace
    from smbgrowth.web.app import create_app
    from smbgrowth.web.users import UserStore

    out = Output(as_json)
    with one_line_errors(out):
        path = resolve_workspace_path(workspace)
        open_workspace(path).close()  # a clear error when it is not a workspace
        store = UserStore(path)
        try:
            if store.count() == 0:
                raise ConfigError(
                    "no dashboard users yet; add the first owner with "
                    f"`smbgrowth users add NAME --role owner --workspace {path}`"
                )
        finally:
            store.close()
        app = create_app(path, secure_cookies=True if secure_cookies else None)
    if as_json:
        out.json({"url": f"http://{host}:{port}/", "workspace": str(path)})
    else:
        out.console.print(f"Dashboard for {path} on http://{host}:{port}/ (Ctrl+C to stop)")
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        proxy_headers=proxy,
        forwarded_allow_ips="127.0.0.1" if proxy else None,
    )


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name (letters, digits, . _ @ + -).")],
    role: Annotated[str, typer.Option("--role", help="owner, analyst or viewer.")] = "viewer",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    replace: Annotated[
        bool, typer.Option("--replace", help="Reset an existing user's password and role.")
    ] = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a dashboard user (the password is asked twice, or read from stdin)."""
    from smbgrowth.web.users import UserStore

    out = Output(as_json)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    with one_line_errors(out):
        store = UserStore(resolve_workspace_path(workspace))
        try:
            user = store.add(name, password, role, replace=replace)
        finally:
            store.close()
    data = {"username": user.username, "role": user.role, "created_at": user.created_at}
    if as_json:
        out.json(data)
        return
    out.console.print(f"User {user.username} ({user.role}) can now log in to the dashboard.")


@users_app.command("list")
def users_list(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """The dashboard's users and roles."""
    from smbgrowth.web.users import UserStore

    out = Output(as_json)
    with one_line_errors(out):
        store = UserStore(resolve_workspace_path(workspace))
        try:
            found = store.list()
        finally:
            store.close()
    data = {
        "users": [
            {"username": u.username, "role": u.role, "created_at": u.created_at,
             "disabled": u.disabled}
            for u in found
        ]
    }  # fmt: skip
    if as_json:
        out.json(data)
        return
    grid = Table("user", "role", "created")
    for u in found:
        grid.add_row(u.username, u.role, u.created_at)
    out.console.print(grid)


@users_app.command("remove")
def users_remove(
    name: Annotated[str, typer.Argument(help="User name.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Remove a dashboard user and end their sessions."""
    from smbgrowth.web.users import UserStore

    out = Output(as_json)
    with one_line_errors(out):
        store = UserStore(resolve_workspace_path(workspace))
        try:
            store.remove(name)
        finally:
            store.close()
    if as_json:
        out.json({"username": name, "removed": True})
        return
    out.console.print(f"User {name} removed.")


def register(app: typer.Typer) -> None:
    """Add ``smbgrowth serve`` and ``smbgrowth users …`` to the main command."""
    app.command("serve")(serve)
    app.add_typer(users_app, name="users")
