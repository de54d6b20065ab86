"""Property tests: random order files round-trip and re-import as no-ops."""

from __future__ import annotations

import csv
import shutil
import tempfile
import zoneinfo
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from smbgrowth.data.workspace import Workspace
from tests.data.importing import ORDER_LINES_MAPPING, _usd, record, run_import, snapshot, utc

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
_NAME_CHARS = st.characters(
    codec="utf-8", categories=("L", "N", "P", "S", "Zs"), exclude_characters="\r\x85\u2028\u2029"
)
_names = st.text(_NAME_CHARS | st.sampled_from(",\"\n'"), min_size=1, max_size=30).filter(
    lambda s: s == s.strip() and s.strip() != ""
)
_ids = st.from_regex(r"[A-Z]{0,3}-?0?[0-9]{1,6}", fullmatch=True)
_local_times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2035, 12, 31)).map(
    lambda d: d.replace(microsecond=0)
)


@st.composite
def order_files(draw: st.DrawFn) -> tuple[dict[str, str], list[dict[str, Any]]]:
    customers = draw(st.dictionaries(_ids, _names, min_size=1, max_size=6))
    orders = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "order_id": _ids,
                    "customer_id": st.sampled_from(sorted(customers)),
                    "ordered_at": _local_times,
                    "total": st.integers(-(10**9), 10**9).map(lambda c: Decimal(c) / 100),
                }
            ),
            min_size=1,
            max_size=25,
            unique_by=lambda o: o["order_id"],
        )
    )
    return customers, orders


def _unambiguous(local: datetime) -> bool:
    """True unless the wall-clock time is skipped or repeated by a DST change."""
    aware = local.replace(tzinfo=NEW_YORK)
    return aware.utcoffset() == aware.replace(fold=1).utcoffset()


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=order_files())
def test_random_orders_round_trip_and_reimport_is_a_no_op(
    data: tuple[dict[str, str], list[dict[str, Any]]],
) -> None:
    customers, orders = data
    assume(all(_unambiguous(o["ordered_at"]) for o in orders))
    folder = Path(tempfile.mkdtemp(prefix="sg-prop-"))
    try:
        path = folder / "orders.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["Order ID", "Order Date", "Customer ID", "Customer Name", "Total"])
            for o in orders:
                writer.writerow(
                    [
                        o["order_id"],
                        o["ordered_at"].strftime("%Y-%m-%d %H:%M:%S"),
                        o["customer_id"],
                        customers[o["customer_id"]],
                        f"{o['total']:.2f}",
                    ]
                )
        ws = _usd(folder / "ws")
        try:
            run_import(ws, "csv", path, table="orders")
            got = ws.duck.execute(
                "SELECT order_id, customer_id, ordered_at, total FROM orders"
            ).fetchall()
            expected = [
                (
                    o["order_id"],
                    o["customer_id"],
                    o["ordered_at"].replace(tzinfo=NEW_YORK).astimezone(UTC),
                    o["total"],
                )
                for o in orders
            ]
            assert sorted(got) == sorted(expected)
            used = {o["customer_id"] for o in orders}
            assert dict(ws.duck.execute("SELECT customer_id, name FROM customers").fetchall()) == {
                c: customers[c] for c in used
            }
            first_seen = {c: min(e[2] for e in expected if e[1] == c) for c in used}
            assert (
                dict(ws.duck.execute("SELECT customer_id, created_at FROM customers").fetchall())
                == first_seen
            )
            before = snapshot(ws)
            again = run_import(ws, "csv", path, table="orders")
            for name, change in again.totals().items():
                assert (change.inserted, change.updated, change.removed) == (0, 0, 0), name
            after = snapshot(ws)
            before.pop("_imports")
            after.pop("_imports")
            assert after == before
        finally:
            ws.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# The columns the order_lines mapping reads, as the Superstore export names them.
SUPERSTORE_HEADERS = [
    "Order ID",
    "Order Date",
    "Customer ID",
    "Segment",
    "Product ID",
    "Product Name",
    "Category",
    "Quantity",
    "Sales",
]
_skus = st.sampled_from(["SKU-1", "SKU-2", "SKU-3", "0042", "Mug, large", 'Tee "XL"'])


