"""The Kubernetes executor: one batch/v1 Job per run, watched until its pod ends, then deleted.

    create Job ──► watch the Job's pods ──► pod terminated ──► read the pod log ──► delete Job
        │ 409: ours (a lost answer)?        │ Pending too long, image pull error: unavailable
        │ else a new name                   │ OOMKilled, evicted, deadline: a failed response
        └ 429/5xx/reset: retried            └ 410 Gone: start the watch over

The Job (``k8s/manifest.py``) carries the runner request in an environment variable, runs as
non-root with a read-only root and no service-account token, and reads datasets from a
read-only volume. The executor never waits on a blocked socket past a deadline: the watch's
read timeout is the time left until the nearest deadline (Pending, or the run's own timeout),
so a stuck pod is noticed on time without polling. The Job is always deleted (Background
propagation, so its pod goes too); ``ttlSecondsAfterFinished`` cleans up after a server that
died mid-run.
"""

from __future__ import annotations

import logging
import math
import os
import time
from pathlib import Path
from typing import Any, ClassVar

import urllib3.exceptions
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from sandbox_server.errors import ExecutorUnavailable
from sandbox_server.executors.base import Execution, Executor, RunSpec, failed_response
from sandbox_server.executors.k8s import retry
from sandbox_server.executors.k8s.manifest import (
    ANNOTATION_RUN_ID,
    CONTAINER_NAME,
    RUN_GRACE_S,
    build_job,
    job_name,
)
from sandbox_server.executors.k8s.outcome import IMAGE_ERRORS, PodView, job_failure, observe, parse_response
from sandbox_server.executors.k8s.retry import TRANSIENT_ERRORS, RetryPolicy
from sandbox_server.settings import Settings, get_settings

__all__ = ["KubernetesExecutor", "api_client_from_environment", "in_cluster"]

log = logging.getLogger(__name__)

SERVICE_ACCOUNT_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")
_API_ERRORS: tuple[type[BaseException], ...] = (ApiException, *TRANSIENT_ERRORS)
# Extra log bytes read beyond the result cap: the runner's stderr shares the log.
_LOG_HEADROOM_BYTES = 1 << 20
_NAME_CONFLICT_TRIES = 3


def in_cluster() -> bool:
    """Running in a pod that can use its service account (what ``--executor auto`` asks)."""
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and SERVICE_ACCOUNT_TOKEN.is_file()


def api_client_from_environment() -> client.ApiClient:
    """An API client from the in-cluster service account, else from the kubeconfig."""
    configuration = client.Configuration()
    try:
        if in_cluster():
            config.load_incluster_config(client_configuration=configuration)
        else:
            config.load_kube_config(client_configuration=configuration)
    except (ConfigException, OSError) as exc:
        raise ExecutorUnavailable(
            f"no Kubernetes configuration: {exc}",
            suggestion="run the server in a pod with a service account, or point KUBECONFIG at a kubeconfig",
        ) from exc
    return client.ApiClient(configuration)


