"""Helpers shared by the subcommands: printing errors and tables."""

from __future__ import annotations

import json
import sys
from typing import Any

from sandbox_server.errors import CsvAnalystError


def fail(error: CsvAnalystError, *, exit_code: int = 1) -> int:
    """Print an error the way every subcommand does: code, message, suggestion, on stderr."""
    print(f"error: {error.code}: {error.message}", file=sys.stderr)
    if error.suggestion:
        print(f"hint: {error.suggestion}", file=sys.stderr)
    return exit_code


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str, ensure_ascii=False))


def format_table(columns: list[str], rows: list[list[Any]], *, max_width: int = 40) -> str:
    """A plain-text table, numbers right-aligned (hand-written: a dependency for this is overkill)."""

    def cell(v: Any) -> str:
        if v is None:
            return ""
        if isinstance(v, float):
            text = f"{v:,.4f}".rstrip("0").rstrip(".") if abs(v) < 1e15 else f"{v:.6g}"
        else:
            text = str(v)
        return text if len(text) <= max_width else text[: max_width - 1] + "…"

    texts = [[cell(v) for v in row] for row in rows]
    numeric = [
        all(isinstance(r[i], int | float) and not isinstance(r[i], bool) for r in rows if r[i] is not None)
        and any(r[i] is not None for r in rows)
        for i in range(len(columns))
    ]
    widths = [max([len(c)] + [len(t[i]) for t in texts]) for i, c in enumerate(columns)]

    def line(values: list[str]) -> str:
        return "  ".join(
            v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)
        ).rstrip()

    out = [line(columns), line(["-" * w for w in widths])]
    out += [line(t) for t in texts]
    return "\n".join(out)
