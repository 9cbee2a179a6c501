"""The HTML card of an answer: badge, table, and collapsible plan / SQL / timings / run sections.

Inline styles only (JupyterLab's sanitizer keeps ``style`` attributes but may drop ``<style>``
elements in untrusted notebooks), coloured with JupyterLab's CSS variables so the card follows
the light and dark themes. Everything that came from data or people goes through ``html.escape``.
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING, Any

from csvanalyst_kernel.display.explain import explain
from csvanalyst_kernel.display.sql import highlight_sql
from csvanalyst_kernel.display.values import format_value, is_numeric_column
from sandbox_server.schemas import ErrorInfo, Result

if TYPE_CHECKING:
    from csvanalyst_kernel.answer import Answer

BADGE_COLOURS = {
    "pending": "#757575",
    "running": "#1976d2",
    "succeeded": "#2e7d32",
    "failed": "#c62828",
    "rejected": "#ef6c00",
}
CARD_STYLE = (
    "border:1px solid var(--jp-border-color2,#e0e0e0);border-radius:6px;padding:8px 10px;"
    "margin:4px 0;font-family:var(--jp-ui-font-family,sans-serif);font-size:13px;"
    "color:var(--jp-ui-font-color1,#212121);max-width:100%;overflow-x:auto"
)
MUTED = "color:var(--jp-ui-font-color2,#616161)"
PRE_STYLE = (
    "background:var(--jp-layout-color2,#f5f5f5);padding:6px 8px;border-radius:4px;"
    "white-space:pre-wrap;font-family:var(--jp-code-font-family,monospace);font-size:12px;margin:4px 0"
)
CELL = "padding:2px 8px;border-bottom:1px solid var(--jp-border-color3,#eeeeee)"


def e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def badge(status: str) -> str:
    colour = BADGE_COLOURS.get(status, "#757575")
    return (
        f'<span class="csva-badge csva-{e(status)}" style="background:{colour};color:#fff;'
        f'border-radius:10px;padding:1px 8px;font-size:11px;font-weight:600">{e(status)}</span>'
    )


def table_html(result: Result, max_rows: int) -> str:
    """The result table: numbers right-aligned with thousands separators, nulls greyed."""
    names = [c.name for c in result.columns]
    shown = result.rows[:max_rows]
    numeric = [
        is_numeric_column(c.type, (row[i] for row in shown if i < len(row)))
        for i, c in enumerate(result.columns)
    ]
    head = "".join(
        f'<th style="{CELL};text-align:{"right" if num else "left"}" title="{e(c.type)}">{e(c.name)}</th>'
        for c, num in zip(result.columns, numeric, strict=True)
    )
    body = []
    for row in shown:
        cells = []
        for i, num in enumerate(numeric):
            value = row[i] if i < len(row) else None
            text = (
                f'<span style="{MUTED};font-style:italic">null</span>'
                if value is None
                else e(format_value(value))
            )
            align = "right;font-variant-numeric:tabular-nums" if num else "left"
            cells.append(f'<td style="{CELL};text-align:{align}">{text}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    if not names:
        return f'<div style="{MUTED}">(no columns)</div>'
    return (
        '<table class="csva-table" style="border-collapse:collapse;margin:6px 0;font-size:inherit">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def rows_notice(result: Result, max_rows: int) -> str:
    """Row count, and what is not shown: rows beyond the display limit, or the server's cut."""
    returned = len(result.rows)
    total = max(result.row_count, returned)
    parts = [f"{total:,} row{'s' if total != 1 else ''}"]
    if returned > max_rows:
        parts.append(f"showing the first {max_rows:,} (the DataFrame has all {returned:,})")
    if result.truncated:
        parts.append(
            f"truncated: the server returned {returned:,} rows at most; add a filter or an "
            "aggregation to see the rest"
        )
    style = "color:var(--jp-warn-color0,#ef6c00)" if result.truncated else MUTED
    return f'<div class="csva-rows" style="{style};font-size:12px">{e(" · ".join(parts))}</div>'


