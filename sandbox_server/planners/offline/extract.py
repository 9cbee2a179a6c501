"""Cue words: dates, numbers, aggregation words, grouping, ranking, time buckets, negation.

``read_cues`` runs in two passes around the lexicon. The first pass takes what must never be
read as a name: date ranges ("in March 2025", "since 2025-03-01", "last 30 days"), number
comparisons ("above 30", "at least 3"), time buckets and date parts ("monthly", "by hour of day")
and "top 5"; those tokens are then blocked for the lexicon. The second pass reads the words the
lexicon left alone: aggregation ("how many", "average"), grouping ("by", "per", "for each",
"which"), ranking ("most", "lowest first"), negation and follow-up markers. Every cue keeps its
token span so ``build`` can tie it to the nearest name.

Dates stay symbolic here (a ``Period`` may lack its year); ``build`` resolves them against the
profile of the date column it chooses, so "last 30 days" becomes absolute dates.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from sandbox_server.plan import AggFunc, DatePart, TimeBucket
from sandbox_server.planners.offline.text import Token, as_number, is_percent

CompareOp = Literal["=", "!=", "<", "<=", ">", ">="]
DateOp = Literal["in", "since", "after", "before", "until", "between", "last"]
Unit = Literal["hour", "day", "week", "month", "quarter", "year"]

MONTHS = {
    name: i for i in range(1, 13) for name in (calendar.month_name[i].lower(), calendar.month_abbr[i].lower())
} | {"sept": 9}
_UNITS: dict[str, Unit] = {
    "hour": "hour", "day": "day", "date": "day", "week": "week", "month": "month",
    "quarter": "quarter", "year": "year",
}  # fmt: skip
_BUCKET_ADVERBS: dict[str, TimeBucket] = {
    "hourly": "hour", "daily": "day", "weekly": "week", "monthly": "month",
    "quarterly": "quarter", "yearly": "year", "annually": "year", "annual": "year",
}  # fmt: skip
_PARTS: list[tuple[tuple[str, ...], DatePart]] = [
    (("hour", "of", "day"), "hour"), (("hour", "of", "the", "day"), "hour"),
    (("time", "of", "day"), "hour"), (("time", "of", "the", "day"), "hour"),
    (("day", "of", "week"), "day_of_week"), (("day", "of", "the", "week"), "day_of_week"),
    (("weekday",), "day_of_week"), (("day", "of", "month"), "day"),
    (("day", "of", "the", "month"), "day"), (("month", "of", "year"), "month"),
    (("month", "of", "the", "year"), "month"), (("week", "of", "year"), "week"),
    (("week", "of", "the", "year"), "week"), (("quarter", "of", "the", "year"), "quarter"),
]  # fmt: skip
_AUTO_BUCKET = [("over", "time"), ("trend",), ("time", "series"), ("timeline",), ("evolution",)]
_BUCKET_LEAD = {"by", "per", "each", "every", "a", "in", "for", "over", "across", "which", "what"}

_COMPARATORS: list[tuple[tuple[str, ...], CompareOp]] = [
    (("no", "more", "than"), "<="), (("no", "less", "than"), ">="), (("not", "more", "than"), "<="),
    (("more", "than"), ">"), (("greater", "than"), ">"), (("higher", "than"), ">"),
    (("larger", "than"), ">"), (("bigger", "than"), ">"), (("above",), ">"), (("over",), ">"),
    (("exceeding",), ">"), (("exceed",), ">"), ((">",), ">"), (("at", "least"), ">="),
    ((">=",), ">="), (("less", "than"), "<"), (("fewer", "than"), "<"), (("lower", "than"), "<"),
    (("smaller", "than"), "<"), (("below",), "<"), (("under",), "<"), (("<",), "<"),
    (("at", "most"), "<="), (("up", "to"), "<="), (("<=",), "<="), (("equal", "to"), "="),
    (("equals",), "="), (("exactly",), "="), (("=",), "="),
]  # fmt: skip
_SUFFIX_COMPARATORS: list[tuple[tuple[str, ...], CompareOp]] = [
    (("or", "more"), ">="), (("or", "above"), ">="), (("and", "above"), ">="), (("and", "up"), ">="),
    (("or", "higher"), ">="), (("or", "less"), "<="), (("or", "fewer"), "<="), (("or", "below"), "<="),
    (("and", "below"), "<="), (("or", "lower"), "<="),
]  # fmt: skip

_AGG_WORDS: list[tuple[tuple[str, ...], AggFunc | Literal["distinct"]]] = [
    (("how", "many"), "count"), (("number", "of"), "count"), (("count", "of"), "count"),
    (("count",), "count"), (("tally",), "count"), (("total", "number", "of"), "count"),
    (("sum", "of"), "sum"), (("sum",), "sum"), (("total",), "sum"), (("overall",), "sum"),
    (("average",), "avg"), (("avg",), "avg"), (("mean",), "avg"), (("typical",), "avg"),
    (("median",), "median"), (("maximum",), "max"), (("max",), "max"), (("peak",), "max"),
    (("minimum",), "min"), (("min",), "min"), (("distinct",), "distinct"), (("unique",), "distinct"),
    (("different",), "distinct"), (("share",), "rate"), (("rate",), "rate"),
    (("percentage",), "rate"), (("percent",), "rate"), (("proportion",), "rate"),
    (("fraction",), "rate"), (("ratio",), "rate"),
]  # fmt: skip
CUE_WORDS = frozenset(w for words, _ in _AGG_WORDS for w in words) | {"many", "how"}
_DESC_WORDS = {
    "most",
    "highest",
    "largest",
    "biggest",
    "greatest",
    "best",
    "top",
    "busiest",
    "hottest",
    "longest",
}
_ASC_WORDS = {"least", "lowest", "smallest", "fewest", "worst", "bottom", "coldest", "shortest", "quietest"}
_RECENT = {"latest": "desc", "newest": "desc", "oldest": "asc", "earliest": "asc"}
_SORT_LEADS = [
    ("sorted", "by"),
    ("ordered", "by"),
    ("order", "by"),
    ("sort", "by"),
    ("ranked", "by"),
    ("rank", "by"),
]
_GROUP_LEADS = [
    ("broken", "down", "by"), ("break", "down", "by"), ("breakdown", "by"), ("split", "by"),
    ("grouped", "by"), ("group", "by"), ("for", "each"), ("for", "every"), ("in", "each"),
    ("distribution", "of"), ("breakdown", "of"), ("by",), ("per",), ("each",), ("every",),
    ("across",),
]  # fmt: skip
_NEGATIONS = {"not", "no", "non", "without", "excluding", "exclude", "except", "never", "excluded"}
_NEGATION_PAIRS = [("other", "than"), ("apart", "from"), ("aside", "from")]
_FOLLOWUP_OPENERS = {
    "now",
    "and",
    "also",
    "only",
    "just",
    "then",
    "but",
    "same",
    "ok",
    "okay",
    "instead",
    "so",
}
_ADDITIVE = [("too",), ("also",), ("as", "well"), ("in", "addition")]


@dataclass(frozen=True)
class Period:
    """A calendar period named in the question; a missing year is filled in by ``build``."""

    year: int | None
    month: int | None = None
    day: int | None = None
    quarter: int | None = None

    def bounds(self, default_year: int) -> tuple[date, date]:
        """[start, end): the first day of the period and the first day after it."""
        year = self.year if self.year is not None else default_year
        if self.day is not None and self.month is not None:
            start = date(year, self.month, self.day)
            return start, date.fromordinal(start.toordinal() + 1)
        if self.month is not None:
            return date(year, self.month, 1), _add_months(date(year, self.month, 1), 1)
        if self.quarter is not None:
            start = date(year, 3 * self.quarter - 2, 1)
            return start, _add_months(start, 3)
        return date(year, 1, 1), date(year + 1, 1, 1)

    def describe(self) -> str:
        if self.day is not None and self.month is not None:
            return f"{self.year or ''}-{self.month:02d}-{self.day:02d}".lstrip("-")
        if self.month is not None:
            return f"{calendar.month_name[self.month]} {self.year or ''}".strip()
        if self.quarter is not None:
            return f"Q{self.quarter} {self.year or ''}".strip()
        return str(self.year)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class DateCue:
    start: int
    end: int
    op: DateOp
    first: Period | None = None
    second: Period | None = None
    last_n: int = 1
    last_unit: Unit = "day"


@dataclass(frozen=True)
class CompareCue:
    start: int
    end: int
    op: CompareOp | Literal["between"]
    values: tuple[float, ...]
    percent: bool


@dataclass(frozen=True)
class BucketCue:
    start: int
    end: int
    bucket: TimeBucket | None = None
    part: DatePart | None = None  # both None: "over time", choose from the data's span
    which: bool = False  # "which month ...": one period is the answer


@dataclass(frozen=True)
class RankCue:
    start: int
    end: int
    direction: Literal["asc", "desc"]
    n: int | None
    kind: Literal["top", "superlative", "recent", "sort", "first"]


@dataclass(frozen=True)
class GroupCue:
    start: int
    end: int  # the grouped name starts at or after ``end``
    kind: Literal["by", "which"]


@dataclass(frozen=True)
class AggCue:
    start: int
    end: int
    func: AggFunc | Literal["distinct"]


@dataclass
class Cues:
    dates: list[DateCue] = field(default_factory=list)
    compares: list[CompareCue] = field(default_factory=list)
    buckets: list[BucketCue] = field(default_factory=list)
    ranks: list[RankCue] = field(default_factory=list)
    groups: list[GroupCue] = field(default_factory=list)
    aggs: list[AggCue] = field(default_factory=list)
    negations: set[int] = field(default_factory=set)
    followup: bool = False  # opens like a follow-up ("now ...", "what about ...")
    additive: bool = False  # "... too", "also ..."
    instead: bool = False
    used: set[int] = field(default_factory=set)


def _at(tokens: list[Token], i: int, words: tuple[str, ...]) -> int | None:
    """End index when ``words`` (stems or texts) start at ``i``, else None."""
    if i + len(words) > len(tokens):
        return None
    for k, word in enumerate(words):
        tok = tokens[i + k]
        if word not in (tok.stem, tok.text):
            return None
    return i + len(words)


def _first_at(tokens: list[Token], i: int, patterns: Sequence[tuple[str, ...]]) -> int | None:
    for words in patterns:
        end = _at(tokens, i, words)
        if end is not None:
            return end
    return None


# -- pass 1: dates, numbers, buckets, "top N" ---------------------------------------------------


def _year(tok: Token) -> int | None:
    if tok.text.isdigit() and len(tok.text) == 4 and 1900 <= int(tok.text) <= 2100:
        return int(tok.text)
    return None


def _period(tokens: list[Token], i: int, *, lead: bool) -> tuple[Period, int] | None:
    """A period starting at token ``i``: 2025-03-01, 2025-03, March [5] [2025], Q1 [2025], 2025.
    ``lead``: a date word came before, so an ambiguous month name ("may") is a month."""
    if i >= len(tokens):
        return None
    tok = tokens[i]
    text = tok.text
    if len(text) >= 10 and text[4] == "-" and text[:4].isdigit():
        y, m, d = int(text[:4]), int(text[5:7]), int(text[8:10])
        return Period(y, m, d), i + 1
    if len(text) == 7 and text[4] == "-" and text[:4].isdigit():
        return Period(int(text[:4]), int(text[5:7])), i + 1
    if text in MONTHS and (text != "may" or lead or (i + 1 < len(tokens) and _year(tokens[i + 1]))):
        month, j, day = MONTHS[text], i + 1, None
        if j < len(tokens) and tokens[j].text.isdigit() and 1 <= int(tokens[j].text) <= 31:
            day, j = int(tokens[j].text), j + 1
        if j < len(tokens) and _year(tokens[j]) is not None:
            return Period(_year(tokens[j]), month, day), j + 1
        return Period(None, month, day), j
    if len(text) == 2 and text[0] == "q" and text[1] in "1234":
        j = i + 1
        if j < len(tokens) and _year(tokens[j]) is not None:
            return Period(_year(tokens[j]), quarter=int(text[1])), j + 1
        return Period(None, quarter=int(text[1])), j
    if _year(tok) is not None:
        return Period(_year(tok)), i + 1
    return None


_DATE_LEADS: list[tuple[tuple[str, ...], DateOp]] = [
    (("between",), "between"), (("from",), "since"), (("since",), "since"), (("starting",), "since"),
    (("after",), "after"), (("before",), "before"), (("prior", "to"), "before"), (("until",), "until"),
    (("till",), "until"), (("through",), "until"), (("up", "to"), "until"), (("in",), "in"),
    (("during",), "in"), (("for",), "in"), (("of",), "in"), (("within",), "in"),
]  # fmt: skip
_RANGE_JOINERS = [("and",), ("to",), ("until",), ("through",), ("till",), ("-",)]


def _read_dates(tokens: list[Token], cues: Cues) -> None:
    i, n = 0, len(tokens)
    while i < n:
        if i in cues.used:
            i += 1
            continue
        cue = _relative(tokens, i) or _lead_date(tokens, i)
        if cue is None:
            found = _period(tokens, i, lead=False)
            cue = DateCue(i, found[1], "in", found[0]) if found else None
        if cue is None:
            i += 1
            continue
        cues.dates.append(cue)
        cues.used.update(range(cue.start, cue.end))
        i = cue.end


def _relative(tokens: list[Token], i: int) -> DateCue | None:
    """ "last 30 days", "past 3 months", "this year", "previous week"."""
    if tokens[i].stem not in ("last", "past", "previous", "trailing", "this", "current", "latest"):
        return None
    j, n = i + 1, 1
    if j < len(tokens) and tokens[j].stem == "the":
        j += 1
    if j < len(tokens) and (number := as_number(tokens[j])) is not None and number >= 1:
        n, j = int(number), j + 1
    if j < len(tokens) and tokens[j].stem in _UNITS and tokens[j].stem != "date":
        return DateCue(i, j + 1, "last", last_n=n, last_unit=_UNITS[tokens[j].stem])
    return None


def _lead_date(tokens: list[Token], i: int) -> DateCue | None:
    for words, op in _DATE_LEADS:
        j = _at(tokens, i, words)
        if j is None:
            continue
        if j < len(tokens) and tokens[j].stem == "the":
            j += 1
        found = _period(tokens, j, lead=True)
        if found is None:
            continue
        first, j = found
        if op in ("between", "since") or (op == "in" and words == ("from",)):
            for joiner in _RANGE_JOINERS:
                k = _at(tokens, j, joiner)
                second = _period(tokens, k, lead=True) if k is not None else None
                if second is not None:
                    p1, p2 = first, second[0]
                    if p1.year is None and p2.year is not None:  # "between Jan and June 2025"
                        p1 = Period(p2.year, p1.month, p1.day, p1.quarter)
                    return DateCue(i, second[1], "between", p1, p2)
            if op == "between":
                continue
        return DateCue(i, j, op, first)
    return None


def _read_compares(tokens: list[Token], cues: Cues) -> None:
    n = len(tokens)
    for i in range(n):
        if i in cues.used:
            continue
        if tokens[i].stem == "between":
            a = as_number(tokens[i + 1]) if i + 1 < n else None
            k = _at(tokens, i + 2, ("and",))
            b = as_number(tokens[k]) if k is not None and k < n else None
            if a is not None and b is not None and k is not None:
                cues.compares.append(CompareCue(i, k + 1, "between", (a, b), is_percent(tokens[k])))
                cues.used.update(range(i, k + 1))
            continue
        for words, op in _COMPARATORS:
            j = _at(tokens, i, words)
            if j is None or any(k in cues.used for k in range(i, j)):
                continue
            if j < n and tokens[j].stem in ("a", "the"):
                j += 1
            value = as_number(tokens[j]) if j < n else None
            if value is not None and words == ("up", "to") and _year(tokens[j]) is not None:
                continue  # "up to 2025" is a date
            if value is not None:
                cues.compares.append(CompareCue(i, j + 1, op, (value,), is_percent(tokens[j])))
                cues.used.update(range(i, j + 1))
                break
    for i in range(n):
        value = as_number(tokens[i]) if i not in cues.used else None
        if value is None:
            continue
        for words, op in _SUFFIX_COMPARATORS:
            j = _at(tokens, i + 1, words)
            if j is not None:
                cues.compares.append(CompareCue(i, j, op, (value,), is_percent(tokens[i])))
                cues.used.update(range(i, j))
                break


def _read_buckets(tokens: list[Token], cues: Cues) -> None:
    n = len(tokens)
    i = 0
    while i < n:
        if i in cues.used:
            i += 1
            continue
        lead = i + 1 if tokens[i].stem in _BUCKET_LEAD else i
        if tokens[i].stem in ("in", "for", "within") and _at(tokens, lead, ("each",)):
            lead += 1
        cue: BucketCue | None = None
        for words, part in _PARTS:
            j = _at(tokens, lead, words)
            if j is not None:
                cue = BucketCue(i, j, part=part, which=tokens[i].stem in ("which", "what"))
                break
        if cue is None and tokens[i].stem in _BUCKET_ADVERBS:
            cue = BucketCue(i, i + 1, bucket=_BUCKET_ADVERBS[tokens[i].stem])
        if cue is None and lead > i and lead < n and tokens[lead].stem in _UNITS:
            # "by month", "per day", "which day"; "by date" is a day
            which = tokens[i].stem in ("which", "what")
            cue = BucketCue(i, lead + 1, bucket=_UNITS[tokens[lead].stem], which=which)
        if cue is None and tokens[i].stem in _UNITS and _at(tokens, i + 1, ("over", tokens[i].stem)):
            cue = BucketCue(i, i + 3, bucket=_UNITS[tokens[i].stem])
        if cue is None:
            j = _first_at(tokens, i, _AUTO_BUCKET)
            cue = BucketCue(i, j) if j is not None else None
        if cue is None:
            i += 1
            continue
        cues.buckets.append(cue)
        cues.used.update(range(cue.start, cue.end))
        i = cue.end


def _read_top(tokens: list[Token], cues: Cues) -> None:
    """ "top 5", "bottom ten", "5 most", "first 10": the number is taken now so no name eats it."""
    n = len(tokens)
    for i in range(n):
        if i in cues.used:
            continue
        stem = tokens[i].stem
        nxt = as_number(tokens[i + 1]) if i + 1 < n and i + 1 not in cues.used else None
        if stem in ("top", "bottom", "first", "last") and nxt is not None and nxt >= 1:
            direction: Literal["asc", "desc"] = "asc" if stem in ("bottom", "first") else "desc"
            kind: Literal["top", "first", "recent"] = "top" if stem in ("top", "bottom") else "first"
            if stem == "last":
                kind = "recent"
            cues.ranks.append(RankCue(i, i + 2, direction, int(nxt), kind))
            cues.used.update((i, i + 1))
        elif stem in ("top", "bottom") and (nxt is None):
            cues.ranks.append(RankCue(i, i + 1, "desc" if stem == "top" else "asc", None, "top"))
            cues.used.add(i)
        elif (
            (value := as_number(tokens[i])) is not None
            and i > 0
            and tokens[i - 1].stem in ("which", "what", "the")
        ):
            # "which 5 categories ...": how many rows; the direction comes from "highest"/"lowest"
            cues.ranks.append(RankCue(i, i + 1, "desc", int(value), "top"))
            cues.used.add(i)
        elif (value := as_number(tokens[i])) is not None and i + 1 < n and value >= 1:
            word = tokens[i + 1].stem
            if _at(tokens, i + 1, ("most", "recent")) or _at(tokens, i + 1, ("most", "recently")):
                cues.ranks.append(RankCue(i, i + 3, "desc", int(value), "recent"))
                cues.used.update((i, i + 1, i + 2))
            elif word in _DESC_WORDS or word in _ASC_WORDS:
                direction = "desc" if word in _DESC_WORDS else "asc"
                cues.ranks.append(RankCue(i, i + 2, direction, int(value), "top"))
                cues.used.update((i, i + 1))
            elif word in ("most", "latest", "newest") or word in _RECENT:
                cues.ranks.append(RankCue(i, i + 2, _RECENT.get(word, "desc"), int(value), "recent"))  # type: ignore[arg-type]
                cues.used.update((i, i + 1))


def read_first_pass(tokens: list[Token]) -> Cues:
    cues = Cues()
    _read_compares(tokens, cues)
    _read_dates(tokens, cues)  # before "top N": "last 30 days" is a date, "last 5 tickets" a rank
    _read_top(tokens, cues)
    _read_buckets(tokens, cues)
    return cues


# -- pass 2: the words the lexicon left ---------------------------------------------------------


def read_second_pass(tokens: list[Token], cues: Cues, covered: set[int]) -> None:
    """Aggregation, ranking, grouping, negation and follow-up words outside names and cues."""
    taken = cues.used | covered
    n = len(tokens)
    i = 0
    while i < n:
        if i in taken:
            i += 1
            continue
        end = _read_word(tokens, i, cues, taken)
        i = max(end, i + 1)
    if tokens and tokens[0].stem in _FOLLOWUP_OPENERS | {"what", "how"}:
        opener = _first_at(tokens, 0, [("what", "about"), ("how", "about"), ("what", "if")])
        cues.followup = opener is not None or tokens[0].stem in _FOLLOWUP_OPENERS
    cues.instead = any(t.stem in ("instead", "rather") for t in tokens)
    cues.additive = any(_at(tokens, k, w) for k in range(n) for w in _ADDITIVE) or (
        bool(tokens) and tokens[0].stem == "and"
    )


def _read_word(tokens: list[Token], i: int, cues: Cues, taken: set[int]) -> int:
    stem = tokens[i].stem
    if stem in _NEGATIONS:
        cues.negations.add(i)
        return i + 1
    if (j := _first_at(tokens, i, _NEGATION_PAIRS)) is not None:
        cues.negations.add(j - 1)
        return j
    if (j := _first_at(tokens, i, _SORT_LEADS)) is not None:
        cues.ranks.append(RankCue(i, j, "desc", None, "sort"))
        return j
    if (
        stem in ("which", "what")
        and i + 1 < len(tokens)
        and tokens[i + 1].stem not in ("is", "are", "was", "were", "about", "if")
    ):
        cues.groups.append(GroupCue(i, i + 1, "which"))
        return i + 1
    for words in _GROUP_LEADS:
        j = _at(tokens, i, words)
        if j is not None and not any(k in taken for k in range(i, j)):
            cues.groups.append(GroupCue(i, j, "by"))
            return j
    if (j := _first_at(tokens, i, [("most", "recent"), ("most", "recently")])) is not None:
        cues.ranks.append(RankCue(i, j, "desc", None, "recent"))
        return j
    if stem in _RECENT:
        cues.ranks.append(RankCue(i, i + 1, _RECENT[stem], None, "recent"))  # type: ignore[arg-type]
        return i + 1
    if stem in ("descending", "desc") or _first_at(tokens, i, [(w, "first") for w in _DESC_WORDS]):
        j = i + (1 if stem in ("descending", "desc") else 2)
        cues.ranks.append(RankCue(i, j, "desc", None, "sort"))
        return j
    if stem in ("ascending", "asc") or _first_at(tokens, i, [(w, "first") for w in _ASC_WORDS]):
        j = i + (1 if stem in ("ascending", "asc") else 2)
        cues.ranks.append(RankCue(i, j, "asc", None, "sort"))
        return j
    if stem in _DESC_WORDS or stem in _ASC_WORDS:
        direction: Literal["asc", "desc"] = "desc" if stem in _DESC_WORDS else "asc"
        j = i + 1
        if j < len(tokens) and tokens[j].stem in ("common", "frequent", "popular", "often"):
            j += 1
        cues.ranks.append(RankCue(i, j, direction, None, "superlative"))
        return j
    for words, func in _AGG_WORDS:
        j = _at(tokens, i, words)
        if j is not None and not any(k in taken for k in range(i, j)):
            cues.aggs.append(AggCue(i, j, func))
            return j
    return i + 1
