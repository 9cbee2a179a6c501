"""What a runner pod's status means for the run: pure functions over V1Pod / V1Job and the log.

    pod status                                   run outcome
    ───────────────────────────────────────────  ─────────────────────────────────────────────
    waiting ErrImagePull, ImagePullBackOff, ...  ExecutorUnavailable (nothing can run)
    waiting CreateContainerConfigError, ...      ExecutorUnavailable (the pod can never start)
    Pending past k8s_pending_timeout_s           ExecutorUnavailable ("stayed Pending: <why>")
    terminated OOMKilled                         RUNNER_RESOURCE_EXCEEDED
    Failed, reason Evicted (ephemeral storage)   RUNNER_RESOURCE_EXCEEDED
    Job condition DeadlineExceeded               RUNNER_TIMEOUT
    running past timeout_s + grace               RUNNER_TIMEOUT
    terminated, log holds a runner response      that response (success or the runner's error)
    terminated, no response in the log           RUNNER_INTERNAL_ERROR with the log tail

A pod that cannot be scheduled or whose image cannot be pulled never ran the query: like an
unreachable API server, that is the executor being unavailable (retry later, fix the cluster),
not a failure of the sandboxed run, so it raises instead of returning a failed response.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from kubernetes import client

from sandbox_server.executors.k8s.manifest import CONTAINER_NAME

PodPhase = Literal["pending", "running", "terminated", "cannot_start"]

IMAGE_ERRORS: frozenset[str] = frozenset(
    {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "RegistryUnavailable"}
)
START_ERRORS: frozenset[str] = frozenset(
    {"CreateContainerConfigError", "CreateContainerError", "RunContainerError"}
)


@dataclass(frozen=True)
class PodView:
    """The part of a pod's status the executor acts on."""

    phase: PodPhase
    reason: str = ""
    message: str = ""
    exit_code: int | None = None
    deleting: bool = False

    def describe(self) -> str:
        return ": ".join(part for part in (self.reason, self.message) if part) or self.phase


def observe(pod: client.V1Pod) -> PodView:
    status = pod.status or client.V1PodStatus()
    deleting = bool(pod.metadata and pod.metadata.deletion_timestamp)
    container = next((c for c in status.container_statuses or [] if c.name == CONTAINER_NAME), None)
    state = container.state if container else None
    terminated = state.terminated if state else None
    if status.phase in ("Succeeded", "Failed") and status.reason:
        # Evicted (ephemeral storage) or the pod-level deadline: the kubelet's reason says more
        # than the container's own ("Error", "ContainerStatusUnknown").
        exit_code = terminated.exit_code if terminated else None
        return PodView("terminated", status.reason, status.message or "", exit_code, deleting)
    if terminated:
        return PodView(
            "terminated", terminated.reason or "", terminated.message or "", terminated.exit_code, deleting
        )
    if status.phase in ("Succeeded", "Failed"):
        return PodView("terminated", status.phase, status.message or "", None, deleting)
    if state and state.waiting and state.waiting.reason in IMAGE_ERRORS | START_ERRORS:
        return PodView(
            "cannot_start", state.waiting.reason or "", state.waiting.message or "", None, deleting
        )
    if status.phase == "Running" or (state and state.running):
        return PodView("running", deleting=deleting)
    unscheduled = next(
        (c for c in status.conditions or [] if c.type == "PodScheduled" and c.status == "False"), None
    )
    if unscheduled:
        return PodView("pending", unscheduled.reason or "", unscheduled.message or "", None, deleting)
    if state and state.waiting:
        return PodView("pending", state.waiting.reason or "", state.waiting.message or "", None, deleting)
    return PodView("pending", status.reason or "", status.message or "", None, deleting)


def job_failure(job: client.V1Job | None) -> tuple[str, str] | None:
    """``(reason, message)`` of a Job's Failed condition, if it has one."""
    if job is None or job.status is None:
        return None
    for condition in job.status.conditions or []:
        if condition.type == "Failed" and condition.status == "True":
            return condition.reason or "Failed", condition.message or ""
    return None


def parse_response(log: str) -> dict[str, Any] | None:
    """The runner's response in a pod log: the last line that is a JSON object with a ``status``.

    The log interleaves stdout with stderr, so the response is found, not assumed to be all of it.

    >>> parse_response('warming up\\n{"status": "succeeded", "rows": []}\\n')
    {'status': 'succeeded', 'rows': []}
    >>> parse_response("Traceback ...") is None
    True
    """
    candidates = [log, *reversed(log.splitlines())]
    for text in candidates:
        text = text.strip()
        if not text.startswith("{"):
            continue
        try:
            value = json.loads(text)
        except ValueError:
            continue
        if isinstance(value, dict) and isinstance(value.get("status"), str):
            return value
    return None
