"""QuickBooks report exports (CSV or Excel): transaction lists, sales detail, ledgers, A/R.

Reports open with title rows (company, report name, period) and mix data with
section headings, ``Total for …`` rows, a ``TOTAL`` row and a footer (basis
and timestamp). The header is found by its date and amount columns, in a CSV
or a workbook; only rows with a date are data. Three layouts are recognised:

* transaction lists (Transaction List by Date, Invoice List, A/R Ageing
  Detail; QuickBooks Desktop's too): rows are routed by transaction type —
  invoices to ``invoices``; expenses, bills and cheques to ``expenses``; sales
  receipts to ``orders``; payments, deposits, transfers and journals skipped;
* sales detail (Sales by Customer Detail, Sales by Product/Service Detail):
  one row per invoice or sales-receipt line, the customer often only in the
  section heading above — invoices summed per number, sales receipts as
  orders with lines;
* ledgers (General Ledger, Transaction Detail by Account, Account
  QuickReport): each transaction once per account it touches — invoices are
  read from the Accounts Receivable account, bills from Accounts Payable.
"""

from __future__ import annotations

from pathlib import Path

from smbgrowth.data.parsing import quote_ident
from smbgrowth.data.plan import FilePlan, ImportOptions
from smbgrowth.data.readers import RawFile
from smbgrowth.data.sources.base import find
from smbgrowth.data.sources.generic import transaction_id_sql
from smbgrowth.data.sources.reports import (
    add_section_column,
    report_header_row,
    rows_matching,
    title_text,
)
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import MappingError

__all__ = ["QuickBooksSource"]

_INVOICE = ("invoice",)
_EXPENSE = ("expense", "bill", "check", "cheque", "credit card expense", "purchase", "cash expense")
_SALE = ("sales receipt",)
_RETURN = ("credit memo", "refund", "refund receipt", "credit note")

_DATES = {"date", "transactiondate", "txndate"}
_AMOUNTS = {"amount", "openbalance", "debit", "credit", "total", "salesprice"}
_LEDGER_TITLES = ("general ledger", "transaction detail by account", "account quickreport")


def _in(column: str, values: tuple[str, ...]) -> str:
    listed = ", ".join(f"'{v}'" for v in values)
    return f"lower(trim({column})) IN ({listed})"


def _is_header(cells: set[str]) -> bool:
    return bool(cells & _DATES) and bool(cells & _AMOUNTS)


class _Columns:
    """The report's columns, by the spellings QuickBooks Online and Desktop use."""

    def __init__(self, raw: RawFile) -> None:
        self.date = find(raw, "Date", "Transaction date", "Txn Date")
        self.amount = find(raw, "Amount", "Total", "Open Balance")
        self.debit = find(raw, "Debit")
        self.credit = find(raw, "Credit")
        self.type = find(raw, "Transaction Type", "Type", "Txn Type")
        self.num = find(raw, "Num", "No.", "Number", "Transaction number", "Ref No")
        self.name = find(
            raw,
            "Name",
            "Customer full name",
            "Customer",
            "Customer name",
            "Vendor full name",
            "Vendor",
            "Payee",
        )
        self.due = find(raw, "Due Date")
        self.open_balance = find(raw, "Open Balance")
        self.split = find(raw, "Split", "Split account", "Split account full name")
        self.account = find(raw, "Account", "Account full name", "Account name")
        self.distribution = find(raw, "Distribution account", "Distribution account full name")
        self.memo = find(raw, "Memo/Description", "Memo", "Description")
        self.product = find(raw, "Product/Service", "Product/Service full name", "Item")
        self.quantity = find(raw, "Quantity", "Qty")
        self.price = find(raw, "Sales price", "Rate")


class QuickBooksSource:
    name = "quickbooks"
    help = (
        "QuickBooks report export, CSV or Excel (Transaction List by Date, Sales by Customer "
        "Detail, Invoice List, A/R Ageing Detail, General Ledger)"
    )

    def skip_rows(self, path: Path, options: ImportOptions) -> int:
        return report_header_row(
            path,
            options,
            _is_header,
            "a date column (Date, Transaction date) and an amount column (Amount, Open balance, "
            "Debit); is this a QuickBooks report exported to CSV or Excel?",
        )

    def plan(self, raw: RawFile, options: ImportOptions, ws: Workspace) -> list[FilePlan]:
        c = _Columns(raw)
        if c.date is None or (c.amount is None and c.debit is None):
            raise MappingError(
                f"{raw.path.name}: a QuickBooks report needs a date column (Date, Transaction "
                "date) and an amount column (Amount, Open balance, Debit); its columns are "
                f"{', '.join(repr(h) for h in raw.headers[:30])}"
            )
        title = title_text(raw.path, raw.header_row - 1, options.sheet)
        d = quote_ident(c.date)
        # Data rows carry a date; section headings, "Total for …" and footers do not.
        is_data = (
            f"sg_text({d}) IS NOT NULL AND NOT starts_with(lower(sg_text({d})), 'total') "
            f"AND regexp_matches(sg_text({d}), '\\d')"
        )
        if c.product is not None and c.quantity is not None:
            return _sales_detail(raw, c, is_data, options, ws)
        if c.distribution is not None or any(t in title for t in _LEDGER_TITLES):
            return _ledger(raw, c, is_data, options, ws)
        return _transaction_list(raw, c, is_data, options, title)


