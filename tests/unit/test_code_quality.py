"""Lint, format and types stay clean: the suite fails the moment they do not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_lint_is_clean() -> None:
    p = run(str(BIN / "ruff"), "check", ".")
    assert p.returncode == 0, p.stdout[-3000:]


def test_ruff_format_is_clean() -> None:
    p = run(str(BIN / "ruff"), "format", "--check", ".")
    assert p.returncode == 0, p.stdout[-3000:]


@pytest.mark.slow
def test_mypy_is_clean() -> None:
    p = run(str(BIN / "mypy"))
    assert p.returncode == 0, p.stdout[-3000:]
