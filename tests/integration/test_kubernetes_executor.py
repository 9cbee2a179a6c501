"""The Kubernetes executor's whole lifecycle against a fake API server speaking real HTTP.

The real ``kubernetes`` client talks to ``tests/fakes/k8s_api.py`` on localhost: the Job is
created, the pod watched through its phases, the log read, the Job deleted with Background
propagation. Each failure a cluster can produce maps to its error code, and transient API
trouble (429, 5xx, reset connections, an expired watch) is retried. The happy path's pod log is
what the real runner prints for the request found in the Job (``python -m runner
--request-env``), so the manifest, the runner contract and the executor are tested together.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from kubernetes_validate.utils import latest_version

from sandbox_server.errors import ExecutorUnavailable
from sandbox_server.executors import kubernetes as k8s_executor
from sandbox_server.executors.base import Execution, Limits, RunSpec
from sandbox_server.executors.k8s.manifest import REQUEST_ENV
from sandbox_server.executors.k8s.retry import RetryPolicy
from sandbox_server.executors.kubernetes import KubernetesExecutor, api_client_from_environment, in_cluster
from sandbox_server.settings import Settings
from tests.fakes import k8s_api
from tests.fakes.k8s_api import FakeKubernetes, Fault, Scenario

pytestmark = pytest.mark.timeout(60)

REPO_ROOT = Path(__file__).resolve().parents[2]
FAST_RETRY = RetryPolicy(attempts=4, base_delay_s=0.01, max_delay_s=0.05)
PENDING_TIMEOUT_S = 0.5
SQL = "SELECT status, COUNT(*) AS n FROM orders GROUP BY status ORDER BY status LIMIT 200"


def runner_log(request: dict[str, Any]) -> str:
    """What the kubelet would keep as the pod's log: the real runner's stdout and stderr."""
    env = {**os.environ, REQUEST_ENV: json.dumps(request)}
    done = subprocess.run(
        [sys.executable, "-m", "runner", "--request-env", REQUEST_ENV],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=30,
        check=False,
    )
    return done.stdout.decode()


def scripted(**changes: Any) -> str:
    """A runner response line, as the runner prints it."""
    response = {
        "status": "succeeded",
        "columns": [{"name": "n", "type": "BIGINT"}],
        "rows": [[42]],
        "row_count": 1,
        "truncated": False,
        "exec_time_ms": 3.5,
        "stdout_trunc": "",
        "stderr_trunc": "",
        "error": None,
    }
    return json.dumps({**response, **changes}, separators=(",", ":")) + "\n"


@pytest.fixture
def settings(datasets_dir: Path) -> Settings:
    # Datasets "baked into the image" at k8s_data_root/<id>: here the repository's own copy, so
    # the real runner behind the fake pod finds the files the request names.
    return Settings(k8s_pending_timeout_s=PENDING_TIMEOUT_S, k8s_data_root=str(datasets_dir))


@pytest.fixture
def spec(ecommerce: Any) -> RunSpec:
    # Generous: the real runner behind the fake pod shares two busy cores with everything else.
    return RunSpec("run-0001", ecommerce, SQL, Limits(timeout_s=60.0))


@pytest.fixture
def kube() -> Iterator[FakeKubernetes]:
    with FakeKubernetes(k8s_api.succeeds(scripted())) as fake:
        yield fake


def executor_for(kube: FakeKubernetes, settings: Settings, **kwargs: Any) -> KubernetesExecutor:
    return KubernetesExecutor(settings, api_client=kube.api_client(), retry_policy=FAST_RETRY, **kwargs)


def run(
    kube: FakeKubernetes, settings: Settings, spec: RunSpec, scenario: Scenario, **kwargs: Any
) -> Execution:
    kube.scenario = scenario
    return executor_for(kube, settings, **kwargs).run(spec)


def assert_cleaned_up(kube: FakeKubernetes) -> None:
    """Every Job deleted with Background propagation, so no pod is left behind."""
    deletes = kube.calls("delete_job")
    assert deletes, "the executor never deleted its Job"
    for call in deletes:
        assert call.query.get("propagationPolicy") == ["Background"]
    assert kube.jobs == {}
    assert kube.pods == {}


# -- the happy path


def test_runs_a_job_end_to_end_with_the_real_runner(
    kube: FakeKubernetes, settings: Settings, spec: RunSpec
) -> None:
    execution = run(kube, settings, spec, k8s_api.succeeds(runner_log))

    response = execution.response
    assert response["status"] == "succeeded", response
    assert [c["name"] for c in response["columns"]] == ["status", "n"]
    statuses = [row[0] for row in response["rows"]]
    assert statuses == sorted(["cancelled", "delivered", "pending", "shipped"])
    orders = spec.dataset.table("orders")
    assert orders is not None and sum(row[1] for row in response["rows"]) == orders.row_count
    assert execution.executor == "kubernetes"

    (create,) = kube.calls("create_job")
    job = create.body
    assert execution.runner_ref == job["metadata"]["name"]
    kubernetes_validate.validate(job, latest_version(), strict=True)  # what went over the wire is a valid Job
    env = job["spec"]["template"]["spec"]["containers"][0]["env"]
    request = json.loads(next(e["value"] for e in env if e["name"] == REQUEST_ENV))
    assert request["sql"] == SQL and request["run_id"] == "run-0001"

    watches = kube.calls("watch_pods")
    assert watches and all(w.query["labelSelector"] == [f"job-name={execution.runner_ref}"] for w in watches)
    # A later watch resumes where the previous one stopped, so no pod change is missed.
    assert all("resourceVersion" in w.query for w in watches[1:])
    (log_call,) = kube.calls("read_log")
    assert log_call.query["container"] == ["runner"]
    ops = [r.op for r in kube.requests]
    assert ops.index("create_job") < ops.index("watch_pods") < ops.index("read_log") < ops.index("delete_job")
    assert_cleaned_up(kube)


def test_runner_errors_and_stderr_noise_come_back_as_the_runner_said(
    kube: FakeKubernetes, settings: Settings, spec: RunSpec
) -> None:
    log = "duckdb: warning, something\n" + scripted(
        status="failed",
        columns=[],
        rows=[],
        row_count=0,
        error={"code": "RUNNER_TIMEOUT", "message": "query ran 5 s"},
    )
    execution = run(kube, settings, spec, k8s_api.exits(0, log))
    assert execution.response["status"] == "failed"
    assert execution.response["error"] == {"code": "RUNNER_TIMEOUT", "message": "query ran 5 s"}
    assert_cleaned_up(kube)


def test_concurrent_runs_get_their_own_jobs(kube: FakeKubernetes, settings: Settings, spec: RunSpec) -> None:
    executor = executor_for(kube, settings)
    specs = [RunSpec(f"run-{i}", spec.dataset, SQL, spec.limits) for i in range(4)]
    with ThreadPoolExecutor(4) as pool:
        executions = list(pool.map(executor.run, specs))
    assert all(e.response["rows"] == [[42]] for e in executions)
    assert len({e.runner_ref for e in executions}) == 4
    assert_cleaned_up(kube)


# -- what a cluster can do to a run, and the error code each gets


@pytest.mark.parametrize(
    ("scenario", "code", "words"),
    [
        (k8s_api.oom_killed(), "RUNNER_RESOURCE_EXCEEDED", "512 MiB of memory"),
        (k8s_api.evicted(), "RUNNER_RESOURCE_EXCEEDED", "ephemeral local storage"),
        (k8s_api.deadline_exceeded(), "RUNNER_TIMEOUT", "deadline"),
        (
            k8s_api.exits(1, "Traceback (most recent call last):\nImportError: duckdb\n"),
            "RUNNER_INTERNAL_ERROR",
            "code 1",
        ),
        (k8s_api.exits(0, "not json\n"), "RUNNER_INTERNAL_ERROR", "without a response"),
        (k8s_api.pod_deleted(), "RUNNER_INTERNAL_ERROR", "deleted before it finished"),
        (k8s_api.pod_deleted("DeadlineExceeded"), "RUNNER_TIMEOUT", "deadline"),
    ],
    ids=[
        "oom-killed",
        "evicted",
        "deadline-exceeded",
        "crash",
        "no-response",
        "pod-deleted",
        "pod-deleted-deadline",
    ],
)
def test_pod_failures_map_to_error_codes(
    kube: FakeKubernetes, settings: Settings, spec: RunSpec, scenario: Scenario, code: str, words: str
) -> None:
    execution = run(kube, settings, spec, scenario)
    response = execution.response
    assert response["status"] == "failed"
    assert response["error"]["code"] == code
    assert words in response["error"]["message"]
    assert_cleaned_up(kube)


def test_a_crash_keeps_the_log_as_stderr(kube: FakeKubernetes, settings: Settings, spec: RunSpec) -> None:
    log = "Traceback (most recent call last):\nImportError: duckdb\n"
    execution = run(kube, settings, spec, k8s_api.exits(1, log))
    assert execution.response["stderr_trunc"] == log


def test_a_pod_running_past_the_timeout_is_stopped(
    kube: FakeKubernetes, settings: Settings, ecommerce: Any
) -> None:
    spec = RunSpec("run-slow", ecommerce, SQL, Limits(timeout_s=0.2))
    started = time.monotonic()
    execution = run(kube, settings, spec, k8s_api.runs_forever(), run_grace_s=0.1)
    assert execution.response["error"]["code"] == "RUNNER_TIMEOUT"
    assert "0.2 s" in execution.response["error"]["message"]
    assert time.monotonic() - started < 3
    assert_cleaned_up(kube)


def test_a_pod_stuck_pending_makes_the_executor_unavailable(
    kube: FakeKubernetes, settings: Settings, spec: RunSpec
) -> None:
    started = time.monotonic()
    with pytest.raises(ExecutorUnavailable, match="stayed Pending") as info:
        run(kube, settings, spec, k8s_api.stuck_pending("0/3 nodes are available: 3 Insufficient memory."))
    waited = time.monotonic() - started
    assert PENDING_TIMEOUT_S <= waited < PENDING_TIMEOUT_S + 2
    assert "Unschedulable" in info.value.message and "Insufficient memory" in info.value.message
    assert info.value.details["runner_ref"].startswith("csvanalyst-run-0001-")
    assert_cleaned_up(kube)


def test_a_job_without_a_pod_makes_the_executor_unavailable(
    kube: FakeKubernetes, settings: Settings, spec: RunSpec
) -> None:
    with pytest.raises(ExecutorUnavailable, match="no runner pod was created") as info:
        run(kube, settings, spec, k8s_api.no_pod())
    assert "kubectl describe job" in (info.value.suggestion or "")
    assert_cleaned_up(kube)


@pytest.mark.parametrize(
    "reason", ["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError"]
)
def test_a_pod_that_cannot_start_fails_fast(
    kube: FakeKubernetes, settings: Settings, spec: RunSpec, reason: str
) -> None:
    settings = settings.model_copy(update={"k8s_pending_timeout_s": 30.0})
    started = time.monotonic()
    with pytest.raises(ExecutorUnavailable, match=reason) as info:
        run(kube, settings, spec, k8s_api.image_pull_fails(reason))
    assert time.monotonic() - started < 3, "must not wait for the Pending timeout"
    expected = "kubectl describe pod" if reason == "CreateContainerConfigError" else settings.k8s_image
    assert expected in (info.value.suggestion or "")
    assert_cleaned_up(kube)


# -- API trouble: retried when transient, a clear error otherwise


@pytest.mark.parametrize(
    "faults",
    [
        [Fault("create_job", status=500)],
        [Fault("create_job", status=429, retry_after="1")],
        [Fault("create_job", status=503), Fault("create_job", status=502), Fault("create_job", status=504)],
        [Fault("create_job", reset=True)],
    ],
    ids=["500", "429-retry-after", "503-502-504", "connection-reset"],
)
def test_transient_create_failures_are_retried(
    kube: FakeKubernetes, settings: Settings, spec: RunSpec, faults: list[Fault]
) -> None:
    kube.inject(*faults)
    execution = run(kube, settings, spec, k8s_api.succeeds(scripted()))
    assert execution.response["status"] == "succeeded"
    creates = kube.calls("create_job")
    assert len(creates) == len(faults) + 1
    assert len({c.body["metadata"]["name"] for c in creates}) == 1, "a retry resends the same Job"
    assert_cleaned_up(kube)


def test_a_create_whose_answer_was_lost_is_adopted(
    kube: FakeKubernetes, settings: Settings, spec: RunSpec
) -> None:
    # The Job was created, then the connection dropped: the retry meets 409 AlreadyExists for
    # a Job carrying this run's id, which is ours.
    kube.inject(Fault("create_job", reset=True, after_commit=True))
    execution = run(kube, settings, spec, k8s_api.succeeds(scripted()))
    assert execution.response["status"] == "succeeded"
    assert len(kube.calls("create_job")) == 2
    assert kube.calls("read_job")[0].path.endswith(execution.runner_ref)
    assert_cleaned_up(kube)


def test_a_name_taken_by_another_job_gets_a_new_name(
    kube: FakeKubernetes, settings: Settings, spec: RunSpec
) -> None:
    kube.inject(Fault("create_job", status=409))
    execution = run(kube, settings, spec, k8s_api.succeeds(scripted()))
    first, second = (c.body["metadata"]["name"] for c in kube.calls("create_job"))
    assert first != second == execution.runner_ref
    assert_cleaned_up(kube)


def test_create_failing_for_good_is_unavailable_without_a_leftover(
    kube: FakeKubernetes, settings: Settings, spec: RunSpec
) -> None:
    kube.inject(Fault("create_job", status=503, times=99))
    with pytest.raises(ExecutorUnavailable, match="creating the runner Job"):
        run(kube, settings, spec, k8s_api.succeeds(scripted()))
    assert len(kube.calls("create_job")) == FAST_RETRY.attempts
    assert kube.jobs == {} and kube.calls("delete_job") == []


@pytest.mark.parametrize(("status", "words"), [(403, "service account"), (422, "CSVANALYST_K8S_")])
def test_refused_creates_are_not_retried_and_say_what_to_fix(
    kube: FakeKubernetes, settings: Settings, spec: RunSpec, status: int, words: str
) -> None:
    kube.inject(Fault("create_job", status=status))
    with pytest.raises(ExecutorUnavailable) as info:
        run(kube, settings, spec, k8s_api.succeeds(scripted()))
    assert len(kube.calls("create_job")) == 1
    assert words in (info.value.suggestion or "")


@pytest.mark.parametrize(
    "fault",
    [
        Fault("watch_pods", status=500),
        Fault("watch_pods", status=429),
        Fault("watch_pods", status=410),
        Fault("watch_pods", reset=True),
        Fault("read_log", status=503),
        Fault("read_log", reset=True),
    ],
    ids=["watch-500", "watch-429", "watch-410-gone", "watch-reset", "log-503", "log-reset"],
)
def test_transient_failures_while_watching_or_reading_are_retried(
    kube: FakeKubernetes, settings: Settings, spec: RunSpec, fault: Fault
) -> None:
    kube.inject(fault)
    execution = run(kube, settings, spec, k8s_api.succeeds(scripted()))
    assert execution.response["status"] == "succeeded"
    assert fault.times == 0, "the fault was hit"
    assert_cleaned_up(kube)


def test_a_failed_delete_does_not_hide_the_result(
    kube: FakeKubernetes, settings: Settings, spec: RunSpec, caplog: pytest.LogCaptureFixture
) -> None:
    kube.inject(Fault("delete_job", status=500, times=99))
    with caplog.at_level(logging.WARNING):
        execution = run(kube, settings, spec, k8s_api.succeeds(scripted()))
    assert execution.response["status"] == "succeeded"
    assert len(kube.calls("delete_job")) == FAST_RETRY.attempts
    assert "its TTL will" in caplog.text


# -- check() and configuration


def test_check_passes_against_a_reachable_api(kube: FakeKubernetes, settings: Settings) -> None:
    executor_for(kube, settings).check()
    assert [r.op for r in kube.requests] == ["api_versions", "list_jobs"]


def test_check_names_missing_permissions(kube: FakeKubernetes, settings: Settings) -> None:
    kube.inject(Fault("list_jobs", status=403))
    with pytest.raises(ExecutorUnavailable, match="refused listing jobs") as info:
        executor_for(kube, settings).check()
    assert "pods/log" in (info.value.suggestion or "")


def test_check_reports_an_unreachable_api(settings: Settings) -> None:
    fake = FakeKubernetes().start()
    client = fake.api_client()
    fake.stop()  # nothing listens on that port any more
    executor = KubernetesExecutor(settings, api_client=client, retry_policy=FAST_RETRY, connect_timeout_s=1.0)
    with pytest.raises(ExecutorUnavailable, match="unreachable"):
        executor.check()


def test_in_cluster_needs_the_service_host_and_a_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    token = tmp_path / "token"
    monkeypatch.setattr(k8s_executor, "SERVICE_ACCOUNT_TOKEN", token)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert not in_cluster()
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    assert not in_cluster()
    token.write_text("t")
    assert in_cluster()


def test_no_kubeconfig_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ExecutorUnavailable, match="no Kubernetes configuration") as info:
        api_client_from_environment()
    assert "KUBECONFIG" in (info.value.suggestion or "")