def _amount(c: _Columns, extra: dict[str, tuple[str, str]]) -> str:
    """SQL for a row's signed amount; Desktop reports split it into Debit and Credit."""
    if c.amount is not None:
        extra["_amount"] = (c.amount, "money")
        return "_amount"
    assert c.debit is not None
    extra["_debit"] = (c.debit, "money")
    if c.credit is None:
        return "_debit"
    extra["_credit"] = (c.credit, "money")
    return "(coalesce(_debit, 0) - coalesce(_credit, 0))"


def _invoice_plan(
    c: _Columns,
    row_filter: str,
    options: ImportOptions,
    *,
    section: str | None = None,
    summed: bool = False,
    notes: tuple[str, ...] = (),
) -> FilePlan:
    columns = {"issued_at": c.date or ""}
    if c.num:
        columns["invoice_id"] = c.num
    if c.name:
        columns["customer_id"] = c.name
    if c.due:
        columns["due_at"] = c.due
    extra: dict[str, tuple[str, str]] = {}
    amount = _amount(c, extra)
    derive: dict[str, str] = {"amount": amount}
    if section is not None and "customer_id" not in columns:
        # The customer is the heading of the row's section.
        extra["_section"] = (section, "text")
        derive["customer_id"] = "_section"
    if summed:
        # One row per line: the invoice's amount is the sum of its lines.
        derive["amount"] = f"sum({amount}) OVER (PARTITION BY invoice_id)"
    if c.open_balance and c.open_balance != c.amount:
        extra["_open"] = (c.open_balance, "money")
        derive["paid_amount"] = f"{amount} - coalesce(_open, 0)"
    if "invoice_id" not in columns:
        parts = ("issued_at", amount, *(("customer_id",) if "customer_id" in columns else ()))
        derive["invoice_id"] = transaction_id_sql("QI", parts)
    return FilePlan(
        target="invoices",
        columns=columns,
        extra=extra,
        derive=derive,
        row_filter=row_filter,
        date_format=options.date_format,
        decimal=options.decimal,
        label="invoices",
        notes=notes,
    )


def _expense_plan(
    c: _Columns, row_filter: str, options: ImportOptions, *, category: str | None
) -> FilePlan:
    columns = {"incurred_at": c.date or ""}
    if c.name:
        columns["vendor"] = c.name
    if c.due:
        columns["due_at"] = c.due
    extra: dict[str, tuple[str, str]] = {}
    amount = _amount(c, extra)
    parts = ["incurred_at", amount]
    derive = {"amount": f"abs({amount})"}
    if category:
        extra["_account"] = (category, "text")
        derive["category"] = "_account"
        parts.append("_account")
    if c.num:
        extra["_num"] = (c.num, "text")
        parts.append("_num")
    if c.memo:
        extra["_memo"] = (c.memo, "text")
        parts.append("_memo")
    if c.name:
        parts.append("vendor")
    derive["expense_id"] = transaction_id_sql("QE", tuple(parts))
    return FilePlan(
        target="expenses",
        columns=columns,
        extra=extra,
        derive=derive,
        row_filter=row_filter,
        date_format=options.date_format,
        decimal=options.decimal,
        label="expenses",
    )


def _transaction_list(
    raw: RawFile, c: _Columns, is_data: str, options: ImportOptions, title: str
) -> list[FilePlan]:
    plans: list[FilePlan] = []
    type_sql = quote_ident(c.type) if c.type else None
    notes: tuple[str, ...] = ()
    if "aging" in title or "ageing" in title:
        notes = (
            "an A/R ageing report lists only invoices still open on its date; paid invoices "
            "are missing, so revenue and payment times from it are incomplete",
        )
    inv_filter = f"{is_data} AND {_in(type_sql, _INVOICE)}" if type_sql else is_data
    if type_sql or c.open_balance:
        plans.append(_invoice_plan(c, inv_filter, options, notes=notes))
    if type_sql:
        plans.append(
            _expense_plan(
                c,
                f"{is_data} AND {_in(type_sql, _EXPENSE)}",
                options,
                category=c.split or c.account,
            )
        )
        sale_cols = {"ordered_at": c.date or ""}
        if c.name:
            sale_cols["customer_id"] = c.name
        extra: dict[str, tuple[str, str]] = {}
        amount = _amount(c, extra)
        derive = {"total": amount}
        if c.num:
            # Keyed by its number, as in the sales detail reports, so that a receipt
            # imported from both reports is one order.
            sale_cols["order_id"] = c.num
            sale_cols["order_number"] = c.num
        else:
            parts = ("ordered_at", amount, *(("customer_id",) if c.name else ()))
            derive["order_id"] = transaction_id_sql("QS", parts)
        plans.append(
            FilePlan(
                target="orders",
                columns=sale_cols,
                extra=extra,
                derive=derive,
                constants={"channel": "quickbooks"},
                row_filter=f"{is_data} AND {_in(type_sql, _SALE)}",
                date_format=options.date_format,
                decimal=options.decimal,
                label="sales receipts",
            )
        )
    if not plans:
        raise MappingError(
            f"{raw.path.name}: the report has no Transaction type or Open balance column, "
            "so its rows cannot be told apart; export a Transaction List by Date or an "
            f"Invoice List. Its columns are {', '.join(repr(h) for h in raw.headers[:30])}"
        )
    return plans


