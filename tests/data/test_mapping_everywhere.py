"""``--mapping`` with every source: a mapping refines what the source recognised.

Each case renames one column of a source's fixture to a spelling the source does
not know, and a mapping file points the field at it. A mapping for a table the
file does not fill is refused with one line, and nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

import smbgrowth
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import MappingError
from tests.data.importing import FIXTURES, column, record, run_import, snapshot


@dataclass(frozen=True)
class Case:
    source: str
    fixture: str
    header: str  # the file's header ...
    renamed: str  # ... as this file spells it
    table: str
    field: str
    check: str  # a query whose answer shows the renamed column was read
    expected: list[Any]
    currency: str = "USD"
    time_zone: str = "America/New_York"


CASES = [
    Case(
        "shopify",
        "shopify/orders_export.csv",
        "Email",
        "Buyer mail",
        "order_lines",
        "customer_email",
        "SELECT count(*) FROM customers WHERE email = 'alice@example.com'",
        [1],
    ),
    Case(
        "stripe",
        "stripe/payments.csv",
        "Customer Email",
        "Payer e-mail",
        "orders",
        "customer_email",
        "SELECT email FROM customers WHERE customer_id = 'cus_PA1'",
        ["billing@acme.example"],
    ),
    Case(
        "hubspot",
        "hubspot/contacts_work_email.csv",
        "Work email",
        "Work email",
        "customers",
        "email",
        "SELECT email FROM customers ORDER BY customer_id",
        ["gia@moretti.example", "hal@berg.example"],
    ),
    Case(
        "ads",
        "ads/facebook_daily.csv",
        "Clicks",
        "Link taps",
        "marketing_spend",
        "clicks",
        # 240 + 90 clicks of the two ad sets of that campaign and day
        "SELECT clicks FROM marketing_spend WHERE date = '2024-03-01' AND campaign = 'Spring Sale'",
        [330],
    ),
    Case(
        "xero",
        "xero/sales_invoices.csv",
        "EmailAddress",
        "Billing e-mail",
        "invoices",
        "customer_email",
        "SELECT email FROM customers WHERE customer_id = 'Ngaio Bakery Ltd'",
        ["accounts@ngaio.example"],
        currency="NZD",
        time_zone="Pacific/Auckland",
    ),
]


def _renamed(case: Case, folder: Path) -> Path:
    """The fixture with one header spelt differently (the header row only)."""
    source = FIXTURES / case.fixture
    lines = source.read_text(encoding="utf-8").split("\n")
    headers = lines[0].split(",")
    assert case.header in headers
    lines[0] = ",".join(case.renamed if h == case.header else h for h in headers)
    path = folder / source.name
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _mapping(folder: Path, **content: Any) -> str:
    path = folder / "mapping.yaml"
    path.write_text(yaml.safe_dump(content), encoding="utf-8")
    return str(path)


@pytest.fixture
def case_workspace(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    case: Case = request.param
    ws = smbgrowth.init_workspace(tmp_path / "ws", currency=case.currency, time_zone=case.time_zone)
    try:
        yield case, ws
    finally:
        ws.close()


@pytest.mark.parametrize("case_workspace", CASES, ids=[c.source for c in CASES], indirect=True)
def test_a_mapping_names_a_column_the_source_does_not_know(
    case_workspace: tuple[Case, Workspace], tmp_path: Path
) -> None:
    case, ws = case_workspace
    path = _renamed(case, tmp_path)
    mapping = _mapping(tmp_path, table=case.table, columns={case.field: case.renamed})
    result = run_import(ws, case.source, path, mapping_file=mapping)
    assert column(ws, case.check) == case.expected
    mapped = [f for f in result.files if f.target == case.table]
    assert mapped and all(f.mapping[case.field] == case.renamed for f in mapped)


@pytest.mark.parametrize("case_workspace", CASES, ids=[c.source for c in CASES], indirect=True)
def test_a_mapping_for_a_table_the_file_does_not_fill_is_refused(
    case_workspace: tuple[Case, Workspace], tmp_path: Path
) -> None:
    case, ws = case_workspace
    path = _renamed(case, tmp_path)
    mapping = _mapping(tmp_path, table="tickets", columns={"ticket_id": case.renamed})
    before = snapshot(ws)
    with pytest.raises(MappingError) as error:
        run_import(ws, case.source, path, mapping_file=mapping)
    message = str(error.value)
    assert "\n" not in message
    assert "table tickets" in message and f"fills {case.table}" in message
    assert snapshot(ws) == before


def test_a_mapping_with_a_field_the_table_lacks_is_refused(
    workspace: Workspace, tmp_path: Path
) -> None:
    mapping = _mapping(tmp_path, table="customers", columns={"shoe_size": "Work email"})
    with pytest.raises(MappingError, match="'shoe_size' is not a field of table customers"):
        run_import(workspace, "hubspot", "hubspot/contacts_work_email.csv", mapping_file=mapping)
    assert workspace.row_count("customers") == 0


def test_a_mapping_column_missing_from_the_file_is_refused(
    workspace: Workspace, tmp_path: Path
) -> None:
    mapping = _mapping(tmp_path, table="customers", columns={"email": "E-mail (work)"})
    with pytest.raises(MappingError, match=r"column 'E-mail \(work\)' \(for email\) is not"):
        run_import(workspace, "hubspot", "hubspot/contacts_work_email.csv", mapping_file=mapping)
    assert workspace.row_count("customers") == 0


def test_a_mapping_sets_constants_dates_and_title_rows(
    workspace: Workspace, tmp_path: Path
) -> None:
    # Two title rows above the header, dates as m/d/yy, and a segment for everyone.
    text = (FIXTURES / "hubspot" / "contacts_with_company.csv").read_text(encoding="utf-8")
    path = tmp_path / "contacts.csv"
    path.write_text("Contacts export\nAll contacts,,\n" + text, encoding="utf-8")
    mapping = _mapping(
        tmp_path,
        table="customers",
        skip_rows=2,
        date_format="%m/%d/%y %H:%M",
        constants={"segment": "partner"},
    )
    result = run_import(workspace, "hubspot", path, mapping_file=mapping)
    assert result.files[0].date_formats == {"created_at": "%m/%d/%y %H:%M"}
    ana = record(workspace, "customers", customer_id="201")
    assert ana["segment"] == "partner"
    assert ana["created_at"].year == 2024
    assert set(column(workspace, "SELECT DISTINCT segment FROM customers")) == {"partner"}


def test_a_mapped_field_replaces_what_the_source_derived(
    workspace: Workspace, tmp_path: Path
) -> None:
    # The source builds the name from First and Last Name; the mapping says otherwise.
    mapping = _mapping(tmp_path, table="customers", columns={"name": "Last Name"})
    run_import(workspace, "hubspot", "hubspot/contacts_work_email.csv", mapping_file=mapping)
    assert record(workspace, "customers", customer_id="301")["name"] == "Moretti"


def test_a_mapping_supplies_a_key_column_the_source_would_insist_on(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(
        "Contact identifier,Work email,Create Date\n"
        "1.11015E+11,Ida@Example.com,2024-03-01 10:00\n"
        "77,jo@example.com,2024-03-02 10:00\n",
        encoding="utf-8",
    )
    mapping = _mapping(
        tmp_path,
        table="customers",
        columns={"customer_id": "Contact identifier", "email": "Work email"},
    )
    result = run_import(workspace, "hubspot", path, mapping_file=mapping)
    # The mangled id gives way to the mapped e-mail column.
    assert column(workspace, "SELECT customer_id FROM customers ORDER BY 1") == [
        "77",
        "ida@example.com",
    ]
    assert any("1 are keyed by their e-mail" in w for w in result.files[0].warnings)


@pytest.mark.parametrize("source", ["xero", "quickbooks"])
def test_a_mapping_title_rows_count_for_sources_that_find_their_header(
    workspace: Workspace, tmp_path: Path, source: str
) -> None:
    # A header that the source would not recognise under two title rows: the
    # mapping says where the header is and what each column holds.
    path = tmp_path / "ledger.csv"
    path.write_text(
        "Ngaio Bakery Ltd\nSales, March 2024\n"
        "Ref,Client,Raised,Gross\n"
        "INV-1,Kea Cafe,15/03/2024,230.00\nINV-2,Tui Deli,16/03/2024,40.50\n",
        encoding="utf-8",
    )
    mapping = _mapping(
        tmp_path,
        table="invoices",
        skip_rows=2,
        date_format="%d/%m/%Y",
        columns={
            "invoice_id": "Ref",
            "customer_id": "Client",
            "issued_at": "Raised",
            "amount": "Gross",
        },
    )
    with pytest.raises(MappingError):
        run_import(workspace, source, path)
    run_import(workspace, source, path, mapping_file=mapping)
    assert column(workspace, "SELECT amount FROM invoices ORDER BY invoice_id") == [
        Decimal("230.00"),
        Decimal("40.50"),
    ]
