"""The embedded server: its token file, its failure messages, and (end to end, marked ``slow``)
a real ``csvanalyst serve`` subprocess answering a demo question in the bubblewrap sandbox."""

from __future__ import annotations

import csv
import os
import stat
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from csvanalyst_kernel import embedded
from csvanalyst_kernel.answer import Answer
from csvanalyst_kernel.embedded import EmbeddedServer, default_state_dir, read_or_create_token
from csvanalyst_kernel.errors import ClientError
from csvanalyst_kernel.session import Session

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_token_is_created_private_and_reused(tmp_path: Path) -> None:
    token = read_or_create_token(tmp_path / "state")
    path = tmp_path / "state" / embedded.TOKEN_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(token) >= 32
    assert read_or_create_token(tmp_path / "state") == token


def test_state_dir_default_matches_the_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CSVANALYST_STATE_DIR", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert default_state_dir() == tmp_path / "csvanalyst"
    from sandbox_server.settings import _default_state_dir

    assert default_state_dir() == _default_state_dir()
    monkeypatch.setenv("CSVANALYST_STATE_DIR", str(tmp_path / "elsewhere"))
    assert default_state_dir() == tmp_path / "elsewhere"


def test_missing_server_extra_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real_find_spec = embedded.importlib.util.find_spec
    monkeypatch.setattr(
        embedded.importlib.util, "find_spec", lambda name: None if name == "fastapi" else real_find_spec(name)
    )
    with pytest.raises(ClientError) as info:
        EmbeddedServer(tmp_path).start()
    assert info.value.code == "SERVER_NOT_INSTALLED"
    assert "missing fastapi" in info.value.message
    assert "csvanalyst[server]" in (info.value.suggestion or "")


def test_a_server_that_exits_at_once_is_a_start_failure(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys, "executable", "/bin/false")
    with pytest.raises(ClientError) as info:
        EmbeddedServer(tmp_path).start(timeout_s=10)
    assert info.value.code == "SERVER_START_FAILED"
    assert "exited with code 1" in info.value.message


@pytest.fixture
def bubblewrap() -> None:
    from sandbox_server.errors import ExecutorUnavailable
    from sandbox_server.executors.local import LocalExecutor

    try:
        LocalExecutor().check()
    except ExecutorUnavailable as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"local sandbox unavailable: {exc.message} (CI=true: required here)", pytrace=False)
        pytest.skip(f"local sandbox unavailable: {exc.message}")


@pytest.mark.slow
def test_end_to_end_embedded_server_answers_a_demo_question_in_the_local_sandbox(
    bubblewrap: None, shell: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Real: `%%ask` with no server configured starts `csvanalyst serve --executor local` (bubblewrap)."""
    monkeypatch.setenv("CSVANALYST_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("CSVANALYST_SERVER_URL", raising=False)
    magics = next(c for c in shell.configurables if type(c).__name__ == "AskMagics")
    magics.session = Session()  # nothing configured: the embedded server
    try:
        answer = shell.run_cell_magic(
            "ask", "-d ecommerce --out result", "How many orders are there in each status?"
        )
        assert isinstance(answer, Answer), answer  # a Notice says why the server did not start
        assert answer.ok, answer.error
        server = embedded.embedded_server()
        assert server.url.startswith("http://127.0.0.1:")
        assert stat.S_IMODE((tmp_path / "state" / embedded.TOKEN_FILE).stat().st_mode) == 0o600

        with open(REPO_ROOT / "datasets" / "ecommerce" / "orders.csv", newline="") as f:
            expected = Counter(row["status"] for row in csv.DictReader(f))
        df = shell.user_ns["result"]
        status_column, count_column = df.columns[0], df.columns[1]
        assert dict(zip(df[status_column], df[count_column], strict=True)) == expected
        assert answer.response is not None and answer.response.executor == "local"
        html = answer._repr_mimebundle_()["text/html"]
        assert ">succeeded</span>" in html and "delivered" in html

        capsule = shell.run_line_magic("ask_capsule", answer.run_id)
        assert capsule.capsule.status == "succeeded" and capsule.capsule.compiled_sql == answer.sql
        rejected = shell.run_cell_magic("ask_sql", "-d ecommerce", "DROP TABLE orders")
        assert rejected.status == "rejected" and rejected.error.code == "SQL_POLICY_VIOLATION"
    finally:
        embedded.stop_embedded_server()
    assert not server.running