class KubernetesExecutor(Executor):
    """Runs each RunSpec as a Kubernetes Job in ``settings.k8s_namespace``."""

    name: ClassVar[str] = "kubernetes"

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        api_client: client.ApiClient | None = None,
        retry_policy: RetryPolicy | None = None,
        connect_timeout_s: float = 5.0,
        request_timeout_s: float = 30.0,
        run_grace_s: float = RUN_GRACE_S,
    ) -> None:
        self.settings = settings or get_settings()
        self.namespace = self.settings.k8s_namespace
        self._owns_client = api_client is None
        self.api_client = api_client or api_client_from_environment()
        self.batch = client.BatchV1Api(self.api_client)
        self.core = client.CoreV1Api(self.api_client)
        self.retry = retry_policy or RetryPolicy()
        self.connect_timeout_s = connect_timeout_s
        self._timeout = (connect_timeout_s, request_timeout_s)
        # Past timeout_s the runner answers RUNNER_TIMEOUT itself; the grace covers its start-up.
        self.run_grace_s = run_grace_s

    # -- Executor interface

    def check(self) -> None:
        """The API server answers, and this server may list Jobs in its namespace."""
        host = self.api_client.configuration.host
        try:
            retry.call(
                self.retry, client.CoreApi(self.api_client).get_api_versions, _request_timeout=self._timeout
            )
        except _API_ERRORS as exc:
            raise retry.unavailable(exc, f"at {host}", self.namespace) from exc
        try:
            retry.call(
                self.retry,
                self.batch.list_namespaced_job,
                self.namespace,
                limit=1,
                _request_timeout=self._timeout,
            )
        except _API_ERRORS as exc:
            raise retry.unavailable(exc, "listing jobs", self.namespace) from exc

    def run(self, spec: RunSpec) -> Execution:
        started = time.monotonic()
        name = self._create(spec)
        try:
            response = self._await(name, spec, started)
        finally:
            self._delete(name)
        return Execution(
            response=response,
            executor=self.name,
            runner_ref=name,
            wall_ms=(time.monotonic() - started) * 1000,
        )

    def close(self) -> None:
        if self._owns_client:
            self.api_client.close()

    # -- lifecycle

    def _create(self, spec: RunSpec) -> str:
        for _ in range(_NAME_CONFLICT_TRIES):
            name = job_name(spec.run_id)
            job = build_job(spec, self.settings, name)
            try:
                retry.call(
                    self.retry,
                    self.batch.create_namespaced_job,
                    self.namespace,
                    job,
                    _request_timeout=self._timeout,
                )
                return name
            except ApiException as exc:
                if exc.status != 409:
                    raise retry.unavailable(exc, "creating the runner Job", self.namespace) from exc
                if self._is_ours(name, spec.run_id):
                    # An earlier attempt created it and its answer was lost (a reset connection).
                    return name
            except TRANSIENT_ERRORS as exc:
                raise retry.unavailable(exc, "creating the runner Job", self.namespace) from exc
        raise ExecutorUnavailable(f"every Job name tried for run {spec.run_id} was taken")

    def _is_ours(self, name: str, run_id: str) -> bool:
        job = self._read_job(name)
        annotations = (job.metadata.annotations or {}) if job and job.metadata else {}
        return annotations.get(ANNOTATION_RUN_ID) == run_id

    def _read_job(self, name: str) -> client.V1Job | None:
        try:
            job: client.V1Job = retry.call(
                self.retry,
                self.batch.read_namespaced_job,
                name,
                self.namespace,
                _request_timeout=self._timeout,
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise retry.unavailable(exc, f"reading Job {name}", self.namespace) from exc
        except TRANSIENT_ERRORS as exc:
            raise retry.unavailable(exc, f"reading Job {name}", self.namespace) from exc
        return job

    def _delete(self, name: str) -> None:
        try:
            retry.call(
                self.retry,
                self.batch.delete_namespaced_job,
                name,
                self.namespace,
                propagation_policy="Background",
                _request_timeout=self._timeout,
            )
        except ApiException as exc:
            if exc.status != 404:
                log.warning(
                    "could not delete runner Job %s (its TTL will): %s", name, retry.status_message(exc)
                )
        except TRANSIENT_ERRORS as exc:
            # Never mask the run's own outcome: ttlSecondsAfterFinished removes the Job later.
            log.warning("could not delete runner Job %s (its TTL will): %s", name, exc)

    def _await(self, name: str, spec: RunSpec, started: float) -> dict[str, Any]:
        """Watch the Job's pod until it ends; its outcome as a runner response."""
        pending_deadline = started + self.settings.k8s_pending_timeout_s
        run_deadline: float | None = None
        last: PodView | None = None
        pod_name = ""
        watcher = watch.Watch()
        resource_version: str | None = None
        failures = 0
        while True:
            deadline = pending_deadline if run_deadline is None else run_deadline
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return self._expired(name, spec, last, running=run_deadline is not None)
            kwargs: dict[str, Any] = {
                "label_selector": f"job-name={name}",
                "timeout_seconds": max(1, math.ceil(remaining)),
                # No bytes for `remaining` seconds: a deadline is due, so wake up and act on it.
                "_request_timeout": (self.connect_timeout_s, max(remaining, 0.05)),
            }
            if resource_version:
                kwargs["resource_version"] = resource_version
            try:
                for event in watcher.stream(self.core.list_namespaced_pod, self.namespace, **kwargs):
                    failures = 0
                    resource_version = watcher.resource_version
                    pod: client.V1Pod = event["object"]
                    pod_name = str(pod.metadata.name) if pod.metadata else ""
                    if event["type"] == "DELETED":
                        return self._vanished(name, spec, pod_name, last)
                    last = observe(pod)
                    if last.phase == "cannot_start":
                        raise self._cannot_start(name, pod_name, last)
                    if last.phase == "terminated":
                        return self._finish(name, spec, pod_name, last)
                    if last.phase == "running" and run_deadline is None:
                        run_deadline = time.monotonic() + spec.limits.timeout_s + self.run_grace_s
                        break  # watch again with the (shorter) run deadline as read timeout
            except urllib3.exceptions.ReadTimeoutError:
                continue  # the nearest deadline is due; the loop's head acts on it
            except _API_ERRORS as exc:
                if isinstance(exc, ApiException) and exc.status == 410:
                    resource_version = None  # too old to resume: start over from the current state
                    continue
                if not retry.is_transient(exc) or failures >= self.retry.attempts - 1:
                    raise retry.unavailable(exc, f"watching the pods of Job {name}", self.namespace) from exc
                time.sleep(self.retry.delay_s(failures))
                failures += 1

    def _cannot_start(self, name: str, pod_name: str, view: PodView) -> ExecutorUnavailable:
        if view.reason in IMAGE_ERRORS:
            suggestion = (
                f"check that image {self.settings.k8s_image!r} exists and the cluster can pull it "
                "(CSVANALYST_K8S_IMAGE, CSVANALYST_K8S_IMAGE_PULL_POLICY)"
            )
        else:
            suggestion = f"kubectl describe pod {pod_name} -n {self.namespace} says why"
        return ExecutorUnavailable(
            f"runner pod {pod_name} cannot start: {view.describe()}", suggestion=suggestion, runner_ref=name
        )

    def _expired(self, name: str, spec: RunSpec, last: PodView | None, *, running: bool) -> dict[str, Any]:
        if running:
            return failed_response(
                "RUNNER_TIMEOUT",
                f"the query ran longer than its limit of {spec.limits.timeout_s:g} s and was stopped",
            )
        waited = f"{self.settings.k8s_pending_timeout_s:g} s"
        if last is None:
            raise ExecutorUnavailable(
                f"no runner pod was created for Job {name} within {waited}",
                suggestion=f"kubectl describe job {name} -n {self.namespace} (a quota or admission policy may reject it)",
                runner_ref=name,
            )
        raise ExecutorUnavailable(
            f"runner pod stayed Pending for {waited}: {last.describe()}",
            suggestion="the cluster has no room for a runner pod right now; retry later or lower "
            "CSVANALYST_RUNNER_CPUS / CSVANALYST_RUNNER_MEMORY_MB",
            runner_ref=name,
        )

    def _vanished(self, name: str, spec: RunSpec, pod_name: str, last: PodView | None) -> dict[str, Any]:
        """The pod was deleted before it was seen to end: the Job's deadline, or someone else."""
        if last is not None and last.phase == "terminated":
            return self._finish(name, spec, pod_name, last)
        failure = job_failure(self._read_job(name))
        if failure and failure[0] == "DeadlineExceeded":
            return self._timed_out(spec)
        reason = f" ({failure[0]}: {failure[1]})" if failure else ""
        return failed_response(
            "RUNNER_INTERNAL_ERROR", f"runner pod {pod_name} was deleted before it finished{reason}"
        )

    def _finish(self, name: str, spec: RunSpec, pod_name: str, view: PodView) -> dict[str, Any]:
        if view.reason == "OOMKilled":
            return failed_response(
                "RUNNER_RESOURCE_EXCEEDED",
                f"the query needed more than the runner's {spec.limits.memory_mb} MiB of memory; "
                "aggregate more or select fewer columns",
            )
        if view.reason == "Evicted":
            return failed_response(
                "RUNNER_RESOURCE_EXCEEDED",
                f"the runner pod was evicted: {view.message or 'it exceeded its ephemeral storage'}",
            )
        if view.reason == "DeadlineExceeded":
            return self._timed_out(spec)
        text = self._read_log(pod_name, spec)
        response = parse_response(text)
        if response is not None:
            return response
        failure = job_failure(self._read_job(name))
        if failure and failure[0] == "DeadlineExceeded":
            return self._timed_out(spec)
        return failed_response(
            "RUNNER_INTERNAL_ERROR",
            f"the runner exited with code {view.exit_code} ({view.reason or 'no reason given'}) without a response",
            stderr=text or view.message,
        )

    @staticmethod
    def _timed_out(spec: RunSpec) -> dict[str, Any]:
        return failed_response(
            "RUNNER_TIMEOUT",
            f"the runner Job passed its deadline (query limit {spec.limits.timeout_s:g} s) and was stopped",
        )

    def _read_log(self, pod_name: str, spec: RunSpec) -> str:
        try:
            # Raw bytes, not the client's "str" deserialisation, which turns a JSON log into a
            # Python repr of the parsed object.
            resp: Any = retry.call(
                self.retry,
                self.core.read_namespaced_pod_log,
                pod_name,
                self.namespace,
                container=CONTAINER_NAME,
                limit_bytes=spec.limits.max_output_bytes + _LOG_HEADROOM_BYTES,
                _preload_content=False,
                _request_timeout=self._timeout,
            )
            data: bytes = resp.data
        except ApiException as exc:
            if exc.status == 404:
                return ""
            raise retry.unavailable(exc, f"reading the log of pod {pod_name}", self.namespace) from exc
        except TRANSIENT_ERRORS as exc:
            raise retry.unavailable(exc, f"reading the log of pod {pod_name}", self.namespace) from exc
        return data.decode("utf-8", errors="replace")
