"""A plan read aloud, for the notebook card: what the answer is computed from, step by step.

    orders → filter status = delivered → group by month of order_date → sum(total) → top 5 by sum_total

Plan only (no dataset needed), so a plan can be explained even when it fails validation.

>>> from sandbox_server.plan import QueryPlan
>>> explain_plan(QueryPlan.model_validate({"dataset_id": "ecommerce", "table": "orders",
...     "filters": [{"column": "status", "op": "=", "value": "delivered"}],
...     "group_by": [{"column": "order_date", "bucket": "month"}],
...     "select": [{"func": "sum", "column": "total"}], "order_by": ["sum_total desc"], "limit": 5}))
'orders → filter status = delivered → group by month of order_date → sum(total) → top 5 by sum_total'
"""

from __future__ import annotations

from sandbox_server.naming import item_name
from sandbox_server.plan import (
    DEFAULT_LIMIT,
    Aggregate,
    Column,
    Dimension,
    Filter,
    MeasureRef,
    QueryPlan,
    Scalar,
)

__all__ = ["explain_plan"]

ARROW = " → "

_OPS = {
    "=": "=", "!=": "≠", "<": "<", "<=": "≤", ">": ">", ">=": "≥",
    "in": "in", "not_in": "not in", "contains": "contains",
    "startswith": "starts with", "endswith": "ends with",
}  # fmt: skip

_PARTS = {"day_of_week": "day of week", "hour": "hour of day", "day": "day of month"}


def explain_plan(plan: QueryPlan) -> str:
    """The plan as one line of plain English, stages joined by arrows."""
    steps = [
        plan.table
        + "".join(f" {j.how} join {j.table}" if j.how == "left" else f" join {j.table}" for j in plan.joins)
    ]
    if plan.filters:
        steps.append("filter " + _conditions(plan.filters))
    if plan.group_by:
        steps.append("group by " + ", ".join(_dimension(d) for d in plan.group_by))
    if plan.select:
        steps.append(", ".join(_item(s) for s in plan.select))
    if plan.distinct:
        steps.append("distinct rows")
    if plan.having:
        steps.append("keep groups where " + _conditions(plan.having))
    steps.append(_order_and_limit(plan))
    return ARROW.join(s for s in steps if s)


def _value(value: Scalar | list[Scalar] | None) -> str:
    if isinstance(value, list):
        return "(" + ", ".join(_value(v) for v in value) + ")"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _condition(flt: Filter) -> str:
    if flt.op == "is_null":
        return f"{flt.column} is empty"
    if flt.op == "is_not_null":
        return f"{flt.column} is not empty"
    if flt.op == "between" and isinstance(flt.value, list):
        return f"{flt.column} between {_value(flt.value[0])} and {_value(flt.value[1])}"
    return f"{flt.column} {_OPS[flt.op]} {_value(flt.value)}"


def _conditions(filters: list[Filter]) -> str:
    return " and ".join(_condition(f) for f in filters)


def _dimension(dim: Dimension) -> str:
    if dim.bucket:
        return f"{dim.bucket} of {dim.column}"
    if dim.part:
        return f"{_PARTS.get(dim.part, dim.part)} of {dim.column}"
    return dim.column


def _item(item: Aggregate | MeasureRef | Column) -> str:
    if isinstance(item, MeasureRef):
        text = item.measure
    elif isinstance(item, Column):
        text = item.column or item.expr or ""
    else:
        subject = item.column or item.expr
        if item.func == "count" and subject is None:
            text = "count"
        elif item.func == "count_distinct":
            text = f"count(distinct {subject})"
        elif item.func == "rate" and subject is None:
            text = f"rate({_conditions(item.where)})"
        else:
            text = f"{item.func}({subject})"
        if item.where and not (item.func == "rate" and subject is None):
            text += f" where {_conditions(item.where)}"
    if item.alias:
        text += f" as {item.alias}"
    return text


def _order_and_limit(plan: QueryPlan) -> str:
    if not plan.order_by:
        return f"first {plan.limit} rows" if plan.limit != DEFAULT_LIMIT else ""
    first = plan.order_by[0]
    aggregates = {item_name(s) for s in plan.select if not isinstance(s, Column)}
    if len(plan.order_by) == 1 and first.direction == "desc":
        return f"top {plan.limit} by {first.by}"
    if len(plan.order_by) == 1 and first.by in aggregates:
        return f"bottom {plan.limit} by {first.by}"
    keys = ", ".join(f"{o.by}{' descending' if o.direction == 'desc' else ''}" for o in plan.order_by)
    limit = f", first {plan.limit}" if plan.limit != DEFAULT_LIMIT else ""
    return f"sort by {keys}{limit}"
