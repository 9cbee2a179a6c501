"""The runner protocol (DESIGN.md "Runner protocol"): the request it reads, the response it writes.

The request is parsed by hand into frozen dataclasses because the runner depends on duckdb and
the standard library only (no pydantic inside the sandbox). Every problem names the field and
what it should be, and ends the run as ``VALIDATION_ERROR``::

    {run_id, dataset: {id, version_hash, tables: [{name, path, columns: [{name, type}]}]},
     sql, max_rows, timeout_s, max_output_bytes, memory_limit_mb?, threads?, temp_dir_size_mb?}

The response always has the same keys, whether the run succeeded or failed::

    {status, columns, rows, row_count, truncated, exec_time_ms, stdout_trunc, stderr_trunc,
     error: {code, message} | null}
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

ErrorCode = Literal[
    "VALIDATION_ERROR",
    "SQL_POLICY_VIOLATION",
    "DATASET_INVALID",
    "RUNNER_TIMEOUT",
    "RUNNER_RESOURCE_EXCEEDED",
    "RUNNER_INTERNAL_ERROR",
]
Status = Literal["succeeded", "failed"]

STREAM_LIMIT_BYTES = 64 * 1024
"""stdout/stderr captured from the run are cut to their last 64 KB (the capsule keeps as much)."""

# A DuckDB type name as the registry writes it: BIGINT, DECIMAL(18,3), TIMESTAMP WITH TIME ZONE.
# The type is spliced into read_csv's column struct as a string literal; the pattern keeps it a
# type name and nothing else.
_TYPE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_ ]*(\(\s*\d+\s*(,\s*\d+\s*)?\))?$")


class RunnerFailure(Exception):
    """A run that ends with an error response. Raised inside the runner, never crosses the sandbox."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Column:
    name: str
    type: str


@dataclass(frozen=True)
class Table:
    name: str
    path: str
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class Request:
    run_id: str
    dataset_id: str
    tables: tuple[Table, ...]
    sql: str
    max_rows: int
    timeout_s: float
    max_output_bytes: int
    memory_limit_mb: int = 512
    threads: int = 1
    temp_dir_size_mb: int = 64


def _field(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in obj:
        raise RunnerFailure("VALIDATION_ERROR", f"request: {where}{key} is missing")
    value = obj[key]
    # bool is an int in Python; a limit of `true` is a mistake, not 1.
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise RunnerFailure("VALIDATION_ERROR", f"request: {where}{key} must not be a boolean")
    if not isinstance(value, kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise RunnerFailure(
            "VALIDATION_ERROR", f"request: {where}{key} must be {names}, got {type(value).__name__}"
        )
    return value


def _positive(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
    if default is not None and key not in obj:
        return default
    value = _field(obj, key, kind, "")
    if value <= 0:
        raise RunnerFailure("VALIDATION_ERROR", f"request: {key} must be > 0, got {value}")
    return value


def _column(raw: Any, where: str) -> Column:
    if not isinstance(raw, dict):
        raise RunnerFailure("VALIDATION_ERROR", f"request: {where} must be an object {{name, type}}")
    name = _field(raw, "name", str, where + ".")
    type_ = _field(raw, "type", str, where + ".")
    if not _TYPE_NAME.match(type_):
        raise RunnerFailure(
            "VALIDATION_ERROR", f"request: {where}.type {type_!r} is not a DuckDB type name (e.g. BIGINT)"
        )
    return Column(name=name, type=type_.upper())


def _table(raw: Any, where: str) -> Table:
    if not isinstance(raw, dict):
        raise RunnerFailure("VALIDATION_ERROR", f"request: {where} must be an object {{name, path, columns}}")
    name = _field(raw, "name", str, where + ".")
    path = _field(raw, "path", str, where + ".")
    if not path.startswith("/"):
        raise RunnerFailure("VALIDATION_ERROR", f"request: {where}.path must be absolute, got {path!r}")
    columns = _field(raw, "columns", list, where + ".")
    if not columns:
        raise RunnerFailure("VALIDATION_ERROR", f"request: {where}.columns must list the table's columns")
    return Table(
        name=name,
        path=path,
        columns=tuple(_column(c, f"{where}.columns[{i}]") for i, c in enumerate(columns)),
    )


def parse_request(raw: Any) -> Request:
    """Check a decoded request and build the ``Request``; raise ``RunnerFailure`` naming the bad field."""
    if not isinstance(raw, dict):
        raise RunnerFailure(
            "VALIDATION_ERROR", "request: must be a JSON object (see DESIGN.md, Runner protocol)"
        )
    dataset = _field(raw, "dataset", dict, "")
    tables = _field(dataset, "tables", list, "dataset.")
    if not tables:
        raise RunnerFailure("VALIDATION_ERROR", "request: dataset.tables must not be empty")
    parsed = tuple(_table(t, f"dataset.tables[{i}]") for i, t in enumerate(tables))
    names = [t.name for t in parsed]
    if len(set(names)) != len(names):
        raise RunnerFailure("VALIDATION_ERROR", f"request: dataset.tables has duplicate names: {names}")
    sql = _field(raw, "sql", str, "")
    if not sql.strip():
        raise RunnerFailure("VALIDATION_ERROR", "request: sql is empty")
    return Request(
        run_id=_field(raw, "run_id", str, ""),
        dataset_id=str(dataset.get("id", "")),
        tables=parsed,
        sql=sql,
        max_rows=_positive(raw, "max_rows", int),
        timeout_s=float(_positive(raw, "timeout_s", (int, float))),
        max_output_bytes=_positive(raw, "max_output_bytes", int),
        memory_limit_mb=_positive(raw, "memory_limit_mb", int, Request.memory_limit_mb),
        threads=_positive(raw, "threads", int, Request.threads),
        temp_dir_size_mb=_positive(raw, "temp_dir_size_mb", int, Request.temp_dir_size_mb),
    )


def tail(text: str, limit: int = STREAM_LIMIT_BYTES) -> str:
    """The last ``limit`` bytes of ``text`` (a cut multi-byte character is dropped)."""
    data = text.encode("utf-8", "replace")
    if len(data) <= limit:
        return text
    return data[-limit:].decode("utf-8", "ignore")


def response(
    *,
    status: Status,
    columns: list[dict[str, str]] | None = None,
    rows: list[list[Any]] | None = None,
    truncated: bool = False,
    exec_time_ms: float = 0.0,
    error: RunnerFailure | None = None,
    stdout: str = "",
    stderr: str = "",
) -> dict[str, Any]:
    """The one response shape, for success and failure alike."""
    rows = rows or []
    return {
        "status": status,
        "columns": columns or [],
        "rows": rows,
        "row_count": len(rows),
        "truncated": truncated,
        "exec_time_ms": round(exec_time_ms, 3),
        "stdout_trunc": tail(stdout),
        "stderr_trunc": tail(stderr),
        "error": None if error is None else {"code": error.code, "message": error.message},
    }


def failed(error: RunnerFailure, *, exec_time_ms: float = 0.0) -> dict[str, Any]:
    return response(status="failed", error=error, exec_time_ms=exec_time_ms)
