"""HubSpot importer: contacts and deals exports in, customers and deals out.

Every expected number below can be read off the fixture files in
``tests/data/fixtures``; the comments show the arithmetic.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from smbgrowth.data.importer import ImportResult, import_files
from smbgrowth.data.parsing import DATE_FORMATS
from smbgrowth.data.plan import ImportOptions
from smbgrowth.data.readers import read_raw
from smbgrowth.data.workspace import Workspace
from tests.data.importing import (
    FIXTURES,
    changes,
    column,
    money,
    record,
    run_import,
    snapshot,
    utc,
)


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


# -- today's exports: "Record ID - Contact", associated company columns, m/d/yy dates -------

# Until the date detection reads "2/5/24 1:51" by itself, say the layout.
_DATES = {} if "%m/%d/%y %H:%M" in DATE_FORMATS else {"date_format": "%m/%d/%y %H:%M"}
CONTACTS = "hubspot/contacts_with_company.csv"


@pytest.fixture
def contacts(workspace: Workspace) -> tuple[Workspace, ImportResult]:
    return workspace, run_import(workspace, "hubspot", CONTACTS, **_DATES)


def test_repeated_headers_are_read_with_a_numbered_suffix(workspace: Workspace) -> None:
    # The source tells a contact's columns from its company's by this naming.
    raw = read_raw(workspace.duck, FIXTURES / CONTACTS, "_raw_test")
    assert raw.headers[11:16] == (
        "Record ID - Company",
        "Company name_1",
        "Create Date_1",
        "Phone Number_1",
        "Last Activity Date_1",
    )


def test_hubspot_contact_columns_fill_the_customer(
    contacts: tuple[Workspace, ImportResult],
) -> None:
    ws, _ = contacts
    ana = record(ws, "customers", customer_id="201")
    assert ana["name"] == "Ana Lima"
    assert ana["email"] == "ana.lima@acme.example"
    assert ana["company"] == "Acme Corp"  # her own, not the company record's name
    assert ana["phone"] == "+1 555 0201"  # not the company's phone
    assert ana["country"] == "United States"  # not the company's Canada
    assert ana["city"] is None  # City is the company's
    assert ana["created_at"] == utc(2024, 2, 5, 6, 51)  # 1:51 New York time, not 1/2/23
    cleo = record(ws, "customers", customer_id="203")
    assert cleo["name"] == "Cleo"
    assert cleo["created_at"] == utc(2024, 12, 13, 21, 42)  # 12/13/24 16:42


def test_hubspot_company_block_fills_only_a_missing_company(
    contacts: tuple[Workspace, ImportResult],
) -> None:
    ws, _ = contacts
    ben = record(ws, "customers", customer_id="202")
    assert ben["company"] == "Bright Studio"
    assert ben["phone"] is None and ben["country"] is None
    assert ben["created_at"] == utc(2024, 2, 6, 18, 5)
    assert record(ws, "customers", customer_id="204")["company"] == "Acme Corporation"
    assert record(ws, "customers", customer_id="203")["company"] is None


def test_hubspot_ids_mangled_by_a_spreadsheet_are_keyed_by_email(
    contacts: tuple[Workspace, ImportResult],
) -> None:
    ws, result = contacts
    dev = record(ws, "customers", customer_id="dev.rao@elm.example")
    assert dev["name"] == "Dev Rao"
    assert dev["company"] == "Elm Ltd"
    # Eve's id is mangled too and she has no e-mail: nothing can key her row.
    assert column(ws, "SELECT customer_id FROM customers ORDER BY customer_id") == [
        "201",
        "202",
        "203",
        "204",
        "dev.rao@elm.example",
    ]
    assert column(ws, "SELECT count(*) FROM customers WHERE name = 'Eve Stone'") == [0]
    file = result.files[0]
    assert file.rows_read == 6 and file.rows_skipped == 1
    mangled = [w for w in file.warnings if "1.11015E+11" in w]
    assert len(mangled) == 1
    assert mangled[0].startswith("2 contact id(s)")
    assert "1 are keyed by their e-mail" in mangled[0]
    assert "1 without an e-mail are skipped" in mangled[0]
    assert "without opening" in mangled[0] and "Excel" in mangled[0]


def test_hubspot_consent_columns_set_accepts_marketing(
    contacts: tuple[Workspace, ImportResult],
) -> None:
    ws, _ = contacts
    consent = dict(
        ws.duck.execute("SELECT customer_id, accepts_marketing FROM customers").fetchall()
    )
    assert consent == {
        "201": True,  # Marketing contact
        "202": False,  # Non-marketing contact
        "203": False,  # a marketing contact who unsubscribed from all email
        "204": None,  # nothing said
        "dev.rao@elm.example": None,
    }


def test_hubspot_opt_out_alone_never_grants_consent(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(
        "Record ID,Email,Create Date,Email opt out\n"
        "1,a@x.example,2024-01-01 10:00,Yes\n"
        "2,b@x.example,2024-01-01 10:00,No\n"
    )
    run_import(workspace, "hubspot", path)
    consent = dict(
        workspace.duck.execute("SELECT customer_id, accepts_marketing FROM customers").fetchall()
    )
    assert consent == {"1": False, "2": None}


def test_hubspot_reimport_of_todays_export_changes_nothing(
    contacts: tuple[Workspace, ImportResult],
) -> None:
    ws, _ = contacts
    before = snapshot(ws)
    again = run_import(ws, "hubspot", CONTACTS, **_DATES)
    assert changes(again)["customers"] == (0, 0, 5, 0)
    assert all(c[:2] == (0, 0) and c[3] == 0 for c in changes(again).values())
    after = snapshot(ws)
    assert {k: v for k, v in after.items() if k != "_imports"} == {
        k: v for k, v in before.items() if k != "_imports"
    }


def test_hubspot_own_record_id_may_stand_anywhere(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(
        "First Name,Email,Record ID - Contact,Create Date,Record ID - Company,Company name,"
        "Create Date\n"
        "Ana,ana@acme.example,201,2024-02-05 01:51,5001,Acme Corporation,2023-01-02 08:00\n"
    )
    run_import(workspace, "hubspot", path)
    ana = record(workspace, "customers", customer_id="201")
    assert ana["company"] == "Acme Corporation"
    assert ana["created_at"] == utc(2024, 2, 5, 6, 51)


def test_hubspot_deals_export_with_record_id_deal(workspace: Workspace) -> None:
    result = run_import(workspace, "hubspot", "hubspot/deals_current.csv", **_DATES)
    deals = workspace.duck.execute(
        "SELECT deal_id, customer_id, won, amount FROM deals ORDER BY deal_id"
    ).fetchall()
    assert deals == [
        ("9201", "201", True, money("12000.00")),
        ("9202", None, False, money("2500.00")),  # its contact id was mangled
    ]
    assert record(workspace, "deals", deal_id="9201")["created_at"] == utc(2024, 2, 13, 15)
    (note,) = [w for w in result.files[0].warnings if "1.11015E+11" in w]
    assert note.startswith("1 deal id(s)") and "their rows are skipped" in note


def test_hubspot_deal_with_an_associated_contact_block(workspace: Workspace) -> None:
    run_import(workspace, "hubspot", "hubspot/deals_with_contact_block.csv", **_DATES)
    deal = record(workspace, "deals", deal_id="9301")
    assert deal["customer_id"] == "202"
    assert deal["created_at"] == utc(2024, 2, 20, 16, 30)  # the deal's date, not the contact's


def test_hubspot_companies_export_becomes_customers(workspace: Workspace) -> None:
    result = run_import(workspace, "hubspot", "hubspot/companies.csv", **_DATES)
    assert result.files[0].label == "companies"
    acme = record(workspace, "customers", customer_id="company-5001")
    assert acme["name"] == acme["company"] == "Acme Corporation"
    assert acme["city"] == "Boston"
    assert acme["segment"] == "customer"
    assert acme["created_at"] == utc(2023, 1, 22, 13)


# -- the real export -------------------------------------------------------------------------

# tests/data/sources/test_hubspot.py -> parents[4] is the folder holding the repo and shared/
REAL = Path(__file__).resolve().parents[4] / "shared" / "datasets" / "real_exports"
_MANGLED = r"^\d+(\.\d*)?[eE]\+?\d+$"


@pytest.fixture(scope="module")
def real_contacts() -> Path:
    path = REAL / "hubspot_salesmod_contacts.csv"
    if not path.is_file():
        pytest.skip(f"real export hubspot_salesmod_contacts.csv not found in {REAL}")
    return path


def _expected_customers(path: Path) -> pd.DataFrame:
    """The customers the export describes, read independently with pandas."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    # pandas names the company block's repeated headers "Create Date.1" and so on.
    assert "Create Date.1" in frame.columns
    ids = frame["Record ID - Contact"].str.strip()
    email = frame["Email"].str.strip().str.lower()
    mangled = ids.str.fullmatch(_MANGLED)
    frame["key"] = ids.where(~mangled, email)
    frame = frame[frame["key"] != ""]
    frame["email"] = frame["Email"].str.strip().str.lower().replace("", None)
    frame["created"] = pd.to_datetime(frame["Create Date"], format="%m/%d/%y %H:%M")
    own = frame["Company Name"].str.strip()
    frame["company"] = own.where(own != "", frame["Company name"].str.strip()).replace("", None)
    return frame.set_index("key")


