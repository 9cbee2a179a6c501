"""The compiler: golden files (plan → exact SQL), determinism, literals that stay literals, and
the meaning of the SQL checked by running it on in-process DuckDB over the demo CSVs.

Golden files live side by side in tests/fixtures/compiler/: ``<case>.plan.json`` and
``<case>.sql``. After an intended change to the compiler, rewrite them with
``UPDATE_GOLDEN=1 pytest tests/unit/test_compiler.py`` and review the diff.
(In-process DuckDB is fine here: it checks what the SQL means; users' queries only ever run
in a sandbox.)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from sandbox_server.compiler import build_select, compile_plan, like_pattern
from sandbox_server.errors import ValidationError
from sandbox_server.plan import QueryPlan
from sandbox_server.registry import Dataset
from sandbox_server.validate import validate_plan

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "compiler"
CASES = sorted(p.name.removesuffix(".plan.json") for p in GOLDEN.glob("*.plan.json"))
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

# Rows for the "odd" dataset (tests/fixtures/compiler/odd.dataset.json): its identifiers are
# reserved words, contain spaces or capitals, so only correct quoting makes the SQL run.
ODD_ROWS = [(1, "xa_by", "g1", 2.5), (1, "a_b", "g1", 1.0), (1, "axb", "g2", 4.0), (2, "a_b", "g2", 8.0)]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@pytest.fixture(scope="module")
def datasets(registry) -> dict[str, Dataset]:
    odd = Dataset.model_validate_json((GOLDEN / "odd.dataset.json").read_text())
    return {**{d.id: d for d in registry.datasets}, odd.id: odd}


@pytest.fixture(scope="module")
def db(datasets: dict[str, Dataset]):
    """One DuckDB with every demo table (typed as the registry says) and the odd table."""
    con = duckdb.connect()
    for dataset in datasets.values():
        if dataset.directory is None:
            continue
        for table, path in dataset.file_paths().items():
            info = dataset.table(table)
            assert info is not None
            columns = {c.name: c.type for c in info.columns}
            con.read_csv(str(path), header=True, columns=columns).create(table)
    odd = datasets["odd"].tables[0]
    con.execute(f"CREATE TABLE {_q(odd.name)} ({', '.join(f'{_q(c.name)} {c.type}' for c in odd.columns)})")
    con.executemany(f"INSERT INTO {_q(odd.name)} VALUES (?, ?, ?, ?)", ODD_ROWS)
    yield con
    con.close()


def load_plan(case: str) -> QueryPlan:
    return QueryPlan.model_validate_json((GOLDEN / f"{case}.plan.json").read_text())


def compile_case(case: str, datasets: dict[str, Dataset]) -> str:
    plan = load_plan(case)
    return compile_plan(plan, datasets[plan.dataset_id])


def run(db, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    cur = db.execute(sql)
    return [d[0] for d in cur.description], cur.fetchall()


# ---------------------------------------------------------------- golden files


def test_there_are_enough_golden_cases():
    assert len(CASES) >= 25


@pytest.mark.parametrize("case", CASES)
def test_golden_sql(case: str, datasets):
    sql = compile_case(case, datasets) + "\n"
    path = GOLDEN / f"{case}.sql"
    if UPDATE:
        path.write_text(sql)
    assert path.exists(), f"no golden file {path.name}; run with UPDATE_GOLDEN=1 and review it"
    assert sql == path.read_text(), (
        f"{case}: compiled SQL differs from {path.name} (UPDATE_GOLDEN=1 to accept)"
    )


@pytest.mark.parametrize("case", CASES)
def test_golden_sql_runs_and_matches_outputs(case: str, datasets, db):
    """Every golden SQL runs on DuckDB; its columns are the plan's output names, its rows ≤ limit."""
    plan = load_plan(case)
    resolved = validate_plan(plan, datasets[plan.dataset_id])
    names, rows = run(db, compile_plan(plan, datasets[plan.dataset_id]))
    assert names == list(resolved.output_names)
    assert len(rows) <= plan.limit


@pytest.mark.parametrize("case", CASES)
def test_compilation_is_deterministic(case: str, datasets):
    plan = load_plan(case)
    again = QueryPlan.model_validate(json.loads(plan.model_dump_json()))
    dataset = datasets[plan.dataset_id]
    assert compile_plan(plan, dataset) == compile_plan(plan, dataset) == compile_plan(again, dataset)


