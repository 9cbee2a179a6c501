"""Words for people: the planner's reading of a plan, and the error when it has none.

The reading goes into ``plan.notes`` and the output message, so a user can see at a glance
whether the question was understood as meant. The error lists what was understood, the
dataset's columns, and two questions that do work on this dataset (its demo prompts, or ones
made from its schema), so the next try can succeed.
"""

from __future__ import annotations

from collections.abc import Sequence

from sandbox_server.errors import PlannerError
from sandbox_server.naming import aggregate_name, dimension_name
from sandbox_server.plan import Aggregate, Column, Filter, MeasureRef, QueryPlan
from sandbox_server.registry import Dataset, TableInfo


def _filter(f: Filter) -> str:
    if f.op in ("is_null", "is_not_null"):
        return f"{f.column} {f.op.replace('_', ' ')}"
    return f"{f.column} {f.op} {f.value!r}"


def describe(plan: QueryPlan) -> str:
    """``revenue by order_date_month; where order_date >= '2025-01-01'; top 5`` and the like."""
    outputs: list[str] = []
    for item in plan.select:
        if isinstance(item, MeasureRef):
            outputs.append(f"measure {item.alias or item.measure}")
        elif isinstance(item, Aggregate):
            outputs.append(aggregate_name(item))
        elif isinstance(item, Column):
            outputs.append(item.alias or item.column or item.expr or "")
    head = ", ".join(outputs) if len(outputs) <= 4 else f"{len(outputs)} columns"
    parts = [f"{'distinct ' if plan.distinct else ''}{head} from {plan.table}"]
    if plan.joins:
        parts[0] += " joined with " + ", ".join(j.table for j in plan.joins)
    if plan.group_by:
        parts.append("by " + ", ".join(dimension_name(d) for d in plan.group_by))
    if plan.filters:
        parts.append("where " + " and ".join(_filter(f) for f in plan.filters))
    if plan.having:
        parts.append("keeping " + " and ".join(_filter(f) for f in plan.having))
    if plan.order_by:
        parts.append("ordered by " + ", ".join(f"{o.by} {o.direction}" for o in plan.order_by))
    if plan.limit != 200:
        parts.append(f"first {plan.limit}")
    return "; ".join(parts)


def schema_questions(tables: Sequence[TableInfo]) -> list[str]:
    """Questions this planner understands, made from the schema alone (table by table: a count
    by a low-cardinality column, an average by it or by month, a monthly total)."""
    questions = []
    for table in tables:
        cats = [
            c for c in table.columns if c.type == "VARCHAR" and c.profile.values and len(c.profile.values) > 1
        ]
        nums = [c for c in table.columns if c.is_numeric and not c.name.lower().endswith("id")]
        dates = [c for c in table.columns if c.is_temporal]
        words = table.name.replace("_", " ")
        if cats:
            questions.append(f"How many {words} are there by {cats[0].name.replace('_', ' ')}?")
        if nums and (cats or dates):
            by = cats[0].name.replace("_", " ") if cats else "month"
            questions.append(f"What is the average {nums[0].name.replace('_', ' ')} by {by}?")
        if not cats and not nums:
            questions.append(f"How many {words} are there?")
        if nums and dates:
            questions.append(f"What is the total {nums[0].name.replace('_', ' ')} by month?")
    return questions


def example_questions(dataset: Dataset) -> list[str]:
    """Two questions that work on ``dataset``: its demo prompts, else made from its schema."""
    examples = [*dataset.prompts, *schema_questions(dataset.tables)]
    if len(examples) < 2:
        examples.append(f"How many {dataset.tables[0].name.replace('_', ' ')} are there?")
    return examples[:2]


def columns_text(dataset: Dataset) -> str:
    return "; ".join(f"{t.name}({', '.join(t.column_names)})" for t in dataset.tables)


def not_understood(question: str, dataset: Dataset, understood: list[str], reason: str) -> PlannerError:
    examples = example_questions(dataset)
    seen = ", ".join(repr(u) for u in understood) if understood else "nothing"
    message = (
        f"could not understand {question.strip()!r} for dataset {dataset.id!r}: {reason} "
        f"(recognised: {seen}). Columns: {columns_text(dataset)}. "
        f"Questions that work, for example: {examples[0]!r} or {examples[1]!r}"
    )
    return PlannerError(
        message,
        suggestion="rephrase with the names of the columns above, or ask one of the example questions",
        understood=understood,
        columns={t.name: t.column_names for t in dataset.tables},
        examples=examples,
    )
