"""The runner Job manifest: valid for the Kubernetes API, "restricted" by the Pod Security Standards.

Every manifest the executor builds (several settings) and the one ``csvanalyst k8s render-job``
prints are validated against the OpenAPI schema of current Kubernetes versions (the
kubernetes-validate package, strict: unknown fields fail) and checked field by field against
the "restricted" profile, whose checks are themselves tested to catch what they should.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import latest_version

from sandbox_server.cli import main
from sandbox_server.errors import ExecutorUnavailable
from sandbox_server.executors.base import Limits, RunSpec
from sandbox_server.executors.k8s.manifest import (
    REQUEST_ENV,
    active_deadline_s,
    build_job,
    job_manifest,
    job_name,
    label_value,
)
from sandbox_server.settings import Settings

K8S_VERSIONS = ("1.30", latest_version())
# Volume types the "restricted" profile allows (everything else, hostPath first, is refused).
RESTRICTED_VOLUME_TYPES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

SETTINGS_VARIANTS: dict[str, dict[str, Any]] = {
    "defaults (image with datasets)": {},
    "read-only PVC": {"k8s_data_volume_claim": "csvanalyst-datasets"},
    "PVC, big limits, Always pull": {
        "k8s_data_volume_claim": "data",
        "k8s_data_root": "/srv/data",
        "k8s_image": "registry.example/csvanalyst-runner@sha256:" + "a" * 64,
        "k8s_image_pull_policy": "Always",
        "k8s_namespace": "analytics",
        "k8s_job_ttl_s": 0,
        "runner_cpus": 2.0,
        "runner_memory_mb": 4096,
        "runner_tmp_mb": 1024,
        "run_timeout_s": 120.0,
    },
    "tiny limits": {"runner_cpus": 0.1, "runner_memory_mb": 128, "runner_tmp_mb": 16, "run_timeout_s": 1.5},
}


def limits_of(settings: Settings) -> Limits:
    return Limits(
        timeout_s=settings.run_timeout_s,
        memory_mb=settings.runner_memory_mb,
        cpus=settings.runner_cpus,
        tmp_mb=settings.runner_tmp_mb,
    )


def manifest_for(dataset: Any, overrides: dict[str, Any], run_id: str = "0f3c9a2e-run") -> dict[str, Any]:
    settings = Settings(**overrides)
    spec = RunSpec(
        run_id, dataset, "SELECT status, COUNT(*) FROM orders GROUP BY status LIMIT 200", limits_of(settings)
    )
    return job_manifest(build_job(spec, settings))


def assert_restricted(pod_spec: dict[str, Any]) -> None:
    """The Pod Security Standards "restricted" profile (which includes "baseline"), check by check."""
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        assert not pod_spec.get(key), f"{key} must be unset or false"
    pod_sc = pod_spec.get("securityContext") or {}
    assert not (pod_sc.get("windowsOptions") or {}).get("hostProcess"), "hostProcess pods are not allowed"
    assert not pod_sc.get("sysctls"), "no sysctls needed, so none allowed"
    for volume in pod_spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        assert kinds <= RESTRICTED_VOLUME_TYPES, f"volume {volume['name']} has type {kinds}"
    containers = [
        *pod_spec.get("initContainers", []),
        *pod_spec.get("containers", []),
        *pod_spec.get("ephemeralContainers", []),
    ]
    assert containers, "a pod needs containers"
    for c in containers:
        sc = c.get("securityContext") or {}
        where = f"container {c['name']}"
        assert sc.get("privileged") in (None, False), f"{where}: privileged"
        assert sc.get("allowPrivilegeEscalation") is False, f"{where}: allowPrivilegeEscalation must be false"
        capabilities = sc.get("capabilities") or {}
        assert "ALL" in (capabilities.get("drop") or []), f"{where}: capabilities must drop ALL"
        assert set(capabilities.get("add") or []) <= {"NET_BIND_SERVICE"}, f"{where}: adds capabilities"
        assert not capabilities.get("add"), f"{where}: the runner needs no capability at all"
        run_as_non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
        assert run_as_non_root is True, f"{where}: runAsNonRoot must be true"
        for level in (sc, pod_sc):
            assert level.get("runAsUser") != 0, f"{where}: runAsUser 0"
        seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
        assert seccomp in ("RuntimeDefault", "Localhost"), f"{where}: seccompProfile is {seccomp}"
        assert sc.get("procMount", "Default") == "Default", f"{where}: procMount"
        assert (sc.get("appArmorProfile") or {}).get("type") != "Unconfined", f"{where}: AppArmor unconfined"
        se_type = (sc.get("seLinuxOptions") or {}).get("type", "")
        assert se_type in ("", "container_t", "container_init_t", "container_kvm_t", "container_engine_t")
        assert not any(p.get("hostPort") for p in c.get("ports") or []), f"{where}: hostPort"


def assert_valid(manifest: dict[str, Any]) -> None:
    for version in K8S_VERSIONS:
        kubernetes_validate.validate(manifest, version, strict=True)


# -- the manifests the executor builds


@pytest.mark.parametrize("variant", list(SETTINGS_VARIANTS))
def test_manifest_is_valid_and_restricted(ecommerce: Any, variant: str) -> None:
    manifest = manifest_for(ecommerce, SETTINGS_VARIANTS[variant])
    assert_valid(manifest)
    assert_restricted(manifest["spec"]["template"]["spec"])


@pytest.mark.parametrize("variant", list(SETTINGS_VARIANTS))
def test_manifest_follows_the_settings(ecommerce: Any, variant: str) -> None:
    settings = Settings(**SETTINGS_VARIANTS[variant])
    manifest = manifest_for(ecommerce, SETTINGS_VARIANTS[variant])
    meta, spec = manifest["metadata"], manifest["spec"]
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]

    assert (manifest["apiVersion"], manifest["kind"]) == ("batch/v1", "Job")
    assert meta["namespace"] == settings.k8s_namespace
    for labels in (meta["labels"], spec["template"]["metadata"]["labels"]):
        # The chart's NetworkPolicy selects runner pods by these for its default-deny egress.
        assert labels["app.kubernetes.io/name"] == "csvanalyst"
        assert labels["app.kubernetes.io/component"] == "runner"
        assert labels["csvanalyst.io/run-id"] == "0f3c9a2e-run"
    assert spec["backoffLimit"] == 0
    assert spec["ttlSecondsAfterFinished"] == settings.k8s_job_ttl_s
    assert spec["activeDeadlineSeconds"] >= settings.run_timeout_s + settings.k8s_pending_timeout_s
    assert pod["restartPolicy"] == "Never"
    assert pod["automountServiceAccountToken"] is False
    assert pod["enableServiceLinks"] is False
    assert pod["securityContext"]["runAsUser"] == 1000 and pod["securityContext"]["runAsGroup"] == 1000
    assert container["securityContext"]["readOnlyRootFilesystem"] is True

    assert container["image"] == settings.k8s_image
    assert container["imagePullPolicy"] == settings.k8s_image_pull_policy
    assert container["command"] == ["python", "-m", "runner", "--request-env", REQUEST_ENV]
    resources = container["resources"]
    assert resources["requests"] == resources["limits"], "Guaranteed QoS: requests equal limits"
    assert resources["limits"]["cpu"] == f"{round(settings.runner_cpus * 1000)}m"
    assert resources["limits"]["memory"] == f"{settings.runner_memory_mb}Mi"
    assert int(resources["limits"]["ephemeral-storage"].removesuffix("Mi")) > settings.runner_tmp_mb

    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert volumes["tmp"]["emptyDir"]["sizeLimit"] == f"{settings.runner_tmp_mb}Mi"
    assert mounts["/tmp"]["name"] == "tmp"
    request = json.loads(next(e["value"] for e in container["env"] if e["name"] == REQUEST_ENV))
    paths = [t["path"] for t in request["dataset"]["tables"]]
    if settings.k8s_data_volume_claim:
        assert volumes["data"]["persistentVolumeClaim"] == {
            "claimName": settings.k8s_data_volume_claim,
            "readOnly": True,
        }
        data_mount = mounts[settings.k8s_data_root]
        # Only this run's dataset is visible in the pod, never the whole volume.
        assert data_mount == {
            "name": "data",
            "mountPath": settings.k8s_data_root,
            "subPath": "ecommerce",
            "readOnly": True,
        }
        assert paths == [f"{settings.k8s_data_root}/{t.file}" for t in ecommerce.tables]
    else:
        assert set(volumes) == {"tmp"}
        assert paths == [f"{settings.k8s_data_root}/ecommerce/{t.file}" for t in ecommerce.tables]
    assert request["sql"].startswith("SELECT status")
    assert request["timeout_s"] == settings.run_timeout_s
    assert request["memory_limit_mb"] == settings.runner_memory_mb


def test_active_deadline_is_a_backstop_beyond_pending_and_run_time(ecommerce: Any) -> None:
    settings = Settings(k8s_pending_timeout_s=30, run_timeout_s=10)
    spec = RunSpec("r", ecommerce, "SELECT 1", Limits(timeout_s=10))
    assert active_deadline_s(spec, settings) == 45


@pytest.mark.parametrize(
    "run_id",
    ["0f3c9a2e5b6d4e7f8a9b0c1d2e3f4a5b", "Run_With.Upper/CASE", "x" * 200, "---", "", "ünïcødé-ïd", "a"],
)
def test_job_names_are_dns_labels_unique_per_call(run_id: str) -> None:
    names = {job_name(run_id) for _ in range(50)}
    assert len(names) == 50
    for name in names:
        assert DNS_LABEL.match(name), name
        # Pods carry the Job's name in a label (63 at most) and add 6 characters to their own.
        assert len(name) <= 52


@pytest.mark.parametrize("text", ["ok", "Run_With.Upper/CASE", "x" * 200, "-_.", "ünïcødé", "a b c"])
def test_label_values_are_valid(text: str) -> None:
    value = label_value(text)
    assert len(value) <= 63 and LABEL_VALUE.match(value), value


def test_a_dataset_outside_the_data_volume_is_a_clear_error(ecommerce: Any, tmp_path: Path) -> None:
    settings = Settings(k8s_data_volume_claim="data", k8s_data_volume_path=tmp_path)
    spec = RunSpec("r", ecommerce, "SELECT 1")
    with pytest.raises(ExecutorUnavailable, match="outside the data volume") as info:
        build_job(spec, settings)
    assert "CSVANALYST_K8S_DATA_VOLUME_PATH" in (info.value.suggestion or "")


def test_uploaded_dataset_mounts_its_own_directory(ecommerce: Any, tmp_path: Path) -> None:
    upload = ecommerce.model_copy(update={"directory": tmp_path / "state" / "uploads" / "abc123"})
    settings = Settings(k8s_data_volume_claim="data", k8s_data_volume_path=tmp_path)
    manifest = job_manifest(build_job(RunSpec("r", upload, "SELECT 1"), settings))
    (container,) = manifest["spec"]["template"]["spec"]["containers"]
    data_mount = next(m for m in container["volumeMounts"] if m["name"] == "data")
    assert data_mount["subPath"] == "state/uploads/abc123"
    assert_valid(manifest)


# -- the checks have teeth: each breaks on the manifest it should refuse

MUTATIONS = {
    "hostPath volume": lambda p: p["volumes"].append({"name": "h", "hostPath": {"path": "/"}}),
    "hostNetwork": lambda p: p.update(hostNetwork=True),
    "hostPID": lambda p: p.update(hostPID=True),
    "privileged": lambda p: p["containers"][0]["securityContext"].update(privileged=True),
    "escalation": lambda p: p["containers"][0]["securityContext"].update(allowPrivilegeEscalation=True),
    "no drop ALL": lambda p: p["containers"][0]["securityContext"]["capabilities"].update(drop=["NET_RAW"]),
    "adds SYS_ADMIN": lambda p: p["containers"][0]["securityContext"]["capabilities"].update(
        add=["SYS_ADMIN"]
    ),
    "root user": lambda p: p["containers"][0]["securityContext"].update(runAsUser=0),
    "runAsNonRoot false": lambda p: p["containers"][0]["securityContext"].update(runAsNonRoot=False),
    "seccomp unconfined": lambda p: (
        p["securityContext"].update(seccompProfile={"type": "Unconfined"}),
        p["containers"][0]["securityContext"].pop("seccompProfile"),
    ),
    "hostPort": lambda p: p["containers"][0].update(ports=[{"containerPort": 80, "hostPort": 80}]),
}


@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_restricted_checks_catch_violations(ecommerce: Any, mutation: str) -> None:
    manifest = manifest_for(ecommerce, {})
    pod = copy.deepcopy(manifest["spec"]["template"]["spec"])
    MUTATIONS[mutation](pod)
    with pytest.raises(AssertionError):
        assert_restricted(pod)


def test_schema_validation_catches_a_bad_field(ecommerce: Any) -> None:
    manifest = manifest_for(ecommerce, {})
    manifest["spec"]["template"]["spec"]["containers"][0]["securityContext"]["runAsNonroot"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        assert_valid(manifest)


# -- csvanalyst k8s render-job


def render(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["k8s", "render-job", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_render_job_prints_the_manifest_with_the_policed_sql(
    capsys: pytest.CaptureFixture[str], datasets_dir: Path
) -> None:
    code, out, _ = render(
        capsys,
        "--dataset", "ecommerce",
        "--sql", "select status, count(*) as n from orders group by status",
        "--datasets", str(datasets_dir),
        "--run-id", "preview-1",
    )  # fmt: skip
    assert code == 0
    manifest = yaml.safe_load(out)
    assert_valid(manifest)
    assert_restricted(manifest["spec"]["template"]["spec"])
    assert manifest["metadata"]["labels"]["csvanalyst.io/run-id"] == "preview-1"
    (container,) = manifest["spec"]["template"]["spec"]["containers"]
    request = json.loads(next(e["value"] for e in container["env"] if e["name"] == REQUEST_ENV))
    # The policy's SQL: re-emitted, with the default LIMIT added.
    assert request["sql"] == "SELECT status, COUNT(*) AS n FROM orders GROUP BY status LIMIT 200"
    assert request["dataset"]["id"] == "ecommerce"


def test_render_job_follows_settings_from_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CSVANALYST_K8S_DATA_VOLUME_CLAIM", "datasets")
    monkeypatch.setenv("CSVANALYST_K8S_NAMESPACE", "csvanalyst-runs")
    monkeypatch.setenv("CSVANALYST_RUNNER_MEMORY_MB", "1024")
    code, out, _ = render(capsys, "--dataset", "support", "--sql", "select count(*) from tickets")
    assert code == 0
    manifest = yaml.safe_load(out)
    assert_valid(manifest)
    assert_restricted(manifest["spec"]["template"]["spec"])
    assert manifest["metadata"]["namespace"] == "csvanalyst-runs"
    pod = manifest["spec"]["template"]["spec"]
    assert pod["volumes"][1]["persistentVolumeClaim"] == {"claimName": "datasets", "readOnly": True}
    assert pod["containers"][0]["resources"]["limits"]["memory"] == "1024Mi"


def test_render_job_refuses_sql_the_policy_rejects(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = render(
        capsys, "--dataset", "ecommerce", "--sql", "select * from read_csv('/etc/passwd')"
    )
    assert code == 2
    assert out == ""
    assert "SQL_POLICY_VIOLATION" in err and "read_csv" in err


def test_render_job_names_an_unknown_dataset(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = render(capsys, "--dataset", "nope", "--sql", "select 1")
    assert code == 1
    assert out == ""
    assert "DATASET_NOT_FOUND" in err and "ecommerce" in err