@pytest.mark.parametrize("case", CASES)
def test_sql_is_one_select_with_a_limit(case: str, datasets):
    statements = sqlglot.parse(compile_case(case, datasets), dialect="duckdb")
    assert len(statements) == 1
    select = statements[0]
    assert isinstance(select, exp.Select)
    assert select.args["limit"].expression.to_py() == load_plan(case).limit


# ---------------------------------------------------------------- meaning, against hand-written SQL

MEANING = [
    ("filter_eq_count", "SELECT count(*) FROM orders WHERE status = 'delivered'"),
    ("count_rows", "SELECT count(*) FROM orders"),
    (
        "measures",
        """SELECT status, sum(total) FILTER (WHERE status <> 'cancelled'), avg(returned::int),
                  avg(total) FILTER (WHERE status <> 'cancelled'), count(*)
           FROM orders GROUP BY status ORDER BY 2 DESC""",
    ),
    (
        "measure_with_join",
        """SELECT i.name, sum(oi.price * oi.quantity * (1 - oi.discount)) AS r
           FROM order_items oi JOIN inventory i USING (product_id) GROUP BY i.name ORDER BY r DESC LIMIT 5""",
    ),
    (
        "rate_condition",
        """SELECT date_trunc('quarter', order_date)::date AS q, count(*) FILTER (WHERE status = 'cancelled') / count(*)
           FROM orders GROUP BY q ORDER BY q""",
    ),
    (
        "null_tests",
        """SELECT priority, count(*) FROM tickets WHERE resolved_at IS NOT NULL AND csat_score IS NULL
           GROUP BY priority ORDER BY priority""",
    ),
    (
        "having",
        """SELECT category, count(*) AS n, sum(quantity) AS q FROM order_items GROUP BY category
           HAVING count(*) > 2000 AND category <> 'Books' ORDER BY q DESC""",
    ),
    (
        "part_day_of_week",
        """SELECT isodow(created_at) AS d, count(*) FROM tickets GROUP BY d ORDER BY d""",
    ),
    (
        "join_three_tables",
        """SELECT i.category, date_trunc('year', o.order_date)::date AS y, sum(oi.quantity),
                  count(DISTINCT o.order_id), max(o.total)
           FROM order_items oi JOIN orders o ON oi.order_id = o.order_id
           LEFT JOIN inventory i ON oi.product_id = i.product_id
           WHERE o.status = 'delivered' AND i.stock < 20 GROUP BY ALL""",
    ),
    ("filter_boolean", "SELECT count(*) FROM orders WHERE returned"),
    ("row_order_by_unselected", "SELECT order_id FROM orders ORDER BY total DESC LIMIT 3"),
]