def _section_of_customer(raw: RawFile, c: _Columns, is_data: str, ws: Workspace) -> str | None:
    """None when rows name their customer; else the added column of section headings."""
    if c.name:
        return None
    return add_section_column(ws, raw, raw.headers[0], is_data)


def _sales_detail(
    raw: RawFile, c: _Columns, is_data: str, options: ImportOptions, ws: Workspace
) -> list[FilePlan]:
    if c.type is None or c.num is None:
        raise MappingError(
            f"{raw.path.name}: a QuickBooks sales detail report needs its Transaction type and "
            "Num columns (customise the report to show them); its columns are "
            f"{', '.join(repr(h) for h in raw.headers[:30])}"
        )
    type_sql = quote_ident(c.type)
    section = _section_of_customer(raw, c, is_data, ws)
    returns = rows_matching(ws, raw, f"{is_data} AND {_in(type_sql, _RETURN)}")
    notes = [
        "a sales detail report has no due dates, tax or payments: invoices are stored "
        "with their amount before tax and without due or paid dates, so overdue and "
        "days-to-pay figures need an Invoice List or A/R Ageing Detail as well",
    ]
    if returns:
        notes.append(
            f"{returns} credit memo or refund row(s) are not imported; revenue from this "
            "report is before returns"
        )
    invoice = _invoice_plan(
        c,
        f"{is_data} AND {_in(type_sql, _INVOICE)}",
        options,
        section=section,
        summed=True,
        notes=tuple(notes),
    )

    columns = {
        "order_id": c.num,
        "order_number": c.num,
        "ordered_at": c.date or "",
        "quantity": c.quantity or "",
        "line_total": c.amount or "",
    }
    extra: dict[str, tuple[str, str]] = {}
    derive: dict[str, str] = {}
    if c.name:
        columns["customer_id"] = c.name
    elif section is not None:
        extra["_section"] = (section, "text")
        derive["customer_id"] = "_section"
    if c.product:
        # The report has no SKU: the product/service name is QuickBooks's identifier.
        columns["sku"] = c.product
        columns["product_name"] = c.product
    if c.price:
        columns["unit_price"] = c.price
    receipts = FilePlan(
        target="order_lines",
        columns={k: v for k, v in columns.items() if v},
        extra=extra,
        derive=derive,
        constants={"channel": "quickbooks"},
        row_filter=f"{is_data} AND {_in(type_sql, _SALE)}",
        date_format=options.date_format,
        decimal=options.decimal,
        label="sales receipts",
    )
    return [invoice, receipts]


def _ledger(
    raw: RawFile, c: _Columns, is_data: str, options: ImportOptions, ws: Workspace
) -> list[FilePlan]:
    if c.type is None:
        raise MappingError(
            f"{raw.path.name}: a QuickBooks ledger report needs its Transaction type column; "
            f"its columns are {', '.join(repr(h) for h in raw.headers[:30])}"
        )
    type_sql = quote_ident(c.type)
    if c.distribution is not None:
        account = quote_ident(c.distribution)
    else:
        account = quote_ident(add_section_column(ws, raw, raw.headers[0], is_data))
    receivable = f"contains(lower(coalesce({account}, '')), 'receivable')"
    payable = f"contains(lower(coalesce({account}, '')), 'payable')"
    notes = (
        "a ledger lists each transaction once per account it touches: invoices are read "
        "from the Accounts Receivable account and bills from Accounts Payable; cheques, "
        "expenses and sales receipts are not imported from a ledger (import the Transaction "
        "List by Date for them)",
    )
    invoice = _invoice_plan(
        c, f"{is_data} AND {_in(type_sql, _INVOICE)} AND {receivable}", options, notes=notes
    )
    bills = _expense_plan(
        c,
        f"{is_data} AND {_in(type_sql, ('bill',))} AND {payable}",
        options,
        category=c.split,
    )
    return [invoice, bills]
