"""The demo notebooks run top to bottom under nbval and give the outputs stored in them.

Each notebook runs in its own ``pytest --nbval`` subprocess: the repository's pytest collects
only ``tests/``, so the notebooks run exactly once, from here; and each gets a fresh state
directory (capsules, uploads) and so its own embedded server, which is what makes the outputs
deterministic (an upload in one notebook must not appear in another's ``%ask_datasets``).

What is compared and what is not:

* ``sanitize.cfg`` replaces the volatile parts (run and thread ids, hashes, timestamps,
  timings, ports, temporary paths, the sandbox's pid, the user) before comparing;
* cells tagged ``nbval-ignore-output`` still run (an error fails the test) but their output
  is not compared: the ``%%ask`` cells, whose live "running… 0.6 s" display is replaced by a
  display update that nbval does not apply (so a slow run shows an extra output), the capsule
  (its JSON bundle cannot be sanitised) and the panel widget;
* each of those is followed by a compared cell with the deterministic part: the result
  DataFrame, the chart's encoding, the SQL, the history, the replay verdict.

After changing a notebook, store fresh outputs with (from the repository root)::

    for nb in quickstart own_data; do
        CSVANALYST_STATE_DIR=$(mktemp -d) .venv/bin/jupyter nbconvert --to notebook --execute \\
            --inplace --ExecutePreprocessor.record_timing=False notebooks/$nb.ipynb
    done
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
SANITIZE = Path(__file__).with_name("sanitize.cfg")
NOTEBOOKS = ["quickstart", "own_data"]
IGNORE_TAG = "nbval-ignore-output"
RUN_TIMEOUT_S = 240  # both take about 20 s each on a busy 2-core machine


def load(name: str) -> dict[str, Any]:
    return json.loads((NOTEBOOKS_DIR / f"{name}.ipynb").read_text())


def code_cells(name: str) -> list[dict[str, Any]]:
    return [c for c in load(name)["cells"] if c["cell_type"] == "code"]


def ignored(cell: dict[str, Any]) -> bool:
    return IGNORE_TAG in cell.get("metadata", {}).get("tags", [])


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_stored_outputs_come_from_one_clean_top_to_bottom_run(name: str) -> None:
    """nbval compares against the stored outputs, so they must be a real run's, in order, error-free."""
    cells = code_cells(name)
    assert [c["execution_count"] for c in cells] == list(range(1, len(cells) + 1)), (
        f"{name}.ipynb was not executed top to bottom; re-run it (see this module's docstring)"
    )
    errors = [o for c in cells for o in c["outputs"] if o["output_type"] == "error"]
    assert not errors, f"{name}.ipynb has stored errors: {[e['ename'] for e in errors]}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_what_an_ignored_cell_makes_is_checked_later(name: str) -> None:
    """Ignoring output is for the volatile displays only: every value an ignored cell makes
    (``--out VAR``, ``VAR = %magic``) is used by a later cell whose output is compared."""
    cells = code_cells(name)
    for i, cell in enumerate(cells):
        if not ignored(cell):
            continue
        source = "".join(cell["source"])
        made = re.findall(r"--out (\w+)", source) + re.findall(r"^(\w+) = %", source, re.MULTILINE)
        assert made, f"{name}: the ignored cell {source[:60]!r} makes nothing a later cell could check"
        later = ["".join(c["source"]) for c in cells[i + 1 :] if not ignored(c) and c["outputs"]]
        for variable in made:
            assert any(re.search(rf"\b{variable}\b", s) for s in later), (
                f"{name}: {variable} (from {source[:60]!r}) is never shown by a compared cell"
            )


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_under_nbval(name: str, tmp_path: Path, local_sandbox: None) -> None:
    env = {**os.environ, "CSVANALYST_STATE_DIR": str(tmp_path / "state")}
    for variable in ("CSVANALYST_SERVER_URL", "CSVANALYST_TOKEN"):  # the notebooks use the embedded server
        env.pop(variable, None)
    command = [
        sys.executable, "-m", "pytest", str(NOTEBOOKS_DIR / f"{name}.ipynb"),
        "--nbval", "--nbval-current-env", "--nbval-sanitize-with", str(SANITIZE),
        "--nbval-cell-timeout", "120", "-p", "no:cacheprovider", "-q", "--no-header",
    ]  # fmt: skip
    done = subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False
    )
    log = tmp_path / "state" / "embedded-server.log"
    server_log = log.read_text(errors="replace")[-3000:] if log.exists() else "(no server log)"
    assert done.returncode == 0, (
        f"nbval failed on notebooks/{name}.ipynb:\n{done.stdout[-12000:]}\n{done.stderr[-3000:]}\n"
        f"embedded server log:\n{server_log}"
    )
