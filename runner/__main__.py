"""``python -m runner``: one JSON request on stdin, one JSON response on stdout, nothing else.

Anything else written to stdout or stderr while the run goes on (by Python, by DuckDB's C++
code, by a warning) is diverted at the file-descriptor level into temporary files and returned
in the response's ``stdout_trunc`` / ``stderr_trunc`` (last 64 KB each), so stdout carries the
response alone. Imports happen before the diversion: if the interpreter or duckdb cannot even
start, the executor sees why on the process's real stderr.

The exit code is 0 whenever a response was written, whatever the run's status.

``python -m runner --request-env NAME`` reads the request from environment variable NAME
instead of stdin: a Kubernetes Job has no stdin (see sandbox_server/executors/k8s/manifest.py).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from runner.engine import execute
from runner.protocol import RunnerFailure, failed, tail


@contextmanager
def _diverted(fd: int) -> Iterator[IO[bytes]]:
    """Point ``fd`` at a temporary file for the duration; yield the file to read back."""
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), fd)
        try:
            yield capture
        finally:
            os.dup2(saved, fd)
            os.close(saved)


def _read_back(capture: IO[bytes]) -> str:
    capture.seek(0)
    return tail(capture.read().decode("utf-8", "replace"))


def handle(stdin_bytes: bytes) -> dict[str, Any]:
    try:
        raw = json.loads(stdin_bytes)
    except (ValueError, UnicodeDecodeError) as exc:
        return failed(RunnerFailure("VALIDATION_ERROR", f"request is not valid JSON: {exc}"))
    return execute(raw)


def _request_bytes(argv: list[str]) -> bytes:
    """stdin, or with ``--request-env NAME`` the environment variable NAME (removed once read)."""
    if len(argv) == 2 and argv[0] == "--request-env":
        return os.environ.pop(argv[1], "").encode()
    if argv:
        raise SystemExit(f"usage: python -m runner [--request-env NAME] (got {argv})")
    return sys.stdin.buffer.read()


def main(argv: list[str] | None = None) -> int:
    request_bytes = _request_bytes(sys.argv[1:] if argv is None else argv)
    response_fd = os.dup(1)
    with _diverted(1) as out, _diverted(2) as err:
        try:
            result = handle(request_bytes)
        except Exception as exc:  # a response must be written whatever happened
            result = failed(RunnerFailure("RUNNER_INTERNAL_ERROR", f"{type(exc).__name__}: {exc}"))
        sys.stdout.flush()
        sys.stderr.flush()
        result["stdout_trunc"] = _read_back(out)
        result["stderr_trunc"] = _read_back(err)
    payload = json.dumps(result, separators=(",", ":"), allow_nan=False).encode() + b"\n"
    with os.fdopen(response_fd, "wb") as stdout:
        stdout.write(payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
