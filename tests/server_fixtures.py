"""Server fixtures: a Service and a FastAPI TestClient over it, from bare to fully prepared.

``fast_service`` uses the in-process executor (upper-layer tests only: it is never used to answer
a user); ``sandboxed_service`` uses the real local bubblewrap sandbox.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sandbox_server.api import create_app
from sandbox_server.executors.base import Bounded, Executor
from sandbox_server.factory import build_service
from sandbox_server.service import Service
from sandbox_server.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(
        datasets_dir=REPO_ROOT / "datasets", state_dir=tmp_path / "state", executor="local", **overrides
    )  # type: ignore[arg-type]


def inprocess_executor() -> Executor:
    from sandbox_server.executors.inprocess import InProcessExecutor

    return Bounded(InProcessExecutor(), 4)


def make_service(tmp_path: Path, *, executor: Executor | None = None, **overrides: object) -> Service:
    return build_service(make_settings(tmp_path, **overrides), executor=executor or inprocess_executor())


def client_for(service: Service, token: str | None = None) -> TestClient:
    client = TestClient(create_app(service))
    if token:
        client.headers["Authorization"] = f"Bearer {token}"
    return client


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    svc = make_service(tmp_path)
    yield svc
    svc.store.close()


@pytest.fixture
def client(service: Service) -> Iterator[TestClient]:
    with client_for(service) as c:
        yield c
