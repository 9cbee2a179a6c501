"""The LLM planner (LangChain agent over any OpenAI-compatible endpoint), used when
``CSVANALYST_LLM_MODEL`` is set; falls back to the offline planner when the model is unavailable.

Modules, in the order a question meets them: ``prompt`` (system prompt; schema and question
rendered as data), ``tools`` (the agent's dry-run tools), ``agent`` (the agent and the
correction loop), ``checks`` (validation, compilation and policy verdicts), ``unavailable``
(which failures mean "fall back"), ``planner`` (``LLMPlanner``, the Planner protocol).
"""

from sandbox_server.planners.llm.checks import PlannerAnswer
from sandbox_server.planners.llm.planner import LLMPlanner
from sandbox_server.planners.llm.tools import Preview

__all__ = ["LLMPlanner", "PlannerAnswer", "Preview"]
