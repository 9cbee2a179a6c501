"""A fake Kubernetes API server on localhost, for the Kubernetes executor's tests.

It answers the real ``kubernetes`` client over HTTP the way the API server does, for what the
executor uses: ``GET /api`` (versions), batch/v1 Jobs in a namespace (create, get, list, delete
with ``propagationPolicy``), Pods (list and ``watch=true`` streams of newline-delimited JSON
events with resourceVersions, 410 on a too-old one), and ``pods/{name}/log``. Errors are
``Status`` objects with the real reasons (NotFound, AlreadyExists, TooManyRequests, ...).

A "job controller" thread per Job creates its pod (labels ``job-name``, ``controller-uid``) and
walks it through a scripted :class:`Scenario` in tens of milliseconds: Pending → Running →
Succeeded with a log, or a failure (stuck Pending, image pull errors, OOMKilled, the Job's
deadline, eviction). A log given as a function of the Job's runner request is computed while
the pod is Running, as the real container would (e.g. by running the real runner on it). :class:`Fault` injects API trouble: an error status or a reset connection,
before or after the operation took effect.

Deleting a Job without ``propagationPolicy`` orphans its pods, as the real API does for batch/v1
Jobs, so a test can tell whether the executor asked for Background deletion.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

STEP_S = 0.02
"""Time between two scripted pod changes: fast tests, yet distinct watch events."""

Op = Literal[
    "api_versions", "list_jobs", "create_job", "read_job", "delete_job", "list_pods", "watch_pods", "read_log"
]
LogSource = str | Callable[[dict[str, Any]], str]

_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "AlreadyExists",
    410: "Expired",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "Timeout",
}
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_body(
    code: int, message: str, *, name: str | None = None, kind: str | None = None
) -> dict[str, Any]:
    """A ``meta/v1`` Status, the body of every API error."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": _REASONS.get(code, "Unknown"),
        "code": code,
    }
    if name is not None:
        body["details"] = {"name": name, "group": "batch" if kind == "jobs" else "", "kind": kind}
    return body


# -- scenarios: what the fake kubelet does with a Job's pod


@dataclass(frozen=True)
class Step:
    """One change to the pod (and maybe the Job), ``after_s`` after the previous one."""

    pod_status: dict[str, Any] | None = None
    job_condition: dict[str, Any] | None = None
    mark_deleting: bool = False
    delete_pod: bool = False
    after_s: float = STEP_S


@dataclass(frozen=True)
class Scenario:
    steps: tuple[Step, ...]
    log: LogSource = ""
    create_pod: bool = True


def _container(state: dict[str, Any], *, image: str = "csvanalyst-runner:latest") -> dict[str, Any]:
    return {
        "name": "runner",
        "image": image,
        "imageID": "",
        "ready": "running" in state,
        "restartCount": 0,
        "started": "running" in state,
        "state": state,
    }


def pending(reason: str = "ContainerCreating", message: str = "") -> dict[str, Any]:
    waiting = {"reason": reason, **({"message": message} if message else {})}
    return {
        "phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "True"}],
        "containerStatuses": [_container({"waiting": waiting})],
    }


def unschedulable(message: str) -> dict[str, Any]:
    return {
        "phase": "Pending",
        "conditions": [
            {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}
        ],
    }


def running() -> dict[str, Any]:
    return {
        "phase": "Running",
        "startTime": _now(),
        "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True"}],
        "containerStatuses": [_container({"running": {"startedAt": _now()}})],
    }


def terminated(exit_code: int, reason: str, *, phase: str | None = None, message: str = "") -> dict[str, Any]:
    state = {"exitCode": exit_code, "reason": reason, "startedAt": _now(), "finishedAt": _now()}
    if message:
        state["message"] = message
    return {
        "phase": phase or ("Succeeded" if exit_code == 0 else "Failed"),
        "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "False"}],
        "containerStatuses": [_container({"terminated": state})],
    }


def _job_condition(kind: str, reason: str, message: str = "") -> dict[str, Any]:
    return {
        "type": kind,
        "status": "True",
        "reason": reason,
        "message": message,
        "lastTransitionTime": _now(),
    }


def succeeds(log: LogSource) -> Scenario:
    return Scenario(
        (
            Step(pending()),
            Step(running()),
            Step(terminated(0, "Completed"), job_condition=_job_condition("Complete", "Completed")),
        ),
        log=log,
    )


def exits(exit_code: int, log: LogSource) -> Scenario:
    """The runner ends on its own with ``exit_code`` (whatever it printed is the log)."""
    reason = "Completed" if exit_code == 0 else "Error"
    return Scenario((Step(pending()), Step(running()), Step(terminated(exit_code, reason))), log=log)


