"""The agent's tools (the seed's five), bound to the one dataset a question is about.

    list_datasets()                         the dataset of this question (the planner sees one)
    get_dataset_schema(dataset_id)          schema and column profiles, as data
    execute_query_plan(dataset_id, plan_json)   validate + compile + policy: the verdict and SQL
    execute_sql(dataset_id, sql)            policy: the verdict and the SQL that would run
    get_run_status(run_id)                  a verdict given earlier in this conversation

Despite their seed names, the ``execute_*`` tools run nothing: a question's query runs once,
in a sandbox, in service.py after ``plan()`` returns. The "run ids" they hand out name dry-run
checks kept for this conversation only. When a ``preview`` callback is injected (it must run
the query through a sandboxed executor), the tools add the result's shape, and — only under
``llm_privacy == "rows"`` — at most ``PREVIEW_ROWS`` rows. Under ``schema_only`` the model never
sees a result row.
"""

from __future__ import annotations

import dataclasses
import inspect
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.tools import BaseTool, StructuredTool

from sandbox_server.errors import CsvAnalystError
from sandbox_server.executors.base import Executor, Limits, RunSpec
from sandbox_server.planners.llm.checks import Verdict, check_plan, check_query, parse_plan
from sandbox_server.planners.llm.prompt import MAX_TEXT_CHARS, as_data, clean, schema_view
from sandbox_server.registry import Dataset
from sandbox_server.settings import Settings

PREVIEW_ROWS = 5
Privacy = Literal["rows", "schema_only"]
# Runs the (policy-approved) SQL in a sandbox and returns the runner response
# ({columns, rows, row_count, truncated, error}); see tools' module docstring.
Preview = Callable[[Dataset, str], Mapping[str, Any]]


def executor_preview(executor: Executor, limits: Limits) -> Preview:
    """A ``Preview`` that runs through ``executor`` (a real sandbox), returning at most
    ``PREVIEW_ROWS`` rows. These dry runs get no capsule: they are part of planning."""

    def preview(dataset: Dataset, sql: str) -> Mapping[str, Any]:
        spec = RunSpec(
            f"preview-{uuid.uuid4().hex}", dataset, sql, dataclasses.replace(limits, max_rows=PREVIEW_ROWS)
        )
        return executor.run(spec).response

    return preview


@dataclass
class ToolSession:
    """What the tools of one ``plan()`` call share: the dataset, the settings, the checks made."""

    dataset: Dataset
    settings: Settings
    preview: Preview | None = None
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def privacy(self) -> Privacy:
        return self.settings.llm_privacy

    def wrong_dataset(self, dataset_id: str) -> str | None:
        if dataset_id == self.dataset.id:
            return None
        return as_data(
            {
                "error": f"only dataset {self.dataset.id!r} can be used for this question, not {clean(dataset_id, 80)!r}"
            }
        )

    def record(self, kind: str, verdict: Verdict) -> str:
        run_id = f"check-{len(self.checks) + 1}"
        body: dict[str, Any] = {"run_id": run_id, "kind": kind, **verdict.to_json()}
        if verdict.ok and verdict.sql and self.preview is not None:
            body.update(self._preview(verdict.sql))
        self.checks[run_id] = body
        return as_data(body)

    def _preview(self, sql: str) -> dict[str, Any]:
        try:
            response = self.preview(self.dataset, sql) if self.preview else {}
        except CsvAnalystError as exc:
            return {"status": "failed", "error": clean(exc.message, MAX_TEXT_CHARS)}
        error = response.get("error")
        if error:
            return {"status": "failed", "error": clean(error.get("message", "failed"), MAX_TEXT_CHARS)}
        out: dict[str, Any] = {
            "status": "succeeded",
            "result_columns": [c.get("name") for c in response.get("columns") or []],
            "row_count": response.get("row_count"),
        }
        if self.privacy == "rows":
            out["preview_rows"] = list(response.get("rows") or [])[:PREVIEW_ROWS]
        return out


def make_tools(session: ToolSession) -> list[BaseTool]:
    dataset = session.dataset

    def list_datasets() -> str:
        """List the datasets available for this question (id, description, tables)."""
        return as_data(
            [
                {
                    "id": dataset.id,
                    "description": clean(dataset.description, MAX_TEXT_CHARS),
                    "tables": [clean(t.name, 120) for t in dataset.tables],
                }
            ]
        )

    def get_dataset_schema(dataset_id: str) -> str:
        """Return a dataset's schema: tables, typed columns with descriptions and profiles
        (distinct values of text columns, min/max), relationships and named measures."""
        return session.wrong_dataset(dataset_id) or as_data(schema_view(dataset))

    def execute_query_plan(dataset_id: str, plan_json: str) -> str:
        """Check a QueryPlan (given as JSON text): validation, compilation and the SQL policy.
        Returns a run_id, whether it is valid, the SQL that would run and the output columns,
        or the error to fix. Does not return result rows."""
        wrong = session.wrong_dataset(dataset_id)
        if wrong:
            return wrong
        plan = parse_plan(plan_json, dataset)
        verdict = plan if isinstance(plan, Verdict) else check_plan(plan, dataset, session.settings)
        return session.record("plan", verdict)

    def execute_sql(dataset_id: str, sql: str) -> str:
        """Check one read-only SELECT against the SQL policy. Returns a run_id, whether it is
        allowed and the SQL that would run (LIMIT added), or the rule it breaks. Use only when a
        QueryPlan cannot express the question."""
        return session.wrong_dataset(dataset_id) or session.record(
            "sql", check_query(sql, dataset, session.settings)
        )

    def get_run_status(run_id: str) -> str:
        """Return the result of an earlier execute_query_plan/execute_sql call by its run_id."""
        found = session.checks.get(run_id)
        if found is None:
            known = ", ".join(session.checks) or "none yet"
            return as_data(
                {"error": f"unknown run_id {clean(run_id, 80)!r}; run ids of this conversation: {known}"}
            )
        return as_data(found)

    functions: list[Callable[..., str]] = [
        list_datasets,
        get_dataset_schema,
        execute_query_plan,
        execute_sql,
        get_run_status,
    ]
    # cleandoc: the model reads the docstring as the tool's description, without code indentation.
    return [StructuredTool.from_function(f, description=inspect.cleandoc(f.__doc__ or "")) for f in functions]
