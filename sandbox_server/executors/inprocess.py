"""The in-process executor: the runner engine called directly, in the server's own process.

    ┌───────────────────────────────────────────────────────────────────────────────┐
    │ FOR TESTS OF THE UPPER LAYERS ONLY. NEVER USED TO ANSWER A USER.              │
    │ There is no sandbox here: no namespaces, no rlimits, no wall-clock kill. The   │
    │ DuckDB lock-down still applies, but a query runs with the server's privileges. │
    └───────────────────────────────────────────────────────────────────────────────┘

It exists so tests of the planner, compiler, policy, capsule store and HTTP layer can run real
DuckDB queries quickly on machines without bubblewrap or Docker. It is deliberately not one of
the ``executor`` choices of Settings/CLI (auto|local|docker|kubernetes); tests construct it.
"""

from __future__ import annotations

import os
import time

from runner.engine import execute
from sandbox_server.errors import DatasetInvalid
from sandbox_server.executors.base import Execution, Executor, RunSpec


class InProcessExecutor(Executor):
    """Runs the runner engine in this process. Tests only (see the module docstring)."""

    name = "inprocess"

    def run(self, spec: RunSpec) -> Execution:
        if spec.dataset.directory is None:
            raise DatasetInvalid(f"dataset {spec.dataset.id!r} has no directory")
        started = time.perf_counter()
        # The runner wants absolute paths; a registry loaded from a relative directory has none.
        response = execute(spec.runner_request(data_root=str(spec.dataset.directory.resolve())))
        return Execution(
            response=response,
            executor=self.name,
            runner_ref=f"inprocess:{os.getpid()}",
            wall_ms=(time.perf_counter() - started) * 1000,
        )

    def check(self) -> None:
        """Always available: it needs nothing but duckdb."""
