"""HubSpot importer: contacts and deals exports in, customers and deals out.

Every expected number below can be read off the fixture files in
``tests/data/fixtures``; the comments show the arithmetic.
"""

from __future__ import annotations

import pytest

from smbgrowth.data.workspace import Workspace
from tests.data.importing import money, record, run_import, utc


@pytest.fixture
def hubspot(workspace: Workspace) -> Workspace:
    run_import(workspace, "hubspot", "hubspot/contacts.csv", "hubspot/deals.csv")
    return workspace


def test_hubspot_contacts_become_customers(hubspot: Workspace) -> None:
    jane = record(hubspot, "customers", customer_id="101")
    assert jane["name"] == "Jane Cooper"
    assert jane["email"] == "jane.cooper@acme.example"
    assert jane["company"] == "Acme Corp"
    assert jane["segment"] == "customer"
    assert jane["acquisition_channel"] == "Organic Search"
    assert jane["country"] == "United States"
    assert jane["created_at"] == utc(2024, 1, 15, 14, 32)  # 09:32 New York time
    assert record(hubspot, "customers", customer_id="104")["name"] == "Tom"


def test_hubspot_deal_stage_ids_and_labels_set_won(hubspot: Workspace) -> None:
    won = dict(hubspot.duck.execute("SELECT deal_id, won FROM deals").fetchall())
    assert won == {
        "9001": True,  # closedwon
        "9002": False,  # closedlost
        "9003": True,  # Closed Won
        "9004": None,  # contractsent: still open
        "9005": False,  # Closed Lost
    }
    assert record(hubspot, "deals", deal_id="9001")["amount"] == money("12000.00")
    assert record(hubspot, "deals", deal_id="9003")["amount"] == money("48000.50")
    assert record(hubspot, "deals", deal_id="9005")["amount"] is None


def test_hubspot_deal_with_several_contacts_belongs_to_the_first(hubspot: Workspace) -> None:
    assert record(hubspot, "deals", deal_id="9001")["customer_id"] == "101"  # "101;104"
    assert record(hubspot, "deals", deal_id="9005")["customer_id"] is None
    # deals do not move a contact's creation date later
    assert record(hubspot, "customers", customer_id="103")["created_at"] == utc(2024, 7, 20, 15)


def test_hubspot_date_entered_columns_become_the_stage_history(workspace: Workspace) -> None:
    run_import(workspace, "hubspot", "hubspot/deals_with_stage_history.csv")
    rows = workspace.duck.execute(
        "SELECT deal_id, stage, entered_at FROM deal_stages ORDER BY deal_id, entered_at"
    ).fetchall()
    assert [(d, s) for d, s, _ in rows] == [
        ("9101", "Appointment Scheduled"),
        ("9101", "Qualified To Buy"),
        ("9101", "Closed Won"),
        ("9102", "Appointment Scheduled"),
        ("9102", "Qualified To Buy"),
        ("9102", "Closed Lost"),
        ("9103", "Appointment Scheduled"),
    ]
    assert rows[0][2] == utc(2024, 1, 2, 14, 0)  # 09:00 New York time
    # Stage to stage: 3 appointments → 2 qualified; 2 qualified → 1 won; lost is an outcome.
    from smbgrowth.metrics import compute_metric

    frame = compute_metric(workspace, "stage_conversion", grain="total", by="stage").frame
    got = dict(zip(frame.stage, frame.value.round(4), strict=True))
    assert got == {"Appointment Scheduled": round(2 / 3, 4), "Qualified To Buy": 0.5}
    overall = compute_metric(workspace, "stage_conversion", grain="total").total()
    assert overall == pytest.approx(1 / 3)
