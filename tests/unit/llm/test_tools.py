"""The agent's tools check, never execute on their own; result rows only under privacy "rows"."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.tools import BaseTool

from sandbox_server.executors.base import Limits
from sandbox_server.executors.inprocess import InProcessExecutor
from sandbox_server.planners.llm.tools import PREVIEW_ROWS, ToolSession, executor_preview, make_tools
from sandbox_server.registry import Dataset
from sandbox_server.settings import Settings

PLAN = json.dumps({"table": "orders", "group_by": ["status"], "select": [{"func": "count"}]})


def tools(dataset: Dataset, privacy: str = "schema_only", preview: bool = False) -> dict[str, BaseTool]:
    settings = Settings(llm_model="m", llm_privacy=privacy)
    session = ToolSession(
        dataset, settings, executor_preview(InProcessExecutor(), Limits()) if preview else None
    )
    return {t.name: t for t in make_tools(session)}


def call(tool: BaseTool, **args: Any) -> Any:
    return json.loads(tool.invoke(args))


def test_the_seed_tools_exist(ecommerce: Dataset) -> None:
    assert set(tools(ecommerce)) == {
        "list_datasets",
        "get_dataset_schema",
        "execute_query_plan",
        "execute_sql",
        "get_run_status",
    }


def test_list_and_schema_show_only_this_dataset(ecommerce: Dataset) -> None:
    t = tools(ecommerce)
    assert [d["id"] for d in call(t["list_datasets"])] == ["ecommerce"]
    assert call(t["get_dataset_schema"], dataset_id="ecommerce")["tables"][0]["name"] == "orders"
    assert "only dataset 'ecommerce'" in call(t["get_dataset_schema"], dataset_id="support")["error"]


def test_execute_query_plan_only_checks_without_a_preview(ecommerce: Dataset) -> None:
    t = tools(ecommerce)
    out = call(t["execute_query_plan"], dataset_id="ecommerce", plan_json=PLAN)
    assert out["valid"] is True and out["columns"] == ["status", "count"] and out["sql"].startswith("SELECT")
    assert "row_count" not in out and "preview_rows" not in out
    assert call(t["get_run_status"], run_id=out["run_id"]) == out
    bad = call(
        t["execute_query_plan"], dataset_id="ecommerce", plan_json=PLAN.replace('"status"', '"statuss"')
    )
    assert bad["valid"] is False and "did you mean 'status'" in bad["error"]
    assert "unknown run_id" in call(t["get_run_status"], run_id="nope")["error"]


def test_execute_sql_reports_the_policy_rule(ecommerce: Dataset) -> None:
    out = call(tools(ecommerce)["execute_sql"], dataset_id="ecommerce", sql="DROP TABLE orders")
    assert out["valid"] is False and out["rule"] == "statement_type" and out["code"] == "SQL_POLICY_VIOLATION"


def test_schema_only_preview_gives_shape_never_rows(ecommerce: Dataset) -> None:
    out = call(tools(ecommerce, preview=True)["execute_query_plan"], dataset_id="ecommerce", plan_json=PLAN)
    assert out["status"] == "succeeded" and out["row_count"] == 4
    assert out["result_columns"] == ["status", "count"]
    assert "preview_rows" not in out and "delivered" not in json.dumps(out)


def test_rows_privacy_preview_gives_a_few_rows(ecommerce: Dataset) -> None:
    out = call(
        tools(ecommerce, privacy="rows", preview=True)["execute_sql"],
        dataset_id="ecommerce",
        sql="SELECT order_id FROM orders ORDER BY order_id",
    )
    assert out["valid"] is True and out["preview_rows"] == [[i] for i in range(1, PREVIEW_ROWS + 1)]


@pytest.mark.parametrize("privacy", ["rows", "schema_only"])
def test_rejected_sql_is_never_previewed(ecommerce: Dataset, privacy: str) -> None:
    out = call(
        tools(ecommerce, privacy=privacy, preview=True)["execute_sql"],
        dataset_id="ecommerce",
        sql="SELECT * FROM read_csv('/etc/passwd')",
    )
    assert out["valid"] is False and "status" not in out and "preview_rows" not in out
