"""Cash-flow projection: the bank balance week by week or month by month, with its uncertainty.

:func:`project_cash` simulates ``paths`` futures of the business's cash, day by
day from the day after ``as_of``, and reports per period the balance quantiles,
the mean flow of every item (so a dip can be explained), the chance of being
below zero, when cash most likely first runs out, the runway and the items that
drive the lowest point. The rules, each chosen to be simple enough to check by
hand, are documented with the code that applies them:

* :mod:`~smbgrowth.models.cashflow.periods`: rolling weeks and months, and the
  daily flows behind them;
* :mod:`~smbgrowth.models.cashflow.payments`: how customers pay their invoices
  (:func:`learn_payment_behaviour`, :class:`PaymentBehaviour`);
* :mod:`~smbgrowth.models.cashflow.projection`: open invoices, balances and the
  summary (:func:`project_cash`, :class:`CashProjection`);
* :mod:`~smbgrowth.models.cashflow.sales`: future order sales and future
  invoiced sales;
* :mod:`~smbgrowth.models.cashflow.costs`: open bills, recurring, variable,
  marketing and other costs;
* :mod:`~smbgrowth.models.cashflow.scenario`: what-if changes
  (:class:`Scenario`, :func:`load_scenario`);
* :mod:`~smbgrowth.models.cashflow.balance`: the opening balance stored in the
  workspace (:func:`opening_balance`).

Limits, said plainly: marketplace orders are taken as paid at purchase (payout
delays are not in the data); invoiced accounts are not churned within the
horizon; costs, other than variable ones, do not grow with sales; a monthly bill
that is due by ``as_of`` but not yet recorded is not projected.
"""

from smbgrowth.models.cashflow.balance import CashBalance, opening_balance
from smbgrowth.models.cashflow.payments import (
    MIN_OWN_INVOICES,
    PaymentBehaviour,
    learn_payment_behaviour,
)
from smbgrowth.models.cashflow.projection import QUANTILES, CashProjection, project_cash
from smbgrowth.models.cashflow.scenario import (
    Hire,
    Investment,
    LatePayer,
    Scenario,
    load_scenario,
)

__all__ = [
    "MIN_OWN_INVOICES",
    "QUANTILES",
    "CashBalance",
    "CashProjection",
    "Hire",
    "Investment",
    "LatePayer",
    "PaymentBehaviour",
    "Scenario",
    "learn_payment_behaviour",
    "load_scenario",
    "opening_balance",
    "project_cash",
]
