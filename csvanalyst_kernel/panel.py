"""The ChatPanel (ipywidgets): ask about a dataset in a conversation, in any Jupyter frontend.

``ChatPanel()`` or ``%ask_panel``. A dataset dropdown, its suggested prompts as chips, an input
and Send, and the conversation: each answer shows its card, an accordion with the plan, the SQL
and the capsule, and the buttons "Download capsule" and "Insert as cell".

Requests run in a worker thread and the widgets are updated from there, so the kernel keeps
handling other cells and widget messages while a question runs. ``wait()`` blocks until the
panel is idle (for tests and scripts).

"Insert as cell": a button click reaches the kernel as a comm message, not as an execution,
so IPython's ``set_next_input`` (which rides on an execute reply) cannot work. The panel instead
outputs a bundle of mime type ``application/vnd.csvanalyst.insert-cell+json``
(``{"id", "source", "position": "below"}``) that the JupyterLab extension renders by inserting
the cell below the active one (deduplicated by ``id``); other frontends show the code to copy.
"""

from __future__ import annotations

import base64
import html
import json
import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from csvanalyst_kernel.answer import Answer
from csvanalyst_kernel.display.card import PRE_STYLE
from csvanalyst_kernel.display.explain import explain
from csvanalyst_kernel.display.sql import highlight_sql
from csvanalyst_kernel.errors import ClientError
from csvanalyst_kernel.session import Session

INSERT_CELL_MIME = "application/vnd.csvanalyst.insert-cell+json"
MAX_CHIP_CHARS = 48


def cell_source(answer: Answer) -> str:
    """The ``%%ask`` / ``%%ask_sql`` cell that reproduces an answer."""
    magic = "%%ask_sql" if answer.kind == "sql" else "%%ask"
    return f"{magic} -d {answer.dataset_id}\n{(answer.question or '').strip()}"


