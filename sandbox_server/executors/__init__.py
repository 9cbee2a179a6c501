"""Executors: one fresh sandbox per run. ``make_executor`` picks one by name (or ``auto``).

auto ─► kubernetes when running in a cluster
     ─► docker when an engine is reachable and the runner image exists
     ─► local (bubblewrap) otherwise
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sandbox_server.errors import ExecutorUnavailable
from sandbox_server.executors.base import Bounded, Execution, Executor, Limits, RunSpec

if TYPE_CHECKING:
    from sandbox_server.settings import Settings

__all__ = ["Bounded", "Execution", "Executor", "Limits", "RunSpec", "make_executor"]

log = logging.getLogger("csvanalyst.executors")


def _build(name: str, settings: Settings) -> Executor:
    # Imported lazily: each backend pulls in its own client library.
    if name == "local":
        from sandbox_server.executors.local import LocalExecutor

        return LocalExecutor()
    if name == "docker":
        from sandbox_server.executors.docker import DockerExecutor

        return DockerExecutor(settings)
    if name == "kubernetes":
        from sandbox_server.executors.kubernetes import KubernetesExecutor

        return KubernetesExecutor(settings)
    raise ExecutorUnavailable(
        f"unknown executor {name!r}", suggestion="use auto, local, docker or kubernetes"
    )


def _auto(settings: Settings) -> Executor:
    from sandbox_server.executors.kubernetes import in_cluster

    if in_cluster():
        return _build("kubernetes", settings)
    try:
        docker = _build("docker", settings)
        docker.check()
        return docker
    except ExecutorUnavailable as exc:
        log.info("auto executor: docker not usable, using local", extra={"reason": exc.message})
    return _build("local", settings)


def make_executor(settings: Settings, name: str | None = None) -> Bounded:
    chosen = name or settings.executor
    inner = _auto(settings) if chosen == "auto" else _build(chosen, settings)
    return Bounded(inner, settings.max_concurrent_runs)
