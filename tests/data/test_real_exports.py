"""Real exports from real stores, imported as a new user would, checked against pandas.

The files live outside the repository in ``shared/datasets/real_exports`` (see its
SOURCES.md); the tests are skipped when that folder is absent. Each file is
imported with the command its SOURCES.md line suggests and no mapping, into a
workspace in the file's currency, and its counts, totals and date ranges are
compared with an independent pandas reading of the file (amounts read as text
into ``Decimal``, so the comparison is exact). The ad exports and the HubSpot
contacts are checked in detail in ``tests/data/sources``; here every file is
also imported twice, and the second import must change nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

import smbgrowth
from smbgrowth.data.importer import ImportResult, import_files
from smbgrowth.data.plan import ImportOptions
from smbgrowth.data.workspace import Workspace
from smbgrowth.metrics import compute_metric

REAL = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "real_exports"

# file, source, currency of the store, table for the csv source
FILES = [
    ("shopify_kidsliving_orders_export.csv", "shopify", "ZAR", None),
    ("shopify_enavant_orders_export_1.csv", "shopify", "USD", None),
    ("shopify_enavant_customers_export_1.csv", "shopify", "USD", None),
    ("stripe_simpleapps_unified_payments.csv", "stripe", "USD", None),
    ("ads_answersai_meta_ads.csv", "ads", "USD", None),
    ("ads_answersai_tiktok.csv", "ads", "USD", None),
    ("uci_online_retail_lines_mloyanich.csv", "csv", "GBP", "order_lines"),
    ("hubspot_salesmod_contacts.csv", "hubspot", "USD", None),
]


def real(name: str) -> Path:
    path = REAL / name
    if not path.is_file():
        pytest.skip(f"real export {name} not found in {REAL}")
    return path


def read(name: str) -> pd.DataFrame:
    return pd.read_csv(real(name), dtype=str, keep_default_na=False, encoding="utf-8-sig")


def money(values: pd.Series) -> Decimal:
    return sum((Decimal(v) for v in values if v != ""), Decimal(0))


def _import(ws: Workspace, source: str, name: str, table: str | None = None) -> ImportResult:
    return import_files(ws, source, [real(name)], ImportOptions(table=table))


def _new(factory: pytest.TempPathFactory, currency: str) -> Workspace:
    return smbgrowth.init_workspace(factory.mktemp("real") / "ws", currency=currency)


@pytest.mark.parametrize(("name", "source", "currency", "table"), FILES)
def test_each_real_export_imports_on_the_first_try_and_again_changes_nothing(
    tmp_path: Path, name: str, source: str, currency: str, table: str | None
) -> None:
    ws = smbgrowth.init_workspace(tmp_path / "ws", currency=currency)
    try:
        first = _import(ws, source, name, table)
        assert sum(t.inserted for t in first.totals().values()) > 0
        again = _import(ws, source, name, table)
        for t in again.totals().values():
            assert (t.inserted, t.updated, t.removed) == (0, 0, 0), (name, t)
    finally:
        ws.close()


# -- Shopify orders -------------------------------------------------------------------


def _shopify_orders(name: str) -> pd.DataFrame:
    """The order rows: order fields sit on each order's first line row only."""
    rows = read(name)
    return rows[rows["Financial Status"] != ""]


@pytest.fixture(scope="module")
def enavant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = _new(tmp_path_factory, "USD")
    _import(ws, "shopify", "shopify_enavant_orders_export_1.csv")
    yield ws
    ws.close()


