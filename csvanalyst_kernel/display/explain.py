"""The plan in plain English, for cards: the server's own reader (``sandbox_server.explain``,
pydantic only) applied to the plan JSON of a run response.

It never trusts the JSON: a plan it cannot read gives no reading rather than a broken card.

>>> explain({"dataset_id": "ecommerce", "table": "orders",
...          "filters": [{"column": "status", "op": "=", "value": "delivered"}],
...          "group_by": [{"column": "order_date", "bucket": "month"}],
...          "select": [{"func": "sum", "column": "total"}]})
'orders → filter status = delivered → group by month of order_date → sum(total)'
>>> explain({"table": "tickets", "group_by": ["priority"], "select": [{"func": "avg", "column": "csat_score"}],
...          "order_by": [{"by": "avg_csat_score", "direction": "desc"}], "limit": 3})
'tickets → group by priority → avg(csat_score) → top 3 by avg_csat_score'
>>> explain({"table": 3})
''
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from sandbox_server.explain import explain_plan
from sandbox_server.plan import QueryPlan


def explain(plan: Any) -> str:
    if not isinstance(plan, dict):
        return ""
    try:
        return explain_plan(QueryPlan.model_validate({"dataset_id": "", **plan}))
    except (ValidationError, TypeError, ValueError):
        return ""
