"""The dataset's vocabulary: every way the question may name a table, column, value or measure.

Built once per dataset version from the registry only: table and column names split into words
("order_date" -> order date), their declared synonyms, shortened names where the dropped word is
generic ("csat_score" -> csat, "anomaly_flag" -> anomaly, "customer_id" -> customer), the
distinct values of low-cardinality text columns from the profile (the value index: "delivered",
"warehouse-a", "S07"), and the named measures. Phrases live in a word trie; ``match`` finds the
longest phrases in a question, left to right, and returns every reading of each (a phrase may
name several things: "category" is a column of two tables) for ``build`` to choose from.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Literal

from sandbox_server.planners.offline.text import INNER_SKIP, STOPWORDS, Token, split_name
from sandbox_server.registry import Dataset

EntryKind = Literal["table", "column", "value", "measure"]

# Words that can be dropped from a column name and still name it ("csat_score" -> csat).
_GENERIC = frozenset(
    {"id", "flag", "at", "on", "is", "has", "score", "value", "amount", "num", "level", "code"}
)
# Values too common as plain English to be read as a filter unless their column is named too.
_WEAK_VALUES = frozenset(
    {"other", "none", "unknown", "all", "yes", "no", "true", "false", "n", "y", "a", "na"}
)
_ENTRIES = "\0"


@dataclass(frozen=True)
class Entry:
    """One reading of a phrase. ``strong`` phrases come from full names, synonyms and values;
    shortened names are weak and lose ties."""

    kind: EntryKind
    table: str
    column: str | None = None
    values: tuple[str, ...] = ()
    measure: str | None = None
    strong: bool = True


@dataclass(frozen=True)
class Mention:
    """A phrase of the question (tokens ``start``..``end``) and its possible readings."""

    start: int
    end: int
    entries: tuple[Entry, ...]
    text: str

    def of_kind(self, *kinds: EntryKind) -> list[Entry]:
        return [e for e in self.entries if e.kind in kinds]


class Lexicon:
    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self._trie: dict[str, Any] = {}
        self._weak_values: set[tuple[str, ...]] = set()
        self._build()

    # -- building --------------------------------------------------------------------------

    def _add(self, phrase: tuple[str, ...], entry: Entry) -> None:
        if not phrase or all(w in STOPWORDS for w in phrase):
            return
        node = self._trie
        for word in phrase:
            node = node.setdefault(word, {})
        bucket: list[Entry] = node.setdefault(_ENTRIES, [])
        if entry not in bucket:
            bucket.append(entry)

    def _build(self) -> None:
        ds = self.dataset
        for measure in ds.measures:
            entry = Entry("measure", measure.table, measure=measure.name)
            self._add(split_name(measure.name), entry)
            for syn in measure.synonyms:
                self._add(split_name(syn), entry)
        for table in ds.tables:
            entry = Entry("table", table.name)
            name = split_name(table.name)
            self._add(name, entry)
            for syn in table.synonyms:
                self._add(split_name(syn), entry)
            if len(name) > 1:  # "order_items" may be called "items"
                self._add(name[-1:], Entry("table", table.name, strong=False))
            for col in table.columns:
                self._add_column(table.name, col.name, col.synonyms, col.type == "BOOLEAN")
                for value in col.profile.values or () if col.type == "VARCHAR" else ():
                    self._add_value(table.name, col.name, value)
                self._add_value_prefixes(table.name, col.name, col.profile.values or [])

    def _add_column(self, table: str, column: str, synonyms: list[str], boolean: bool) -> None:
        entry = Entry("column", table, column)
        name = split_name(column)
        self._add(name, entry)
        for syn in synonyms:
            self._add(split_name(syn), entry)
        short = tuple(w for w in name if w not in _GENERIC)
        if short and short != name:
            self._add(short, Entry("column", table, column, strong=False))
        if boolean and len(name) == 2:  # "sla_met" is also said "met the sla"
            self._add(name[::-1], entry)

    def _add_value(self, table: str, column: str, value: str) -> None:
        phrase = split_name(value)
        self._add(phrase, Entry("value", table, column, values=(value,)))
        if phrase and (
            (len(phrase) == 1 and phrase[0] in _WEAK_VALUES) or all(w in STOPWORDS for w in phrase)
        ):
            self._weak_values.add(phrase)

    def _add_value_prefixes(self, table: str, column: str, values: list[str]) -> None:
        """Values sharing a first word ("warehouse-a", "warehouse-b") can be named together."""
        groups: OrderedDict[str, list[str]] = OrderedDict()
        for value in values:
            phrase = split_name(value)
            if len(phrase) > 1:
                groups.setdefault(phrase[0], []).append(value)
        singles = {split_name(v) for v in values}
        for first, members in groups.items():
            if len(members) > 1 and (first,) not in singles:
                self._add((first,), Entry("value", table, column, values=tuple(members)))

    # -- matching --------------------------------------------------------------------------

    def is_weak_value(self, mention: Mention, tokens: list[Token]) -> bool:
        return tuple(t.stem for t in tokens[mention.start : mention.end]) in self._weak_values

    def match(self, tokens: list[Token], blocked: set[int]) -> list[Mention]:
        """Longest phrases first, left to right, never across ``blocked`` tokens (dates,
        numbers already read). Two words may also meet one phrase word ("data center")."""
        mentions: list[Mention] = []
        i, n = 0, len(tokens)
        while i < n:
            if i in blocked or tokens[i].stem in INNER_SKIP:
                i += 1
                continue
            node, j, best = self._trie, i, None
            while j < n and j not in blocked:
                word = tokens[j].stem
                joined = word + tokens[j + 1].stem if j + 1 < n and j + 1 not in blocked else None
                if word in node:
                    node, j = node[word], j + 1
                elif joined is not None and joined in node:
                    node, j = node[joined], j + 2
                elif word in INNER_SKIP and node is not self._trie:
                    j += 1
                    continue
                else:
                    break
                if _ENTRIES in node:
                    best = (j, node[_ENTRIES])
            if best is None:
                i += 1
                continue
            end, entries = best
            text = " ".join(t.text for t in tokens[i:end])
            mentions.append(Mention(i, end, tuple(entries), text))
            i = end
        return mentions


_CACHE: OrderedDict[tuple[str, str], tuple[Dataset, Lexicon]] = OrderedDict()
_CACHE_SIZE = 64


def lexicon_for(dataset: Dataset) -> Lexicon:
    """The dataset's lexicon, cached per (id, version) and checked against the model itself
    (uploaded datasets may reuse an id)."""
    key = (dataset.id, dataset.version_hash)
    hit = _CACHE.get(key)
    if hit is not None and (hit[0] is dataset or hit[0] == dataset):
        _CACHE.move_to_end(key)
        return hit[1]
    lexicon = Lexicon(dataset)
    _CACHE[key] = (dataset, lexicon)
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return lexicon
