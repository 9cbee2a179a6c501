"""The runner engine, in-process: lock-down, typing, limits, JSON conversion, error codes, stdio.

The sandbox around it is tested in tests/integration/test_local_sandbox.py; here the point is
that the runner holds on its own, even if a policy let something through.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest

from runner import engine
from runner.convert import cap_rows, encoded_size, iso_duration, to_json
from runner.engine import classify, execute
from runner.lockdown import Lockdown, open_locked, temp_directory, verify
from runner.protocol import RunnerFailure, parse_request
from sandbox_server.executors.base import RunSpec
from sandbox_server.executors.inprocess import InProcessExecutor

REPO_ROOT = Path(__file__).resolve().parents[2]

SALES_COLUMNS = [
    ("id", "BIGINT"),
    ("day", "DATE"),
    ("at", "TIMESTAMP"),
    ("amount", "DOUBLE"),
    ("region", "VARCHAR"),
    ("zip", "VARCHAR"),
    ("ok", "BOOLEAN"),
]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A one-table dataset: 10 rows of sales, with a zip code that only looks numeric."""
    directory = tmp_path / "shop"
    directory.mkdir()
    with (directory / "sales.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([name for name, _ in SALES_COLUMNS])
        for i in range(1, 11):
            writer.writerow(
                [
                    i,
                    f"2024-01-{i:02d}",
                    f"2024-01-{i:02d} 10:30:00",
                    i * 1.5,
                    "north" if i % 2 else "south",
                    f"0{i:04d}",
                    "true" if i % 3 else "false",
                ]
            )
    return directory


def make_request(data_dir: Path, sql: str, **overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "run_id": "test-run",
        "dataset": {
            "id": "shop",
            "version_hash": "x",
            "tables": [
                {
                    "name": "sales",
                    "path": str(data_dir / "sales.csv"),
                    "columns": [{"name": n, "type": t} for n, t in SALES_COLUMNS],
                }
            ],
        },
        "sql": sql,
        "max_rows": 200,
        "timeout_s": 10,
        "max_output_bytes": 1 << 20,
        "memory_limit_mb": 256,
        "threads": 1,
        "temp_dir_size_mb": 16,
    }
    request.update(overrides)
    return request


def error_code(response: dict[str, Any]) -> str | None:
    return response["error"]["code"] if response["error"] else None


# -- lock-down


def test_lockdown_settings_read_back(data_dir: Path) -> None:
    request = parse_request(make_request(data_dir, "SELECT 1", run_id="lock"))
    conn = open_locked(request)

    def setting(name: str) -> Any:
        row = conn.execute(f"SELECT current_setting('{name}')").fetchone()
        assert row is not None
        return row[0]

    try:
        assert setting("enable_external_access") is False
        assert setting("autoinstall_known_extensions") is False
        assert setting("autoload_known_extensions") is False
        assert setting("allow_community_extensions") is False
        assert setting("lock_configuration") is True
        assert setting("threads") == 1
        assert setting("temp_directory") == "/tmp/duckdb-lock"
        assert set(setting("allowed_directories")) == {f"{data_dir}/", "/tmp/duckdb-lock/"}
        assert setting("memory_limit") == "192.0 MiB"  # 75 % of the sandbox's 256 MB
        assert setting("max_temp_directory_size") == "16.0 MiB"
        assert setting("TimeZone") == "UTC"
    finally:
        conn.close()


def test_lockdown_refuses_to_run_when_a_setting_did_not_take(data_dir: Path) -> None:
    request = parse_request(make_request(data_dir, "SELECT 1"))
    conn = open_locked(request)
    try:
        wanted = Lockdown.for_request(parse_request(make_request(data_dir, "SELECT 1", threads=2)))
        with pytest.raises(RunnerFailure) as info:
            verify(conn, wanted)
        assert info.value.code == "RUNNER_INTERNAL_ERROR"
        assert "threads" in info.value.message and "refusing to run" in info.value.message
    finally:
        conn.close()


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/hostname')",
        "SELECT * FROM glob('/etc/*')",
        "COPY (SELECT 1) TO '/tmp/csvanalyst-escape.csv'",
        "ATTACH '/tmp/csvanalyst-escape.db' AS x",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET memory_limit = '8GB'",
        "SET enable_external_access = true",
        "SET allowed_directories = ['/']",
        "RESET lock_configuration",
        "SELECT * FROM 'https://example.invalid/data.csv'",
    ],
)
def test_locked_connection_refuses_escapes(data_dir: Path, statement: str) -> None:
    """Straight on the locked connection, past the runner's one-SELECT guard."""
    conn = open_locked(parse_request(make_request(data_dir, "SELECT 1")))
    try:
        with pytest.raises(duckdb.Error) as info:
            conn.execute(statement).fetchall()
        assert any(
            m in str(info.value)
            for m in ("disabled by configuration", "disabled through configuration", "has been locked")
        ), str(info.value)
    finally:
        conn.close()
    assert not Path("/tmp/csvanalyst-escape.csv").exists()


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_csv('{data}/../../../etc/passwd')",
        "SELECT content FROM read_text('/etc/hostname')",
        "COPY sales TO '/tmp/csvanalyst-escape.csv'",
        "ATTACH ':memory:' AS other",
        "INSTALL httpfs",
        "SET threads = 8",
        "PRAGMA version",
        "SELECT 1; SELECT 2",
    ],
)
def test_escapes_through_the_runner_are_policy_violations(data_dir: Path, sql: str) -> None:
    response = execute(make_request(data_dir, sql.format(data=data_dir)))
    assert response["status"] == "failed"
    assert error_code(response) == "SQL_POLICY_VIOLATION", response["error"]


