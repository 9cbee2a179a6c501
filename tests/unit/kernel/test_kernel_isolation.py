"""The notebook side must not pull in the server's dependencies (DESIGN.md, STYLE.md point 5):
checked in a fresh interpreter, for the package and for every module a notebook uses."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("fastapi", "docker", "kubernetes", "duckdb", "sqlglot", "sqlalchemy", "langchain", "uvicorn")


def imported_heavy(code: str) -> list[str]:
    probe = f"""
import json, sys
{code}
heavy = {HEAVY!r}
print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules if m.split('.')[0] in heavy}})))
"""
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def test_import_csvanalyst_kernel_pulls_in_no_server_dependency() -> None:
    assert imported_heavy("import csvanalyst_kernel") == []


def test_magics_panel_and_a_rendered_card_pull_in_no_server_dependency() -> None:
    code = """
import csvanalyst_kernel
from csvanalyst_kernel import magics, panel, client, embedded, session
from csvanalyst_kernel.answer import Answer
from sandbox_server.schemas import RunResponse
response = RunResponse(run_id="r", status="succeeded", dataset_id="d",
                       plan={"table": "orders", "select": [{"func": "count"}]}, sql="SELECT 1",
                       result={"columns": [{"name": "n", "type": "BIGINT"}], "rows": [[1]], "row_count": 1},
                       chart={"mark": "bar"})
bundle = Answer("d").finished(response)._repr_mimebundle_()
assert "text/html" in bundle
"""
    assert imported_heavy(code) == []
