"""The process inventory: the recurring work of the business, with its volumes and costs.

Three origins feed it:

* ``imported`` — rows of the workspace's ``processes`` table (an import or the
  sample business);
* ``survey`` — rows of that table written by :func:`save_processes` (the guided
  survey, :func:`smbgrowth.plan.survey.run_survey`);
* ``inferred`` — volumes read off the data for kinds of work no recorded
  process covers: invoices issued → invoicing, tickets opened → support
  replies, orders → fulfilment, expenses → bookkeeping, deals created → lead
  follow-up, deals won → account onboarding, stocked products → inventory
  reorder. Minutes, error rate and costs come from :data:`TEMPLATES`.

Recorded numbers always win: a kind is inferred only when no recorded process
is recognised as that kind (by the kind's keywords in its name, or its id).

Volumes are counted over the 90 days up to the last recorded date in the
workspace (the latest local day of an order, invoice, ticket, expense or deal),
not today's date, so that an old export still reads as a working month;
runs per month = count ÷ 3.
"""

from __future__ import annotations

import csv
import math
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from smbgrowth.data.importer import ImportResult, import_files
from smbgrowth.data.plan import ImportOptions
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import ValidationError

__all__ = [
    "ORIGINS",
    "TEMPLATES",
    "WINDOW_DAYS",
    "Origin",
    "Process",
    "ProcessTemplate",
    "by_labour_cost",
    "check_process",
    "infer_processes",
    "last_recorded_date",
    "process_inventory",
    "recognised_kinds",
    "recorded_processes",
    "save_processes",
    "template_process",
]

Origin = Literal["imported", "survey", "inferred"]
ORIGINS: tuple[Origin, ...] = ("imported", "survey", "inferred")

#: Days of data the inferred volumes are counted over (ending at the last recorded day).
WINDOW_DAYS = 90
_MONTHS_IN_WINDOW = WINDOW_DAYS / 30.0


@dataclass(frozen=True)
class Process:
    """One recurring process: how often it runs, what a run costs, what an error costs."""

    process_id: str
    name: str
    department: str
    runs_per_month: float
    minutes_per_run: float
    error_rate: float
    error_cost: float
    hourly_cost: float
    touches_customers: bool
    origin: Origin
    basis: str

    @property
    def hours_per_month(self) -> float:
        """Staff hours a month: runs × minutes ÷ 60."""
        return self.runs_per_month * self.minutes_per_run / 60.0

    @property
    def labour_cost_per_month(self) -> float:
        """Staff cost a month: hours × hourly cost."""
        return self.hours_per_month * self.hourly_cost

    @property
    def error_cost_per_month(self) -> float:
        """Expected cost of errors a month: runs × error rate × cost of an error."""
        return self.runs_per_month * self.error_rate * self.error_cost

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the fields plus the monthly hours and costs."""
        out = asdict(self)
        out["hours_per_month"] = self.hours_per_month
        out["labour_cost_per_month"] = self.labour_cost_per_month
        out["error_cost_per_month"] = self.error_cost_per_month
        return out


@dataclass(frozen=True)
class ProcessTemplate:
    """The default numbers of one kind of process, and how to recognise it by name."""

    kind: str
    name: str
    department: str
    runs_per_month: float
    minutes_per_run: float
    error_rate: float
    error_cost: float
    hourly_cost: float
    touches_customers: bool
    keywords: tuple[str, ...]

    def matches(self, name: str) -> bool:
        """True when one of the kind's keywords is in ``name`` (case-insensitive)."""
        lowered = name.lower()
        return any(k in lowered for k in self.keywords)


