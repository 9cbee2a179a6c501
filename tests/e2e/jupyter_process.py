"""A real Jupyter server (or JupyterLab) in a subprocess, isolated from the user's own setup.

The server-extension tests and the browser tests both need one: a temporary root directory,
temporary config/data/runtime directories (so nothing of ``~/.jupyter`` leaks in), a random
token, a free port, and the csvanalyst server extension enabled explicitly.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class JupyterProcess:
    url: str
    token: str
    root_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    def api(self, path: str) -> str:
        return f"{self.url}/{path.lstrip('/')}"

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_jupyter(
    tmp: Path,
    *,
    app: str = "server",
    env: Mapping[str, str] | None = None,
    timeout_s: float = 90.0,
) -> JupyterProcess:
    """``jupyter server`` or ``jupyter lab`` on a free port; returns once ``/api/status`` answers."""
    root, config, data, runtime = (tmp / name for name in ("root", "config", "data", "runtime"))
    for d in (root, config, data, runtime):
        d.mkdir(parents=True, exist_ok=True)
    # Enabled here explicitly, whatever the venv's etc/jupyter holds.
    (config / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"csvanalyst_kernel": True}}})
    )
    # JupyterLab: no news or update checks (nothing here reaches the internet anyway).
    (config / "jupyter_lab_config.json").write_text(
        json.dumps(
            {
                "LabApp": {
                    "news_url": None,
                    "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
                    "extension_manager": "readonly",
                }
            }
        )
    )
    # ... and no "get notified about news?" toast over the page the browser tests click on.
    notification = config / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True, exist_ok=True)
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    token = secrets.token_hex(16)
    port = free_port()
    full_env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_DATA_DIR": str(data),
        "JUPYTER_RUNTIME_DIR": str(runtime),
        "JUPYTER_PLATFORM_DIRS": "1",
        "IPYTHONDIR": str(tmp / "ipython"),
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        **(env or {}),
    }
    command = [
        str(VENV_BIN / "jupyter"), app, "--no-browser",
        f"--port={port}", "--ip=127.0.0.1", f"--ServerApp.token={token}",
        f"--ServerApp.root_dir={root}", "--ServerApp.port_retries=0",
        "--ServerApp.disable_check_xsrf=False",
    ]  # fmt: skip
    if os.geteuid() == 0:  # CI and the dev machines run as root
        command.append("--allow-root")
    log_path = tmp / f"jupyter-{app}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=root, env=full_env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    jupyter = JupyterProcess(f"http://127.0.0.1:{port}", token, root, log_path, process)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter {app} exited with {process.returncode}:\n{jupyter.log()[-3000:]}")
        try:
            if httpx.get(jupyter.api("api/status"), headers=jupyter.auth(), timeout=2).status_code == 200:
                return jupyter
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    jupyter.stop()
    raise RuntimeError(f"jupyter {app} did not start within {timeout_s:.0f} s:\n{jupyter.log()[-3000:]}")
