"""Verdicts on what the model proposes come from the pipeline's own stages."""

from __future__ import annotations

import pytest

from sandbox_server.plan import Aggregate, QueryPlan
from sandbox_server.planners.llm.checks import (
    PlannerAnswer,
    Verdict,
    check_answer,
    check_plan,
    check_query,
    parse_plan,
)
from sandbox_server.registry import Dataset
from sandbox_server.settings import Settings

SETTINGS = Settings(llm_model="m")


def plan(**kw: object) -> QueryPlan:
    return QueryPlan.model_validate({"dataset_id": "ecommerce", "table": "orders", **kw})


def test_valid_plan_gives_the_sql_that_would_run_and_its_columns(ecommerce: Dataset) -> None:
    verdict = check_plan(plan(group_by=["status"], select=[{"func": "count"}]), ecommerce, SETTINGS)
    assert verdict.ok and verdict.columns == ("status", "count")
    assert verdict.sql is not None and verdict.sql.startswith("SELECT") and "LIMIT 200" in verdict.sql


def test_unknown_column_says_did_you_mean(ecommerce: Dataset) -> None:
    verdict = check_plan(plan(group_by=["statuss"], select=[{"func": "count"}]), ecommerce, SETTINGS)
    assert not verdict.ok and verdict.code == "VALIDATION_ERROR"
    assert verdict.error is not None and "did you mean 'status'" in verdict.error


@pytest.mark.parametrize(
    ("sql", "rule"),
    [
        ("DROP TABLE orders", "statement_type"),
        ("SELECT * FROM read_csv('/etc/passwd')", "table_function"),
        ("SELECT 1; SELECT 2", "multiple_statements"),
        ("SELECT * FROM secrets", "unknown_table"),
    ],
)
def test_raw_sql_breaking_the_policy_is_rejected_with_its_rule(
    ecommerce: Dataset, sql: str, rule: str
) -> None:
    verdict = check_query(sql, ecommerce, SETTINGS)
    assert not verdict.ok and verdict.code == "SQL_POLICY_VIOLATION" and verdict.rule == rule
    assert verdict.to_json() == {
        "valid": False,
        "code": "SQL_POLICY_VIOLATION",
        "error": verdict.error,
        "rule": rule,
    }


def test_allowed_sql_gets_the_policy_limit(ecommerce: Dataset) -> None:
    verdict = check_query("select status, count(*) from orders group by status", ecommerce, SETTINGS)
    assert verdict == Verdict(ok=True, sql="SELECT status, COUNT(*) FROM orders GROUP BY status LIMIT 200")


def test_answer_plan_wins_over_sql(ecommerce: Dataset) -> None:
    answer = PlannerAnswer(plan=plan(select=[Aggregate(func="count")]), sql="DROP TABLE orders")
    assert check_answer(answer, ecommerce, SETTINGS).ok
    assert not check_answer(PlannerAnswer(sql="DROP TABLE orders"), ecommerce, SETTINGS).ok


def test_parse_plan_fills_the_dataset_and_explains_bad_json(ecommerce: Dataset) -> None:
    parsed = parse_plan('{"table": "orders", "select": [{"func": "count"}]}', ecommerce)
    assert isinstance(parsed, QueryPlan) and parsed.dataset_id == "ecommerce"
    bad = parse_plan("{not json", ecommerce)
    assert isinstance(bad, Verdict) and bad.error is not None and "not valid JSON" in bad.error
    wrong = parse_plan(
        '{"table": "orders", "filters": [{"column": "status", "op": "like", "value": "x"}]}', ecommerce
    )
    assert isinstance(wrong, Verdict) and wrong.error is not None and "filters.0.op" in wrong.error
