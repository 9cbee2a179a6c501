"""SQL for reading: keyword highlighting as ``<span>``s coloured by JupyterLab's editor theme.

Tokenised by Pygments' SQL lexer (IPython depends on Pygments, so it is always there); the
spans use the ``--jp-mirror-editor-*`` CSS variables with light-theme fallbacks, so the
highlighting follows the light and dark themes. Every token is HTML-escaped.
"""

from __future__ import annotations

import html
from typing import Any

from pygments.lexers.sql import SqlLexer
from pygments.token import Comment, Keyword, Name, Number, Operator, String

_STYLES: tuple[tuple[Any, str], ...] = (
    (Keyword, "color:var(--jp-mirror-editor-keyword-color,#008000);font-weight:bold"),
    (String, "color:var(--jp-mirror-editor-string-color,#ba2121)"),
    (Number, "color:var(--jp-mirror-editor-number-color,#080)"),
    (Comment, "color:var(--jp-mirror-editor-comment-color,#408080);font-style:italic"),
    (Operator, "color:var(--jp-mirror-editor-operator-color,#aa22ff)"),
    (Name.Builtin, "color:var(--jp-mirror-editor-builtin-color,#008000)"),
)


def highlight_sql(sql: str) -> str:
    """The SQL as escaped HTML with styled spans (no surrounding ``<pre>``)."""
    out: list[str] = []
    for token, text in SqlLexer().get_tokens(sql):
        escaped = html.escape(text)
        style = next((s for t, s in _STYLES if token in t), None)
        out.append(f'<span style="{style}">{escaped}</span>' if style else escaped)
    return "".join(out).rstrip("\n")