# -- typing and results


def test_columns_are_typed_as_declared(data_dir: Path) -> None:
    response = execute(make_request(data_dir, "SELECT * FROM sales ORDER BY id LIMIT 1"))
    assert response["status"] == "succeeded", response["error"]
    assert response["columns"] == [{"name": n, "type": t} for n, t in SALES_COLUMNS]
    # The zip keeps its leading zero: declared VARCHAR, never sniffed as a number.
    assert response["rows"] == [[1, "2024-01-01", "2024-01-01T10:30:00", 1.5, "north", "00001", True]]


def test_group_by_result(data_dir: Path) -> None:
    response = execute(
        make_request(
            data_dir,
            "SELECT region, count(*) AS n, sum(amount) AS total FROM sales GROUP BY region ORDER BY region",
        )
    )
    assert response["rows"] == [["north", 5, 37.5], ["south", 5, 45.0]]
    assert response["row_count"] == 2 and response["truncated"] is False
    assert response["exec_time_ms"] > 0


def test_truncates_to_max_rows(data_dir: Path) -> None:
    cut = execute(make_request(data_dir, "SELECT id FROM sales ORDER BY id", max_rows=3))
    assert cut["rows"] == [[1], [2], [3]] and cut["row_count"] == 3 and cut["truncated"] is True
    exact = execute(make_request(data_dir, "SELECT id FROM sales", max_rows=10))
    assert exact["row_count"] == 10 and exact["truncated"] is False


def test_truncates_to_max_output_bytes(data_dir: Path) -> None:
    budget = 400  # the column list takes ~230 bytes of it
    response = execute(make_request(data_dir, "SELECT * FROM sales ORDER BY id", max_output_bytes=budget))
    assert response["truncated"] is True
    assert 0 < response["row_count"] < 10
    assert encoded_size(response["columns"]) + encoded_size(response["rows"]) <= budget