@pytest.mark.parametrize(
    ("name", "currency"),
    [
        ("shopify_enavant_orders_export_1.csv", "USD"),
        ("shopify_kidsliving_orders_export.csv", "ZAR"),
    ],
)
def test_shopify_orders_match_pandas(tmp_path: Path, name: str, currency: str) -> None:
    ws = smbgrowth.init_workspace(tmp_path / "ws", currency=currency)
    try:
        _import(ws, "shopify", name)
        lines = read(name)
        orders = _shopify_orders(name)
        assert ws.row_count("order_lines") == len(lines)
        assert ws.row_count("orders") == orders["Name"].nunique() == len(orders)
        stored = ws.duck.execute("SELECT sum(total), sum(refunded) FROM orders").fetchone()
        assert stored == (money(orders["Total"]), money(orders["Refunded Amount"]))
        # The canonical subtotal is before discounts: Shopify's Subtotal + Discount Amount.
        subtotal = ws.duck.execute("SELECT sum(subtotal) FROM orders").fetchone()
        assert subtotal == (money(orders["Subtotal"]) + money(orders["Discount Amount"]),)
        created = pd.to_datetime(orders["Created at"], utc=True)
        first, last = ws.duck.execute(
            "SELECT min(ordered_at), max(ordered_at) FROM orders"
        ).fetchone()
        assert (first, last) == (created.min().to_pydatetime(), created.max().to_pydatetime())
        # Every order is a customer's, by e-mail or else by phone or name.
        keyed = orders[(orders["Email"] != "") | (orders["Billing Phone"] != "")]
        with_customer = ws.duck.execute("SELECT count(customer_id) FROM orders").fetchone()
        assert with_customer is not None and with_customer[0] >= len(keyed)
    finally:
        ws.close()


def test_enavant_net_revenue_and_statuses_match_pandas(enavant: Workspace) -> None:
    orders = _shopify_orders("shopify_enavant_orders_export_1.csv")
    # An order with a cancellation date is cancelled whatever its payment status says.
    cancelled = orders["Cancelled at"] != ""
    statuses = orders.loc[~cancelled, "Financial Status"].value_counts().to_dict()
    stored = dict(enavant.duck.execute("SELECT status, count(*) FROM orders GROUP BY 1").fetchall())
    assert stored == {
        "cancelled": int(cancelled.sum()),
        "completed": statuses["paid"],
        "refunded": statuses["refunded"],
        "partially_refunded": statuses["partially_refunded"],
    }
    sold = orders[~cancelled]
    net = money(sold["Total"]) - money(sold["Refunded Amount"])
    value = compute_metric(enavant, "revenue_net", grain="total").frame["value"].sum()
    assert round(Decimal(str(value)), 2) == net


def test_enavant_subtotal_identity_holds_on_the_real_export(enavant: Workspace) -> None:
    from smbgrowth.data.quality import workspace_status

    orders = _shopify_orders("shopify_enavant_orders_export_1.csv")
    d = {c: orders[c].map(Decimal) for c in ("Subtotal", "Shipping", "Taxes", "Total")}
    neither = (
        ((d["Subtotal"] + d["Shipping"] + d["Taxes"] - d["Total"]).abs() > Decimal("0.01"))
        & ((d["Subtotal"] + d["Shipping"] - d["Total"]).abs() > Decimal("0.01"))
    ).sum()
    status = workspace_status(enavant)
    found = [w.rows for w in status.warnings if w.check == "total_mismatch"]
    assert found == ([int(neither)] if neither else [])
    assert neither < 5  # of 409 orders: the identity is right, not the exception


# -- Shopify customers and consent ----------------------------------------------------


@pytest.mark.parametrize("customers_first", [True, False])
def test_enavant_consent_does_not_depend_on_import_order(
    tmp_path: Path, customers_first: bool
) -> None:
    ws = smbgrowth.init_workspace(tmp_path / "ws", currency="USD")
    try:
        files = ["shopify_enavant_customers_export_1.csv", "shopify_enavant_orders_export_1.csv"]
        for name in files if customers_first else reversed(files):
            _import(ws, "shopify", name)
        listed = read("shopify_enavant_customers_export_1.csv")
        # The customer list was exported after every order, so it has the last word
        # for everyone on it who has an e-mail.
        said = listed[listed["Email"] != ""]
        want = dict(
            zip(said["Email"].str.lower(), said["Accepts Email Marketing"] == "yes", strict=True)
        )
        got = dict(
            ws.duck.execute(
                "SELECT customer_id, accepts_marketing FROM customers WHERE email IS NOT NULL "
                "AND customer_id IN (SELECT lower(email) FROM customers)"
            ).fetchall()
        )
        assert {k: got[k] for k in want} == want
        assert sum(want.values()) == sum(1 for k in want if got[k])
    finally:
        ws.close()