# Minutes, error rates and costs are those of the sample business (a small online
# retailer); runs per month are its volumes, used only when the data has none.
TEMPLATES: dict[str, ProcessTemplate] = {
    t.kind: t
    for t in (
        ProcessTemplate(
            "fulfilment",
            "Order fulfilment (pick, pack, label)",
            "operations",
            300.0,
            6.0,
            0.012,
            18.0,
            24.0,
            True,
            ("fulfil", "fulfill", "pick", "pack", "dispatch", "shipping"),
        ),
        ProcessTemplate(
            "invoicing",
            "Invoicing",
            "finance",
            20.0,
            12.0,
            0.03,
            35.0,
            38.0,
            True,
            ("invoic", "billing"),
        ),
        ProcessTemplate(
            "bookkeeping",
            "Bookkeeping and bank reconciliation",
            "finance",
            22.0,
            45.0,
            0.02,
            120.0,
            45.0,
            False,
            ("bookkeep", "reconcil", "expense", "accounts payable"),
        ),
        ProcessTemplate(
            "support_replies",
            "Customer e-mail replies",
            "support",
            120.0,
            9.0,
            0.04,
            12.0,
            26.0,
            True,
            ("support", "repl", "ticket", "helpdesk", "customer e-mail", "customer email"),
        ),
        ProcessTemplate(
            "social_posting",
            "Social media posting",
            "marketing",
            20.0,
            35.0,
            0.01,
            5.0,
            30.0,
            True,
            ("social", "instagram", "facebook"),
        ),
        ProcessTemplate(
            "inventory_reorder",
            "Inventory reorder",
            "operations",
            20.0,
            25.0,
            0.05,
            250.0,
            32.0,
            False,
            ("reorder", "inventory", "stock", "purchase order"),
        ),
        ProcessTemplate(
            "newsletter",
            "Newsletter",
            "marketing",
            4.0,
            150.0,
            0.02,
            40.0,
            30.0,
            True,
            ("newsletter", "mailing", "e-mail campaign", "email campaign"),
        ),
        ProcessTemplate(
            "account_onboarding",
            "Account onboarding",
            "sales",
            1.0,
            120.0,
            0.08,
            90.0,
            40.0,
            True,
            ("onboard",),
        ),
        ProcessTemplate(
            "lead_follow_up",
            "Lead follow-up",
            "sales",
            15.0,
            15.0,
            0.05,
            60.0,
            40.0,
            True,
            ("lead", "follow-up", "follow up", "prospect"),
        ),
    )
}


def template_process(kind: str, *, runs_per_month: float | None = None, basis: str = "") -> Process:
    """A process of ``kind`` with the template's numbers (origin ``inferred``)."""
    t = TEMPLATES[kind]
    return Process(
        process_id=kind.replace("_", "-"),
        name=t.name,
        department=t.department,
        runs_per_month=t.runs_per_month if runs_per_month is None else runs_per_month,
        minutes_per_run=t.minutes_per_run,
        error_rate=t.error_rate,
        error_cost=t.error_cost,
        hourly_cost=t.hourly_cost,
        touches_customers=t.touches_customers,
        origin="inferred",
        basis=basis or "all numbers from the template (no data on this process)",
    )


def recognised_kinds(process: Process) -> set[str]:
    """The template kinds a process is recognised as, by its name's keywords or its id."""
    kinds = {k for k, t in TEMPLATES.items() if t.matches(process.name)}
    by_id = process.process_id.replace("-", "_")
    if by_id in TEMPLATES:
        kinds.add(by_id)
    return kinds


# -- reading the data -------------------------------------------------------------------

# table → its activity instant; the last recorded day is the latest of them.
_ACTIVITY = {
    "orders": "ordered_at",
    "invoices": "issued_at",
    "tickets": "opened_at",
    "expenses": "incurred_at",
    "deals": "created_at",
}


def _local_days(ws: Workspace, table: str, column: str) -> Any:
    """The table with a ``day`` column: the local calendar day of ``column``."""
    from smbgrowth.metrics.base import local_time

    t = ws.table(table)
    return t.mutate(day=local_time(t[column], ws.time_zone).date())


def last_recorded_date(ws: Workspace) -> date | None:
    """The latest local day of an order, invoice, ticket, expense or deal; None if no data."""
    latest: date | None = None
    for table, column in _ACTIVITY.items():
        value = _local_days(ws, table, column).day.max().execute()
        if value is None or pd.isna(value):
            continue
        day = pd.Timestamp(value).date()
        latest = day if latest is None or day > latest else latest
    return latest


