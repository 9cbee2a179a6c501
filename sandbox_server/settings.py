"""The sandbox server's one Settings (pydantic-settings, env prefix ``CSVANALYST_``).

Every field has a description and its unit in its name; ``tests/unit/test_settings_documented.py``
fails when one is missing from the README's configuration table. CLI flags override the
environment by constructing ``Settings(**overrides)``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ExecutorName = Literal["auto", "local", "docker", "kubernetes"]
REPO_ROOT = Path(__file__).resolve().parents[1]


def _default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "csvanalyst"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CSVANALYST_", extra="ignore")

    # -- serving
    host: str = Field("127.0.0.1", description="Address `csvanalyst serve` binds")
    port: int = Field(8765, description="Port `csvanalyst serve` binds")
    datasets_dir: Path = Field(
        REPO_ROOT / "datasets", description="Directory with registry.json and the demo datasets"
    )
    state_dir: Path = Field(
        default_factory=_default_state_dir,
        description="Where capsules (SQLite), uploaded datasets, threads and the embedded server's token live",
    )
    database_url: str | None = Field(
        None, description="SQLAlchemy URL of the capsule store; default SQLite (WAL) under state_dir"
    )
    log_level: str = Field("INFO", description="Log level of the JSON logs")

    # -- auth
    tokens: dict[str, str] = Field(
        default_factory=dict, description='Bearer tokens mapped to users, JSON: {"token": "user"}'
    )
    auth_mode: Literal["auto", "none", "tokens", "jupyterhub"] = Field(
        "auto", description="auto: tokens if any are configured, else none (loopback only)"
    )
    jupyterhub_api_url: str | None = Field(None, description="JupyterHub API URL (auth_mode=jupyterhub)")
    jupyterhub_api_token: str | None = Field(None, description="Service token for JupyterHub's API")

    # -- execution
    executor: ExecutorName = Field(
        "auto", description="auto: kubernetes in-cluster, else docker if reachable, else local"
    )
    max_concurrent_runs: int = Field(4, ge=1, description="Runs executing at once; the rest queue")
    run_timeout_s: float = Field(10.0, gt=0, description="Wall-clock limit of one run inside the sandbox")
    max_rows: int = Field(
        200, ge=1, description="Rows a run returns at most (the rest is reported as truncated)"
    )
    sql_default_limit: int = Field(200, ge=1, description="LIMIT the policy adds when a query has none")
    sql_max_limit: int = Field(10_000, ge=1, description="Largest LIMIT the policy allows")
    max_output_bytes: int = Field(8 * 1024 * 1024, description="Bytes of result JSON a runner may write")
    runner_memory_mb: int = Field(512, description="Memory limit of one sandbox")
    runner_cpus: float = Field(0.5, description="CPU share of one sandbox (Docker/Kubernetes)")
    runner_pids: int = Field(64, description="Process/thread limit of one sandbox")
    runner_tmp_mb: int = Field(64, description="Size of the sandbox's /tmp tmpfs")
    runner_threads: int = Field(1, description="DuckDB threads inside the sandbox")

    # -- docker executor
    docker_image: str = Field("csvanalyst-runner:latest", description="Runner image for the docker executor")
    docker_data_root: str = Field("/data", description="Where datasets are mounted inside the container")

    # -- kubernetes executor
    k8s_namespace: str = Field("default", description="Namespace the runner Jobs are created in")
    k8s_image: str = Field("csvanalyst-runner:latest", description="Runner image for Kubernetes Jobs")
    k8s_image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = Field(
        "IfNotPresent", description="imagePullPolicy of runner pods"
    )
    k8s_data_volume_claim: str | None = Field(
        None, description="PVC holding the datasets (read-only); None: datasets baked into the image"
    )
    k8s_data_volume_path: Path | None = Field(
        None,
        description="Where the server itself mounts the k8s_data_volume_claim volume; a dataset's directory "
        "relative to it is the subPath its runner pod mounts. None: datasets_dir",
    )
    k8s_data_root: str = Field(
        "/data",
        description="Where a run's dataset is inside the runner pod (the image bakes datasets in at <k8s_data_root>/<dataset id>)",
    )
    k8s_pending_timeout_s: float = Field(
        60.0, description="A runner pod still Pending after this fails the run"
    )
    k8s_job_ttl_s: int = Field(300, description="ttlSecondsAfterFinished of runner Jobs")

    # -- planners
    llm_model: str | None = Field(
        None, description="Chat model name; when set, questions go to the LLM planner"
    )
    llm_timeout_s: float = Field(30.0, description="Timeout of one LLM call")
    llm_max_corrections: int = Field(2, description="Validation errors fed back to the LLM for correction")
    llm_privacy: Literal["rows", "schema_only"] = Field(
        "schema_only", description="schema_only: the LLM sees schema and column profiles, never result rows"
    )

    # -- uploads
    upload_max_bytes: int = Field(200 * 1024 * 1024, description="Largest upload (all files of one dataset)")


@lru_cache
def get_settings() -> Settings:
    return Settings()
