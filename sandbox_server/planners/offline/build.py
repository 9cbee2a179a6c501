"""From a reading to an Intent: give every mentioned name a role, then choose tables.

Roles are handed out in a fixed order, each step consuming the names it uses:

    groups      "by status", "for each sensor", "which category"   -> dimensions (or a rank key)
    aggregates  "how many tickets", "average temp", "max temperature" -> metrics
    rates       "share of returned orders", "percentage of urgent"   -> rate metrics
    rankings    "the most anomalies", "highest total"               -> metrics / order
    measures    "revenue", "return rate" (registry measures)        -> metrics
    base table  the measure's table, else the table named, else the one most names live in
    filters     values ("delivered"), booleans ("returned"), dates, number comparisons
    fan-out     a join that would repeat the measured rows switches to an item-level measure
                or a distinct count, or refuses with a clear message
    order       top N / superlatives / time order; listings when nothing is aggregated

Ambiguity (a name in two tables, a phrase with two readings) is settled by fixed preferences
(the base table, no fan-out, join distance, registry order), so the same question always gives
the same plan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from sandbox_server.errors import PlannerError
from sandbox_server.plan import AggFunc, Aggregate, Filter, FilterOp, MeasureRef, OrderBy, Scalar, TimeBucket
from sandbox_server.planners.offline.extract import AggCue, CompareCue, DateCue
from sandbox_server.planners.offline.intent import Cond, Dim, Intent, Metric, Ref, without_alias_clash
from sandbox_server.planners.offline.lexicon import Entry, Lexicon, Mention
from sandbox_server.planners.offline.reading import Reading
from sandbox_server.planners.offline.schema import Schema
from sandbox_server.planners.offline.text import split_name
from sandbox_server.registry import ColumnInfo

_SUM_RANK = {"most", "least", "fewest", "biggest", "largest"}
_DIRECTION_FROM = {"asc", "desc"}


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _slug(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_") or "value"


@dataclass
class Builder:
    reading: Reading
    schema: Schema
    lexicon: Lexicon
    base: str | None = None
    used: set[int] = field(default_factory=set)
    metrics: list[Metric] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)
    rank_keys: list[int] = field(default_factory=list)  # "top 5 categories by <revenue>"
    distinct_refs: list[Ref] = field(default_factory=list)
    pending: list[AggFunc] = field(default_factory=list)  # "the average" of nothing named
    notes: list[str] = field(default_factory=list)
    which_singular: bool = False
    which_listing: bool = False
    bool_counts: set[int] = field(default_factory=set)
    rank_metric: str | None = None
    spent_ranks: set[int] = field(default_factory=set)
    by_groups: bool = False  # a "by"/"per" grouping (not only "which ...")
    auto_count: bool = True  # a grouping with no aggregate counts rows (off for follow-ups)

    # -- small helpers ------------------------------------------------------------------------

    @property
    def mentions(self) -> list[Mention]:
        return self.reading.mentions

    def col(self, entry: Entry) -> ColumnInfo:
        assert entry.column is not None
        return self.schema.column(entry.table, entry.column)

    def is_id(self, entry: Entry) -> bool:
        name = (entry.column or "").lower()
        return name == "id" or name.endswith("_id") or self.schema.is_key(entry.table, entry.column or "")

    def numeric(self, entry: Entry) -> bool:
        return entry.kind == "column" and self.col(entry).is_numeric and not self.is_id(entry)

    def boolean(self, entry: Entry) -> bool:
        return entry.kind == "column" and self.col(entry).type == "BOOLEAN"

    def temporal(self, entry: Entry) -> bool:
        return entry.kind == "column" and self.col(entry).is_temporal

    def after(self, pos: int, max_gap: int = 2, *, skip_filters: bool = False) -> int | None:
        """Index of the first mention after token ``pos`` (only filler words between);
        ``skip_filters`` steps over values and booleans ("how many *delivered* orders")."""
        cursor = pos
        for i, m in enumerate(self.mentions):
            if m.start < pos:
                continue
            if not self.reading.gap_ok(cursor, m.start, max_gap):
                return None
            if (
                skip_filters
                and m.entries
                and all(e.kind == "value" or self.boolean_only(e) for e in m.entries)
            ):
                cursor = m.end
                continue
            return i
        return None

    def boolean_only(self, entry: Entry) -> bool:
        return entry.kind == "column" and self.boolean(entry)

    def before(self, pos: int, max_gap: int = 2) -> int | None:
        for i in range(len(self.mentions) - 1, -1, -1):
            m = self.mentions[i]
            if m.end <= pos:
                return i if self.reading.gap_ok(m.end, pos, max_gap) else None
        return None

    def pick(self, entries: list[Entry]) -> Entry:
        """The preferred reading: strong names, the base table, no fan-out, the nearest table."""
        base = self.base

        def key(e: Entry) -> tuple[int, int, int, int, int]:
            if base is None:
                return (not e.strong, 0, 0, self.schema.order_index(e.table), 0)
            route = self.schema.path(base, e.table)
            fans = route is None or any(edge.fans_out for edge in route)
            return (
                not e.strong,
                e.table != base,
                fans,
                self.schema.distance(base, e.table),
                self.schema.order_index(e.table),
            )

        return min(entries, key=key)

    def ref(self, entry: Entry) -> Ref:
        assert entry.column is not None
        return Ref(entry.table, entry.column)

    def negated(self, m: Mention) -> bool:
        negs = self.reading.cues.negations
        return any(
            k in negs and self.reading.gap_ok(k + 1, m.start, 3) for k in range(max(0, m.start - 4), m.start)
        )

    # -- the steps ------------------------------------------------------------------------------

    def build(self) -> Intent:
        self._drop_weak_values()
        self._groups()
        self._aggregates()
        self._rates()
        self._rankings()
        self._measures()
        self._bare_number()
        self._choose_base()
        assert self.base is not None
        if not self.metrics and "count" in self.pending:  # "how many remote workers in Oslo"
            self.pending.remove("count")
            self.metrics.append(Metric(Aggregate(func="count"), self.base))
        intent = Intent(base=self.base, metrics=without_alias_clash(self.metrics), notes=self.notes)
        self._dimensions(intent)
        self._filters(intent)
        self._dates(intent)
        self._compares(intent)
        self._fan_out(intent)
        self._order(intent)
        self._listing(intent)
        return intent

    def _drop_weak_values(self) -> None:
        """A value that is also plain English ("other") counts only next to its column's name."""
        for i, m in enumerate(self.mentions):
            if not (m.of_kind("value") and self.lexicon.is_weak_value(m, self.reading.tokens)):
                continue
            near = [j for j in (i - 1, i + 1) if 0 <= j < len(self.mentions)]
            columns = {(e.table, e.column) for e in m.of_kind("value")}
            if not any(
                (e.table, e.column) in columns
                for j in near
                if abs(self.mentions[j].start - m.start) <= 3
                for e in self.mentions[j].of_kind("column")
            ):
                self.used.add(i)

    def _groups(self) -> None:
        for cue in self.reading.cues.groups:
            i = self.after(cue.end, 2)
            if i is None or i in self.used:
                continue
            m = self.mentions[i]
            if (
                cue.kind == "by"
                and any(e.kind == "measure" or self.numeric(e) for e in m.entries)
                and not m.of_kind("value")
            ):
                self.rank_keys.append(i)  # "by revenue": what to rank by, not a grouping
                self.used.add(i)
                if m.of_kind("measure"):
                    self._add_measure(m.of_kind("measure")[0])
                    self.rank_metric = self.metrics[-1].name
                continue
            if cue.kind == "which" and m.of_kind("measure") and not m.of_kind("column", "table", "value"):
                continue
            nxt = self.after(m.end, 0)
            if m.of_kind("table") and nxt is not None and self.mentions[nxt].of_kind("column", "value"):
                self.used.add(i)  # "ticket category": the table only qualifies the column
                i, m = nxt, self.mentions[nxt]
            if cue.kind == "which":
                last = self.reading.tokens[m.end - 1]
                self.which_singular = last.text == last.stem
                if m.of_kind("table") and not m.of_kind("column", "value"):
                    self.which_listing = True
            self.groups.append(i)
            self.used.add(i)
            self.by_groups = self.by_groups or cue.kind == "by"
            while (j := self.after(self.mentions[i].end, 2)) is not None and self._joined_by_and(i, j):
                self.groups.append(j)
                self.used.add(j)
                i = j

    def _joined_by_and(self, i: int, j: int) -> bool:
        between = [t.stem for t in self.reading.tokens[self.mentions[i].end : self.mentions[j].start]]
        m = self.mentions[j]
        return between in (["and"], ["or"]) and bool(m.of_kind("column")) and not m.of_kind("measure")

    def _aggregates(self) -> None:
        aggs = sorted(self.reading.cues.aggs, key=lambda c: c.start)
        skip: set[int] = set()
        for k, cue in enumerate(aggs):
            if k in skip or cue.func == "rate":
                continue
            func = cue.func
            end = cue.end
            nxt = aggs[k + 1] if k + 1 < len(aggs) else None
            if (
                func == "count"
                and nxt is not None
                and nxt.func == "distinct"
                and self.reading.gap_ok(end, nxt.start, 1)
            ):
                func, end = "count_distinct", nxt.end
                skip.add(k + 1)
            i = self.after(end, 3, skip_filters=func in ("count", "count_distinct"))
            if i is None or i in self.used:
                if func != "distinct":
                    self.pending.append(func if func != "count_distinct" else "count")
                continue
            self._aggregate(func, i, cue)

    def _aggregate(self, func: AggFunc | Literal["distinct"], i: int, cue: AggCue) -> None:
        m = self.mentions[i]
        measures = [e for e in m.of_kind("measure") if e.measure]
        tables = m.of_kind("table")
        columns = m.of_kind("column")
        if func == "distinct":
            if columns:
                self.distinct_refs.append(self.ref(self.pick(columns)))
                self.used.add(i)
            return
        if func in ("count", "count_distinct"):
            counted = [e for e in measures if self._measure_func(e) == "count"]
            if counted and func == "count":
                self._add_measure(counted[0])
            elif tables and func == "count":
                table = self.pick(tables).table
                entity = [
                    e for e in columns if e.table == table and not self.schema.is_key(table, e.column or "")
                ]
                if entity:
                    self.metrics.append(
                        Metric(Aggregate(func="count_distinct", column=entity[0].column), table)
                    )
                else:
                    self.metrics.append(Metric(Aggregate(func="count"), table))
            elif columns and all(self.boolean(e) for e in columns) and func == "count":
                entry = self.pick(columns)
                self.metrics.append(Metric(Aggregate(func="count"), entry.table))
                self.bool_counts.add(i)
                return  # the boolean stays a filter: "how many anomalies"
            elif [e for e in columns if self.numeric(e)] and func == "count":
                entry = self.pick([e for e in columns if self.numeric(e)])  # "how many units": a sum
                self.metrics.append(Metric(Aggregate(func="sum", column=entry.column), entry.table))
            elif columns:
                entry = self.pick(columns)
                self.metrics.append(
                    Metric(Aggregate(func="count_distinct", column=entry.column), entry.table)
                )
            elif measures:
                self._add_measure(measures[0])
            else:
                self.pending.append("count")
                return
            self.used.add(i)
            return
        numeric = [e for e in columns if self.numeric(e)]
        if measures and not (numeric and not m.of_kind("measure")):
            self._add_measure(measures[0], func)
        elif numeric:
            entry = self.pick(numeric)
            self.metrics.append(Metric(Aggregate(func=func, column=entry.column), entry.table))
        elif columns and self.boolean(self.pick(columns)) and func == "avg":
            entry = self.pick(columns)
            self.metrics.append(Metric(Aggregate(func="rate", column=entry.column), entry.table))
        elif tables and func == "sum":
            self.metrics.append(Metric(Aggregate(func="count"), self.pick(tables).table))
        else:
            self.pending.append(func)
            return
        self.used.add(i)

    def _measure_func(self, entry: Entry) -> str | None:
        measure = self.schema.dataset.measure(entry.measure or "")
        return measure.aggregate.func if measure else None

    def _add_measure(self, entry: Entry, func: AggFunc | None = None) -> None:
        """A named measure; "average revenue" of a sum measure becomes avg over its input."""
        measure = self.schema.dataset.measure(entry.measure or "")
        assert measure is not None
        agg = measure.aggregate
        if (
            func is None
            or func == agg.func
            or agg.func in ("count", "rate")
            or (agg.column is None and agg.expr is None)
        ):
            self.metrics.append(Metric(MeasureRef(measure=measure.name), measure.table))
            return
        if func == "sum" and agg.func != "sum":
            self.metrics.append(Metric(MeasureRef(measure=measure.name), measure.table))
            return
        alias = f"{func}_{measure.name}"
        self.metrics.append(Metric(agg.model_copy(update={"func": func, "alias": alias}), measure.table))
        self.notes.append(f"{func} of the measure {measure.name!r}'s input instead of its {agg.func}")

    def _rates(self) -> None:
        for cue in self.reading.cues.aggs:
            if cue.func != "rate":
                continue
            target = self._rate_target(cue)
            if target is None:
                self.pending.append("rate")
                continue
            i, entry = target
            self.used.add(i)
            m = self.mentions[i]
            negated = self.negated(m)
            if entry.kind == "measure":
                self._add_measure(entry)
            elif entry.kind == "column":
                item = (
                    Aggregate(
                        func="rate",
                        where=[Filter(column=entry.column or "", op="=", value=False)],
                        alias=f"not_{entry.column}_rate",
                    )
                    if negated
                    else Aggregate(func="rate", column=entry.column)
                )
                self.metrics.append(Metric(item, entry.table))
            else:
                values = [
                    v
                    for e in m.of_kind("value")
                    if (e.table, e.column) == (entry.table, entry.column)
                    for v in e.values
                ]
                op: FilterOp = (
                    ("!=" if negated else "=") if len(values) == 1 else ("not_in" if negated else "in")
                )
                value: Scalar | list[Scalar] = values[0] if len(values) == 1 else list(values)
                flt = Filter(column=entry.column or "", op=op, value=value)
                alias = f"{'not_' if negated else ''}{_slug('_'.join(values))}_rate"
                self.metrics.append(Metric(Aggregate(func="rate", where=[flt], alias=alias), entry.table))

    def _rate_target(self, cue: AggCue) -> tuple[int, Entry] | None:
        def usable(i: int) -> Entry | None:
            m = self.mentions[i]
            if i in self.used:
                return None
            for e in m.entries:
                if e.kind == "measure" and self._measure_func(e) == "rate":
                    return e
            bools = [e for e in m.of_kind("column") if self.boolean(e)]
            if bools:
                return self.pick(bools)
            values = m.of_kind("value")
            return self.pick(values) if values else None

        for i, m in enumerate(self.mentions):
            if m.start >= cue.end and m.start - cue.end <= 6 and (e := usable(i)):
                return i, e
        j = self.before(cue.start, 1)
        if j is not None and (e := usable(j)):
            return j, e
        return None

    def _rankings(self) -> None:
        for k, cue in enumerate(self.reading.cues.ranks):
            if cue.kind not in ("superlative", "top"):
                continue
            i = self.after(cue.end, 2)
            if i is None or i in self.used:
                continue
            m = self.mentions[i]
            grouped = bool(self.groups) or cue.kind == "top" or bool(self.reading.cues.buckets)
            numeric = [e for e in m.of_kind("column") if self.numeric(e)]
            measures = m.of_kind("measure")
            word = self.reading.tokens[cue.start].stem
            if (measures and (not numeric or not m.of_kind("column"))) or (
                measures and grouped and not numeric
            ):
                before = len(self.metrics)
                self._add_measure(measures[0])
                self.rank_metric = self.metrics[before].name
            elif numeric and self.by_groups and not self._ranked_list() and word not in _SUM_RANK:
                # "highest temp for each sensor": the maximum per group, not a ranking of groups
                entry = self.pick(numeric)
                func: AggFunc = "max" if cue.direction == "desc" else "min"
                self.metrics.append(Metric(Aggregate(func=func, column=entry.column), entry.table))
                self.spent_ranks.add(k)
            elif numeric and grouped:
                func = "sum" if word in _SUM_RANK else "avg"
                entry = self.pick(numeric)
                metric = Metric(Aggregate(func=func, column=entry.column), entry.table)
                self.metrics.append(metric)
                self.rank_metric = metric.name
            elif numeric and not self.metrics and not self.reading.cues.aggs and self._is_question_of_value():
                entry = self.pick(numeric)
                func = "max" if cue.direction == "desc" else "min"
                self.metrics.append(Metric(Aggregate(func=func, column=entry.column), entry.table))
                self.spent_ranks.add(k)
            elif numeric:
                continue  # a listing ordered by this column: see _order
            elif m.of_kind("table") and grouped and cue.kind == "superlative":
                metric = Metric(Aggregate(func="count"), self.pick(m.of_kind("table")).table)
                self.metrics.append(metric)
                self.rank_metric = metric.name
            elif [e for e in m.of_kind("column") if self.boolean(e)] and grouped:
                entry = self.pick([e for e in m.of_kind("column") if self.boolean(e)])
                metric = Metric(Aggregate(func="count"), entry.table)
                self.metrics.append(metric)
                self.rank_metric = metric.name
                self.bool_counts.add(i)
                continue
            else:
                continue
            self.used.add(i)

    def _ranked_list(self) -> bool:
        """A ranking of groups is asked for: "which ...", "top N", "N highest", "sorted by"."""
        cues = self.reading.cues
        which = any(g.kind == "which" for g in cues.groups)
        return which or any(r.n is not None or r.kind in ("top", "sort") for r in cues.ranks)

    def _is_question_of_value(self) -> bool:
        """ "What is the highest temperature?" asks for a number; "orders with the highest total"
        asks for rows."""
        first = self.reading.tokens[0].stem if self.reading.tokens else ""
        return first in ("what", "how", "which") or not any(m.of_kind("table") for m in self.mentions)

    def _measures(self) -> None:
        pure = [
            i
            for i, m in enumerate(self.mentions)
            if m.of_kind("measure") and not m.of_kind("column", "table", "value")
        ]
        mixed = [i for i, m in enumerate(self.mentions) if m.of_kind("measure") and i not in pure]
        for i in pure:
            if i not in self.used:
                self._add_measure(self.mentions[i].of_kind("measure")[0])
                self.used.add(i)
        for i in mixed:
            m = self.mentions[i]
            if i in self.used or self.metrics or m.of_kind("value"):
                continue
            if m.of_kind("table") and (self.reading.cues.aggs or self.groups or self.reading.cues.buckets):
                continue  # "tickets" is counted, not a measure
            if any(self.temporal(e) for e in m.of_kind("column")):
                continue
            if m.of_kind("column") and not self._measure_context(m):
                continue
            self._add_measure(m.of_kind("measure")[0])
            self.used.add(i)
        # "how many tickets ... still open": a count measure on the counted table replaces count(*)
        counted = {
            m.table for m in self.metrics if isinstance(m.item, MeasureRef) and self._is_count_measure(m.item)
        }
        self.metrics = [
            m for m in self.metrics
            if not (isinstance(m.item, Aggregate) and m.item.func == "count" and not m.item.where and m.table in counted)
        ]  # fmt: skip

    def _bare_number(self) -> None:
        """ "temperature by location": a number column named with a grouping but no aggregate word
        is averaged (or its registry measure used, when one aggregates exactly that column)."""
        if self.metrics or not (self.groups or self.reading.cues.buckets):
            return
        compared = {self.before(c.start, 3) for c in self.reading.cues.compares}
        for i, m in enumerate(self.mentions):
            numeric = [e for e in m.of_kind("column") if self.numeric(e)]
            if i in self.used or i in compared or not numeric or m.of_kind("table", "value"):
                continue
            entry = self.pick(numeric)
            for measure in self.schema.dataset.measures:
                agg = measure.aggregate
                if (
                    measure.table == entry.table
                    and agg.column == entry.column
                    and agg.func in ("avg", "sum")
                    and not agg.where
                ):
                    self.metrics.append(Metric(MeasureRef(measure=measure.name), measure.table))
                    break
            else:
                self.metrics.append(Metric(Aggregate(func="avg", column=entry.column), entry.table))
            self.notes.append(f"no aggregate word: {self.metrics[-1].name} of {entry.column}")
            self.used.add(i)
            return

    def _measure_context(self, m: Mention) -> bool:
        """A word that is both a measure and a column ("sales") is the measure when the question
        asks for an amount: grouping, buckets, ranking or a "what is" opening."""
        cues = self.reading.cues
        return bool(self.groups or cues.buckets or cues.ranks or self.rank_keys) or (
            self.reading.tokens[0].stem in ("what", "how", "show", "total")
        )

    def _is_count_measure(self, item: MeasureRef) -> bool:
        measure = self.schema.dataset.measure(item.measure)
        return measure is not None and measure.aggregate.func == "count"

    def _choose_base(self) -> None:
        if self.base is not None:
            return
        if self.metrics:
            self.base = self.metrics[0].table
            return
        scores: dict[str, float] = {}
        for i, m in enumerate(self.mentions):
            for e in m.entries:
                weight = (
                    3.0
                    if e.kind == "table" and e.strong
                    else 1.0
                    if i not in self.used or i in self.groups
                    else 0.5
                )
                scores[e.table] = max(scores.get(e.table, 0.0), 0.0) + weight / len(m.entries)
        if not scores:
            raise PlannerError(
                "nothing in the question names a table, column, value or measure of this dataset"
            )
        self.base = min(scores, key=lambda t: (-scores[t], self.schema.order_index(t)))

    # -- dimensions -----------------------------------------------------------------------------

    def _dimensions(self, intent: Intent) -> None:
        for i in self.groups:
            m = self.mentions[i]
            columns = m.of_kind("column") or [e for e in m.of_kind("value")]
            if columns:
                entry = self.pick(columns)
                ref = self.ref(entry)
                if self.temporal(entry):
                    intent.dims.append(Dim(ref, bucket=self._auto_bucket(ref)))
                else:
                    intent.dims.append(Dim(ref))
                continue
            tables = m.of_kind("table")
            if tables and self.metrics:
                table = self.pick(tables).table
                label = self.schema.label_column(table)
                if label is not None:
                    intent.dims.append(Dim(Ref(table, label)))
        for cue in self.reading.cues.buckets:
            date_ref = self._date_ref(cue.start, cue.end)
            if date_ref is None:
                self.notes.append("no date column to bucket by")
                continue
            bucket = cue.bucket
            if bucket is None and cue.part is None:
                bucket = self._auto_bucket(date_ref)
            if (bucket == "hour" or cue.part == "hour") and self.schema.column(
                date_ref.table, date_ref.column
            ).type == "DATE":
                self.notes.append(f"{date_ref.column} has no time of day; grouped by day instead")
                intent.dims.append(Dim(date_ref, bucket="day"))
                continue
            intent.dims.append(Dim(date_ref, bucket=bucket, part=cue.part))
            if cue.which:
                self.which_singular = True
        ranked = self.metrics and any(
            r.kind in ("top", "superlative", "sort") for r in self.reading.cues.ranks
        )
        if not intent.dims and (ranked or self._counted_comparison()):
            self._group_leftover(intent)
        seen: list[Dim] = []
        for dim in intent.dims:
            if dim not in seen:
                seen.append(dim)
        intent.dims = seen
        grouped = (
            self.by_groups
            or bool(self.reading.cues.buckets or self.reading.cues.ranks)
            or self._counted_comparison()
        )
        if intent.dims and not intent.metrics and grouped and self.auto_count:
            intent.metrics.append(Metric(Aggregate(func="count"), intent.base))

    def _counted_comparison(self) -> bool:
        """ "categories with more than 2000 items": a number of rows compared, per something."""
        for cue in self.reading.cues.compares:
            i = self.after(cue.end, 1)
            if i is not None and self.mentions[i].of_kind("table") and not self.mentions[i].of_kind("value"):
                return True
        return False

    def _group_leftover(self, intent: Intent) -> None:
        """ "the category with the most orders": a ranking needs something to rank."""
        for i, m in enumerate(self.mentions):
            columns = [
                e
                for e in m.of_kind("column")
                if not self.numeric(e) and not self.temporal(e) and not self.boolean(e)
            ]
            entity = bool(m.of_kind("table")) and not intent.metrics and not self.metrics
            if i not in self.used and columns and not m.of_kind("measure") and not entity:
                intent.dims.append(Dim(self.ref(self.pick(columns))))
                self.used.add(i)
                last = self.reading.tokens[m.end - 1]
                self.which_singular = last.text == last.stem  # "the category with the lowest ..."
                return

    def _auto_bucket(self, ref: Ref) -> TimeBucket:
        """ "over time": a grain that gives a readable number of points for the data's span."""
        span = self._span(ref)
        if span is None:
            return "month"
        lo, hi = span
        days = (hi - lo).days
        column_type = self.schema.column(ref.table, ref.column).type
        if days <= 3 and column_type == "TIMESTAMP":
            return "hour"
        if days <= 120:
            return "day"
        if days <= 1100:
            return "month"
        return "year"

    def _span(self, ref: Ref) -> tuple[datetime, datetime] | None:
        profile = self.schema.column(ref.table, ref.column).profile
        try:
            return datetime.fromisoformat(str(profile.min)), datetime.fromisoformat(str(profile.max))
        except ValueError:
            return None

    def _date_ref(self, start: int, end: int) -> Ref | None:
        """The date column a date cue speaks of: one named next to it, else the base table's."""
        for i in (self.before(start, 2), self.after(end, 1)):
            if i is None:
                continue
            temporal = [e for e in self.mentions[i].of_kind("column") if self.temporal(e)]
            if temporal:
                self.used.add(i)
                return self.ref(self.pick(temporal))
        assert self.base is not None
        candidates = [
            self.base,
            *sorted(
                (t.name for t in self.schema.dataset.tables if t.name != self.base),
                key=lambda t: (self.schema.distance(self.base or "", t), self.schema.order_index(t)),
            ),
        ]
        for table in candidates:
            column = self.schema.date_column(table)
            if column is not None and self.schema.path(self.base, table) is not None:
                return Ref(table, column)
        return None

    # -- filters --------------------------------------------------------------------------------

    def _filters(self, intent: Intent) -> None:
        by_column: dict[Ref, tuple[list[str], bool]] = {}
        for i, m in enumerate(self.mentions):
            if i in self.used:
                continue
            values = m.of_kind("value")
            if values:
                entry = self.pick(values)
                ref = self.ref(entry)
                negated = self.negated(m)
                found, _ = by_column.get(ref, ([], negated))
                found.extend(v for v in entry.values if v not in found)
                by_column[ref] = (found, negated)
                self.used.add(i)
                self._use_column_next_to(i, ref)
                continue
            bools = [e for e in m.of_kind("column") if self.boolean(e)]
            if bools and (not m.of_kind("measure") or i in self.bool_counts or self.metrics):
                entry = self.pick(bools)
                intent.filters.append(Cond(self.ref(entry), "=", not self.negated(m)))
                self.used.add(i)
                continue
            numeric = [e for e in m.of_kind("column") if self.numeric(e)]
            if numeric and self._zero_cue(m):
                intent.filters.append(Cond(self.ref(self.pick(numeric)), "=", 0))
                self.used.add(i)
        for ref, (named, negated) in by_column.items():
            if len(named) == 1:
                intent.filters.append(Cond(ref, "!=" if negated else "=", named[0]))
            else:
                intent.filters.append(Cond(ref, "not_in" if negated else "in", list(named)))

    def _zero_cue(self, m: Mention) -> bool:
        """ "out of stock", "no stock", "zero stock": the amount is 0."""
        toks = [t.stem for t in self.reading.tokens[max(0, m.start - 2) : m.start]]
        return toks[-2:] == ["out", "of"] or (toks[-1:] in (["no"], ["zero"]))

    def _use_column_next_to(self, i: int, ref: Ref) -> None:
        for j in (i - 1, i + 1):
            if 0 <= j < len(self.mentions) and j not in self.used:
                near = self.mentions[j]
                if any((e.table, e.column) == (ref.table, ref.column) for e in near.of_kind("column")) and (
                    abs(near.start - self.mentions[i].start) <= 3
                ):
                    self.used.add(j)

    def _dates(self, intent: Intent) -> None:
        for cue in self.reading.cues.dates:
            ref = self._date_ref(cue.start, cue.end)
            if ref is None:
                self.notes.append("dates ignored: the data has no date column")
                continue
            span = self._span(ref)
            if span is None:
                self.notes.append(f"dates ignored: no range known for {ref.column}")
                continue
            for op, value in self._date_bounds(cue, span[1]):
                intent.filters.append(Cond(ref, op, value))  # type: ignore[arg-type]
            if cue.op == "last":
                self.notes.append(
                    f"'last {cue.last_n} {cue.last_unit}(s)' read relative to the latest {ref.column} "
                    f"in the data ({span[1]:%Y-%m-%d %H:%M})"
                )

    @staticmethod
    def _date_bounds(cue: DateCue, latest: datetime) -> list[tuple[str, str]]:
        last_day = latest.date()
        year = last_day.year

        def resolve(p: object) -> tuple[date, date]:
            from sandbox_server.planners.offline.extract import Period

            assert isinstance(p, Period)
            lo, hi = p.bounds(year)
            if p.year is None and lo > last_day:  # "in March": the latest March in the data
                lo, hi = p.bounds(year - 1)
            return lo, hi

        if cue.op == "last":
            n = cue.last_n
            if cue.last_unit == "hour":
                start = latest - timedelta(hours=n - 1)
                return [(">=", f"{start:%Y-%m-%d %H:00:00}")]
            if cue.last_unit in ("day", "week"):
                days = n if cue.last_unit == "day" else 7 * n
                lo = last_day - timedelta(days=days - 1)
            else:
                months = {"month": 1, "quarter": 3, "year": 12}[cue.last_unit] * n
                first = date(last_day.year, last_day.month, 1)
                if cue.last_unit == "quarter":
                    first = date(first.year, 3 * ((first.month - 1) // 3) + 1, 1)
                elif cue.last_unit == "year":
                    first = date(first.year, 1, 1)
                index = (
                    first.year * 12
                    + first.month
                    - 1
                    - (months - {"month": 1, "quarter": 3, "year": 12}[cue.last_unit])
                )
                lo = date(index // 12, index % 12 + 1, 1)
            return [(">=", lo.isoformat()), ("<", (last_day + timedelta(days=1)).isoformat())]
        assert cue.first is not None
        lo, hi = resolve(cue.first)
        if cue.op == "in":
            return [(">=", lo.isoformat()), ("<", hi.isoformat())]
        if cue.op == "since":
            return [(">=", lo.isoformat())]
        if cue.op == "after":
            return [(">=", hi.isoformat())]
        if cue.op == "before":
            return [("<", lo.isoformat())]
        if cue.op == "until":
            return [("<", hi.isoformat())]
        assert cue.second is not None
        _, hi2 = resolve(cue.second)
        return [(">=", lo.isoformat()), ("<", hi2.isoformat())]

    def _compares(self, intent: Intent) -> None:
        for cue in self.reading.cues.compares:
            if not self._compare(cue, intent):
                self.notes.append(
                    f"could not tell what {self.reading.tokens[cue.end - 1].text} applies to; ignored"
                )

    def _compare(self, cue: CompareCue, intent: Intent) -> bool:
        op: FilterOp = cue.op
        for i in (self.before(cue.start, 3), self.after(cue.end, 1)):
            if i is None:
                continue
            m = self.mentions[i]
            numeric = [e for e in m.of_kind("column") if self.numeric(e)]
            metric = self._metric_for(m)
            if metric is not None and (not numeric or i in self.used):
                intent.having.append(self._having(metric, op, cue))
                return True
            if numeric:
                entry = self.pick(numeric)
                intent.filters.append(
                    Cond(self.ref(entry), op, self._value(cue, self.col(entry).profile.max))
                )
                self.used.add(i)
                return True
            if m.of_kind("table") and i != self.before(cue.start, 3):
                table = self.pick(m.of_kind("table")).table
                counts = [
                    x
                    for x in intent.metrics
                    if isinstance(x.item, Aggregate) and x.item.func == "count" and x.table == table
                ]
                if not counts and intent.dims:
                    counts = [Metric(Aggregate(func="count"), table)]
                    intent.metrics.append(counts[0])
                if counts:
                    intent.having.append(self._having(counts[0], op, cue))
                    return True
        if intent.metrics and intent.dims:
            intent.having.append(self._having(intent.metrics[0], op, cue))
            return True
        amounts = [
            c
            for c in self.schema.table(intent.base).columns
            if c.is_numeric and not self.is_id(Entry("column", intent.base, c.name))
        ]
        if len(amounts) == 1:  # "employees earning less than 50000": the table's only amount
            col = amounts[0]
            intent.filters.append(Cond(Ref(intent.base, col.name), op, self._value(cue, col.profile.max)))
            self.notes.append(f"{self.reading.tokens[cue.end - 1].text} read as a {col.name}")
            return True
        return False

    def _metric_for(self, m: Mention) -> Metric | None:
        names = {e.measure for e in m.of_kind("measure")}
        for metric in self.metrics:
            if isinstance(metric.item, MeasureRef) and metric.item.measure in names:
                return metric
            if isinstance(metric.item, Aggregate) and any(
                metric.item.column == e.column for e in m.of_kind("column")
            ):
                return metric
        return None

    def _having(self, metric: Metric, op: FilterOp, cue: CompareCue) -> Filter:
        is_rate = (isinstance(metric.item, Aggregate) and metric.item.func == "rate") or (
            isinstance(metric.item, MeasureRef)
            and (found := self.schema.dataset.measure(metric.item.measure)) is not None
            and found.aggregate.func == "rate"
        )
        return Filter(column=metric.name, op=op, value=self._value(cue, 1 if is_rate else None))

    @staticmethod
    def _value(cue: CompareCue, top: object) -> Scalar | list[Scalar]:
        """Numbers as written; "20%" of a 0..1 column (a fraction, a rate) is 0.2."""
        scale = 100 if cue.percent and isinstance(top, int | float) and top <= 1 else 1
        values: list[Scalar] = [_number(v / scale) for v in cue.values]
        return values if cue.op == "between" else values[0]

    # -- fan-out --------------------------------------------------------------------------------

    def _fan_out(self, intent: Intent) -> None:
        """A join repeats the rows of every table it reaches through a relationship's "one" side
        (orders, once per order item): sums, averages, counts and rates over such a table would
        be inflated, so they are rewritten at the finer grain or refused."""
        tables = intent.tables()
        if len(tables) == 1:
            return
        repeated = set()
        for table in tables[1:]:
            for edge in self.schema.path(intent.base, table) or []:
                repeated.add(edge.table if edge.fans_out else edge.other)
        fixed: list[Metric] = []
        for metric in intent.metrics:
            new = self._fix_metric(metric, repeated, tables) if metric.table in repeated else metric
            if self.rank_metric == metric.name:
                self.rank_metric = new.name
            fixed.append(new)
        intent.metrics = self.metrics = fixed
        intent.base = intent.metrics[0].table if intent.metrics else intent.base

    def _fix_metric(self, metric: Metric, repeated: set[str], tables: list[str]) -> Metric:
        item = metric.item
        name = metric.name
        if isinstance(item, MeasureRef):
            measure = self.schema.dataset.measure(item.measure)
            assert measure is not None
            words = set(split_name(measure.name))
            for other in self.schema.dataset.measures:
                if other.table in repeated or other.name == measure.name:
                    continue
                names = [other.name, *other.synonyms]
                same_kind = other.aggregate.func == measure.aggregate.func
                named_alike = any(words <= set(split_name(n)) for n in names)
                reachable = all(self.schema.path(other.table, t) is not None for t in tables)
                if same_kind and named_alike and reachable:
                    self.notes.append(
                        f"{measure.name!r} lives on {measure.table!r}, which the join would repeat; "
                        f"used the finer measure {other.name!r} of {other.table!r} instead"
                    )
                    return Metric(MeasureRef(measure=other.name), other.table)
            item = measure.aggregate.model_copy(update={"alias": name})
        if item.func in ("min", "max", "count_distinct"):
            return Metric(item, metric.table)
        if item.func == "rate" and item.column is None and item.expr is None and item.where:
            return Metric(item, metric.table)  # already a share of joined rows (a follow-up keeps it)
        if item.func == "rate" and item.column is not None and not item.where:
            self.notes.append(
                f"{name} is measured over the joined rows (each row of {metric.table!r} counts once per matching row)"
            )
            where = [Filter(column=item.column, op="=", value=True)]
            return Metric(Aggregate(func="rate", where=where, alias=name), metric.table)
        if item.func == "count" and item.column is None and item.expr is None:
            key = self.schema.table(metric.table).primary_key
            if key is not None:
                self.notes.append(
                    f"counted distinct {key} so the join does not count a {metric.table} row twice"
                )
                alias = name if name != "count" else None
                return Metric(
                    Aggregate(func="count_distinct", column=key, where=item.where, alias=alias), metric.table
                )
        raise PlannerError(
            f"{name} is computed on table {metric.table!r}, and the question also needs "
            f"{', '.join(t for t in tables if t != metric.table)}: joining them would count each "
            f"{metric.table} row several times",
            suggestion=f"ask about {metric.table!r} alone, or about a measure of the other table",
        )

    # -- order, limit, listing ------------------------------------------------------------------

    def _order(self, intent: Intent) -> None:
        ranks = [r for k, r in enumerate(self.reading.cues.ranks) if k not in self.spent_ranks]
        n = next((r.n for r in ranks if r.n is not None), None)
        explicit = [
            r for r in ranks if r.kind in ("superlative", "sort") or (r.kind == "top" and r.n is None)
        ]
        direction = (explicit or ranks)[0].direction if ranks else "desc"
        for i in self.rank_keys:  # "by revenue": rank by it
            m = self.mentions[i]
            if self._metric_for(m) is None and intent.metrics is not None and (intent.dims or self.groups):
                numeric = [e for e in m.of_kind("column") if self.numeric(e)]
                if m.of_kind("measure"):
                    continue  # added when the grouping was read
                if numeric:
                    e = self.pick(numeric)
                    self.metrics.append(Metric(Aggregate(func="sum", column=e.column), e.table))
                intent.metrics = without_alias_clash(intent.metrics + self.metrics[len(intent.metrics) :])
        if intent.metrics and intent.dims:
            if ranks or self.rank_keys:
                key = self._rank_metric(intent)
                intent.order = [OrderBy(by=key, direction=direction)]
                if n is not None:
                    intent.limit = n
                elif any(r.kind == "top" for r in ranks):
                    intent.limit = 10
                elif self.which_singular and any(r.kind == "superlative" for r in ranks):
                    intent.limit = 1
            else:
                intent.order = [OrderBy(by=d.name, direction="asc") for d in intent.dims if d.is_time]
            return
        if intent.metrics:
            return
        # a listing: "the 5 most recent tickets", "top 10 orders by total"
        target: Ref | None = None
        for r in ranks:
            if r.kind == "recent":
                target = self._date_ref(r.start, r.end)
            elif r.kind in ("superlative", "top", "sort"):
                nxt = self.after(r.end, 2)
                cands: list[int] = [nxt] if nxt is not None else []
                cands += self.rank_keys
                for j in cands:
                    numeric = [
                        e for e in self.mentions[j].of_kind("column") if self.numeric(e) or self.temporal(e)
                    ]
                    if numeric:
                        target = self.ref(self.pick(numeric))
                        break
            if target is not None:
                break
        if target is None and self.rank_keys:
            numeric = [e for e in self.mentions[self.rank_keys[0]].of_kind("column") if self.numeric(e)]
            target = self.ref(self.pick(numeric)) if numeric else None
        if target is not None:
            intent.order = [OrderBy(by=target.column, direction=direction)]
            self._order_target = target
        if n is not None:
            intent.limit = n
        elif target is not None and any(r.kind in ("superlative", "recent") for r in ranks):
            intent.limit = (
                1 if self.which_singular or not any(t.text != t.stem for t in self.reading.tokens) else 10
            )

    def _rank_metric(self, intent: Intent) -> str:
        if self.rank_metric and self.rank_metric in [m.name for m in intent.metrics]:
            return self.rank_metric
        for i in self.rank_keys:
            metric = self._metric_for(self.mentions[i])
            if metric is not None:
                return metric.name
        return intent.metrics[0].name

    def _listing(self, intent: Intent) -> None:
        if intent.metrics:
            for func in self.pending:
                self.notes.append(f"'{func}' of what? no column named after it; ignored")
            return
        if self.distinct_refs or (intent.dims and not self.which_listing):
            refs = self.distinct_refs or [d.ref for d in intent.dims]
            intent.columns, intent.dims, intent.distinct = refs, [], True
            intent.order = intent.order or [OrderBy(by=r.column) for r in refs]
            return
        intent.dims = []
        if self.pending:
            raise PlannerError(
                f"found the word for '{self.pending[0]}' but no column to apply it to",
                suggestion="name the column, e.g. 'average " + self._example_numeric() + "'",
            )
        table = self.schema.table(intent.base)
        intent.columns = [Ref(table.name, c.name) for c in table.columns]

    def _example_numeric(self) -> str:
        for t in self.schema.dataset.tables:
            for c in t.columns:
                if c.is_numeric and not c.name.endswith("_id"):
                    return c.name.replace("_", " ")
        return "<column>"
