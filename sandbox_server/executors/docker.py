"""The docker executor: ``python -m runner`` in one fresh, locked-down container per run.

Each run gets a new container of the runner image (runner/Dockerfile) with every limit the
security model asks for: no network, read-only root filesystem, a size-limited noexec tmpfs
``/tmp``, the dataset's directory read-only at ``/data``, uid/gid 1000, no capabilities, no new
privileges, and memory (no swap), CPU and pids limits. The request goes in on stdin, the response
comes back on stdout (stderr kept apart), and the container is removed whatever happens.

The server may die between creating a container and removing it, so every container carries
labels: ``csvanalyst.managed``, its run id, and a deadline past which no run can still be going.
``sweep`` (run by the first successful ``check``) removes managed containers whose deadline has
passed. Going by the deadline rather than removing every managed container keeps the runs of
another server sharing the same engine alive.

One Docker client is shared by all threads: its connection pool is sized for the concurrency the
``Bounded`` wrapper allows, and nothing else in here is mutable after ``check``.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import docker
import docker.errors
import docker.types
import requests.exceptions
from docker.models.containers import Container

from sandbox_server.errors import DatasetInvalid, ExecutorUnavailable
from sandbox_server.executors.base import (
    Execution,
    Executor,
    Limits,
    RunSpec,
    failed_response,
    parse_response,
)

if TYPE_CHECKING:
    from sandbox_server.settings import Settings

LABEL_MANAGED = "csvanalyst.managed"
LABEL_RUN_ID = "csvanalyst.run_id"
LABEL_DEADLINE = "csvanalyst.deadline"
"""Unix time (seconds) after which the container's run is over for certain: the sweep removes it."""

SANDBOX_USER = "1000:1000"
WALL_GRACE_S = 5.0
"""The wall-clock kill comes this long after the runner's own timeout: container start-up, and the
runner's watchdog gets the first chance to answer cleanly."""

SWEEP_SLACK_S = 60.0
"""Added to a container's deadline label: create and clean-up calls on a busy engine take time."""

BUILD_HINT = "build the runner image with scripts/build-runner-image.sh"
DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"


@dataclass(frozen=True)
class ContainerOutcome:
    """How one container ended: what it wrote, its exit, and whether a limit stopped it."""

    container_id: str
    stdout: bytes
    stderr: str
    exit_code: int | None
    timed_out: bool
    oom_killed: bool
    wall_ms: float


