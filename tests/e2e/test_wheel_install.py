"""What a JupyterHub image or a laptop gets from ``pip install csvanalyst``: the built wheel,
installed without the ``[server]`` extra into a fresh venv with JupyterLab, must show the side
panel enabled, enable its server extension, and load ``%load_ext csvanalyst_kernel`` with none
of the server's dependencies (fastapi, duckdb, docker, ...) installed. No node involved.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.e2e.jupyter_process import REPO_ROOT

pytestmark = pytest.mark.slow

LABEXTENSION = REPO_ROOT / "csvanalyst_kernel" / "labextension" / "package.json"
SERVER_ONLY = ("fastapi", "uvicorn", "duckdb", "docker", "kubernetes", "sqlglot", "langchain")


def _uv() -> str:
    uv = shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")
    if not Path(uv).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("uv is needed to build and install the wheel")
        pytest.skip("uv is not installed")
    if not LABEXTENSION.exists() and os.environ.get("CI") != "true":
        pytest.skip("the labextension is not built (scripts/build-labextension.sh)")
    return uv


def run(*command: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    result = subprocess.run(
        [str(c) for c in command], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def uv_pip_install(uv: str, python: Path, *packages: str | Path) -> None:
    """From the uv cache when it has everything (quick, no network), else from the index."""
    base = [uv, "pip", "install", "--quiet", "--python", str(python), *map(str, packages)]
    if subprocess.run([*base, "--offline"], capture_output=True, timeout=300).returncode != 0:
        run(*base)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    uv = _uv()
    out = tmp_path_factory.mktemp("dist")
    run(uv, "build", "--wheel", "--out-dir", out, cwd=REPO_ROOT)
    [built] = out.glob("csvanalyst-*.whl")
    return built


def test_wheel_ships_the_prebuilt_panel_and_the_server_extension_config(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    data = next(n.split("/data/")[0] for n in names if ".data/data/" in n) + "/data/"
    lab = data + "share/jupyter/labextensions/csvanalyst/"

    assert lab + "package.json" in names
    assert lab + "install.json" in names
    assert lab + "static/style.js" in names
    assert any(n.startswith(lab + "static/remoteEntry.") for n in names)
    assert data + "etc/jupyter/jupyter_server_config.d/csvanalyst_kernel.json" in names
    # Shipped once, as shared data: not also inside the package, and no TypeScript sources.
    assert not any(n.startswith("csvanalyst_kernel/labextension/") for n in names)
    assert not any(n.endswith(".ts") for n in names)


def test_fresh_install_without_server_extra_gives_a_working_jupyterlab(wheel: Path, tmp_path: Path) -> None:
    uv = _uv()
    venv = tmp_path / "venv"
    run(uv, "venv", "--quiet", "--python", sys.executable, venv)
    python = venv / "bin" / "python"
    # The same JupyterLab as the dev venv: the uv cache has it, so no download is needed.
    uv_pip_install(uv, python, wheel, f"jupyterlab=={version('jupyterlab')}")
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "IPYTHONDIR": str(tmp_path / "ipython"),
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
    }
    env.pop("VIRTUAL_ENV", None)

    labextensions = run(venv / "bin" / "jupyter", "labextension", "list", env=env)
    assert "csvanalyst v0.1.0" in labextensions
    line = next(line for line in labextensions.splitlines() if "csvanalyst v" in line)
    assert "enabled" in line and "OK" in line and "(python, csvanalyst)" in line

    serverexts = re.sub(
        r"\x1b\[[0-9;]*m", "", run(venv / "bin" / "jupyter", "server", "extension", "list", env=env)
    )
    assert re.search(r"csvanalyst_kernel\s+enabled", serverexts), serverexts
    assert re.search(r"csvanalyst_kernel\s+OK", serverexts), serverexts

    # None of the server's dependencies came along, and the notebook side does not need them.
    check = (
        "import importlib.util, sys\n"
        f"missing = [m for m in {SERVER_ONLY!r} if importlib.util.find_spec(m) is None]\n"
        f"assert missing == list({SERVER_ONLY!r}), missing\n"
        "import csvanalyst_kernel, csvanalyst_kernel.serverext\n"
        "csvanalyst_kernel.load_ipython_extension\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "ip = InteractiveShell.instance()\n"
        "ip.run_line_magic('load_ext', 'csvanalyst_kernel')\n"
        "assert 'ask' in ip.magics_manager.magics['cell'], 'no %%ask'\n"
        f"assert not set({SERVER_ONLY!r}) & set(sys.modules)\n"
        "print('ok')\n"
    )
    assert run(python, "-c", check, env=env, cwd=tmp_path).strip().endswith("ok")
