"""chart_for picks a Vega-Lite chart from the plan's shape (or none); explain_plan reads a plan
aloud. Both work from the plan alone, so the output names must match the compiler's."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox_server.chart import SCHEMA, chart_for, field_type, with_data
from sandbox_server.explain import explain_plan
from sandbox_server.plan import QueryPlan
from sandbox_server.validate import validate_plan


def plan(**kw: Any) -> QueryPlan:
    return QueryPlan.model_validate({"dataset_id": "ecommerce", "table": "orders", **kw})


def cols(**types: str) -> list[dict[str, str]]:
    return [{"name": n, "type": t} for n, t in types.items()]


MONTHLY = plan(
    group_by=[{"column": "order_date", "bucket": "month"}], select=[{"func": "sum", "column": "total"}]
)


def test_time_bucket_and_a_measure_make_a_temporal_line():
    spec = chart_for(MONTHLY, cols(order_date_month="DATE", sum_total="DOUBLE"))
    assert spec is not None
    assert spec["$schema"] == SCHEMA
    assert spec["mark"]["type"] == "line"
    assert spec["encoding"]["x"] == {"field": "order_date_month", "type": "temporal"}
    assert spec["encoding"]["y"] == {"field": "sum_total", "type": "quantitative"}
    assert spec["data"] == {"values": []}


def test_several_measures_over_time_fold_into_one_line_each():
    p = plan(
        group_by=[{"column": "order_date", "bucket": "month"}],
        select=[{"measure": "revenue"}, {"func": "count"}],
    )
    spec = chart_for(p, cols(order_date_month="DATE", revenue="DOUBLE", count="BIGINT"))
    assert spec is not None and spec["mark"]["type"] == "line"
    assert spec["transform"] == [{"fold": ["revenue", "count"], "as": ["measure", "value"]}]
    assert spec["encoding"]["color"]["field"] == "measure"


@pytest.mark.parametrize(
    ("order_by", "sort"), [(["sum_total desc"], "-y"), (["sum_total"], "y"), (["status"], None), ([], None)]
)
def test_a_category_and_a_measure_make_a_bar_sorted_like_the_plan(order_by, sort):
    p = plan(group_by=["status"], select=[{"func": "sum", "column": "total"}], order_by=order_by)
    spec = chart_for(p, cols(status="VARCHAR", sum_total="DOUBLE"))
    assert spec is not None and spec["mark"]["type"] == "bar"
    assert spec["encoding"]["x"] == {"field": "status", "type": "nominal", "sort": sort}
    assert spec["encoding"]["y"] == {"field": "sum_total", "type": "quantitative"}


def test_a_date_part_is_an_ordinal_bar_not_a_time_line():
    p = plan(group_by=[{"column": "order_date", "part": "day_of_week"}], select=[{"func": "count"}])
    spec = chart_for(p, cols(order_date_day_of_week="BIGINT", count="BIGINT"))
    assert spec is not None and spec["mark"]["type"] == "bar"
    assert spec["encoding"]["x"]["type"] == "ordinal"


def test_two_numeric_row_columns_make_a_scatter():
    p = QueryPlan.model_validate(
        {"dataset_id": "ecommerce", "table": "order_items", "select": ["price", "quantity"], "limit": 500}
    )
    spec = chart_for(p, cols(price="DOUBLE", quantity="BIGINT"))
    assert spec is not None and spec["mark"]["type"] == "point"
    assert spec["encoding"]["x"]["field"] == "price" and spec["encoding"]["y"]["field"] == "quantity"


def test_two_dimensions_with_time_make_a_coloured_line():
    p = QueryPlan.model_validate(
        {
            "dataset_id": "sensors",
            "table": "sensors",
            "group_by": ["location", {"column": "timestamp", "bucket": "day"}],
            "select": [{"measure": "avg_temp"}],
        }
    )
    spec = chart_for(p, cols(location="VARCHAR", timestamp_day="DATE", avg_temp="DOUBLE"))
    assert spec is not None and spec["mark"]["type"] == "line"
    assert spec["encoding"]["x"]["field"] == "timestamp_day"
    assert spec["encoding"]["color"] == {"field": "location", "type": "nominal"}


def test_two_categories_make_a_grouped_bar():
    p = QueryPlan.model_validate(
        {
            "dataset_id": "support",
            "table": "tickets",
            "group_by": ["category", "priority"],
            "select": [{"func": "count"}],
        }
    )
    spec = chart_for(p, cols(category="VARCHAR", priority="VARCHAR", count="BIGINT"))
    assert spec is not None and spec["mark"]["type"] == "bar"
    assert spec["encoding"]["color"]["field"] == "priority" == spec["encoding"]["xOffset"]["field"]


@pytest.mark.parametrize(
    ("p", "columns"),
    [
        (plan(select=[{"func": "count"}]), cols(count="BIGINT")),  # one number
        (plan(select=["order_id", "status"]), cols(order_id="BIGINT", status="VARCHAR")),  # a table
        (
            plan(select=["order_id", "total", "customer_id"]),
            cols(order_id="BIGINT", total="DOUBLE", customer_id="BIGINT"),
        ),
        (plan(group_by=["status"], select=[]), cols(status="VARCHAR")),  # no measure
        (
            plan(group_by=["status", "returned", "customer_id"], select=[{"func": "count"}]),
            cols(status="VARCHAR", returned="BOOLEAN", customer_id="BIGINT", count="BIGINT"),
        ),  # three dimensions
        (
            plan(group_by=["status"], select=[{"func": "count"}]),
            cols(x="VARCHAR", y="BIGINT"),
        ),  # not its result
        (
            plan(group_by=["status"], select=[{"func": "min", "column": "order_date"}]),
            cols(status="VARCHAR", min_order_date="DATE"),
        ),
    ],
)
def test_shapes_without_a_good_chart_get_none(p, columns):
    assert chart_for(p, columns) is None


def test_chart_field_names_are_the_compiled_output_names(ecommerce):
    p = plan(
        group_by=[{"column": "order_date", "bucket": "quarter"}],
        select=[{"measure": "return_rate", "alias": "rr"}],
    )
    names = validate_plan(p, ecommerce).output_names
    spec = chart_for(p, cols(**dict(zip(names, ["DATE", "DOUBLE"], strict=True))))
    assert spec is not None
    assert (spec["encoding"]["x"]["field"], spec["encoding"]["y"]["field"]) == names


def test_with_data_fills_a_copy():
    spec = chart_for(MONTHLY, cols(order_date_month="DATE", sum_total="DOUBLE"))
    assert spec is not None
    filled = with_data(spec, [["2025-01-01", 10.5], ["2025-02-01", 12.0]], ["order_date_month", "sum_total"])
    assert filled["data"]["values"] == [
        {"order_date_month": "2025-01-01", "sum_total": 10.5},
        {"order_date_month": "2025-02-01", "sum_total": 12.0},
    ]
    assert spec["data"]["values"] == []  # the original is untouched
    assert with_data(spec, [{"a": 1}])["data"]["values"] == [{"a": 1}]
    with pytest.raises(ValueError, match="2 values but 1 column"):
        with_data(spec, [[1, 2]], [{"name": "a", "type": "BIGINT"}])


@pytest.mark.parametrize(
    ("sql_type", "expected"),
    [("DATE", "temporal"), ("TIMESTAMP WITH TIME ZONE", "temporal"), ("DECIMAL(18,2)", "quantitative"),
     ("HUGEINT", "quantitative"), ("DOUBLE", "quantitative"), ("VARCHAR", "nominal"), ("BOOLEAN", "nominal")],
)  # fmt: skip
def test_field_types(sql_type, expected):
    assert field_type(sql_type) == expected


# ---------------------------------------------------------------- explain_plan


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (
            plan(
                filters=[{"column": "status", "op": "=", "value": "delivered"}],
                group_by=[{"column": "order_date", "bucket": "month"}],
                select=[{"func": "sum", "column": "total"}],
                order_by=["sum_total desc"],
                limit=5,
            ),
            "orders → filter status = delivered → group by month of order_date → sum(total) → top 5 by sum_total",
        ),
        (plan(select=[{"func": "count"}]), "orders → count"),
        (
            QueryPlan.model_validate(
                {
                    "dataset_id": "ecommerce",
                    "table": "order_items",
                    "joins": [{"table": "inventory", "how": "left"}],
                    "filters": [
                        {"column": "discount", "op": "between", "value": [0.1, 0.2]},
                        {"column": "category", "op": "in", "value": ["Books", "Toys"]},
                    ],
                    "group_by": ["inventory.name"],
                    "select": [{"measure": "item_revenue", "alias": "sales"}],
                    "having": [{"column": "sales", "op": ">=", "value": 100}],
                    "order_by": ["sales"],
                }
            ),
            "order_items left join inventory → filter discount between 0.1 and 0.2 and category in (Books, Toys)"
            " → group by inventory.name → item_revenue as sales → keep groups where sales ≥ 100 → bottom 200 by sales",
        ),
        (
            QueryPlan.model_validate(
                {
                    "dataset_id": "support",
                    "table": "tickets",
                    "filters": [{"column": "resolved_at", "op": "is_null"}],
                    "group_by": [{"column": "created_at", "part": "day_of_week"}],
                    "select": [
                        {"func": "rate", "where": [{"column": "sla_met", "op": "=", "value": True}]},
                        {"func": "count_distinct", "column": "category"},
                        {
                            "func": "avg",
                            "column": "csat_score",
                            "where": [{"column": "priority", "op": "=", "value": "high"}],
                        },
                    ],
                }
            ),
            "tickets → filter resolved_at is empty → group by day of week of created_at → rate(sla_met = true), "
            "count(distinct category), avg(csat_score) where priority = high",
        ),
        (
            plan(select=["status"], distinct=True, order_by=["status"], limit=10),
            "orders → status → distinct rows → sort by status, first 10",
        ),
        (plan(select=["order_id"], limit=3), "orders → order_id → first 3 rows"),
    ],
)
def test_explain_plan(p, text):
    assert explain_plan(p) == text
