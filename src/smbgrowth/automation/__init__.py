"""Automation: durable workflows with triggers, approvals, consent and exactly-once effects.

Workflows are data (:mod:`~smbgrowth.automation.definitions`), kept in the
workspace's operational database with every version
(:mod:`~smbgrowth.automation.store`), run durably on DBOS by one worker per
workspace (:mod:`~smbgrowth.automation.engine`,
:mod:`~smbgrowth.automation.worker`), started by events, schedules, metric
thresholds, segment changes and record conditions
(:mod:`~smbgrowth.automation.triggers`), and checked without effects by
:mod:`~smbgrowth.automation.dryrun`.
"""

from __future__ import annotations

from smbgrowth.automation.definitions import Workflow, load_workflow, parse_workflow
from smbgrowth.automation.store import AutomationStore

__all__ = ["AutomationStore", "Workflow", "load_workflow", "parse_workflow"]
