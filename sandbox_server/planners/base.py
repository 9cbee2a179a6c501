"""What every planner returns, and the one-method interface the server calls.

A planner turns a question (and, in a conversation, the previous plan) into a ``QueryPlan``;
only the LLM planner may instead hand back raw SQL, which then takes the policy path like any
user SQL. Planners never run anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from sandbox_server.plan import QueryPlan
from sandbox_server.registry import Dataset


@dataclass(frozen=True)
class PlannerOutput:
    """A planner's decision. ``planner`` is ``"offline"`` or ``"llm:<model>"``; ``message`` is
    the planner's reading of the question for people; ``meta`` carries tokens, latency_ms, a
    fallback reason, ..."""

    plan: QueryPlan | None
    sql: str | None
    planner: str
    message: str
    meta: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Planner(Protocol):
    name: str

    def plan(self, question: str, dataset: Dataset, *, previous: QueryPlan | None = None) -> PlannerOutput:
        """Plan ``question`` over ``dataset``; raise ``PlannerError`` when it cannot."""
        ...
