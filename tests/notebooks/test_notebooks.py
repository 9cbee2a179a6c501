"""The demo notebooks run top to bottom under nbval and give the outputs stored in them.

Each notebook runs in its own ``pytest --nbval`` subprocess: the repository's pytest collects
only ``tests/``, so the notebooks run exactly once, from here; and each gets a fresh state
directory (capsules, uploads) and so its own embedded server, which is what makes the outputs
deterministic (an upload in one notebook must not appear in another's ``%ask_datasets``).

What is compared and what is not:

* the subprocess runs with ``CSVANALYST_PROGRESS=0``: no live "running… 0.6 s" card, which the
  magic would replace by a display update that nbval does not apply, so a ``%%ask`` cell's
  outputs are just the chart (when chartable) and the card, whatever the timing, and they are
  compared like any other cell's (the notebooks themselves leave progress on, for people);
* ``sanitize.cfg`` replaces the volatile parts (run and thread ids, hashes, timestamps,
  timings, ports, temporary paths, the sandbox's pid, the user) before comparing; the chart's
  Vega-Lite JSON is compared as is (nbval sanitises strings only; the spec has no volatile part);
* cells tagged ``nbval-ignore-output`` still run (an error fails the test) but their output is
  not compared: only the capsule (its JSON bundle cannot be sanitised) and the panel widget
  (random model ids, answers arriving in the background); each is followed by a compared cell
  with the deterministic part.

After changing a notebook, store fresh outputs (a real run, in the environment the test uses)
with, from the repository root::

    .venv/bin/python tests/notebooks/test_notebooks.py            # both notebooks
    .venv/bin/python tests/notebooks/test_notebooks.py own_data   # one
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
SANITIZE = Path(__file__).with_name("sanitize.cfg")
NOTEBOOKS = ["quickstart", "own_data"]
IGNORE_TAG = "nbval-ignore-output"
RUN_TIMEOUT_S = 240  # both take about 20 s each on a busy 2-core machine
# A cell that asks: the ``%%ask`` / ``%%ask_sql`` cell magics and ``%ask`` as a line magic.
ASKS = re.compile(r"^(\w+ = )?%%?ask(_sql)?\s", re.MULTILINE)


def load(name: str) -> dict[str, Any]:
    return json.loads((NOTEBOOKS_DIR / f"{name}.ipynb").read_text())


def code_cells(name: str) -> list[dict[str, Any]]:
    return [c for c in load(name)["cells"] if c["cell_type"] == "code"]


def ignored(cell: dict[str, Any]) -> bool:
    return IGNORE_TAG in cell.get("metadata", {}).get("tags", [])


def source(cell: dict[str, Any]) -> str:
    return "".join(cell["source"])


def notebook_env(state_dir: Path) -> dict[str, str]:
    """The environment the notebooks run in, under nbval and when their outputs are stored."""
    env = {**os.environ, "CSVANALYST_STATE_DIR": str(state_dir), "CSVANALYST_PROGRESS": "0"}
    for variable in ("CSVANALYST_SERVER_URL", "CSVANALYST_TOKEN"):  # the notebooks use the embedded server
        env.pop(variable, None)
    return env


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
def test_answers_are_compared_as_stored_without_the_live_card(name: str) -> None:
    """Every cell that asks is compared, and its stored outputs are the chart and the card only:
    a run with progress on leaves the live card's last state (an empty text, or "running…"),
    which nbval's run, made with progress off, would not give."""
    asking = [c for c in code_cells(name) if ASKS.search(source(c))]
    assert asking, f"{name}: no %%ask or %%ask_sql cell found"
    for cell in asking:
        text = source(cell)
        assert not ignored(cell), f"{name}: {text[:60]!r} is an answer; compare it, do not ignore it"
        assert cell["outputs"], f"{name}: {text[:60]!r} has no stored output"
        for output in cell["outputs"]:
            plain = "".join(output.get("data", {}).get("text/plain", ""))
            assert output["output_type"] in ("display_data", "execute_result"), (name, text[:60], output)
            assert plain.strip() and "…" not in plain.splitlines()[0], (
                f"{name}: {text[:60]!r} stores the live progress card ({plain[:80]!r}); "
                "store outputs with CSVANALYST_PROGRESS=0 (see this module's docstring)"
            )


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_what_an_ignored_cell_makes_is_checked_later(name: str) -> None:
    """Ignoring output is for the volatile displays only: every value an ignored cell makes
    (``--out VAR``, ``VAR = %magic``) is used by a later cell whose output is compared."""
    cells = code_cells(name)
    for i, cell in enumerate(cells):
        if not ignored(cell):
            continue
        text = source(cell)
        made = re.findall(r"--out (\w+)", text) + re.findall(r"^(\w+) = %", text, re.MULTILINE)
        assert made, f"{name}: the ignored cell {text[:60]!r} makes nothing a later cell could check"
        later = [source(c) for c in cells[i + 1 :] if not ignored(c) and c["outputs"]]
        for variable in made:
            assert any(re.search(rf"\b{variable}\b", s) for s in later), (
                f"{name}: {variable} (from {text[:60]!r}) is never shown by a compared cell"
            )


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_under_nbval(name: str, tmp_path: Path, local_sandbox: None) -> None:
    command = [
        sys.executable, "-m", "pytest", str(NOTEBOOKS_DIR / f"{name}.ipynb"),
        "--nbval", "--nbval-current-env", "--nbval-sanitize-with", str(SANITIZE),
        "--nbval-cell-timeout", "120", "-p", "no:cacheprovider", "-q", "--no-header",
    ]  # fmt: skip
    done = subprocess.run(
        command,
        cwd=REPO_ROOT,
        env=notebook_env(tmp_path / "state"),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    log = tmp_path / "state" / "embedded-server.log"
    server_log = log.read_text(errors="replace")[-3000:] if log.exists() else "(no server log)"
    assert done.returncode == 0, (
        f"nbval failed on notebooks/{name}.ipynb:\n{done.stdout[-12000:]}\n{done.stderr[-3000:]}\n"
        f"embedded server log:\n{server_log}"
    )


def store_outputs(name: str) -> None:
    """Run a notebook top to bottom in the test's environment and store its outputs in place."""
    with tempfile.TemporaryDirectory(prefix=f"csvanalyst-{name}-") as state:
        command = [
            sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--inplace",
            "--ExecutePreprocessor.record_timing=False", "--ExecutePreprocessor.timeout=120",
            str(NOTEBOOKS_DIR / f"{name}.ipynb"),
        ]  # fmt: skip
        subprocess.run(command, cwd=REPO_ROOT, env=notebook_env(Path(state) / "state"), check=True)


if __name__ == "__main__":
    for notebook in sys.argv[1:] or NOTEBOOKS:
        store_outputs(notebook)
