"""Run one request on a locked-down DuckDB: the runner's whole job, minus the stdio.

    request ─► parse ─► open_locked ─► views over the CSV files ─► one SELECT, under a watchdog
            ─► at most max_rows rows within max_output_bytes ─► response

``execute`` never raises: every failure becomes a response with an error code (see
``classify`` for how DuckDB's exceptions map to the stable codes of DESIGN.md).
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from typing import Any

import duckdb

from runner.convert import cap_rows, encoded_size
from runner.lockdown import open_locked, temp_directory
from runner.protocol import Request, RunnerFailure, failed, parse_request, response

FETCH_BATCH_ROWS = 1024


def execute(raw_request: Any) -> dict[str, Any]:
    """Run a decoded runner request and return the response (never raises for a bad run)."""
    try:
        request = parse_request(raw_request)
    except RunnerFailure as failure:
        return failed(failure)
    try:
        return run(request)
    finally:
        # DuckDB deletes its spill files on close; the directory itself may be left behind.
        shutil.rmtree(temp_directory(request.run_id), ignore_errors=True)


def run(request: Request) -> dict[str, Any]:
    """Lock down, expose the tables, run the one SELECT; ``exec_time_ms`` is the query's own time."""
    started = time.perf_counter()
    watchdog: Watchdog | None = None
    try:
        conn = open_locked(request)
        try:
            create_views(conn, request)
            check_single_select(conn, request.sql)
            started = time.perf_counter()
            watchdog = Watchdog(conn, request.timeout_s)
            with watchdog:
                cursor = conn.execute(request.sql)
                columns = [{"name": d[0], "type": str(d[1])} for d in cursor.description or []]
                rows, truncated = cap_rows(
                    _fetch(cursor, request.max_rows + 1),
                    max_rows=request.max_rows,
                    budget_bytes=request.max_output_bytes - encoded_size(columns),
                )
            exec_time_ms = _ms_since(started)
        finally:
            conn.close()
    except RunnerFailure as failure:
        return failed(failure, exec_time_ms=_ms_since(started))
    except Exception as exc:  # the boundary: every failure becomes a response
        timed_out = watchdog is not None and watchdog.fired
        return failed(classify(exc, request, timed_out=timed_out), exec_time_ms=_ms_since(started))
    return response(
        status="succeeded",
        columns=columns,
        rows=rows,
        truncated=truncated,
        exec_time_ms=exec_time_ms,
    )


def create_views(conn: duckdb.DuckDBPyConnection, request: Request) -> None:
    """One view per table over ``read_csv`` with the declared column types.

    The header is skipped and the types are given, never sniffed, so a column is typed the same
    on every run and every machine.
    """
    for table in request.tables:
        columns = ", ".join(f"{_literal(c.name)}: {_literal(c.type)}" for c in table.columns)
        conn.execute(
            f"CREATE VIEW {_identifier(table.name)} AS SELECT * FROM read_csv("
            f"{_literal(table.path)}, header = true, auto_detect = false, delim = ',', "
            f"quote = '\"', escape = '\"', columns = {{{columns}}})"
        )


def check_single_select(conn: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Exactly one SELECT statement (WITH, set operations, VALUES included), whatever the policy said."""
    statements = conn.extract_statements(sql)
    if len(statements) != 1:
        raise RunnerFailure(
            "SQL_POLICY_VIOLATION", f"the runner executes exactly one statement, got {len(statements)}"
        )
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        raise RunnerFailure(
            "SQL_POLICY_VIOLATION", f"the runner executes SELECT statements only, got {kind.name}"
        )


class Watchdog:
    """Interrupts the connection's running query after ``timeout_s`` (a daemon timer thread)."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, timeout_s: float) -> None:
        self.fired = False
        self._conn = conn
        self._timer = threading.Timer(timeout_s, self._fire)
        self._timer.daemon = True

    def _fire(self) -> None:
        self.fired = True
        self._conn.interrupt()

    def __enter__(self) -> Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


def classify(exc: BaseException, request: Request, *, timed_out: bool) -> RunnerFailure:
    """Map an exception of a run to a stable error code.

    ===============================================  ==========================  =============
    exception                                        code                        why
    ===============================================  ==========================  =============
    InterruptException after the watchdog fired      RUNNER_TIMEOUT              over time
    OutOfMemoryException, MemoryError, "bad_alloc",  RUNNER_RESOURCE_EXCEEDED    over memory or
    "No space left", temp directory size                                         spill space
    PermissionException, "configuration ... locked"  SQL_POLICY_VIOLATION        the lock-down
                                                                                 refused it
    a CSV error converting a column to the type      DATASET_INVALID             file ≠ schema
    the registry declares for it
    Parser/Binder/Catalog/InvalidInput (Programming  VALIDATION_ERROR            the query is
    Error), Conversion/OutOfRange (DataError)                                    wrong: DuckDB's
                                                                                 message says why
    anything else                                    RUNNER_INTERNAL_ERROR       a bug or the
                                                                                 environment
    ===============================================  ==========================  =============
    """
    message = str(exc)
    if timed_out and (isinstance(exc, duckdb.InterruptException) or "nterrupt" in message):
        return RunnerFailure(
            "RUNNER_TIMEOUT", f"the query ran longer than its limit of {request.timeout_s:g} s"
        )
    if isinstance(exc, (duckdb.OutOfMemoryException, MemoryError)) or any(
        marker in message
        for marker in ("bad_alloc", "bad allocation", "No space left", "max_temp_directory_size")
    ):
        return RunnerFailure(
            "RUNNER_RESOURCE_EXCEEDED",
            f"the query needed more memory or temporary space than its limit "
            f"({request.memory_limit_mb} MB, {request.temp_dir_size_mb} MB spill): {message}",
        )
    if isinstance(exc, duckdb.PermissionException) or "configuration has been locked" in message:
        return RunnerFailure("SQL_POLICY_VIOLATION", f"refused by the runner's lock-down: {message}")
    if isinstance(exc, duckdb.Error) and _file_breaks_schema(message, request):
        return RunnerFailure(
            "DATASET_INVALID", f"dataset {request.dataset_id!r} does not match its declared schema: {message}"
        )
    if isinstance(exc, (duckdb.ProgrammingError, duckdb.DataError)):
        return RunnerFailure("VALIDATION_ERROR", message)
    return RunnerFailure("RUNNER_INTERNAL_ERROR", f"{type(exc).__name__}: {message}")


_CSV_COLUMN = re.compile(r'CSV Error on Line.*?Error when converting column "(.+?)"', re.DOTALL)
_CSV_TYPE = re.compile(r"is being converted as type (.+)")


def _file_breaks_schema(message: str, request: Request) -> bool:
    """A CSV error converting a column to its *declared* type: the file does not match the
    registry. (DuckDB pushes a query's casts into the CSV scan too, and reports a bad
    ``CAST(text_column AS INTEGER)`` as a CSV error; that one is the query's fault.)"""
    column, type_ = _CSV_COLUMN.search(message), _CSV_TYPE.search(message)
    if not column or not type_:
        return False
    declared = {(c.name, c.type) for t in request.tables for c in t.columns}
    return (column.group(1), type_.group(1).strip().upper()) in declared


def _fetch(cursor: duckdb.DuckDBPyConnection, limit: int) -> Any:
    """Rows in batches, at most ``limit`` of them: a huge result is never materialised."""
    left = limit
    while left > 0:
        batch = cursor.fetchmany(min(FETCH_BATCH_ROWS, left))
        if not batch:
            return
        left -= len(batch)
        yield from batch


def _ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
