"""Follow-ups keep working on a plan whose measure had to be reshaped for a join."""

from __future__ import annotations

from typing import Any

from sandbox_server.planners.offline import OfflinePlanner


def test_return_rate_by_category_takes_follow_ups(registry: Any) -> None:
    ecommerce = registry.get("ecommerce")
    planner = OfflinePlanner()
    first = planner.plan("Which 5 product categories have the highest return rate?", ecommerce).plan
    only_2025 = planner.plan("now only 2025", ecommerce, previous=first).plan
    assert only_2025 is not None and first is not None
    assert only_2025.select == first.select and only_2025.group_by == first.group_by
    assert [(f.column.split(".")[-1], f.op) for f in only_2025.filters] == [
        ("order_date", ">="),
        ("order_date", "<"),
    ]
    top3 = planner.plan("top 3 instead", ecommerce, previous=only_2025).plan
    assert top3 is not None and top3.limit == 3 and top3.filters == only_2025.filters
