"""The embedded server: with no server URL configured, the kernel runs its own on localhost.

It is a subprocess (``python -m sandbox_server.cli serve --executor local``), never an import:
the kernel must stay free of the server's dependencies (fastapi, duckdb, ...), and a crash or
a runaway query must not take the kernel down. It binds a free loopback port, is protected by
a random bearer token kept in the state directory (mode 0600) and handed over through
``CSVANALYST_TOKENS``, and is stopped when the kernel exits (``weakref.finalize`` runs at
interpreter exit and when the object is collected).
"""

from __future__ import annotations

import contextlib
import getpass
import importlib.util
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path

import httpx

from csvanalyst_kernel.errors import ClientError

# What `pip install csvanalyst[server]` adds; one missing means the embedded server cannot run.
SERVER_MODULES = ("fastapi", "uvicorn", "duckdb", "sqlglot", "pydantic_settings")
TOKEN_FILE = "kernel-token"
LOG_FILE = "embedded-server.log"
START_TIMEOUT_S = 120.0  # importing the server's stack takes 15 s on a busy 2-core machine


def default_state_dir() -> Path:
    """The server's default ``state_dir`` (``sandbox_server.settings``), without importing it:
    settings needs pydantic-settings, which only the ``[server]`` extra installs."""
    env = os.environ.get("CSVANALYST_STATE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "csvanalyst"


def missing_server_modules() -> list[str]:
    return [name for name in SERVER_MODULES if importlib.util.find_spec(name) is None]


def read_or_create_token(state_dir: Path) -> str:
    """The embedded server's token: made once, readable by its owner only."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / TOKEN_FILE
    if path.exists():
        token = path.read_text().strip()
        if token:
            path.chmod(0o600)
            return token
    token = secrets.token_urlsafe(32)
    # O_EXCL|0600 at creation: the token is never readable by others, not even for an instant.
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


class EmbeddedServer:
    """A ``csvanalyst serve`` subprocess owned by this kernel."""

    def __init__(
        self,
        state_dir: Path | None = None,
        *,
        host: str = "127.0.0.1",
        executor: str = "local",
        datasets_dir: Path | None = None,
    ) -> None:
        self.state_dir = Path(state_dir) if state_dir else default_state_dir()
        self.host = host
        self.executor = executor
        self.datasets_dir = datasets_dir
        self.port: int | None = None
        self.token: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the embedded server is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout_s: float = START_TIMEOUT_S) -> EmbeddedServer:
        if self.running:
            return self
        missing = missing_server_modules()
        if missing:
            raise ClientError(
                "SERVER_NOT_INSTALLED",
                f"no server is configured and the embedded server cannot start: missing {', '.join(missing)}",
                suggestion="pip install 'csvanalyst[server]', or point the kernel at a running server: "
                "%config AskMagics.server_url = 'http://host:8765' (or CSVANALYST_SERVER_URL)",
            )
        self.token = read_or_create_token(self.state_dir)
        self.port = free_port(self.host)
        command = [
            sys.executable, "-m", "sandbox_server.cli", "serve",
            "--host", self.host, "--port", str(self.port),
            "--executor", self.executor, "--state", str(self.state_dir),
        ]  # fmt: skip
        if self.datasets_dir is not None:
            command += ["--datasets", str(self.datasets_dir)]
        env = {**os.environ, "CSVANALYST_TOKENS": json.dumps({self.token: _user()})}
        env.pop("CSVANALYST_AUTH_MODE", None)  # tokens it is, whatever the user's shell says
        log_path = self.state_dir / LOG_FILE
        # The log goes to a file, not a pipe: nobody reads a pipe while the kernel runs, and a
        # full pipe would block the server.
        with open(log_path, "ab") as log:
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env
            )
        self._finalizer = weakref.finalize(self, _terminate, self._process)
        self._wait_healthy(timeout_s, log_path)
        return self

    def stop(self) -> None:
        if self._finalizer is not None:
            self._finalizer()  # idempotent: runs _terminate once
        self._process = None

    def _wait_healthy(self, timeout_s: float, log_path: Path) -> None:
        deadline = time.monotonic() + timeout_s
        assert self._process is not None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ClientError(
                    "SERVER_START_FAILED",
                    f"the embedded server exited with code {self._process.returncode}: {_tail(log_path)}",
                    suggestion=f"see {log_path}; or run `csvanalyst serve` yourself and set "
                    "CSVANALYST_SERVER_URL",
                )
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise ClientError(
            "SERVER_START_FAILED",
            f"the embedded server did not answer /healthz within {timeout_s:.0f} s",
            suggestion=f"see {log_path}",
        )


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers with arbitrary uids)
        return "notebook"


def _tail(path: Path, lines: int = 8) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"


_lock = threading.Lock()
_server: EmbeddedServer | None = None


def embedded_server() -> EmbeddedServer:
    """The kernel's one embedded server, started on first use (thread-safe)."""
    global _server
    with _lock:
        if _server is None or not _server.running:
            _server = EmbeddedServer().start()
        return _server


def stop_embedded_server() -> None:
    global _server
    with _lock:
        if _server is not None:
            _server.stop()
            _server = None
