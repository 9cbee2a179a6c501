"""The Kubernetes executor on a real cluster: ``make k8s-e2e``.

Opt-in, because it creates Jobs in whatever cluster the kubeconfig points at: the tests run
when ``CSVANALYST_K8S_E2E=1`` (the make target sets it) and a kubeconfig is present
(``KUBECONFIG`` or ``~/.kube/config``); without the opt-in they skip, and with it but without a
kubeconfig they fail rather than pass by skipping.

The cluster needs the runner image (``CSVANALYST_K8S_IMAGE``, e.g. ``kind load docker-image``)
and the datasets: either baked into an image derived from it at ``/data/<dataset id>/``, or on a
read-only volume claim named by ``CSVANALYST_K8S_DATA_VOLUME_CLAIM`` holding ``<dataset id>/``
directories. Other ``CSVANALYST_K8S_*`` settings (namespace, pull policy) apply as usual.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from sandbox_server.executors.base import Limits, RunSpec
from sandbox_server.executors.k8s.manifest import build_job
from sandbox_server.executors.kubernetes import KubernetesExecutor
from sandbox_server.settings import Settings

pytestmark = [pytest.mark.k8s_real, pytest.mark.slow, pytest.mark.timeout(600)]


def _kubeconfig() -> Path | None:
    for candidate in (
        *os.environ.get("KUBECONFIG", "").split(os.pathsep),
        str(Path.home() / ".kube" / "config"),
    ):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


@pytest.fixture(scope="module")
def executor() -> Iterator[KubernetesExecutor]:
    if os.environ.get("CSVANALYST_K8S_E2E") != "1":
        pytest.skip("creates Jobs on a real cluster: run `make k8s-e2e` (sets CSVANALYST_K8S_E2E=1)")
    if _kubeconfig() is None:
        pytest.fail("make k8s-e2e needs a cluster: set KUBECONFIG or write ~/.kube/config")
    settings = Settings()  # CSVANALYST_K8S_* from the environment
    kube = KubernetesExecutor(settings)
    kube.check()
    yield kube
    kube.close()


def _job_gone(kube: KubernetesExecutor, name: str) -> bool:
    try:
        job = kube.batch.read_namespaced_job(name, kube.namespace)
    except ApiException as exc:
        return exc.status == 404
    return bool(job.metadata and job.metadata.deletion_timestamp)


def test_a_query_runs_as_a_job_and_the_job_is_removed(executor: KubernetesExecutor, ecommerce: Any) -> None:
    spec = RunSpec(
        f"e2e-{uuid.uuid4().hex[:12]}",
        ecommerce,
        "SELECT status, COUNT(*) AS n FROM orders GROUP BY status ORDER BY status LIMIT 200",
        Limits(timeout_s=60),
    )
    execution = executor.run(spec)
    response = execution.response
    assert response["status"] == "succeeded", response.get("error")
    assert sum(row[1] for row in response["rows"]) == ecommerce.table("orders").row_count
    deadline = time.monotonic() + 30
    while not _job_gone(executor, execution.runner_ref) and time.monotonic() < deadline:
        time.sleep(1)
    assert _job_gone(executor, execution.runner_ref)


def test_the_api_server_accepts_the_manifest_under_the_restricted_profile(
    executor: KubernetesExecutor, ecommerce: Any
) -> None:
    """Server-side dry runs: the Job as is, and its pod in a namespace enforcing "restricted"."""
    spec = RunSpec(f"e2e-{uuid.uuid4().hex[:12]}", ecommerce, "SELECT 1 LIMIT 1")
    job = build_job(spec, executor.settings)
    executor.batch.create_namespaced_job(executor.namespace, job, dry_run="All")

    core = executor.core
    namespace = f"csvanalyst-pss-{uuid.uuid4().hex[:8]}"
    labels = {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
    }
    try:
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace, labels=labels)))
    except ApiException as exc:
        if exc.status == 403:
            pytest.skip("this kubeconfig may not create namespaces to test Pod Security admission")
        raise
    try:
        # Admission refuses pods until the new namespace's default service account exists.
        deadline = time.monotonic() + 30
        while not core.list_namespaced_service_account(namespace).items and time.monotonic() < deadline:
            time.sleep(0.5)
        template = job.spec.template  # type: ignore[union-attr]
        pod = client.V1Pod(
            api_version="v1",
            kind="Pod",
            metadata=client.V1ObjectMeta(name="pss-check", labels=template.metadata.labels),  # type: ignore[union-attr]
            spec=template.spec,
        )
        # Admission refuses a pod that breaks the profile; accepting it is the assertion.
        core.create_namespaced_pod(namespace, pod, dry_run="All")
    finally:
        core.delete_namespace(namespace)
