"""Ready-made workflows (playbooks) with editable templates.

Each ``*.yaml`` file here is a workflow; its e-mails use the templates in
``templates/`` (``NAME.txt`` and ``NAME.html``). Copy a playbook to change it,
or put a template of the same name in the workspace's ``templates/`` folder
to override the shipped one.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["list_playbooks", "playbook_path"]


def _folder() -> Path:
    return Path(str(resources.files("smbgrowth.automation.playbooks")))


def playbook_path(name: str) -> Path | None:
    """The file of a shipped playbook, by name (``welcome`` or ``welcome.yaml``)."""
    path = _folder() / (name if name.endswith(".yaml") else f"{name}.yaml")
    return path if path.is_file() else None


def list_playbooks() -> list[dict[str, Any]]:
    """Name, trigger, kind and description of every shipped playbook."""
    from smbgrowth.automation.definitions import load_workflow

    out = []
    for path in sorted(_folder().glob("*.yaml")):
        wf = load_workflow(path)
        trigger = next(iter(wf.trigger.model_dump(mode="json", by_alias=True)))
        out.append(
            {
                "name": path.stem,
                "workflow": wf.name,
                "trigger": trigger,
                "kind": wf.kind,
                "description": wf.description,
            }
        )
    return out
