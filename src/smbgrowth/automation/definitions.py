"""Workflow definitions: versioned data, validated with pydantic, read from YAML or built in Python.

A workflow has a trigger, a list of steps and settings::

    name: invoice-reminders
    description: Remind customers of unpaid invoices, then ask a person.
    kind: transactional          # marketing (default) needs consent
    list: billing                # mailing list for list-level opt-outs
    trigger:
      condition: {record: invoice, overdue_days: 7}
    settings:
      rate_limit: {count: 100, per_hours: 1}
      frequency_cap: {count: 3, per_days: 7}
      send_window: {start: "09:00", end: "18:00", timezone: customer,
                    days: [mon, tue, wed, thu, fri]}
      holdout: 10%
    steps:
      - send_email:
          template: invoice_overdue
          subject: "Invoice {{ invoice.invoice_id }} is overdue"
      - wait: {days: 7}
      - if: {field: invoice.amount, above: 500}
        then:
          - approval: {prompt: "Call {{ customer.name }}?", timeout_hours: 48, default: reject}
          - task: {title: "Call {{ customer.name }} about {{ invoice.invoice_id }}"}

Triggers (exactly one): ``event`` (``order.created``, ``customer.created``,
``invoice.created``..., from ``POST /hooks/{source}`` or from imports),
``schedule`` (cron in a named time zone), ``metric`` (a registry KPI crosses a
value), ``segment`` (a customer enters or leaves a segment) and ``condition``
(an invoice N days overdue, a SKU below its reorder point, a customer's
P(alive) below a value).

Errors name the file, the line and the field: ``playbook.yaml line 12:
steps[1].wait.days: Input should be greater than 0 (got -1)``.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pydantic
import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from smbgrowth.errors import WorkflowError

__all__ = [
    "DAYS",
    "ApprovalStep",
    "ConditionTrigger",
    "EmailStep",
    "EventTrigger",
    "IfStep",
    "MetricTrigger",
    "ScheduleTrigger",
    "SegmentTrigger",
    "Settings",
    "Step",
    "TaskStep",
    "Trigger",
    "WaitStep",
    "WaitUntilStep",
    "Workflow",
    "load_workflow",
    "parse_workflow",
    "workflow_json_schema",
]

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _percent(value: Any) -> Any:
    if isinstance(value, str):
        match = re.fullmatch(r"\s*([+-]?\d+(?:\.\d+)?)\s*%\s*", value)
        if match:
            return float(match.group(1)) / 100
    return value


Share = Annotated[float, BeforeValidator(_percent)]


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)"
        ) from None
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- triggers -------------------------------------------------------------------------


class EventTrigger(_Strict):
    """Start a run for each event of this type (``order.created``, ``customer.created``...)."""

    event: str = Field(pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
    source: str | None = Field(default=None, description="Only events from this source.")


class Schedule(_Strict):
    cron: str
    timezone: str = "UTC"
    catch_up: bool = Field(
        default=True, description="Run ticks missed while the worker was down (each once)."
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return _check_zone(value)

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        from croniter import croniter

        if len(value.split()) != 5 or not croniter.is_valid(value):
            raise ValueError(
                f"{value!r} is not a 5-field cron expression (minute hour day month weekday)"
            )
        return value


class ScheduleTrigger(_Strict):
    """Run on a cron schedule in a named time zone."""

    schedule: Schedule


class Metric(_Strict):
    metric: str
    grain: Literal["day", "week", "month"] = "month"
    above: float | None = None
    below: float | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> Metric:
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of above or below")
        return self


class MetricTrigger(_Strict):
    """Run once when a registry KPI crosses a value (checked on each completed period)."""

    metric: Metric


class Segment(_Strict):
    segment: str
    when: Literal["enter", "exit"] = "enter"

    @model_validator(mode="before")
    @classmethod
    def _yaml_on(cls, data: Any) -> Any:
        # YAML 1.1 reads the key ``on`` as true: accept it as ``when``.
        if isinstance(data, dict) and (True in data or "on" in data):
            data = dict(data)
            data["when"] = data.pop(True, data.pop("on", None))
        return data


class SegmentTrigger(_Strict):
    """Run for each customer who enters (or leaves) a segment."""

    segment: Segment


class Condition(_Strict):
    record: Literal["invoice", "product", "customer"]
    overdue_days: int | None = Field(default=None, ge=0, le=3650)
    below_reorder_point: bool | None = None
    p_alive_below: float | None = Field(default=None, gt=0, lt=1)
    min_value: float | None = Field(
        default=None, ge=0, description="customer: only with at least this CLV."
    )

    @model_validator(mode="after")
    def _fits_record(self) -> Condition:
        allowed = {
            "invoice": {"overdue_days"},
            "product": {"below_reorder_point"},
            "customer": {"p_alive_below", "min_value"},
        }[self.record]
        given = {
            k
            for k in ("overdue_days", "below_reorder_point", "p_alive_below", "min_value")
            if getattr(self, k) is not None
        }
        if not given or not given <= allowed:
            raise ValueError(f"a {self.record} condition takes {', '.join(sorted(allowed))}")
        if self.record == "customer" and self.p_alive_below is None:
            raise ValueError("a customer condition needs p_alive_below")
        return self


class ConditionTrigger(_Strict):
    """Run for each record that meets a condition (once per record and condition)."""

    condition: Condition


Trigger = EventTrigger | ScheduleTrigger | MetricTrigger | SegmentTrigger | ConditionTrigger


# -- settings -------------------------------------------------------------------------


class RateLimit(_Strict):
    count: int = Field(gt=0)
    per_hours: float = Field(default=1.0, gt=0)


class FrequencyCap(_Strict):
    count: int = Field(gt=0)
    per_days: float = Field(gt=0)


class SendWindow(_Strict):
    start: time = time(9, 0)
    end: time = time(18, 0)
    timezone: str = Field(default="customer", description="'customer' or an IANA zone.")
    days: list[Day] = Field(default_factory=lambda: list(DAYS))

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return value if value == "customer" else _check_zone(value)

    @model_validator(mode="after")
    def _order(self) -> SendWindow:
        if self.start >= self.end:
            raise ValueError("the send window must start before it ends")
        if not self.days:
            raise ValueError("the send window needs at least one day")
        return self


class Settings(_Strict):
    rate_limit: RateLimit | None = None
    frequency_cap: FrequencyCap | None = None
    send_window: SendWindow | None = None
    holdout: Share = Field(default=0.0, ge=0.0, lt=1.0)
    from_address: str | None = Field(default=None, alias="from")
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# -- steps ----------------------------------------------------------------------------


class Email(_Strict):
    template: str = Field(description="Template name (playbook templates folder) or file.")
    subject: str
    to: str = Field(default="{{ customer.email }}")


class EmailStep(_Strict):
    send_email: Email


class Wait(_Strict):
    days: float = Field(default=0.0, ge=0)
    hours: float = Field(default=0.0, ge=0)
    minutes: float = Field(default=0.0, ge=0)
    seconds: float = Field(default=0.0, ge=0)

    @property
    def total_seconds(self) -> float:
        return self.days * 86400 + self.hours * 3600 + self.minutes * 60 + self.seconds

    @model_validator(mode="after")
    def _positive(self) -> Wait:
        if self.total_seconds <= 0:
            raise ValueError("a wait needs days, hours, minutes or seconds above 0")
        return self


class WaitStep(_Strict):
    wait: Wait


class WaitUntil(_Strict):
    time: time
    timezone: str = Field(default="customer", description="'customer' or an IANA zone.")
    days: list[Day] = Field(default_factory=lambda: list(DAYS))

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return value if value == "customer" else _check_zone(value)


class WaitUntilStep(_Strict):
    wait_until: WaitUntil


class Test(_Strict):
    field: str = Field(pattern=r"^[a-z_]+(\.[a-z_0-9]+)*$")
    equals: Any = None
    not_equals: Any = None
    above: float | None = None
    below: float | None = None
    is_in: list[Any] | None = Field(default=None, alias="in")
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_test(self) -> Test:
        given = [
            k
            for k in ("equals", "not_equals", "above", "below", "is_in")
            if getattr(self, k) is not None or k in self.model_fields_set
        ]
        if len(given) != 1:
            raise ValueError(
                "a condition needs exactly one of equals, not_equals, above, below, in"
            )
        return self


class IfStep(_Strict):
    test: Test = Field(alias="if")
    then: list[Step] = Field(default_factory=list)
    otherwise: list[Step] = Field(default_factory=list, alias="else")
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Webhook(_Strict):
    url: str = Field(pattern=r"^https?://")
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    body: dict[str, Any] = Field(default_factory=dict)
    secret: str | None = Field(default=None, description="Signs the body (X-Signature).")


class WebhookStep(_Strict):
    webhook: Webhook


class Task(_Strict):
    title: str
    assignee: str | None = None
    due_in_days: float | None = Field(default=None, ge=0)


class TaskStep(_Strict):
    task: Task


class Tag(_Strict):
    add: list[str] = Field(default_factory=list)
    remove: list[str] = Field(default_factory=list)


class TagStep(_Strict):
    tag: Tag


class UpdateCustomerStep(_Strict):
    update_customer: dict[str, str | int | float | bool]


class Chat(_Strict):
    url: str = Field(pattern=r"^https?://")
    text: str


class ChatStep(_Strict):
    notify_chat: Chat


class SocialPost(_Strict):
    text: str
    channel: str = "default"
    after_hours: float = Field(default=0.0, ge=0)


class SocialStep(_Strict):
    social_post: SocialPost


class Approval(_Strict):
    prompt: str
    timeout_hours: float = Field(default=48.0, gt=0)
    default: Literal["approve", "reject"] = "reject"


class ApprovalStep(_Strict):
    approval: Approval


Step = (
    EmailStep
    | WaitStep
    | WaitUntilStep
    | IfStep
    | WebhookStep
    | TaskStep
    | TagStep
    | UpdateCustomerStep
    | ChatStep
    | SocialStep
    | ApprovalStep
)
IfStep.model_rebuild()


class Workflow(_Strict):
    """A workflow: name, trigger, steps, settings (see the module doc)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    description: str = ""
    kind: Literal["marketing", "transactional"] = "marketing"
    mailing_list: str = Field(default="general", pattern=r"^[a-z0-9_-]{1,40}$", alias="list")
    trigger: Trigger
    steps: list[Step] = Field(min_length=1)
    settings: Settings = Field(default_factory=Settings)
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @property
    def version(self) -> str:
        """Content hash of the definition: runs execute the version they started with."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:12]

    def to_json(self) -> str:
        """The definition as canonical JSON (stored with each version; what was written)."""
        data = self.model_dump(mode="json", by_alias=True, exclude_unset=True)
        return json.dumps(data, sort_keys=True)


def workflow_json_schema() -> dict[str, Any]:
    """The published JSON Schema of workflow files."""
    schema = Workflow.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://smbgrowth.dev/schemas/workflow.json"
    return schema


# -- reading YAML with line numbers ----------------------------------------------------


def _line_map(text: str) -> dict[tuple[Any, ...], int]:
    """Path (keys and list indexes) -> 1-based line of each node in a YAML document."""
    lines: dict[tuple[Any, ...], int] = {}
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return lines

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                lines[(*path, key.value)] = key.start_mark.line + 1
                walk(value, (*path, key.value))
                lines[(*path, key.value)] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i))

    if root is not None:
        walk(root, ())
    return lines


_UNION_TAGS = re.compile(r"^(EventTrigger|ScheduleTrigger|MetricTrigger|SegmentTrigger|"
                         r"ConditionTrigger|[A-Z][A-Za-z]*Step)$")  # fmt: skip


def _error(exc: pydantic.ValidationError, where: str, lines: dict[tuple[Any, ...], int]) -> str:
    def rank(e: Any) -> tuple[int, int]:
        # Prefer the most specific error: longest location, then misspelt keys.
        return (-len(e["loc"]), e["type"] != "extra_forbidden")

    first = sorted(exc.errors(), key=rank)[0]
    loc = [p for p in first["loc"] if not (isinstance(p, str) and _UNION_TAGS.match(p))]
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    line = None
    for n in range(len(loc), -1, -1):
        line = lines.get(tuple(loc[:n]))
        if line is not None:
            break
    at = f" line {line}" if line else ""
    if first["type"] == "extra_forbidden":
        message = f"unknown field {path}"
    else:
        got = first.get("input")
        shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
        message = f"{path or '(top level)'}: {first['msg']}{shown}"
    return f"{where}{at}: {message}".replace("\n", " ")


def parse_workflow(text: str, where: str = "workflow") -> Workflow:
    """Validate a workflow from YAML text; errors are one :class:`WorkflowError` line."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise WorkflowError(f"{where}{at}: {problem}; fix the YAML syntax") from None
    if not isinstance(data, dict):
        raise WorkflowError(f"{where}: a workflow is a mapping with name, trigger and steps")
    try:
        return Workflow.model_validate(data)
    except pydantic.ValidationError as exc:
        raise WorkflowError(_error(exc, where, _line_map(text))) from None


def load_workflow(path: str | Path) -> Workflow:
    """Read and validate a workflow file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorkflowError(f"workflow file {path} does not exist; check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkflowError(f"workflow file {path} cannot be read: {exc}") from None
    return parse_workflow(text, str(path))
