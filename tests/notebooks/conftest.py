"""What the notebook tests need: a working local sandbox (the notebooks use the embedded server,
which runs every query in bubblewrap). Missing, it skips on a developer machine and fails under
``CI=true``, so CI never passes by skipping the notebooks."""

from __future__ import annotations

import os

import pytest

from sandbox_server.errors import ExecutorUnavailable


@pytest.fixture(scope="session")
def local_sandbox() -> None:
    from sandbox_server.executors.local import LocalExecutor

    try:
        LocalExecutor().check()
    except ExecutorUnavailable as exc:
        reason = f"the notebooks need the local sandbox: {exc.message} ({exc.suggestion})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (CI=true: required here)", pytrace=False)
        pytest.skip(reason)
