"""Automation commands: ``smbgrowth automate validate | dry-run | enable | disable | list |
worker | approvals | approve | history | unsubscribe | consent | schema``."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from smbgrowth.cli.common import JsonOpt, WorkspaceOpt, one_line_errors
from smbgrowth.cli.output import Output
from smbgrowth.errors import WorkflowError
from smbgrowth.settings import resolve_workspace_path

__all__ = ["automate_app", "register"]

automate_app = typer.Typer(
    help="Automation: durable workflows (e-mail sequences, reminders, follow-ups) with "
    "triggers, approvals and consent; every effect happens once."
)


def _workflow_source(value: str) -> Path:
    """A workflow file, or the name of a shipped playbook."""
    from smbgrowth.automation.playbooks import playbook_path

    path = Path(value)
    if path.exists():
        return path
    found = playbook_path(value)
    if found is None:
        raise WorkflowError(
            f"{value!r} is neither a workflow file nor a shipped playbook; "
            "see smbgrowth automate list --playbooks"
        )
    return found


def _workspace(workspace: Path | None) -> Path:
    path = resolve_workspace_path(workspace)
    if not (path / "ops.sqlite").exists():
        raise WorkflowError(f"{path} is not a workspace; run smbgrowth init first")
    return path


@automate_app.command("validate")
def validate(
    file: Annotated[str, typer.Argument(help="Workflow YAML file or playbook name.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a workflow file: errors name the line and the field."""
    from smbgrowth.automation.definitions import load_workflow

    out = Output(as_json)
    with one_line_errors(out):
        wf = load_workflow(_workflow_source(file))
    data = {
        "name": wf.name,
        "version": wf.version,
        "kind": wf.kind,
        "trigger": wf.trigger.model_dump(mode="json", by_alias=True),
        "steps": len(wf.steps),
        "valid": True,
    }
    if as_json:
        out.json(data)
        return
    out.console.print(
        f"[green]valid[/]: {wf.name} (version {wf.version}, {wf.kind}, {len(wf.steps)} steps)"
    )


@automate_app.command("dry-run")
def dry_run_cmd(
    file: Annotated[str, typer.Argument(help="Workflow YAML file or playbook name.")],
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="Runs to show.")] = 20,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show who would get what, when — nothing is sent, written or started."""
    from smbgrowth.automation.definitions import load_workflow
    from smbgrowth.automation.dryrun import dry_run

    out = Output(as_json)
    with one_line_errors(out):
        wf = load_workflow(_workflow_source(file))
        result = dry_run(_workspace(workspace), wf, limit=limit)
    data = result.to_dict()
    if as_json:
        out.json(data)
        return
    grid = Table(title=f"Dry run of {wf.name}: {len(data['runs'])} run(s)")
    for column in ("run", "step", "action", "when (UTC)", "to", "subject / prompt", "ok"):
        grid.add_column(column)
    for run in data["runs"]:
        if run["holdout"]:
            grid.add_row(run["run_id"], "—", "holdout", "", "", "", "")
        for a in run["actions"]:
            ok = "yes" if a["allowed"] else f"no: {a['reason']}"
            grid.add_row(run["run_id"], a["step"], a["action"], a["at"][:16], a["to"] or "",
                         a["subject"] or "", ok)  # fmt: skip
    out.console.print(grid)
    for note in data["notes"]:
        out.console.print(f"[dim]note: {note}[/]", highlight=False)


@automate_app.command("enable")
def enable(
    name: Annotated[str, typer.Argument(help="Workflow file, playbook name or stored workflow.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Load (if a file or playbook) and enable a workflow; the worker starts its runs."""
    from smbgrowth.automation.store import AutomationStore

    out = Output(as_json)
    with one_line_errors(out):
        path = _workspace(workspace)
        with AutomationStore(path) as store:
            if name in store.workflow_names() and not Path(name).exists():
                wf = store.workflow(name)
            else:
                wf = store.load_file(_workflow_source(name))
            store.set_enabled(wf.name, True)
            _remember_time_zone(path, store)
    data = {"name": wf.name, "version": wf.version, "enabled": True}
    if as_json:
        out.json(data)
        return
    out.console.print(f"Enabled {wf.name} (version {wf.version}).")


