"""The opportunity catalogue: automations smbgrowth can run or recommend, with stated effects.

The shipped catalogue (``catalogue.yaml`` next to this module) lists each
opportunity's driver, the processes it works on, its typical effects as
``[low, likely, high]`` ranges, its set-up and running costs, what a pilot
looks like, what to measure and its risks. The ranges are assumptions, not
facts: a workspace's own ``catalogue.yaml`` replaces any field of any entry
and adds new entries, and :func:`load_catalogue` accepts another file on top.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
import pydantic
import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from smbgrowth.errors import ConfigError
from smbgrowth.metrics.base import DRIVERS
from smbgrowth.yamlfile import read_mapping, validation_error

__all__ = [
    "CATALOGUE_FILE",
    "Catalogue",
    "Effects",
    "Opportunity",
    "Range",
    "load_catalogue",
    "shipped_catalogue_text",
]

#: Name of a workspace's own catalogue (it overrides the shipped one).
CATALOGUE_FILE = "catalogue.yaml"


def _percent(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        if text.endswith("%"):
            try:
                return float(text[:-1]) / 100
            except ValueError:
                return value
    return value


def _range(value: Any) -> Any:
    """``5`` or ``"5%"`` -> (v, v, v); ``[low, likely, high]`` stays (percentages parsed)."""
    if isinstance(value, (list, tuple)):
        return tuple(_percent(v) for v in value)
    if isinstance(value, Mapping):
        return tuple(_percent(value.get(k)) for k in ("low", "likely", "high"))
    value = _percent(value)
    return (value, value, value)


class Range(BaseModel):
    """A stated range ``low <= likely <= high``, sampled as a triangular distribution."""

    model_config = ConfigDict(frozen=True)

    low: float
    likely: float
    high: float

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, value: Any) -> Any:
        if isinstance(value, Mapping) and set(value) <= {"low", "likely", "high"} and value:
            return dict(value)
        parsed = _range(value)
        if not isinstance(parsed, tuple) or len(parsed) != 3:
            raise ValueError("give one value or [low, likely, high]")
        return dict(zip(("low", "likely", "high"), parsed, strict=True))

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not self.low <= self.likely <= self.high:
            raise ValueError(
                f"needs low <= likely <= high, got [{self.low}, {self.likely}, {self.high}]"
            )
        return self

    @property
    def certain(self) -> bool:
        return self.low == self.high

    def sample(self, n: int, rng: np.random.Generator) -> npt.NDArray[np.float64]:
        """``n`` draws (all equal to the value when the range is a single value)."""
        if self.certain:
            return np.full(n, self.likely)
        return rng.triangular(self.low, self.likely, self.high, n)

    def to_list(self) -> list[float]:
        return [self.low, self.likely, self.high]


def _share_range(low: float, high: float) -> Any:
    def check(value: Range) -> Range:
        if value.low < low or value.high > high:
            raise ValueError(f"must lie between {low:g} and {high:g}")
        return value

    return pydantic.AfterValidator(check)


Share = Annotated[Range, _share_range(0.0, 1.0)]
Lift = Annotated[Range, _share_range(-1.0, 10.0)]
Money = Annotated[Range, _share_range(0.0, 1e9)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Effects(_Strict):
    """What the automation changes, each as a stated range (see the catalogue's header)."""

    time_saved: Share | None = None
    error_reduction: Share | None = None
    conversion_lift: Lift | None = None
    churn_reduction: Share | None = None
    wom_lift: Lift | None = None

    def named(self) -> dict[str, Range]:
        return {k: v for k, v in self.__dict__.items() if isinstance(v, Range)}


class ProcessMatch(_Strict):
    """Which inventory processes an opportunity works on: name keywords, else departments."""

    keywords: list[str] = Field(default_factory=list)
    departments: list[str] = Field(default_factory=list)

    def matches(self, name: str, department: str) -> bool:
        text = name.lower()
        if self.keywords:
            return any(k.lower() in text for k in self.keywords)
        return department.lower() in {d.lower() for d in self.departments}


class Pilot(_Strict):
    """How the first, small phase runs."""

    holdout: Annotated[float, BeforeValidator(_percent)] = Field(default=0.1, ge=0, lt=1)
    months: int = Field(default=2, ge=1, le=12)
    scope: str = "a first group"


class Risks(_Strict):
    customer_contact: bool = False
    data_security: str = ""
    human_oversight: str = ""


Driver = Literal["demand", "sales & marketing", "operations", "customers", "finance"]
assert set(DRIVERS) == set(Driver.__args__)  # type: ignore[attr-defined]


class Opportunity(_Strict):
    """One automation and its stated assumptions."""

    id: str
    name: str
    driver: Driver
    kind: Literal["playbook", "generic"] = "generic"
    playbook: str | None = None
    description: str = ""
    processes: ProcessMatch = Field(default_factory=ProcessMatch)
    effects: Effects = Field(default_factory=Effects)
    setup_cost: Money = Field(default_factory=lambda: Range.model_validate(0))
    monthly_cost: Money = Field(default_factory=lambda: Range.model_validate(0))
    setup_months: float = Field(default=1.0, gt=0, le=24)
    ramp_months: float = Field(default=2.0, ge=0, le=24)
    effort: Literal["low", "medium", "high"] = "medium"
    requires: list[str] = Field(default_factory=list)
    depends_on: list[str] = Field(default_factory=list)
    measure: list[str] = Field(default_factory=list)
    pilot: Pilot = Field(default_factory=Pilot)
    risks: Risks = Field(default_factory=Risks)

    @model_validator(mode="after")
    def _playbook(self) -> Opportunity:
        if self.kind == "playbook" and not self.playbook:
            raise ValueError("a playbook opportunity names its playbook")
        return self

    def to_dict(self) -> dict[str, Any]:
        out = self.model_dump(mode="json", exclude_none=True)
        out["effects"] = {k: v.to_list() for k, v in self.effects.named().items()}
        out["setup_cost"] = self.setup_cost.to_list()
        out["monthly_cost"] = self.monthly_cost.to_list()
        return out


class Catalogue:
    """The opportunities by id, in catalogue order; ``sources`` lists the files read."""

    def __init__(self, opportunities: Sequence[Opportunity], sources: Sequence[str]) -> None:
        self.opportunities = list(opportunities)
        self.sources = list(sources)
        ids = {o.id for o in self.opportunities}
        for o in self.opportunities:
            missing = [d for d in o.depends_on if d not in ids]
            if missing:
                raise ConfigError(
                    f"catalogue: {o.id} depends on {missing[0]!r}, which is not in the catalogue"
                )

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.opportunities)

    def __len__(self) -> int:
        return len(self.opportunities)

    def __getitem__(self, key: str) -> Opportunity:
        for o in self.opportunities:
            if o.id == key:
                return o
        raise ConfigError(
            f"no opportunity {key!r} in the catalogue; the ids are "
            + ", ".join(o.id for o in self.opportunities)
        )


