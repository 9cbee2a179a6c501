"""The Job manifest of one run: a pure function of the RunSpec and the Settings.

Kept apart from the lifecycle so ``csvanalyst k8s render-job`` prints exactly what the executor
submits, and so the manifest can be checked against the Kubernetes OpenAPI schema and the Pod
Security Standards "restricted" profile without a cluster (``tests/unit/test_k8s_manifest.py``).

The runner reads its request from an environment variable instead of stdin (a Job has no stdin);
``python -m runner --request-env CSVANALYST_REQUEST`` is the runner's side of that contract.

Where the pod finds the dataset, mounted read-only at ``k8s_data_root``:

- with ``k8s_data_volume_claim``: only the run's own dataset directory, as a ``subPath`` of the
  volume (its path relative to where the server mounts that volume, ``k8s_data_volume_path``),
  so a runner never sees another user's upload;
- without: the image bakes the demo datasets in at ``<k8s_data_root>/<dataset id>/``.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from pathlib import Path, PurePosixPath
from typing import Any

from kubernetes import client

from sandbox_server.errors import DatasetInvalid, ExecutorUnavailable
from sandbox_server.executors.base import RunSpec
from sandbox_server.settings import Settings

REQUEST_ENV = "CSVANALYST_REQUEST"
RUNNER_COMMAND = ("python", "-m", "runner", "--request-env", REQUEST_ENV)
CONTAINER_NAME = "runner"
RUNNER_UID = 1000

LABEL_NAME = "app.kubernetes.io/name"
LABEL_COMPONENT = "app.kubernetes.io/component"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_RUN_ID = "csvanalyst.io/run-id"
LABEL_DATASET = "csvanalyst.io/dataset"
ANNOTATION_RUN_ID = "csvanalyst.io/run-id"
ANNOTATION_DATASET_VERSION = "csvanalyst.io/dataset-version"

# The chart's NetworkPolicy selects pods by these two labels for its default-deny egress.
RUNNER_LABELS = {LABEL_NAME: "csvanalyst", LABEL_COMPONENT: "runner"}

# activeDeadlineSeconds counts from the Job's start, including scheduling and image pull, so it
# is the backstop for a server that died mid-run, not the run's timeout: the executor itself
# ends a pod that stays Pending too long or runs past timeout_s + RUN_GRACE_S.
RUN_GRACE_S = 5.0
# Container logs (the runner's response and stderr) count against ephemeral storage too.
LOG_HEADROOM_MB = 32

_NAME_PREFIX = "csvanalyst-"
# Pods get the Job's name in their ``job-name`` label (at most 63 characters) and a 5-character
# suffix in their own name; 52 leaves room for both.
_MAX_JOB_NAME = 52
_SUFFIX_LEN = 6
_INVALID_LABEL_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")
_INVALID_NAME_CHARS = re.compile(r"[^a-z0-9-]+")


def job_name(run_id: str) -> str:
    """A DNS-1123 label, unique per call: ``csvanalyst-<run id slug>-<random>``.

    >>> name = job_name("Run_01H/XYZ")
    >>> name.startswith("csvanalyst-run-01h-xyz-") and len(name) == len("csvanalyst-run-01h-xyz-") + 6
    True
    """
    slug = _INVALID_NAME_CHARS.sub("-", run_id.lower()).strip("-")
    room = _MAX_JOB_NAME - len(_NAME_PREFIX) - 1 - _SUFFIX_LEN
    slug = slug[:room].rstrip("-") or "run"
    # A random suffix, not the run id alone: a retried create after a name conflict needs a new name.
    suffix = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(_SUFFIX_LEN))
    return f"{_NAME_PREFIX}{slug}-{suffix}"


def label_value(text: str) -> str:
    """``text`` made a valid label value (63 characters, alphanumeric at both ends).

    >>> label_value("ab/c d_")
    'ab-c-d'
    """
    value = _INVALID_LABEL_CHARS.sub("-", text)[:63]
    return re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", value)


def cpu_quantity(cpus: float) -> str:
    """Kubernetes CPU quantity in millicores.

    >>> cpu_quantity(0.5), cpu_quantity(2)
    ('500m', '2000m')
    """
    return f"{max(1, round(cpus * 1000))}m"


def active_deadline_s(spec: RunSpec, settings: Settings) -> int:
    return math.ceil(settings.k8s_pending_timeout_s + spec.limits.timeout_s + RUN_GRACE_S)


def dataset_sub_path(spec: RunSpec, settings: Settings) -> str:
    """The run's dataset directory relative to the data volume's root ("" when it is the root)."""
    directory = spec.dataset.directory
    if directory is None:
        raise DatasetInvalid(f"dataset {spec.dataset.id!r} has no directory to mount")
    volume_root = settings.k8s_data_volume_path or settings.datasets_dir
    try:
        relative = Path(directory).resolve().relative_to(Path(volume_root).resolve())
    except ValueError as exc:
        raise ExecutorUnavailable(
            f"dataset {spec.dataset.id!r} is in {directory}, outside the data volume "
            f"{settings.k8s_data_volume_claim!r} (seen by the server at {volume_root})",
            suggestion="set CSVANALYST_K8S_DATA_VOLUME_PATH to where the server mounts that volume, "
            "and keep datasets_dir and state_dir on it",
        ) from exc
    return "" if relative == Path(".") else relative.as_posix()


def build_job(spec: RunSpec, settings: Settings, name: str | None = None) -> client.V1Job:
    """The batch/v1 Job that runs ``spec`` once, in one locked-down pod."""
    name = name or job_name(spec.run_id)
    limits = spec.limits
    labels = {
        **RUNNER_LABELS,
        LABEL_MANAGED_BY: "csvanalyst-sandbox-server",
        LABEL_RUN_ID: label_value(spec.run_id),
        LABEL_DATASET: label_value(spec.dataset.id),
    }
    annotations = {
        ANNOTATION_RUN_ID: spec.run_id,
        ANNOTATION_DATASET_VERSION: spec.dataset.version_hash,
    }
    if settings.k8s_data_volume_claim:
        sub_path = dataset_sub_path(spec, settings)
        request = spec.runner_request(data_root=settings.k8s_data_root)
    else:
        request = spec.runner_request(data_root=str(PurePosixPath(settings.k8s_data_root) / spec.dataset.id))
    quantities = {
        "cpu": cpu_quantity(limits.cpus),
        "memory": f"{limits.memory_mb}Mi",
        "ephemeral-storage": f"{limits.tmp_mb + LOG_HEADROOM_MB}Mi",
    }

    # /tmp on node disk, not medium: Memory, which would be charged to the memory limit and so
    # halve what DuckDB may use before it spills; sizeLimit evicts a pod that writes past it.
    volumes = [
        client.V1Volume(name="tmp", empty_dir=client.V1EmptyDirVolumeSource(size_limit=f"{limits.tmp_mb}Mi"))
    ]
    mounts = [client.V1VolumeMount(name="tmp", mount_path="/tmp")]
    if settings.k8s_data_volume_claim:
        volumes.append(
            client.V1Volume(
                name="data",
                persistent_volume_claim=client.V1PersistentVolumeClaimVolumeSource(
                    claim_name=settings.k8s_data_volume_claim, read_only=True
                ),
            )
        )
        mounts.append(
            client.V1VolumeMount(
                name="data", mount_path=settings.k8s_data_root, sub_path=sub_path or None, read_only=True
            )
        )
    # else: the datasets are baked into the image (read-only like the whole root file system).

    container = client.V1Container(
        name=CONTAINER_NAME,
        image=settings.k8s_image,
        image_pull_policy=settings.k8s_image_pull_policy,
        command=list(RUNNER_COMMAND),
        env=[client.V1EnvVar(name=REQUEST_ENV, value=json.dumps(request, separators=(",", ":")))],
        resources=client.V1ResourceRequirements(requests=dict(quantities), limits=dict(quantities)),
        security_context=client.V1SecurityContext(
            run_as_non_root=True,
            run_as_user=RUNNER_UID,
            run_as_group=RUNNER_UID,
            read_only_root_filesystem=True,
            allow_privilege_escalation=False,
            privileged=False,
            capabilities=client.V1Capabilities(drop=["ALL"]),
            seccomp_profile=client.V1SeccompProfile(type="RuntimeDefault"),
        ),
        volume_mounts=mounts,
        # A crash before the runner printed its response still leaves the log tail in the status.
        termination_message_policy="FallbackToLogsOnError",
    )
    pod_spec = client.V1PodSpec(
        restart_policy="Never",
        automount_service_account_token=False,
        enable_service_links=False,
        host_network=False,
        host_pid=False,
        host_ipc=False,
        # No fsGroup: it would make the kubelet chown the (read-only) dataset volume on every
        # mount; dataset files are world-readable and the emptyDir is writable by everyone.
        security_context=client.V1PodSecurityContext(
            run_as_non_root=True,
            run_as_user=RUNNER_UID,
            run_as_group=RUNNER_UID,
            seccomp_profile=client.V1SeccompProfile(type="RuntimeDefault"),
        ),
        containers=[container],
        volumes=volumes,
        termination_grace_period_seconds=1,
    )
    return client.V1Job(
        api_version="batch/v1",
        kind="Job",
        metadata=client.V1ObjectMeta(
            name=name, namespace=settings.k8s_namespace, labels=labels, annotations=annotations
        ),
        spec=client.V1JobSpec(
            backoff_limit=0,
            active_deadline_seconds=active_deadline_s(spec, settings),
            ttl_seconds_after_finished=settings.k8s_job_ttl_s,
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=dict(labels), annotations=dict(annotations)),
                spec=pod_spec,
            ),
        ),
    )


def job_manifest(job: client.V1Job) -> dict[str, Any]:
    """The Job as the plain JSON-able dict the API server receives (camelCase keys)."""
    manifest: dict[str, Any] = client.ApiClient().sanitize_for_serialization(job)
    return manifest
