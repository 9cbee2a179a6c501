"""The CLI contract of DESIGN.md, through the installed ``csvanalyst`` command and the real local
sandbox (bubblewrap)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

CLI = str(Path(sys.executable).with_name("csvanalyst"))


def cli(
    *args: str, state: Path, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "CSVANALYST_STATE_DIR": str(state), **(env or {})},
    )


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_sql_prints_a_table_from_the_local_sandbox(state: Path, local_executor: object) -> None:
    p = cli(
        "sql",
        "SELECT status, count(*) AS n FROM orders GROUP BY status ORDER BY status",
        "--dataset",
        "ecommerce",
        "--executor",
        "local",
        state=state,
    )
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert any(line.split()[:1] == ["delivered"] for line in lines)
    assert "(4 rows)" in p.stdout and "run_id:" in p.stdout


def test_sql_json_is_the_run_response_and_runs_show_finds_it(state: Path, local_executor: object) -> None:
    p = cli(
        "sql",
        "SELECT count(*) AS n FROM tickets",
        "--dataset",
        "support",
        "--executor",
        "local",
        "--json",
        state=state,
    )
    body = json.loads(p.stdout)
    assert body["status"] == "succeeded" and body["result"]["rows"] == [[5000]]
    assert body["executor"] == "local"
    shown = json.loads(cli("runs", "show", body["run_id"], state=state).stdout)
    assert shown["run_id"] == body["run_id"] and shown["runner_ref"].startswith("bwrap:")
    listed = cli("runs", "list", "--dataset", "support", state=state).stdout
    assert body["run_id"] in listed


def test_sql_rejected_exits_1_with_code(state: Path) -> None:
    p = cli("sql", "DROP TABLE orders", "--dataset", "ecommerce", "--executor", "local", state=state)
    assert p.returncode == 1
    assert "SQL_POLICY_VIOLATION" in p.stdout


def test_ask_prints_plan_sql_table(state: Path, local_executor: object) -> None:
    p = cli(
        "ask",
        "How many tickets are there by priority?",
        "--dataset",
        "support",
        "--executor",
        "local",
        state=state,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.startswith("plan:") and "sql:" in p.stdout and "priority" in p.stdout
    assert "urgent" in p.stdout and "run_id:" in p.stdout


def test_unknown_dataset_is_a_clear_error(state: Path) -> None:
    p = cli("sql", "SELECT 1", "--dataset", "nope", "--executor", "local", state=state)
    assert p.returncode == 1 and "DATASET_NOT_FOUND" in p.stderr and "ecommerce" in p.stderr


def test_datasets_list_show_add(state: Path, tmp_path: Path, local_executor: object) -> None:
    listed = cli("datasets", "list", state=state).stdout
    assert all(name in listed for name in ("ecommerce", "support", "sensors"))
    shown = cli("datasets", "show", "sensors", state=state).stdout
    assert "anomaly_flag" in shown and "BOOLEAN" in shown
    csv = tmp_path / "pets.csv"
    csv.write_text("name,species,age\nRex,dog,3\nTom,cat,5\nFido,dog,7\n")
    added = cli("datasets", "add", str(csv), "--name", "Pets", "--json", state=state)
    assert added.returncode == 0, added.stderr
    ds = json.loads(added.stdout)
    assert ds["tables"] == ["pets"]
    p = cli(
        "sql",
        "SELECT species, avg(age) AS a FROM pets GROUP BY 1 ORDER BY 1",
        "--dataset",
        ds["id"],
        "--json",
        "--executor",
        "local",
        state=state,
    )
    assert json.loads(p.stdout)["result"]["rows"] == [["cat", 5.0], ["dog", 5.0]]
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"")
    p = cli("datasets", "add", str(bad), state=state)
    assert p.returncode == 1 and "DATASET_INVALID" in p.stderr and "bad.csv" in p.stderr


def test_serve_refuses_a_public_address_without_auth(state: Path) -> None:
    p = cli(
        "serve",
        "--host",
        "0.0.0.0",
        "--port",
        str(free_port()),
        "--executor",
        "local",
        state=state,
        timeout=30,
    )
    assert p.returncode == 2 and "without authentication" in p.stderr


@pytest.fixture
def server(state: Path) -> Iterator[tuple[str, str]]:
    port = free_port()
    token = "test-token"
    proc = subprocess.Popen(
        [CLI, "serve", "--port", str(port), "--executor", "local", "--state", str(state)],
        env={**os.environ, "CSVANALYST_TOKENS": json.dumps({token: "tester"})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            httpx.get(url + "/healthz", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield url, token
    proc.terminate()
    proc.wait(10)


def test_ask_and_sql_against_a_server(server: tuple[str, str], state: Path, local_executor: object) -> None:
    url, token = server
    denied = cli("sql", "SELECT 1", "--dataset", "ecommerce", "--server", url, state=state)
    assert denied.returncode == 1 and "UNAUTHORIZED" in denied.stderr
    p = cli(
        "ask",
        "What is the average temperature per location?",
        "--dataset",
        "sensors",
        "--server",
        url,
        "--token",
        token,
        "--json",
        state=state,
    )
    body = json.loads(p.stdout)
    assert body["status"] == "succeeded", body
    http = httpx.post(
        url + "/v1/ask",
        json={"dataset_id": "sensors", "question": "What is the average temperature per location?"},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert set(body) == set(http) and body["result"] == http["result"]
    assert (
        json.loads(
            cli("runs", "show", body["run_id"], "--server", url, "--token", token, state=state).stdout
        )["user"]
        == "tester"
    )
