"""What-if scenarios for the cash projection, read from YAML or given as a mapping.

A :class:`Scenario` (:func:`load_scenario` reads one from YAML) changes sales by
a share, makes customers pay later, adds hires and investments:

* ``sales_change`` scales future order sales and future invoices alike;
* a late payer's invoices, open and future, are paid ``extra_days`` later than
  drawn from their payment behaviour;
* hires: ``count × monthly_cost`` on the last day of every projection month
  from ``month`` on; investments on their date (left out, with a note, when
  outside the projection).

Unknown fields are refused: a misspelt key is named in a one-line
:class:`~smbgrowth.errors.ConfigError` together with the fields allowed there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from smbgrowth.yamlfile import load_model, validation_error

__all__ = ["Hire", "Investment", "LatePayer", "Scenario", "load_scenario"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class LatePayer(_Strict):
    """A customer who pays ``extra_days`` later than they usually do."""

    customer_id: str
    extra_days: int = Field(ge=-365, le=3650)


class Hire(_Strict):
    """``count`` people at ``monthly_cost`` each, paid from projection month ``month`` (1 = first).

    Each month's cost is paid on the last day of the projection month (like payroll).
    """

    month: int = Field(ge=1)
    count: int = Field(default=1, ge=1)
    monthly_cost: float = Field(gt=0)


class Investment(_Strict):
    """A one-off payment of ``amount`` on ``date``."""

    date: dt.date
    amount: float = Field(gt=0)
    label: str = "investment"


class Scenario(_Strict):
    """What-if changes to the projection.

    ``sales_change`` −0.2 means future sales (orders and invoices) 20 % lower.
    """

    sales_change: float = Field(default=0.0, ge=-1.0, le=10.0)
    late_payers: list[LatePayer] = Field(default_factory=list)
    hires: list[Hire] = Field(default_factory=list)
    investments: list[Investment] = Field(default_factory=list)


def load_scenario(path: str | Path) -> Scenario:
    """Return the scenario described by a YAML file.

    Raises
    ------
    ConfigError
        One line naming the file and the offending field.
    """
    return load_model(
        path, Scenario, "scenario file", "sales_change, late_payers, hires, investments"
    )


def _scenario(value: Scenario | Mapping[str, Any] | None) -> Scenario:
    if value is None:
        return Scenario()
    if isinstance(value, Scenario):
        return value
    try:
        return Scenario.model_validate(dict(value))
    except pydantic.ValidationError as exc:
        raise validation_error(exc, "scenario", Scenario) from None
