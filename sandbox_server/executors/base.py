"""The one small interface every executor implements, and what flows through it.

    RunSpec ──► Executor.run() ──► Execution (the runner's response + which sandbox ran it)

An executor starts one fresh sandbox per run (bubblewrap, a Docker container, a Kubernetes
Job), hands the runner its request on stdin (or the equivalent), and returns the runner's
response. Failures *inside* the sandbox (timeout, memory, a SQL error) come back as a response
with ``status == "failed"`` and an error code; only an executor that cannot run anything at all
raises ``ExecutorUnavailable``.
"""

from __future__ import annotations

import json
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, ClassVar

from sandbox_server.registry import Dataset

if TYPE_CHECKING:
    from sandbox_server.settings import Settings


@dataclass(frozen=True)
class Limits:
    """Hard limits of one run. Units are in the names."""

    timeout_s: float = 10.0
    max_rows: int = 200
    max_output_bytes: int = 8 * 1024 * 1024
    memory_mb: int = 512
    cpus: float = 0.5
    pids: int = 64
    tmp_mb: int = 64
    threads: int = 1

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """The limits the server gives every run."""
        return cls(
            timeout_s=settings.run_timeout_s,
            max_rows=settings.max_rows,
            max_output_bytes=settings.max_output_bytes,
            memory_mb=settings.runner_memory_mb,
            cpus=settings.runner_cpus,
            pids=settings.runner_pids,
            tmp_mb=settings.runner_tmp_mb,
            threads=settings.runner_threads,
        )


@dataclass(frozen=True)
class RunSpec:
    run_id: str
    dataset: Dataset
    sql: str
    limits: Limits = field(default_factory=Limits)

    def runner_request(self, data_root: str | None = None) -> dict[str, Any]:
        """The runner protocol request (DESIGN.md). Table paths are under ``data_root`` as seen
        from inside the sandbox, or the dataset's own directory when ``data_root`` is None."""
        root = str(self.dataset.directory) if data_root is None else data_root
        return {
            "run_id": self.run_id,
            "dataset": {
                "id": self.dataset.id,
                "version_hash": self.dataset.version_hash,
                "tables": [
                    {
                        "name": t.name,
                        "path": str(PurePosixPath(root) / t.file),
                        "columns": [{"name": c.name, "type": c.type} for c in t.columns],
                    }
                    for t in self.dataset.tables
                ],
            },
            "sql": self.sql,
            "max_rows": self.limits.max_rows,
            "timeout_s": self.limits.timeout_s,
            "max_output_bytes": self.limits.max_output_bytes,
            "memory_limit_mb": self.limits.memory_mb,
            "threads": self.limits.threads,
            "temp_dir_size_mb": self.limits.tmp_mb,
        }


@dataclass(frozen=True)
class Execution:
    response: dict[str, Any]
    executor: str
    runner_ref: str
    queue_ms: float = 0.0
    wall_ms: float = 0.0


def failed_response(
    code: str, message: str, *, stderr: str = "", exec_time_ms: float = 0.0
) -> dict[str, Any]:
    """A runner-protocol response for a run the sandbox ended (timeout, OOM kill, crash)."""
    return {
        "status": "failed",
        "columns": [],
        "rows": [],
        "row_count": 0,
        "truncated": False,
        "exec_time_ms": exec_time_ms,
        "stdout_trunc": "",
        "stderr_trunc": stderr[-65536:],
        "error": {"code": code, "message": message},
    }


def parse_response(stdout: bytes) -> dict[str, Any] | None:
    """The runner's response from what the sandbox wrote on stdout, or None if it is not one."""
    try:
        value = json.loads(stdout)
    except ValueError:
        return None
    if isinstance(value, dict) and value.get("status") in ("succeeded", "failed"):
        return value
    return None


class Executor(ABC):
    """Runs one RunSpec in one fresh sandbox."""

    name: ClassVar[str]

    @abstractmethod
    def run(self, spec: RunSpec) -> Execution: ...

    @abstractmethod
    def check(self) -> None:
        """Raise ``ExecutorUnavailable`` (with a message saying how to fix it) when no run could start."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (sweep leftovers); default: nothing."""


class Bounded(Executor):
    """At most ``max_concurrent`` runs at once on the wrapped executor; the rest queue (FIFO-ish).

    The queue time is measured and reported in the execution, and ``queue_depth`` is exposed for
    metrics.
    """

    def __init__(self, inner: Executor, max_concurrent: int) -> None:
        self.inner = inner
        self.name = inner.name  # type: ignore[misc]
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self._lock = threading.Lock()
        self.queue_depth = 0

    def run(self, spec: RunSpec) -> Execution:
        start = time.perf_counter()
        with self._lock:
            self.queue_depth += 1
        try:
            self._slots.acquire()
        finally:
            with self._lock:
                self.queue_depth -= 1
        queue_ms = (time.perf_counter() - start) * 1000
        try:
            execution = self.inner.run(spec)
        finally:
            self._slots.release()
        return Execution(
            response=execution.response,
            executor=execution.executor,
            runner_ref=execution.runner_ref,
            queue_ms=queue_ms,
            wall_ms=execution.wall_ms,
        )

    def check(self) -> None:
        self.inner.check()

    def close(self) -> None:
        self.inner.close()