class DockerExecutor(Executor):
    """Runs each RunSpec in a fresh container of the runner image."""

    name = "docker"

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        image: str | None = None,
        data_root: str | None = None,
        max_concurrent_runs: int | None = None,
        client: docker.DockerClient | None = None,
    ) -> None:
        if settings is None:
            from sandbox_server.settings import get_settings

            settings = get_settings()
        self.image = image or settings.docker_image
        self.data_root = data_root or settings.docker_data_root
        self._pool_size = 2 * (max_concurrent_runs or settings.max_concurrent_runs) + 4
        self._client = client
        self._lock = threading.Lock()
        self._ready = False

    # -- the engine

    def client(self) -> docker.DockerClient:
        """The shared Docker client, connected on first use."""
        with self._lock:
            if self._client is None:
                try:
                    self._client = docker.from_env(max_pool_size=self._pool_size)
                except docker.errors.DockerException as exc:
                    raise _unreachable(exc) from exc
            return self._client

    def check(self) -> None:
        """Ping the engine and look the image up; the first success also sweeps leftovers."""
        if self._ready:
            return
        client = self.client()
        try:
            client.ping()
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise _unreachable(exc) from exc
        try:
            client.images.get(self.image)
        except docker.errors.ImageNotFound as exc:
            raise ExecutorUnavailable(
                f"the runner image {self.image!r} does not exist in the Docker engine: {BUILD_HINT}",
                suggestion=BUILD_HINT,
            ) from exc
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise ExecutorUnavailable(f"cannot inspect the runner image {self.image!r}: {exc}") from exc
        self.sweep()
        self._ready = True

    def sweep(self) -> list[str]:
        """Remove managed containers past their deadline (left by a server that died); return their ids."""
        now = time.time()
        removed: list[str] = []
        try:
            containers = self.client().containers.list(all=True, filters={"label": f"{LABEL_MANAGED}=true"})
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise ExecutorUnavailable(f"cannot list containers: {exc}") from exc
        for container in containers:
            try:
                deadline = float(container.labels.get(LABEL_DEADLINE, "0"))
            except ValueError:
                deadline = 0.0
            if deadline < now:
                _remove(container)
                removed.append(container.short_id)
        return removed

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
            self._ready = False

    # -- the sandbox

    def container_kwargs(self, spec: RunSpec, *, entrypoint: Sequence[str] | None = None) -> dict[str, Any]:
        """Arguments of ``client.containers.create`` for one run (tests run their probes through
        exactly these, with another ``entrypoint``, so they check the sandbox runs get)."""
        if spec.dataset.directory is None:
            raise DatasetInvalid(f"dataset {spec.dataset.id!r} has no directory to mount")
        data_dir = Path(spec.dataset.directory).resolve()
        if not data_dir.is_dir():
            raise DatasetInvalid(f"dataset {spec.dataset.id!r}: directory {data_dir} does not exist")
        limits = spec.limits
        deadline = time.time() + limits.timeout_s + WALL_GRACE_S + SWEEP_SLACK_S
        kwargs: dict[str, Any] = {
            "image": self.image,
            "labels": {
                LABEL_MANAGED: "true",
                LABEL_RUN_ID: spec.run_id,
                LABEL_DEADLINE: f"{deadline:.0f}",
            },
            # detach=False makes the SDK set StdinOnce: the container's stdin closes when we hang up.
            "stdin_open": True,
            "detach": False,
            "user": SANDBOX_USER,
            "network_mode": "none",
            "read_only": True,
            "tmpfs": {"/tmp": f"rw,noexec,nosuid,nodev,size={limits.tmp_mb}m"},
            "volumes": {str(data_dir): {"bind": self.data_root, "mode": "ro"}},
            "mem_limit": f"{limits.memory_mb}m",
            "memswap_limit": f"{limits.memory_mb}m",  # equal to mem_limit: no swap
            "nano_cpus": int(limits.cpus * 1e9),
            "pids_limit": limits.pids,
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges"],
            "ulimits": [docker.types.Ulimit(name="core", soft=0, hard=0)],
            "environment": {"HOME": "/tmp", "TMPDIR": "/tmp", "PYTHONDONTWRITEBYTECODE": "1"},
        }
        if entrypoint is not None:
            kwargs["entrypoint"] = list(entrypoint)
        return kwargs

    def run_container(self, kwargs: dict[str, Any], stdin: bytes, *, wait_s: float) -> ContainerOutcome:
        """Create a container from ``kwargs``, feed it ``stdin``, wait at most ``wait_s`` (then kill
        it), collect its output and remove it."""
        client = self.client()
        try:
            container = client.containers.create(**kwargs)
        except docker.errors.ImageNotFound as exc:
            raise ExecutorUnavailable(
                f"the runner image {self.image!r} is missing: {BUILD_HINT}", suggestion=BUILD_HINT
            ) from exc
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise ExecutorUnavailable(f"the Docker engine could not create a container: {exc}") from exc
        started = time.perf_counter()
        try:
            timed_out = self._start_and_wait(container, stdin, wait_s)
            wall_ms = (time.perf_counter() - started) * 1000
            container.reload()
            state = container.attrs.get("State", {})
            stdout = container.logs(stdout=True, stderr=False)
            stderr = container.logs(stdout=False, stderr=True).decode("utf-8", "replace")
            return ContainerOutcome(
                container_id=container.short_id,
                stdout=stdout,
                stderr=stderr,
                exit_code=state.get("ExitCode"),
                timed_out=timed_out,
                oom_killed=bool(state.get("OOMKilled")),
                wall_ms=wall_ms,
            )
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise ExecutorUnavailable(f"the Docker engine failed during a run: {exc}") from exc
        finally:
            _remove(container)

    def _start_and_wait(self, container: Container, stdin: bytes, wait_s: float) -> bool:
        """Start the container with ``stdin`` as its input; True when it had to be killed."""
        attached = container.attach_socket(params={"stdin": 1, "stream": 1})
        # The SDK hands back a file object over the raw socket: EOF reaches the container only
        # when the socket itself is shut for writing (closing the wrapper is not enough).
        raw: socket.socket = getattr(attached, "_sock", attached)
        started = time.monotonic()
        try:
            container.start()
            # A container that never reads its stdin must not hold us past the wall clock.
            raw.settimeout(wait_s)
            raw.sendall(stdin)
            raw.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # it exited (or stalled) before reading everything; its exit or the kill says why
        finally:
            attached.close()
            raw.close()
        try:
            container.wait(timeout=max(0.1, wait_s - (time.monotonic() - started)))
            return False
        except requests.exceptions.RequestException:
            # The SDK reports an expired wait as a read timeout of its HTTP request.
            with contextlib.suppress(docker.errors.APIError):  # it may have ended meanwhile
                container.kill()
            container.wait(timeout=30)
            return True

    # -- the Executor interface

    def run(self, spec: RunSpec) -> Execution:
        self.check()
        request = json.dumps(spec.runner_request(data_root=self.data_root)).encode()
        outcome = self.run_container(
            self.container_kwargs(spec), request, wait_s=spec.limits.timeout_s + WALL_GRACE_S
        )
        return Execution(
            response=interpret(outcome, spec.limits),
            executor=self.name,
            runner_ref=outcome.container_id,
            wall_ms=outcome.wall_ms,
        )