def _shipped_path() -> Path:
    return Path(str(resources.files("smbgrowth.plan") / CATALOGUE_FILE))


def shipped_catalogue_text() -> str:
    """The shipped catalogue file, comments included (to copy and edit)."""
    return _shipped_path().read_text(encoding="utf-8")


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def load_catalogue(
    workspace: str | Path | None = None, extra: str | Path | None = None
) -> Catalogue:
    """The shipped catalogue, overridden by the workspace's ``catalogue.yaml`` and by ``extra``.

    An override names an entry by id and gives only the fields it changes; a
    new id adds an opportunity (then ``name`` and ``driver`` are required).
    Errors are one line naming the file and the field.
    """
    hint = "opportunity ids (chatbot_deflection, win_back, ...)"
    files: list[Path] = [_shipped_path()]
    if workspace is not None and (Path(workspace) / CATALOGUE_FILE).is_file():
        files.append(Path(workspace) / CATALOGUE_FILE)
    if extra is not None:
        files.append(Path(extra))
    entries: dict[str, dict[str, Any]] = {}
    owner: dict[str, Path] = {}
    for path in files:
        data = read_mapping(path, "catalogue", hint)
        for key, value in data.items():
            if value is None:  # `id: null` removes an entry
                entries.pop(str(key), None)
                continue
            if not isinstance(value, Mapping):
                raise ConfigError(f"catalogue {path}: entry {key!r} must be a mapping of fields")
            entries[str(key)] = _merge(entries.get(str(key), {}), value)
            owner[str(key)] = path
    opportunities = []
    for key, value in entries.items():
        try:
            opportunities.append(Opportunity.model_validate({**value, "id": key}))
        except pydantic.ValidationError as exc:
            raise validation_error(
                exc, f"catalogue {owner[key]} entry {key}", Opportunity
            ) from None
    return Catalogue(opportunities, [str(p) for p in files])


def catalogue_yaml(catalogue: Catalogue) -> str:
    """The catalogue as YAML (without the shipped comments)."""
    body = {o.id: {k: v for k, v in o.to_dict().items() if k != "id"} for o in catalogue}
    return yaml.safe_dump(body, sort_keys=False, allow_unicode=True)
