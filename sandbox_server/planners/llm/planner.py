"""The LLM planner: a question becomes a QueryPlan (or, exceptionally, SQL) chosen by a chat model.

Any OpenAI-compatible endpoint works: ``ChatOpenAI`` reads ``OPENAI_API_KEY`` and
``OPENAI_BASE_URL`` from the environment; the model is ``CSVANALYST_LLM_MODEL``. Per question:

    render schema + previous plan + question (as data) ─► agent (tools, structured answer)
        ─► check (validate, compile, policy) ─► error fed back, up to llm_max_corrections
        ─► PlannerOutput(plan | sql, planner="llm:<model>", meta: tokens, latency, corrections)

When corrections run out, the last answer is returned as is: service.py's own validation or
policy then rejects the run, so the capsule records the offending plan/SQL, the rule it broke
and the planner meta. Only an answer that never parsed, or an empty one, raises here.

When the model cannot be reached (timeout, connection, auth, 5xx, ...: see ``unavailable``)
the question goes to the ``fallback`` planner and the message says so.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from langchain_core.language_models import BaseChatModel

from sandbox_server.errors import PlannerError, ValidationError
from sandbox_server.plan import QueryPlan
from sandbox_server.planners.base import Planner, PlannerOutput
from sandbox_server.planners.llm.agent import Conversation, Usage, build_agent, converse
from sandbox_server.planners.llm.checks import PlannerAnswer, check_answer
from sandbox_server.planners.llm.prompt import MAX_TEXT_CHARS, clean, render_request
from sandbox_server.planners.llm.tools import Preview, ToolSession, make_tools
from sandbox_server.planners.llm.unavailable import READABLE, Reason, unavailable_reason
from sandbox_server.registry import Dataset
from sandbox_server.settings import Settings

log = logging.getLogger("csvanalyst.planner.llm")

# The planner has its own fallback, so retrying a dead endpoint for long helps nobody: one retry
# absorbs a blip, and a timeout costs at most about 2 x llm_timeout_s before the offline answer.
MAX_RETRIES = 1


def make_chat_model(settings: Settings) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(model=settings.llm_model or "", timeout=settings.llm_timeout_s, max_retries=MAX_RETRIES)


class LLMPlanner:
    """Plans with a chat model; answers with ``fallback`` when the model is unavailable.

    ``preview`` (optional) runs policy-approved SQL in a sandbox for the tools; without it the
    tools only validate. ``chat_model`` replaces the ChatOpenAI built from settings.
    """

    name = "llm"

    def __init__(
        self,
        settings: Settings,
        *,
        fallback: Planner,
        chat_model: BaseChatModel | None = None,
        preview: Preview | None = None,
    ) -> None:
        self.settings = settings
        self.fallback = fallback
        self.preview = preview
        self.model = settings.llm_model or str(getattr(chat_model, "model_name", None) or "custom")
        self._not_configured: str | None = None
        self._chat_model: BaseChatModel | None = chat_model
        if chat_model is None:
            try:
                self._chat_model = make_chat_model(settings)
            except Exception as exc:  # the client refuses to exist (no API key): translated below
                if unavailable_reason(exc) is None:
                    raise
                self._not_configured = str(exc)
                log.warning("LLM planner not configured (%s); questions go to the offline planner", exc)

    @property
    def label(self) -> str:
        return f"llm:{self.model}"

    def plan(self, question: str, dataset: Dataset, *, previous: QueryPlan | None = None) -> PlannerOutput:
        if self._chat_model is None:
            return self._fall_back("not_configured", self._not_configured or "", question, dataset, previous)
        started = time.perf_counter()
        usage = Usage()
        session = ToolSession(dataset, self.settings, self.preview)
        agent = build_agent(self._chat_model, make_tools(session))
        try:
            talk = converse(
                agent,
                render_request(question, dataset, previous),
                judge=lambda answer: check_answer(answer, dataset, self.settings),
                max_corrections=max(0, self.settings.llm_max_corrections),
                usage=usage,
            )
        except Exception as exc:
            reason = unavailable_reason(exc)
            if reason is None:
                raise
            log.warning("LLM unavailable (%s: %s); falling back", reason, exc)
            return self._fall_back(reason, str(exc), question, dataset, previous)
        meta = self._meta(talk, usage, started)
        # What the tools checked (and, under llm_privacy=rows, previewed in a sandbox) is part
        # of this run's record: those dry runs get no capsule of their own.
        meta["tool_checks"] = [
            {"kind": body.get("kind"), "sql": body.get("sql"), "previewed": self.preview is not None}
            for body in session.checks.values()
        ]
        return self._output(talk, meta, dataset)

    # -- outcomes --------------------------------------------------------------------------
    def _meta(self, talk: Conversation, usage: Usage, started: float) -> dict[str, Any]:
        answer = talk.answer
        meta: dict[str, Any] = {
            "model": self.model,
            **usage.as_meta(),
            "latency_ms": round((time.perf_counter() - started) * 1000, 3),
            "corrections": talk.corrections,
            "tool_calls": talk.tool_calls,
            "raw_sql": bool(answer and answer.plan is None and answer.sql is not None),
            "privacy": self.settings.llm_privacy,
        }
        if not talk.verdict.ok:
            meta["unresolved_error"] = talk.verdict.error
        return meta

    def _output(self, talk: Conversation, meta: dict[str, Any], dataset: Dataset) -> PlannerOutput:
        answer = talk.answer
        if answer is None:
            # Not one parsable answer in 1 + corrections attempts: there is nothing to hand on.
            raise ValidationError(
                f"the language model gave no valid answer after {talk.corrections} correction(s): "
                f"{talk.verdict.error}",
                suggestion="rephrase the question, or ask again",
                planner=self.label,
                planner_meta=meta,
            )
        explanation = clean(answer.explanation, MAX_TEXT_CHARS)
        if answer.plan is None and answer.sql is None:
            raise PlannerError(
                f"the language model could not plan this question: {explanation or 'no reason given'}",
                suggestion=_columns_hint(dataset),
                planner=self.label,
                planner_meta=meta,
            )
        if answer.plan is not None:
            return PlannerOutput(
                answer.plan, None, self.label, explanation or "planned by the language model", meta
            )
        return PlannerOutput(
            None, answer.sql, self.label, explanation or "SQL written by the language model", meta
        )

    def _fall_back(
        self, reason: Reason, detail: str, question: str, dataset: Dataset, previous: QueryPlan | None
    ) -> PlannerOutput:
        said = f"LLM unavailable ({READABLE[reason]})"
        try:
            out = self.fallback.plan(question, dataset, previous=previous)
        except PlannerError as exc:
            raise PlannerError(
                f"{said}; the offline planner could not answer either: {exc.message}",
                suggestion=exc.suggestion,
                fallback=reason,
            ) from exc
        meta = {**out.meta, "fallback": reason, "fallback_detail": detail[:500], "llm_model": self.model}
        return PlannerOutput(
            out.plan, out.sql, out.planner, f"{said}; answered by the offline planner: {out.message}", meta
        )


def _columns_hint(dataset: Dataset) -> str:
    columns = ", ".join(f"{t.name}.{c.name}" for t in dataset.tables for c in t.columns)
    return f"rephrase the question using the dataset's columns: {columns}"


__all__ = ["MAX_RETRIES", "LLMPlanner", "PlannerAnswer", "make_chat_model"]
