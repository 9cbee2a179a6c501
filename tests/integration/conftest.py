"""Fixtures shared by the integration tests: real engines, skipped or failed when missing.

On a developer machine a missing engine skips with the reason; with ``CI=true`` it fails,
so CI never passes by skipping what it was meant to test.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

from sandbox_server.errors import ExecutorUnavailable


def unavailable(reason: str) -> NoReturn:
    """Skip (developer machine) or fail (``CI=true``) a test that needs a missing engine."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: required here)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def local_executor():
    """A checked LocalExecutor: bubblewrap is installed and can create a sandbox here."""
    from sandbox_server.executors.local import LocalExecutor

    executor = LocalExecutor()
    try:
        executor.check()
    except ExecutorUnavailable as exc:
        unavailable(f"local executor unavailable: {exc.message} ({exc.suggestion})")
    return executor
