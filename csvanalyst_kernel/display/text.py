"""The plain-text card, for terminal IPython, consoles and nbconvert to text.

The table is hand-written: a tabulating dependency for twenty lines of padding is not worth it,
and the kernel's dependency list is what every JupyterHub user image installs.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from csvanalyst_kernel.display.chart import describe
from csvanalyst_kernel.display.explain import explain
from csvanalyst_kernel.display.values import format_value, is_numeric_column
from sandbox_server.schemas import ErrorInfo, Result

if TYPE_CHECKING:
    from csvanalyst_kernel.answer import Answer

MAX_CELL_WIDTH = 40


def _cell(value: Any) -> str:
    text = "null" if value is None else format_value(value)
    text = text.replace("\n", " ")
    return text if len(text) <= MAX_CELL_WIDTH else text[: MAX_CELL_WIDTH - 1] + "…"


def text_table(names: list[str], types: list[str], rows: list[list[Any]]) -> str:
    cells = [[_cell(row[i] if i < len(row) else None) for i in range(len(names))] for row in rows]
    numeric = [is_numeric_column(t, (r[i] for r in rows if i < len(r))) for i, t in enumerate(types)]
    widths = [max([len(n)] + [len(c[i]) for c in cells]) for i, n in enumerate(names)]

    def line(values: list[str]) -> str:
        return "  ".join(
            v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)
        ).rstrip()

    return "\n".join([line(names), line(["-" * w for w in widths]), *(line(c) for c in cells)])


def result_text(result: Result, max_rows: int) -> str:
    names = [c.name for c in result.columns]
    table = text_table(names, [c.type for c in result.columns], result.rows[:max_rows]) if names else ""
    returned = len(result.rows)
    total = max(result.row_count, returned)
    notes = [f"{total:,} row{'s' if total != 1 else ''}"]
    if returned > max_rows:
        notes.append(f"showing the first {max_rows:,}")
    if result.truncated:
        notes.append(f"truncated by the server at {returned:,} rows")
    return (table + "\n" if table else "") + "(" + "; ".join(notes) + ")"


def error_text(error: ErrorInfo, run_id: str | None = None) -> str:
    lines = [f"error: {error.code}: {error.message}"]
    if error.suggestion:
        lines.append(f"suggestion: {error.suggestion}")
    if run_id:
        lines.append(f"run_id: {run_id}")
    return "\n".join(lines)


def render_text(answer: Answer) -> str:
    head = f"[{answer.status}]"
    if answer.dataset_id:
        head += f" {answer.dataset_id}"
    if answer.question:
        head += f" · {answer.question.strip().splitlines()[0][:200]}"
    if answer.state != "done":
        return f"{head} · {answer.status}… {answer.elapsed():.1f} s"
    lines = [head]
    response = answer.response
    error = answer.error
    if error is not None:
        # The footer below names the run when there is a response; otherwise the error does.
        lines.append(error_text(error, None if response is not None else answer.run_id))
    elif response is not None:
        lines.append(result_text(response.result, answer.options.max_display_rows))
        if response.chart and answer.options.chart:
            lines.append(f"[{describe(response.chart)}]")
    if response is not None:
        if response.plan:
            lines.append(f"plan: {explain(response.plan)}")
            if answer.options.show_plan:
                lines.append(json.dumps(response.plan, indent=2, ensure_ascii=False))
        if response.sql and answer.options.show_sql:
            lines.append("sql:\n" + response.sql)
        total = response.timings_ms.get("total")
        timing = f" · {total:,.0f} ms" if total is not None else ""
        lines.append(f"run_id: {response.run_id}{timing}")
    return "\n".join(lines)


def notice_text(error: ErrorInfo) -> str:
    return error_text(error)
