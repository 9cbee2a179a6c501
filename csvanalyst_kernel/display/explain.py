"""The plan in plain English: ``orders → filter status = delivered → group by month of order_date → sum(total)``.

Worded like the server's ``sandbox_server.explain.explain_plan``, but a reader of its own: the
server's imports ``sandbox_server.validate`` (and with it sqlglot), which the notebook side must
not need. It reads the plan's JSON and never trusts it: anything it does not recognise is
skipped rather than failing the card.

>>> explain({"table": "orders", "filters": [{"column": "status", "op": "=", "value": "delivered"}],
...          "group_by": [{"column": "order_date", "bucket": "month"}],
...          "select": [{"func": "sum", "column": "total"}]})
'orders → filter status = delivered → group by month of order_date → sum(total)'
>>> explain({"table": "tickets", "group_by": ["priority"], "select": [{"func": "avg", "column": "csat_score"}],
...          "order_by": [{"by": "avg_csat_score", "direction": "desc"}], "limit": 3})
'tickets → group by priority → avg(csat_score) → top 3 by avg_csat_score'
"""

from __future__ import annotations

from typing import Any

from sandbox_server.plan import DEFAULT_LIMIT

ARROW = " → "
_OPS = {
    "=": "=", "!=": "≠", "<": "<", "<=": "≤", ">": ">", ">=": "≥",
    "in": "in", "not_in": "not in", "contains": "contains",
    "startswith": "starts with", "endswith": "ends with",
}  # fmt: skip
_PARTS = {"day_of_week": "day of week", "hour": "hour of day", "day": "day of month"}


def _value(value: Any) -> str:
    if isinstance(value, list):
        return "(" + ", ".join(_value(v) for v in value) + ")"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _condition(f: Any) -> str:
    if not isinstance(f, dict):
        return str(f)
    column, op, value = f.get("column", "?"), str(f.get("op", "=")), f.get("value")
    if op == "is_null":
        return f"{column} is empty"
    if op == "is_not_null":
        return f"{column} is not empty"
    if op == "between" and isinstance(value, list) and len(value) == 2:
        return f"{column} between {_value(value[0])} and {_value(value[1])}"
    return f"{column} {_OPS.get(op, op)} {_value(value)}"


def _conditions(filters: list[Any]) -> str:
    return " and ".join(_condition(f) for f in filters)


def _dimension(d: Any) -> str:
    if not isinstance(d, dict):
        return str(d)
    column = d.get("column", "?")
    if d.get("bucket"):
        return f"{d['bucket']} of {column}"
    if d.get("part"):
        return f"{_PARTS.get(d['part'], d['part'])} of {column}"
    return str(column)


def _item(s: Any) -> str:
    if not isinstance(s, dict):
        return str(s)
    if "measure" in s:
        text = str(s["measure"])
    elif "func" in s:
        func, subject, where = s["func"], s.get("column") or s.get("expr"), s.get("where") or []
        if func == "count" and subject is None:
            text = "count"
        elif func == "count_distinct":
            text = f"count(distinct {subject})"
        elif func == "rate" and subject is None:
            text = f"rate({_conditions(where)})"
        else:
            text = f"{func}({subject})"
        if where and not (func == "rate" and subject is None):
            text += f" where {_conditions(where)}"
    else:
        text = str(s.get("column") or s.get("expr") or "?")
    if s.get("alias"):
        text += f" as {s['alias']}"
    return text


def _order_and_limit(plan: dict[str, Any]) -> str:
    limit = plan.get("limit", DEFAULT_LIMIT)
    orders = [o if isinstance(o, dict) else {"by": str(o)} for o in plan.get("order_by") or []]
    if not orders:
        return f"first {limit} rows" if limit != DEFAULT_LIMIT else ""
    if len(orders) == 1 and orders[0].get("direction") == "desc":
        return f"top {limit} by {orders[0].get('by')}"
    keys = ", ".join(f"{o.get('by')}{' descending' if o.get('direction') == 'desc' else ''}" for o in orders)
    return f"sort by {keys}" + (f", first {limit}" if limit != DEFAULT_LIMIT else "")


def explain(plan: dict[str, Any]) -> str:
    """The plan as one line of plain English, stages joined by arrows."""
    joins = [j for j in plan.get("joins") or [] if isinstance(j, dict)]
    steps = [
        str(plan.get("table", "?"))
        + "".join(
            f" left join {j.get('table')}" if j.get("how") == "left" else f" join {j.get('table')}"
            for j in joins
        )
    ]
    if plan.get("filters"):
        steps.append("filter " + _conditions(plan["filters"]))
    if plan.get("group_by"):
        steps.append("group by " + ", ".join(_dimension(d) for d in plan["group_by"]))
    if plan.get("select"):
        steps.append(", ".join(_item(s) for s in plan["select"]))
    if plan.get("distinct"):
        steps.append("distinct rows")
    if plan.get("having"):
        steps.append("keep groups where " + _conditions(plan["having"]))
    steps.append(_order_and_limit(plan))
    return ARROW.join(s for s in steps if s)
