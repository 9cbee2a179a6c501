"""Follow-ups: a short question that edits the previous plan instead of starting over.

"now by month", "only 2025", "just the delivered ones", "top 10 instead", "and the average
too", "by priority instead", "without the cancelled ones", "what about urgent?" name no new
subject (measure, aggregate of a column, other table); they are read as edits of the previous
plan. A question that names a new subject is a fresh question, unless it says it adds to the
last one ("... too", "also ...").

Edits, each deterministic:
    time bucket       replaces the previous time dimension, or is added
    grouping          replaces the other dimensions ("also"/"and by" adds)
    filter            replaces the previous filters on the same column, or is added
    ranking           replaces order and limit
    aggregate         is added ("instead" replaces); without a column it reuses the previous one
"""

from __future__ import annotations

from sandbox_server.plan import AggFunc, Aggregate, MeasureRef, OrderBy, QueryPlan
from sandbox_server.planners.offline.build import Builder
from sandbox_server.planners.offline.intent import Intent, Metric, from_plan, without_alias_clash
from sandbox_server.planners.offline.lexicon import Lexicon
from sandbox_server.planners.offline.reading import Reading
from sandbox_server.planners.offline.schema import Schema


def is_followup(previous: QueryPlan, reading: Reading, schema: Schema) -> bool:
    cues = reading.cues
    plan_tables = {previous.table, *(j.table for j in previous.joins)}
    new_subject = False
    for m in reading.mentions:
        if m.of_kind("measure") and not m.of_kind("column", "value"):
            new_subject = True
        if any(e.table not in plan_tables for e in m.of_kind("table")) and not m.of_kind("column", "value"):
            new_subject = True
    targeted_aggs = [
        c for c in cues.aggs if any(m.start >= c.end and m.start - c.end <= 2 for m in reading.mentions)
    ]
    if targeted_aggs and not cues.additive and not cues.followup:
        new_subject = True
    if cues.followup or cues.instead or cues.additive:
        return True
    editable = bool(
        cues.groups or cues.buckets or cues.dates or cues.compares or cues.ranks or cues.aggs
        or any(m.of_kind("value", "column") for m in reading.mentions)
    )  # fmt: skip
    return editable and not new_subject


def edit(previous: QueryPlan, reading: Reading, schema: Schema, lexicon: Lexicon) -> Intent:
    prev = from_plan(previous, schema)
    b = Builder(reading, schema, lexicon, base=previous.table, auto_count=False)
    b._drop_weak_values()
    b._groups()
    b._aggregates()
    b._rates()
    b._rankings()
    b._measures()
    delta = Intent(base=previous.table)
    b.metrics = list(b.metrics)
    b._dimensions(delta)
    b._filters(delta)
    b._dates(delta)

    merged = Intent(base=prev.base, having=list(prev.having), order=list(prev.order), limit=prev.limit)
    merged.columns, merged.distinct = prev.columns, prev.distinct
    cues = reading.cues

    # aggregates
    new_metrics = list(b.metrics)
    for func in b.pending:
        source = next((m for m in prev.metrics), None)
        made = _reuse_input(source, func, schema) if source else None
        if made is not None:
            new_metrics.append(made)
        else:
            b.notes.append(f"'{func}' of what? the previous answer has no column to reuse")
    swapped = [] if new_metrics else _swap_inputs(prev.metrics, b, schema)
    if swapped:
        merged.metrics = swapped  # "what about humidity?": the same aggregates of another column
    elif new_metrics and cues.instead and not (delta.dims or delta.filters):
        merged.metrics = without_alias_clash(new_metrics)
    else:
        merged.metrics = without_alias_clash(prev.metrics + new_metrics)

    # dimensions
    new_time = [d for d in delta.dims if d.is_time]
    new_other = [d for d in delta.dims if not d.is_time]
    keep_time = [d for d in prev.dims if d.is_time and not new_time]
    keep_other = [] if new_other and not cues.additive else [d for d in prev.dims if not d.is_time]
    if cues.instead and delta.dims:  # "by priority instead": the new grouping only
        keep_other, keep_time = [], []
    merged.dims = keep_other + [d for d in new_other if d not in keep_other] + keep_time + new_time

    # filters: a new condition on a column replaces the old ones on it
    touched = {c.ref for c in delta.filters}
    merged.filters = [c for c in prev.filters if c.ref not in touched] + delta.filters
    b.base = merged.base
    b.metrics = merged.metrics
    b._compares(merged)
    b._fan_out(merged)

    names = set(merged.output_names())
    if cues.ranks or b.rank_keys:
        last_order = prev.order[0] if prev.order else None
        b._order(merged)
        explicit = any(r.kind in ("superlative", "sort") or r.direction == "asc" for r in cues.ranks)
        if last_order and merged.order and last_order.by == merged.order[0].by and not explicit:
            merged.order = [OrderBy(by=last_order.by, direction=last_order.direction)]
    else:
        merged.order = [o for o in merged.order if o.by in names]
        if not merged.order:
            merged.order = [OrderBy(by=d.name) for d in merged.dims if d.is_time]
    merged.having = [h for h in merged.having if h.column in names]
    if merged.columns and merged.dims:  # a listing that is now grouped becomes a count
        merged.columns, merged.distinct = [], False
        if not merged.metrics:
            merged.metrics = [Metric(Aggregate(func="count"), merged.base)]
    merged.notes = ["follow-up of the previous question", *b.notes]
    return merged


def _reuse_input(source: Metric, func: AggFunc, schema: Schema) -> Metric | None:
    """ "and the average too": the same input as the previous aggregate, another function."""
    item = source.item
    if isinstance(item, MeasureRef):
        measure = schema.dataset.measure(item.measure)
        if measure is None:
            return None
        item = measure.aggregate
    if item.column is None and item.expr is None:
        return None
    if func == "rate" or func == "count":
        return None
    agg = Aggregate(func=func, column=item.column, expr=item.expr, where=item.where)
    return Metric(agg, source.table)


def _swap_inputs(metrics: list[Metric], b: Builder, schema: Schema) -> list[Metric]:
    """The previous aggregates over a newly named number column, or nothing if none is named."""
    cues = b.reading.cues
    if not (cues.followup or cues.instead):
        return []
    numeric = [
        e for i, m in enumerate(b.mentions) if i not in b.used for e in m.of_kind("column") if b.numeric(e)
    ]
    if not numeric:
        return []
    entry = b.pick(numeric)
    out: list[Metric] = []
    for metric in metrics:
        item = metric.item
        if isinstance(item, MeasureRef):
            measure = schema.dataset.measure(item.measure)
            if measure is None:
                continue
            item = measure.aggregate
        if item.column is None and item.expr is None:
            out.append(metric)
            continue
        same = [
            m for m in schema.dataset.measures
            if m.table == entry.table and m.aggregate.column == entry.column and m.aggregate.func == item.func
        ]  # fmt: skip
        if same:
            out.append(Metric(MeasureRef(measure=same[0].name), entry.table))
        else:
            out.append(Metric(Aggregate(func=item.func, column=entry.column), entry.table))
    return without_alias_clash(out)