class InsertCell:
    """Display object asking the frontend to insert a cell (see the module docstring)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.id = uuid.uuid4().hex

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {
            INSERT_CELL_MIME: {"id": self.id, "source": self.source, "position": "below"},
            "text/plain": self.source,
            "text/html": '<div style="font-size:12px">Copy into a new cell:</div>'
            f'<pre style="{PRE_STYLE}">{html.escape(self.source)}</pre>',
        }


class _Entry:
    """One question and its answer in the conversation."""

    def __init__(self, panel: ChatPanel, answer: Answer) -> None:
        self.panel = panel
        self.answer = answer
        label = "SQL" if answer.kind == "sql" else "You"
        self.question = widgets.HTML(
            f'<div style="font-weight:600;margin-top:6px">{label} '
            f'<span style="font-weight:400;color:var(--jp-ui-font-color2,#616161)">on '
            f"{html.escape(answer.dataset_id or '')}</span>: {html.escape(answer.question or '')}</div>"
        )
        self.card = widgets.Output()
        self.details = widgets.Accordion(children=[])
        self.download_button = widgets.Button(description="Download capsule", icon="download", disabled=True)
        self.insert_button = widgets.Button(description="Insert as cell", icon="plus")
        self.download_button.on_click(lambda _b: self.download_capsule())
        self.insert_button.on_click(lambda _b: self.insert_as_cell())
        self.notice = widgets.Output()
        self.box = widgets.VBox(
            [
                self.question,
                self.card,
                self.details,
                widgets.HBox([self.download_button, self.insert_button]),
                self.notice,
            ]
        )
        self.show(answer)

    def show(self, answer: Answer) -> None:
        self.answer = answer
        self.card.outputs = ()
        # The card without its chart, then the chart on its own: an output area renders one
        # mime type per output and would pick the card's HTML.
        self.card.append_display_data(_CardOnly(answer))
        chart = answer.chart_bundle()
        if chart is not None:
            self.card.append_display_data(_Bundle(chart))
        if answer.state == "done":
            self._fill_details(answer)
            self.download_button.disabled = answer.run_id is None

    def _fill_details(self, answer: Answer) -> None:
        sections: list[tuple[str, widgets.Widget]] = []
        if answer.plan:
            reading = html.escape(explain(answer.plan))
            plan_json = html.escape(json.dumps(answer.plan, indent=2))
            sections.append(
                ("Plan", widgets.HTML(f"<div>{reading}</div><pre style='{PRE_STYLE}'>{plan_json}</pre>"))
            )
        if answer.sql:
            sections.append(
                ("SQL", widgets.HTML(f"<pre style='{PRE_STYLE}'>{highlight_sql(answer.sql)}</pre>"))
            )
        if answer.run_id:
            link = (
                f' · <a href="{html.escape(answer.capsule_url)}" target="_blank">capsule</a>'
                if answer.capsule_url
                else ""
            )
            thread = f" · thread <code>{html.escape(answer.thread_id)}</code>" if answer.thread_id else ""
            sections.append(
                ("Capsule", widgets.HTML(f"run_id <code>{html.escape(answer.run_id)}</code>{link}{thread}"))
            )
        self.details.children = [w for _, w in sections]
        for i, (title, _) in enumerate(sections):
            self.details.set_title(i, title)
        self.details.selected_index = None

    def download_capsule(self) -> Path | None:
        """Write ``capsule_<run_id>.json`` to the working directory and offer it as a link."""
        run_id = self.answer.run_id
        if run_id is None:
            return None
        try:
            content = self.panel.session.client.download_capsule(run_id)
        except ClientError as exc:
            self._say(f"could not download the capsule: {exc.code}: {exc.message}")
            return None
        path = self.panel.cwd / f"capsule_{run_id}.json"
        path.write_bytes(content)
        data = base64.b64encode(content).decode()
        self._say(
            f'saved <code>{html.escape(str(path))}</code> · <a download="{html.escape(path.name)}" '
            f'href="data:application/json;base64,{data}">download</a>',
            raw_html=True,
        )
        return path

    def insert_as_cell(self) -> str:
        source = cell_source(self.answer)
        self.notice.outputs = ()
        self.notice.append_display_data(InsertCell(source))
        return source

    def _say(self, message: str, *, raw_html: bool = False) -> None:
        self.notice.outputs = ()
        self.notice.append_display_data(_Bundle({"text/html": message if raw_html else html.escape(message)}))


class _Bundle:
    def __init__(self, bundle: dict[str, Any]) -> None:
        self.bundle = bundle

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return self.bundle


class _CardOnly(_Bundle):
    def __init__(self, answer: Answer) -> None:
        bundle = answer._repr_mimebundle_()
        super().__init__({k: v for k, v in bundle.items() if k in ("text/html", "text/plain")})


class ChatPanel(widgets.VBox):
    """The chat widget. Give it a ``Session`` (``%ask_panel`` shares the magics' one) or a client."""

    def __init__(self, session: Session | None = None, *, cwd: Path | None = None, **kwargs: Any) -> None:
        self.session = session or Session(
            server_url=os.environ.get("CSVANALYST_SERVER_URL"), token=os.environ.get("CSVANALYST_TOKEN")
        )
        self.cwd = cwd or Path.cwd()
        self.entries: list[_Entry] = []
        self._worker: threading.Thread | None = None

        self.dataset = widgets.Dropdown(
            description="Dataset", options=[], layout=widgets.Layout(width="auto")
        )
        self.chips = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
        self.input = widgets.Textarea(placeholder="Ask a question about the data…", rows=2,
                                      layout=widgets.Layout(width="100%"))  # fmt: skip
        self.send_button = widgets.Button(description="Send", button_style="primary", icon="paper-plane")
        self.new_thread_button = widgets.Button(description="New thread", icon="refresh")
        self.status = widgets.HTML("")
        self.conversation = widgets.VBox()

        self.send_button.on_click(lambda _b: self.send())
        self.new_thread_button.on_click(lambda _b: self.new_thread())
        self.dataset.observe(self._dataset_changed, names="value")

        super().__init__(
            [
                widgets.HBox([self.dataset, self.new_thread_button]),
                self.chips,
                self.conversation,
                widgets.HBox([self.input, self.send_button], layout=widgets.Layout(width="100%")),
                self.status,
            ],
            **kwargs,
        )
        self.add_class("csvanalyst-chat-panel")
        self.refresh_datasets()

    # -- state

    @property
    def busy(self) -> bool:
        return self._worker is not None and self._worker.is_alive()

    def wait(self, timeout_s: float | None = 60.0) -> None:
        """Block until the current background job (loading datasets, a question) is done."""
        if self._worker is not None:
            self._worker.join(timeout_s)

    def _in_background(self, job: Callable[[], None]) -> bool:
        if self.busy:
            self.status.value = "still working on the previous request…"
            return False
        self._worker = threading.Thread(target=job, name="csvanalyst-panel", daemon=True)
        self._worker.start()
        return True

    # -- datasets and prompts

    def refresh_datasets(self) -> None:
        self.status.value = "loading datasets…"
        self._in_background(self._load_datasets)

    def _load_datasets(self) -> None:
        try:
            datasets = self.session.datasets(refresh=True)
        except ClientError as exc:
            self.status.value = _error_html(exc)
            return
        current = self.session.current_dataset
        self.dataset.options = [
            (d.id if d.name in ("", d.id) else f"{d.name} ({d.id})", d.id) for d in datasets
        ]
        ids = [d.id for d in datasets]
        if ids:
            self.dataset.value = current if current in ids else ids[0]
        self._show_prompts()
        self.status.value = "" if ids else "no datasets: upload one with %ask_upload"

    def _dataset_changed(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self.session.current_dataset = change["new"]
        self._show_prompts()

    def _show_prompts(self) -> None:
        summary = next((d for d in self.session.known_datasets if d.id == self.dataset.value), None)
        chips = []
        for prompt in summary.prompts if summary else []:
            short = prompt if len(prompt) <= MAX_CHIP_CHARS else prompt[: MAX_CHIP_CHARS - 1] + "…"
            chip = widgets.Button(description=short, tooltip=prompt, layout=widgets.Layout(width="auto"))
            chip.on_click(lambda _b, p=prompt: self.send(p))
            chips.append(chip)
        self.chips.children = chips

    # -- asking

    def send(self, question: str | None = None) -> bool:
        """Ask ``question`` (or the input's text) about the selected dataset, in the background."""
        text = (question if question is not None else self.input.value).strip()
        dataset_id = self.dataset.value
        if not text:
            self.status.value = "type a question first"
            return False
        if not dataset_id:
            self.status.value = "choose a dataset first"
            return False
        if self.busy:
            self.status.value = "still working on the previous question…"
            return False
        entry = _Entry(self, Answer.running(dataset_id, text, options=self.session.options))
        self.entries.append(entry)
        self.conversation.children = [*self.conversation.children, entry.box]
        self.input.value = ""
        self.send_button.disabled = True
        self.status.value = "running…"
        return self._in_background(lambda: self._ask(entry, dataset_id, text))

    def _ask(self, entry: _Entry, dataset_id: str, question: str) -> None:
        def tick(running: Answer) -> None:
            self.status.value = f"running… {running.elapsed():.1f} s"
            entry.show(running)

        try:
            answer = self.session.ask(dataset_id, question, on_tick=tick)
            entry.show(answer)
            self.status.value = ""
        except Exception as exc:  # a bug must not leave the panel stuck in "running"
            self.status.value = _error_html(
                ClientError("RUNNER_INTERNAL_ERROR", f"{type(exc).__name__}: {exc}")
            )
        finally:
            self.send_button.disabled = False

    def new_thread(self) -> None:
        """The next question starts over instead of following up on the previous answer."""
        self.session.new_thread(self.dataset.value)
        divider = widgets.HTML('<hr style="margin:6px 0"><div style="font-size:11px">new thread</div>')
        self.conversation.children = [*self.conversation.children, divider]
        self.status.value = "new thread: the next question starts over"


def _error_html(exc: ClientError) -> str:
    hint = f" — {html.escape(exc.suggestion)}" if exc.suggestion else ""
    return f"<code>{html.escape(exc.code)}</code> {html.escape(exc.message)}{hint}"
