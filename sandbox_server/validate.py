"""Check a QueryPlan against one dataset and resolve every name in it.

``plan.py`` only says what a plan may look like; whether ``total`` exists, which table it
lives in, whether ``sum(status)`` makes sense or ``inventory`` can be joined to ``orders``
depends on the dataset. ``validate_plan`` answers all of that once and returns a frozen
``ResolvedPlan`` in which every reference is resolved (table, column, type), so the compiler
and the chart builder never look a name up again and never meet a bad one.

Every failure is a ``ValidationError`` that says what was wrong and what would be valid
(``unknown column 'totl' in table 'orders'; did you mean 'total'?``): its message goes back to
the user, or to the LLM planner for a retry.

Output column names are part of the contract (``having``/``order_by`` and the chart refer to
them) and depend on the plan alone, never on data:

    dimension           status → ``status``; bucket → ``order_date_month``; part → ``timestamp_hour``
    count               ``count`` (rows) · ``count_<col>`` (non-null values)
    count_distinct      ``count_distinct_<col>``
    sum/avg/min/max/median  ``sum_total`` … (over an expression: ``sum_price_quantity``)
    rate                ``returned_rate`` (boolean column) · ``rate`` (condition)
    measure             its name (``revenue``)
    plain column        its (unqualified) name; an expression its slug

An ``alias`` always wins. Two outputs with one name are an error (give one an alias).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from sandbox_server.errors import ValidationError
from sandbox_server.naming import aggregate_name, column_name, dimension_name, item_name
from sandbox_server.plan import (
    AggFunc,
    Aggregate,
    Column,
    DatePart,
    Dimension,
    Direction,
    Filter,
    FilterOp,
    JoinKind,
    MeasureRef,
    QueryPlan,
    Scalar,
    TimeBucket,
)
from sandbox_server.registry import NUMERIC_TYPES, TEMPORAL_TYPES, ColumnType, Dataset, TableInfo

__all__ = [
    "AggregateOut",
    "Arithmetic",
    "ColumnOut",
    "ColumnRef",
    "Condition",
    "DimensionOut",
    "JoinStep",
    "OrderKey",
    "Output",
    "ResolvedPlan",
    "Value",
    "aggregate_name",
    "column_name",
    "dimension_name",
    "item_name",
    "parse_arithmetic",
    "validate_plan",
]

Value = str | int | float | bool | date | datetime

# ---------------------------------------------------------------- the resolved values


@dataclass(frozen=True)
class ColumnRef:
    """A column of a dataset table, with its registry type."""

    table: str
    name: str
    type: ColumnType


@dataclass(frozen=True)
class JoinStep:
    """``JOIN table ON from_table.from_column = to_table.to_column`` (a declared relationship)."""

    table: str
    how: JoinKind
    from_table: str
    from_column: str
    to_table: str
    to_column: str


@dataclass(frozen=True)
class Arithmetic:
    """A checked arithmetic expression. ``tree`` has every column qualified with its table;
    treat it as read-only (the compiler copies it)."""

    text: str
    tree: exp.Expr = field(compare=False, repr=False)
    columns: tuple[ColumnRef, ...]


@dataclass(frozen=True)
class DimensionOut:
    name: str
    column: ColumnRef
    bucket: TimeBucket | None
    part: DatePart | None
    type: ColumnType

    @property
    def is_time(self) -> bool:
        """A bucket, a date part, or a raw date/timestamp: what default ordering and charts use."""
        return self.bucket is not None or self.part is not None or self.column.type in TEMPORAL_TYPES


@dataclass(frozen=True)
class AggregateOut:
    """An aggregate (a plan's own or a named measure's expanded definition). For ``rate``
    without a column, ``where`` is the condition measured, not a row filter."""

    name: str
    func: AggFunc
    column: ColumnRef | None
    expr: Arithmetic | None
    where: tuple[Condition, ...]
    type: ColumnType
    measure: str | None = None


@dataclass(frozen=True)
class ColumnOut:
    name: str
    column: ColumnRef | None
    expr: Arithmetic | None
    type: ColumnType


Output = DimensionOut | AggregateOut | ColumnOut


@dataclass(frozen=True)
class Condition:
    """One checked filter. ``subject`` is a table column (filters, aggregate ``where``) or an
    output (having). ``values`` are coerced to the subject's type: none for the null tests,
    two for ``between``, one or more otherwise."""

    subject: ColumnRef | Output
    op: FilterOp
    values: tuple[Value, ...]


@dataclass(frozen=True)
class OrderKey:
    """Order by an output, or (non-aggregated plans only) by a table column not in the output."""

    target: Output | ColumnRef
    direction: Direction


@dataclass(frozen=True)
class ResolvedPlan:
    plan: QueryPlan = field(repr=False)
    dataset_id: str
    base: str
    joins: tuple[JoinStep, ...]
    filters: tuple[Condition, ...]
    outputs: tuple[Output, ...]
    having: tuple[Condition, ...]
    order_by: tuple[OrderKey, ...]
    distinct: bool
    limit: int
    aggregated: bool

    @property
    def dimensions(self) -> tuple[DimensionOut, ...]:
        return tuple(o for o in self.outputs if isinstance(o, DimensionOut))

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.outputs)

    @property
    def tables(self) -> tuple[str, ...]:
        return (self.base, *(j.table for j in self.joins))


# ---------------------------------------------------------------- messages


def _closest(name: str, candidates: Iterable[str]) -> str:
    """``; did you mean 'total'?`` or ``; valid names: a, b, c`` — the hint every error carries."""
    pool = sorted(set(candidates))
    if not pool:
        return ""
    by_lower = {c.lower(): c for c in pool}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=3, cutoff=0.6)
    if close:
        return "; did you mean " + " or ".join(repr(by_lower[c]) for c in close) + "?"
    return "; valid names: " + ", ".join(pool)


def _unknown(kind: str, name: str, where: str, candidates: Iterable[str]) -> ValidationError:
    pool = list(candidates)
    hint = _closest(name, pool)
    return ValidationError(
        f"unknown {kind} {name!r}{where}{hint}",
        suggestion=hint.lstrip("; ") or None,
        candidates=sorted(set(pool)),
    )


def _in_tables(tables: Sequence[str]) -> str:
    if len(tables) == 1:
        return f" in table {tables[0]!r}"
    return " in tables " + ", ".join(repr(t) for t in tables)


# ---------------------------------------------------------------- arithmetic

_ARITHMETIC_NODES = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Neg, exp.Paren, exp.Column, exp.Identifier)


def parse_arithmetic(text: str) -> exp.Expr:
    """Parse the closed arithmetic grammar of plans: columns, numbers, ``+ - * /``, unary minus
    and parentheses. Anything else (functions, strings, comparisons, subqueries, ``;``) is a
    ``ValidationError``.

    >>> parse_arithmetic("price * quantity * (1 - discount)").sql()
    'price * quantity * (1 - discount)'
    """
    try:
        tree = sqlglot.parse_one(text, dialect="duckdb")
    except SqlglotError as exc:
        raise ValidationError(
            f"cannot parse expression {text!r}: {str(exc).splitlines()[0]}",
            suggestion="use column names, numbers, + - * / and parentheses only",
        ) from exc
    for node in tree.walk():
        if isinstance(node, exp.Literal):
            if node.is_string:
                raise ValidationError(
                    f"expression {text!r} contains the string {node.this!r}; only numbers are allowed"
                )
            continue
        if isinstance(node, exp.Column) and isinstance(node.this, exp.Star):
            raise ValidationError(f"expression {text!r} uses '*' as a column; name the columns")
        if not isinstance(node, _ARITHMETIC_NODES):
            raise ValidationError(
                f"expression {text!r} contains {node.key.upper()} ({node.sql(dialect='duckdb')!r}), "
                "which arithmetic expressions may not",
                suggestion="use column names, numbers, + - * / and parentheses only",
            )
    return tree


# ---------------------------------------------------------------- the resolver


class _Resolver:
    """Resolves one plan against one dataset; each method checks one part of the plan."""

    def __init__(self, plan: QueryPlan, dataset: Dataset) -> None:
        self.plan = plan
        self.dataset = dataset
        self.tables: list[TableInfo] = []  # base first, then joins in order
        self.joins_done: list[JoinStep] = []

    # -- tables and joins

    def table(self, name: str, role: str) -> TableInfo:
        info = _table_named(self.dataset.tables, name)
        if info is None:
            raise _unknown(
                "table", name, f" ({role}) in dataset {self.dataset.id!r}", self.dataset.table_names
            )
        return info

    def joins(self) -> tuple[JoinStep, ...]:
        steps: list[JoinStep] = []
        for join in self.plan.joins:
            info = self.table(join.table, "join")
            joined = [t.name for t in self.tables]
            if info.name in joined:
                raise ValidationError(f"table {info.name!r} is already in the plan; join each table once")
            steps.append(self._relationship(info.name, joined, join.how))
            self.tables.append(info)
        self.joins_done = steps
        return tuple(steps)

    def _relationship(self, table: str, joined: list[str], how: JoinKind) -> JoinStep:
        # The first declared relationship wins, so the join path is deterministic.
        for rel in self.dataset.relationships:
            (from_table, from_col), (to_table, to_col) = (rel.from_.split(".", 1), rel.to.split(".", 1))
            if (from_table == table and to_table in joined) or (to_table == table and from_table in joined):
                return JoinStep(table, how, from_table, from_col, to_table, to_col)
        related = sorted(
            {t for rel in self.dataset.relationships for t in rel.tables if set(rel.tables) & set(joined)}
            - set(joined)
        )
        raise ValidationError(
            f"table {table!r} cannot be joined: no relationship in dataset {self.dataset.id!r} links it "
            f"to {', '.join(repr(t) for t in joined)}",
            suggestion=(
                "tables that can be joined: " + ", ".join(related)
                if related
                else "this dataset declares no relationship for these tables"
            ),
        )

    # -- columns

    def column(self, ref: str, prefer: str | None = None) -> ColumnRef:
        """Resolve ``col`` (preferred table, base, then joins in order) or ``table.col``."""
        order = sorted(self.tables, key=lambda t: t.name != prefer) if prefer else self.tables
        if "." in ref and not any(self._find(t, ref) for t in order):
            table_name, col = ref.split(".", 1)
            info = _table_named(self.tables, table_name)
            if info is None:
                if _table_named(self.dataset.tables, table_name) is not None:
                    raise ValidationError(
                        f"column {ref!r} refers to table {table_name!r}, which the plan does not join",
                        suggestion=f'add {{"table": "{table_name}"}} to joins',
                    )
                raise _unknown("table", table_name, f" in column {ref!r}", [t.name for t in self.tables])
            found = self._find(info, col)
            if found is None:
                raise _unknown("column", col, _in_tables([info.name]), info.column_names)
            return found
        for info in order:
            found = self._find(info, ref)
            if found is not None:
                return found
        elsewhere = [t.name for t in self.dataset.tables if t not in self.tables and self._find(t, ref)]
        if elsewhere:
            raise ValidationError(
                f"column {ref!r} is in table {elsewhere[0]!r}, which the plan does not join",
                suggestion=f'add {{"table": "{elsewhere[0]}"}} to joins',
            )
        raise _unknown(
            "column",
            ref,
            _in_tables([t.name for t in self.tables]),
            [c for t in self.tables for c in t.column_names],
        )

    @staticmethod
    def _find(info: TableInfo, name: str) -> ColumnRef | None:
        # DuckDB identifiers are case-insensitive, so "Total" names column "total".
        col = info.column(name) or next((c for c in info.columns if c.name.lower() == name.lower()), None)
        return ColumnRef(info.name, col.name, col.type) if col else None

    def arithmetic(self, text: str, prefer: str | None = None) -> Arithmetic:
        tree = parse_arithmetic(text)
        refs: list[ColumnRef] = []

        def qualify(node: exp.Expr) -> exp.Expr:
            if isinstance(node, exp.Column):
                ref = self.column(".".join(p.name for p in node.parts), prefer)
                if ref.type not in NUMERIC_TYPES:
                    raise ValidationError(
                        f"expression {text!r} uses column {ref.name!r} of type {ref.type}; "
                        "arithmetic needs numeric columns"
                    )
                refs.append(ref)
                return exp.column(ref.name, table=ref.table)
            return node

        return Arithmetic(text, tree.transform(qualify), tuple(refs))

    # -- filters

    def condition(self, flt: Filter, subject: ColumnRef | Output, label: str) -> Condition:
        type_ = subject.type
        if flt.op in ("contains", "startswith", "endswith") and type_ != "VARCHAR":
            raise ValidationError(
                f"operator {flt.op!r} needs a text column, but {label} is {type_}",
                suggestion="use =, <, >, between or in for non-text columns",
            )
        if flt.op in ("<", "<=", ">", ">=", "between") and type_ == "BOOLEAN":
            raise ValidationError(
                f"operator {flt.op!r} does not apply to the boolean {label}",
                suggestion="use = true or = false",
            )
        raw: list[Scalar] = (
            [] if flt.value is None else flt.value if isinstance(flt.value, list) else [flt.value]
        )
        values = tuple(_coerce(v, type_, label) for v in raw)
        return Condition(subject, flt.op, values)

    def filters(self, filters: Iterable[Filter], prefer: str | None = None) -> tuple[Condition, ...]:
        out = []
        for flt in filters:
            ref = self.column(flt.column, prefer)
            out.append(self.condition(flt, ref, f"column {ref.name!r}"))
        return tuple(out)

    # -- outputs

    def dimension(self, dim: Dimension) -> DimensionOut:
        ref = self.column(dim.column)
        name = dimension_name(dim)
        grain = dim.bucket or dim.part
        if grain is not None:
            how = "bucket" if dim.bucket else "part"
            if ref.type not in TEMPORAL_TYPES:
                raise ValidationError(
                    f"{how} {grain!r} needs a DATE or TIMESTAMP column, but {ref.name!r} is {ref.type}",
                    suggestion="temporal columns: " + ", ".join(self._names_of(TEMPORAL_TYPES)),
                )
            if grain == "hour" and ref.type != "TIMESTAMP":
                raise ValidationError(
                    f"{how} 'hour' needs a TIMESTAMP column, but {ref.name!r} is a DATE (no time of day)",
                    suggestion="use 'day' or a coarser grain",
                )
        if dim.part is not None:
            type_: ColumnType = "BIGINT"
        elif dim.bucket is not None:
            # Buckets of a day or more are dates (the compiler casts); hours stay timestamps.
            type_ = "TIMESTAMP" if dim.bucket == "hour" else "DATE"
        else:
            type_ = ref.type
        return DimensionOut(name, ref, dim.bucket, dim.part, type_)

    def aggregate(
        self, agg: Aggregate, name: str, prefer: str | None = None, measure: str | None = None
    ) -> AggregateOut:
        ref = self.column(agg.column, prefer) if agg.column else None
        arith = self.arithmetic(agg.expr, prefer) if agg.expr else None
        input_type: ColumnType | None = ref.type if ref else ("DOUBLE" if arith else None)
        what = f"column {ref.name!r}" if ref else f"expression {agg.expr!r}"
        if agg.func in ("sum", "avg", "median") and input_type not in NUMERIC_TYPES:
            raise ValidationError(
                f"{agg.func} needs a numeric column, but {what} is {input_type}",
                suggestion=(
                    "numeric columns: "
                    + ", ".join(self._names_of(NUMERIC_TYPES))
                    + ("; for the share of true values use 'rate'" if input_type == "BOOLEAN" else "")
                ),
            )
        if agg.func == "rate" and input_type is not None and input_type != "BOOLEAN":
            raise ValidationError(
                f"rate needs a boolean column or a 'where' condition, but {what} is {input_type}",
                suggestion="boolean columns: " + (", ".join(self._names_of({"BOOLEAN"})) or "none"),
            )
        where = self.filters(agg.where, prefer)
        inputs = [ref] if ref else list(arith.columns) if arith else []
        if measure is not None and prefer is not None and not inputs:
            # A measure's bare count (or rate) counts rows of its own table, not of the join.
            inputs = [ColumnRef(prefer, "*", "BIGINT")]
        self._check_fan_out(agg.func, inputs, name)
        return AggregateOut(name, agg.func, ref, arith, where, _aggregate_type(agg.func, input_type), measure)

    def _check_fan_out(self, func: AggFunc, inputs: list[ColumnRef], name: str) -> None:
        """Refuse aggregates a join would silently inflate: joining along ``many.key → one.key``
        repeats each row of the "one" table once per matching "many" row, so a sum (avg, count,
        rate, median) over the "one" table's columns counts its rows several times."""
        if func in ("min", "max", "count_distinct"):
            return  # repeating a row changes none of these
        repeated = {step.to_table: step.from_table for step in self.joins_done}
        for ref in inputs:
            if ref.table in repeated:
                many = repeated[ref.table]
                fix = (
                    f"drop the join to {many!r}"
                    if ref.table == self.tables[0].name
                    else f"start the plan from table {ref.table!r} (and filter there)"
                )
                raise ValidationError(
                    f"{name!r} would be wrong: {func} over {ref.table}.{ref.name} counts each "
                    f"{ref.table} row once per matching {many} row after the join",
                    suggestion=f"{fix}, or use count_distinct, min or max",
                )

    def measure(self, item: MeasureRef) -> AggregateOut:
        found = self.dataset.measure(item.measure)
        if found is None:
            raise _unknown(
                "measure",
                item.measure,
                f" in dataset {self.dataset.id!r}",
                [m.name for m in self.dataset.measures],
            )
        if found.table not in [t.name for t in self.tables]:
            raise ValidationError(
                f"measure {found.name!r} is defined on table {found.table!r}, which the plan neither "
                "starts from nor joins",
                suggestion=f'start from table {found.table!r} or add {{"table": "{found.table}"}} to joins',
            )
        return self.aggregate(found.aggregate, item.alias or found.name, found.table, found.name)

    def plain(self, col: Column) -> ColumnOut:
        if col.column is not None:
            ref = self.column(col.column)
            return ColumnOut(column_name(col), ref, None, ref.type)
        return ColumnOut(column_name(col), None, self.arithmetic(col.expr or ""), "DOUBLE")

    def outputs(self) -> tuple[Output, ...]:
        dims = [self.dimension(d) for d in self.plan.group_by]
        outputs: list[Output] = list(dims)
        aggregated = self.plan.is_aggregated
        for item in self.plan.select:
            if isinstance(item, Aggregate):
                outputs.append(self.aggregate(item, aggregate_name(item)))
            elif isinstance(item, MeasureRef):
                outputs.append(self.measure(item))
            elif aggregated:
                outputs.extend(self._grouped_column(item, dims))
            else:
                outputs.append(self.plain(item))
        if not self.plan.select and not aggregated:
            outputs = self._all_columns()
        seen: set[str] = set()
        for out in outputs:
            if out.name in seen:
                raise ValidationError(
                    f"two output columns are both named {out.name!r}",
                    suggestion="give one of them an 'alias'",
                )
            seen.add(out.name)
        return tuple(outputs)

    def _grouped_column(self, col: Column, dims: list[DimensionOut]) -> list[Output]:
        """A plain column in an aggregated plan must be a dimension; repeating one is a no-op."""
        for dim in dims:
            if col.column is not None and col.column == dim.name and col.alias in (None, dim.name):
                return []
        if col.column is not None:
            ref = self.column(col.column)
            for dim in dims:
                if dim.column == ref and dim.bucket is None and dim.part is None:
                    name = column_name(col)
                    return [] if name == dim.name else [ColumnOut(name, ref, None, ref.type)]
        shown = col.column or col.expr
        raise ValidationError(
            f"{shown!r} is neither grouped nor aggregated in an aggregated plan",
            suggestion=f"add {shown!r} to group_by, or aggregate it (e.g. sum, avg, min, max)"
            if col.column
            else "aggregate the expression, e.g. {'func': 'sum', 'expr': ...}",
        )

    def _all_columns(self) -> list[Output]:
        outputs: list[Output] = []
        names: set[str] = set()
        for info in self.tables:
            for c in info.columns:
                if c.name not in names:  # a joined key repeats the base table's; show it once
                    names.add(c.name)
                    outputs.append(ColumnOut(c.name, ColumnRef(info.name, c.name, c.type), None, c.type))
        return outputs

    def _names_of(self, types: Iterable[str]) -> list[str]:
        wanted = set(types)
        return [c.name for t in self.tables for c in t.columns if c.type in wanted]

    # -- having and order

    def output(self, name: str, outputs: Sequence[Output], clause: str) -> Output:
        for out in outputs:
            if out.name == name:
                return out
        for out in outputs:  # "orders.status" or "status" for a column output named differently
            plain = isinstance(out, ColumnOut) or (
                isinstance(out, DimensionOut) and out.bucket is None and out.part is None
            )
            ref = out.column if isinstance(out, DimensionOut | ColumnOut) else None
            if plain and ref is not None and name in (ref.name, f"{ref.table}.{ref.name}"):
                return out
        raise _unknown("output column", name, f" in {clause}", [o.name for o in outputs])

    def having(self, outputs: Sequence[Output]) -> tuple[Condition, ...]:
        if self.plan.having and not self.plan.is_aggregated:
            raise ValidationError(
                "'having' filters groups, but the plan does not aggregate",
                suggestion="move these conditions to 'filters'",
            )
        out = []
        for flt in self.plan.having:
            target = self.output(flt.column, outputs, "having")
            out.append(self.condition(flt, target, f"output {target.name!r}"))
        return tuple(out)

    def order(self, outputs: Sequence[Output]) -> tuple[OrderKey, ...]:
        keys = []
        for order in self.plan.order_by:
            try:
                target: Output | ColumnRef = self.output(order.by, outputs, "order_by")
            except ValidationError:
                # A row-level plan may order by any column (not DISTINCT: SQL forbids it there).
                if self.plan.is_aggregated or self.plan.distinct:
                    raise
                target = self.column(order.by)
            keys.append(OrderKey(target, order.direction))
        return tuple(keys)


