"""The offline planner: plain English to a QueryPlan with rules, no LLM, deterministic.

It works for any registered dataset: every word it knows about the data comes from the
registry (names, synonyms, descriptions, value profiles, relationships, measures); no question
and no dataset-specific word is written in the code. The pipeline, one module per stage:

    text      cut the question into comparable tokens
    extract   cue words: dates, numbers, buckets, ranking, aggregation, grouping, negation
    lexicon   the dataset's vocabulary (tables, columns, values, measures) and phrase matching
    reading   the question read against both
    build     roles for every name, then tables, joins, filters, order  -> Intent
    followup  edit the previous plan when the question is a follow-up
    intent    Intent <-> QueryPlan
    explain   the reading for people; the error when there is none
"""

from __future__ import annotations

import time

from sandbox_server.errors import PlannerError
from sandbox_server.plan import QueryPlan
from sandbox_server.planners.base import PlannerOutput
from sandbox_server.planners.offline.build import Builder
from sandbox_server.planners.offline.explain import describe, not_understood
from sandbox_server.planners.offline.followup import edit, is_followup
from sandbox_server.planners.offline.intent import assemble
from sandbox_server.planners.offline.lexicon import lexicon_for
from sandbox_server.planners.offline.reading import Reading, read
from sandbox_server.planners.offline.schema import Schema
from sandbox_server.registry import Dataset

__all__ = ["OfflinePlanner"]


class OfflinePlanner:
    """The embedded default planner. ``plan`` raises ``PlannerError`` when it cannot understand."""

    name = "offline"

    def plan(self, question: str, dataset: Dataset, *, previous: QueryPlan | None = None) -> PlannerOutput:
        started = time.perf_counter()
        lexicon = lexicon_for(dataset)
        schema = Schema(dataset)
        reading = read(question, lexicon)
        followup = (
            previous is not None
            and previous.dataset_id == dataset.id
            and is_followup(previous, reading, schema)
        )
        try:
            if followup and previous is not None:
                intent = edit(previous, reading, schema, lexicon)
            else:
                if not _understood(reading):
                    raise not_understood(
                        question,
                        dataset,
                        _recognised(reading),
                        "no table, column, value or measure of this dataset was recognised",
                    )
                intent = Builder(reading, schema, lexicon).build()
        except PlannerError as exc:
            if "could not understand" in exc.message:
                raise
            raise not_understood(question, dataset, _recognised(reading), exc.message) from exc
        plan = assemble(intent, schema)
        reading_text = describe(plan)
        notes = "; ".join([reading_text, *intent.notes])
        plan = plan.model_copy(update={"notes": notes})
        return PlannerOutput(
            plan=plan,
            sql=None,
            planner=self.name,
            message=f"Read as: {notes}",
            meta={"latency_ms": round((time.perf_counter() - started) * 1000, 3), "followup": followup},
        )


def _understood(reading: Reading) -> bool:
    return bool(reading.mentions)


def _recognised(reading: Reading) -> list[str]:
    found = [reading.words(m) for m in reading.mentions]
    toks = reading.tokens
    cues = reading.cues
    spans: list[tuple[int, int]] = [(c.start, c.end) for c in cues.dates]
    spans += [(c.start, c.end) for c in cues.compares] + [(c.start, c.end) for c in cues.buckets]
    spans += [(c.start, c.end) for c in cues.ranks] + [(c.start, c.end) for c in cues.aggs]
    found.extend(" ".join(t.text for t in toks[start:end]) for start, end in spans)
    return found
