"""Red team: every attack in ``redteam_attacks.jsonl`` is rejected, every realistic analytic query
in ``benign_queries.jsonl`` is allowed — through ``check_sql`` and through the real
``csvanalyst check-sql --jsonl`` command — and the benign ones also mean something: the SQL the
policy would run executes on DuckDB over the demo CSVs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import duckdb
import pytest

from sandbox_server.cli import check_sql as check_sql_cli
from sandbox_server.policy import Allow, Reject, check_sql
from sandbox_server.registry import Registry, load_registry

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CSVANALYST = REPO / ".venv" / "bin" / "csvanalyst"
ATTACK_DATASET = "ecommerce"
DEMO_TABLES = {
    "ecommerce": ["orders", "order_items", "inventory"],
    "support": ["tickets"],
    "sensors": ["sensors"],
}
# A test-only dataset holding every demo table, so one CLI run checks every benign query.
ALL_DEMO = "all_demo_tables"
ALL_TABLES = [t for tables in DEMO_TABLES.values() for t in tables]


def _load(name: str) -> list[dict[str, Any]]:
    # split on "\n" only: JSON Lines records end there, and str.splitlines would also split on
    # the U+2028 and bare CR characters some attacks are made of.
    text = (HERE / name).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.split("\n") if line.strip()]


ATTACKS = _load("redteam_attacks.jsonl")
BENIGN = _load("benign_queries.jsonl")


def test_corpora_are_well_formed() -> None:
    assert len(ATTACKS) >= 120 and len(BENIGN) >= 45
    for corpus, keys in ((ATTACKS, {"id", "sql", "why"}), (BENIGN, {"id", "dataset", "sql"})):
        ids = [record["id"] for record in corpus]
        assert len(ids) == len(set(ids)), "ids must be unique"
        for record in corpus:
            assert keys <= set(record), record
    assert {r["dataset"] for r in BENIGN} == set(DEMO_TABLES)


@pytest.mark.parametrize("attack", ATTACKS, ids=[a["id"] for a in ATTACKS])
def test_attack_is_rejected(attack: dict[str, str]) -> None:
    decision = check_sql(attack["sql"], DEMO_TABLES[ATTACK_DATASET])
    assert isinstance(decision, Reject), f"{attack['why']}: allowed as {getattr(decision, 'sql', '')!r}"
    assert decision.message and decision.suggestion


@pytest.mark.parametrize("query", BENIGN, ids=[b["id"] for b in BENIGN])
def test_benign_query_is_allowed(query: dict[str, str]) -> None:
    decision = check_sql(query["sql"], DEMO_TABLES[query["dataset"]])
    assert isinstance(decision, Allow), decision.message if isinstance(decision, Reject) else ""


# -- the command line, as a user (or CI) runs it ------------------------------------------------


def _check_sql_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    if not CSVANALYST.exists():
        pytest.fail(f"{CSVANALYST} is missing: create the environment as the README says")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSVANALYST_")}
    return subprocess.run(
        [str(CSVANALYST), "check-sql", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


@pytest.fixture(scope="module")
def registry_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry with the demo datasets' table names (files need not exist: check-sql reads none)."""
    directory = tmp_path_factory.mktemp("datasets")
    registry = Registry.model_validate(
        {
            "datasets": [
                {
                    "id": dataset_id,
                    "version_hash": "0" * 64,
                    "tables": [
                        {"name": t, "file": f"{t}.csv", "columns": [{"name": "id", "type": "BIGINT"}]}
                        for t in tables
                    ],
                }
                for dataset_id, tables in {**DEMO_TABLES, ALL_DEMO: ALL_TABLES}.items()
            ]
        }
    )
    (directory / "registry.json").write_text(registry.model_dump_json(by_alias=True), encoding="utf-8")
    return directory


def _verdicts(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line]


