"""Import throughput: smbgrowth's Shopify importer against the naive pandas path.

Generates a Shopify-style orders export with N line items (default 1,000,000),
then, each in a fresh process so peak memory is its own:

* smbgrowth: ``import_files(ws, "shopify", [file])`` into a new workspace;
* pandas: ``read_csv`` + the same validation (money, timestamps with offsets,
  required fields, order totals from first rows) + insert into DuckDB tables.

Prints rows/s, peak RSS and the ratio, for several repetitions (median).

    python benchmarks/bench_import.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work"

HEADER = [
    "Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at",
    "Accepts Marketing", "Currency", "Subtotal", "Shipping", "Taxes", "Total",
    "Discount Code", "Discount Amount", "Shipping Method", "Created at",
    "Lineitem quantity", "Lineitem name", "Lineitem price", "Lineitem compare at price",
    "Lineitem sku", "Lineitem requires shipping", "Lineitem taxable",
    "Lineitem fulfillment status", "Billing Name", "Billing City", "Billing Country",
    "Shipping Country", "Cancelled at", "Refunded Amount", "Vendor",
]  # fmt: skip


def generate(path: Path, rows: int, seed: int = 1) -> int:
    """Write a Shopify orders export with ``rows`` line items; return the number of orders."""
    rng = np.random.default_rng(seed)
    lines_per_order = rng.integers(1, 6, size=rows)  # 1–5 lines
    sizes = []
    total = 0
    for n in lines_per_order:
        if total + n > rows:
            n = rows - total
        sizes.append(int(n))
        total += n
        if total == rows:
            break
    orders = len(sizes)
    start = np.datetime64("2022-01-01T00:00:00")
    offsets = np.sort(rng.integers(0, 3 * 365 * 86400, size=orders))
    customers = rng.integers(1, max(2, orders // 3), size=orders)
    prices = np.round(rng.gamma(2.0, 12.0, size=rows) + 1, 2)
    qty = rng.integers(1, 4, size=rows)
    statuses = rng.choice(["paid", "paid", "paid", "refunded", "partially_refunded"], size=orders)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        li = 0
        for o, n in enumerate(sizes):
            created = (start + np.timedelta64(int(offsets[o]), "s")).astype(str).replace("T", " ")
            sub = float(np.sum(prices[li : li + n] * qty[li : li + n]))
            ship, tax = 4.95, round(sub * 0.08, 2)
            tot = round(sub + ship + tax, 2)
            refund = (
                tot if statuses[o] == "refunded" else
                round(tot / 2, 2) if statuses[o] == "partially_refunded" else 0
            )  # fmt: skip
            for k in range(n):
                first = k == 0
                sku = f"SKU-{(li % 400):04d}"
                w.writerow(
                    [
                        f"#{1001 + o}", f"customer{customers[o]}@example.com",
                        statuses[o] if first else "", f"{created} +0100" if first else "",
                        "fulfilled" if first else "", f"{created} +0100" if first else "",
                        "yes" if first else "", "USD" if first else "",
                        f"{sub:.2f}" if first else "", f"{ship:.2f}" if first else "",
                        f"{tax:.2f}" if first else "", f"{tot:.2f}" if first else "",
                        "", "0.00" if first else "", "Standard" if first else "",
                        f"{created} +0100", str(qty[li]), f"Product {sku}",
                        f"{prices[li]:.2f}", "", sku, "true", "true", "fulfilled",
                        f"Customer {customers[o]}" if first else "",
                        "Springfield" if first else "", "US" if first else "",
                        "US" if first else "", "", f"{refund:.2f}" if first else "", "Acme",
                    ]
                )  # fmt: skip
                li += 1
    return orders


SMBGROWTH = """
import json, resource, sys, time
import smbgrowth
from smbgrowth.data.importer import import_files
ws = smbgrowth.init_workspace(sys.argv[2], currency="USD", time_zone="UTC")
t = time.perf_counter()
r = import_files(ws, "shopify", [sys.argv[1]])
elapsed = time.perf_counter() - t
lines = ws.row_count("order_lines")
ws.close()
print(json.dumps({"seconds": elapsed, "lines": lines,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

PANDAS = """
import json, resource, sys, time
import duckdb, numpy as np, pandas as pd
t = time.perf_counter()
df = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)
row = np.arange(len(df)) + 2
def fail(mask, col):
    raise SystemExit(f"row {row[mask.values][0]}, column {col}: bad value")
def money(col):
    # The spellings smbgrowth accepts: currency signs, thousands separators, (negatives).
    raw = df[col].str.strip()
    neg = raw.str.contains("-", regex=False) | (raw.str.startswith("(") & raw.str.endswith(")"))
    core = raw.str.replace(r"[^0-9.,]", "", regex=True)
    both = core.str.contains(".", regex=False) & core.str.contains(",", regex=False)
    comma_dec = both & (core.str.rfind(",") > core.str.rfind("."))
    core = core.where(~comma_dec, core.str.replace(".", "", regex=False).str.replace(",", "."))
    core = core.where(comma_dec, core.str.replace(",", "", regex=False))
    v = pd.to_numeric(core, errors="coerce")
    bad = (raw != "") & v.isna()
    if bad.any():
        fail(bad, col)
    return v.where(~neg, -v).round(2)
def stamp(col):
    v = pd.to_datetime(df[col].where(df[col] != ""), format="%Y-%m-%d %H:%M:%S %z",
                       errors="coerce", utc=True)
    bad = (df[col] != "") & v.isna()
    if bad.any():
        fail(bad, col)
    return v
out = pd.DataFrame({"order_id": df["Name"], "email": df["Email"].str.strip().str.lower(),
    "ordered_at": stamp("Created at"), "fulfilled_at": stamp("Fulfilled at"),
    "status": df["Financial Status"], "subtotal": money("Subtotal"),
    "shipping": money("Shipping"), "tax": money("Taxes"), "total": money("Total"),
    "discount": money("Discount Amount"), "refunded": money("Refunded Amount"),
    "quantity": pd.to_numeric(df["Lineitem quantity"], errors="coerce"),
    "price": money("Lineitem price"), "sku": df["Lineitem sku"], "name": df["Lineitem name"],
    "billing_name": df["Billing Name"], "city": df["Billing City"],
    "country": df["Billing Country"], "row": row})
if out["quantity"].isna().any():
    fail(out["quantity"].isna(), "Lineitem quantity")
if out["order_id"].eq("").any():
    fail(out["order_id"].eq(""), "Name")
out = out.replace("", None)
out["line_no"] = out.groupby("order_id").cumcount() + 1
orders = out.groupby("order_id", sort=False).agg(
    email=("email", "first"), ordered_at=("ordered_at", "first"),
    fulfilled_at=("fulfilled_at", "first"), status=("status", "first"),
    subtotal=("subtotal", "first"), discount=("discount", "first"),
    shipping=("shipping", "first"), tax=("tax", "first"), total=("total", "first"),
    refunded=("refunded", "first")).reset_index()
if orders["ordered_at"].isna().any() or orders["total"].isna().any():
    raise SystemExit("order without date or total")
customers = out.dropna(subset=["email"]).groupby("email", sort=False).agg(
    name=("billing_name", "last"), city=("city", "last"), country=("country", "last"),
    created_at=("ordered_at", "min")).reset_index()
products = out.dropna(subset=["sku"]).groupby("sku", sort=False).agg(
    name=("name", "last"), price=("price", "last")).reset_index()
lines = out[["order_id", "line_no", "sku", "name", "quantity", "price"]].copy()
lines["line_total"] = (lines["quantity"] * lines["price"]).round(2)
con = duckdb.connect(sys.argv[2])
con.execute("CREATE TABLE customers (customer_id VARCHAR PRIMARY KEY, name VARCHAR, "
            "city VARCHAR, country VARCHAR, created_at TIMESTAMPTZ)")
con.execute("CREATE TABLE products (sku VARCHAR PRIMARY KEY, name VARCHAR, "
            "price DECIMAL(18,2))")
con.execute("CREATE TABLE orders (order_id VARCHAR PRIMARY KEY, email VARCHAR, "
            "ordered_at TIMESTAMPTZ, fulfilled_at TIMESTAMPTZ, status VARCHAR, "
            "subtotal DECIMAL(18,2), discount DECIMAL(18,2), shipping DECIMAL(18,2), "
            "tax DECIMAL(18,2), total DECIMAL(18,2), refunded DECIMAL(18,2))")
con.execute("CREATE TABLE order_lines (order_id VARCHAR, line_no BIGINT, sku VARCHAR, "
            "name VARCHAR, quantity DECIMAL(18,4), price DECIMAL(18,2), "
            "line_total DECIMAL(18,2), PRIMARY KEY (order_id, line_no))")
con.execute("BEGIN")
con.execute("INSERT INTO customers SELECT * FROM customers")
con.execute("INSERT INTO products SELECT * FROM products")
con.execute("INSERT INTO orders SELECT * FROM orders")
con.execute("INSERT INTO order_lines SELECT * FROM lines")
con.execute("COMMIT")
n = con.execute("SELECT count(*) FROM order_lines").fetchall()[0][0]
con.close()
elapsed = time.perf_counter() - t
print(json.dumps({"seconds": elapsed, "lines": n,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_child(code: str, *args: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"child failed: {done.stderr.strip().splitlines()[-1:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    export = WORK / f"shopify_{args.rows}.csv"
    if not export.exists():
        t = time.perf_counter()
        orders = generate(export, args.rows)
        print(
            f"generated {export.name}: {args.rows:,} line items, {orders:,} orders, "
            f"{export.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t:.0f} s"
        )
    runs: dict[str, list[dict[str, float]]] = {"smbgrowth": [], "pandas": []}
    for i in range(args.repeat):
        for name, code in (("smbgrowth", SMBGROWTH), ("pandas", PANDAS)):
            target = WORK / f"{name}-{i}"
            shutil.rmtree(target, ignore_errors=True)
            target.unlink(missing_ok=True) if target.is_file() else None
            dest = str(target) if name == "smbgrowth" else str(target) + ".duckdb"
            Path(dest).unlink(missing_ok=True) if name == "pandas" else None
            r = run_child(code, str(export), dest)
            assert int(r["lines"]) == args.rows, r
            runs[name].append(r)
            print(
                f"run {i + 1} {name:>9}: {r['seconds']:6.1f} s  "
                f"{args.rows / r['seconds']:>9,.0f} rows/s  peak {r['peak_mb']:6.0f} MB"
            )
    med = {n: statistics.median(x["seconds"] for x in v) for n, v in runs.items()}
    peak = {n: statistics.median(x["peak_mb"] for x in v) for n, v in runs.items()}
    print()
    for n in runs:
        print(
            f"{n:>9}: median {med[n]:.1f} s, {args.rows / med[n]:,.0f} rows/s, "
            f"median peak RSS {peak[n]:.0f} MB"
        )
    print(f"speed-up smbgrowth vs pandas: {med['pandas'] / med['smbgrowth']:.2f}x")
    shutil.rmtree(WORK / "smbgrowth-0", ignore_errors=True)


if __name__ == "__main__":
    main()
