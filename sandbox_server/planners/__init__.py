"""Planners: question (+ previous plan) -> ``PlannerOutput`` (a QueryPlan, never code).

``OfflinePlanner`` is the embedded, deterministic default (no LLM).
"""

from sandbox_server.planners.base import Planner, PlannerOutput
from sandbox_server.planners.offline import OfflinePlanner

__all__ = ["OfflinePlanner", "Planner", "PlannerOutput"]