def test_cli_rejects_every_attack_in_one_run(registry_dir: Path, tmp_path: Path) -> None:
    batch = tmp_path / "attacks.jsonl"
    batch.write_text((HERE / "redteam_attacks.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
    result = _check_sql_cli(
        "--dataset", ATTACK_DATASET, "--jsonl", str(batch), "--datasets", str(registry_dir)
    )
    assert result.returncode == 2, result.stderr
    verdicts = _verdicts(result)
    assert len(verdicts) == len(ATTACKS)
    for attack, verdict in zip(ATTACKS, verdicts, strict=True):
        assert verdict["allowed"] is False, attack["id"]
        assert verdict["code"] == "SQL_POLICY_VIOLATION" and verdict["sql"] is None
        # in order: the n-th verdict is the n-th attack's
        assert verdict["rule"] == check_sql(attack["sql"], DEMO_TABLES[ATTACK_DATASET]).to_json()["rule"]


def test_cli_allows_every_benign_query_in_one_run(registry_dir: Path) -> None:
    stdin = "".join(json.dumps(q) + "\n" for q in BENIGN)
    result = _check_sql_cli(
        "--dataset", ALL_DEMO, "--jsonl", "-", "--datasets", str(registry_dir), stdin=stdin
    )
    assert result.returncode == 0, result.stdout + result.stderr
    verdicts = _verdicts(result)
    assert [v["allowed"] for v in verdicts] == [True] * len(BENIGN)
    for query, verdict in zip(BENIGN, verdicts, strict=True):
        assert verdict["sql"] == check_sql(query["sql"], ALL_TABLES).to_json()["sql"], query["id"]


def _run_in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The subcommand through its own parser, in-process: the CLI's behaviour without paying for a
    new interpreter (and every other subcommand's imports) per case."""
    parser = argparse.ArgumentParser(prog="csvanalyst")
    check_sql_cli.register(parser.add_subparsers(dest="command", required=True))
    parsed = parser.parse_args(["check-sql", *args])
    code = parsed.func(parsed)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_single_query(registry_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run_in_process(
        capsys, "SELECT count(*) FROM orders", "--dataset", "ecommerce", "--datasets", str(registry_dir)
    )
    assert code == 0
    assert json.loads(out) == {
        "allowed": True,
        "code": None,
        "rule": None,
        "message": "allowed; LIMIT 200 added",
        "sql": "SELECT COUNT(*) FROM orders LIMIT 200",
    }
    code, out, _ = _run_in_process(
        capsys, "SELECT getenv('HOME')", "--dataset", "ecommerce", "--datasets", str(registry_dir)
    )
    assert code == 2 and json.loads(out)["rule"] == "function_not_allowed"


def test_cli_bad_lines_get_bad_input_verdicts(
    registry_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = tmp_path / "batch.jsonl"
    batch.write_text('{"sql": "SELECT 1"}\nnot json\n{"query": "SELECT 1"}\n\n{"sql": 5, "id": 4}\n')
    code, out, _ = _run_in_process(
        capsys, "--dataset", "support", "--jsonl", str(batch), "--datasets", str(registry_dir)
    )
    assert code == 2
    verdicts = [json.loads(line) for line in out.splitlines()]
    assert [v["rule"] for v in verdicts] == [None, "bad_input", "bad_input", "bad_input"]
    assert [v["allowed"] for v in verdicts] == [True, False, False, False]
    for verdict, line in zip(verdicts[1:], ("line 2", "line 3", "line 5"), strict=True):
        assert line in verdict["message"] and verdict["sql"] is None


def test_cli_unknown_dataset_and_usage(registry_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run_in_process(capsys, "SELECT 1", "--dataset", "nope", "--datasets", str(registry_dir))
    assert code == 2 and out == ""
    assert "nope" in err and "ecommerce" in err
    code, out, err = _run_in_process(capsys, "--dataset", "ecommerce", "--datasets", str(registry_dir))
    assert code == 2 and "either SQL or --jsonl" in err
    code, out, err = _run_in_process(
        capsys, "SELECT 1", "--dataset", "x", "--datasets", str(registry_dir / "none")
    )
    assert code == 2 and "registry" in err


# -- meaning: the SQL that would run executes on the demo data -----------------------------------


@pytest.fixture(scope="module")
def demo_registry() -> Registry:
    try:
        return load_registry(REPO / "datasets")
    except Exception as exc:  # missing or stale demo data
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"demo datasets unavailable ({exc}); generate them: python datasets/generate.py")


@pytest.mark.parametrize("dataset_id", sorted(DEMO_TABLES))
def test_benign_queries_execute_on_the_demo_data(demo_registry: Registry, dataset_id: str) -> None:
    dataset = demo_registry.get(dataset_id)
    con = duckdb.connect(":memory:")
    try:
        for table, path in dataset.file_paths().items():
            quoted = str(path).replace("'", "''")  # DDL cannot take a bound parameter
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_csv('{quoted}')")
        for query in (q for q in BENIGN if q["dataset"] == dataset_id):
            decision = check_sql(query["sql"], dataset.table_names)
            assert isinstance(decision, Allow), query["id"]
            rows = con.execute(decision.sql).fetchall()
            assert len(rows) <= 200, query["id"]
    finally:
        con.close()
