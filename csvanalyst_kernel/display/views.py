"""Displays for everything that is not an answer: datasets, run history, a capsule, a replay,
and an error notice. Each is a small value with ``_repr_mimebundle_`` (HTML and text)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from csvanalyst_kernel.client import ReplayResponse
from csvanalyst_kernel.display.card import CARD_STYLE, MUTED, PRE_STYLE, badge, details, e, notice_html
from csvanalyst_kernel.display.text import notice_text, text_table
from csvanalyst_kernel.errors import ClientError
from sandbox_server.schemas import Capsule, DatasetSummary, ErrorInfo

CELL = "padding:2px 8px;border-bottom:1px solid var(--jp-border-color3,#eeeeee);text-align:left;vertical-align:top"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    """A table of already-escaped HTML cells."""
    head = "".join(f'<th style="{CELL}">{e(h)}</th>' for h in headers)
    body = "".join("<tr>" + "".join(f'<td style="{CELL}">{c}</td>' for c in r) + "</tr>" for r in rows)
    return (
        f'<table style="border-collapse:collapse"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    )


@dataclass(frozen=True)
class Notice:
    """An expected error shown as a message with its code and suggestion, never a traceback."""

    code: str
    message: str
    suggestion: str | None = None

    @classmethod
    def of(cls, error: ClientError) -> Notice:
        return cls(error.code, error.message, error.suggestion)

    def _info(self) -> ErrorInfo:
        return ErrorInfo(code=self.code, message=self.message, suggestion=self.suggestion)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {"text/plain": notice_text(self._info()), "text/html": notice_html(self._info())}


@dataclass(frozen=True)
class DatasetList:
    datasets: list[DatasetSummary]
    current: str | None = None

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        rows_html, rows_text = [], []
        for d in self.datasets:
            mark = " (current)" if d.id == self.current else ""
            prompts = "".join(f"<li>{e(p)}</li>" for p in d.prompts[:3])
            rows_html.append(
                [
                    f"<code>{e(d.id)}</code>{e(mark)}",
                    e(d.name if d.name and d.name != d.id else ""),
                    e(", ".join(d.tables)),
                    e(d.description),
                    f'<ul style="margin:0;padding-left:16px">{prompts}</ul>' if prompts else "",
                ]
            )
            rows_text.append([d.id + mark, ", ".join(d.tables), d.description[:60]])
        text = text_table(["dataset", "tables", "description"], ["", "", ""], rows_text)
        hint = "use one with %ask_use DATASET, or -d DATASET on %%ask"
        html = (
            f'<div class="csva-card" style="{CARD_STYLE}">'
            + _table(["id", "name", "tables", "description", "try"], rows_html)
            + f'<div style="{MUTED};font-size:12px">{e(hint)}</div></div>'
        )
        return {"text/plain": f"{text}\n({hint})", "text/html": html}


@dataclass(frozen=True)
class RunHistory:
    runs: list[Capsule]

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        rows_html, rows_text = [], []
        for c in self.runs:
            what = c.question or c.submitted_sql or c.compiled_sql or ""
            what = what if len(what) <= 80 else what[:79] + "…"
            rows_html.append(
                [
                    f"<code>{e(c.run_id)}</code>",
                    e(c.created_at),
                    e(c.dataset_id),
                    badge(c.status),
                    e(f"{c.row_count:,}"),
                    e(what),
                ]
            )
            rows_text.append([c.run_id, c.created_at, c.dataset_id, c.status, str(c.row_count), what])
        headers = ["run_id", "created", "dataset", "status", "rows", "question / SQL"]
        if not self.runs:
            return {"text/plain": "(no runs yet)", "text/html": f'<div style="{MUTED}">(no runs yet)</div>'}
        hint = "%ask_capsule RUN_ID shows one; %ask_replay RUN_ID runs it again"
        return {
            "text/plain": text_table(headers, [""] * len(headers), rows_text) + f"\n({hint})",
            "text/html": f'<div class="csva-card" style="{CARD_STYLE}">{_table(headers, rows_html)}'
            f'<div style="{MUTED};font-size:12px">{e(hint)}</div></div>',
        }


@dataclass(frozen=True)
class CapsuleView:
    capsule: Capsule
    url: str | None = None

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        c = self.capsule
        data = c.model_dump(mode="json")
        facts = [
            ("run_id", c.run_id),
            ("created", c.created_at),
            ("user", c.user or ""),
            ("dataset", f"{c.dataset_id} @ {(c.dataset_version_hash or '')[:12]}"),
            ("question", c.question or ""),
            ("planner", c.planner or ""),
            ("executor", f"{c.executor or ''} {c.runner_ref or ''}".strip()),
            ("status", c.status + (f" ({c.error_code}: {c.error_message})" if c.error_code else "")),
            ("rows", f"{c.row_count:,}"),
            ("result_sha256", c.result_sha256 or ""),
        ]
        facts_html = _table(["", ""], [[e(k), e(v)] for k, v in facts if v])
        sql = c.compiled_sql or c.submitted_sql
        sql_html = details("SQL", f'<pre style="{PRE_STYLE}">{e(sql)}</pre>') if sql else ""
        raw = details("Capsule JSON", f'<pre style="{PRE_STYLE}">{e(json.dumps(data, indent=2))}</pre>')
        link = f'<a href="{e(self.url)}" target="_blank" rel="noopener">download</a>' if self.url else ""
        html = f'<div class="csva-card" style="{CARD_STYLE}">{badge(c.status)} {link}{facts_html}{sql_html}{raw}</div>'
        text = "\n".join(f"{k}: {v}" for k, v in facts if v)
        return {"text/plain": text, "text/html": html, "application/json": data}


@dataclass(frozen=True)
class ReplayView:
    replay: ReplayResponse

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        r = self.replay
        verdict = "same result" if r.matches else "DIFFERENT result"
        line = f"replayed {r.original_run_id} as {r.run_id}: {r.status}, {verdict}"
        shas = f"original {r.original_result_sha256 or '-'} · replay {r.result_sha256 or '-'}"
        colour = "var(--jp-success-color1,#2e7d32)" if r.matches else "var(--jp-error-color1,#c62828)"
        html = (
            f'<div class="csva-card" style="{CARD_STYLE}">{badge(r.status)} '
            f"replayed <code>{e(r.original_run_id)}</code> as <code>{e(r.run_id)}</code>: "
            f'<b style="color:{colour}">{e(verdict)}</b>'
            f'<div style="{MUTED};font-size:12px">result sha256: {e(shas)}</div></div>'
        )
        return {"text/plain": f"{line}\nresult sha256: {shas}", "text/html": html}
