"""The magics in a real IPython InteractiveShell, talking to the fake server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from IPython.core.error import UsageError

from csvanalyst_kernel.answer import Answer
from csvanalyst_kernel.client import Client
from csvanalyst_kernel.display.chart import VEGALITE_MIME
from csvanalyst_kernel.display.views import CapsuleView, DatasetList, Notice, ReplayView, RunHistory
from csvanalyst_kernel.errors import ClientError, RunFailed
from csvanalyst_kernel.magics import AskMagics, split_options
from csvanalyst_kernel.session import Session

from .conftest import FakeServer


def magics(shell: Any) -> AskMagics:
    return next(c for c in shell.configurables if isinstance(c, AskMagics))


def test_cell_magic_returns_an_answer_and_stores_the_dataframe(shell: Any, fake_server: FakeServer) -> None:
    answer = shell.run_cell_magic("ask", "-d ecommerce --out result", "revenue by month\n")
    assert isinstance(answer, Answer) and answer.ok
    assert fake_server.bodies("/v1/ask")[0] == {"dataset_id": "ecommerce", "question": "revenue by month"}
    df = shell.user_ns["result"]
    assert isinstance(df, pd.DataFrame) and len(df) == 2
    assert VEGALITE_MIME in answer._repr_mimebundle_()
    assert "text/html" in answer._repr_mimebundle_()


def test_line_magic_keeps_the_question_verbatim(shell: Any, fake_server: FakeServer) -> None:
    answer = shell.run_line_magic("ask", "-d ecommerce what's the revenue by month?")
    assert answer.ok
    assert fake_server.bodies("/v1/ask")[0]["question"] == "what's the revenue by month?"


def test_dataset_by_name_and_it_becomes_current(shell: Any, fake_server: FakeServer) -> None:
    shell.run_cell_magic("ask", "-d 'Support desk'", "tickets by priority")
    shell.run_cell_magic("ask", "", "now only the urgent ones")
    assert [b["dataset_id"] for b in fake_server.bodies("/v1/ask")] == ["support", "support"]


def test_consecutive_cells_continue_one_thread_per_dataset(shell: Any, fake_server: FakeServer) -> None:
    first = shell.run_cell_magic("ask", "-d ecommerce", "revenue by month")
    shell.run_cell_magic("ask", "", "now only the delivered ones")
    shell.run_cell_magic("ask", "-d support", "tickets")
    shell.run_cell_magic("ask", "-d ecommerce", "and by week")
    shell.run_cell_magic("ask", "--new-thread", "orders by status")
    shell.run_cell_magic("ask", "--thread tX", "explicit thread")
    threads = [b.get("thread_id") for b in fake_server.bodies("/v1/ask")]
    assert threads == [None, first.thread_id, None, first.thread_id, None, "tX"]


def test_rejected_run_renders_its_card_and_sets_out_to_none(shell: Any) -> None:
    shell.user_ns["result"] = "stale"
    answer = shell.run_cell_magic("ask_sql", "-d ecommerce --out result", "DROP TABLE orders")
    assert shell.user_ns["result"] is None
    assert answer.status == "rejected" and answer.run_id
    text = answer._repr_mimebundle_()["text/plain"]
    assert "SQL_POLICY_VIOLATION" in text and "suggestion: ask a question, or write a SELECT" in text


def test_not_understood_is_a_card_not_an_exception(shell: Any) -> None:
    answer = shell.run_cell_magic("ask", "-d ecommerce --out result", "gibberish blah")
    assert answer.error.code == "PLANNER_ERROR"
    assert "rephrase" in answer.error.suggestion
    assert shell.user_ns["result"] is None


def test_raise_on_error_raises_for_pipelines(shell: Any) -> None:
    shell.run_line_magic("config", "AskMagics.raise_on_error = True")
    with pytest.raises(RunFailed) as info:
        shell.run_cell_magic("ask", "-d ecommerce", "gibberish")
    assert info.value.code == "PLANNER_ERROR" and info.value.run_id


def test_ask_sql_runs_sql_and_out_gets_a_dataframe(shell: Any, fake_server: FakeServer) -> None:
    answer = shell.run_cell_magic("ask_sql", "-d ecommerce --out df", "SELECT 1")
    assert answer.ok and isinstance(shell.user_ns["df"], pd.DataFrame)
    assert fake_server.bodies("/v1/runs") == [{"dataset_id": "ecommerce", "sql": "SELECT 1"}]


def test_sql_only_returns_the_sql(shell: Any) -> None:
    sql = shell.run_cell_magic("ask", "-d ecommerce --sql-only --out sql_text", "revenue by month")
    assert str(sql).startswith("SELECT date_trunc('month', order_date)")
    assert shell.user_ns["sql_text"] == str(sql)
    assert "<span" in sql._repr_mimebundle_()["text/html"]


@pytest.mark.parametrize(
    ("magic", "line", "cell", "message"),
    [
        ("ask", "-d nope", "q", "unknown dataset 'nope'; available: ecommerce, support"),
        ("ask", "--bogus", "q", "unknown option --bogus"),
        ("ask", "-d", "q", "option -d needs a value"),
        ("ask", "-d ecommerce", "   ", "no question"),
        ("ask", "-d ecommerce extra words", "q", "put the question in the cell body"),
        ("ask", "-d ecommerce --thread t1 --new-thread", "q", "either --thread ID or --new-thread"),
        ("ask", "-d ecommerce --out 1bad", "q", "--out needs a variable name"),
        (
            "ask",
            "",
            "q",
            "no dataset chosen: add -d DATASET or run %ask_use DATASET (available: ecommerce, support)",
        ),
        ("ask_sql", "-x", "SELECT 1", "unknown option -x"),
    ],
)
def test_usage_mistakes_raise_usage_error(shell: Any, magic: str, line: str, cell: str, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        shell.run_cell_magic(magic, line, cell)


def test_usage_error_shows_no_traceback(shell: Any, capsys: pytest.CaptureFixture[str]) -> None:
    shell.run_cell("%ask_use nope")
    captured = capsys.readouterr()
    assert "UsageError: unknown dataset 'nope'" in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_server_down_is_a_clear_notice(shell: Any, capsys: pytest.CaptureFixture[str]) -> None:
    magics(shell).session = Session(Client("http://127.0.0.1:9", "t", timeout_s=2))
    notice = shell.run_line_magic("ask_datasets", "")
    assert isinstance(notice, Notice) and notice.code == "SERVER_UNREACHABLE"
    shell.user_ns["result"] = "stale"
    shell.run_cell("%%ask -d ecommerce --out result\nrevenue")
    captured = capsys.readouterr()
    assert "SERVER_UNREACHABLE" in captured.out and "Traceback" not in captured.out + captured.err
    assert shell.user_ns["result"] is None


def test_ask_datasets_use_and_default_dataset(shell: Any, fake_server: FakeServer, capsys: Any) -> None:
    listing = shell.run_line_magic("ask_datasets", "")
    assert isinstance(listing, DatasetList) and [d.id for d in listing.datasets] == ["ecommerce", "support"]
    shell.run_line_magic("ask_use", "support")
    assert "using support: tables tickets" in capsys.readouterr().out
    shell.run_cell_magic("ask", "", "tickets")
    assert fake_server.bodies("/v1/ask")[-1]["dataset_id"] == "support"


def test_upload_files_and_dataframes_and_the_upload_becomes_current(
    shell: Any, fake_server: FakeServer, tmp_path: Path
) -> None:
    csv = tmp_path / "sales.csv"
    csv.write_text("a,b\n1,2\n")
    shell.user_ns["df"] = pd.DataFrame({"x": [1, 2], "y": ["p", "q"]})
    shell.run_line_magic("ask_upload", f"{csv} df --name mine")
    request = fake_server.requests[-1]
    assert b'filename="sales.csv"' in request.content and b'filename="df.csv"' in request.content
    assert b"x,y\n1,p\n2,q\n" in request.content
    shell.run_cell_magic("ask", "", "how many rows")
    assert fake_server.bodies("/v1/ask")[-1]["dataset_id"] == "u_mine"


def test_upload_of_something_else_is_a_usage_error(shell: Any) -> None:
    shell.user_ns["number"] = 3
    with pytest.raises(UsageError, match="is a int, not a pandas DataFrame"):
        shell.run_line_magic("ask_upload", "number")
    with pytest.raises(UsageError, match="neither a file nor a DataFrame"):
        shell.run_line_magic("ask_upload", "/no/such/file.csv")


def test_capsule_replay_and_history(shell: Any, tmp_path: Path) -> None:
    answer = shell.run_cell_magic("ask", "-d ecommerce", "revenue by month")
    saved = tmp_path / "capsule.json"
    view = shell.run_line_magic("ask_capsule", f"{answer.run_id} --save {saved}")
    assert isinstance(view, CapsuleView) and view.capsule.run_id == answer.run_id
    assert json.loads(saved.read_text())["run_id"] == answer.run_id
    replay = shell.run_line_magic("ask_replay", answer.run_id)
    assert isinstance(replay, ReplayView) and replay.replay.matches
    history = shell.run_line_magic("ask_history", "-d ecommerce -n 5")
    assert isinstance(history, RunHistory) and [c.run_id for c in history.runs][-1] == answer.run_id
    unknown = shell.run_line_magic("ask_capsule", "nope")
    assert isinstance(unknown, Notice) and "no run with id 'nope'" in unknown.message


def test_config_traitlets_and_environment_defaults(shell: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSVANALYST_SERVER_URL", "http://from-env:1")
    monkeypatch.setenv("CSVANALYST_TOKEN", "env-token")
    fresh = AskMagics(shell=shell)
    assert (fresh.server_url, fresh.token) == ("http://from-env:1", "env-token")
    assert fresh.session.server_url == "http://from-env:1"
    shell.run_line_magic("config", "AskMagics.max_display_rows = 1")
    shell.run_line_magic("config", "AskMagics.server_url = 'http://other:2'")
    m = magics(shell)
    assert m.max_display_rows == 1 and m.session.server_url == "http://other:2"


def test_display_options_reach_the_card(shell: Any) -> None:
    shell.run_line_magic("config", "AskMagics.max_display_rows = 1")
    shell.run_line_magic("config", "AskMagics.show_sql = True")
    answer = shell.run_cell_magic("ask", "-d ecommerce", "revenue by month")
    text = answer._repr_mimebundle_()["text/plain"]
    assert "showing the first 1" in text and "sql:\nSELECT" in text


def test_progress_updates_a_display_and_the_chart_gets_its_own_output(
    shell: Any, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    displayed: list[tuple[str, Any]] = []

    class Handle:
        def update(self, obj: Any, **kw: Any) -> None:
            displayed.append(("update", obj))

    def fake_display(obj: Any, display_id: bool = False, raw: bool = False) -> Handle | None:
        displayed.append(("display", obj))
        return Handle() if display_id else None

    monkeypatch.setattr("csvanalyst_kernel.magics.display", fake_display)
    monkeypatch.setattr(AskMagics, "_rich_frontend", lambda self: True)
    fake_server.delay_s = 1.0
    answer = shell.run_cell_magic("ask", "-d ecommerce", "revenue by month")
    kinds = [(k, type(o).__name__) for k, o in displayed]
    assert kinds[0] == ("display", "Answer") and displayed[0][1].status == "running"
    last_kind, last = displayed[-1]
    assert last_kind == "update" and VEGALITE_MIME in last  # the progress output became the chart
    assert answer.ok


def test_split_options_leaves_the_question_alone(shell: Any) -> None:
    m = magics(shell)
    assert split_options(m.ask, '-d ecommerce --new-thread it\'s "quoted" -d x') == (
        "-d ecommerce --new-thread",
        'it\'s "quoted" -d x',
    )
    assert split_options(m.ask, "--out=res q") == ("--out=res", "q")


def test_extension_registers_and_unregisters(shell: Any) -> None:
    names = shell.magics_manager.magics
    assert {"ask", "ask_sql"} <= set(names["cell"])
    expected = {"ask", "ask_sql", "ask_datasets", "ask_use", "ask_upload", "ask_capsule", "ask_replay",
                "ask_history", "ask_panel"}  # fmt: skip
    assert expected <= set(names["line"])
    shell.run_line_magic("unload_ext", "csvanalyst_kernel")
    assert "ask" not in shell.magics_manager.magics["cell"]
    shell.run_line_magic("load_ext", "csvanalyst_kernel")
    magics(shell).session = Session(Client("http://fake", transport=httpx.MockTransport(FakeServer().handle)))


def test_client_error_never_escapes_as_traceback(shell: Any) -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow")

    magics(shell).session = Session(Client("http://fake", transport=httpx.MockTransport(boom)))
    magics(shell).session.current_dataset = "ecommerce"
    answer = shell.run_cell_magic("ask", "", "q")
    assert answer.error.code == "SERVER_TIMEOUT"
    with pytest.raises(ClientError):
        shell.run_line_magic("config", "AskMagics.raise_on_error = True")
        shell.run_line_magic("ask_history", "")
