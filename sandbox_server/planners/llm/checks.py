"""Judging what the model proposes, with the pipeline's own stages and nothing else.

A plan is validated and compiled (``validate_plan`` / ``compile_plan``) and the SQL goes through
the policy (``check_sql``); raw SQL goes straight to the policy. The verdict is a frozen value:
the tools report it to the model, and the planner's correction loop feeds its message back.
Nothing here executes a query: service.py does, after ``plan()`` returns, and re-checks
everything itself (so a bug here can never let a query through).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from sandbox_server.compiler import compile_plan
from sandbox_server.errors import CsvAnalystError, ErrorCode
from sandbox_server.plan import QueryPlan
from sandbox_server.policy import Allow, check_sql
from sandbox_server.registry import Dataset
from sandbox_server.settings import Settings
from sandbox_server.validate import validate_plan


class PlannerAnswer(BaseModel):
    """The model's final answer (its structured output): a plan, or — the exception — raw SQL."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    plan: QueryPlan | None = Field(
        None, description="The QueryPlan answering the question (the default). Null only when 'sql' is used."
    )
    sql: str | None = Field(
        None,
        description="One read-only DuckDB SELECT, only when the plan cannot express the question; else null.",
    )
    explanation: str = Field(
        "", description="One or two sentences for the user: how the question was read (and why SQL, if SQL)."
    )


@dataclass(frozen=True)
class Verdict:
    """Whether a plan or query would be accepted. ``sql`` is what would run (after the policy's
    LIMIT); ``columns`` the output names of a plan; ``error`` the message for the model."""

    ok: bool
    sql: str | None = None
    columns: tuple[str, ...] = ()
    error: str | None = None
    code: ErrorCode | None = None
    rule: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"valid": self.ok}
        if self.ok:
            body["sql"] = self.sql
            if self.columns:
                body["columns"] = list(self.columns)
        else:
            body.update(code=self.code, error=self.error)
            if self.rule:
                body["rule"] = self.rule
        return body


def _failed(exc: CsvAnalystError) -> Verdict:
    message = (
        exc.message
        if not exc.suggestion or exc.suggestion in exc.message
        else f"{exc.message} ({exc.suggestion})"
    )
    return Verdict(ok=False, error=message, code=exc.code, rule=exc.details.get("rule"))


def check_query(sql: str, dataset: Dataset, settings: Settings) -> Verdict:
    verdict = check_sql(
        sql, dataset.table_names, default_limit=settings.sql_default_limit, max_limit=settings.sql_max_limit
    )
    if isinstance(verdict, Allow):
        return Verdict(ok=True, sql=verdict.sql)
    return Verdict(ok=False, error=verdict.message, code="SQL_POLICY_VIOLATION", rule=verdict.rule)


def check_plan(plan: QueryPlan, dataset: Dataset, settings: Settings) -> Verdict:
    try:
        columns = validate_plan(plan, dataset).output_names
        sql = compile_plan(plan, dataset)
    except CsvAnalystError as exc:
        return _failed(exc)
    verdict = check_query(sql, dataset, settings)
    return Verdict(True, verdict.sql, columns) if verdict.ok else verdict


def check_answer(answer: PlannerAnswer, dataset: Dataset, settings: Settings) -> Verdict:
    """The plan if there is one (it wins over SQL), else the SQL. An empty answer is not judged
    here: the planner turns it into PLANNER_ERROR."""
    if answer.plan is not None:
        return check_plan(answer.plan, dataset, settings)
    if answer.sql is not None:
        return check_query(answer.sql, dataset, settings)
    return Verdict(ok=True)


def parse_plan(text: str, dataset: Dataset) -> QueryPlan | Verdict:
    """A plan sent by the model as JSON text (a tool argument), or the verdict saying why not.
    A missing ``dataset_id`` is filled in: the tool call already names the dataset."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return Verdict(ok=False, error=f"plan_json is not valid JSON: {exc}", code="VALIDATION_ERROR")
    if not isinstance(data, dict):
        return Verdict(
            ok=False, error="plan_json must be a JSON object (a QueryPlan)", code="VALIDATION_ERROR"
        )
    try:
        return QueryPlan.model_validate({"dataset_id": dataset.id, **data})
    except PydanticError as exc:
        return Verdict(ok=False, error=f"invalid plan: {describe(exc)}", code="VALIDATION_ERROR")


def describe(exc: PydanticError) -> str:
    """A pydantic error as one line a model can act on: ``filters.0.op: Input should be ...``."""
    parts = []
    for err in exc.errors(include_url=False)[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "plan"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)
