"""Every transport failure of the model maps to a fallback reason; anything else propagates."""

from __future__ import annotations

import httpx
import httpx2
import openai
import pytest

from sandbox_server.planners.llm.unavailable import READABLE, unavailable_reason

REQUEST = httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions")


def status_error(cls: type[openai.APIStatusError], code: int) -> openai.APIStatusError:
    return cls("boom", response=httpx2.Response(code, request=REQUEST), body=None)


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (openai.APITimeoutError(REQUEST), "timeout"),
        (openai.APIConnectionError(request=REQUEST), "unreachable"),
        (httpx.ReadTimeout("slow"), "timeout"),
        (httpx.ConnectError("refused"), "unreachable"),
        (httpx2.ReadTimeout("slow"), "timeout"),
        (httpx2.ConnectError("refused"), "unreachable"),
        (status_error(openai.AuthenticationError, 401), "auth"),
        (status_error(openai.PermissionDeniedError, 403), "auth"),
        (status_error(openai.RateLimitError, 429), "rate_limited"),
        (status_error(openai.NotFoundError, 404), "model_error"),
        (status_error(openai.BadRequestError, 400), "model_error"),
        (status_error(openai.InternalServerError, 500), "server_error"),
        (status_error(openai.APIStatusError, 503), "server_error"),
        (openai.OpenAIError("Missing credentials"), "not_configured"),
    ],
)
def test_transport_failures_mean_fall_back(exc: BaseException, reason: str) -> None:
    assert unavailable_reason(exc) == reason
    assert reason in READABLE


@pytest.mark.parametrize("exc", [ValueError("bug"), KeyError("x"), RuntimeError("graph")])
def test_other_errors_are_not_hidden_by_the_fallback(exc: BaseException) -> None:
    assert unavailable_reason(exc) is None
