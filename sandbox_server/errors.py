"""The one error hierarchy of csvanalyst, with the stable codes of DESIGN.md.

    CsvAnalystError                      (base; never raised itself)
    ├── ValidationError                  VALIDATION_ERROR          400 / run status "rejected"
    ├── PolicyViolation                  SQL_POLICY_VIOLATION      run status "rejected"
    ├── PlannerError                     PLANNER_ERROR             run status "rejected"
    ├── DatasetNotFound                  DATASET_NOT_FOUND         404
    ├── DatasetInvalid                   DATASET_INVALID           400 (bad upload or registry)
    ├── RunnerError                      (a run that reached a sandbox and failed there)
    │   ├── RunnerTimeout                RUNNER_TIMEOUT
    │   ├── RunnerResourceExceeded       RUNNER_RESOURCE_EXCEEDED
    │   └── RunnerInternalError          RUNNER_INTERNAL_ERROR
    ├── ExecutorUnavailable              EXECUTOR_UNAVAILABLE      503
    ├── Unauthorized                     UNAUTHORIZED              401
    └── Forbidden                        FORBIDDEN                 403

Foreign exceptions (pydantic, duckdb, docker, kubernetes, sqlglot, httpx) are translated into
these at the boundary where they occur (``raise X from exc``); the HTTP layer has one handler
that turns any of them into the one JSON error envelope (see ``envelope``).

This module is pure Python so the notebook side can import the codes without the server's
dependencies.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

ErrorCode = Literal[
    "VALIDATION_ERROR",
    "SQL_POLICY_VIOLATION",
    "PLANNER_ERROR",
    "DATASET_NOT_FOUND",
    "DATASET_INVALID",
    "RUNNER_TIMEOUT",
    "RUNNER_RESOURCE_EXCEEDED",
    "RUNNER_INTERNAL_ERROR",
    "EXECUTOR_UNAVAILABLE",
    "UNAUTHORIZED",
    "FORBIDDEN",
]


class CsvAnalystError(Exception):
    """Base of every csvanalyst error: a stable ``code``, a message for people, and details."""

    code: ClassVar[ErrorCode]
    http_status: ClassVar[int] = 400

    def __init__(self, message: str, *, suggestion: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.suggestion = suggestion
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.suggestion:
            body["suggestion"] = self.suggestion
        if self.details:
            body["details"] = self.details
        return body


class ValidationError(CsvAnalystError):
    code = "VALIDATION_ERROR"


class PolicyViolation(CsvAnalystError):
    code = "SQL_POLICY_VIOLATION"


class PlannerError(CsvAnalystError):
    code = "PLANNER_ERROR"


class DatasetNotFound(CsvAnalystError):
    code = "DATASET_NOT_FOUND"
    http_status = 404


class DatasetInvalid(CsvAnalystError):
    code = "DATASET_INVALID"


class RunnerError(CsvAnalystError):
    code: ClassVar[ErrorCode] = "RUNNER_INTERNAL_ERROR"
    http_status = 500


class RunnerTimeout(RunnerError):
    code = "RUNNER_TIMEOUT"


class RunnerResourceExceeded(RunnerError):
    code = "RUNNER_RESOURCE_EXCEEDED"


class RunnerInternalError(RunnerError):
    code = "RUNNER_INTERNAL_ERROR"


class ExecutorUnavailable(CsvAnalystError):
    code = "EXECUTOR_UNAVAILABLE"
    http_status = 503


class Unauthorized(CsvAnalystError):
    code = "UNAUTHORIZED"
    http_status = 401


class Forbidden(CsvAnalystError):
    code = "FORBIDDEN"
    http_status = 403


BY_CODE: dict[str, type[CsvAnalystError]] = {
    cls.code: cls
    for cls in (
        ValidationError,
        PolicyViolation,
        PlannerError,
        DatasetNotFound,
        DatasetInvalid,
        RunnerTimeout,
        RunnerResourceExceeded,
        RunnerInternalError,
        ExecutorUnavailable,
        Unauthorized,
        Forbidden,
    )
}


def from_code(code: str, message: str, **details: Any) -> CsvAnalystError:
    """Rebuild an error from its code (e.g. a runner response); unknown codes are internal errors."""
    return BY_CODE.get(code, RunnerInternalError)(message, **details)


def envelope(error: CsvAnalystError) -> dict[str, Any]:
    """The one JSON error envelope of the HTTP API: ``{"error": {code, message, ...}}``."""
    return {"error": error.to_dict()}