def test_shopify_customers_export_keys_every_row(tmp_path: Path) -> None:
    ws = smbgrowth.init_workspace(tmp_path / "ws", currency="USD")
    try:
        result = _import(ws, "shopify", "shopify_enavant_customers_export_1.csv")
        listed = read("shopify_enavant_customers_export_1.csv")
        no_email = listed[listed["Email"] == ""]
        assert ws.row_count("customers") == len(listed) == 1511
        assert f"{len(no_email)} customer(s) have no e-mail" in " ".join(result.files[0].warnings)
        phones = ws.duck.execute("SELECT count(*) FROM customers WHERE customer_id LIKE 'phone:%'")
        assert phones.fetchone() == (int((no_email["Phone"] != "").sum()),)
    finally:
        ws.close()


# -- Stripe ---------------------------------------------------------------------------


def test_stripe_unified_payments_match_pandas(tmp_path: Path) -> None:
    ws = smbgrowth.init_workspace(tmp_path / "ws", currency="USD")
    try:
        _import(ws, "stripe", "stripe_simpleapps_unified_payments.csv")
        rows = read("stripe_simpleapps_unified_payments.csv")
        charges = rows[rows["id"] != ""]
        # The one id-less row is a PaymentIntent whose charge is the next row up.
        assert len(rows) - len(charges) == 1
        assert ws.row_count("orders") == len(charges)
        # A paid charge with part of it refunded is partially refunded.
        part = (charges["Status"] == "Paid") & (charges["Amount Refunded"].map(Decimal) > 0)
        status = charges["Status"].map({"Paid": "completed", "Failed": "failed"})
        status = status.fillna(charges["Status"].str.lower()).where(~part, "partially_refunded")
        by_status = charges.groupby(status)["Amount"].apply(money).to_dict()
        stored = dict(
            ws.duck.execute("SELECT status, sum(total) FROM orders GROUP BY 1").fetchall()
        )
        assert stored == by_status
        assert set(stored) == {"completed", "failed", "refunded", "partially_refunded"}
        refunded = ws.duck.execute("SELECT sum(refunded) FROM orders").fetchone()
        assert refunded == (money(charges["Amount Refunded"]),)
        with_customer = charges[charges["Customer ID"] != ""]
        assert ws.row_count("customers") == with_customer["Customer ID"].nunique()
        created = pd.to_datetime(charges["Created date (UTC)"]).dt.tz_localize(UTC)
        span = ws.duck.execute("SELECT min(ordered_at), max(ordered_at) FROM orders").fetchone()
        assert span == (created.min().to_pydatetime(), created.max().to_pydatetime())
    finally:
        ws.close()


# -- a generic line-level file (UCI Online Retail) -------------------------------------


def test_uci_online_retail_lines_match_pandas(tmp_path: Path) -> None:
    ws = smbgrowth.init_workspace(tmp_path / "ws", currency="GBP", time_zone="UTC")
    try:
        result = _import(ws, "csv", "uci_online_retail_lines_mloyanich.csv", "order_lines")
        assert result.files[0].mapping["order_id"] == "InvoiceNo"
        rows = read("uci_online_retail_lines_mloyanich.csv")
        assert ws.row_count("order_lines") == len(rows)
        assert ws.row_count("orders") == rows["InvoiceNo"].nunique()
        amount = sum(
            (
                Decimal(q) * Decimal(p)
                for q, p in zip(rows["Quantity"], rows["UnitPrice"], strict=True)
            ),
            Decimal(0),
        )
        assert ws.duck.execute("SELECT sum(total) FROM orders").fetchone() == (amount,)
        # Cancellations (C invoices) are orders with a negative total.
        cancelled = rows[rows["InvoiceNo"].str.startswith("C")]
        negative = ws.duck.execute("SELECT count(*) FROM orders WHERE total < 0").fetchone()
        assert negative == (cancelled["InvoiceNo"].nunique(),)
        # CustomerID 17850.0 is customer 17850; 0.0 is no customer.
        ids = {str(int(float(v))) for v in rows["CustomerID"] if v and float(v) != 0}
        stored = {r[0] for r in ws.duck.execute("SELECT customer_id FROM customers").fetchall()}
        assert stored == ids
        dates = pd.to_datetime(rows["InvoiceDate"])
        span = ws.duck.execute("SELECT min(ordered_at), max(ordered_at) FROM orders").fetchone()
        assert span == (
            dates.min().tz_localize(UTC).to_pydatetime(),
            dates.max().tz_localize(UTC).to_pydatetime(),
        )
    finally:
        ws.close()
