"""The pipeline, wired in one place. It reads like the diagram in DESIGN.md:

    question ─► plan ─► validate + compile ─► policy ─► execute (sandbox) ─► capsule ─► response

Raw SQL enters at ``policy``. Every run, whatever its outcome, gets a run_id and one immutable
capsule. This module knows nothing about HTTP; ``app.py`` and the CLI call it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from sandbox_server import errors
from sandbox_server.catalog import Catalog
from sandbox_server.chart import chart_for, with_data
from sandbox_server.compiler import compile_plan
from sandbox_server.executors.base import Executor, Limits, RunSpec
from sandbox_server.metrics import Metrics
from sandbox_server.plan import QueryPlan
from sandbox_server.planners.base import Planner
from sandbox_server.policy import Allow, check_sql
from sandbox_server.registry import Dataset
from sandbox_server.schemas import AskRequest, Capsule, ErrorInfo, Result, RunRequest, RunResponse, RunStatus
from sandbox_server.settings import Settings
from sandbox_server.store import Store, now_iso

log = logging.getLogger("csvanalyst.runs")

OUTPUT_TRUNC_BYTES = 64 * 1024
_REJECTED_CODES = {"VALIDATION_ERROR", "SQL_POLICY_VIOLATION", "PLANNER_ERROR"}

try:
    SOFTWARE_VERSION = version("csvanalyst")
except PackageNotFoundError:  # running from a source tree without installing
    SOFTWARE_VERSION = "0+unknown"


def result_sha256(columns: list[dict[str, Any]], rows: list[list[Any]]) -> str:
    """A stable hash of a result: canonical JSON of its columns and rows."""
    canonical = json.dumps(
        {"columns": columns, "rows": rows}, sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class _Run:
    """What one run accumulates on its way through the pipeline."""

    run_id: str
    user: str | None
    dataset: Dataset
    question: str | None = None
    thread_id: str | None = None
    planner: str | None = None
    planner_meta: dict[str, Any] = field(default_factory=dict)
    plan: QueryPlan | None = None
    compiled_sql: str | None = None
    submitted_sql: str | None = None
    policy: dict[str, Any] | None = None
    sql: str | None = None
    executor: str | None = None
    runner_ref: str | None = None
    response: dict[str, Any] | None = None
    error: errors.CsvAnalystError | None = None
    message: str = ""
    result_sha256: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(self.timings.get(name, 0.0) + (time.perf_counter() - start) * 1000, 3)


class Service:
    def __init__(
        self,
        settings: Settings,
        *,
        store: Store,
        catalog: Catalog,
        executor: Executor,
        planner: Planner,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.catalog = catalog
        self.executor = executor
        self.planner = planner
        self.metrics = metrics or Metrics()

    @property
    def limits(self) -> Limits:
        return Limits.from_settings(self.settings)

    # -- entry points ----------------------------------------------------------------------
    def ask(self, user: str | None, request: AskRequest) -> RunResponse:
        dataset = self.catalog.get(request.dataset_id, user)
        previous, thread_id = self._thread(user, dataset, request.thread_id)
        run = _Run(_new_id(), user, dataset, question=request.question, thread_id=thread_id)
        try:
            with run.stage("plan"):
                out = self.planner.plan(request.question, dataset, previous=previous)
            run.planner, run.planner_meta, run.plan, run.message = (
                out.planner,
                out.meta,
                out.plan,
                out.message,
            )
            if out.plan is not None:
                self._compile(run, out.plan)
            else:
                run.submitted_sql = out.sql
            self._police_and_execute(run, run.compiled_sql or out.sql or "")
        except errors.CsvAnalystError as exc:
            run.error = exc
            # A planner that gives up says who it was and what it spent (model, tokens) in details.
            run.planner = (
                run.planner or exc.details.pop("planner", None) or getattr(self.planner, "name", None)
            )
            run.planner_meta = run.planner_meta or exc.details.pop("planner_meta", {})
        response = self._finish(run)
        self.store.add_turn(
            thread_id, run_id=run.run_id, question=request.question, plan=response.plan if run.plan else None
        )
        return response

    def run(self, user: str | None, request: RunRequest) -> RunResponse:
        dataset = self.catalog.get(request.dataset_id, user)
        run = _Run(_new_id(), user, dataset)
        try:
            if request.plan is not None:
                with run.stage("validate"):
                    try:
                        plan = (
                            request.plan
                            if isinstance(request.plan, QueryPlan)
                            else QueryPlan.model_validate({"dataset_id": dataset.id, **request.plan})
                        )
                    except ValueError as exc:
                        raise errors.ValidationError(f"invalid plan: {exc}") from exc
                self._compile(run, plan)
                sql = run.compiled_sql or ""
            else:
                run.submitted_sql = sql = request.sql or ""
            self._police_and_execute(run, sql)
        except errors.CsvAnalystError as exc:
            run.error = exc
        return self._finish(run)

    def replay(self, user: str | None, run_id: str) -> dict[str, Any]:
        """Re-execute a capsule's SQL on the dataset's current version; no planner, no LLM."""
        original = self.capsule(user, run_id)
        if not original.compiled_sql:
            raise errors.ValidationError(
                f"run {run_id} never reached execution (status {original.status}); there is nothing to replay"
            )
        dataset = self.catalog.get(original.dataset_id, user)
        run = _Run(_new_id(), user, dataset, question=original.question)
        run.planner, run.planner_meta = "replay", {"replay_of": run_id}
        try:
            self._police_and_execute(run, original.compiled_sql)
        except errors.CsvAnalystError as exc:
            run.error = exc
        response = self._finish(run)
        return {
            **response.model_dump(),
            "original_run_id": run_id,
            "original_result_sha256": original.result_sha256,
            "result_sha256": run.result_sha256,
            "matches": bool(run.result_sha256 and run.result_sha256 == original.result_sha256),
            "dataset_version_hash": dataset.version_hash,
            "dataset_version_changed": dataset.version_hash != original.dataset_version_hash,
        }

    def capsule(self, user: str | None, run_id: str) -> Capsule:
        return owned_capsule(self.store, user, run_id)

    def thread(self, user: str | None, thread_id: str) -> dict[str, Any]:
        thread = self.store.get_thread(thread_id)
        if thread is None:
            raise errors.ValidationError(
                f"no thread with id {thread_id!r}", suggestion="omit thread_id to start a new thread"
            )
        if thread["user"] != user:
            raise errors.Forbidden(f"thread {thread_id} belongs to another user")
        return thread

    def runs(self, user: str | None, *, dataset_id: str | None, limit: int) -> list[Capsule]:
        return self.store.list_capsules(user=user, dataset_id=dataset_id, limit=limit)

    # -- stages ------------------------------------------------------------------------------
    def _thread(
        self, user: str | None, dataset: Dataset, thread_id: str | None
    ) -> tuple[QueryPlan | None, str]:
        if thread_id is None:
            thread_id = _new_id()
            self.store.create_thread(thread_id, user=user, dataset_id=dataset.id)
            return None, thread_id
        thread = self.thread(user, thread_id)
        if thread["dataset_id"] != dataset.id:
            raise errors.ValidationError(
                f"thread {thread_id} is about dataset {thread['dataset_id']!r}, not {dataset.id!r}",
                suggestion="omit thread_id to start a new thread on this dataset",
            )
        plans = [t["plan"] for t in thread["turns"] if t["plan"]]
        return (QueryPlan.model_validate(plans[-1]) if plans else None), thread_id

    def _compile(self, run: _Run, plan: QueryPlan) -> None:
        run.plan = plan
        with run.stage("validate"):
            run.compiled_sql = compile_plan(plan, run.dataset)

    def _police_and_execute(self, run: _Run, sql: str) -> None:
        with run.stage("validate"):
            verdict = check_sql(
                sql,
                run.dataset.table_names,
                default_limit=self.settings.sql_default_limit,
                max_limit=self.settings.sql_max_limit,
            )
        run.policy = verdict.to_json()
        self.metrics.policy(allowed=isinstance(verdict, Allow), rule=run.policy.get("rule"))
        if not isinstance(verdict, Allow):
            raise errors.PolicyViolation(
                verdict.message, suggestion=verdict.suggestion or None, rule=verdict.rule
            )
        run.sql = verdict.sql
        run.compiled_sql = verdict.sql
        spec = RunSpec(run_id=run.run_id, dataset=run.dataset, sql=verdict.sql, limits=self.limits)
        with run.stage("exec_total"):
            execution = self.executor.run(spec)
        run.executor, run.runner_ref, run.response = (
            execution.executor,
            execution.runner_ref,
            execution.response,
        )
        run.timings["queue"] = round(execution.queue_ms, 3)
        run.timings["exec"] = float(execution.response.get("exec_time_ms") or 0.0)
        error = execution.response.get("error")
        if error:
            raise errors.from_code(
                error.get("code", "RUNNER_INTERNAL_ERROR"), error.get("message", "runner failed")
            )

    def _finish(self, run: _Run) -> RunResponse:
        run.timings["total"] = round((time.perf_counter() - run.started) * 1000, 3)
        response = run.response or {}
        columns = response.get("columns") or []
        rows = response.get("rows") or []
        status: RunStatus
        if run.error is None:
            status = "succeeded"
        elif run.error.code in _REJECTED_CODES:
            status = "rejected"
        else:
            status = "failed"
        result = Result(
            columns=columns,
            rows=rows,
            row_count=response.get("row_count", len(rows)),
            truncated=bool(response.get("truncated")),
        )
        chart = None
        if status == "succeeded" and run.plan is not None:
            spec = chart_for(run.plan, columns)
            # The spec carries its data, so any Vega-Lite renderer can draw it as is.
            chart = with_data(spec, rows, columns) if spec is not None else None
        plan_json = run.plan.model_dump(mode="json") if run.plan else None
        sha = run.result_sha256 = result_sha256(columns, rows) if status == "succeeded" else None
        capsule = Capsule(
            run_id=run.run_id,
            created_at=now_iso(),
            user=run.user,
            dataset_id=run.dataset.id,
            dataset_version_hash=run.dataset.version_hash,
            question=run.question,
            thread_id=run.thread_id,
            planner=run.planner,
            planner_meta=run.planner_meta,
            plan_json=plan_json,
            compiled_sql=run.compiled_sql,
            submitted_sql=run.submitted_sql,
            policy=run.policy,
            executor=run.executor or getattr(self.executor, "name", None),
            resource_limits=self.limits.as_dict(),
            runner_ref=run.runner_ref,
            status=status,
            error_code=run.error.code if run.error else None,
            error_message=run.error.message if run.error else None,
            result_preview=result,
            row_count=result.row_count,
            result_sha256=sha,
            timings_ms=run.timings,
            stdout=str(response.get("stdout_trunc") or "")[:OUTPUT_TRUNC_BYTES],
            stderr=str(response.get("stderr_trunc") or "")[:OUTPUT_TRUNC_BYTES],
            software_version=SOFTWARE_VERSION,
            chart=chart,
        )
        self.store.put_capsule(capsule)
        self.metrics.run(capsule)
        log.info(
            "run finished",
            extra={
                "run_id": run.run_id,
                "user": run.user,
                "dataset_id": run.dataset.id,
                "planner": run.planner,
                "executor": capsule.executor,
                "runner_ref": run.runner_ref,
                "status": status,
                "error_code": capsule.error_code,
                "policy": (run.policy or {}).get("rule") or ("allowed" if run.policy else None),
                "timings_ms": run.timings,
            },
        )
        error = None
        if run.error is not None:
            error = ErrorInfo(code=run.error.code, message=run.error.message, suggestion=run.error.suggestion)
        return RunResponse(
            run_id=run.run_id,
            status=status,
            dataset_id=run.dataset.id,
            question=run.question,
            thread_id=run.thread_id,
            plan=plan_json,
            sql=run.compiled_sql,
            result=result,
            chart=chart,
            message=run.message or _default_message(status, result, run.error),
            error=error,
            timings_ms=run.timings,
            planner=run.planner,
            executor=capsule.executor,
        )


def owned_capsule(store: Store, user: str | None, run_id: str) -> Capsule:
    """A run's capsule, for its owner only."""
    capsule = store.get_capsule(run_id)
    if capsule is None:
        raise errors.ValidationError(f"no run with id {run_id!r}", suggestion="list runs: GET /v1/runs")
    if capsule.user != user:
        raise errors.Forbidden(f"run {run_id} belongs to another user")
    return capsule


def _default_message(status: RunStatus, result: Result, error: errors.CsvAnalystError | None) -> str:
    if error is not None:
        return f"{error.code}: {error.message}"
    more = " (truncated)" if result.truncated else ""
    return f"{result.row_count} row{'s' if result.row_count != 1 else ''}{more}"


def _new_id() -> str:
    return uuid.uuid4().hex