def _count_in_window(ws: Workspace, table: str, column: str, end: date, where: Any = None) -> int:
    t = _local_days(ws, table, column)
    start = end - timedelta(days=WINDOW_DAYS - 1)
    t = t.filter((t.day >= start) & (t.day <= end))
    if where is not None:
        t = t.filter(where(t))
    return int(t.count().execute())


def _inferred(kind: str, count: int, what: str, end: date) -> Process:
    runs = count / _MONTHS_IN_WINDOW
    basis = (
        f"{count} {what} in the {WINDOW_DAYS} days to {end.isoformat()} → {runs:.1f} a month; "
        "minutes, errors and cost from the template"
    )
    return template_process(kind, runs_per_month=runs, basis=basis)


def infer_processes(ws: Workspace) -> list[Process]:
    """Processes whose volume the data shows, over the 90 days to the last recorded day.

    A kind whose data is empty in the window is not inferred. Orders cancelled
    or failed are not fulfilled and draft invoices are not issued, so neither
    counts. Inventory reorder counts one reorder check a month per product with
    a stock count or a lead time.
    """
    end = last_recorded_date(ws)
    out: list[Process] = []
    if end is not None:
        counts = [
            (
                "fulfilment",
                "orders",
                "orders placed",
                lambda t: t.status.isnull() | ~t.status.isin(["cancelled", "failed"]),
            ),
            (
                "invoicing",
                "invoices",
                "invoices issued",
                lambda t: t.status.isnull() | (t.status != "draft"),
            ),
            ("support_replies", "tickets", "tickets opened", None),
            ("bookkeeping", "expenses", "expenses recorded", None),
            ("lead_follow_up", "deals", "deals created", None),
        ]
        for kind, table, what, where in counts:
            n = _count_in_window(ws, table, _ACTIVITY[table], end, where)
            if n > 0:
                out.append(_inferred(kind, n, what, end))
        won = _count_in_window(ws, "deals", "closed_at", end, lambda t: t.won)
        if won > 0:
            out.append(_inferred("account_onboarding", won, "deals won", end))
    p = ws.products
    stocked = int(
        p.filter(p.stock_on_hand.notnull() | p.lead_time_days.notnull()).count().execute()
    )
    if stocked > 0:
        out.append(
            template_process(
                "inventory_reorder",
                runs_per_month=float(stocked),
                basis=(
                    f"{stocked} products with a stock count or lead time → one reorder check "
                    "each a month; minutes, errors and cost from the template"
                ),
            )
        )
    return out


# -- the recorded processes ---------------------------------------------------------------


def _is_survey_source(source: str, label: str = "survey") -> bool:
    # The CSV importer labels rows "csv:<file name>"; save_processes names its file
    # "<label>.csv", so that is how survey rows are told apart.
    last = source.rsplit(":", 1)[-1]
    return last in (label, f"{label}.csv")


def _text(value: Any, default: str = "") -> str:
    return default if value is None or pd.isna(value) else str(value)


def _number(value: Any) -> float:
    return 0.0 if value is None or pd.isna(value) else float(value)


def recorded_processes(ws: Workspace) -> list[Process]:
    """The rows of the ``processes`` table as processes (missing numbers read as 0)."""
    frame = ws.read("processes")
    out: list[Process] = []
    for row in frame.itertuples(index=False):
        source = _text(row.source)
        survey = _is_survey_source(source)
        touches = row.touches_customers
        out.append(
            Process(
                process_id=str(row.process_id),
                name=_text(row.name, str(row.process_id)),
                department=_text(row.department),
                runs_per_month=_number(row.runs_per_month),
                minutes_per_run=_number(row.minutes_per_run),
                error_rate=_number(row.error_rate),
                error_cost=_number(row.error_cost),
                hourly_cost=_number(row.hourly_cost),
                touches_customers=bool(touches) if not pd.isna(touches) else False,
                origin="survey" if survey else "imported",
                basis=(
                    "entered in the process survey"
                    if survey
                    else f"recorded in the processes table (source {source})"
                ),
            )
        )
    return out


