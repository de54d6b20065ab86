"""Dashboard latency under load: 20 concurrent clients on loopback for 30 s, p50/p95 per page.

The workspace is the sample business grown to about 1,000,000 orders (kept in
``benchmarks/_work/web-1m`` between runs). ``smbgrowth serve`` runs in its own
process; this process logs in 20 clients (one session each) and has each of
them fetch the main pages in turn for the duration. Before the timed part,
every page is fetched once (the first, uncached computation, reported as the
cold time); the timed part measures what the team sees afterwards. Printed:
requests, errors, requests/s, p50/p95/p99 overall and per page, cold times.
The reference is the same server's ``/health`` endpoint under the same load:
the floor set by the web stack itself (FastAPI, uvicorn, the network on
loopback), against which the pages' cost can be read.

    python benchmarks/bench_web.py [--orders 1000000] [--clients 20] [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from smbgrowth import init_workspace, open_workspace
from smbgrowth.data.duck import scalar
from smbgrowth.data.sample import generate_sample_business
from smbgrowth.web.users import UserStore

WORK = Path(__file__).resolve().parent / "_work"
PASSWORD = "bench-password-1"
PAGES = (
    "/",
    "/kpis",
    "/kpis?metric=revenue_net&grain=week",
    "/cohorts",
    "/customers",
    "/experiments",
    "/forecast",
    "/plan",
    "/automation",
    "/data",
    "/api/scorecard",
)
#: Orders per sample customer over 3 years (measured on the sample business).
ORDERS_PER_CUSTOMER = 3.2


def workspace(orders: int) -> Path:
    path = WORK / f"web-{orders // 1000}k"
    if not (path / "business.duckdb").exists():
        customers = int(orders / ORDERS_PER_CUSTOMER)
        print(f"generating the sample business with {customers:,} customers ...", flush=True)
        ws = init_workspace(path)
        try:
            generate_sample_business(ws, customers=customers, years=3.0, seed=1)
        finally:
            ws.close()
    users = UserStore(path)
    try:
        users.add("bench", PASSWORD, "owner", replace=True)
    finally:
        users.close()
    ws = open_workspace(path)
    try:
        count = int(scalar(ws.duck, "SELECT count(*) FROM orders"))
    finally:
        ws.close()
    print(f"workspace {path}: {count:,} orders", flush=True)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def login(client: httpx.AsyncClient) -> None:
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    r = await client.post(
        "/login",
        data={"username": "bench", "password": PASSWORD, "csrf_token": token.group(1)},
    )
    if r.status_code != 303:
        raise SystemExit(f"login failed: {r.status_code} {r.text[:200]}")


async def fetch(client: httpx.AsyncClient, page: str) -> tuple[float, bool]:
    start = time.perf_counter()
    try:
        r = await client.get(page)
        ok = r.status_code == 200
    except httpx.HTTPError:
        ok = False
    return time.perf_counter() - start, ok


async def load(base: str, pages: tuple[str, ...], clients: int, seconds: float) -> dict[str, list]:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    sessions = [httpx.AsyncClient(base_url=base, timeout=60, limits=limits) for _ in range(clients)]
    for c in sessions:
        await login(c)
    times: dict[str, list[float]] = {p: [] for p in pages}
    errors: dict[str, int] = {p: 0 for p in pages}
    stop = time.perf_counter() + seconds

    async def worker(i: int, client: httpx.AsyncClient) -> None:
        k = i
        while time.perf_counter() < stop:
            page = pages[k % len(pages)]
            k += 1
            elapsed, ok = await fetch(client, page)
            times[page].append(elapsed)
            if not ok:
                errors[page] += 1

    await asyncio.gather(*(worker(i, c) for i, c in enumerate(sessions)))
    for c in sessions:
        await c.aclose()
    return {"times": [times], "errors": [errors]}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def report(title: str, result: dict[str, list], seconds: float) -> tuple[float, float, int]:
    times: dict[str, list[float]] = result["times"][0]
    errors: dict[str, int] = result["errors"][0]
    every = [t for ts in times.values() for t in ts]
    total_errors = sum(errors.values())
    print(f"\n{title}: {len(every):,} requests, {total_errors} errors, "
          f"{len(every) / seconds:,.0f} req/s")  # fmt: skip
    print(f"  overall p50 {1000 * pct(every, 50):.0f} ms, p95 {1000 * pct(every, 95):.0f} ms, "
          f"p99 {1000 * pct(every, 99):.0f} ms")  # fmt: skip
    for page, ts in times.items():
        if ts:
            print(f"  {page:40s} n={len(ts):5d} p50 {1000 * statistics.median(ts):6.0f} ms "
                  f"p95 {1000 * pct(ts, 95):6.0f} ms errors {errors[page]}")  # fmt: skip
    return pct(every, 50), pct(every, 95), total_errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    path = workspace(args.orders)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "smbgrowth"),
            "serve",
            "-w",
            str(path),
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 120
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline or server.poll() is not None:
                raise SystemExit("the dashboard did not start")
            time.sleep(0.3)

        async def cold() -> dict[str, float]:
            async with httpx.AsyncClient(base_url=base, timeout=600) as client:
                await login(client)
                out = {}
                for page in PAGES:
                    elapsed, ok = await fetch(client, page)
                    out[page] = elapsed if ok else float("nan")
                # The plan page starts a background job: wait for it so that it is cached.
                for _ in range(240):
                    r = await client.get("/api/plan")
                    if r.status_code == 200:
                        break
                    await asyncio.sleep(0.5)
                return out

        cold_times = asyncio.run(cold())
        print("\ncold (first, uncached) page times:")
        for page, t in cold_times.items():
            print(f"  {page:40s} {t:7.2f} s")
        floor = asyncio.run(load(base, ("/health",), args.clients, min(args.seconds, 10.0)))
        report("reference: /health (the web stack alone)", floor, min(args.seconds, 10.0))
        pages = asyncio.run(load(base, PAGES, args.clients, args.seconds))
        p50, p95, errors = report(
            f"pages: {args.clients} clients for {args.seconds:.0f} s", pages, args.seconds
        )
        print(
            f"\nsummary: p50 {1000 * p50:.0f} ms, p95 {1000 * p95:.0f} ms, {errors} errors "
            f"(goal: p95 <= 300 ms, 0 errors)"
        )
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