def test_json_conversion_of_awkward_values(data_dir: Path) -> None:
    sql = """
        SELECT DATE '2024-02-29' AS d, TIMESTAMP '2024-02-29 23:59:01' AS ts,
               TIMESTAMPTZ '2024-02-29 12:00:00+02' AS tz, TIME '07:08:09' AS t,
               1.25::DECIMAL(10, 2) AS dec, 'nan'::DOUBLE AS nan, 'inf'::DOUBLE AS inf,
               '\\xAA\\x01'::BLOB AS blob, '6f1c1a4e-0000-4000-8000-000000000001'::UUID AS id,
               INTERVAL 3 DAY + INTERVAL 5 SECOND AS iv, [1, NULL] AS l, {'k': DATE '2024-01-01'} AS s,
               NULL::VARCHAR AS nothing, 170141183460469231731687303715884105727::HUGEINT AS big
    """
    response = execute(make_request(data_dir, sql))
    assert response["status"] == "succeeded", response["error"]
    row = dict(zip([c["name"] for c in response["columns"]], response["rows"][0], strict=True))
    assert row["d"] == "2024-02-29"
    assert row["ts"] == "2024-02-29T23:59:01"
    assert row["tz"] == "2024-02-29T10:00:00+00:00"  # the runner works in UTC
    assert row["t"] == "07:08:09"
    assert row["dec"] == 1.25 and isinstance(row["dec"], float)
    assert row["nan"] is None and row["inf"] is None
    assert row["blob"] == "aa01"
    assert row["id"] == "6f1c1a4e-0000-4000-8000-000000000001"
    assert row["iv"] == "P3DT5S"
    assert row["l"] == [1, None] and row["s"] == {"k": "2024-01-01"}
    assert row["nothing"] is None
    assert row["big"] == 170141183460469231731687303715884105727
    assert (
        dict(
            zip(
                [c["name"] for c in response["columns"]],
                [c["type"] for c in response["columns"]],
                strict=True,
            )
        )["dec"]
        == "DECIMAL(10,2)"
    )
    json.dumps(response, allow_nan=False)  # strict JSON: no NaN/Infinity tokens


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (float("-inf"), None),
        (b"\x00\xff", "00ff"),
        ({1: "x"}, {"1": "x"}),
        ((1, 2), [1, 2]),
    ],
)
def test_to_json(value: Any, expected: Any) -> None:
    assert to_json(value) == expected


def test_iso_duration_and_cap_rows() -> None:
    from datetime import timedelta

    assert iso_duration(timedelta(0)) == "PT0S"
    assert iso_duration(timedelta(hours=-1)) == "-PT1H"
    assert iso_duration(timedelta(days=2, minutes=3)) == "P2DT3M"
    rows, truncated = cap_rows(iter([[1], [2], [3]]), max_rows=2, budget_bytes=1000)
    assert rows == [[1], [2]] and truncated
    rows, truncated = cap_rows(iter([["x" * 50]]), max_rows=5, budget_bytes=10)
    assert rows == [] and truncated


# -- limits


def test_timeout_interrupts_the_query_quickly(data_dir: Path) -> None:
    started = time.monotonic()
    response = execute(
        make_request(data_dir, "SELECT count(*) FROM range(100000) a, range(100000) b", timeout_s=0.5)
    )
    elapsed = time.monotonic() - started
    assert error_code(response) == "RUNNER_TIMEOUT", response["error"]
    assert "0.5 s" in response["error"]["message"]
    assert elapsed < 5


def test_memory_limit_is_resource_exceeded(data_dir: Path) -> None:
    response = execute(
        make_request(data_dir, "SELECT list(i) FROM range(100000000) t(i)", memory_limit_mb=64)
    )
    assert error_code(response) == "RUNNER_RESOURCE_EXCEEDED", response["error"]
    assert "64 MB" in response["error"]["message"]


def test_temp_directory_is_removed(data_dir: Path) -> None:
    execute(make_request(data_dir, "SELECT 1", run_id="cleanup-check"))
    assert not Path(temp_directory("cleanup-check")).exists()


# -- errors


