"""The real worker in this process (DBOS launched and destroyed per test) against real servers.

DBOS is a process-wide singleton: every test here opens at most one worker at
a time through ``running_worker`` / ``Worker``, whose context manager destroys
DBOS again, and each test has its own workspace (its own DBOS database).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from typer.testing import CliRunner

from smbgrowth.automation.http import create_app
from smbgrowth.automation.store import GLOBAL, AutomationStore
from smbgrowth.automation.worker import Worker
from smbgrowth.cli.main import app
from tests.automation.conftest import (
    HOOK_SECRET,
    HttpSink,
    SmtpSink,
    customer_event,
    enable,
    run_status,
    running_worker,
    wait_for,
)

runner = CliRunner()

ONE_MAIL = """\
name: {name}
kind: {kind}
list: news
trigger:
  event: {event}
steps:
  - send_email: {{template: welcome_1, subject: "{subject}"}}
"""


def one_mail(
    name: str = "welcome",
    kind: str = "transactional",
    event: str = "customer.created",
    subject: str = "Welcome {{ customer.first_name }}",
) -> str:
    return ONE_MAIL.format(name=name, kind=kind, event=event, subject=subject)


def asgi(method: str, url: str, content: bytes = b"", headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    """One request to the endpoints app of the test's workspace, over ASGI."""

    async def go(app_: object) -> httpx.Response:
        transport = httpx.ASGITransport(app=app_)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await c.request(method, url, content=content, headers=headers)

    def call(workspace: Path) -> httpx.Response:
        return asyncio.run(go(create_app(workspace)))

    return call


