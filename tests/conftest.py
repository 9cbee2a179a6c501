"""Fixtures shared by every test package, from bare to fully prepared."""

from __future__ import annotations

from pathlib import Path

import pytest

# Fixture modules shared across test packages (imported once, visible everywhere).
pytest_plugins = ["tests.stores", "tests.server_fixtures"]

REPO_ROOT = Path(__file__).resolve().parents[1]
DATASETS_DIR = REPO_ROOT / "datasets"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    return DATASETS_DIR


@pytest.fixture(scope="session")
def registry():
    from sandbox_server.registry import load_registry

    return load_registry(DATASETS_DIR)


@pytest.fixture(scope="session")
def ecommerce(registry):
    return registry.get("ecommerce")


@pytest.fixture(scope="session")
def support(registry):
    return registry.get("support")


@pytest.fixture(scope="session")
def sensors(registry):
    return registry.get("sensors")
