"""Workflow files: one-line errors with the line and the field; the published JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from smbgrowth.automation.definitions import (
    load_workflow,
    parse_workflow,
    workflow_json_schema,
)
from smbgrowth.cli.main import app
from smbgrowth.errors import WorkflowError

runner = CliRunner()

GOOD = """\
name: welcome
trigger:
  event: customer.created
steps:
  - send_email: {template: welcome_1, subject: "Hi {{ customer.first_name }}"}
  - wait: {days: 2}
  - send_email: {template: welcome_2, subject: Tips}
"""

BAD = {
    "negative wait": (
        "name: a\ntrigger:\n  event: customer.created\nsteps:\n"
        "  - send_email: {template: welcome_1, subject: Hi}\n  - wait:\n      days: -1\n",
        "flow.yaml line 7: steps[1].wait.days: Input should be greater than or equal to 0 (got -1)",
    ),
    "misspelt field": (
        "name: a\ntrigger:\n  event: customer.created\nsteps:\n  - send_email:\n"
        "      template: welcome_1\n      subjct: Hi\n",
        "flow.yaml line 7: unknown field steps[0].send_email.subjct",
    ),
    "unknown time zone": (
        'name: a\ntrigger:\n  schedule:\n    cron: "0 9 * * 1"\n    timezone: Mars/Olympus\n'
        "steps:\n  - task: {title: x}\n",
        "flow.yaml line 5: trigger.schedule.timezone: ",
    ),
    "bad cron": (
        'name: a\ntrigger:\n  schedule: {cron: "61 * * * *"}\nsteps:\n  - task: {title: x}\n',
        "flow.yaml line 3: trigger.schedule.cron: ",
    ),
    "no steps": (
        "name: a\ntrigger:\n  event: customer.created\nsteps: []\n",
        "flow.yaml line 4: steps: List should have at least 1 item",
    ),
    "bad name": (
        "name: Bad Name\ntrigger:\n  event: customer.created\nsteps:\n  - task: {title: x}\n",
        "flow.yaml line 1: name: String should match pattern",
    ),
    "approval default": (
        "name: a\ntrigger:\n  event: customer.created\nsteps:\n  - task: {title: x}\n"
        "  - approval:\n      prompt: Go on?\n      default: maybe\n",
        "flow.yaml line 8: steps[1].approval.default: Input should be 'approve' or 'reject'",
    ),
    "YAML syntax": (
        "name: a\ntrigger: [\nsteps:\n",
        "flow.yaml line 4: ",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_errors_are_one_line_with_line_and_field(case: str) -> None:
    text, expected = BAD[case]
    with pytest.raises(WorkflowError) as caught:
        parse_workflow(text, "flow.yaml")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(expected), message


def test_cli_validate_reports_the_error_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(BAD["negative wait"][0], encoding="utf-8")
    result = runner.invoke(app, ["automate", "validate", str(path)])
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "line 7" in lines[0] and "steps[1].wait.days" in lines[0]


def test_cli_validate_accepts_a_good_file(tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(GOOD, encoding="utf-8")
    result = runner.invoke(app, ["automate", "validate", str(path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["name"] == "welcome" and data["valid"] is True and data["steps"] == 3
    assert data["version"] == load_workflow(path).version


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(WorkflowError, match="does not exist"):
        load_workflow(tmp_path / "nope.yaml")


def test_version_is_a_content_hash() -> None:
    a = parse_workflow(GOOD)
    assert parse_workflow(GOOD).version == a.version
    assert parse_workflow(GOOD.replace("days: 2", "days: 3")).version != a.version


def test_schema_command_prints_the_published_schema() -> None:
    result = runner.invoke(app, ["automate", "schema"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed == workflow_json_schema()
    assert printed["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert {"name", "trigger", "steps"} <= set(printed["required"])
    assert "list" in printed["properties"]  # aliases, as written in files
