"""Importers emit automation events for new rows, once, and only when a workflow listens."""

from __future__ import annotations

from pathlib import Path

from smbgrowth import init_workspace
from smbgrowth.automation.definitions import parse_workflow
from smbgrowth.automation.store import AutomationStore
from smbgrowth.data.importer import ImportOptions, import_files

CUSTOMERS = """customer_id,email,name,created_at
C1,ana@example.com,Ana Lopez,2026-01-05
C2,bo@example.com,Bo Chen,2026-01-06
"""

FLOW = """
name: greet
trigger: {event: customer.created}
steps:
  - send_email: {template: welcome_1, subject: Hello}
"""


def _import(ws_path: Path, text: str, tmp: Path) -> None:
    from smbgrowth import open_workspace

    f = tmp / "customers.csv"
    f.write_text(text, encoding="utf-8")
    ws = open_workspace(ws_path)
    try:
        import_files(ws, "csv", [f], ImportOptions(table="customers"))
    finally:
        ws.close()


def test_new_rows_become_events_once(tmp_path: Path) -> None:
    path = tmp_path / "ws"
    init_workspace(path).close()
    # No workflow listens yet: nothing is queued.
    _import(path, CUSTOMERS, tmp_path)
    with AutomationStore(path) as store:
        assert store.pending_events() == []
        store.save_workflow(parse_workflow(FLOW))
        store.set_enabled("greet", True)
    more = CUSTOMERS + "C3,cy@example.com,Cy Diaz,2026-01-07\n"
    _import(path, more, tmp_path)
    with AutomationStore(path) as store:
        events = store.pending_events()
    # Only the new customer: the re-imported ones did not change.
    assert [e["event_id"] for e in events] == ["import:customers:C3"]
    assert events[0]["type"] == "customer.created"
    assert events[0]["payload"]["email"] == "cy@example.com"
    # Importing the same file again changes nothing and queues nothing.
    _import(path, more, tmp_path)
    with AutomationStore(path) as store:
        assert len(store.pending_events()) == 1