def _table_named(tables: Iterable[TableInfo], name: str) -> TableInfo | None:
    """Exact name first, then case-insensitively (DuckDB's rule for identifiers)."""
    pool = list(tables)
    return next((t for t in pool if t.name == name), None) or next(
        (t for t in pool if t.name.lower() == name.lower()), None
    )


def _aggregate_type(func: AggFunc, input_type: ColumnType | None) -> ColumnType:
    if func in ("count", "count_distinct"):
        return "BIGINT"
    if func in ("min", "max") and input_type is not None:
        return input_type
    if func == "sum" and input_type == "BIGINT":
        return "BIGINT"
    return "DOUBLE"


_TRUE = {"true", "t", "yes", "1"}
_FALSE = {"false", "f", "no", "0"}


def _coerce(value: Scalar, type_: ColumnType, label: str) -> Value:
    """One filter value, checked against (and converted to) the subject's type."""

    def mismatch(expected: str) -> ValidationError:
        return ValidationError(
            f"type mismatch: {label} is {type_}, but the value {value!r} is not {expected}",
            suggestion=f"compare {label} with {expected}",
        )

    if type_ in NUMERIC_TYPES:
        if isinstance(value, bool):
            raise mismatch("a number")
        number: int | float
        if isinstance(value, int | float):
            number = value
        else:
            try:
                number = int(value.strip())
            except ValueError:
                try:
                    number = float(value.strip())
                except ValueError:
                    raise mismatch("a number") from None
        if isinstance(number, float) and not math.isfinite(number):
            raise mismatch("a finite number")
        return number
    if type_ == "BOOLEAN":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise mismatch("true or false")
    if type_ == "DATE":
        if not isinstance(value, str):
            raise mismatch("an ISO date like '2025-01-31'")
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise mismatch("an ISO date like '2025-01-31'") from None
    if type_ == "TIMESTAMP":
        if not isinstance(value, str):
            raise mismatch("an ISO timestamp like '2025-01-31 13:00:00'")
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise mismatch("an ISO timestamp like '2025-01-31 13:00:00'") from None
        if moment.tzinfo is not None:
            raise mismatch("a timestamp without a time zone")
        return moment
    if isinstance(value, bool):  # VARCHAR: True would silently become 'True'
        raise mismatch("text")
    return value if isinstance(value, str) else str(value)


def validate_plan(plan: QueryPlan, dataset: Dataset) -> ResolvedPlan:
    """Check ``plan`` against ``dataset`` and resolve every name in it; raise ``ValidationError``
    (naming the closest valid names) on the first problem."""
    if plan.dataset_id != dataset.id:
        raise ValidationError(
            f"the plan is for dataset {plan.dataset_id!r}, but it is being checked against {dataset.id!r}",
            suggestion=f'set "dataset_id": "{dataset.id}"',
        )
    resolver = _Resolver(plan, dataset)
    resolver.tables.append(resolver.table(plan.table, "base table"))
    joins = resolver.joins()
    filters = resolver.filters(plan.filters)
    outputs = resolver.outputs()
    return ResolvedPlan(
        plan=plan,
        dataset_id=dataset.id,
        base=resolver.tables[0].name,
        joins=joins,
        filters=filters,
        outputs=outputs,
        having=resolver.having(outputs),
        order_by=resolver.order(outputs),
        distinct=plan.distinct,
        limit=plan.limit,
        aggregated=plan.is_aggregated,
    )
