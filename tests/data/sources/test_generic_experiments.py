"""Generic importer into ``experiments``: A/B-test assignments with well-known headers.

The workspace's time zone is America/New_York, so naive times in the files are
New York times: 2024-03-01 10:00 EST is 15:00 UTC.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import MappingError, ValidationError
from tests.data.importing import changes, record, run_import, snapshot, utc

HEADER = "experiment,user_id,variant,first_exposure\n"
ROWS = (
    "hero-banner,u1,control,2024-03-01 10:00:00\n"
    "hero-banner,u2,treatment,2024-03-01 11:30:00\n"
    "hero-banner,u3,control,2024-03-02 09:15:00\n"
    "free-shipping,u1,treatment,2024-04-10 08:00:00\n"
)


def _write(tmp_path: Path, text: str, name: str = "assignments.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_experiment_assignments_are_recognised_and_stored(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = _write(tmp_path, HEADER + ROWS)
    result = run_import(workspace, "csv", path, table="experiments")
    assert result.files[0].mapping == {
        "experiment_id": "experiment",
        "unit_id": "user_id",
        "variant": "variant",
        "assigned_at": "first_exposure",
    }
    assert changes(result)["experiments"] == (4, 0, 0, 0)
    assert workspace.duck.execute(
        "SELECT experiment_id, unit_id, variant FROM experiments ORDER BY 1, 2"
    ).fetchall() == [
        ("free-shipping", "u1", "treatment"),
        ("hero-banner", "u1", "control"),
        ("hero-banner", "u2", "treatment"),
        ("hero-banner", "u3", "control"),
    ]
    row = record(workspace, "experiments", experiment_id="hero-banner", unit_id="u1")
    assert row["assigned_at"] == utc(2024, 3, 1, 15)  # 10:00 EST
    assert row["unit_type"] is None and row["covariate"] is None
    assert row["source"] == "csv:assignments.csv"
    # April is daylight-saving time: 08:00 EDT is 12:00 UTC
    later = record(workspace, "experiments", experiment_id="free-shipping", unit_id="u1")
    assert later["assigned_at"] == utc(2024, 4, 10, 12)


def test_reimporting_assignments_changes_nothing_and_a_correction_updates_by_key(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = _write(tmp_path, HEADER + ROWS)
    run_import(workspace, "csv", path, table="experiments")
    tables = {k: v for k, v in snapshot(workspace).items() if k != "_imports"}
    again = run_import(workspace, "csv", path, table="experiments")
    assert changes(again)["experiments"] == (0, 0, 4, 0)
    assert {k: v for k, v in snapshot(workspace).items() if k != "_imports"} == tables
    corrected = _write(tmp_path, HEADER + ROWS.replace("u3,control", "u3,treatment"))
    fixed = run_import(workspace, "csv", corrected, table="experiments")
    assert changes(fixed)["experiments"] == (0, 1, 3, 0)
    row = record(workspace, "experiments", experiment_id="hero-banner", unit_id="u3")
    assert row["variant"] == "treatment"
    assert workspace.row_count("experiments") == 4


def test_an_empty_variant_names_file_row_and_column_and_changes_nothing(
    workspace: Workspace, tmp_path: Path
) -> None:
    run_import(workspace, "csv", _write(tmp_path, HEADER + ROWS), table="experiments")
    before = snapshot(workspace)
    bad = _write(
        tmp_path,
        HEADER + "checkout,u7,control,2024-05-01 10:00:00\n" + "checkout,u8,,2024-05-01 10:05:00\n",
        name="bad_assignments.csv",
    )
    with pytest.raises(ValidationError) as info:
        run_import(workspace, "csv", bad, table="experiments")
    message = str(info.value)
    assert "\n" not in message
    assert "bad_assignments.csv" in message
    assert "row 3" in message  # the header is row 1
    assert "'variant'" in message
    assert (info.value.file, info.value.row, info.value.column) == (
        "bad_assignments.csv",
        3,
        "variant",
    )
    assert snapshot(workspace) == before


def test_assignments_without_an_exposure_time_are_refused(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = _write(tmp_path, "experiment,user_id,variant\nhero-banner,u1,control\n")
    with pytest.raises(MappingError, match="no column provides assigned_at for experiments"):
        run_import(workspace, "csv", path, table="experiments")
    assert workspace.row_count("experiments") == 0


def test_session_units_and_a_covariate_are_read(workspace: Workspace, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "Test ID,Session ID,Group,Exposed At,Unit Type,Pre-period value\n"
        "checkout,S0000001,control,2024-06-03T12:00:00Z,session,\n"
        "checkout,S0000002,new,2024-06-03T12:01:00Z,session,2.5\n",
    )
    result = run_import(workspace, "csv", path, table="experiments")
    assert result.files[0].mapping == {
        "experiment_id": "Test ID",
        "unit_id": "Session ID",
        "variant": "Group",
        "assigned_at": "Exposed At",
        "unit_type": "Unit Type",
        "covariate": "Pre-period value",
    }
    row = record(workspace, "experiments", experiment_id="checkout", unit_id="S0000002")
    assert (row["variant"], row["unit_type"], row["covariate"]) == ("new", "session", 2.5)
    assert row["assigned_at"] == utc(2024, 6, 3, 12, 1)
    first = record(workspace, "experiments", experiment_id="checkout", unit_id="S0000001")
    assert first["covariate"] is None
