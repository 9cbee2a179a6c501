"""validate_plan: good plans resolve to the right tables, types, joins and output names; bad
plans fail with a ValidationError that says what was wrong and names the closest valid name."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any

import pytest

from sandbox_server.errors import ValidationError
from sandbox_server.plan import Aggregate, Column, Dimension, MeasureRef, QueryPlan
from sandbox_server.validate import (
    AggregateOut,
    ColumnOut,
    ColumnRef,
    DimensionOut,
    JoinStep,
    item_name,
    parse_arithmetic,
    validate_plan,
)


def plan(table: str = "orders", dataset_id: str = "ecommerce", **kw: Any) -> QueryPlan:
    return QueryPlan.model_validate({"dataset_id": dataset_id, "table": table, **kw})


@pytest.fixture(scope="module")
def datasets(registry):
    return {d.id: d for d in registry.datasets}


def check(p: QueryPlan, datasets):
    return validate_plan(p, datasets[p.dataset_id])


# ---------------------------------------------------------------- bad plans, table-driven

COUNT = [{"func": "count"}]

BAD: list[tuple[str, dict[str, Any], list[str]]] = [
    ("wrong dataset", {"dataset_id": "support"}, ["plan is for dataset 'support'", "'ecommerce'"]),
    ("unknown table, close", {"table": "order"}, ["unknown table 'order'", "did you mean 'orders'"]),
    (
        "unknown table, far",
        {"table": "zzz"},
        ["unknown table 'zzz'", "valid names: inventory, order_items, orders"],
    ),
    (
        "unknown column",
        {"select": [{"func": "sum", "column": "totl"}]},
        ["unknown column 'totl' in table 'orders'; did you mean 'total'?"],
    ),
    ("unknown column, far", {"select": ["qqqqqq"]}, ["unknown column 'qqqqqq'", "valid names: customer_id,"]),
    (
        "column of an unjoined table",
        {"select": ["stock"]},
        ["in table 'inventory', which the plan does not join"],
    ),
    (
        "qualified, unjoined table",
        {"select": ["inventory.name"]},
        ["table 'inventory', which the plan does not join"],
    ),
    (
        "qualified, unknown table",
        {"select": ["ordrs.total"]},
        ["unknown table 'ordrs'", "did you mean 'orders'"],
    ),
    (
        "qualified, unknown column",
        {"select": ["orders.totl"]},
        ["unknown column 'totl'", "did you mean 'total'"],
    ),
    ("join unknown table", {"joins": [{"table": "inventroy"}]}, ["unknown table 'inventroy'", "'inventory'"]),
    (
        "join without relationship",
        {"joins": [{"table": "inventory"}]},
        ["'inventory' cannot be joined", "tables that can be joined: order_items"],
    ),
    ("join twice", {"joins": [{"table": "order_items"}, {"table": "order_items"}]}, ["already in the plan"]),
    ("join the base table", {"joins": [{"table": "orders"}]}, ["already in the plan"]),
    (
        "sum of text",
        {"select": [{"func": "sum", "column": "status"}]},
        [
            "sum needs a numeric column, but column 'status' is VARCHAR",
            "numeric columns: order_id, customer_id, total",
        ],
    ),
    ("avg of boolean", {"select": [{"func": "avg", "column": "returned"}]}, ["is BOOLEAN", "use 'rate'"]),
    (
        "median of a date",
        {"select": [{"func": "median", "column": "order_date"}]},
        ["median needs a numeric"],
    ),
    (
        "rate of a number",
        {"select": [{"func": "rate", "column": "total"}]},
        ["rate needs a boolean", "returned"],
    ),
    (
        "contains on a number",
        {"filters": [{"column": "total", "op": "contains", "value": "1"}], "select": COUNT},
        ["'contains' needs a text column, but column 'total' is DOUBLE"],
    ),
    (
        "number vs word",
        {"filters": [{"column": "total", "op": ">", "value": "abc"}], "select": COUNT},
        ["type mismatch: column 'total' is DOUBLE, but the value 'abc' is not a number"],
    ),
    ("number vs nan", {"filters": [{"column": "total", "op": ">", "value": "nan"}]}, ["not a finite number"]),
    (
        "number vs boolean",
        {"filters": [{"column": "total", "op": "=", "value": True}]},
        ["type mismatch", "number"],
    ),
    (
        "number list with a word",
        {"filters": [{"column": "order_id", "op": "in", "value": [1, "two"]}]},
        ["'two' is not a number"],
    ),
    (
        "date vs words",
        {"filters": [{"column": "order_date", "op": ">", "value": "last week"}]},
        ["column 'order_date' is DATE", "ISO date like '2025-01-31'"],
    ),
    (
        "impossible date",
        {"filters": [{"column": "order_date", "op": "=", "value": "2025-13-01"}]},
        ["ISO date"],
    ),
    ("date vs number", {"filters": [{"column": "order_date", "op": "=", "value": 2025}]}, ["ISO date"]),
    (
        "date between with a bad bound",
        {"filters": [{"column": "order_date", "op": "between", "value": ["2025-01-01", "soon"]}]},
        ["'soon'"],
    ),
    (
        "boolean vs maybe",
        {"filters": [{"column": "returned", "op": "=", "value": "maybe"}]},
        ["true or false"],
    ),
    (
        "boolean ordered",
        {"filters": [{"column": "returned", "op": ">", "value": True}]},
        ["does not apply to the boolean"],
    ),
    ("text vs boolean", {"filters": [{"column": "status", "op": "=", "value": True}]}, ["not text"]),
    (
        "bucket of a number",
        {"group_by": [{"column": "total", "bucket": "month"}]},
        [
            "bucket 'month' needs a DATE or TIMESTAMP column, but 'total' is DOUBLE",
            "temporal columns: order_date",
        ],
    ),
    (
        "hour bucket of a date",
        {"group_by": [{"column": "order_date", "bucket": "hour"}]},
        ["needs a TIMESTAMP"],
    ),
    (
        "hour part of a date",
        {"group_by": [{"column": "order_date", "part": "hour"}]},
        ["part 'hour' needs a TIMESTAMP"],
    ),
    (
        "part of text",
        {"group_by": [{"column": "status", "part": "day_of_week"}]},
        ["needs a DATE or TIMESTAMP"],
    ),
    ("function in expr", {"select": [{"expr": "abs(total)"}]}, ["expression 'abs(total)' contains ABS"]),
    ("string in expr", {"select": [{"expr": "total + 'a'"}]}, ["contains the string 'a'"]),
    ("comparison in expr", {"select": [{"expr": "total > 1"}]}, ["contains GT"]),
    ("subquery in expr", {"select": [{"expr": "(SELECT 1)"}]}, ["contains"]),
    ("two statements in expr", {"select": [{"expr": "total; DROP TABLE orders"}]}, ["expression"]),
    ("syntax error in expr", {"select": [{"expr": "total +"}]}, ["expression 'total +'"]),
    ("star in expr", {"select": [{"func": "sum", "expr": "orders.* + 1"}]}, ["'*'"]),
    ("text column in expr", {"select": [{"expr": "status * 2"}]}, ["column 'status' of type VARCHAR"]),
    ("unknown column in expr", {"select": [{"expr": "totl * 2"}]}, ["did you mean 'total'"]),
    (
        "unknown measure",
        {"select": [{"measure": "revenu"}]},
        ["unknown measure 'revenu'", "did you mean 'revenue'"],
    ),
    (
        "measure of an unjoined table",
        {"select": [{"measure": "item_revenue"}]},
        ["defined on table 'order_items'", 'add {"table": "order_items"} to joins'],
    ),
    (
        "having an unknown output",
        {
            "group_by": ["status"],
            "select": [{"func": "sum", "column": "total"}],
            "having": [{"column": "sum_totl", "op": ">", "value": 1}],
        },
        ["unknown output column 'sum_totl' in having; did you mean 'sum_total'?"],
    ),
    (
        "having without aggregation",
        {"select": ["total"], "having": [{"column": "total", "op": ">", "value": 1}]},
        ["does not aggregate", "filters"],
    ),
    (
        "having type mismatch",
        {
            "group_by": ["status"],
            "select": COUNT,
            "having": [{"column": "count", "op": ">", "value": "many"}],
        },
        ["output 'count' is BIGINT", "'many' is not a number"],
    ),
    (
        "order by an unknown output",
        {"group_by": ["status"], "select": COUNT, "order_by": ["cnt desc"]},
        ["unknown output column 'cnt' in order_by", "'count'"],
    ),
    (
        "order by a non-output in an aggregated plan",
        {"group_by": ["status"], "select": COUNT, "order_by": ["total"]},
        ["unknown output column 'total'", "valid names: count, status"],
    ),
    (
        "distinct ordered by an unselected column",
        {"select": ["status"], "distinct": True, "order_by": ["total"]},
        ["unknown output column 'total'"],
    ),
    (
        "ungrouped column",
        {"group_by": ["status"], "select": ["customer_id", *COUNT]},
        ["'customer_id' is neither grouped nor aggregated", "add 'customer_id' to group_by"],
    ),
    ("ungrouped expression", {"select": [{"expr": "total * 2"}, *COUNT]}, ["neither grouped nor aggregated"]),
    (
        "duplicate output names",
        {
            "group_by": ["status"],
            "select": [
                *COUNT,
                {"func": "count", "where": [{"column": "returned", "op": "=", "value": True}]},
            ],
        },
        ["two output columns are both named 'count'", "alias"],
    ),
    (
        "fan-out",
        {
            "table": "order_items",
            "joins": [{"table": "orders"}],
            "select": [{"func": "sum", "column": "total"}],
        },
        [
            "'sum_total' would be wrong",
            "once per matching order_items row",
            "start the plan from table 'orders'",
        ],
    ),
    (
        "fan-out through a measure",
        {"table": "order_items", "joins": [{"table": "orders"}], "select": [{"measure": "revenue"}]},
        ["'revenue' would be wrong"],
    ),
    (
        "fan-out in an expression",
        {
            "table": "order_items",
            "joins": [{"table": "inventory"}],
            "select": [{"func": "avg", "expr": "stock * price"}],
        },
        ["over inventory.stock"],
    ),
    (
        "fan-out of the base table",
        {"joins": [{"table": "order_items"}], "select": [{"measure": "return_rate"}]},
        ["'return_rate' would be wrong", "drop the join to 'order_items'"],
    ),
    (
        "fan-out of a counting measure",
        {"table": "order_items", "joins": [{"table": "orders"}], "select": [{"measure": "order_count"}]},
        ["'order_count' would be wrong: count over orders.*"],
    ),
    (
        "unknown column in an aggregate's where",
        {"select": [{"func": "count", "where": [{"column": "stats", "op": "=", "value": "x"}]}]},
        ["did you mean 'status'"],
    ),
]


@pytest.mark.parametrize(("overrides", "fragments"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_plans_say_what_and_what_instead(overrides: dict[str, Any], fragments: list[str], datasets):
    p = plan(**{"table": "orders", "dataset_id": "ecommerce", **overrides})
    dataset = datasets["ecommerce"]
    with pytest.raises(ValidationError) as info:
        validate_plan(p, dataset)
    err = info.value
    assert err.code == "VALIDATION_ERROR"
    text = err.message + " " + (err.suggestion or "")
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in {text!r}"


def test_unknown_names_carry_the_candidates_as_details(datasets):
    with pytest.raises(ValidationError) as info:
        check(plan(select=["totl"]), datasets)
    assert info.value.suggestion == "did you mean 'total'?"
    assert info.value.details["candidates"] == sorted(datasets["ecommerce"].table("orders").column_names)
    assert info.value.to_dict()["code"] == "VALIDATION_ERROR"


def test_bad_arithmetic_never_reaches_sql():
    for text in [
        "1; DROP TABLE orders",
        "total || 'x'",
        "CAST(total AS INT)",
        "total IS NULL",
        "read_csv('/etc/passwd')",
    ]:
        with pytest.raises(ValidationError):
            parse_arithmetic(text)


# ---------------------------------------------------------------- good plans


def test_a_plain_aggregate_resolves_types_and_names(datasets):
    r = check(
        plan(
            filters=[{"column": "status", "op": "=", "value": "delivered"}],
            group_by=[{"column": "order_date", "bucket": "month"}],
            select=[{"func": "sum", "column": "total"}],
            order_by=["sum_total desc"],
            limit=5,
        ),
        datasets,
    )
    assert r.base == "orders" and r.joins == () and r.aggregated and r.limit == 5
    assert r.output_names == ("order_date_month", "sum_total")
    dim, agg = r.outputs
    assert isinstance(dim, DimensionOut) and dim.column == ColumnRef("orders", "order_date", "DATE")
    assert dim.type == "DATE" and dim.is_time
    assert isinstance(agg, AggregateOut) and agg.type == "DOUBLE"
    assert r.filters[0].values == ("delivered",)
    assert r.order_by[0].target is agg and r.order_by[0].direction == "desc"


def test_resolved_plans_are_frozen(datasets):
    r = check(plan(select=COUNT), datasets)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.limit = 5


@pytest.mark.parametrize(
    ("base", "joins", "steps"),
    [
        (
            "order_items",
            ["orders"],
            [JoinStep("orders", "inner", "order_items", "order_id", "orders", "order_id")],
        ),
        (  # the other direction along the same relationship
            "orders",
            ["order_items"],
            [JoinStep("order_items", "inner", "order_items", "order_id", "orders", "order_id")],
        ),
        (  # inventory is reachable through the already-joined order_items
            "orders",
            ["order_items", "inventory"],
            [
                JoinStep("order_items", "inner", "order_items", "order_id", "orders", "order_id"),
                JoinStep("inventory", "inner", "order_items", "product_id", "inventory", "product_id"),
            ],
        ),
    ],
)
def test_joins_follow_declared_relationships(base, joins, steps, datasets):
    r = check(plan(table=base, joins=[{"table": j} for j in joins], select=COUNT), datasets)
    assert list(r.joins) == steps
    assert r.tables == (base, *joins)


def test_unqualified_names_prefer_the_base_table_then_joins_in_order(datasets):
    r = check(
        plan(table="order_items", joins=[{"table": "inventory"}], select=["category", "name", "order_id"]),
        datasets,
    )
    assert [o.column.table for o in r.outputs if isinstance(o, ColumnOut) and o.column] == [
        "order_items",
        "inventory",
        "order_items",
    ]
    r = check(plan(table="inventory", joins=[{"table": "order_items"}], select=["category"]), datasets)
    assert r.outputs[0].column == ColumnRef("inventory", "category", "VARCHAR")
    r = check(
        plan(table="order_items", joins=[{"table": "inventory"}], select=["inventory.category"]), datasets
    )
    assert r.outputs[0].column == ColumnRef("inventory", "category", "VARCHAR")
    assert r.output_names == ("category",)


def test_names_are_case_insensitive_like_duckdb(datasets):
    r = check(plan(select=["Total", "ORDERS.Status"]), datasets)
    assert [o.column.name for o in r.outputs if isinstance(o, ColumnOut) and o.column] == ["total", "status"]


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("total", "500.5", 500.5),
        ("order_id", "42", 42),
        ("order_id", 7, 7),
        ("total", -3, -3),
        ("returned", "true", True),
        ("returned", "False", False),
        ("returned", True, True),
        ("order_date", "2025-01-31", date(2025, 1, 31)),
        ("status", "delivered", "delivered"),
    ],
)
def test_filter_values_are_coerced_to_the_column_type(column, value, expected, datasets):
    r = check(plan(filters=[{"column": column, "op": "=", "value": value}], select=COUNT), datasets)
    [got] = r.filters[0].values
    assert got == expected and type(got) is type(expected)


def test_timestamps_accept_dates_and_datetimes(datasets):
    p = plan(
        dataset_id="sensors",
        table="sensors",
        filters=[{"column": "timestamp", "op": "between", "value": ["2025-01-01", "2025-01-02T06:30:00"]}],
        select=COUNT,
    )
    assert check(p, datasets).filters[0].values == (datetime(2025, 1, 1), datetime(2025, 1, 2, 6, 30))


def test_hour_buckets_and_parts_on_timestamps(datasets):
    def dims(*group_by: dict[str, Any]) -> QueryPlan:
        return plan(
            dataset_id="sensors", table="sensors", group_by=list(group_by), select=[{"measure": "avg_temp"}]
        )

    r = check(
        dims(
            {"column": "timestamp", "bucket": "hour"}, {"column": "timestamp", "part": "hour", "alias": "hod"}
        ),
        datasets,
    )
    assert r.output_names == ("timestamp_hour", "hod", "avg_temp")
    assert [o.type for o in r.outputs] == ["TIMESTAMP", "BIGINT", "DOUBLE"]
    # A bucket and a part of one grain share a default name: the plan must alias one.
    with pytest.raises(ValidationError, match="both named 'timestamp_hour'"):
        check(
            dims({"column": "timestamp", "bucket": "hour"}, {"column": "timestamp", "part": "hour"}), datasets
        )


def test_measures_expand_to_their_definition(datasets):
    r = check(
        plan(group_by=["status"], select=[{"measure": "revenue"}, {"measure": "return_rate", "alias": "rr"}]),
        datasets,
    )
    revenue, rate = r.outputs[1:]
    assert isinstance(revenue, AggregateOut) and revenue.measure == "revenue" and revenue.func == "sum"
    assert revenue.column == ColumnRef("orders", "total", "DOUBLE")
    assert revenue.where[0].subject == ColumnRef("orders", "status", "VARCHAR")
    assert revenue.where[0].op == "!=" and revenue.where[0].values == ("cancelled",)
    assert (
        isinstance(rate, AggregateOut) and rate.name == "rr" and rate.func == "rate" and rate.type == "DOUBLE"
    )


def test_a_measure_on_a_joined_table_resolves_in_its_own_table(datasets):
    r = check(
        plan(
            table="order_items",
            joins=[{"table": "inventory"}],
            group_by=["category"],
            select=[{"measure": "item_revenue"}],
        ),
        datasets,
    )
    agg = r.outputs[1]
    assert isinstance(agg, AggregateOut) and agg.expr is not None
    assert {c.table for c in agg.expr.columns} == {"order_items"}


def test_min_max_and_count_distinct_may_cross_a_fan_out(datasets):
    p = plan(
        table="order_items",
        joins=[{"table": "orders"}],
        group_by=["category"],
        select=[
            {"func": "max", "column": "total"},
            {"func": "count_distinct", "column": "orders.order_id"},
            *COUNT,
        ],
    )
    assert check(p, datasets).output_names == ("category", "max_total", "count_distinct_order_id", "count")


def test_repeating_a_dimension_in_select_is_harmless(datasets):
    r = check(plan(group_by=["status"], select=["status", *COUNT]), datasets)
    assert r.output_names == ("status", "count")
    r = check(plan(group_by=["status"], select=[{"column": "status", "alias": "state"}, *COUNT]), datasets)
    assert r.output_names == ("status", "state", "count")


def test_having_and_order_by_refer_to_outputs(datasets):
    r = check(
        plan(
            group_by=["status"],
            select=[{"func": "avg", "column": "total", "alias": "avg_value"}],
            having=[
                {"column": "avg_value", "op": ">", "value": "10"},
                {"column": "status", "op": "!=", "value": "x"},
            ],
            order_by=["orders.status"],
        ),
        datasets,
    )
    assert [c.subject.name for c in r.having] == ["avg_value", "status"]
    assert r.having[0].values == (10,)
    assert r.order_by[0].target is r.outputs[0]


def test_row_plans_may_order_by_any_column(datasets):
    r = check(plan(select=["order_id"], order_by=["total desc"]), datasets)
    assert r.order_by[0].target == ColumnRef("orders", "total", "DOUBLE")


def test_an_empty_row_plan_outputs_every_column_once(datasets):
    r = check(plan(table="order_items", joins=[{"table": "orders"}]), datasets)
    assert r.output_names == ("item_id", "order_id", "product_id", "category", "quantity", "price", "discount",
                              "customer_id", "order_date", "total", "status", "returned")  # fmt: skip


def test_rate_of_a_condition_is_allowed_without_a_column(datasets):
    r = check(
        plan(select=[{"func": "rate", "where": [{"column": "status", "op": "=", "value": "cancelled"}]}]),
        datasets,
    )
    assert r.output_names == ("rate",)


# ---------------------------------------------------------------- default output names


@pytest.mark.parametrize(
    ("item", "name"),
    [
        (Aggregate(func="count"), "count"),
        (Aggregate(func="count", column="customer_id"), "count_customer_id"),
        (Aggregate(func="count_distinct", column="orders.customer_id"), "count_distinct_customer_id"),
        (Aggregate(func="sum", column="total"), "sum_total"),
        (Aggregate(func="avg", column="total", alias="mean"), "mean"),
        (Aggregate(func="median", column="total"), "median_total"),
        (Aggregate(func="rate", column="returned"), "returned_rate"),
        (Aggregate(func="rate", where=[{"column": "status", "op": "=", "value": "x"}]), "rate"),
        (Aggregate(func="sum", expr="price * quantity"), "sum_price_quantity"),
        (MeasureRef(measure="revenue"), "revenue"),
        (MeasureRef(measure="revenue", alias="sales"), "sales"),
        (Dimension(column="status"), "status"),
        (Dimension(column="order_date", bucket="month"), "order_date_month"),
        (Dimension(column="created_at", part="day_of_week"), "created_at_day_of_week"),
        (Dimension(column="orders.order_date", bucket="year"), "order_date_year"),
        (Column(column="orders.total"), "total"),
        (Column(expr="price * (1 - discount)"), "price_1_discount"),
    ],
)
def test_default_output_names(item, name):
    assert item_name(item) == name
