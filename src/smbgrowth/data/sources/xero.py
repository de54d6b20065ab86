"""Xero exports: invoices and bills (one row per line) and the Account Transactions report.

* Sales › Invoices › Export and Purchases › Bills › Export share one layout:
  one row per invoice line, the invoice-level columns repeated on each, the
  template's required headers starred (``*InvoiceNumber``). ``Type`` tells
  sales invoices (ACCREC) from bills (ACCPAY); credit notes are skipped.
* Reports › Account Transactions, exported to CSV or Excel: title rows
  (report name, organisation, period), a heading row per account, opening and
  closing balances and ``Total …`` rows; real debits and credits. Spending is
  read from the debit side of Spend Money and bill rows, categorised by the
  account heading.
"""

from __future__ import annotations

from pathlib import Path

from smbgrowth.data.parsing import quote_ident
from smbgrowth.data.plan import FilePlan, ImportOptions
from smbgrowth.data.readers import RawFile
from smbgrowth.data.sources.base import find, find_all, require
from smbgrowth.data.sources.generic import transaction_id_sql
from smbgrowth.data.sources.reports import add_section_column, report_header_row, rows_matching
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import MappingError

__all__ = ["XeroSource"]

# Invoice-level columns only: they repeat on every line row, so each invoice
# collapses to one row.
_COLUMNS: dict[str, tuple[str, ...]] = {
    "invoice_id": ("InvoiceNumber",),
    "customer_id": ("ContactName",),
    "customer_email": ("EmailAddress",),
    "customer_country": ("POCountry",),
    "customer_city": ("POCity",),
    "customer_region": ("PORegion",),
    "issued_at": ("InvoiceDate",),
    "due_at": ("DueDate",),
    "amount": ("Total",),
    "tax": ("TaxTotal",),
    "paid_amount": ("InvoiceAmountPaid",),
    "paid_at": ("FullyPaidOnDate", "PaidDate"),
    "currency": ("Currency",),
    "status": ("Status",),
}


# Xero's invoice statuses in the canonical vocabulary (draft, open, paid, void).
_STATUS = """CASE upper(status)
    WHEN 'DRAFT' THEN 'draft'
    WHEN 'SUBMITTED' THEN 'open'
    WHEN 'AUTHORISED' THEN 'open'
    WHEN 'AUTHORIZED' THEN 'open'
    WHEN 'PAID' THEN 'paid'
    WHEN 'VOIDED' THEN 'void'
    WHEN 'DELETED' THEN 'void'
    ELSE lower(status) END"""


_BILL_TYPES = ("ACCPAY",)
_CREDIT_TYPES = ("ACCRECCREDIT", "ACCPAYCREDIT")
_SPEND_SOURCES = ("spend money", "payable invoice", "bill", "payable overpayment")
# A date as the report writes it (2 Sep 2026, 02/09/2026) or as a workbook cell.
_DATE_CELL = r"^(\d{1,2} [A-Za-z]{3,9} \d{4}|\d{1,2}/\d{1,2}/\d{2,4}|\d{4}-\d{2}-\d{2}.*)$"


def _is_header(cells: set[str]) -> bool:
    return "invoicenumber" in cells or {"date", "source", "debit", "credit"} <= cells


def _types(kind: str, values: tuple[str, ...]) -> str:
    listed = ", ".join(f"'{v}'" for v in values)
    return f"upper(trim(coalesce({quote_ident(kind)}, ''))) IN ({listed})"


class XeroSource:
    name = "xero"
    help = (
        "Xero invoices or bills export (Business › Invoices or Bills to pay › Export) or the "
        "Account Transactions report (CSV or Excel)"
    )

    def skip_rows(self, path: Path, options: ImportOptions) -> int:
        return report_header_row(
            path,
            options,
            _is_header,
            "InvoiceNumber (an invoices or bills export) or Date, Source, Debit and Credit "
            "(the Account Transactions report)",
        )

    def plan(self, raw: RawFile, options: ImportOptions, ws: Workspace) -> list[FilePlan]:
        if find(raw, "InvoiceNumber") is None:
            return _account_transactions(raw, options, ws)
        kind = find(raw, "Type")
        plans: list[FilePlan] = []
        sales = f"NOT ({_types(kind, (*_BILL_TYPES, *_CREDIT_TYPES))})" if kind else None
        if kind is None or rows_matching(ws, raw, sales or "true"):
            plans.append(_invoices(raw, options, sales))
        if kind is not None and rows_matching(ws, raw, _types(kind, _BILL_TYPES)):
            plans.append(_bills(raw, options, _types(kind, _BILL_TYPES)))
        if not plans:
            raise MappingError(
                f"{raw.path.name}: the export holds only credit notes (Type ACCRECCREDIT or "
                "ACCPAYCREDIT), which are not imported; export invoices or bills instead"
            )
        return plans


