"""From a file's parsed fields to canonical rows, as SQL over the staged table.

Each builder returns the outputs of one file: for each canonical table it fills,
a temporary relation with that table's columns (only those the file provides)
plus ``_row`` (the first spreadsheet row behind each output row), and whether
the file is the *primary* record of that table (its values overwrite) or only
*derived* from it (customers and products seen in orders: fill gaps, never
erase).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import duckdb

from smbgrowth.data.duck import run
from smbgrowth.data.fields import customer_column
from smbgrowth.data.schema import get_table

__all__ = ["Output", "build_outputs"]

Mode = Literal["primary", "derived"]


@dataclass(frozen=True)
class Output:
    """Rows for one canonical table produced by one file."""

    table: str
    relation: str
    columns: tuple[str, ...]
    mode: Mode
    #: For order lines: the file holds all lines of its orders, so lines beyond
    #: those it lists are stale and removed.
    replace_children_of: str | None = None
    #: True when the relation has one row per key by construction (grouped).
    unique: bool = False
    #: What building the rows did that the user should know (rows summed, spread).
    notes: tuple[str, ...] = ()


# Order statuses across platforms, normalised.
_STATUS = """CASE
  WHEN {cancelled} IS NOT NULL THEN 'cancelled'
  WHEN lower({status}) IN ('cancelled', 'canceled', 'wc-cancelled', 'voided', 'void', 'trash')
       THEN 'cancelled'
  WHEN lower({status}) IN ('failed', 'wc-failed', 'declined', 'expired') THEN 'failed'
  WHEN lower({status}) IN ('refunded', 'wc-refunded') THEN 'refunded'
  WHEN lower({status}) IN ('partially_refunded', 'partially refunded') THEN 'partially_refunded'
  WHEN lower({status}) IN ('pending', 'wc-pending', 'on-hold', 'wc-on-hold', 'authorized',
       'unpaid', 'awaiting payment', 'draft') THEN 'pending'
  WHEN coalesce({refunded}, 0) > 0 AND coalesce({refunded}, 0) >= coalesce({total}, 0)
       THEN 'refunded'
  WHEN coalesce({refunded}, 0) > 0 THEN 'partially_refunded'
  ELSE 'completed'
