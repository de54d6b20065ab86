"""The shipped playbooks: they validate, and their templates exist, render and escape."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import smbgrowth
import smbgrowth.automation.playbooks
from smbgrowth.automation.config import AutomationConfig
from smbgrowth.automation.definitions import EmailStep, IfStep, Step, Workflow, load_workflow
from smbgrowth.automation.messages import render
from smbgrowth.automation.playbooks import list_playbooks, playbook_path

PLAYBOOKS = (
    "invoice_reminders",
    "lead_nurture",
    "reorder_alert",
    "review_request",
    "vip_thanks",
    "welcome",
    "winback",
)
FOLDER = Path(smbgrowth.automation.playbooks.__file__).parent
TEMPLATES = FOLDER / "templates"
EVIL = "<script>alert(1)</script>"


def _emails(steps: list[Step]) -> Iterator[EmailStep]:
    for step in steps:
        if isinstance(step, EmailStep):
            yield step
        elif isinstance(step, IfStep):
            yield from _emails(step.then)
            yield from _emails(step.otherwise)


def _load(name: str) -> Workflow:
    path = playbook_path(name)
    assert path is not None, f"playbook {name} is not shipped"
    return load_workflow(path)


def _context(name: str = "Ada Lovelace", first_name: str = "Ada") -> dict[str, Any]:
    """A context with every object some trigger provides (see triggers.py)."""
    return {
        "customer": {
            "customer_id": "c-1",
            "email": "ada@example.com",
            "name": name,
            "first_name": first_name,
            "created_at": "2024-03-01T10:00:00",
            "country": "GB",
            "segment": "consumer",
            "acquisition_channel": "organic",
            "accepts_marketing": True,
            "time_zone": "Europe/London",
            "tags": ["newsletter"],
            "p_alive": 0.2,
            "clv": 180.5,
        },
        "event": {"id": "e-1", "orders_count": 0},
        "order": {
            "order_id": "o-1001",
            "order_number": "#1001",
            "customer_id": "c-1",
            "total": 84.9,
            "status": "completed",
            "ordered_at": "2024-04-02T09:30:00",
        },
        "invoice": {
            "invoice_id": "INV-42",
            "customer_id": "c-1",
            "issued_at": "2024-04-01T00:00:00",
            "due_at": "2024-05-01T00:00:00",
            "amount": 1250.0,
            "paid_at": None,
            "paid_amount": 250.0,
            "days_overdue": 0,
        },
        "product": {
            "sku": "BEAN-1KG",
            "name": "Espresso beans 1 kg",
            "stock": 12.0,
            "reorder_point": 20.0,
            "order_quantity": 48,
            "order_by": "2024-05-03",
            "sentence": "Order 48 by 3 May to avoid running out.",
        },
        "segment": "champions",
        "tick": {"local": "2024-05-01T09:00", "at": "2024-05-01T08:00:00+00:00"},
        "metric": {"id": "revenue", "period": "2024-04", "value": 1000.0},
    }


CASES = [(name, email) for name in PLAYBOOKS for email in _emails(list(_load(name).steps))]
IDS = [f"{name}-{email.send_email.template}" for name, email in CASES]


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    workspace = smbgrowth.init_workspace(tmp_path / "ws")
    workspace.close()
    return tmp_path / "ws"


def _render(ws: Path, name: str, email: EmailStep, context: dict[str, Any]) -> Any:
    wf = _load(name)
    return render(
        ws,
        AutomationConfig(),
        template=email.send_email.template,
        subject=email.send_email.subject,
        to=email.send_email.to,
        context=context,
        mailing_list=wf.mailing_list,
        marketing=wf.kind == "marketing",
    )


@pytest.mark.parametrize("name", PLAYBOOKS)
def test_playbook_validates(name: str) -> None:
    wf = load_workflow(FOLDER / f"{name}.yaml")
    assert wf.steps
    assert wf.description


def test_every_shipped_playbook_is_known() -> None:
    assert sorted(p.stem for p in FOLDER.glob("*.yaml")) == sorted(PLAYBOOKS)
    listed = list_playbooks()
    assert sorted(p["name"] for p in listed) == sorted(PLAYBOOKS)
    assert all(p["description"] for p in listed)


@pytest.mark.parametrize("name", PLAYBOOKS)
def test_referenced_templates_exist(name: str) -> None:
    emails = list(_emails(list(_load(name).steps)))
    assert emails, f"{name} sends no e-mail"
    for email in emails:
        template = email.send_email.template
        assert (TEMPLATES / f"{template}.txt").is_file(), f"{template}.txt missing"
        assert (TEMPLATES / f"{template}.html").is_file(), f"{template}.html missing"


def test_every_template_is_used() -> None:
    used = {email.send_email.template for _, email in CASES}
    shipped = {p.stem for p in TEMPLATES.iterdir() if p.suffix in (".txt", ".html")}
    assert shipped == used


@pytest.mark.parametrize(("name", "email"), CASES, ids=IDS)
def test_templates_render(ws: Path, name: str, email: EmailStep) -> None:
    wf = _load(name)
    out = _render(ws, name, email, _context())
    assert out.subject and "{{" not in out.subject
    assert out.text.strip() and out.html
    for part in (out.text, out.html):
        assert "{{" not in part and "{%" not in part and "{#" not in part
    if wf.kind == "marketing":
        assert out.unsubscribe_url
        assert out.unsubscribe_url in out.text
        # In HTML the URL sits in an attribute, with & written as &amp;.
        assert html.escape(out.unsubscribe_url) in out.html
        assert out.to == "ada@example.com"
    else:
        assert out.unsubscribe_url is None


@pytest.mark.parametrize(("name", "email"), CASES, ids=IDS)
def test_html_escapes_customer_name(ws: Path, name: str, email: EmailStep) -> None:
    out = _render(ws, name, email, _context(name=EVIL, first_name=EVIL))
    assert out.html is not None
    assert "<script" not in out.html
    source = (TEMPLATES / f"{email.send_email.template}.html").read_text(encoding="utf-8")
    if re.search(r"customer\.(first_)?name", source):
        assert html.escape(EVIL) in out.html


def test_invoice_reminders_count_days_from_the_snapshot(ws: Path) -> None:
    emails = list(_emails(list(_load("invoice_reminders").steps)))
    context = _context()
    context["invoice"]["days_overdue"] = 3
    texts = [_render(ws, "invoice_reminders", e, context).text for e in emails]
    assert "was due on 2024-05-01" in texts[0]
    assert "10 days past its due date" in " ".join(texts[1].split())
    assert "17 days after its due date" in " ".join(texts[2].split())
    assert all("1,000.00 is still open" in t for t in texts)
    assert all("already paid, thank you" in t for t in texts)


def test_reorder_alert_goes_to_a_fixed_address(ws: Path) -> None:
    (email,) = _emails(list(_load("reorder_alert").steps))
    out = _render(ws, "reorder_alert", email, {"product": _context()["product"]})
    assert out.to == "owner@example.com"
    assert "48 units" in out.text
    assert "Espresso beans 1 kg" in out.subject


@pytest.mark.parametrize("name", PLAYBOOKS)
def test_step_texts_render(name: str) -> None:
    """Task titles, approval prompts and chat texts render as the engine renders them."""
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    from smbgrowth.automation.engine import iter_steps

    env = SandboxedEnvironment(undefined=StrictUndefined)
    texts = []
    for _, step in iter_steps(list(_load(name).steps)):
        data = step.model_dump(by_alias=True)
        for key, field in (("task", "title"), ("approval", "prompt"), ("notify_chat", "text")):
            if key in data:
                texts.append(env.from_string(data[key][field]).render(**_context()))
    for text in texts:
        assert text.strip() and "{{" not in text
    if name == "invoice_reminders":
        assert texts == [
            "Escalate invoice INV-42 to a person?",
            "Call Ada Lovelace about invoice INV-42 (1,250.00)",
        ]
    if name == "reorder_alert":
        assert texts[0] == "Reorder 48 × Espresso beans 1 kg by 2024-05-03"