def interpret(outcome: ContainerOutcome, limits: Limits) -> dict[str, Any]:
    """The runner's response, or — when the container ended without one — a failed response that
    says why: killed on the wall clock, killed by the memory cgroup, or a crash."""
    if outcome.timed_out:
        return failed_response(
            "RUNNER_TIMEOUT",
            f"the run was killed after {limits.timeout_s:g} s (wall clock)",
            stderr=outcome.stderr,
        )
    if outcome.oom_killed or outcome.exit_code == 137:
        # 137 (SIGKILL) that we did not send: only the kernel's OOM killer sends it here.
        return failed_response(
            "RUNNER_RESOURCE_EXCEEDED",
            f"the run ran out of memory (limit {limits.memory_mb} MB) and was stopped",
            stderr=outcome.stderr,
        )
    response = parse_response(outcome.stdout)
    if response is not None and outcome.exit_code == 0:
        return response
    if any(
        m in outcome.stderr for m in ("MemoryError", "bad_alloc", "Cannot allocate memory", "Out of Memory")
    ):
        return failed_response(
            "RUNNER_RESOURCE_EXCEEDED",
            f"the run ran out of memory (limit {limits.memory_mb} MB) and was stopped",
            stderr=outcome.stderr,
        )
    return failed_response(
        "RUNNER_INTERNAL_ERROR",
        f"the container ended without a valid response (exit {outcome.exit_code}); see stderr",
        stderr=outcome.stderr,
    )


def _remove(container: Container) -> None:
    try:
        container.remove(force=True)
    except docker.errors.NotFound:
        pass
    except (docker.errors.DockerException, requests.exceptions.RequestException):
        # Not fatal for the run; the next sweep removes it once its deadline has passed.
        pass


def _unreachable(exc: Exception) -> ExecutorUnavailable:
    where = os.environ.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST
    return ExecutorUnavailable(
        f"Docker engine not reachable at {where}: start dockerd or use --executor local ({exc})",
        suggestion="start it with scripts/start-docker.sh (as root), or choose --executor local",
    )
