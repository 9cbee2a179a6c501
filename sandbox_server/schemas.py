"""The wire models of the HTTP API (DESIGN.md), shared by the server and the notebook client.

Depends on pydantic only, so ``csvanalyst_kernel`` can import it without the server's
dependencies.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sandbox_server.plan import QueryPlan

RunStatus = Literal["succeeded", "failed", "rejected"]


class ResultColumn(BaseModel):
    name: str
    type: str


class Result(BaseModel):
    columns: list[ResultColumn] = Field(default_factory=list)
    rows: list[list[Any]] = Field(default_factory=list)
    row_count: int = 0
    truncated: bool = False


class ErrorInfo(BaseModel):
    code: str
    message: str
    suggestion: str | None = None
    details: dict[str, Any] | None = None


class RunResponse(BaseModel):
    """What ``POST /v1/ask`` and ``POST /v1/runs`` return, and ``--json`` prints."""

    run_id: str
    status: RunStatus
    dataset_id: str
    question: str | None = None
    thread_id: str | None = None
    plan: dict[str, Any] | None = None
    sql: str | None = None
    result: Result = Field(default_factory=Result)
    chart: dict[str, Any] | None = Field(None, description="Vega-Lite spec, when the result is chartable")
    message: str = ""
    error: ErrorInfo | None = None
    timings_ms: dict[str, float] = Field(default_factory=dict)
    planner: str | None = None
    executor: str | None = None


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset_id: str
    question: str = Field(min_length=1, max_length=4000)
    thread_id: str | None = None


class RunRequest(BaseModel):
    """Exactly one of ``plan`` or ``sql``."""

    model_config = ConfigDict(extra="forbid")

    dataset_id: str
    plan: QueryPlan | dict[str, Any] | None = None
    sql: str | None = Field(None, max_length=100_000)

    @model_validator(mode="after")
    def _one_of(self) -> RunRequest:
        if (self.plan is None) == (self.sql is None):
            raise ValueError("give exactly one of 'plan' or 'sql'")
        return self


class DatasetSummary(BaseModel):
    id: str
    name: str = ""
    description: str = ""
    tables: list[str]
    version_hash: str
    prompts: list[str] = Field(default_factory=list)
    owner: str | None = None


class ColumnDetail(BaseModel):
    name: str
    type: str
    description: str = ""
    nullable: bool = False
    sample_values: list[Any] = Field(default_factory=list)


class TableDetail(BaseModel):
    name: str
    description: str = ""
    row_count: int | None = None
    columns: list[ColumnDetail]


class DatasetDetail(DatasetSummary):
    tables: list[TableDetail]  # type: ignore[assignment]
    relationships: list[dict[str, str]] = Field(default_factory=list)
    measures: list[dict[str, Any]] = Field(default_factory=list)


class Capsule(BaseModel):
    """The immutable record of one run (DESIGN.md "Run capsule")."""

    run_id: str
    created_at: str
    user: str | None = None
    dataset_id: str
    dataset_version_hash: str | None = None
    question: str | None = None
    thread_id: str | None = None
    planner: str | None = None
    planner_meta: dict[str, Any] = Field(default_factory=dict)
    plan_json: dict[str, Any] | None = None
    compiled_sql: str | None = None
    submitted_sql: str | None = None
    policy: dict[str, Any] | None = None
    executor: str | None = None
    resource_limits: dict[str, Any] = Field(default_factory=dict)
    runner_ref: str | None = None
    status: RunStatus
    error_code: str | None = None
    error_message: str | None = None
    result_preview: Result = Field(default_factory=Result)
    row_count: int = 0
    result_sha256: str | None = None
    timings_ms: dict[str, float] = Field(default_factory=dict)
    stdout: str = ""
    stderr: str = ""
    software_version: str = ""
    chart: dict[str, Any] | None = None
