"""Output names of plan items, from the plan alone (pydantic only: the notebook side uses them).

``count`` → ``count``; ``sum`` of ``total`` → ``sum_total``; ``rate`` of ``returned`` →
``returned_rate``; a measure → its name; a dimension with a bucket → ``order_date_month``, with
a part → ``created_at_hour``; an alias always wins.
"""

from __future__ import annotations

import re

from sandbox_server.plan import Aggregate, Column, Dimension, MeasureRef


def _short(ref: str) -> str:
    """``orders.total`` → ``total`` (names never carry the table)."""
    return ref.rsplit(".", 1)[-1]


def _slug(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_").lower() or "expr"


def dimension_name(dim: Dimension) -> str:
    if dim.alias:
        return dim.alias
    suffix = dim.bucket or dim.part
    return f"{_short(dim.column)}_{suffix}" if suffix else _short(dim.column)


def aggregate_name(agg: Aggregate) -> str:
    if agg.alias:
        return agg.alias
    subject = _short(agg.column) if agg.column else _slug(agg.expr) if agg.expr else None
    if agg.func == "rate":
        return f"{subject}_rate" if subject else "rate"
    if agg.func == "count" and subject is None:
        return "count"
    return f"{agg.func}_{subject}"


def column_name(col: Column) -> str:
    if col.alias:
        return col.alias
    return _short(col.column) if col.column else _slug(col.expr or "")


def item_name(item: Dimension | Aggregate | MeasureRef | Column) -> str:
    """The output name of any plan item (see the module docstring)."""
    if isinstance(item, Dimension):
        return dimension_name(item)
    if isinstance(item, Aggregate):
        return aggregate_name(item)
    if isinstance(item, MeasureRef):
        return item.alias or item.measure
    return column_name(item)
