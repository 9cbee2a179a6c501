"""Words: how a question and a schema are cut into comparable tokens.

Both sides (the question and every name, synonym and value of the registry) go through the same
``tokens``/``stem`` functions, so matching is a plain comparison of stems: "Categories",
"category" and "categories" meet at ``category``; "warehouse-a", "Warehouse A" and
"warehouse_a" meet at ``warehouse a``. The stemmer is a handful of plural rules written here on
purpose: a full stemmer (Porter, ...) would also fold "delivered"/"delivery" or
"highest"/"high", which the planner must keep apart (a value versus a ranking word).

>>> [t.stem for t in tokens("How many Delivered orders in warehouse-A since 2025-03-01?")]
['how', 'many', 'delivered', 'order', 'in', 'warehouse', 'a', 'since', '2025-03-01']
>>> split_name("order_date"), split_name("anomalyFlag")
(('order', 'date'), ('anomaly', 'flag'))
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[ t]\d{2}:\d{2}(?::\d{2})?)?"  # ISO date / timestamp
    r"|\d{4}-\d{2}(?!\d)"  # year-month
    r"|\d{1,3}(?:,\d{3})+(?:\.\d+)?%?"  # 1,000
    r"|\d+(?:\.\d+)?%?"  # 30, 0.5, 20%
    r"|[a-z0-9]+"  # words, s07, q1
    r"|[<>]=?|="  # comparison signs
)
_CONTRACTIONS = re.compile(r"n't\b")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

# Spelling variants folded to one form (both sides are folded, so the choice is arbitrary).
_VARIANTS = {
    "canceled": "cancelled",
    "cancelation": "cancellation",
    "colour": "color",
    "favourite": "favorite",
}

# Words that carry no meaning of their own for matching: skipped inside multi-word phrases
# ("tickets that met the sla") and ignored when judging whether a question was understood.
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "for",
        "to",
        "from",
        "with",
        "by",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "do",
        "does",
        "did",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "where",
        "when",
        "how",
        "show",
        "me",
        "give",
        "list",
        "tell",
        "find",
        "get",
        "display",
        "compute",
        "calculate",
        "there",
        "that",
        "those",
        "these",
        "this",
        "it",
        "its",
        "and",
        "or",
        "as",
        "per",
        "please",
        "i",
        "we",
        "you",
        "our",
        "my",
        "your",
        "can",
        "could",
        "would",
        "should",
        "will",
        "have",
        "has",
        "had",
        "any",
        "all",
        "some",
        "each",
        "every",
        "one",
        "ones",
        "than",
        "then",
        "into",
        "over",
        "only",
        "just",
        "also",
        "too",
        "much",
        "many",
        "lot",
        "data",
        "dataset",
        "table",
        "row",
        "rows",
        "record",
        "records",
        "value",
        "values",
        "number",
        "numbers",
        "so",
        "us",
        "let",
        "see",
        "look",
        "about",
        "across",
    ]
)

# The only words a multi-word phrase may skip over ("tickets that met the sla"): never a cue
# word such as "by", which must not glue "orders by date" into the column ``order_date``.
INNER_SKIP = frozenset(["the", "a", "an", "of", "that", "which", "were", "was", "is", "are", "been", "be"])

NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "hundred": 100,
    "dozen": 12,
}  # fmt: skip


@dataclass(frozen=True)
class Token:
    """One word of the question: ``text`` lower-cased as written, ``stem`` its comparable form."""

    text: str
    stem: str


def stem(word: str) -> str:
    """Fold plural forms; leave anything with digits or shorter than four letters alone."""
    word = _VARIANTS.get(word, word)
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("tuses", "suses", "sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokens(text: str) -> list[Token]:
    text = _CONTRACTIONS.sub(" not", text.replace("\u2019", "'")).lower()
    return [Token(m, stem(m)) for m in _TOKEN.findall(text)]


def split_name(name: str) -> tuple[str, ...]:
    """An identifier as words: ``order_date`` / ``orderDate`` / ``order-date`` -> (order, date)."""
    return tuple(t.stem for t in tokens(_CAMEL.sub(" ", name).replace("_", " ")))


def words(text: str) -> str:
    """An identifier as people write it: ``order_date`` -> ``order date``."""
    return " ".join(_CAMEL.sub(" ", text).replace("_", " ").split()).lower()


def as_number(token: Token) -> float | None:
    """The number a token spells ("30", "1,000", "20%", "ten"), else None."""
    text = token.text.rstrip("%").replace(",", "")
    if token.text in NUMBER_WORDS:
        return float(NUMBER_WORDS[token.text])
    try:
        return float(text)
    except ValueError:
        return None


def is_percent(token: Token) -> bool:
    return token.text.endswith("%")