def _rounded(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [tuple(round(v, 6) if isinstance(v, float) else v for v in row) for row in rows]


@pytest.mark.parametrize(("case", "hand_sql"), MEANING, ids=[m[0] for m in MEANING])
def test_compiled_sql_means_what_hand_written_sql_means(case: str, hand_sql: str, datasets, db):
    _, compiled = run(db, compile_case(case, datasets))
    _, expected = run(db, hand_sql)
    assert compiled, "a meaning check on an empty result proves little"
    if "ORDER BY" in hand_sql:
        assert _rounded(compiled) == _rounded(expected)
    else:
        assert sorted(_rounded(compiled)) == sorted(_rounded(expected))


def test_month_buckets_cover_every_order(datasets, db):
    _, rows = run(db, compile_case("bucket_month_sum", datasets))
    assert len(rows) == 24  # 2024-01 .. 2025-12, ascending by default
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    _, [(total,)] = run(db, "SELECT sum(total) FROM orders")
    assert sum(r[1] for r in rows) == pytest.approx(total)


def test_odd_identifiers_run(datasets, db):
    _, rows = run(db, compile_case("odd_identifiers", datasets))
    # "my col" contains a literal "a_b" (not "a?b") and "select" = 1: rows 1 and 2, both g1.
    assert rows == [("g1", 7.0, 2)]


# ---------------------------------------------------------------- values stay values

INJECTIONS = [
    "x' OR 1=1 --",
    "'; DROP TABLE orders; --",
    "delivered' UNION SELECT * FROM inventory --",
    "\\'; SELECT 1; --",
    "Robert'); DROP TABLE students;--",
    'a" OR "1"="1',
]


@pytest.mark.parametrize("value", INJECTIONS)
@pytest.mark.parametrize("op", ["=", "contains", "in"])
def test_injection_values_stay_one_literal(value: str, op: str, datasets, db):
    plan = QueryPlan(
        dataset_id="ecommerce",
        table="orders",
        filters=[{"column": "status", "op": op, "value": [value] if op == "in" else value}],
        select=[{"func": "count"}],
    )
    sql = compile_plan(plan, datasets["ecommerce"])
    [statement] = sqlglot.parse(sql, dialect="duckdb")
    assert isinstance(statement, exp.Select)
    literals = [lit.this for lit in statement.find_all(exp.Literal) if lit.is_string and lit.this != "\\"]
    expected = like_pattern(value, "contains") if op == "contains" else value
    assert literals == [expected]
    assert not list(statement.find_all(exp.Union, exp.Drop, exp.Or))
    assert run(db, sql)[1] == [(0,)]


# ---------------------------------------------------------------- LIKE escaping, by meaning

LIKE_ROWS = ["a%b", "axb", "a_b", "ab", "a\\b", "50%_off\\now", "%", "_", "\\", "plain", "%start", "end_"]


@pytest.fixture(scope="module")
def like_db():
    dataset = Dataset.model_validate(
        {
            "id": "likes",
            "version_hash": "0" * 64,
            "tables": [{"name": "t", "file": "t.csv", "columns": [{"name": "s", "type": "VARCHAR"}]}],
        }
    )
    con = duckdb.connect()
    con.execute("CREATE TABLE t (s VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?)", [(s,) for s in LIKE_ROWS])
    yield dataset, con
    con.close()


@pytest.mark.parametrize("needle", ["%", "_", "\\", "a%b", "a_b", "%_", "_off\\", "plain", "x"])
@pytest.mark.parametrize("op", ["contains", "startswith", "endswith"])
def test_like_operators_match_plain_text(needle: str, op: str, like_db):
    dataset, con = like_db
    plan = QueryPlan(
        dataset_id="likes",
        table="t",
        filters=[{"column": "s", "op": op, "value": needle}],
        select=["s"],
    )
    got = sorted(r[0] for r in con.execute(compile_plan(plan, dataset)).fetchall())
    test = {"contains": str.__contains__, "startswith": str.startswith, "endswith": str.endswith}[op]
    assert got == sorted(s for s in LIKE_ROWS if test(s, needle))


# ---------------------------------------------------------------- shape of the AST


def test_build_select_returns_an_ast_with_qualified_columns_when_joined(datasets):
    plan = load_plan("join_three_tables")
    select = build_select(validate_plan(plan, datasets["ecommerce"]))
    assert isinstance(select, exp.Select)
    columns = list(select.find_all(exp.Column))
    outputs = set(validate_plan(plan, datasets["ecommerce"]).output_names)
    assert columns and all(c.table for c in columns if c.name not in outputs)
    assert {j.this.name for j in select.args["joins"]} == {"orders", "inventory"}


def test_unjoined_plans_use_bare_column_names(datasets):
    sql = compile_case("measures", datasets)
    assert "orders." not in sql


def test_default_order_is_by_time_dimensions_and_explicit_order_wins(datasets):
    assert "ORDER BY\n  order_date_month\n" in compile_case("bucket_month_sum", datasets)
    assert "ORDER BY\n  count_distinct_customer_id DESC\n" in compile_case("count_distinct", datasets)
    assert "ORDER BY" not in compile_case("count_rows", datasets)


def test_compile_validates_first(datasets):
    plan = QueryPlan(dataset_id="ecommerce", table="orders", select=[{"func": "sum", "column": "totl"}])
    with pytest.raises(ValidationError, match="did you mean 'total'"):
        compile_plan(plan, datasets["ecommerce"])


# ---------------------------------------------------------------- the policy accepts what we emit


@pytest.mark.parametrize("case", CASES)
def test_the_policy_allows_every_compiled_query(case: str, datasets, db):
    """The compiler only emits what the policy's allowlist accepts, and the SQL the policy
    re-emits means the same (same rows on DuckDB)."""
    policy = pytest.importorskip("sandbox_server.policy")
    dataset = datasets[load_plan(case).dataset_id]
    sql = compile_case(case, datasets)
    decision = policy.check_sql(sql, dataset.table_names)
    assert decision.allowed, f"{case}: {decision.rule}: {decision.message}"
    (names, rows), (policy_names, policy_rows) = run(db, sql), run(db, decision.sql)
    assert policy_names == names
    assert sorted(policy_rows, key=repr) == sorted(rows, key=repr)  # ties may come in any order