END"""

_CUSTOMER_DATE = {
    "order_lines": "ordered_at",
    "orders": "ordered_at",
    "invoices": "issued_at",
    "subscriptions": "started_at",
    "deals": "created_at",
    "tickets": "opened_at",
    "web_events": "occurred_at",
}


def _first(col: str) -> str:
    """First non-null value in file order."""
    return f"arg_min({col}, _row) FILTER (WHERE {col} IS NOT NULL)"


def _last(col: str) -> str:
    """Last non-null value in file order."""
    return f"arg_max({col}, _row) FILTER (WHERE {col} IS NOT NULL)"


def _create(con: duckdb.DuckDBPyConnection, name: str, sql: str) -> None:
    run(con, f"DROP TABLE IF EXISTS {name}")
    run(con, f"CREATE TEMP TABLE {name} AS {sql}")


def _customers(
    con: duckdb.DuckDBPyConnection, stg: str, present: set[str], target: str, suffix: str
) -> Output | None:
    if "customer_id" not in present:
        return None
    cols = {"customer_id": "customer_id"}
    for fld in sorted(present):
        column = customer_column(fld)
        # Consent is a dated statement (see _consent), never copied onto the customer.
        if column is not None and column != "accepts_marketing":
            cols[column] = _last(fld)
    date = _CUSTOMER_DATE.get(target)
    if date and date in present:
        cols["created_at"] = f"min({date})"
    if len(cols) == 1 and target == "customers":
        return None
    rel = f"_out_customers{suffix}"
    select = ", ".join(f"{expr} AS {name}" for name, expr in cols.items())
    _create(
        con,
        rel,
        f"SELECT {select}, min(_row) AS _row FROM {stg} "
        f"WHERE customer_id IS NOT NULL GROUP BY customer_id",
    )
    return Output("customers", rel, tuple(cols), "derived", unique=True)


_ORDER_LEVEL = (
    "order_number",
    "customer_id",
    "ordered_at",
    "fulfilled_at",
    "cancelled_at",
    "currency",
    "total_original",
    "subtotal",
    "discount",
    "shipping",
    "tax",
    "total",
    "refunded",
    "channel",
    "country",
    "status",
)


def _order_columns(present: set[str], agg: bool) -> dict[str, str]:
    """SQL for each orders column from staged fields (aggregated per order when ``agg``)."""
    pick = _first if agg else (lambda c: c)
    cols: dict[str, str] = {"order_id": "order_id"}
    for name in _ORDER_LEVEL:
        if name in present:
            cols[name] = pick(name)
    if agg:
        cols["subtotal"] = (
            f"coalesce({pick('subtotal')}, sum(_line_total))"
            if "subtotal" in present
            else "sum(_line_total)"
        )
    if "total" not in present:
        parts = [cols.get("subtotal", "NULL")]
        parts += [f"- coalesce({cols['discount']}, 0)"] if "discount" in cols else []
        parts += [f"+ coalesce({cols[c]}, 0)" for c in ("shipping", "tax") if c in cols]
        cols["total"] = " ".join(parts)
    cols["status"] = _STATUS.format(
        cancelled=cols.get("cancelled_at", "NULL"),
        status=cols.get("status", "NULL"),
        refunded=cols.get("refunded", "NULL"),
        total=cols["total"],
    )
    # A status of refunded says the whole order went back: where the export gives no
    # refund amount, the refund is the total, so every net figure leaves it out.
    refunded = cols.get("refunded", "NULL")
    cols["refunded"] = (
        f"CASE WHEN ({cols['status']}) = 'refunded' AND coalesce({refunded}, 0) = 0 "
        f"THEN {cols['total']} ELSE {refunded} END"
    )
    return cols


def _refund_note(con: duckdb.DuckDBPyConnection, rel: str, present: set[str]) -> tuple[str, ...]:
    """Say how many refunded orders had no refund amount in the file."""
    filled = "coalesce(_refund_given, 0) = 0" if "refunded" in present else "true"
    count = con.execute(
        f"SELECT count(*) FROM {rel} WHERE status = 'refunded' AND refunded <> 0 AND {filled}"
    ).fetchone()
    n = int(count[0]) if count else 0
    if not n:
        return ()
    return (
        f"{n} order(s) are marked refunded without a refund amount: each is counted as "
        "refunded in full, so net revenue leaves it out",
    )


def _orders_from_lines(
    con: duckdb.DuckDBPyConnection, stg: str, present: set[str], suffix: str
) -> list[Output]:
    computed = (
        "quantity * unit_price - coalesce(line_discount, 0)"
        if {"quantity", "unit_price", "line_discount"} <= present
        else "quantity * unit_price"
        if {"quantity", "unit_price"} <= present
        else None
    )
    if "line_total" in present:
        line_total = f"coalesce(line_total, {computed})" if computed else "line_total"
    else:
        line_total = computed or "NULL"
    # The staged file plus each line's amount; read twice, never copied.
    lines = f"(SELECT *, CAST({line_total} AS DECIMAL(18, 4)) AS _line_total FROM {stg})"
    cols = _order_columns(present, agg=True)
    orders = f"_out_orders{suffix}"
    select = ", ".join(f"{expr} AS {name}" for name, expr in cols.items())
    given = f", {_first('refunded')} AS _refund_given" if "refunded" in present else ""
    _create(
        con,
        orders,
        f"SELECT {select}{given}, min(_row) AS _row FROM {lines} GROUP BY order_id",
    )
    lcols: dict[str, str] = {
        "order_id": "order_id",
        "line_no": "coalesce(line_no, row_number() OVER (PARTITION BY order_id ORDER BY _row))"
        if "line_no" in present
        else "row_number() OVER (PARTITION BY order_id ORDER BY _row)",
    }
    for name in ("sku", "product_name", "product_category", "quantity", "unit_cost"):
        if name in present:
            lcols[name] = name
    if "unit_price" in present:
        lcols["unit_price"] = "unit_price"
    elif "quantity" in present:
        lcols["unit_price"] = "CAST(_line_total / nullif(quantity, 0) AS DECIMAL(18, 4))"
    if "line_discount" in present:
        lcols["discount"] = "line_discount"
    lcols["line_total"] = "_line_total"
    order_lines = f"_out_order_lines{suffix}"
    select = ", ".join(f"{expr} AS {name}" for name, expr in lcols.items())
    _create(con, order_lines, f"SELECT {select}, _row FROM {lines}")
    outputs = [
        Output(
            "orders",
            orders,
            tuple(cols),
            "primary",
            unique=True,
            notes=_refund_note(con, orders, present),
        ),
        Output(
            "order_lines",
            order_lines,
            tuple(lcols),
            "primary",
            replace_children_of="order_id",
            unique="line_no" not in present,
        ),
    ]
    if "sku" in present:
        pcols = {"sku": "sku"}
        for field, column in (
            ("product_name", "name"),
            ("product_category", "category"),
            ("unit_cost", "unit_cost"),
            ("unit_price", "price"),
        ):
            if field in present:
                pcols[column] = _last(field)
        products = f"_out_products{suffix}"
        select = ", ".join(f"{expr} AS {name}" for name, expr in pcols.items())
        _create(
            con,
            products,
            f"SELECT {select}, min(_row) AS _row FROM {stg} WHERE sku IS NOT NULL GROUP BY sku",
        )
        outputs.append(Output("products", products, tuple(pcols), "derived", unique=True))
    return outputs


def _plain(
    con: duckdb.DuckDBPyConnection, stg: str, present: set[str], target: str, suffix: str
) -> Output:
    table = get_table(target)
    if target == "orders":
        cols = _order_columns(present, agg=False)
    else:
        cols = {c: c for c in table.column_names if c in present}
    if target == "customers":
        cols.pop("accepts_marketing", None)
    rel = f"_out_{target}{suffix}"
    if target == "marketing_spend":
        # Rows covering several days are spread over them; rows that split a
        # campaign-day (ad sets, ads) are summed; any other repeat is refused.
        from smbgrowth.data.sources.periods import daily_spend

        rel, columns, unique, notes = daily_spend(con, stg, present, rel)
        return Output(target, rel, columns, "primary", unique=unique, notes=notes)
    select = ", ".join(f"{expr} AS {name}" for name, expr in cols.items())
    if target != "orders":
        _create(con, rel, f"SELECT {select}, _row FROM {stg}")
        return Output(target, rel, tuple(cols), "primary")
    given = ", refunded AS _refund_given" if "refunded" in present else ""
    _create(con, rel, f"SELECT {select}{given}, _row FROM {stg}")
    return Output(target, rel, tuple(cols), "primary", notes=_refund_note(con, rel, present))


def _consent(
    con: duckdb.DuckDBPyConnection,
    stg: str,
    present: set[str],
    target: str,
    suffix: str,
    stated_at: datetime | None,
) -> Output | None:
    """Each customer's consent statement in this file, dated.

    A checkout records consent as it stood at the order: the statement is dated by
    the customer's latest order (or invoice, subscription…) in the file that says
    something. A customer list states consent as of the export: ``stated_at``. An
    empty cell states nothing.
    """
    if target == "consent":
        return None
    field = "accepts_marketing"
    if field not in present or "customer_id" not in present:
        return None
    date = _CUSTOMER_DATE.get(target)
    known = f"{field} IS NOT NULL AND customer_id IS NOT NULL"
    rel = f"_out_consent{suffix}"
    if date and date in present:
        sql = (
            f"SELECT customer_id, max({date}) AS stated_at, arg_max({field}, {date}) AS {field}, "
            f"min(_row) AS _row FROM {stg} WHERE {known} AND {date} IS NOT NULL "
            f"GROUP BY customer_id"
        )
    elif stated_at is not None:
        moment = f"CAST('{stated_at.isoformat()}' AS TIMESTAMPTZ)"
        sql = (
            f"SELECT customer_id, {moment} AS stated_at, arg_max({field}, _row) AS {field}, "
            f"min(_row) AS _row FROM {stg} WHERE {known} GROUP BY customer_id"
        )
    else:
        return None
    _create(con, rel, sql)
    return Output("consent", rel, ("customer_id", "stated_at", field), "primary", unique=True)


def build_outputs(
    con: duckdb.DuckDBPyConnection,
    stg: str,
    present: set[str],
    target: str,
    suffix: str,
    *,
    stated_at: datetime | None = None,
) -> list[Output]:
    """Build the canonical rows of one staged file; customers first, then the rest.

    ``stated_at`` dates what the file states without a date of its own (a customer
    list's consent): when the export was made.
    """
    outputs: list[Output] = []
    customers = _customers(con, stg, present, target, suffix)
    if target == "order_lines":
        main = _orders_from_lines(con, stg, present, suffix)
    else:
        main = [_plain(con, stg, present, target, suffix)]
    if customers is not None and target != "customers":
        outputs.append(customers)
    # Products before lines and customers before orders, so that readers of the
    # import log see parents first.
    outputs.extend(sorted(main, key=lambda o: o.table != "products"))
    consent = _consent(con, stg, present, target, suffix, stated_at)
    if consent is not None:
        outputs.append(consent)
    return outputs
