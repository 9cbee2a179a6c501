"""Every demo prompt of the registry, and hand-written paraphrases of it, must be answered
correctly: the plan validates, compiles, and returns on DuckDB what hand-written SQL returns.
The prompts' plans are also checked for their meaning (table, grouping, filters, outputs)."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox_server.plan import QueryPlan
from sandbox_server.validate import item_name
from tests.unit.planner.conftest import Ask, Duck
from tests.unit.planner.paraphrases import CASES, Case

QUESTIONS = [(case, q) for case in CASES for q in (case.prompt, *case.paraphrases)]


def test_every_registry_prompt_has_a_case(registry: Any) -> None:
    prompts = {(d.id, p) for d in registry.datasets for p in d.prompts}
    assert prompts == {(c.dataset, c.prompt) for c in CASES}
    assert all(len(c.paraphrases) >= 3 for c in CASES)


@pytest.mark.parametrize(("case", "question"), QUESTIONS, ids=[q for _, q in QUESTIONS])
def test_answer_equals_hand_written_sql(
    case: Case, question: str, registry: Any, ask: Ask, duck: Duck
) -> None:
    dataset = registry.get(case.dataset)
    plan = ask(question, dataset)
    got, want = duck.answer(dataset, plan), duck.sql(dataset, case.sql)
    if case.ordered:
        assert got == want, plan.notes
    else:
        assert sorted(got, key=repr) == sorted(want, key=repr), plan.notes


def meaning(plan: QueryPlan) -> dict[str, Any]:
    return {
        "table": plan.table,
        "joins": [j.table for j in plan.joins],
        "group_by": [(d.column.split(".")[-1], d.bucket or d.part) for d in plan.group_by],
        "filters": sorted((f.column.split(".")[-1], f.op, f.value) for f in plan.filters),
        "outputs": [item_name(s) for s in plan.select],
        "order": [
            (o.by, o.direction) for o in plan.order_by if o.by not in [item_name(d) for d in plan.group_by]
        ],
        "limit": plan.limit,
    }


Y2025 = [("created_at", "<", "2026-01-01"), ("created_at", ">=", "2025-01-01")]
MEANINGS: dict[str, dict[str, Any]] = {
    "What is the total revenue by month in 2025?": {
        "table": "orders", "joins": [], "group_by": [("order_date", "month")],
        "filters": [("order_date", "<", "2026-01-01"), ("order_date", ">=", "2025-01-01")],
        "outputs": ["revenue"], "order": [], "limit": 200,
    },
    "Which 5 product categories have the highest return rate?": {
        "table": "orders", "joins": ["order_items"], "group_by": [("category", None)], "filters": [],
        "outputs": ["return_rate"], "order": [("return_rate", "desc")], "limit": 5,
    },
    "How many orders are there in each status?": {
        "table": "orders", "joins": [], "group_by": [("status", None)], "filters": [],
        "outputs": ["order_count"], "order": [], "limit": 200,
    },
    "What is the average order value by quarter?": {
        "table": "orders", "joins": [], "group_by": [("order_date", "quarter")], "filters": [],
        "outputs": ["average_order_value"], "order": [], "limit": 200,
    },
    "Which 10 products generated the most item revenue?": {
        "table": "order_items", "joins": [], "group_by": [("product_id", None)], "filters": [],
        "outputs": ["item_revenue"], "order": [("item_revenue", "desc")], "limit": 10,
    },
    "How many products are out of stock in each category?": {
        "table": "inventory", "joins": [], "group_by": [("category", None)], "filters": [("stock", "=", 0)],
        "outputs": ["count"], "order": [], "limit": 200,
    },
    "How many tickets were opened per month?": {
        "table": "tickets", "joins": [], "group_by": [("created_at", "month")], "filters": [],
        "outputs": ["count"], "order": [], "limit": 200,
    },
    "What is the SLA rate by priority?": {
        "table": "tickets", "joins": [], "group_by": [("priority", None)], "filters": [],
        "outputs": ["sla_rate"], "order": [], "limit": 200,
    },
    "How many urgent tickets were resolved within SLA?": {
        "table": "tickets", "joins": [], "group_by": [],
        "filters": [("priority", "=", "urgent"), ("sla_met", "=", True)],
        "outputs": ["count"], "order": [], "limit": 200,
    },
    "What is the average CSAT score by ticket category?": {
        "table": "tickets", "joins": [], "group_by": [("category", None)], "filters": [],
        "outputs": ["avg_csat"], "order": [], "limit": 200,
    },
    "How many tickets are still open, by priority?": {
        "table": "tickets", "joins": [], "group_by": [("priority", None)], "filters": [],
        "outputs": ["open_ticket_count"], "order": [], "limit": 200,
    },
    "Which ticket category had the lowest SLA rate in 2025?": {
        "table": "tickets", "joins": [], "group_by": [("category", None)], "filters": Y2025,
        "outputs": ["sla_rate"], "order": [("sla_rate", "asc")], "limit": 1,
    },
    "What is the average temperature per location?": {
        "table": "sensors", "joins": [], "group_by": [("location", None)], "filters": [],
        "outputs": ["avg_temp"], "order": [], "limit": 200,
    },
    "Which sensors had the most anomalies?": {
        "table": "sensors", "joins": [], "group_by": [("sensor_id", None)], "filters": [],
        "outputs": ["anomaly_count"], "order": [("anomaly_count", "desc")], "limit": 200,
    },
    "Show the daily average temperature in the datacenter": {
        "table": "sensors", "joins": [], "group_by": [("timestamp", "day")],
        "filters": [("location", "=", "datacenter")], "outputs": ["avg_temp"], "order": [], "limit": 200,
    },
    "What is the anomaly rate per location?": {
        "table": "sensors", "joins": [], "group_by": [("location", None)], "filters": [],
        "outputs": ["anomaly_rate"], "order": [], "limit": 200,
    },
    "What is the average humidity by hour of day in the office?": {
        "table": "sensors", "joins": [], "group_by": [("timestamp", "hour")],
        "filters": [("location", "=", "office")], "outputs": ["avg_humidity"], "order": [], "limit": 200,
    },
    "What was the maximum temperature recorded by each sensor?": {
        "table": "sensors", "joins": [], "group_by": [("sensor_id", None)], "filters": [],
        "outputs": ["max_temp"], "order": [], "limit": 200,
    },
}  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.prompt for c in CASES])
def test_prompt_plan_means_what_it_asks(case: Case, registry: Any, ask: Ask) -> None:
    plan = ask(case.prompt, registry.get(case.dataset))
    assert meaning(plan) == MEANINGS[case.prompt]
    assert plan.notes  # the reading, for people


def test_hour_of_day_is_a_date_part_not_a_bucket(registry: Any, ask: Ask) -> None:
    plan = ask("What is the average humidity by hour of day in the office?", registry.get("sensors"))
    assert plan.group_by[0].part == "hour" and plan.group_by[0].bucket is None


def test_category_revenue_avoids_the_fan_out(registry: Any, ask: Ask, duck: Duck) -> None:
    """orders.total repeated once per order item would inflate revenue: the item-level measure
    is used instead, and the note says so."""
    ecommerce = registry.get("ecommerce")
    plan = ask("revenue by product category", ecommerce)
    assert plan.table == "order_items" and plan.joins == []
    assert [item_name(s) for s in plan.select] == ["item_revenue"]
    assert "item_revenue" in (plan.notes or "")
    got = duck.answer(ecommerce, plan)
    want = duck.sql(
        ecommerce, "SELECT category, sum(price * quantity * (1 - discount)) FROM order_items GROUP BY 1"
    )
    assert sorted(got) == sorted(want)