def by_labour_cost(processes: Iterable[Process]) -> list[Process]:
    """Processes sorted by labour cost a month, highest first (then by name)."""
    return sorted(processes, key=lambda p: (-p.labour_cost_per_month, p.name))


def process_inventory(ws: Workspace) -> list[Process]:
    """Recorded processes plus inferred ones for kinds no recorded process covers.

    Sorted by labour cost per month, highest first.
    """
    recorded = recorded_processes(ws)
    covered: set[str] = set()
    for p in recorded:
        covered |= recognised_kinds(p)
    inferred = [p for p in infer_processes(ws) if not recognised_kinds(p) & covered]
    return by_labour_cost([*recorded, *inferred])


# -- writing ------------------------------------------------------------------------------


def check_process(p: Process) -> str | None:
    """Why ``p`` cannot be saved (one line), or None when it can."""
    where = f"process {p.name!r} ({p.process_id})"
    if not p.process_id.strip():
        return f"process {p.name!r} has no process id"
    if not p.name.strip():
        return f"process {p.process_id} has no name"
    rules = (
        ("runs per month", p.runs_per_month, None),
        ("minutes per run", p.minutes_per_run, None),
        ("cost of an error", p.error_cost, None),
        ("hourly cost", p.hourly_cost, None),
        ("error rate", p.error_rate, 1.0),
    )
    for what, value, upper in rules:
        if not math.isfinite(value) or value < 0 or (upper is not None and value > upper):
            bound = "between 0 and 1" if upper is not None else "≥ 0"
            return f"{where}: {what} must be a number {bound}, not {value:g}"
    return None


_COLUMNS = (
    "process_id",
    "name",
    "department",
    "runs_per_month",
    "minutes_per_run",
    "error_rate",
    "error_cost",
    "hourly_cost",
    "touches_customers",
)


def save_processes(
    ws: Workspace, processes: Sequence[Process], *, source_label: str = "survey"
) -> ImportResult:
    """Write processes into the ``processes`` table through the CSV importer, all or nothing.

    The processes go into a temporary ``<source_label>.csv`` inside the workspace
    folder, which the generic CSV importer loads (so rows are validated, the
    import is logged and re-saving the same list changes nothing), then the file
    is deleted. The importer labels rows ``csv:<file name>``, so survey rows
    carry the source ``csv:survey.csv``; :func:`process_inventory` recognises
    them by that label. Rows already in the table with the same values keep
    their source. Processes left out of ``processes`` are not removed.
    Costs are stored to the cent.

    Raises ValidationError (one line, nothing written) when a process has a
    negative or non-finite number, an error rate above 1, an empty name or id,
    or two processes share an id.
    """
    seen: set[str] = set()
    for p in processes:
        problem = check_process(p)
        if problem is None and p.process_id in seen:
            problem = f"process id {p.process_id} is used twice; give each process its own id"
        if problem is not None:
            raise ValidationError(f"nothing saved: {problem}")
        seen.add(p.process_id)
    if not processes:
        raise ValidationError("nothing saved: the list of processes is empty")
    if not source_label or any(c in source_label for c in "/\\:"):
        raise ValidationError(f"source label {source_label!r} must be a plain word, like survey")
    with tempfile.TemporaryDirectory(prefix=".processes-", dir=ws.path) as folder:
        path = Path(folder) / f"{source_label}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(_COLUMNS)
            for p in processes:
                writer.writerow(
                    [
                        p.process_id,
                        p.name,
                        p.department,
                        repr(float(p.runs_per_month)),
                        repr(float(p.minutes_per_run)),
                        repr(float(p.error_rate)),
                        f"{p.error_cost:.2f}",
                        f"{p.hourly_cost:.2f}",
                        "true" if p.touches_customers else "false",
                    ]
                )
        return import_files(ws, "csv", [path], ImportOptions(table="processes"))
