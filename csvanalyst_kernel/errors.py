"""The one error type of the notebook side: what went wrong, as the server (or the client) says it.

    ClientError                    code, message, suggestion, http_status, run_id
    └── RunFailed                  raised only when ``AskMagics.raise_on_error`` is set

``code`` is one of the stable server codes of DESIGN.md (``SQL_POLICY_VIOLATION``,
``PLANNER_ERROR``, ``DATASET_NOT_FOUND``, ...) passed through from the server's error envelope,
or one of the client-side codes below for failures that never reached a server's answer:

    SERVER_UNREACHABLE      nothing answers at the server URL (connection refused, DNS, reset)
    SERVER_TIMEOUT          the server took longer than the client's read timeout
    BAD_RESPONSE            the server answered something that is not the HTTP API contract
    SERVER_NOT_INSTALLED    no server URL configured and the ``[server]`` extra is missing
    SERVER_START_FAILED     the embedded server did not come up

Client-side codes are deliberately distinct from ``EXECUTOR_UNAVAILABLE``: that one means the
server is up but its sandbox is not, which calls for a different fix.
"""

from __future__ import annotations

from typing import Literal

ClientCode = Literal[
    "SERVER_UNREACHABLE", "SERVER_TIMEOUT", "BAD_RESPONSE", "SERVER_NOT_INSTALLED", "SERVER_START_FAILED"
]
CLIENT_CODES: frozenset[str] = frozenset(ClientCode.__args__)  # type: ignore[attr-defined]


class ClientError(Exception):
    """An error for people: a stable ``code``, a ``message`` and, when there is one, a ``suggestion``."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        suggestion: str | None = None,
        http_status: int | None = None,
        run_id: str | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.suggestion = suggestion
        self.http_status = http_status
        self.run_id = run_id

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class RunFailed(ClientError):
    """A run that the server rejected or that failed in its sandbox (``raise_on_error`` only)."""
