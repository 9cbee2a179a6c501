"""The conversation with the model: a LangChain agent with tools, and the correction loop.

``create_agent`` (langchain 1.x) runs the tool loop; its structured output is a
``PlannerAnswer`` requested as a ``response_format`` json_schema (``ProviderStrategy``: the
final message's content is the JSON answer). Around it, ``converse`` judges each answer with
the pipeline's own stages (``checks.check_answer``) and, while corrections remain, sends the
checker's message back and asks again. An answer that does not even parse as a
``PlannerAnswer`` counts as a failed attempt too.

Errors of the model's transport (openai/httpx: timeout, connection, HTTP status) propagate
unchanged: the planner decides that they mean "fall back to the offline planner".
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langchain.agents import create_agent
from langchain.agents.structured_output import ProviderStrategy, StructuredOutputError
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AnyMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, LLMResult
from langgraph.errors import GraphRecursionError
from pydantic import ValidationError as PydanticError

from sandbox_server.errors import PlannerError
from sandbox_server.planners.llm.checks import PlannerAnswer, Verdict, describe
from sandbox_server.planners.llm.prompt import SYSTEM_PROMPT, render_correction

# Graph steps per attempt: one model call plus one tool step per tool round, so this allows
# about seven tool rounds before the model must answer; a model looping on tools is an error.
MAX_STEPS_PER_ATTEMPT = 16


class Usage(BaseCallbackHandler):
    """Counts model calls and tokens across the whole conversation (every attempt)."""

    def __init__(self) -> None:
        self.calls = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self._lock = threading.Lock()  # tool calls and model calls may report from worker threads

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        with self._lock:
            self.calls += 1
            for generations in response.generations:
                for gen in generations:
                    usage = (
                        getattr(gen.message, "usage_metadata", None)
                        if isinstance(gen, ChatGeneration)
                        else None
                    )
                    if usage:
                        self.prompt_tokens += usage.get("input_tokens", 0)
                        self.completion_tokens += usage.get("output_tokens", 0)

    def as_meta(self) -> dict[str, int]:
        return {
            "llm_calls": self.calls,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }


@dataclass(frozen=True)
class Conversation:
    """How the conversation ended: the last answer (None if none parsed), its verdict, and how
    many corrections were asked for. ``verdict.ok`` False means the corrections ran out."""

    answer: PlannerAnswer | None
    verdict: Verdict
    corrections: int
    tool_calls: int


def build_agent(model: BaseChatModel, tools: list[Any]) -> Any:
    return create_agent(
        model,
        tools,
        system_prompt=SYSTEM_PROMPT,
        response_format=ProviderStrategy(PlannerAnswer),
    )


def converse(
    agent: Any,
    request: str,
    *,
    judge: Callable[[PlannerAnswer], Verdict],
    max_corrections: int,
    usage: Usage,
) -> Conversation:
    """Ask, judge, and feed errors back up to ``max_corrections`` times."""
    messages: list[AnyMessage] = [HumanMessage(request)]
    corrections = 0
    config: dict[str, Any] = {"callbacks": [usage], "recursion_limit": MAX_STEPS_PER_ATTEMPT}
    while True:
        answer: PlannerAnswer | None = None
        state: dict[str, Any] = {"messages": messages}
        try:
            # Streamed so that the history up to a failure is kept (for the correction message).
            for step in agent.stream({"messages": messages}, config, stream_mode="values"):
                state = step
            messages = list(state["messages"])
            answer = state.get("structured_response")
            verdict = (
                judge(answer)
                if answer is not None
                else Verdict(ok=False, error="no answer was given", code="VALIDATION_ERROR")
            )
        except StructuredOutputError as exc:
            # The final message did not parse as a PlannerAnswer: keep it in the history so the
            # model sees what it said, and tell it what was wrong.
            messages = [*state["messages"], exc.ai_message]
            source = getattr(exc, "source", exc)
            detail = describe(source) if isinstance(source, PydanticError) else str(source)
            verdict = Verdict(
                ok=False, error=f"the answer is not a valid PlannerAnswer: {detail}", code="VALIDATION_ERROR"
            )
        except GraphRecursionError as exc:
            raise PlannerError(
                "the language model kept calling tools without giving an answer",
                suggestion="rephrase the question more specifically",
            ) from exc
        if verdict.ok or corrections >= max_corrections:
            return Conversation(answer, verdict, corrections, _tool_calls(messages))
        corrections += 1
        messages = [
            *messages,
            HumanMessage(render_correction(verdict.error or "rejected", corrections, max_corrections)),
        ]


def _tool_calls(messages: list[AnyMessage]) -> int:
    return sum(len(getattr(m, "tool_calls", None) or []) for m in messages)
