"""Text-level rules, applied before any parser sees the SQL.

Two parsers (sqlglot's and DuckDB's) must agree on what a query means. Characters that parsers
treat differently are where they disagree: NUL ends a C string in one and not the other,
zero-width and bidi-control characters hide tokens from a reader, fullwidth letters look like
keywords to people but not to tokenisers. So the text is NFKC-normalised first (fullwidth
letters and the fullwidth semicolon U+FF1B become ASCII and are then judged like any other SQL)
and any control or format character other than tab, newline and carriage return is refused.
"""

from __future__ import annotations

import unicodedata

from sandbox_server.policy._decision import Reject, reject

MAX_SQL_CHARS = 20_000

_ALLOWED_CONTROLS = frozenset("\t\n\r")
# Unicode categories that never belong in a query: controls, format characters (zero-width
# space/joiner, bidi overrides, BOM), surrogates, private use and unassigned code points.
_BAD_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
# Separators other than the plain space: NFKC maps most of them to a space, the rest (line and
# paragraph separators) end lines for some parsers and not others.
_BAD_SEPARATORS = frozenset({"Zl", "Zp"})


def normalise(sql: str) -> str | Reject:
    """The NFKC form of ``sql``, or a ``Reject`` naming the first character no query may hold."""
    if len(sql) > MAX_SQL_CHARS:
        return reject(
            "too_long",
            f"the query is {len(sql):,} characters long, the limit is {MAX_SQL_CHARS:,}",
            "write a shorter query (aggregate in SQL instead of listing values)",
        )
    text = unicodedata.normalize("NFKC", sql)
    for position, char in enumerate(text):
        if char in _ALLOWED_CONTROLS:
            continue
        category = unicodedata.category(char)
        if category in _BAD_CATEGORIES or category in _BAD_SEPARATORS:
            name = unicodedata.name(char, "unnamed")
            return reject(
                "bad_character",
                f"character U+{ord(char):04X} ({name}) at position {position} is not allowed in a query",
                "remove invisible, control and NUL characters; retype the query as plain text",
            )
    if not text.strip():
        return reject("parse_error", "the query is empty", "write one SELECT statement")
    return text