def error_html(error: ErrorInfo, run_id: str | None = None) -> str:
    parts = [
        '<div class="csva-error" style="border-left:3px solid var(--jp-error-color1,#c62828);'
        'padding:4px 8px;margin:6px 0">',
        f"<div><code>{e(error.code)}</code> {e(error.message)}</div>",
    ]
    if error.suggestion:
        parts.append(f'<div style="{MUTED}">Suggestion: {e(error.suggestion)}</div>')
    if run_id:
        parts.append(f'<div style="{MUTED};font-size:12px">run_id <code>{e(run_id)}</code></div>')
    parts.append("</div>")
    return "".join(parts)


def details(title: str, body: str, *, open_: bool = False) -> str:
    return (
        f'<details class="csva-section"{" open" if open_ else ""} style="margin:2px 0">'
        f'<summary style="cursor:pointer;{MUTED}">{e(title)}</summary>{body}</details>'
    )


def _header(answer: Answer) -> str:
    bits = [badge(answer.status)]
    if answer.dataset_id:
        bits.append(f'<span style="{MUTED}">{e(answer.dataset_id)}</span>')
    if answer.state != "done":
        bits.append(f'<span style="{MUTED}">{e(answer.status)}… {answer.elapsed():.1f} s</span>')
    elif answer.response is not None and answer.response.timings_ms.get("total") is not None:
        bits.append(f'<span style="{MUTED}">{answer.response.timings_ms["total"]:,.0f} ms</span>')
    title = ""
    if answer.question:
        label = "SQL" if answer.kind == "sql" else "Q"
        text = answer.question if len(answer.question) <= 300 else answer.question[:299] + "…"
        title = f'<div style="font-weight:600;margin:4px 0">{label}: {e(text)}</div>'
    return f'<div style="display:flex;gap:8px;align-items:center">{"".join(bits)}</div>{title}'


def _sections(answer: Answer) -> str:
    response = answer.response
    if response is None:
        return ""
    opts = answer.options
    out = []
    if response.plan:
        reading = e(explain(response.plan))
        plan_json = e(json.dumps(response.plan, indent=2, ensure_ascii=False))
        body = f'<div style="margin:4px 0">{reading}</div><pre style="{PRE_STYLE}">{plan_json}</pre>'
        out.append(details("Plan", body, open_=opts.show_plan))
    if response.sql:
        out.append(
            details(
                "SQL", f'<pre style="{PRE_STYLE}">{highlight_sql(response.sql)}</pre>', open_=opts.show_sql
            )
        )
    if response.timings_ms:
        rows = "".join(
            f'<tr><td style="{CELL}">{e(k)}</td><td style="{CELL};text-align:right">{v:,.1f} ms</td></tr>'
            for k, v in response.timings_ms.items()
        )
        out.append(details("Timings", f'<table style="border-collapse:collapse">{rows}</table>'))
    run = [f"run_id <code>{e(response.run_id)}</code>"]
    if answer.capsule_url:
        run.append(f'<a href="{e(answer.capsule_url)}" target="_blank" rel="noopener">capsule</a>')
    for label, value in (
        ("thread", response.thread_id),
        ("planner", response.planner),
        ("executor", response.executor),
    ):
        if value:
            run.append(f"{label} <code>{e(value)}</code>")
    out.append(f'<div class="csva-run" style="{MUTED};font-size:12px;margin-top:4px">{" · ".join(run)}</div>')
    return "".join(out)


def render_html(answer: Answer) -> str:
    parts = [f'<div class="csva-card" style="{CARD_STYLE}">', _header(answer)]
    response = answer.response
    if answer.state == "done":
        if response is not None and response.message and answer.ok:
            parts.append(f'<div style="{MUTED};margin:2px 0">{e(response.message)}</div>')
        error = answer.error
        if error is not None:
            parts.append(error_html(error, answer.run_id))
        elif response is not None:
            max_rows = answer.options.max_display_rows
            parts.append(table_html(response.result, max_rows))
            parts.append(rows_notice(response.result, max_rows))
        parts.append(_sections(answer))
    parts.append("</div>")
    return "".join(parts)


def notice_html(error: ErrorInfo) -> str:
    """An error that is not about a run (e.g. listing datasets with the server down)."""
    return f'<div class="csva-card" style="{CARD_STYLE}">{badge("failed")}{error_html(error)}</div>'