@st.composite
def order_line_files(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Lines of random orders, interleaved in file order as exports sometimes are."""
    orders = draw(
        st.lists(
            st.tuples(_ids, _ids, st.dates(date(2000, 1, 1), date(2035, 12, 31))),
            min_size=1,
            max_size=8,
            unique_by=lambda o: o[0],
        )
    )
    lines = []
    for order_id, customer_id, day in orders:
        for _ in range(draw(st.integers(1, 4))):
            lines.append(
                {
                    "order_id": order_id,
                    "customer_id": customer_id,
                    "day": day,
                    "sku": draw(_skus),
                    "quantity": draw(st.integers(1, 50)),
                    "line_total": Decimal(draw(st.integers(-(10**7), 10**8))) / 100,
                }
            )
    return draw(st.permutations(lines))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=order_line_files())
def test_random_order_lines_add_up_to_their_orders_and_reimport_is_a_no_op(
    lines: list[dict[str, Any]],
) -> None:
    folder = Path(tempfile.mkdtemp(prefix="sg-prop-"))
    try:
        path = folder / "lines.csv"
        segment = {line["customer_id"]: f"Segment {line['customer_id']}" for line in lines}
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(SUPERSTORE_HEADERS)
            for line in lines:
                writer.writerow(
                    [
                        line["order_id"],
                        f"{line['day'].month}/{line['day'].day}/{line['day'].year}",
                        line["customer_id"],
                        segment[line["customer_id"]],
                        line["sku"],
                        f"Product {line['sku']}",
                        "Things",
                        line["quantity"],
                        f"{line['line_total']:.2f}",
                    ]
                )
        ws = _usd(folder / "ws")
        try:
            run_import(ws, "csv", path, mapping_file=str(ORDER_LINES_MAPPING))
            expected_lines = []
            seen: dict[str, int] = {}
            for line in lines:
                seen[line["order_id"]] = seen.get(line["order_id"], 0) + 1
                expected_lines.append(
                    (
                        line["order_id"],
                        seen[line["order_id"]],
                        line["sku"],
                        Decimal(line["quantity"]),
                        line["line_total"],
                    )
                )
            got_lines = ws.duck.execute(
                "SELECT order_id, line_no, sku, quantity, line_total FROM order_lines"
            ).fetchall()
            assert sorted(got_lines) == sorted(expected_lines)
            totals: dict[str, Decimal] = {}
            for line in lines:
                totals[line["order_id"]] = (
                    totals.get(line["order_id"], Decimal(0)) + line["line_total"]
                )
            got_totals = dict(ws.duck.execute("SELECT order_id, total FROM orders").fetchall())
            assert got_totals == totals
            midnight = {
                line["order_id"]: datetime(*line["day"].timetuple()[:3], tzinfo=NEW_YORK)
                for line in lines
            }
            got_days = dict(ws.duck.execute("SELECT order_id, ordered_at FROM orders").fetchall())
            assert got_days == midnight
            assert dict(
                ws.duck.execute("SELECT customer_id, segment FROM customers").fetchall()
            ) == (segment)
            before = snapshot(ws)
            again = run_import(ws, "csv", path, mapping_file=str(ORDER_LINES_MAPPING))
            assert all(c.inserted == c.updated == c.removed == 0 for c in again.totals().values())
            after = snapshot(ws)
            before.pop("_imports")
            after.pop("_imports")
            assert after == before
        finally:
            ws.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_naive_times_are_new_york_time_and_stored_in_utc(
    workspace: Workspace, tmp_path: Path
) -> None:
    # 23:30 in New York on March 1st (EST) is 04:30 UTC on March 2nd
    path = tmp_path / "late.csv"
    path.write_text("Order ID,Order Date,Total\nL-1,2024-03-01 23:30:00,5.00\n", encoding="utf-8")
    run_import(workspace, "csv", path, table="orders")
    assert record(workspace, "orders", order_id="L-1")["ordered_at"] == utc(2024, 3, 2, 4, 30)
