"""The opening cash balance: the cash in the bank stored in the workspace's metadata."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import ConfigError

__all__ = ["CashBalance", "opening_balance"]


class CashBalance(NamedTuple):
    """Cash in the bank at the end of ``as_of``."""

    amount: float
    as_of: dt.date


def opening_balance(ws: Workspace) -> CashBalance:
    """Return the cash balance stored in the workspace (``cash_balance`` metadata).

    Raises
    ------
    ConfigError
        When none is stored: pass the balance explicitly (``--balance`` on the CLI).
    """
    value = ws.get_meta("cash_balance")
    if not isinstance(value, dict) or "amount" not in value or "as_of" not in value:
        raise ConfigError(
            f"workspace {ws.path} stores no cash balance; pass --balance AMOUNT (the cash in "
            "the bank at the end of --as-of)"
        )
    try:
        return CashBalance(float(value["amount"]), dt.date.fromisoformat(str(value["as_of"])))
    except (TypeError, ValueError):
        raise ConfigError(
            f"workspace {ws.path} has an unreadable cash_balance {value!r}; pass --balance AMOUNT"
        ) from None
