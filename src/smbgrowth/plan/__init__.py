"""Automation plan: process inventory, opportunity catalogue, ROI and roadmap.

Measure → understand → simulate → automate → measure again: the plan matches
the business's pain points (scorecard, the growth model's binding constraint,
the process inventory) with the opportunity catalogue, runs each candidate on
the calibrated growth model against the baseline under uncertainty, ranks
them by impact × feasibility, phases them into pilots and scale-ups, and later
measures what an automation run with a holdout really returned.
"""

from smbgrowth.plan.assessment import Need, RankedOpportunity, assess_needs, rank_opportunities
from smbgrowth.plan.catalogue import Catalogue, Opportunity, load_catalogue
from smbgrowth.plan.inventory import Process, infer_processes, process_inventory, save_processes
from smbgrowth.plan.planner import AutomationPlan, build_plan, make_plan, realised_returns
from smbgrowth.plan.realised import RealisedROI, realised_roi
from smbgrowth.plan.roadmap import Roadmap, build_roadmap
from smbgrowth.plan.roi import OpportunityROI, ROIResult, evaluate_opportunities

__all__ = [
    "AutomationPlan",
    "Catalogue",
    "Need",
    "Opportunity",
    "OpportunityROI",
    "Process",
    "ROIResult",
    "RankedOpportunity",
    "RealisedROI",
    "Roadmap",
    "assess_needs",
    "build_plan",
    "build_roadmap",
    "evaluate_opportunities",
    "infer_processes",
    "load_catalogue",
    "make_plan",
    "process_inventory",
    "rank_opportunities",
    "realised_returns",
    "realised_roi",
    "save_processes",
]