def sign(body: bytes, secret: str = HOOK_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def all_done(workspace: Path, count: int) -> bool:
    with AutomationStore(workspace) as store:
        runs = store.runs(limit=100_000)
    return len(runs) == count and all(r.status == "done" for r in runs)


# -- 2. webhooks: duplicates are one run ----------------------------------------------------


def test_duplicate_webhook_deliveries_start_one_run(auto_ws: Path, smtp_sink: SmtpSink) -> None:
    enable(auto_ws, one_mail())
    body = json.dumps({
        "type": "customer.created",
        "id": "evt-1",
        "customer": {"customer_id": "c1", "email": "ada@example.com", "name": "Ada Lovelace"},
    }).encode()  # fmt: skip
    first = asgi("POST", "/hooks/shop", body, {"X-Signature": sign(body)})(auto_ws)
    second = asgi("POST", "/hooks/shop", body, {"X-Signature": sign(body)})(auto_ws)
    assert (first.status_code, first.json()) == (202, {"accepted": True, "duplicate": False})
    assert (second.status_code, second.json()) == (202, {"accepted": True, "duplicate": True})

    other = body.replace(b"evt-1", b"evt-2")
    for headers in ({"X-Signature": sign(other, "wrong")}, {}, {"X-Signature": sign(body)}):
        refused = asgi("POST", "/hooks/shop", other, headers)(auto_ws)
        assert refused.status_code == 401
    assert (
        asgi("POST", "/hooks/other", body, {"X-Signature": sign(body)})(auto_ws).status_code == 404
    )
    with AutomationStore(auto_ws) as store:
        events = store.con.execute("SELECT event_id FROM events").fetchall()
        assert [e["event_id"] for e in events] == ["shop:evt-1"]

    with running_worker(auto_ws):
        wait_for(lambda: all_done(auto_ws, 1))
        wait_for(lambda: smtp_sink.messages())
        # a third delivery after the run: still nothing new
        asgi("POST", "/hooks/shop", body, {"X-Signature": sign(body)})(auto_ws)
        time.sleep(1.0)
    with AutomationStore(auto_ws) as store:
        assert [r.run_id for r in store.runs()] == ["welcome:event:shop:evt-1"]
    assert [m.recipients for m in smtp_sink.messages()] == [["ada@example.com"]]


# -- 3. schedules across DST, through the worker ----------------------------------------------


def _tick_runs(workspace: Path) -> list[str]:
    with AutomationStore(workspace) as store:
        return sorted(r.run_id for r in store.runs(limit=100_000))


def _poll_every(worker: Worker, start: datetime, end: datetime, step: timedelta) -> None:
    at = start
    while at <= end:
        worker.poll(now=at)
        at += step


def test_worker_schedule_across_spring_change_and_downtime(auto_ws: Path) -> None:
    enable(
        auto_ws,
        "name: nightly\nkind: transactional\ntrigger:\n"
        '  schedule: {cron: "30 2 * * *", timezone: Europe/Berlin}\n'
        'steps:\n  - task: {title: "report {{ tick.local }}"}\n',
    )
    utc = UTC
    with Worker(auto_ws, poll_seconds=0.2) as worker:
        assert worker.poll(now=datetime(2026, 3, 27, 12, tzinfo=utc)) == 0  # starts from now
        _poll_every(
            worker,
            datetime(2026, 3, 27, 12, tzinfo=utc),
            datetime(2026, 3, 30, 12, tzinfo=utc),
            timedelta(minutes=20),
        )
        assert _tick_runs(auto_ws) == [
            "nightly:tick:2026-03-28T02:30",
            "nightly:tick:2026-03-29T02:30",  # the night 02:30 does not exist: once
            "nightly:tick:2026-03-30T02:30",
        ]
        # Downtime of three days: each missed tick once, then nothing more.
        assert worker.poll(now=datetime(2026, 4, 2, 12, tzinfo=utc)) == 3
        assert worker.poll(now=datetime(2026, 4, 2, 12, 30, tzinfo=utc)) == 0
        # A crash before the schedule state was saved: the ticks are due again, start nothing.
        worker.store.set_state("schedule:nightly", "2026-03-27T12:00:00+00:00")
        assert worker.poll(now=datetime(2026, 4, 2, 13, tzinfo=utc)) == 0
        wait_for(lambda: all_done(auto_ws, 6))
        titles = sorted(t["title"] for t in worker.store.tasks())
    assert _tick_runs(auto_ws) == [
        f"nightly:tick:2026-{day}T02:30" for day in ("03-28", "03-29", "03-30", "03-31",
                                                    "04-01", "04-02")
    ]  # fmt: skip
    assert titles == [r.replace("nightly:tick:", "report ") for r in _tick_runs(auto_ws)]


def test_worker_hourly_schedule_across_autumn_change(auto_ws: Path) -> None:
    enable(
        auto_ws,
        "name: hourly\nkind: transactional\ntrigger:\n"
        '  schedule: {cron: "0 * * * *", timezone: Europe/Berlin}\n'
        'steps:\n  - task: {title: "hour {{ tick.local }}"}\n',
    )
    with Worker(auto_ws, poll_seconds=0.2) as worker:
        _poll_every(
            worker,
            datetime(2026, 10, 24, 22, 30, tzinfo=UTC),
            datetime(2026, 10, 25, 3, 30, tzinfo=UTC),
            timedelta(minutes=10),
        )
        wait_for(lambda: all_done(auto_ws, 4))
    # 02:00 local happens twice (00:00 and 01:00 UTC): one run.
    assert _tick_runs(auto_ws) == [f"hourly:tick:2026-10-25T0{h}:00" for h in (1, 2, 3, 4)]


# -- 4. consent, unsubscribe, suppression -----------------------------------------------------


def test_unsubscribed_and_unconsented_contacts_get_nothing(
    auto_ws: Path, smtp_sink: SmtpSink
) -> None:
    enable(auto_ws, one_mail("promo", "marketing", subject="Our offer"), "promo.yaml")
    enable(auto_ws, one_mail("receipt", "transactional", "order.created", "Your receipt"),
           "receipt.yaml")  # fmt: skip
    with AutomationStore(auto_ws) as store:
        store.suppress("optout@example.com", "news", "unsubscribed (by hand)", actor="test")
        store.suppress("gone@example.com", GLOBAL, "unsubscribed (by hand)", actor="test")
    customer_event(auto_ws, "m1", "absent@example.com")
    customer_event(auto_ws, "m2", "no@example.com", accepts_marketing=False)
    customer_event(auto_ws, "m3", "yes@example.com", accepts_marketing=True)
    customer_event(auto_ws, "m4", "leaver@example.com", accepts_marketing=True)
    customer_event(auto_ws, "o1", "optout@example.com", kind="order.created")
    customer_event(auto_ws, "o2", "gone@example.com", kind="order.created")

    with running_worker(auto_ws):
        wait_for(lambda: all_done(auto_ws, 6))
        got = {r.recipients[0] for r in smtp_sink.messages()}
        assert got == {"yes@example.com", "leaver@example.com", "optout@example.com"}

        promo = smtp_sink.messages("yes@example.com")[0].message
        assert promo["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert (
            str(promo["List-Unsubscribe"]).strip().startswith("<http://testserver/unsubscribe?t=")
        )
        assert promo.get_content_type() == "multipart/alternative"
        text, html = promo.get_body(("plain",)), promo.get_body(("html",))
        assert text is not None and html is not None
        assert "Unsubscribe" in text.get_content()
        assert "<" in html.get_content()
        receipt = smtp_sink.messages("optout@example.com")[0].message
        assert receipt["List-Unsubscribe"] is None

        # One-click unsubscribe with the token of the received mail.
        header = smtp_sink.messages("leaver@example.com")[0].message["List-Unsubscribe"]
        url = urlsplit(str(header).strip().strip("<>"))
        token = parse_qs(url.query)["t"][0]
        page = asgi("GET", f"/unsubscribe?t={token}")(auto_ws)
        assert page.status_code == 200 and "leaver@example.com" in page.text
        with AutomationStore(auto_ws) as store:
            assert store.suppression("leaver@example.com") == {}  # a GET changes nothing
        assert asgi("POST", f"/unsubscribe?t={token}x")(auto_ws).status_code == 400
        done = asgi("POST", f"{url.path}?{url.query}")(auto_ws)
        assert done.status_code == 200
        with AutomationStore(auto_ws) as store:
            assert store.suppression("leaver@example.com") == {"news": "unsubscribed (one-click)"}

        customer_event(auto_ws, "m4-again", "leaver@example.com", accepts_marketing=True)
        customer_event(auto_ws, "m3-again", "yes@example.com", accepts_marketing=True)
        customer_event(auto_ws, "o3", "leaver@example.com", kind="order.created")
        wait_for(lambda: all_done(auto_ws, 9))
        time.sleep(0.5)
    assert smtp_sink.subjects("yes@example.com") == ["Our offer", "Our offer"]
    assert smtp_sink.subjects("leaver@example.com") == ["Our offer", "Your receipt"]
    assert smtp_sink.messages("absent@example.com") == []
    assert smtp_sink.messages("no@example.com") == []
    assert smtp_sink.messages("gone@example.com") == []
    with AutomationStore(auto_ws) as store:
        skipped = {
            e["detail"]["to"]: e["detail"]["reason"]
            for e in store.audit_entries()
            if e["action"] == "automation.email_skipped"
        }
    assert skipped == {
        "absent@example.com": "no marketing consent",
        "no@example.com": "no marketing consent",
        "gone@example.com": "suppressed (unsubscribed (by hand))",
        "leaver@example.com": "unsubscribed from news (unsubscribed (one-click))",
    }


# -- 5. SMTP answers: 451 retried, 550 suppressed ---------------------------------------------


def test_smtp_451_is_retried_and_550_suppresses(auto_ws: Path, smtp_sink: SmtpSink) -> None:
    enable(auto_ws, one_mail())
    smtp_sink.temp_fail["slow@example.com"] = 2
    smtp_sink.reject.add("bad@example.com")
    customer_event(auto_ws, "slow", "slow@example.com")
    customer_event(auto_ws, "bad", "bad@example.com")
    with running_worker(auto_ws):
        wait_for(lambda: all_done(auto_ws, 2), timeout=30)
        customer_event(auto_ws, "bad-again", "bad@example.com")
        wait_for(lambda: all_done(auto_ws, 3))
        time.sleep(0.5)
    assert len(smtp_sink.messages("slow@example.com")) == 1
    assert smtp_sink.attempts["slow@example.com"] == 3
    assert smtp_sink.messages("bad@example.com") == []
    assert smtp_sink.attempts["bad@example.com"] == 1  # the later run did not even try
    with AutomationStore(auto_ws) as store:
        reason = store.suppression("bad@example.com")[GLOBAL]
        assert reason.startswith("hard bounce") and "550" in reason
        sent = dict(store.con.execute("SELECT idem_key, status FROM sent_log").fetchall())
        actions = [e["action"] for e in store.audit_entries()]
    assert sent == {
        "welcome:event:slow:0:email": "sent",
        "welcome:event:bad:0:email": "bounced",
    }
    assert actions.count("automation.email_deferred") == 2
    assert actions.count("automation.email_failed") == 1


# -- 6. approvals ---------------------------------------------------------------------------

REVIEW = """\
name: review
kind: transactional
trigger:
  event: customer.created
steps:
  - approval: {prompt: "Welcome {{ customer.name }}?", timeout_hours: 1, default: reject}
  - send_email: {template: welcome_1, subject: Approved}
  - task: {title: "Call {{ customer.name }}"}
"""

AUTO = """\
name: auto
kind: transactional
trigger:
  event: order.created
steps:
  - approval: {prompt: "Thank {{ customer.name }}?", timeout_hours: 0.0005, default: approve}
  - send_email: {template: welcome_2, subject: Auto}
"""


def _cli(*args: str) -> dict:  # type: ignore[type-arg]
    result = runner.invoke(app, ["automate", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


def test_approvals_wait_continue_reject_and_time_out(auto_ws: Path, smtp_sink: SmtpSink) -> None:
    enable(auto_ws, REVIEW, "review.yaml")
    enable(auto_ws, AUTO, "auto.yaml")
    customer_event(auto_ws, "yes", "yes@example.com", name="Yves")
    customer_event(auto_ws, "no", "no@example.com", name="Nora")
    customer_event(auto_ws, "t", "late@example.com", kind="order.created")
    yes, no, auto = "review:event:yes", "review:event:no", "auto:event:t"
    ws = str(auto_ws)
    with running_worker(auto_ws):
        wait_for(lambda: run_status(auto_ws, yes) == run_status(auto_ws, no) == "waiting")
        listed = _cli("approvals", "-w", ws)["approvals"]
        waiting = {a["run_id"]: a for a in listed}
        assert {yes, no} <= set(waiting)
        assert waiting[yes]["prompt"] == "Welcome Yves?" and waiting[yes]["step"] == "0"
        assert smtp_sink.messages("yes@example.com") == []

        assert _cli("approve", yes, "-w", ws, "--as", "alice") == {
            "run_id": yes, "decision": "approved"}  # fmt: skip
        assert _cli("approve", no, "--reject", "-w", ws)["decision"] == "rejected"

        wait_for(lambda: all_done(auto_ws, 3), timeout=30)
        time.sleep(0.5)
        # deciding again once the run went on is refused in one line
        again = runner.invoke(app, ["automate", "approve", no, "-w", ws])
        assert again.exit_code != 0 and "not waiting" in again.output
        assert _cli("approvals", "-w", ws)["approvals"] == []
    assert smtp_sink.subjects("yes@example.com") == ["Approved"]
    assert smtp_sink.messages("no@example.com") == []
    assert smtp_sink.subjects("late@example.com") == ["Auto"]  # timeout -> default approve
    with AutomationStore(auto_ws) as store:
        decided = {
            r["run_id"]: (r["decision"], r["actor"])
            for r in store.con.execute("SELECT * FROM approvals").fetchall()
        }
        assert decided == {yes: ("approve", "alice"), no: ("reject", "cli"),
                           auto: ("approve", "timeout")}  # fmt: skip
        assert [t["title"] for t in store.tasks()] == ["Call Yves"]
        assert store.run(no).detail["outcome"] == "stopped"
        entries = list(reversed(store.audit_entries(run_id=yes)))

    # The audit log: trigger, approval, effects and steps, each with actor and time.
    actions = [(e["action"], e["actor"]) for e in entries]
    for expected in [
        ("automation.triggered", "automation"),
        ("automation.approval_requested", "automation"),
        ("automation.approval_sent", "alice"),
        ("automation.approval_decided", "alice"),
        ("automation.email_sent", "mailer"),
        ("automation.step", "automation"),
        ("automation.run_done", "automation"),
    ]:
        assert expected in actions, actions
    order = [a for a, _ in actions]
    assert order.index("automation.triggered") < order.index("automation.approval_decided")
    assert order.index("automation.approval_decided") < order.index("automation.email_sent")
    for e in entries:
        assert datetime.fromisoformat(e["at"]).tzinfo is not None
    history = _cli("history", "--audit", "review", "-w", ws)["audit"]
    assert {"automation.triggered", "automation.email_sent"} <= {e["action"] for e in history}


# -- 7. editing a workflow never strands runs ------------------------------------------------

EDITABLE = """\
name: onboarding
kind: transactional
trigger:
  event: customer.created
steps:
  - send_email: {{template: welcome_1, subject: "{v} first"}}
  - wait: {{seconds: {wait}}}
  - send_email: {{template: welcome_2, subject: "{v} second"}}
"""


def test_edits_never_strand_running_runs(auto_ws: Path, smtp_sink: SmtpSink) -> None:
    v1 = enable(auto_ws, EDITABLE.format(v="v1", wait=3))
    customer_event(auto_ws, "a", "a@example.com")
    customer_event(auto_ws, "b", "b@example.com")
    with running_worker(auto_ws):
        wait_for(lambda: len(smtp_sink.messages()) == 2)
        v2 = enable(auto_ws, EDITABLE.format(v="v2", wait=0.5))
        assert v2 != v1
        customer_event(auto_ws, "c", "c@example.com")
        wait_for(lambda: all_done(auto_ws, 3), timeout=30)
    assert smtp_sink.subjects("a@example.com") == ["v1 first", "v1 second"]
    assert smtp_sink.subjects("b@example.com") == ["v1 first", "v1 second"]
    assert smtp_sink.subjects("c@example.com") == ["v2 first", "v2 second"]
    with AutomationStore(auto_ws) as store:
        versions = {r.run_id: r.version for r in store.runs()}
        assert store.workflow("onboarding", v1).steps != store.workflow("onboarding").steps
    assert versions == {
        "onboarding:event:a": v1,
        "onboarding:event:b": v1,
        "onboarding:event:c": v2,
    }


# -- 8. webhook and chat steps ---------------------------------------------------------------


def test_webhook_step_idempotency_key_retry_and_one_effect(
    auto_ws: Path, http_sink: HttpSink
) -> None:
    enable(
        auto_ws,
        "name: crm\nkind: transactional\ntrigger:\n  event: customer.created\nsteps:\n"
        f"  - webhook: {{url: '{http_sink.url}/crm', body: {{kind: welcome}}, secret: whsec}}\n"
        f"  - notify_chat: {{url: '{http_sink.url}/chat', text: 'New: {{{{ customer.name }}}}'}}\n",
    )
    http_sink.fail_first = 2
    customer_event(auto_ws, "c1", "ada@example.com")
    with running_worker(auto_ws):
        wait_for(lambda: all_done(auto_ws, 1), timeout=30)
        time.sleep(0.5)
    run_id = "crm:event:c1"
    hooks = [r for r in http_sink.received() if r.path == "/crm"]
    chats = [r for r in http_sink.received() if r.path == "/chat"]
    assert len(hooks) == 3  # 500, 500, 200
    assert {r.headers["Idempotency-Key"] for r in hooks} == {f"{run_id}:0:webhook"}
    for r in hooks:
        assert r.headers["X-Signature"] == sign(r.body, "whsec")
        assert r.json()["run_id"] == run_id and r.json()["kind"] == "welcome"
    assert len(chats) == 1
    assert chats[0].headers["Idempotency-Key"] == f"{run_id}:1:chat"
    assert chats[0].json() == {"text": "New: Ada Lovelace"}
    with AutomationStore(auto_ws) as store:
        sent = store.con.execute("SELECT idem_key, kind, status FROM sent_log").fetchall()
        effects = [e["action"] for e in store.audit_entries(run_id=run_id)]
    assert sorted(tuple(r) for r in sent) == [
        (f"{run_id}:0:webhook", "webhook", "sent"),
        (f"{run_id}:1:chat", "chat", "sent"),
    ]
    assert effects.count("automation.webhook") == 1
    assert effects.count("automation.chat") == 1


# -- consent read from the workspace's customers table ------------------------------------


def test_marketing_consent_from_imported_customers(
    auto_ws: Path, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    from smbgrowth import open_workspace
    from smbgrowth.data.importer import import_files
    from smbgrowth.data.plan import ImportOptions

    source = tmp_path / "customers.csv"
    source.write_text(
        "customer_id,email,name,created_at,accepts_marketing\n"
        "c1,ada@example.com,Ada Lovelace,2026-11-01,true\n"
        "c2,bob@example.com,Bob Marley,2026-11-02,false\n",
        encoding="utf-8",
    )
    ws = open_workspace(auto_ws)
    try:
        import_files(ws, "csv", [source], ImportOptions(table="customers"))
    finally:
        ws.close()
    enable(auto_ws, one_mail("promo", "marketing", subject="Hi {{ customer.first_name }}"))
    with AutomationStore(auto_ws) as store:  # the events name the customer only
        store.add_event("e1", "shop", "customer.created", {"customer": {"customer_id": "c1"}})
        store.add_event("e2", "shop", "customer.created", {"customer": {"customer_id": "c2"}})
    with running_worker(auto_ws):
        wait_for(lambda: all_done(auto_ws, 2))
        time.sleep(0.3)
    assert smtp_sink.subjects("ada@example.com") == ["Hi Ada"]
    assert smtp_sink.messages("bob@example.com") == []
