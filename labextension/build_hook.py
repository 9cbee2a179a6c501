"""The wheel build hook's build function (hatch-jupyter-builder calls it; see pyproject.toml).

Wheels get the prebuilt panel through scripts/build-labextension.sh, the same build the dev
setup uses. Editable installs build nothing: `uv sync` must not need node, and the dev venv
gets the panel from that script (scripts/prepare-test-services.sh runs it).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def build(target_name: str, version: str, **_: Any) -> None:
    if version == "editable":
        return
    subprocess.run(["bash", str(ROOT / "scripts" / "build-labextension.sh"), "--no-develop"], check=True)