def stuck_pending(message: str = "0/3 nodes are available: 3 Insufficient memory.") -> Scenario:
    return Scenario((Step(unschedulable(message)),))


def no_pod() -> Scenario:
    """The Job controller never manages to create a pod (a quota, an admission webhook)."""
    return Scenario((), create_pod=False)


def image_pull_fails(reason: str = "ErrImagePull") -> Scenario:
    message = 'failed to pull and unpack image "docker.invalid/csvanalyst-runner:latest": not found'
    return Scenario((Step(pending()), Step(pending(reason, message))))


def oom_killed() -> Scenario:
    return Scenario(
        (
            Step(pending()),
            Step(running()),
            Step(
                terminated(137, "OOMKilled"),
                job_condition=_job_condition(
                    "Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit"
                ),
            ),
        )
    )


def evicted() -> Scenario:
    status = terminated(137, "Error")
    status.update(
        reason="Evicted",
        message="Pod ephemeral local storage usage exceeds the total limit of containers 96Mi.",
    )
    return Scenario((Step(pending()), Step(running()), Step(status)))


def deadline_exceeded(log: LogSource = "") -> Scenario:
    """The Job's activeDeadlineSeconds passes: the controller fails the Job and kills the pod."""
    return Scenario(
        (
            Step(pending()),
            Step(running()),
            Step(
                job_condition=_job_condition(
                    "Failed", "DeadlineExceeded", "Job was active longer than specified deadline"
                ),
                mark_deleting=True,
            ),
            Step(terminated(143, "Error")),
            Step(delete_pod=True),
        ),
        log=log,
    )


def pod_deleted(job_failure: str | None = None) -> Scenario:
    """The running pod disappears without a final status (a drained node, ``kubectl delete pod``),
    after the Job failed with ``job_failure`` as its reason, if given."""
    condition = _job_condition("Failed", job_failure) if job_failure else None
    return Scenario((Step(pending()), Step(running()), Step(job_condition=condition, delete_pod=True)))


def runs_forever() -> Scenario:
    return Scenario((Step(pending()), Step(running())))


# -- faults: what goes wrong between the client and the API server


@dataclass
class Fault:
    """The next ``times`` requests for ``op`` fail: with ``status`` (a Status body; for a watch,
    an ERROR event) or, with ``reset``, a closed connection and no answer at all. ``after_commit``
    performs the operation first, as when a server's answer is lost on the way back."""

    op: Op
    status: int | None = None
    reset: bool = False
    after_commit: bool = False
    times: int = 1
    retry_after: str | None = None


@dataclass(frozen=True)
class Recorded:
    op: str
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any


# -- the server


@dataclass
class _Pod:
    namespace: str
    obj: dict[str, Any]
    job: str


@dataclass
class _State:
    resource_version: int = 1
    jobs: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    pods: dict[tuple[str, str], _Pod] = field(default_factory=dict)
    logs: dict[tuple[str, str], str] = field(default_factory=dict)
    # (resourceVersion, event type, namespace, pod object) for every pod change, for watches.
    events: list[tuple[int, str, str, dict[str, Any]]] = field(default_factory=list)


