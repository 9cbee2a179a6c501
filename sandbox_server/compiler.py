"""Compile a QueryPlan into DuckDB SQL, built as a sqlglot AST.

The plan is validated first (``validate.validate_plan``), so everything here works on resolved,
type-checked references. SQL is never pasted together from strings: identifiers are sqlglot
identifiers (quoted when needed), user values become literals (``exp.Literal``, ``exp.Boolean``,
``CAST('2025-01-01' AS DATE)``), so a value like ``x' OR 1=1 --`` stays one string literal.
The same plan always gives byte-identical SQL.

Choices a reader of the SQL should know:

- columns are qualified with their table (``orders.total``) whenever the plan joins; tables are
  referred to by their own names, joined along the declared relationship
  (``JOIN orders ON order_items.order_id = orders.order_id``);
- time buckets are ``date_trunc``; buckets of a day or coarser are cast to DATE (DuckDB's
  ``date_trunc`` returns a TIMESTAMP, and ``2025-03-01 00:00:00`` reads worse than ``2025-03-01``);
  weeks start on Monday (ISO);
- date parts are ``EXTRACT``; ``day_of_week`` is ISO (``ISODOW``: 1 = Monday … 7 = Sunday),
  so Monday sorts first;
- ``rate`` of a boolean column is ``AVG(CASE WHEN col THEN 1 WHEN NOT col THEN 0 END)``: NULLs are left out of the share;
  ``rate`` of a condition is ``AVG(CASE WHEN cond THEN 1 ELSE 0 END)``: rows where the condition
  is not true (false or NULL) count as "no";
- an aggregate's ``where`` becomes ``FILTER (WHERE ...)``; named measures expand to their
  registry definition;
- ``contains``/``startswith``/``endswith`` are ``LIKE`` with ``%``, ``_`` and ``\\`` escaped and an
  explicit ``ESCAPE '\\'`` (case-sensitive, like ``=``);
- GROUP BY and HAVING repeat the expressions (no alias references: portable, and what the
  policy re-parses is plain SQL); ORDER BY uses output names;
- with no ``order_by``, a grouped plan is ordered by its dimensions ascending, time dimensions
  first (charts read left to right; replays hash the same rows in the same order);
- ``LIMIT`` is always present (``plan.limit``).

Functions the compiled SQL may contain (the policy's allowlist must accept them): COUNT, SUM,
AVG, MIN, MAX, MEDIAN, DATE_TRUNC, EXTRACT, CAST; operators LIKE … ESCAPE, IN, BETWEEN, IS NULL,
CASE, FILTER.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlglot import exp

from sandbox_server.errors import ValidationError
from sandbox_server.plan import DatePart, FilterOp, QueryPlan
from sandbox_server.registry import Dataset
from sandbox_server.validate import (
    AggregateOut,
    Arithmetic,
    ColumnOut,
    ColumnRef,
    Condition,
    DimensionOut,
    Output,
    ResolvedPlan,
    Value,
    validate_plan,
)

__all__ = ["build_select", "compile_plan", "like_pattern"]

DIALECT = "duckdb"

_PART_UNITS: dict[DatePart, str] = {
    "hour": "HOUR",
    "day_of_week": "ISODOW",
    "day": "DAY",
    "week": "WEEK",
    "month": "MONTH",
    "quarter": "QUARTER",
    "year": "YEAR",
}

_COMPARISONS: dict[FilterOp, type[exp.Binary]] = {
    "=": exp.EQ,
    "!=": exp.NEQ,
    "<": exp.LT,
    "<=": exp.LTE,
    ">": exp.GT,
    ">=": exp.GTE,
}

_AGGREGATES: dict[str, type[exp.Func]] = {
    "sum": exp.Sum,
    "avg": exp.Avg,
    "min": exp.Min,
    "max": exp.Max,
    "median": exp.Median,
}

ESCAPE = "\\"


def compile_plan(plan: QueryPlan, dataset: Dataset) -> str:
    """Validate ``plan`` against ``dataset`` and return its DuckDB SQL (pretty-printed)."""
    return build_select(validate_plan(plan, dataset)).sql(dialect=DIALECT, pretty=True)


def build_select(resolved: ResolvedPlan) -> exp.Select:
    """The SELECT of a resolved plan, as a sqlglot AST."""
    return _Builder(resolved).select()


def like_pattern(value: str, op: FilterOp) -> str:
    """The LIKE pattern for a plain-text ``value`` (its ``%``, ``_`` and ``\\`` escaped).

    >>> like_pattern("50%_off", "contains")
    '%50\\\\%\\\\_off%'
    """
    escaped = value.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")
    return {"contains": f"%{escaped}%", "startswith": f"{escaped}%", "endswith": f"%{escaped}"}[op]


class _Builder:
    def __init__(self, resolved: ResolvedPlan) -> None:
        self.r = resolved
        self.qualify = bool(resolved.joins)

    def select(self) -> exp.Select:
        r = self.r
        query = exp.select(*(self._projection(o) for o in r.outputs)).from_(exp.to_table(r.base))
        for join in r.joins:
            on = exp.EQ(
                this=exp.column(join.from_column, table=join.from_table),
                expression=exp.column(join.to_column, table=join.to_table),
            )
            query = query.join(exp.to_table(join.table), on=on, join_type=join.how.upper())
        if r.filters:
            query = query.where(exp.and_(*(self._condition(c) for c in r.filters)))
        if r.aggregated and r.dimensions:
            query = query.group_by(*(self._dimension(d) for d in r.dimensions))
        if r.having:
            query = query.having(exp.and_(*(self._condition(c) for c in r.having)))
        order = [
            _ordered(
                self._name(k.target.name)
                if isinstance(k.target, DimensionOut | AggregateOut | ColumnOut)
                else self._column(k.target),
                desc=k.direction == "desc",
            )
            for k in r.order_by
        ]
        if not order:
            # Time first (charts read left to right), then the other dimensions: a grouped answer
            # always comes back in the same order, so its result hash is stable across replays.
            dims = sorted(r.dimensions, key=lambda d: not d.is_time)
            order = [_ordered(self._name(d.name), desc=False) for d in dims]
        if order:
            query = query.order_by(*order)
        if r.distinct:
            query = query.distinct()
        return query.limit(exp.Literal.number(r.limit))

    # -- references

    def _column(self, ref: ColumnRef) -> exp.Column:
        return exp.column(ref.name, table=ref.table if self.qualify else None)

    @staticmethod
    def _name(name: str) -> exp.Column:
        return exp.column(name)

    def _arithmetic(self, arith: Arithmetic) -> exp.Expr:
        if self.qualify:
            return arith.tree.copy()
        return arith.tree.transform(
            lambda n: exp.column(n.name) if isinstance(n, exp.Column) else n  # drop the table
        )

    # -- outputs

    def _projection(self, out: Output) -> exp.Expr:
        expr = self._output(out)
        if isinstance(expr, exp.Column) and expr.name == out.name:
            return expr  # "status", not "status AS status"
        return exp.alias_(expr, out.name)

    def _output(self, out: Output) -> exp.Expr:
        if isinstance(out, DimensionOut):
            return self._dimension(out)
        if isinstance(out, AggregateOut):
            return self._aggregate(out)
        if out.column is not None:
            return self._column(out.column)
        assert out.expr is not None  # validate guarantees one of the two
        return self._arithmetic(out.expr)

    def _dimension(self, dim: DimensionOut) -> exp.Expr:
        col = self._column(dim.column)
        if dim.bucket is not None:
            trunc = exp.DateTrunc(unit=exp.Literal.string(dim.bucket), this=col)
            return trunc if dim.bucket == "hour" else exp.cast(trunc, exp.DataType.Type.DATE)
        if dim.part is not None:
            return exp.Extract(this=exp.var(_PART_UNITS[dim.part]), expression=col)
        return col

    def _aggregate(self, agg: AggregateOut) -> exp.Expr:
        subject: exp.Expr | None = (
            self._column(agg.column) if agg.column else self._arithmetic(agg.expr) if agg.expr else None
        )
        where = agg.where
        result: exp.Expr
        if agg.func == "rate":
            if subject is None:  # share of rows meeting the condition; the condition is not a filter
                cond = exp.and_(*(self._condition(c) for c in where))
                result = exp.Avg(this=exp.Case(ifs=[exp.If(this=cond, true=exp.Literal.number(1))]).else_(0))
                where = ()
            else:
                # Not AVG(CAST(col AS INT)): DuckDB pushes that cast into the CSV reader of a
                # BOOLEAN column and fails on 'false'. NULL stays NULL (left out of the share).
                result = exp.Avg(
                    this=exp.Case(
                        ifs=[
                            exp.If(this=subject, true=exp.Literal.number(1)),
                            exp.If(this=exp.Not(this=subject), true=exp.Literal.number(0)),
                        ]
                    )
                )
        elif agg.func == "count":
            result = exp.Count(this=subject if subject is not None else exp.Star())
        elif agg.func == "count_distinct":
            result = exp.Count(this=exp.Distinct(expressions=[subject]))
        else:
            result = _AGGREGATES[agg.func](this=subject)
        if where:
            result = exp.Filter(
                this=result, expression=exp.Where(this=exp.and_(*(self._condition(c) for c in where)))
            )
        return result

    # -- conditions

    def _subject(self, subject: ColumnRef | Output) -> exp.Expr:
        return self._column(subject) if isinstance(subject, ColumnRef) else self._output(subject)

    def _condition(self, cond: Condition) -> exp.Expr:
        this = self._subject(cond.subject)
        values = [_literal(v) for v in cond.values]
        op = cond.op
        if op in _COMPARISONS:
            return _COMPARISONS[op](this=this, expression=values[0])
        if op == "in":
            return exp.In(this=this, expressions=values)
        if op == "not_in":
            return exp.Not(this=exp.In(this=this, expressions=values))
        if op == "between":
            return exp.Between(this=this, low=values[0], high=values[1])
        if op == "is_null":
            return exp.Is(this=this, expression=exp.Null())
        if op == "is_not_null":
            return exp.Not(this=exp.Is(this=this, expression=exp.Null()))
        if op in ("contains", "startswith", "endswith"):
            pattern = exp.Literal.string(like_pattern(str(cond.values[0]), op))
            return exp.Escape(
                this=exp.Like(this=this, expression=pattern), expression=exp.Literal.string(ESCAPE)
            )
        raise ValidationError(f"operator {op!r} is not supported by the compiler")  # unreachable via the DSL


def _ordered(this: exp.Expr, *, desc: bool) -> exp.Ordered:
    # NULLS LAST both ways is DuckDB's default; written as an AST flag so the SQL stays plain.
    return exp.Ordered(this=this, desc=True, nulls_first=False) if desc else exp.Ordered(this=this)


def _literal(value: Value) -> exp.Expr:
    """A checked value as a SQL literal: never text spliced into SQL."""
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, datetime):
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), exp.DataType.Type.TIMESTAMP)
    if isinstance(value, date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.Type.DATE)
    if isinstance(value, int | float):
        literal = exp.Literal.number(repr(abs(value)) if isinstance(value, float) else abs(value))
        return exp.Neg(this=literal) if value < 0 else literal
    return exp.Literal.string(value)