def _remember_time_zone(path: Path, store: Any) -> None:
    """The worker reads the workspace time zone without opening the business database."""
    from smbgrowth.data.workspace import open_workspace

    ws = open_workspace(path)
    try:
        store.set_state("workspace_time_zone", ws.time_zone)
    finally:
        ws.close()


@automate_app.command("disable")
def disable(
    name: Annotated[str, typer.Argument(help="Stored workflow name.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Disable a workflow: no new runs; runs already started finish."""
    from smbgrowth.automation.store import AutomationStore

    out = Output(as_json)
    with one_line_errors(out), AutomationStore(_workspace(workspace)) as store:
        store.set_enabled(name, False)
    if as_json:
        out.json({"name": name, "enabled": False})
        return
    out.console.print(f"Disabled {name}; runs in progress finish.")


@automate_app.command("list")
def list_cmd(
    playbooks: Annotated[
        bool, typer.Option("--playbooks", help="List the shipped playbooks instead.")
    ] = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Workflows with their version, state and runs (or the shipped playbooks)."""
    from smbgrowth.automation.playbooks import list_playbooks
    from smbgrowth.automation.store import AutomationStore

    out = Output(as_json)
    if playbooks:
        with one_line_errors(out):
            rows = list_playbooks()
        if as_json:
            out.json({"playbooks": rows})
            return
        grid = Table("playbook", "trigger", "kind", "description")
        for r in rows:
            grid.add_row(r["name"], r["trigger"], r["kind"], r["description"])
        out.console.print(grid)
        return
    with one_line_errors(out), AutomationStore(_workspace(workspace)) as store:
        rows = store.workflows()
    if as_json:
        out.json({"workflows": rows})
        return
    grid = Table("workflow", "version", "enabled", "runs", "active", "updated")
    for r in rows:
        grid.add_row(r["name"], r["version"], "yes" if r["enabled"] else "no", str(r["runs"]),
                     str(r["active"]), r["updated_at"][:19])  # fmt: skip
    out.console.print(grid)


@automate_app.command("worker")
def worker(
    poll: Annotated[
        float | None, typer.Option("--poll", min=0.05, help="Seconds between trigger checks.")
    ] = None,
    http: Annotated[
        str | None,
        typer.Option("--http", help="Also serve /hooks and /unsubscribe at HOST:PORT."),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run triggers and steps until stopped (Ctrl-C or SIGTERM); one worker per workspace."""
    from smbgrowth.automation.worker import Worker

    out = Output(as_json)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    with one_line_errors(out):
        path = _workspace(workspace)
        with Worker(path, poll_seconds=poll, log=log) as w:
            signal.signal(signal.SIGTERM, lambda *_: w.stop.set())
            server = None
            if http:
                server = _serve(path, http)
            log(f"worker running for {path} (pid {__import__('os').getpid()})")
            try:
                w.run()
            except KeyboardInterrupt:
                pass
            finally:
                if server is not None:
                    server.should_exit = True


def _serve(path: Path, address: str) -> Any:
    import threading

    import uvicorn

    from smbgrowth.automation.http import create_app

    host, _, port = address.rpartition(":")
    if not port.isdigit():
        raise WorkflowError(f"--http needs HOST:PORT, got {address!r}")
    config = uvicorn.Config(create_app(path), host=host or "127.0.0.1", port=int(port),
                            log_level="warning")  # fmt: skip
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    return server


@automate_app.command("approvals")
def approvals(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Steps waiting for a person to approve or reject them."""
    from smbgrowth.automation.store import AutomationStore

    out = Output(as_json)
    with one_line_errors(out), AutomationStore(_workspace(workspace)) as store:
        rows = store.pending_approvals()
    if as_json:
        out.json({"approvals": rows})
        return
    grid = Table("run", "step", "workflow", "prompt", "requested", "timeout → default")
    for r in rows:
        grid.add_row(r["run_id"], r["step"], r["workflow"], r["prompt"], r["requested_at"][:16],
                     f"{r['timeout_at'][:16]} → {r['default_outcome']}")  # fmt: skip
    out.console.print(grid)
    if not rows:
        out.console.print("Nothing is waiting for approval.")


@automate_app.command("approve")
def approve(
    run: Annotated[str, typer.Argument(help="Run ID (see smbgrowth automate approvals).")],
    reject: Annotated[bool, typer.Option("--reject", help="Reject instead of approve.")] = False,
    step: Annotated[str, typer.Option("--step", help="Step, when a run waits at several.")] = "",
    actor: Annotated[str, typer.Option("--as", help="Who decides (for the audit log).")] = "cli",
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Approve (or --reject) a waiting step; the run continues within a second."""
    from smbgrowth.automation.engine import send_approval

    out = Output(as_json)
    with one_line_errors(out):
        send_approval(_workspace(workspace), run, step, not reject, actor)
    decision = "rejected" if reject else "approved"
    if as_json:
        out.json({"run_id": run, "decision": decision})
        return
    out.console.print(f"{decision.capitalize()} {run}.")


@automate_app.command("history")
def history(
    name: Annotated[str | None, typer.Argument(help="Workflow (default: all).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Runs to show.")] = 50,
    audit: Annotated[bool, typer.Option("--audit", help="Show the audit log instead.")] = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Runs of a workflow (or all), newest first; --audit for every trigger, step and effect."""
    from smbgrowth.automation.store import AutomationStore

    out = Output(as_json)
    with one_line_errors(out), AutomationStore(_workspace(workspace)) as store:
        if audit:
            entries = store.audit_entries(workflow=name, limit=limit)
        else:
            runs = [r.__dict__ for r in store.runs(name, limit=limit)]
    if audit:
        if as_json:
            out.json({"audit": entries})
            return
        grid = Table("at", "actor", "action", "detail")
        for e in entries:
            grid.add_row(e["at"][:19], e["actor"], e["action"],
                         json.dumps(e["detail"], sort_keys=True)[:120])  # fmt: skip
        out.console.print(grid)
        return
    if as_json:
        out.json({"runs": runs})
        return
    grid = Table("run", "workflow", "status", "started", "finished", "subject")
    for r in runs:
        grid.add_row(r["run_id"], r["workflow"], r["status"], r["started_at"][:19],
                     (r["finished_at"] or "")[:19], r["subject"] or "")  # fmt: skip
    out.console.print(grid)


@automate_app.command("unsubscribe")
def unsubscribe(
    email: Annotated[str, typer.Argument(help="Address to stop e-mailing.")],
    mailing_list: Annotated[
        str, typer.Option("--list", help="One mailing list; default: every list (*).")
    ] = "*",
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Suppress an address (all lists, or one); transactional mail still reaches list opt-outs."""
    from smbgrowth.automation.store import AutomationStore

    out = Output(as_json)
    with one_line_errors(out), AutomationStore(_workspace(workspace)) as store:
        store.suppress(email, mailing_list, "unsubscribed (by hand)", actor="cli")
    if as_json:
        out.json({"email": email.strip().lower(), "list": mailing_list, "suppressed": True})
        return
    where = "every list" if mailing_list == "*" else f"the {mailing_list} list"
    out.console.print(f"{email} will get no more e-mail from {where}.")


@automate_app.command("consent")
def consent(
    email: Annotated[str, typer.Argument(help="The contact's address.")],
    mailing_list: Annotated[
        str, typer.Option("--list", help="Mailing list; default: every list (*).")
    ] = "*",
    withdraw: Annotated[bool, typer.Option("--withdraw", help="Record a withdrawal.")] = False,
    source: Annotated[
        str, typer.Option("--source", help="Where the consent was given (form, phone...).")
    ] = "cli",
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record that a contact gave (or withdrew) marketing consent; the latest record wins."""
    from smbgrowth.automation.store import AutomationStore

    out = Output(as_json)
    with one_line_errors(out), AutomationStore(_workspace(workspace)) as store:
        store.record_consent(email, mailing_list, not withdraw, source)
    data = {"email": email.strip().lower(), "list": mailing_list, "granted": not withdraw}
    if as_json:
        out.json(data)
        return
    state = "withdrawn" if withdraw else "granted"
    out.console.print(
        f"Consent {state} for {email} ({'every list' if mailing_list == '*' else mailing_list})."
    )


@automate_app.command("schema")
def schema(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Print the JSON Schema of workflow files (for editors and validators)."""
    from smbgrowth.automation.definitions import workflow_json_schema

    Output(as_json).json(workflow_json_schema())


def register(app: typer.Typer) -> None:
    """Add ``smbgrowth automate …`` to the main command."""
    app.add_typer(automate_app, name="automate")
