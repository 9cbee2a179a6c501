"""Open DuckDB locked down, and prove the lock-down took before anything runs.

The order matters: ``allowed_directories`` can only be set while external access is still
enabled, and nothing can be changed once ``lock_configuration`` is on. Every setting is then
read back from ``duckdb_settings()``; if one did not take (an older DuckDB without it, a value
DuckDB silently adjusted), the runner refuses to run rather than run less protected.

After this, the connection can read files under the dataset's directories and its own temp
directory only; it cannot install or load extensions, attach databases, write files elsewhere,
reach the network, or change any setting.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import duckdb

from runner.protocol import Request, RunnerFailure

DUCKDB_MEMORY_SHARE = 0.75
"""DuckDB gets this share of the sandbox's memory; the rest is headroom for the interpreter,
libduckdb itself (~65 MB resident), result conversion and allocator slack, so DuckDB reports a
clean out-of-memory error before the sandbox's hard limit kills the process."""

_UNITS = {"": 1, "B": 1, "BYTES": 1, "KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30, "TIB": 1 << 40}
_SIZE = re.compile(r"^\s*([0-9.]+)\s*([A-Za-z]*)\s*$")


@dataclass(frozen=True)
class Lockdown:
    """The settings one run gets, derived from its request."""

    allowed_directories: tuple[str, ...]
    temp_directory: str
    memory_limit_mb: int
    max_temp_directory_size_mb: int
    threads: int

    @classmethod
    def for_request(cls, request: Request) -> Lockdown:
        directories = sorted({_as_dir(PurePosixPath(t.path).parent) for t in request.tables})
        return cls(
            allowed_directories=tuple(directories),
            temp_directory=temp_directory(request.run_id),
            memory_limit_mb=max(32, int(request.memory_limit_mb * DUCKDB_MEMORY_SHARE)),
            max_temp_directory_size_mb=request.temp_dir_size_mb,
            threads=request.threads,
        )

    def statements(self) -> list[str]:
        """The SET statements, in the only order that works."""
        return [
            f"SET allowed_directories = {_list_literal(self.allowed_directories)}",
            "SET autoinstall_known_extensions = false",
            "SET autoload_known_extensions = false",
            "SET allow_community_extensions = false",
            "SET enable_progress_bar = false",
            "SET TimeZone = 'UTC'",  # the same answer whatever the host's time zone
            f"SET memory_limit = '{self.memory_limit_mb}MiB'",
            f"SET threads = {self.threads}",
            f"SET temp_directory = {_literal(self.temp_directory)}",
            f"SET max_temp_directory_size = '{self.max_temp_directory_size_mb}MiB'",
            "SET enable_external_access = false",
            "SET lock_configuration = true",
        ]

    def expected(self) -> dict[str, Any]:
        """What ``duckdb_settings()`` must say afterwards (sizes in bytes, directories as a set)."""
        return {
            # DuckDB adds its temp directory to the allowed directories itself.
            "allowed_directories": {*self.allowed_directories, _as_dir(self.temp_directory)},
            "enable_external_access": False,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "allow_community_extensions": False,
            "allow_unsigned_extensions": False,
            "memory_limit": self.memory_limit_mb << 20,
            "threads": self.threads,
            "temp_directory": self.temp_directory,
            "max_temp_directory_size": self.max_temp_directory_size_mb << 20,
            "TimeZone": "UTC",
            "lock_configuration": True,
        }


def temp_directory(run_id: str) -> str:
    """DuckDB's spill directory for one run: on the sandbox's size-limited tmpfs /tmp."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", run_id)[:64] or "run"
    return f"/tmp/duckdb-{safe}"


def open_locked(request: Request) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection, locked down for ``request`` and verified."""
    lockdown = Lockdown.for_request(request)
    try:
        conn = duckdb.connect(":memory:")
    except duckdb.Error as exc:
        raise RunnerFailure("RUNNER_INTERNAL_ERROR", f"cannot open DuckDB: {exc}") from exc
    try:
        for statement in lockdown.statements():
            conn.execute(statement)
        verify(conn, lockdown)
    except duckdb.Error as exc:
        conn.close()
        raise RunnerFailure(
            "RUNNER_INTERNAL_ERROR",
            f"refusing to run: DuckDB {duckdb.__version__} could not be locked down ({exc})",
        ) from exc
    except RunnerFailure:
        conn.close()
        raise
    return conn


def verify(conn: duckdb.DuckDBPyConnection, lockdown: Lockdown) -> None:
    """Read every setting back; raise ``RUNNER_INTERNAL_ERROR`` naming each one that did not take."""
    expected = lockdown.expected()
    rows = conn.execute(
        "SELECT name, value FROM duckdb_settings() WHERE name IN (SELECT unnest($names))",
        {"names": list(expected)},
    ).fetchall()
    actual = {name: value for name, value in rows}
    wrong = []
    for name, want in expected.items():
        if name not in actual:
            wrong.append(f"{name} (unknown to this DuckDB)")
            continue
        got = _normalise(name, actual[name], conn)
        if got != want:
            wrong.append(f"{name}={actual[name]!r} (wanted {want!r})")
    if wrong:
        raise RunnerFailure(
            "RUNNER_INTERNAL_ERROR",
            "refusing to run: DuckDB lock-down did not take: " + ", ".join(wrong),
        )


def _normalise(name: str, raw: str, conn: duckdb.DuckDBPyConnection) -> Any:
    if name == "allowed_directories":
        # current_setting gives the list as a real list; the text form of duckdb_settings()
        # would need parsing.
        value = conn.execute("SELECT current_setting('allowed_directories')").fetchone()
        return {_as_dir(d) for d in (value[0] if value else [])}
    if name in {"memory_limit", "max_temp_directory_size"}:
        return _size_bytes(raw)
    if name == "threads":
        return int(raw)
    if name in {"temp_directory", "TimeZone"}:
        return raw
    return raw.strip().lower() == "true"


def _size_bytes(text: str) -> int | None:
    """``'384.0 MiB'`` → bytes, rounded to a MiB (DuckDB prints one decimal)."""
    match = _SIZE.match(text)
    if not match or match.group(2).upper() not in _UNITS:
        return None
    value = float(match.group(1)) * _UNITS[match.group(2).upper()]
    return round(value / (1 << 20)) << 20


def _as_dir(path: str | PurePosixPath) -> str:
    return str(path).rstrip("/") + "/"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _list_literal(items: Iterable[str]) -> str:
    return "[" + ", ".join(_literal(i) for i in items) + "]"