class FakeKubernetes:
    """``with FakeKubernetes(scenario) as kube:`` → an API server at ``kube.url``."""

    def __init__(self, scenario: Scenario | None = None) -> None:
        self.scenario = scenario or succeeds("")
        self.faults: list[Fault] = []
        self.requests: list[Recorded] = []
        self._state = _State()
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-k8s", daemon=True
        )

    # -- lifecycle

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeKubernetes:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeKubernetes:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def api_client(self) -> Any:
        """A real ``kubernetes.client.ApiClient`` pointed at this server."""
        from kubernetes import client

        configuration = client.Configuration()
        configuration.host = self.url
        return client.ApiClient(configuration)

    # -- what tests look at

    def inject(self, *faults: Fault) -> None:
        with self._cond:
            self.faults.extend(faults)

    def calls(self, op: str) -> list[Recorded]:
        with self._cond:
            return [r for r in self.requests if r.op == op]

    @property
    def jobs(self) -> dict[str, dict[str, Any]]:
        with self._cond:
            return {name: copy.deepcopy(job) for (_, name), job in self._state.jobs.items()}

    @property
    def pods(self) -> dict[str, dict[str, Any]]:
        with self._cond:
            return {name: copy.deepcopy(pod.obj) for (_, name), pod in self._state.pods.items()}

    def wait_until(self, predicate: Callable[[], bool], timeout_s: float = 2.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(STEP_S / 2)
        return predicate()

    # -- state changes (under the lock)

    def _bump(self) -> str:
        self._state.resource_version += 1
        return str(self._state.resource_version)

    def _pod_event(self, kind: str, namespace: str, obj: dict[str, Any]) -> None:
        version = self._bump()
        obj["metadata"]["resourceVersion"] = version
        self._state.events.append((int(version), kind, namespace, copy.deepcopy(obj)))
        self._cond.notify_all()

    def _take_fault(self, op: str) -> Fault | None:
        with self._cond:
            for fault in self.faults:
                if fault.op == op and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def create_job(self, namespace: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        metadata = body.get("metadata") or {}
        name = metadata.get("name", "")
        if body.get("kind") != "Job" or not _DNS_LABEL.match(name) or len(name) > 63:
            return 422, status_body(
                422, f'Job.batch "{name}" is invalid: metadata.name: Invalid value', name=name, kind="jobs"
            )
        with self._cond:
            if (namespace, name) in self._state.jobs:
                return 409, status_body(409, f'jobs.batch "{name}" already exists', name=name, kind="jobs")
            job = copy.deepcopy(body)
            job["metadata"].update(
                namespace=namespace,
                uid=str(uuid.uuid4()),
                creationTimestamp=_now(),
                resourceVersion=self._bump(),
            )
            job["status"] = {}
            self._state.jobs[(namespace, name)] = job
            answer = copy.deepcopy(job)
        threading.Thread(
            target=self._control, args=(namespace, name), name=f"fake-job-{name}", daemon=True
        ).start()
        return 201, answer

    def delete_job(self, namespace: str, name: str, policy: str | None) -> tuple[int, dict[str, Any]]:
        with self._cond:
            job = self._state.jobs.pop((namespace, name), None)
            if job is None:
                return 404, status_body(404, f'jobs.batch "{name}" not found', name=name, kind="jobs")
            if policy in ("Background", "Foreground"):
                for key, pod in list(self._state.pods.items()):
                    if pod.job == name and pod.namespace == namespace:
                        del self._state.pods[key]
                        self._pod_event("DELETED", namespace, pod.obj)
        return 200, {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {"name": name, "group": "batch", "kind": "jobs", "uid": job["metadata"]["uid"]},
        }

    def _control(self, namespace: str, name: str) -> None:
        """The job controller and kubelet for one Job: make its pod, then play the scenario."""
        scenario = self.scenario
        time.sleep(STEP_S)
        with self._cond:
            job = self._state.jobs.get((namespace, name))
            if job is None or not scenario.create_pod:
                return
            template = job["spec"]["template"]
            uid = job["metadata"]["uid"]
            pod_name = f"{name}-{secrets.token_hex(3)[:5]}"
            labels = {
                **(template.get("metadata", {}).get("labels") or {}),
                "job-name": name,
                "batch.kubernetes.io/job-name": name,
                "controller-uid": uid,
                "batch.kubernetes.io/controller-uid": uid,
            }
            pod = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": pod_name,
                    "namespace": namespace,
                    "uid": str(uuid.uuid4()),
                    "labels": labels,
                    "creationTimestamp": _now(),
                    "ownerReferences": [
                        {
                            "apiVersion": "batch/v1",
                            "kind": "Job",
                            "name": name,
                            "uid": uid,
                            "controller": True,
                        }
                    ],
                },
                "spec": copy.deepcopy(template["spec"]),
                "status": {"phase": "Pending"},
            }
            self._state.pods[(namespace, pod_name)] = _Pod(namespace, pod, name)
            self._state.logs[(namespace, pod_name)] = scenario.log if isinstance(scenario.log, str) else ""
            request = _request_of(job)
            job["status"] = {"active": 1, "startTime": _now()}
            self._pod_event("ADDED", namespace, pod)
        for step in scenario.steps:
            if self._stopping.wait(step.after_s):
                return
            with self._cond:
                current = self._state.pods.get((namespace, pod_name))
                if current is None:
                    return  # deleted (with the Job)
                if step.job_condition and (namespace, name) in self._state.jobs:
                    status = self._state.jobs[(namespace, name)]["status"]
                    status.setdefault("conditions", []).append(step.job_condition)
                    status.pop("active", None)
                if step.mark_deleting:
                    current.obj["metadata"]["deletionTimestamp"] = _now()
                if step.delete_pod:
                    del self._state.pods[(namespace, pod_name)]
                    self._pod_event("DELETED", namespace, current.obj)
                    return
                if step.pod_status is not None:
                    current.obj["status"] = copy.deepcopy(step.pod_status)
                if step.pod_status is not None or step.mark_deleting:
                    self._pod_event("MODIFIED", namespace, current.obj)
                now_running = (step.pod_status or {}).get("phase") == "Running"
            if now_running and callable(scenario.log):
                # The container "runs" now, outside the lock: the real runner takes a while.
                text = scenario.log(request)
                with self._cond:
                    self._state.logs[(namespace, pod_name)] = text

    def matching_pods(self, namespace: str, selector: dict[str, str]) -> list[dict[str, Any]]:
        return [
            copy.deepcopy(p.obj)
            for p in self._state.pods.values()
            if p.namespace == namespace and _matches(p.obj, selector)
        ]

    def watch_events(
        self, namespace: str, selector: dict[str, str], after: int, deadline: float
    ) -> tuple[list[tuple[int, str, dict[str, Any]]], bool]:
        """Events newer than ``after`` (waiting for some until ``deadline``); and whether to go on."""
        with self._cond:
            while True:
                found = [
                    (rv, kind, obj)
                    for rv, kind, ns, obj in self._state.events
                    if rv > after and ns == namespace and _matches(obj, selector)
                ]
                remaining = deadline - time.monotonic()
                if found or remaining <= 0 or self._stopping.is_set():
                    return found, remaining > 0 and not self._stopping.is_set()
                self._cond.wait(min(remaining, 0.5))

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(_Handler):
            kube = fake

        return Handler


