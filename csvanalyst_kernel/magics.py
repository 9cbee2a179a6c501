"""The IPython magics: ``%%ask``, ``%%ask_sql`` and friends (``%load_ext csvanalyst_kernel``).

Options are traitlets (``%config AskMagics.server_url = ...``) whose defaults come from the
environment (``CSVANALYST_SERVER_URL``, ``CSVANALYST_TOKEN``). Two kinds of failure, shown
differently:

* usage mistakes (unknown option, unknown dataset, no question) raise IPython's ``UsageError``:
  a one-line message, no traceback;
* expected failures (policy rejection, question not understood, timeout, server down) are
  answers too: the cell shows a card with the code, message and suggestion, ``--out`` is set
  to None, and nothing is raised unless ``raise_on_error`` is set (for pipelines that must stop).

``-d DATASET`` also makes that dataset the current one, so a follow-up cell needs no ``-d`` and
continues the same thread.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from IPython.core.display_functions import DisplayHandle, display
from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from traitlets import Bool, Int, Unicode, default, observe
from traitlets.config import Configurable

from csvanalyst_kernel.answer import Answer
from csvanalyst_kernel.display.options import DisplayOptions
from csvanalyst_kernel.display.sql import highlight_sql
from csvanalyst_kernel.display.views import CapsuleView, DatasetList, Notice, ReplayView, RunHistory
from csvanalyst_kernel.errors import ClientError, RunFailed
from csvanalyst_kernel.session import Session, UnknownDataset

F = TypeVar("F", bound=Callable[..., Any])


def split_options(func: Callable[..., Any], line: str) -> tuple[str, str]:
    """Split ``--opt value ... free text`` into the options and the free text, untouched.

    Questions contain apostrophes ("what's the revenue?"), which a shell-style split of the
    whole line would reject, so only the leading options go through ``parse_argstring``.
    """
    parser = func.parser  # type: ignore[attr-defined]
    takes_value = {s: a.nargs != 0 for a in parser._actions for s in a.option_strings}
    rest, consumed = line.strip(), []
    while rest.startswith("-"):
        token_match = re.match(r"(\S+)\s*", rest)
        assert token_match is not None
        token = token_match.group(1)
        name = token.split("=", 1)[0]
        if name not in takes_value:
            raise UsageError(f"unknown option {name}; options: {', '.join(sorted(takes_value))}")
        consumed.append(token)
        rest = rest[token_match.end() :]
        if takes_value[name] and "=" not in token:
            value_match = re.match(r"('[^']*'|\"[^\"]*\"|\S+)\s*", rest)
            if value_match is None:
                raise UsageError(f"option {name} needs a value")
            consumed.append(value_match.group(1))
            rest = rest[value_match.end() :]
    return " ".join(consumed), rest.strip()


def unquote(value: str) -> str:
    """``'Support desk'`` → ``Support desk`` (IPython's argument split keeps the quotes)."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def expected_errors(method: F) -> F:
    """Show a ``ClientError`` as a notice (code, message, suggestion) instead of a traceback."""

    @functools.wraps(method)
    def wrapper(self: AskMagics, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except UnknownDataset as exc:
            raise UsageError(f"{exc.message} ({exc.suggestion})") from None
        except ClientError as exc:
            if self.raise_on_error:
                raise
            return Notice.of(exc)

    return wrapper  # type: ignore[return-value]


class SqlText(str):
    """The SQL of ``%%ask --sql-only``: a plain ``str`` that displays highlighted."""

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {"text/plain": str(self), "text/html": f"<pre>{highlight_sql(str(self))}</pre>"}


@magics_class
class AskMagics(Magics, Configurable):
    server_url = Unicode(
        help="URL of the sandbox server; empty: start the embedded server (default $CSVANALYST_SERVER_URL)"
    ).tag(config=True)
    token = Unicode(help="Bearer token for the server (default $CSVANALYST_TOKEN)").tag(config=True)
    default_dataset = Unicode("", help="Dataset used when a cell gives no -d and none is current").tag(
        config=True
    )
    max_display_rows = Int(50, help="Rows shown in a card (the DataFrame has them all)").tag(config=True)
    show_plan = Bool(False, help="Open the plan section of every card").tag(config=True)
    show_sql = Bool(False, help="Open the SQL section of every card").tag(config=True)
    raise_on_error = Bool(False, help="Raise on a rejected or failed run instead of showing it").tag(
        config=True
    )
    chart = Bool(True, help="Show the server's chart when a result is chartable").tag(config=True)
    progress = Bool(
        True,
        help="Show a live 'running… 3.2 s' card while a question runs (default $CSVANALYST_PROGRESS, on); "
        "off gives outputs that do not depend on timing (nbval, nbconvert)",
    ).tag(config=True)

    @default("progress")
    def _default_progress(self) -> bool:
        return os.environ.get("CSVANALYST_PROGRESS", "1").strip().lower() not in ("0", "false", "no", "off")

    @default("server_url")
    def _default_server_url(self) -> str:
        return os.environ.get("CSVANALYST_SERVER_URL", "")

    @default("token")
    def _default_token(self) -> str:
        return os.environ.get("CSVANALYST_TOKEN", "")

    def __init__(self, shell: Any = None, session: Session | None = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self.session = session or Session(
            server_url=self.server_url, token=self.token, current_dataset=self.default_dataset
        )

    @observe("server_url", "token")
    def _server_changed(self, change: Any) -> None:
        if "session" in self.__dict__:  # not during __init__
            self.session.reconnect(self.server_url, self.token)

    # -- helpers

    def options(self) -> DisplayOptions:
        return DisplayOptions(
            max_display_rows=self.max_display_rows,
            show_plan=self.show_plan,
            show_sql=self.show_sql,
            chart=self.chart,
        )

    @property
    def _user_ns(self) -> dict[str, Any]:
        assert self.shell is not None, "AskMagics needs a shell"
        return self.shell.user_ns

    def _rich_frontend(self) -> bool:
        """A Jupyter frontend (display updates and a separate chart output make sense there)."""
        return getattr(self.shell, "kernel", None) is not None

    def _dataset_id(self, requested: str | None) -> str:
        """The dataset of a cell: ``-d`` (then current), else the current one; usage error if none."""
        if requested:
            dataset = self.session.resolve_dataset(unquote(requested))
            self.session.current_dataset = dataset.id
            return dataset.id
        current = self.session.current_dataset or self.default_dataset or None
        if current:
            return current
        try:
            available = ", ".join(d.id for d in self.session.datasets())
        except ClientError:
            available = "see %ask_datasets"
        raise UsageError(
            f"no dataset chosen: add -d DATASET or run %ask_use DATASET (available: {available})"
        )

    def _run(self, run: Callable[[Callable[[Answer], None]], Answer]) -> Answer:
        """Run with a live "running… 3.2 s" card; then show the chart as its own output (JupyterLab
        renders one mime type per output and prefers the card's HTML over Vega-Lite)."""
        self.session.options = self.options()
        rich = self._rich_frontend()
        handle: DisplayHandle | None = None

        def tick(running: Answer) -> None:
            nonlocal handle
            if not rich or not self.progress:
                return
            if handle is None:
                handle = display(running, display_id=True)
            else:
                handle.update(running)

        answer = run(tick)
        chart = answer.chart_bundle() if rich else None
        if handle is not None:
            handle.update(chart or {"text/plain": ""}, raw=True)
        elif chart is not None:
            display(chart, raw=True)
        return answer

    def _clear_out(self, out: str | None) -> None:
        """A failed cell must not leave the previous result in ``--out``: None until it succeeds."""
        if out:
            if not out.isidentifier():
                raise UsageError(f"--out needs a variable name, not {out!r}")
            self._user_ns[out] = None

    def _finish(self, answer: Answer, out: str | None, value: Any = None) -> Any:
        if out:
            self._user_ns[out] = answer.df if value is None or not answer.ok else value
        if not answer.ok and self.raise_on_error:
            display(answer)
            error = answer.error
            assert error is not None
            raise RunFailed(error.code, error.message, suggestion=error.suggestion, run_id=answer.run_id)
        return answer if value is None or not answer.ok else value

    # -- the magics

    @magic_arguments()
    @argument("-d", "--dataset", help="dataset id or name (becomes the current dataset)")
    @argument("--thread", help="continue this thread (a thread_id of an earlier answer)")
    @argument("--new-thread", action="store_true", help="start a new thread instead of following up")
    @argument("--out", help="store the result DataFrame (None on failure) in this variable")
    @argument("--sql-only", action="store_true", help="return the SQL the question becomes, not the table")
    @line_cell_magic
    @expected_errors
    def ask(self, line: str, cell: str | None = None) -> Any:
        """Ask a question about a dataset in plain English: ``%%ask -d ecommerce`` + the question."""
        options, rest = split_options(self.ask, line)
        args = parse_argstring(self.ask, options)
        self._clear_out(args.out)
        if cell is not None and rest:
            raise UsageError("put the question in the cell body, options on the %%ask line")
        question = (cell if cell is not None else rest).strip()
        if not question:
            raise UsageError("no question: write it after %ask, or in the body of an %%ask cell")
        if args.thread and args.new_thread:
            raise UsageError("give either --thread ID or --new-thread, not both")
        dataset_id = self._dataset_id(args.dataset)
        answer = self._run(
            lambda tick: self.session.ask(
                dataset_id, question, thread_id=args.thread, new_thread=args.new_thread, on_tick=tick
            )
        )
        if args.sql_only:
            return self._finish(answer, args.out, SqlText(answer.sql or ""))
        return self._finish(answer, args.out)

    @magic_arguments()
    @argument("-d", "--dataset", help="dataset id or name (becomes the current dataset)")
    @argument("--out", help="store the result DataFrame (None on failure) in this variable")
    @line_cell_magic
    @expected_errors
    def ask_sql(self, line: str, cell: str | None = None) -> Any:
        """Run your own SQL through the same policy and sandbox: ``%%ask_sql -d ecommerce`` + SQL."""
        options, rest = split_options(self.ask_sql, line)
        args = parse_argstring(self.ask_sql, options)
        self._clear_out(args.out)
        if cell is not None and rest:
            raise UsageError("put the SQL in the cell body, options on the %%ask_sql line")
        sql = (cell if cell is not None else rest).strip()
        if not sql:
            raise UsageError("no SQL: write it in the body of an %%ask_sql cell")
        dataset_id = self._dataset_id(args.dataset)
        answer = self._run(lambda tick: self.session.run_sql(dataset_id, sql, on_tick=tick))
        return self._finish(answer, args.out)

    @line_magic
    @expected_errors
    def ask_datasets(self, line: str = "") -> Any:
        """List the datasets you can ask about."""
        return DatasetList(self.session.datasets(refresh=True), self.session.current_dataset)

    @line_magic
    @expected_errors
    def ask_use(self, line: str) -> None:
        """Make a dataset (id or name) the current one: ``%ask_use ecommerce``."""
        if not line.strip():
            raise UsageError("usage: %ask_use DATASET (an id or a name from %ask_datasets)")
        dataset = self.session.resolve_dataset(unquote(line.strip()))
        self.session.current_dataset = dataset.id
        print(f"using {dataset.id}: tables {', '.join(dataset.tables)}")
        for prompt in dataset.prompts[:3]:
            print(f"  try: %ask {prompt}")

    @magic_arguments()
    @argument("sources", nargs="+", help="CSV file paths, or names of pandas DataFrames in the namespace")
    @argument("--name", help="the dataset's name (default: the first file's or variable's name)")
    @line_magic
    @expected_errors
    def ask_upload(self, line: str) -> Any:
        """Upload CSV files or DataFrames as a new dataset (one table each); it becomes current."""
        args = parse_argstring(self.ask_upload, line)
        files = [self._upload_part(unquote(source)) for source in args.sources]
        name = unquote(args.name) if args.name else Path(files[0][0]).stem
        dataset = self.session.upload(name, files)
        print(f"uploaded {dataset.id}: tables {', '.join(dataset.tables)} (now the current dataset)")
        return None

    def _upload_part(self, source: str) -> tuple[str, bytes]:
        value = self._user_ns.get(source) if source.isidentifier() else None
        if value is not None and hasattr(value, "to_csv"):
            return f"{source}.csv", value.to_csv(index=False).encode()
        path = Path(source).expanduser()
        if path.is_file():
            return path.name, path.read_bytes()
        if value is not None:
            raise UsageError(f"{source!r} is a {type(value).__name__}, not a pandas DataFrame or a CSV path")
        raise UsageError(f"{source!r} is neither a file nor a DataFrame variable")

    @magic_arguments()
    @argument("run_id")
    @argument("--save", metavar="PATH", help="also write the capsule JSON to this file")
    @line_magic
    @expected_errors
    def ask_capsule(self, line: str) -> Any:
        """Show the capsule (immutable record) of a run: ``%ask_capsule RUN_ID``."""
        args = parse_argstring(self.ask_capsule, line)
        client = self.session.client
        capsule = client.get_run(args.run_id)
        if args.save:
            Path(args.save).write_bytes(client.download_capsule(args.run_id))
            print(f"saved to {args.save}")
        return CapsuleView(capsule, client.capsule_url(capsule.run_id))

    @magic_arguments()
    @argument("run_id")
    @line_magic
    @expected_errors
    def ask_replay(self, line: str) -> Any:
        """Run a capsule's SQL again on the same data and say whether the result matches."""
        args = parse_argstring(self.ask_replay, line)
        return ReplayView(self.session.client.replay(args.run_id))

    @magic_arguments()
    @argument("-d", "--dataset", help="only runs on this dataset")
    @argument("-n", "--limit", type=int, default=20, help="how many runs (newest first)")
    @line_magic
    @expected_errors
    def ask_history(self, line: str = "") -> Any:
        """Your recent runs, newest first."""
        args = parse_argstring(self.ask_history, line)
        dataset_id = self.session.resolve_dataset(unquote(args.dataset)).id if args.dataset else None
        return RunHistory(self.session.client.list_runs(dataset_id, args.limit))

    @line_magic
    @expected_errors
    def ask_panel(self, line: str = "") -> Any:
        """The chat panel (ipywidgets), sharing this session's dataset and threads."""
        from csvanalyst_kernel.panel import ChatPanel

        self.session.options = self.options()
        return ChatPanel(session=self.session)
