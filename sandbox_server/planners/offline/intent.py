"""The planner's working form of a question, and its one conversion to and from a QueryPlan.

An ``Intent`` names every column with its table (``Ref``) so that choosing joins, qualifying
names and editing a previous plan in a follow-up are plain list operations. ``assemble`` is the
only place that turns an intent into a ``QueryPlan``; ``from_plan`` reads a plan back (the
previous turn of a conversation) so a follow-up can edit it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sandbox_server.errors import PlannerError
from sandbox_server.plan import (
    DEFAULT_LIMIT,
    Aggregate,
    Column,
    DatePart,
    Dimension,
    Filter,
    FilterOp,
    Join,
    MeasureRef,
    OrderBy,
    QueryPlan,
    Scalar,
    TimeBucket,
)
from sandbox_server.planners.offline.schema import Schema
from sandbox_server.validate import aggregate_name, dimension_name


@dataclass(frozen=True)
class Ref:
    table: str
    column: str


@dataclass(frozen=True)
class Metric:
    """An output aggregate: the plan item plus the table its bare column names live in."""

    item: Aggregate | MeasureRef
    table: str

    @property
    def name(self) -> str:
        if isinstance(self.item, MeasureRef):
            return self.item.alias or self.item.measure
        return aggregate_name(self.item)


@dataclass(frozen=True)
class Dim:
    ref: Ref
    bucket: TimeBucket | None = None
    part: DatePart | None = None

    @property
    def name(self) -> str:
        return dimension_name(Dimension(column=self.ref.column, bucket=self.bucket, part=self.part))

    @property
    def is_time(self) -> bool:
        return self.bucket is not None or self.part is not None


@dataclass(frozen=True)
class Cond:
    ref: Ref
    op: FilterOp
    value: Scalar | list[Scalar] | None


@dataclass
class Intent:
    base: str
    metrics: list[Metric] = field(default_factory=list)
    dims: list[Dim] = field(default_factory=list)
    filters: list[Cond] = field(default_factory=list)
    having: list[Filter] = field(default_factory=list)
    order: list[OrderBy] = field(default_factory=list)
    limit: int | None = None
    columns: list[Ref] = field(default_factory=list)  # a listing (no aggregate)
    distinct: bool = False
    notes: list[str] = field(default_factory=list)

    def tables(self) -> list[str]:
        seen = [self.base]
        refs = [d.ref for d in self.dims] + [c.ref for c in self.filters] + self.columns
        for table in [m.table for m in self.metrics] + [r.table for r in refs]:
            if table not in seen:
                seen.append(table)
        return seen

    def output_names(self) -> list[str]:
        return [d.name for d in self.dims] + [m.name for m in self.metrics] + [r.column for r in self.columns]


def assemble(intent: Intent, schema: Schema) -> QueryPlan:
    """The QueryPlan of an intent: joins along declared relationships, names qualified only
    where two joined tables share them."""
    joined = [intent.base]
    for table in intent.tables()[1:]:
        route = schema.path(intent.base, table)
        if route is None:
            raise PlannerError(
                f"the question needs tables {intent.base!r} and {table!r}, which no relationship links",
                suggestion="ask about one table at a time",
            )
        for edge in route:
            if edge.other not in joined:
                joined.append(edge.other)

    def name(ref: Ref) -> str:
        shared = sum(1 for t in joined if schema.table(t).column(ref.column) is not None)
        return f"{ref.table}.{ref.column}" if shared > 1 else ref.column

    def flt(table: str, f: Filter) -> Filter:
        return f if "." in f.column else f.model_copy(update={"column": name(Ref(table, f.column))})

    select: list[Aggregate | MeasureRef | Column] = []
    for metric in intent.metrics:
        item = metric.item
        if isinstance(item, Aggregate):
            update: dict[str, object] = {"where": [flt(metric.table, w) for w in item.where]}
            if item.column is not None and "." not in item.column:
                update["column"] = name(Ref(metric.table, item.column))
            item = item.model_copy(update=update)
        select.append(item)
    select.extend(Column(column=name(ref)) for ref in intent.columns)
    return QueryPlan(
        dataset_id=schema.dataset.id,
        table=intent.base,
        joins=[Join(table=t) for t in joined[1:]],
        select=select,
        filters=[Filter(column=name(c.ref), op=c.op, value=c.value) for c in intent.filters],
        group_by=[Dimension(column=name(d.ref), bucket=d.bucket, part=d.part) for d in intent.dims],
        having=intent.having,
        order_by=intent.order,
        distinct=intent.distinct,
        limit=intent.limit or DEFAULT_LIMIT,
        notes="; ".join(intent.notes) or None,
    )


def from_plan(plan: QueryPlan, schema: Schema) -> Intent:
    """Read a plan back into an intent (the previous turn of a conversation)."""
    tables = [plan.table, *(j.table for j in plan.joins)]

    def ref(text: str, prefer: str | None = None) -> Ref:
        if "." in text:
            table, column = text.split(".", 1)
            return Ref(table, column)
        order = ([prefer] if prefer else []) + tables
        for table in order:
            if schema.dataset.table(table) and schema.table(table).column(text) is not None:
                return Ref(table, text)
        return Ref(plan.table, text)

    intent = Intent(base=plan.table, having=list(plan.having), order=list(plan.order_by))
    intent.limit = plan.limit if plan.limit != DEFAULT_LIMIT else None
    intent.distinct = plan.distinct
    for item in plan.select:
        if isinstance(item, MeasureRef):
            measure = schema.dataset.measure(item.measure)
            intent.metrics.append(Metric(item, measure.table if measure else plan.table))
        elif isinstance(item, Aggregate):
            table = ref(item.column).table if item.column else plan.table
            where = [w.model_copy(update={"column": ref(w.column, table).column}) for w in item.where]
            column = ref(item.column).column if item.column else None
            intent.metrics.append(Metric(item.model_copy(update={"column": column, "where": where}), table))
        elif item.column is not None:
            intent.columns.append(ref(item.column))
    intent.dims = [Dim(ref(d.column), d.bucket, d.part) for d in plan.group_by]
    intent.filters = [Cond(ref(f.column), f.op, f.value) for f in plan.filters]
    return intent


def without_alias_clash(metrics: list[Metric]) -> list[Metric]:
    """Drop repeated outputs (the same aggregate asked twice)."""
    out: list[Metric] = []
    for metric in metrics:
        if metric.name not in [m.name for m in out]:
            out.append(metric)
    return out


__all__ = ["Cond", "Dim", "Intent", "Metric", "Ref", "assemble", "from_plan", "without_alias_clash"]