def test_hubspot_real_contacts_export_matches_pandas(tmp_path: Path, real_contacts: Path) -> None:
    import smbgrowth

    expected = _expected_customers(real_contacts)
    ws = smbgrowth.init_workspace(tmp_path / "ws", currency="USD")
    try:
        options = {} if "%m/%d/%y %H:%M" in DATE_FORMATS else _DATES
        result = import_files(ws, "hubspot", [real_contacts], ImportOptions(**options))
        assert expected.index.is_unique
        assert ws.row_count("customers") == len(expected)
        rows = ws.duck.execute(
            "SELECT customer_id, email, company, created_at FROM customers"
        ).fetchall()
        got = {r[0]: r[1:] for r in rows}
        assert set(got) == set(expected.index)
        assert {k: v[0] for k, v in got.items()} == expected["email"].to_dict()
        assert {k: v[1] for k, v in got.items()} == expected["company"].to_dict()
        assert {k: v[2].replace(tzinfo=None) for k, v in got.items()} == {
            k: v.to_pydatetime() for k, v in expected["created"].items()
        }
        mangled = [w for w in result.files[0].warnings if "spreadsheet" in w]
        assert len(mangled) == 1
        before = snapshot(ws)
        again = import_files(ws, "hubspot", [real_contacts], ImportOptions(**options))
        assert changes(again)["customers"] == (0, 0, len(expected), 0)
        assert all(c[:2] == (0, 0) and c[3] == 0 for c in changes(again).values())
        after = snapshot(ws)
        assert {k: v for k, v in after.items() if k != "_imports"} == {
            k: v for k, v in before.items() if k != "_imports"
        }
    finally:
        ws.close()
