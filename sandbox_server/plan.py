"""The QueryPlan DSL: what a planner (offline rules or an LLM) may say, as typed data.

A plan is never code. It names a dataset, a base table, joins along the relationships the
registry declares, filters, dimensions, measures, having, order and limit; the compiler turns
it into SQL deterministically. This module only defines the shape (pydantic v2, JSON Schema via
``QueryPlan.model_json_schema()``); checking a plan against a dataset is ``validate.py``.

Depends on pydantic only: the notebook side imports it to render plans.

Column references are strings: ``"total"`` or, when two joined tables share a name,
``"orders.total"``. Arithmetic (``"price * quantity * (1 - discount)"``) is a string too, but a
closed grammar: column names, numbers, ``+ - * /`` and parentheses, nothing else (see
``validate.parse_arithmetic``).

>>> p = QueryPlan(dataset_id="ecommerce", table="orders", group_by=["status"],
...               select=[Aggregate(func="count")])
>>> p.limit
200
>>> p.group_by[0].column
'status'
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DEFAULT_LIMIT = 200
MAX_LIMIT = 10_000

Scalar = str | int | float | bool
FilterOp = Literal[
    "=", "!=", "<", "<=", ">", ">=",
    "in", "not_in", "between",
    "contains", "startswith", "endswith",
    "is_null", "is_not_null",
]  # fmt: skip
AggFunc = Literal["count", "count_distinct", "sum", "avg", "min", "max", "median", "rate"]
TimeBucket = Literal["hour", "day", "week", "month", "quarter", "year"]
DatePart = Literal["hour", "day_of_week", "day", "week", "month", "quarter", "year"]
JoinKind = Literal["inner", "left"]
Direction = Literal["asc", "desc"]

_OPS_WITHOUT_VALUE = {"is_null", "is_not_null"}
_OPS_WITH_LIST = {"in", "not_in"}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Filter(_Model):
    """One condition. ``between`` takes ``[low, high]`` (inclusive); ``in``/``not_in`` a list;
    ``is_null``/``is_not_null`` no value; the LIKE operators a plain string (no wildcards)."""

    column: str = Field(description="Column name, optionally qualified as table.column")
    op: FilterOp
    value: Scalar | list[Scalar] | None = None

    @model_validator(mode="after")
    def _value_fits_op(self) -> Filter:
        if self.op in _OPS_WITHOUT_VALUE:
            if self.value is not None:
                raise ValueError(f"operator {self.op!r} takes no value")
        elif self.op in _OPS_WITH_LIST:
            if not isinstance(self.value, list) or not self.value:
                raise ValueError(f"operator {self.op!r} needs a non-empty list of values")
        elif self.op == "between":
            if not isinstance(self.value, list) or len(self.value) != 2:
                raise ValueError("operator 'between' needs a list of two values [low, high]")
        elif self.value is None or isinstance(self.value, list):
            raise ValueError(f"operator {self.op!r} needs a single value")
        return self


class Aggregate(_Model):
    """An aggregate: ``func`` over a ``column`` or an arithmetic ``expr`` (``count`` may take
    neither: count of rows). ``where`` restricts the rows it sees (``FILTER (WHERE ...)``); for
    ``rate`` it is the condition whose share of rows is measured (0..1), or ``column`` names a
    boolean column whose share of true values is measured."""

    func: AggFunc
    column: str | None = None
    expr: str | None = None
    where: list[Filter] = Field(default_factory=list)
    alias: str | None = None

    @model_validator(mode="after")
    def _one_input(self) -> Aggregate:
        if self.column is not None and self.expr is not None:
            raise ValueError("give either 'column' or 'expr', not both")
        if self.func not in ("count", "rate") and self.column is None and self.expr is None:
            raise ValueError(f"aggregate {self.func!r} needs a 'column' or an 'expr'")
        if self.func == "rate" and self.column is None and self.expr is None and not self.where:
            raise ValueError("'rate' needs a boolean 'column' or a 'where' condition")
        return self


class MeasureRef(_Model):
    """A named measure of the dataset's semantic layer (registry ``measures``), e.g. ``revenue``."""

    measure: str
    alias: str | None = None


class Column(_Model):
    """A plain (non-aggregated) output column or arithmetic expression."""

    column: str | None = None
    expr: str | None = None
    alias: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Column:
        if (self.column is None) == (self.expr is None):
            raise ValueError("give exactly one of 'column' or 'expr'")
        return self


class Dimension(_Model):
    """A grouping key: a column, optionally truncated to a time ``bucket`` (``date_trunc``) or
    reduced to a date ``part`` (hour of day, day of week, ...)."""

    column: str
    bucket: TimeBucket | None = None
    part: DatePart | None = None
    alias: str | None = None

    @model_validator(mode="after")
    def _bucket_or_part(self) -> Dimension:
        if self.bucket is not None and self.part is not None:
            raise ValueError("give either 'bucket' or 'part', not both")
        return self


class Join(_Model):
    """Join another table along a relationship declared in the registry (no ad-hoc keys)."""

    table: str
    how: JoinKind = "inner"


class OrderBy(_Model):
    """Order by an output column: an alias, a column name, or a dimension/measure's name."""

    by: str
    direction: Direction = "asc"


SelectItem = Annotated[Aggregate | MeasureRef | Column, Field(union_mode="left_to_right")]


class QueryPlan(_Model):
    """One question, as data. Output columns are the dimensions (``group_by``) followed by the
    ``select`` items, in order."""

    dataset_id: str
    table: str = Field(description="Base table")
    joins: list[Join] = Field(default_factory=list)
    select: list[SelectItem] = Field(default_factory=list)
    filters: list[Filter] = Field(default_factory=list, description="Row filters, AND-ed")
    group_by: list[Dimension] = Field(default_factory=list)
    having: list[Filter] = Field(
        default_factory=list, description="Filters on output columns of an aggregated plan, AND-ed"
    )
    order_by: list[OrderBy] = Field(default_factory=list)
    distinct: bool = False
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    notes: str | None = Field(None, description="The planner's reading of the question, for people")

    @field_validator("select", mode="before")
    @classmethod
    def _strings_are_columns(cls, value: Any) -> Any:
        """Accept ``"status"`` as shorthand for ``{"column": "status"}`` (LLMs write it so)."""
        if isinstance(value, list):
            return [{"column": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("group_by", mode="before")
    @classmethod
    def _strings_are_dimensions(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"column": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("order_by", mode="before")
    @classmethod
    def _strings_are_orders(cls, value: Any) -> Any:
        if isinstance(value, list):
            out = []
            for v in value:
                if isinstance(v, str):
                    name, _, direction = v.strip().partition(" ")
                    v = {"by": name, "direction": direction.strip().lower() or "asc"}
                out.append(v)
            return out
        return value

    @property
    def is_aggregated(self) -> bool:
        return bool(self.group_by) or any(not isinstance(s, Column) for s in self.select)


def plan_json_schema() -> dict[str, Any]:
    """The JSON Schema of a plan, as given to LLMs and published in the docs."""
    return QueryPlan.model_json_schema()
