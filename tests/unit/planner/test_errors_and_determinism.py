"""What the planner says when it cannot understand, and that it is deterministic and fast."""

from __future__ import annotations

import time
from typing import Any

import pytest

from sandbox_server.errors import PlannerError
from sandbox_server.planners import OfflinePlanner, Planner, PlannerOutput
from sandbox_server.planners.offline.explain import example_questions
from sandbox_server.registry import Dataset
from tests.unit.planner.conftest import Ask
from tests.unit.planner.paraphrases import CASES


def test_offline_planner_implements_the_interface() -> None:
    assert isinstance(OfflinePlanner(), Planner)
    assert OfflinePlanner.name == "offline"


@pytest.mark.parametrize("question", ["what is the meaning of life?", "asdf", "", "?!"])
@pytest.mark.parametrize("dataset_id", ["ecommerce", "support", "sensors"])
def test_nonsense_gets_columns_and_two_examples(
    question: str, dataset_id: str, registry: Any, planner: OfflinePlanner
) -> None:
    dataset = registry.get(dataset_id)
    with pytest.raises(PlannerError) as info:
        planner.plan(question, dataset)
    error = info.value
    assert error.code == "PLANNER_ERROR"
    for table in dataset.tables:
        assert all(c in error.message for c in table.column_names)
    examples = error.details["examples"]
    assert len(examples) == 2 and all(e in error.message for e in examples)
    assert error.details["columns"] == {t.name: t.column_names for t in dataset.tables}
    assert error.suggestion


def test_examples_of_a_dataset_without_prompts_come_from_its_schema_and_work(
    company: Dataset, planner: OfflinePlanner
) -> None:
    examples = example_questions(company)
    assert len(examples) == 2 and not company.prompts
    for question in examples:
        assert planner.plan(question, company).plan is not None
    with pytest.raises(PlannerError) as info:
        planner.plan("asdf", company)
    assert "employees(employee_id, name, department" in info.value.message


def test_the_error_says_what_was_understood(registry: Any, planner: OfflinePlanner) -> None:
    with pytest.raises(PlannerError) as info:
        planner.plan("what is the average of", registry.get("ecommerce"))
    assert "average" in info.value.message


@pytest.mark.parametrize("case", CASES, ids=[c.prompt for c in CASES])
def test_same_question_same_plan(case: Any, registry: Any) -> None:
    dataset = registry.get(case.dataset)
    first = OfflinePlanner().plan(case.prompt, dataset)
    second = OfflinePlanner().plan(case.prompt, dataset)
    assert first.plan is not None and second.plan is not None
    assert first.plan.model_dump_json() == second.plan.model_dump_json()
    assert first.message == second.message


def test_output_shape(registry: Any, planner: OfflinePlanner) -> None:
    out = planner.plan("How many orders are there in each status?", registry.get("ecommerce"))
    assert isinstance(out, PlannerOutput)
    assert out.sql is None and out.planner == "offline"
    assert out.plan is not None and out.plan.notes is not None
    assert out.message.startswith("Read as:") and out.plan.notes in out.message
    assert out.meta["latency_ms"] >= 0 and out.meta["followup"] is False


def test_fast(registry: Any, planner: OfflinePlanner) -> None:
    """< 50 ms per question (median over every demo question, lexicons warm)."""
    questions = [(c.dataset, q) for c in CASES for q in (c.prompt, *c.paraphrases)]
    for dataset_id, q in questions:
        planner.plan(q, registry.get(dataset_id))
    timings = []
    for dataset_id, q in questions:
        started = time.perf_counter()
        planner.plan(q, registry.get(dataset_id))
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    assert timings[len(timings) // 2] < 50 and timings[-1] < 250


def test_relative_dates_follow_the_data_not_the_clock(registry: Any, ask: Ask) -> None:
    ecommerce = registry.get("ecommerce")  # order_date ends 2025-12-31
    plan = ask("revenue in the last 30 days", ecommerce)
    assert {(f.op, f.value) for f in plan.filters} == {(">=", "2025-12-02"), ("<", "2026-01-01")}
    plan = ask("revenue in the last 3 months", ecommerce)
    assert {(f.op, f.value) for f in plan.filters} == {(">=", "2025-10-01"), ("<", "2026-01-01")}
    assert "2025-12-31" in (plan.notes or "")
