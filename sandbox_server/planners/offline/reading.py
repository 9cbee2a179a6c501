"""One question read against one dataset: tokens, the names it mentions, and its cue words.

The order is fixed: first-pass cues (dates, numbers, buckets, "top N") block their tokens; the
lexicon finds names in what is left; a few names that are also aggregation words ("total" is a
column of the orders table and the word of "total revenue") are given back to the cue reader when
a name follows them; measures named by scattered words ("tickets ... still open" for the measure
"open tickets") are found last; then the second-pass cues read the remaining words.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox_server.planners.offline.extract import CUE_WORDS, Cues, read_first_pass, read_second_pass
from sandbox_server.planners.offline.lexicon import Entry, Lexicon, Mention
from sandbox_server.planners.offline.text import INNER_SKIP, STOPWORDS, Token, split_name, tokens

# Words that are aggregation words first, even when a column has the same name.
_FOLDABLE = frozenset({"total", "count", "sum", "average", "mean", "max", "min", "median", "rate"})


@dataclass
class Reading:
    tokens: list[Token]
    mentions: list[Mention]
    cues: Cues

    def gap_ok(self, start: int, end: int, max_gap: int) -> bool:
        """True when tokens[start:end] are at most ``max_gap`` filler words (or rank numbers)."""
        if end < start:
            return False
        filler = [
            k
            for k in range(start, end)
            if self.tokens[k].stem not in STOPWORDS | INNER_SKIP
            and not any(r.start <= k < r.end for r in self.cues.ranks)
        ]
        return not filler and end - start <= max_gap

    def words(self, mention: Mention) -> str:
        return " ".join(t.text for t in self.tokens[mention.start : mention.end])


def read(question: str, lexicon: Lexicon) -> Reading:
    toks = tokens(question)
    cues = read_first_pass(toks)
    mentions = lexicon.match(toks, cues.used)
    mentions = _fold_aggregation_words(toks, mentions, lexicon)
    covered = {k for m in mentions for k in range(m.start, m.end)}
    mentions = sorted(
        mentions + _scattered_measures(toks, covered | cues.used, lexicon), key=lambda m: m.start
    )
    covered = {k for m in mentions for k in range(m.start, m.end)}
    read_second_pass(toks, cues, covered)
    return Reading(toks, mentions, cues)


def _fold_aggregation_words(toks: list[Token], mentions: list[Mention], lexicon: Lexicon) -> list[Mention]:
    ds = lexicon.dataset
    out: list[Mention] = []
    for i, m in enumerate(mentions):
        nxt = mentions[i + 1] if i + 1 < len(mentions) else None
        foldable = m.end - m.start == 1 and toks[m.start].stem in _FOLDABLE and not m.of_kind("measure")
        if foldable and m.end < len(toks) and toks[m.end].stem == "number":
            continue  # "total number of orders"
        if foldable and nxt is not None and nxt.start - m.end <= 2:
            between = [t.stem for t in toks[m.end : nxt.start]]
            if all(w in STOPWORDS for w in between) and any(_aggregatable(e, ds) for e in nxt.entries):
                continue
        out.append(m)
    return out


def _aggregatable(entry: Entry, ds: object) -> bool:
    from sandbox_server.registry import Dataset

    assert isinstance(ds, Dataset)
    if entry.kind in ("measure", "table"):
        return True
    if entry.kind != "column" or entry.column is None:
        return False
    table = ds.table(entry.table)
    col = table.column(entry.column) if table else None
    return col is not None and col.is_numeric


def _scattered_measures(toks: list[Token], covered: set[int], lexicon: Lexicon) -> list[Mention]:
    """Measures whose multi-word name or synonym appears as scattered words, at least one of
    them not read as anything else ("how many tickets are still open" -> "open tickets")."""
    stems = {t.stem: k for k, t in reversed(list(enumerate(toks)))}
    found: list[Mention] = []
    taken: set[int] = set()
    for measure in lexicon.dataset.measures:
        for phrase in [measure.name, *measure.synonyms]:
            words = [w for w in split_name(phrase) if w not in INNER_SKIP]
            if len(words) < 2 or not all(w in stems for w in words):
                continue
            fresh = [
                stems[w]
                for w in words
                if stems[w] not in covered and stems[w] not in taken and w not in CUE_WORDS
            ]
            if not fresh:
                continue
            k = min(fresh)
            taken.add(k)
            entry = Entry("measure", measure.table, measure=measure.name)
            found.append(Mention(k, k + 1, (entry,), toks[k].text))
            break
    return found
