"""Follow-ups edit the previous plan; a question with a new subject starts over."""

from __future__ import annotations

from typing import Any

from sandbox_server.validate import item_name, validate_plan
from tests.unit.planner.conftest import Ask, Duck


def filters(plan: Any) -> set[tuple[str, str, Any]]:
    return {
        (f.column, f.op, f.value if not isinstance(f.value, list) else tuple(f.value)) for f in plan.filters
    }


def dims(plan: Any) -> list[tuple[str, str | None]]:
    return [(d.column, d.bucket or d.part) for d in plan.group_by]


def outputs(plan: Any) -> list[str]:
    return [item_name(s) for s in plan.select]


def test_now_by_month_replaces_the_time_bucket(registry: Any, ask: Ask) -> None:
    ecommerce = registry.get("ecommerce")
    first = ask("What is the average order value by quarter?", ecommerce)
    second = ask("now by month", ecommerce, previous=first)
    assert dims(second) == [("order_date", "month")]
    assert outputs(second) == ["average_order_value"]


def test_now_by_month_adds_a_time_bucket(registry: Any, ask: Ask) -> None:
    support = registry.get("support")
    first = ask("What is the SLA rate by priority?", support)
    assert dims(ask("now by month", support, previous=first)) == [("priority", None), ("created_at", "month")]


def test_only_a_year_and_just_a_value_add_filters(registry: Any, ask: Ask, duck: Duck) -> None:
    ecommerce = registry.get("ecommerce")
    first = ask("How many orders are there in each status?", ecommerce)
    second = ask("only 2025", ecommerce, previous=first)
    assert filters(second) == {("order_date", ">=", "2025-01-01"), ("order_date", "<", "2026-01-01")}
    third = ask("just the delivered ones", ecommerce, previous=second)
    assert filters(third) == filters(second) | {("status", "=", "delivered")}
    assert dims(third) == [("status", None)]
    rows = duck.answer(ecommerce, third)
    want = duck.sql(
        ecommerce,
        "SELECT status, count(*) FROM orders WHERE status = 'delivered' AND order_date >= DATE '2025-01-01' "
        "AND order_date < DATE '2026-01-01' GROUP BY 1",
    )
    assert rows == want


def test_top_n_instead_sets_limit_and_order(registry: Any, ask: Ask) -> None:
    ecommerce = registry.get("ecommerce")
    first = ask("Which 10 products generated the most item revenue?", ecommerce)
    second = ask("top 3 instead", ecommerce, previous=first)
    assert second.limit == 3
    assert [(o.by, o.direction) for o in second.order_by] == [("item_revenue", "desc")]
    assert dims(second) == dims(first)


def test_and_the_average_too_adds_an_aggregate(registry: Any, ask: Ask) -> None:
    sensors = registry.get("sensors")
    first = ask("What was the maximum temperature recorded by each sensor?", sensors)
    second = ask("and the average too", sensors, previous=first)
    assert outputs(second) == ["max_temp", "avg_temp"]
    validate_plan(second, sensors)


def test_by_other_column_instead_replaces_the_grouping(registry: Any, ask: Ask) -> None:
    support = registry.get("support")
    first = ask("What is the average CSAT score by ticket category?", support)
    second = ask("by priority instead", support, previous=first)
    assert dims(second) == [("priority", None)]
    assert outputs(second) == ["avg_csat"]


def test_without_the_cancelled_ones_is_a_not_equal_filter(registry: Any, ask: Ask) -> None:
    ecommerce = registry.get("ecommerce")
    first = ask("How many orders are there in each status?", ecommerce)
    second = ask("without the cancelled ones", ecommerce, previous=first)
    assert filters(second) == {("status", "!=", "cancelled")}


def test_what_about_another_value_replaces_the_filter_on_its_column(registry: Any, ask: Ask) -> None:
    support = registry.get("support")
    first = ask("How many urgent tickets were resolved within SLA?", support)
    second = ask("what about high?", support, previous=first)
    assert filters(second) == {("priority", "=", "high"), ("sla_met", "=", True)}


def test_what_about_another_year_replaces_the_date_filter(registry: Any, ask: Ask) -> None:
    support = registry.get("support")
    first = ask("Which ticket category had the lowest SLA rate in 2025?", support)
    second = ask("what about 2024?", support, previous=first)
    assert filters(second) == {("created_at", ">=", "2024-01-01"), ("created_at", "<", "2025-01-01")}
    assert second.limit == 1


def test_what_about_another_column_swaps_the_aggregated_column(registry: Any, ask: Ask) -> None:
    sensors = registry.get("sensors")
    first = ask("What is the average temperature per location?", sensors)
    assert outputs(ask("what about humidity?", sensors, previous=first)) == ["avg_humidity"]


def test_a_new_measure_is_a_fresh_question(registry: Any, ask: Ask) -> None:
    support = registry.get("support")
    first = ask("What is the SLA rate by priority?", support)
    second = ask("What is the average CSAT score by ticket category?", support, previous=first)
    assert second == ask("What is the average CSAT score by ticket category?", support)


def test_followups_chain_and_stay_valid(registry: Any, ask: Ask, duck: Duck) -> None:
    ecommerce = registry.get("ecommerce")
    plan = ask("What is the total revenue by month in 2025?", ecommerce)
    for question in ("only the delivered ones", "now by quarter", "and the average too", "top 2 instead"):
        plan = ask(question, ecommerce, previous=plan)
        validate_plan(plan, ecommerce)
    assert dims(plan) == [("order_date", "quarter")]
    assert outputs(plan) == ["revenue", "avg_total"] and plan.limit == 2
    assert len(duck.answer(ecommerce, plan)) == 2