@pytest.mark.parametrize(
    ("sql", "fragment"),
    [
        ("SELECT nope FROM sales", '"nope" not found'),
        ("SELECT * FROM missing_table", "missing_table"),
        ("SELEC 1", "syntax error"),
        ("SELECT CAST(region AS INTEGER) FROM sales", "Could not convert"),
    ],
)
def test_query_errors_are_validation_errors_with_duckdbs_message(
    data_dir: Path, sql: str, fragment: str
) -> None:
    response = execute(make_request(data_dir, sql))
    assert error_code(response) == "VALIDATION_ERROR"
    assert fragment in response["error"]["message"]


def test_csv_that_does_not_match_its_schema_is_dataset_invalid(data_dir: Path) -> None:
    (data_dir / "sales.csv").write_text(
        "id,day,at,amount,region,zip,ok\nnot-a-number,2024-01-01,,1,a,b,true\n"
    )
    response = execute(make_request(data_dir, "SELECT * FROM sales"))
    assert error_code(response) == "DATASET_INVALID", response["error"]


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda r: r.pop("sql"), "sql is missing"),
        (lambda r: r.update(sql="  "), "sql is empty"),
        (lambda r: r.update(max_rows=0), "max_rows must be > 0"),
        (lambda r: r.update(max_rows=True), "max_rows must not be a boolean"),
        (lambda r: r.update(timeout_s="10"), "timeout_s must be int or float"),
        (lambda r: r["dataset"].update(tables=[]), "dataset.tables must not be empty"),
        (lambda r: r["dataset"]["tables"][0].update(path="sales.csv"), "path must be absolute"),
        (
            lambda r: r["dataset"]["tables"][0]["columns"][0].update(type="BIGINT'); DROP"),
            "is not a DuckDB type name",
        ),
    ],
)
def test_bad_requests_are_validation_errors_naming_the_field(
    data_dir: Path, mutate: Any, fragment: str
) -> None:
    request = make_request(data_dir, "SELECT 1")
    mutate(request)
    response = execute(request)
    assert error_code(response) == "VALIDATION_ERROR"
    assert fragment in response["error"]["message"]


def test_not_an_object_is_a_validation_error() -> None:
    assert error_code(execute(["SELECT 1"])) == "VALIDATION_ERROR"


def _csv_error(column: str, type_: str) -> str:
    return (
        f'Conversion Error: CSV Error on Line: 2\nError when converting column "{column}". Could not convert\n'
        f"\nColumn {column} is being converted as type {type_}\n"
    )


@pytest.mark.parametrize(
    ("exc", "timed_out", "code"),
    [
        (duckdb.InterruptException("INTERRUPT Error: Interrupted!"), True, "RUNNER_TIMEOUT"),
        (duckdb.InterruptException("INTERRUPT Error: Interrupted!"), False, "RUNNER_INTERNAL_ERROR"),
        (duckdb.OutOfMemoryException("Out of Memory Error"), False, "RUNNER_RESOURCE_EXCEEDED"),
        (MemoryError(), False, "RUNNER_RESOURCE_EXCEEDED"),
        (duckdb.IOException("IO Error: No space left on device"), False, "RUNNER_RESOURCE_EXCEEDED"),
        (duckdb.PermissionException("Permission Error: ..."), False, "SQL_POLICY_VIOLATION"),
        (duckdb.InvalidInputException("the configuration has been locked"), False, "SQL_POLICY_VIOLATION"),
        (duckdb.ConversionException(_csv_error("id", "BIGINT")), False, "DATASET_INVALID"),
        (duckdb.ConversionException(_csv_error("region", "INTEGER")), False, "VALIDATION_ERROR"),
        (duckdb.ParserException("Parser Error"), False, "VALIDATION_ERROR"),
        (duckdb.BinderException("Binder Error"), False, "VALIDATION_ERROR"),
        (duckdb.CatalogException("Catalog Error"), False, "VALIDATION_ERROR"),
        (duckdb.ConversionException("Conversion Error"), False, "VALIDATION_ERROR"),
        (duckdb.OutOfRangeException("Out of Range Error"), False, "VALIDATION_ERROR"),
        (duckdb.InternalException("INTERNAL Error"), False, "RUNNER_INTERNAL_ERROR"),
        (RuntimeError("surprise"), False, "RUNNER_INTERNAL_ERROR"),
    ],
)
def test_every_failure_maps_to_a_stable_code(exc: BaseException, timed_out: bool, code: str) -> None:
    request = parse_request(make_request(Path("/data"), "SELECT 1"))
    assert classify(exc, request, timed_out=timed_out).code == code


