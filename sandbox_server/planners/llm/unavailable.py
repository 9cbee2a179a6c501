"""Which failures mean "the LLM is unavailable" (answer with the offline planner instead).

The transport's exceptions (openai's, and httpx's should a client let one through) are mapped
here, at the boundary, to a short stable reason that goes into the message and the capsule's
``planner_meta["fallback"]``. Anything not listed is a bug and propagates.

    timeout        the model did not answer within llm_timeout_s (after retries)
    unreachable    connection refused / reset, DNS failure
    auth           401/403: missing or wrong OPENAI_API_KEY
    not_configured the client could not even be built (e.g. no API key in the environment)
    rate_limited   429
    model_error    another 4xx (unknown model, a request the endpoint does not support, ...)
    server_error   5xx
"""

from __future__ import annotations

from typing import Literal

import httpx
import httpx2  # openai 3.x's own HTTP stack (a fork of httpx); its errors usually arrive wrapped
import openai

Reason = Literal[
    "timeout", "unreachable", "auth", "not_configured", "rate_limited", "model_error", "server_error"
]

READABLE: dict[Reason, str] = {
    "timeout": "timeout",
    "unreachable": "unreachable",
    "auth": "authentication failed",
    "not_configured": "not configured",
    "rate_limited": "rate limited",
    "model_error": "request refused",
    "server_error": "server error",
}


def unavailable_reason(exc: BaseException) -> Reason | None:
    """The reason ``exc`` means the model cannot be used now, or None if it means something else.

    >>> unavailable_reason(httpx.ConnectTimeout("slow"))
    'timeout'
    >>> unavailable_reason(ValueError("bug")) is None
    True
    """
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException | httpx2.TimeoutException):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError | httpx2.TransportError):
        return "unreachable"
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return "auth"
    if isinstance(exc, openai.RateLimitError):
        return "rate_limited"
    if isinstance(exc, openai.APIStatusError):
        return "server_error" if exc.status_code >= 500 else "model_error"
    if isinstance(exc, openai.OpenAIError):  # raised by the client's constructor: no API key
        return "not_configured"
    return None
