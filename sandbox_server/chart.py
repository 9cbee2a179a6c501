"""A Vega-Lite v5 chart for a plan's result, when one reads well; no code is generated.

The chart is chosen from the plan's shape (its dimensions and measures), typed by the result
columns the runner reported:

    one time dimension + measures          line, temporal x (several measures: one line each)
    one category dimension + one measure   bar, sorted by the measure when the plan orders by it
    two dimensions + one measure           line (one is time) or grouped bar, coloured by the other
    no dimension, two numeric columns      scatter (row-level results: x is the first, y the second)
    anything else                          None (the table says it better)

The spec carries no data; ``with_data`` returns a copy with the result rows inlined.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from sandbox_server.plan import Aggregate, Column, Dimension, MeasureRef, QueryPlan
from sandbox_server.validate import column_name, dimension_name, item_name

__all__ = ["SCHEMA", "chart_for", "field_type", "with_data"]

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"

FieldType = Literal["quantitative", "temporal", "ordinal", "nominal"]

_NUMERIC_PREFIXES = (
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
    "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "REAL", "DECIMAL", "NUMERIC", "INT",
)  # fmt: skip


def field_type(sql_type: str) -> FieldType:
    """The Vega-Lite type of a result column from its DuckDB type name."""
    upper = sql_type.upper()
    if upper.startswith(("DATE", "TIMESTAMP", "TIME")):
        return "temporal"
    if upper.startswith(_NUMERIC_PREFIXES):
        return "quantitative"
    return "nominal"


def chart_for(plan: QueryPlan, columns: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """A Vega-Lite spec for the result of ``plan`` (``columns``: ``[{name, type}]``), or None."""
    types = {str(c["name"]): field_type(str(c.get("type", ""))) for c in columns}
    dims = list(plan.group_by)
    if any(dimension_name(d) not in types for d in dims):
        return None  # not this plan's result
    if plan.is_aggregated:
        measures = [
            item_name(s)
            for s in plan.select
            if isinstance(s, Aggregate | MeasureRef) and types.get(item_name(s)) == "quantitative"
        ]
    else:
        measures = [
            column_name(s)
            for s in plan.select
            if isinstance(s, Column) and types.get(column_name(s)) == "quantitative"
        ]
    times = [d for d in dims if _is_time(d, types)]
    if len(dims) == 1 and times and measures:
        return _line(times[0], measures, None, types)
    if len(dims) == 1 and len(measures) == 1:
        return _bar(plan, dims[0], measures[0], None, types)
    if len(dims) == 2 and len(measures) == 1:
        if times:
            other = next(d for d in dims if d is not times[0])
            return _line(times[0], measures, other, types)
        return _bar(plan, dims[0], measures[0], dims[1], types)
    if not dims and not plan.is_aggregated and len(measures) == 2:
        x, y = measures
        return _spec(
            "point",
            {"x": _enc(x, "quantitative"), "y": _enc(y, "quantitative"), "tooltip": _tooltip(types)},
        )
    return None


def with_data(
    spec: Mapping[str, Any], rows: Sequence[Sequence[Any] | Mapping[str, Any]], columns: Sequence[Any] = ()
) -> dict[str, Any]:
    """A copy of ``spec`` with ``rows`` inlined as ``data.values``. List rows need the
    ``columns`` (names, or ``{name, ...}`` dicts) to become records."""
    names = [c if isinstance(c, str) else str(c["name"]) for c in columns]
    values = []
    for row in rows:
        if isinstance(row, Mapping):
            values.append(dict(row))
        else:
            if len(row) != len(names):
                raise ValueError(f"a row has {len(row)} values but {len(names)} column names were given")
            values.append(dict(zip(names, row, strict=True)))
    out = copy.deepcopy(dict(spec))
    out["data"] = {"values": values}
    return out


# ---------------------------------------------------------------- building blocks


def _is_time(dim: Dimension, types: Mapping[str, FieldType]) -> bool:
    # A date part (hour of day, weekday) is a category, not a time line.
    return dim.part is None and (dim.bucket is not None or types.get(dimension_name(dim)) == "temporal")


def _category_type(dim: Dimension, types: Mapping[str, FieldType]) -> FieldType:
    # Date parts (hour 0-23, ISO weekday 1-7) are ordered categories, not amounts.
    return (
        "ordinal" if dim.part is not None or types.get(dimension_name(dim)) == "quantitative" else "nominal"
    )


def _enc(name: str, type_: FieldType, **extra: Any) -> dict[str, Any]:
    return {"field": name, "type": type_, **extra}


def _tooltip(types: Mapping[str, FieldType]) -> list[dict[str, Any]]:
    return [_enc(name, t) for name, t in types.items()]


def _spec(mark: str, encoding: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "$schema": SCHEMA,
        "data": {"values": []},
        "mark": {"type": mark, "tooltip": True},
        "encoding": encoding,
        **extra,
    }


def _line(
    time: Dimension, measures: list[str], color: Dimension | None, types: Mapping[str, FieldType]
) -> dict[str, Any]:
    x = _enc(dimension_name(time), "temporal")
    if len(measures) > 1:  # several measures: fold them into one line each
        return _spec(
            "line",
            {
                "x": x,
                "y": _enc("value", "quantitative"),
                "color": _enc("measure", "nominal"),
                "tooltip": [x, _enc("measure", "nominal"), _enc("value", "quantitative")],
            },
            transform=[{"fold": measures, "as": ["measure", "value"]}],
        )
    encoding = {"x": x, "y": _enc(measures[0], "quantitative"), "tooltip": _tooltip(types)}
    if color is not None:
        encoding["color"] = _enc(dimension_name(color), _category_type(color, types))
    return _spec("line", encoding)


def _bar(
    plan: QueryPlan,
    dim: Dimension,
    measure: str,
    color: Dimension | None,
    types: Mapping[str, FieldType],
) -> dict[str, Any]:
    name = dimension_name(dim)
    # Keep the plan's order: by the measure when it orders by it, else the rows' own order.
    first = plan.order_by[0] if plan.order_by else None
    sort: Any = None
    if first is not None and first.by == measure:
        sort = "-y" if first.direction == "desc" else "y"
    x = _enc(name, _category_type(dim, types), sort=sort)
    encoding: dict[str, Any] = {"x": x, "y": _enc(measure, "quantitative"), "tooltip": _tooltip(types)}
    if color is not None:
        color_name = dimension_name(color)
        encoding["color"] = _enc(color_name, _category_type(color, types))
        encoding["xOffset"] = _enc(color_name, _category_type(color, types))  # grouped, not stacked
    return _spec("bar", encoding)