def test_unexpected_exception_becomes_internal_error(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(engine, "create_views", boom)
    response = execute(make_request(data_dir, "SELECT 1"))
    assert error_code(response) == "RUNNER_INTERNAL_ERROR" and "boom" in response["error"]["message"]


# -- the protocol over stdio


def run_module(stdin: bytes, *args: str) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, *(args or ("-m", "runner"))]
    return subprocess.run(command, input=stdin, capture_output=True, cwd=REPO_ROOT, timeout=60, check=False)


def test_python_m_runner_writes_exactly_one_json_object(data_dir: Path) -> None:
    request = make_request(
        data_dir, "SELECT region, count(*) AS n FROM sales GROUP BY region ORDER BY region"
    )
    done = run_module(json.dumps(request).encode())
    assert done.returncode == 0, done.stderr
    lines = done.stdout.decode().splitlines()
    assert len(lines) == 1
    response = json.loads(lines[0])
    assert set(response) == {
        "status",
        "columns",
        "rows",
        "row_count",
        "truncated",
        "exec_time_ms",
        "stdout_trunc",
        "stderr_trunc",
        "error",
    }
    assert response["rows"] == [["north", 5], ["south", 5]]


def test_python_m_runner_answers_garbage_with_a_validation_error() -> None:
    done = run_module(b"{not json")
    assert done.returncode == 0
    response = json.loads(done.stdout)
    assert response["status"] == "failed" and response["error"]["code"] == "VALIDATION_ERROR"


def test_noise_on_stdout_and_stderr_is_captured_not_leaked(data_dir: Path) -> None:
    """Whatever writes to fd 1/2 during a run (here: a patched engine) lands in the response."""
    script = (
        "import os, sys, runner.__main__ as m\n"
        "real = m.execute\n"
        "def noisy(raw):\n"
        "    print('python stdout'); os.write(1, b'fd1 noise\\n'); os.write(2, b'fd2 noise\\n')\n"
        "    return real(raw)\n"
        "m.execute = noisy\n"
        "sys.exit(m.main())\n"
    )
    done = run_module(json.dumps(make_request(data_dir, "SELECT 1 AS one")).encode(), "-c", script)
    assert done.returncode == 0, done.stderr
    response = json.loads(done.stdout)
    assert response["rows"] == [[1]]
    assert "python stdout" in response["stdout_trunc"] and "fd1 noise" in response["stdout_trunc"]
    assert "fd2 noise" in response["stderr_trunc"]
    assert done.stderr == b""


def test_runner_imports_only_duckdb_and_the_standard_library() -> None:
    script = (
        "import sys, runner.__main__, runner.engine\n"
        "ours = sorted(m for m in sys.modules if m.split('.')[0] in ('sandbox_server', 'csvanalyst_kernel', 'pydantic'))\n"
        "print(ours)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, cwd=REPO_ROOT, timeout=60, check=True
    )
    assert done.stdout.strip() == b"[]"


# -- the in-process executor (tests only) on a demo dataset


def test_inprocess_executor_group_by_on_demo_dataset(ecommerce: Any) -> None:
    with (ecommerce.directory / "orders.csv").open(newline="") as fh:
        expected = Counter(row["status"] for row in csv.DictReader(fh))
    spec = RunSpec(
        run_id="inproc-1",
        dataset=ecommerce,
        sql="SELECT status, count(*) AS orders FROM orders GROUP BY status ORDER BY status",
    )
    execution = InProcessExecutor().run(spec)
    assert execution.executor == "inprocess"
    assert execution.response["status"] == "succeeded", execution.response["error"]
    assert execution.response["rows"] == [[s, n] for s, n in sorted(expected.items())]