def _invoices(raw: RawFile, options: ImportOptions, row_filter: str | None) -> FilePlan:
    columns = find_all(raw, _COLUMNS)
    require(
        raw,
        columns,
        ("invoice_id", "issued_at", "amount"),
        "a Xero sales invoices export",
    )
    derive = {"status": _STATUS} if "status" in columns else {}
    return FilePlan(
        target="invoices",
        columns=columns,
        derive=derive,
        row_filter=row_filter,
        date_format=options.date_format,
        decimal=options.decimal,
        label="invoices",
    )


def _bills(raw: RawFile, options: ImportOptions, row_filter: str) -> FilePlan:
    """Bills: one expense per bill, categorised by its first line's account."""
    wanted: dict[str, tuple[str, ...]] = {
        "vendor": ("ContactName",),
        "incurred_at": ("InvoiceDate",),
        "due_at": ("DueDate",),
        "amount": ("Total",),
    }
    columns = find_all(raw, wanted)
    require(raw, columns, ("incurred_at", "amount"), "a Xero bills export")
    extra: dict[str, tuple[str, str]] = {}
    derive: dict[str, str] = {}
    number = find(raw, "InvoiceNumber")
    account = find(raw, "AccountCode")
    if number:
        extra["_num"] = (number, "text")
    if account:
        extra["_account"] = (account, "text")
    # Bills often have no number: a bill is its supplier, date and total. Its lines
    # repeat those, so they share one id (no occurrence count, unlike single rows).
    parts = [p for p in ("_num", "vendor", "incurred_at", "amount") if p in extra or p in columns]
    values = ", ".join(f"CAST({p} AS VARCHAR)" for p in parts)
    derive["expense_id"] = f"'XB' || substr(md5(concat_ws('|', {values})), 1, 20)"
    if account:
        derive["category"] = (
            f"first_value(_account) OVER (PARTITION BY {', '.join(parts)} ORDER BY _row)"
        )
    return FilePlan(
        target="expenses",
        columns=columns,
        extra=extra,
        derive=derive,
        row_filter=row_filter,
        date_format=options.date_format,
        decimal=options.decimal,
        label="bills",
    )


def _account_transactions(raw: RawFile, options: ImportOptions, ws: Workspace) -> list[FilePlan]:
    columns = find_all(raw, {"incurred_at": ("Date",), "amount": ("Debit",)})
    source = find(raw, "Source")
    require(raw, columns, ("incurred_at", "amount"), "a Xero Account Transactions report")
    if source is None:
        raise MappingError(
            f"{raw.path.name}: no Source column; is this a Xero Account Transactions report? "
            f"Its columns are {', '.join(repr(h) for h in raw.headers[:30])}"
        )
    date = quote_ident(columns["incurred_at"])
    is_data = f"regexp_matches(coalesce(sg_text({date}), ''), '{_DATE_CELL}')"
    section = add_section_column(ws, raw, columns["incurred_at"], is_data)
    contact = find(raw, "Contact", "Contact Name")
    if contact:
        columns["vendor"] = contact
    extra = {"_account": (section, "text")}
    parts = ["incurred_at", "amount", "_account"]
    for name, header in (("_ref", find(raw, "Reference")), ("_desc", find(raw, "Description"))):
        if header:
            extra[name] = (header, "text")
            parts.append(name)
    debit = quote_ident(columns["amount"])
    spend = ", ".join(f"'{s}'" for s in _SPEND_SOURCES)
    row_filter = (
        f"{is_data} AND lower(trim(coalesce({quote_ident(source)}, ''))) IN ({spend}) "
        f"AND coalesce(sg_decimal({debit}, ''), 0) > 0"
    )
    notes = [
        "Account Transactions lists each transaction under every account it touches: "
        "spending is read from the debit side of Spend Money and bill rows, categorised by "
        "the account; sales are not read from it (import the invoices export for them)",
    ]
    if not contact:
        notes.append(
            "the report has no Contact column, so expenses have no supplier; add the Contact "
            "column to the report before exporting to keep it"
        )
    return [
        FilePlan(
            target="expenses",
            columns=columns,
            extra=extra,
            derive={"category": "_account", "expense_id": transaction_id_sql("XA", tuple(parts))},
            row_filter=row_filter,
            date_format=options.date_format,
            decimal=options.decimal,
            label="expenses",
            notes=tuple(notes),
        )
    ]
