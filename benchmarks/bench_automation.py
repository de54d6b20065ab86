"""Automation throughput: triggered runs of a two-step workflow on SQLite, duplicates counted.

10,000 events each start a run of a workflow with a condition and an e-mail
to a loopback SMTP sink (aiosmtpd). The worker runs in this process (DBOS on
the workspace's SQLite file), the SMTP sink in another; the clock runs from
the first event to the last run finished. Printed: runs/s, steps/s (condition + send per run), the
e-mails the sink received and the duplicates among them (by Message-ID).

    python benchmarks/bench_automation.py [--runs 10000] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from smbgrowth import init_workspace
from smbgrowth.automation.definitions import parse_workflow
from smbgrowth.automation.store import AutomationStore
from smbgrowth.automation.worker import Worker

FLOW = """
name: bench
kind: transactional
trigger: {event: order.created}
steps:
  - if: {field: order.total, above: 0}
    then:
      - send_email: {template: welcome_1, subject: "Order {{ order.order_id }}"}
"""


SINK = """
import json, sys, time
from collections import Counter
from aiosmtpd.controller import Controller

ids = Counter()

class Handler:
    async def handle_DATA(self, server, session, envelope):
        text = envelope.content.decode(errors="replace")
        mid = next((l.split(":", 1)[1].strip() for l in text.splitlines()
                    if l.lower().startswith("message-id:")), "")
        ids[mid] += 1
        return "250 OK"

c = Controller(Handler(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
print("ready", flush=True)
sys.stdin.readline()
c.stop()
print(json.dumps(ids), flush=True)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def once(runs: int) -> tuple[float, int, int]:
    port = _free_port()
    sink = subprocess.Popen(
        [sys.executable, "-c", SINK, str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sink.stdout is not None and sink.stdin is not None
    if sink.stdout.readline().strip() != "ready":
        raise SystemExit("the SMTP sink did not start")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            ws_path = Path(tmp) / "ws"
            init_workspace(ws_path).close()
            (ws_path / "automation.yaml").write_text(
                f"smtp: {{host: 127.0.0.1, port: {port}}}\npoll_seconds: 0.2\n", encoding="utf-8"
            )
            with AutomationStore(ws_path) as store:
                store.save_workflow(parse_workflow(FLOW))
                store.set_enabled("bench", True)
                for i in range(runs):
                    store.add_event(
                        f"o{i}",
                        "bench",
                        "order.created",
                        {"order_id": f"o{i}", "total": 10 + i % 50,
                         "customer": {"customer_id": f"c{i}", "email": f"c{i}@example.com"}},
                    )  # fmt: skip
            start = time.perf_counter()
            with Worker(ws_path, poll_seconds=0.2) as worker:
                worker.poll()
                while True:
                    with AutomationStore(ws_path) as store:
                        left = store.con.execute(
                            "SELECT count(*) FROM automation_runs WHERE status != 'done'"
                        ).fetchone()[0]
                        total = store.con.execute(
                            "SELECT count(*) FROM automation_runs"
                        ).fetchone()[0]
                    if total == runs and left == 0:
                        break
                    worker.poll()
                    time.sleep(0.2)
                elapsed = time.perf_counter() - start
    finally:
        out, _ = sink.communicate("stop\n", timeout=60)
    ids: Counter[str] = Counter(json.loads(out.strip().splitlines()[-1]))
    received = sum(ids.values())
    duplicates = sum(n - 1 for n in ids.values() if n > 1)
    return elapsed, received, duplicates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    times = []
    for r in range(args.repeat):
        elapsed, received, duplicates = once(args.runs)
        times.append(elapsed)
        print(
            f"run {r + 1}: {args.runs:,} runs in {elapsed:.1f} s: "
            f"{args.runs / elapsed:,.0f} runs/s, "
            f"{2 * args.runs / elapsed:,.0f} steps/s; e-mails received {received:,}, "
            f"duplicates {duplicates}",
            flush=True,
        )
        if received != args.runs or duplicates:
            print("MISMATCH: every run should send exactly one e-mail", file=sys.stderr)
    median = statistics.median(times)
    print(
        f"{args.runs:,} triggered runs (condition + send), median of {len(times)}: {median:.1f} s, "
        f"{2 * args.runs / median:,.0f} steps/s (goal >= 200), duplicates counted above"
    )


if __name__ == "__main__":
    main()