def _request_of(job: dict[str, Any]) -> dict[str, Any]:
    """The runner request the Job carries in its container's environment."""
    env = job["spec"]["template"]["spec"]["containers"][0].get("env") or []
    raw = next((e.get("value", "") for e in env if e.get("name") == "CSVANALYST_REQUEST"), "{}")
    request: dict[str, Any] = json.loads(raw)
    return request


def _matches(obj: dict[str, Any], selector: dict[str, str]) -> bool:
    labels = obj.get("metadata", {}).get("labels") or {}
    return all(labels.get(k) == v for k, v in selector.items())


def _selector(text: str) -> dict[str, str]:
    """Equality-based label selectors (``a=b,c=d``): all the executor sends."""
    pairs = [part.split("=", 1) for part in text.split(",") if part]
    return {k.strip(): v.strip() for k, v in pairs}


_JOBS = re.compile(r"^/apis/batch/v1/namespaces/([^/]+)/jobs$")
_JOB = re.compile(r"^/apis/batch/v1/namespaces/([^/]+)/jobs/([^/]+)$")
_PODS = re.compile(r"^/api/v1/namespaces/([^/]+)/pods$")
_LOG = re.compile(r"^/api/v1/namespaces/([^/]+)/pods/([^/]+)/log$")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    kube: FakeKubernetes

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests read ``kube.requests`` instead

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # -- plumbing

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        url = url._replace(path=url.path.rstrip("/") or "/")
        query = parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        op = self._op(method, url.path, query)
        with self.kube._cond:
            self.kube.requests.append(Recorded(op, method, url.path, query, body))
        fault = self.kube._take_fault(op)
        if fault and not fault.after_commit:
            self._fail(fault)
            return
        if fault and fault.after_commit:
            self._route(op, method, url.path, query, body, respond=False)
            self._fail(fault)
            return
        self._route(op, method, url.path, query, body, respond=True)

    def _op(self, method: str, path: str, query: dict[str, list[str]]) -> str:
        if path == "/api":
            return "api_versions"
        if _JOBS.match(path):
            return "create_job" if method == "POST" else "list_jobs"
        if _JOB.match(path):
            return "delete_job" if method == "DELETE" else "read_job"
        if _PODS.match(path):
            return "watch_pods" if query.get("watch", [""])[0].lower() == "true" else "list_pods"
        if _LOG.match(path):
            return "read_log"
        return "unknown"

    def _fail(self, fault: Fault) -> None:
        if fault.reset:
            # No answer at all: the client sees the connection drop mid-request.
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        code = fault.status or 500
        if fault.op == "watch_pods" and code == 410:
            self._start_stream()
            event = {"type": "ERROR", "object": status_body(410, "too old resource version: 1 (2)")}
            self._chunk(json.dumps(event).encode() + b"\n")
            self._end_stream()
            return
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        self._json(code, status_body(code, f"injected fault: {_REASONS.get(code, code)}"), headers)

    def _route(
        self, op: str, method: str, path: str, query: dict[str, list[str]], body: Any, *, respond: bool
    ) -> None:
        kube = self.kube
        status: int
        answer: dict[str, Any]
        if op == "api_versions":
            status, answer = (
                200,
                {
                    "kind": "APIVersions",
                    "versions": ["v1"],
                    "serverAddressByClientCIDRs": [
                        {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}
                    ],
                },
            )
        elif op == "create_job":
            (namespace,) = _JOBS.match(path).groups()  # type: ignore[union-attr]
            status, answer = kube.create_job(namespace, body or {})
        elif op == "list_jobs":
            (namespace,) = _JOBS.match(path).groups()  # type: ignore[union-attr]
            with kube._cond:
                items = [copy.deepcopy(j) for (ns, _), j in kube._state.jobs.items() if ns == namespace]
                version = str(kube._state.resource_version)
            limit = int(query.get("limit", ["0"])[0]) or len(items)
            status, answer = (
                200,
                {
                    "kind": "JobList",
                    "apiVersion": "batch/v1",
                    "metadata": {"resourceVersion": version},
                    "items": items[:limit],
                },
            )
        elif op in ("read_job", "delete_job"):
            namespace, name = _JOB.match(path).groups()  # type: ignore[union-attr]
            if op == "delete_job":
                policy = query.get("propagationPolicy", [None])[0] or (body or {}).get("propagationPolicy")
                status, answer = kube.delete_job(namespace, name, policy)
            else:
                with kube._cond:
                    job = copy.deepcopy(kube._state.jobs.get((namespace, name)))
                status, answer = (
                    (200, job)
                    if job
                    else (404, status_body(404, f'jobs.batch "{name}" not found', name=name, kind="jobs"))
                )
        elif op == "list_pods":
            (namespace,) = _PODS.match(path).groups()  # type: ignore[union-attr]
            with kube._cond:
                items = kube.matching_pods(namespace, _selector(query.get("labelSelector", [""])[0]))
                version = str(kube._state.resource_version)
            status, answer = (
                200,
                {
                    "kind": "PodList",
                    "apiVersion": "v1",
                    "metadata": {"resourceVersion": version},
                    "items": items,
                },
            )
        elif op == "watch_pods":
            if respond:
                (namespace,) = _PODS.match(path).groups()  # type: ignore[union-attr]
                self._watch(namespace, query)
            return
        elif op == "read_log":
            namespace, name = _LOG.match(path).groups()  # type: ignore[union-attr]
            self._log(namespace, name, query)
            return
        else:
            status, answer = (
                404,
                status_body(404, f"the server could not find the requested resource ({path})"),
            )
        if respond:
            self._json(status, answer)

    def _watch(self, namespace: str, query: dict[str, list[str]]) -> None:
        kube = self.kube
        selector = _selector(query.get("labelSelector", [""])[0])
        timeout_s = float(query.get("timeoutSeconds", ["30"])[0])
        deadline = time.monotonic() + timeout_s
        since = query.get("resourceVersion", [""])[0]
        with kube._cond:
            if since in ("", "0"):
                # "Most recent": synthetic ADDED events for what exists, then changes.
                initial = [("ADDED", pod) for pod in kube.matching_pods(namespace, selector)]
                after = kube._state.resource_version
            else:
                initial, after = [], int(since)
        self._start_stream()
        try:
            for kind, obj in initial:
                self._chunk(json.dumps({"type": kind, "object": obj}).encode() + b"\n")
            while True:
                events, go_on = kube.watch_events(namespace, selector, after, deadline)
                for rv, kind, obj in events:
                    self._chunk(json.dumps({"type": kind, "object": obj}).encode() + b"\n")
                    after = rv
                if not go_on:
                    break
            self._end_stream()
        except OSError:
            self.close_connection = True  # the client went away (it stopped watching)

    def _log(self, namespace: str, name: str, query: dict[str, list[str]]) -> None:
        kube = self.kube
        with kube._cond:
            pod = kube._state.pods.get((namespace, name))
            text = kube._state.logs.get((namespace, name), "")
        if pod is None:
            self._json(404, status_body(404, f'pods "{name}" not found', name=name, kind="pods"))
            return
        state = (pod.obj["status"].get("containerStatuses") or [{}])[0].get("state", {})
        if "waiting" in state or not state:
            message = f'container "runner" in pod "{name}" is waiting to start: ContainerCreating'
            self._json(400, status_body(400, message))
            return
        data = text.encode()
        limit = int(query.get("limitBytes", ["0"])[0])
        if limit:
            data = data[:limit]
        self._send(200, data, "text/plain")

    def _json(self, code: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._send(code, json.dumps(body).encode(), "application/json", headers)

    def _send(self, code: int, data: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
