"""The SQL policy, rule by rule: which rule fires, what SQL runs, and the verdict's JSON shape."""

from __future__ import annotations

import dataclasses
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sandbox_server.errors import PolicyViolation
from sandbox_server.policy import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Allow,
    Reject,
    _duckdb,
    check_sql,
    enforce,
)

TABLES = ("orders", "order_items", "inventory")
SECURITY = Path(__file__).resolve().parents[1] / "security"

# (sql, the rule that must fire) — one or more rows per rule, in the order the policy checks them.
REJECTED = [
    ("SELECT 1 AS x" + " " * 30_000, "too_long"),
    ("SELECT 1\x00", "bad_character"),
    ("SELECT\u200b 1", "bad_character"),
    ("SELECT 1 \u202e", "bad_character"),
    ("SELECT 1\x07", "bad_character"),
    ("", "parse_error"),
    ("SELEC 1", "parse_error"),
    ("SELECT 'unterminated", "parse_error"),
    ("SELECT " + "(" * 3000 + "1" + ")" * 3000, "parse_error"),
    ("SELECT 1; SELECT 2", "multiple_statements"),
    ("SELECT 1 -- c\r; DROP TABLE orders", "multiple_statements"),
    (
        "\uff33\uff25\uff2c\uff25\uff23\uff34 1\uff1b \uff24\uff32\uff2f\uff30 TABLE orders",
        "multiple_statements",
    ),
    ("-- only a comment", "multiple_statements"),
    ("DROP TABLE orders", "statement_type"),
    ("delete from orders", "statement_type"),
    ("INSERT INTO orders SELECT * FROM orders", "statement_type"),
    ("CREATE TABLE t AS SELECT 1", "statement_type"),
    ("COPY orders TO '/tmp/x.csv'", "statement_type"),
    ("ATTACH 'x.db'", "statement_type"),
    ("INSTALL httpfs", "statement_type"),
    ("LOAD httpfs", "statement_type"),
    ("SET threads = 8", "statement_type"),
    ("PRAGMA version", "statement_type"),
    ("CALL pragma_version()", "statement_type"),
    ("DESCRIBE orders", "statement_type"),
    ("SELECT * INTO t FROM orders", "statement_type"),
    ("SELECT total FROM orders WHERE order_id = ?", "parameter"),
    ("SELECT $1", "parameter"),
    ("SELECT * FROM information_schema.tables", "system_catalog"),
    ("SELECT * FROM duckdb_tables", "system_catalog"),
    ("SELECT * FROM sqlite_master", "system_catalog"),
    ("SELECT * FROM pg_catalog.pg_class", "system_catalog"),
    ("WITH duckdb_settings AS (SELECT 1) SELECT * FROM duckdb_settings", "system_catalog"),
    ("SELECT count(*) FROM main.orders", "qualified_name"),
    ("SELECT count(*) FROM memory.main.orders", "qualified_name"),
    ("SELECT main.sum(total) FROM orders", "qualified_name"),
    ("SELECT * FROM '/etc/passwd'", "file_path"),
    ("SELECT count(*) FROM 'https://example.invalid/x.csv'", "file_path"),
    ('SELECT count(*) FROM "orders.csv"', "file_path"),
    ("SELECT * FROM read_csv('/etc/passwd')", "table_function"),
    ("SELECT * FROM duckdb_settings()", "table_function"),
    ("SELECT * FROM glob('/*')", "table_function"),
    ("SELECT count(*) FROM orders o JOIN parquet_scan('x') p ON true", "table_function"),
    ("SELECT count(*) FROM customers", "unknown_table"),
    ("SELECT count(*) FROM tickets", "unknown_table"),
    (
        "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT count(*) FROM t",
        "recursive_cte",
    ),
    ("SELECT getenv('HOME')", "function_not_allowed"),
    ("SELECT current_setting('threads')", "function_not_allowed"),
    ("SELECT read_text('/etc/passwd')", "function_not_allowed"),
    ("SELECT version()", "function_not_allowed"),
    ("SELECT no_such_function(total) FROM orders", "function_not_allowed"),
    ("SELECT count(*) FROM range(1000000)", "generator_bounds"),
    ("SELECT count(*) FROM range(1e12)", "generator_bounds"),
    ("SELECT count(*) FROM generate_series(1, 10001)", "generator_bounds"),
    ("SELECT count(*) FROM range(200) a, range(200) b", "generator_bounds"),
    ("SELECT count(*) FROM range((SELECT 5))", "generator_bounds"),
    ("SELECT repeat('x', 1000000)", "generator_bounds"),
    ("SELECT status FROM orders LIMIT (SELECT 5)", "limit"),
    ("SELECT status FROM orders LIMIT 10%", "limit"),
    ("SELECT status FROM orders LIMIT ALL", "limit"),
    ("SELECT status FROM orders LIMIT 5 OFFSET (SELECT 1)", "limit"),
    ("SELECT status FROM orders FETCH FIRST 5 ROWS ONLY", "limit"),
    ("SELECT * FROM orders", "exfiltration"),
    ("SELECT * FROM orders LIMIT 1000000", "exfiltration"),
    ("SELECT o.* FROM orders o LIMIT 1001", "exfiltration"),
    ("SELECT o FROM orders o", "exfiltration"),
    ("SELECT order_id, customer_id, order_date, total, status, returned FROM orders", "exfiltration"),
    ("WITH t AS (SELECT * FROM orders) SELECT * FROM t", "exfiltration"),
    ("SELECT *, sum(total) OVER () FROM orders", "exfiltration"),
]


@pytest.mark.parametrize(("sql", "rule"), REJECTED, ids=[f"{r}-{i}" for i, (_, r) in enumerate(REJECTED)])
def test_rule_that_fires(sql: str, rule: str) -> None:
    decision = check_sql(sql, TABLES)
    assert isinstance(decision, Reject), decision
    assert decision.rule == rule, decision.message
    assert f"rule '{rule}'" in decision.message
    assert "How to fix:" in decision.message and decision.suggestion


# (sql, the SQL that runs) — re-emitted from the parse tree, comments gone, LIMIT guaranteed.
ALLOWED = [
    ("select status, count(*) from orders group by status",
     "SELECT status, COUNT(*) FROM orders GROUP BY status LIMIT 200"),
    ("SELECT status FROM orders LIMIT 5 -- a comment\n", "SELECT status FROM orders LIMIT 5"),
    ("SELECT /* why */ status FROM orders LIMIT 5 OFFSET 10", "SELECT status FROM orders LIMIT 5 OFFSET 10"),
    ("SELECT order_id FROM orders LIMIT 50000", "SELECT order_id FROM orders LIMIT 10000"),
    ("SELECT * FROM orders LIMIT 20", "SELECT * FROM orders LIMIT 20"),
    ("SELECT * FROM orders LIMIT 1000", "SELECT * FROM orders LIMIT 1000"),
    ("SELECT 1 UNION ALL SELECT 2", "SELECT 1 UNION ALL SELECT 2 LIMIT 200"),
    ("SELECT status FROM orders INTERSECT SELECT status FROM orders",
     "SELECT status FROM orders INTERSECT SELECT status FROM orders LIMIT 200"),
    ("SELECT category FROM inventory EXCEPT SELECT category FROM order_items LIMIT 3",
     "SELECT category FROM inventory EXCEPT SELECT category FROM order_items LIMIT 3"),
    ("WITH Big AS (SELECT status, sum(total) AS s FROM ORDERS GROUP BY 1) SELECT * FROM big",
     "WITH Big AS (SELECT status, SUM(total) AS s FROM ORDERS GROUP BY 1) SELECT * FROM big LIMIT 200"),
    ("SELECT n FROM range(5) AS t(n)", "SELECT n FROM RANGE(0, 5) AS t(n) LIMIT 200"),
    ("SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY total) FROM orders",
     "SELECT QUANTILE_CONT(total, 0.5 ORDER BY total) FROM orders LIMIT 200"),
    ("SELECT $$it's$$ AS s", "SELECT 'it''s' AS s LIMIT 200"),
    ("SELECT 'a -- b; DROP TABLE orders' AS s", "SELECT 'a -- b; DROP TABLE orders' AS s LIMIT 200"),
    ("FROM orders SELECT count(*)", "SELECT COUNT(*) FROM orders LIMIT 200"),
]  # fmt: skip


@pytest.mark.parametrize(("sql", "expected"), ALLOWED)
def test_allowed_sql_is_reemitted(sql: str, expected: str) -> None:
    decision = check_sql(sql, TABLES)
    assert isinstance(decision, Allow), decision
    assert decision.sql == expected


def test_limit_added_and_capped_with_given_bounds() -> None:
    assert enforce("SELECT status FROM orders", TABLES, default_limit=7).endswith("LIMIT 7")
    capped = check_sql("SELECT status FROM orders LIMIT 900", TABLES, max_limit=500)
    assert isinstance(capped, Allow)
    assert capped.sql.endswith("LIMIT 500") and "capped" in capped.message
    # a default above the cap is capped too: the cap is the promise
    assert enforce("SELECT 1", TABLES, default_limit=50, max_limit=10).endswith("LIMIT 10")
    assert (DEFAULT_LIMIT, MAX_LIMIT) == (200, 10_000)


def test_only_the_outer_limit_is_rewritten() -> None:
    sql = "SELECT count(*) FROM (SELECT order_id FROM orders LIMIT 50000) t"
    assert (
        enforce(sql, TABLES)
        == "SELECT COUNT(*) FROM (SELECT order_id FROM orders LIMIT 50000) AS t LIMIT 200"
    )


def test_tables_and_ctes_are_case_insensitive() -> None:
    assert check_sql('SELECT count(*) FROM "ORDERS"', TABLES).allowed
    assert check_sql("SELECT count(*) FROM Order_Items", ["ORDER_ITEMS"]).allowed
    assert check_sql("WITH MyCte AS (SELECT 1 AS x) SELECT x FROM mycte", []).allowed


def test_a_cte_may_shadow_a_dataset_table() -> None:
    sql = "WITH orders AS (SELECT status, count(*) AS n FROM orders GROUP BY 1) SELECT * FROM orders"
    assert check_sql(sql, TABLES).allowed


def test_aggregated_sources_are_not_exfiltration() -> None:
    assert check_sql("SELECT * FROM (SELECT status, avg(total) FROM orders GROUP BY 1) s", TABLES).allowed
    assert check_sql("SELECT * FROM range(100)", TABLES).allowed


def _corpus(name: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in (SECURITY / name).read_text(encoding="utf-8").split("\n") if line]


def test_reemission_is_deterministic_and_idempotent() -> None:
    tables = ("orders", "order_items", "inventory", "tickets", "sensors")
    for record in _corpus("benign_queries.jsonl"):
        first = check_sql(record["sql"], tables)
        assert isinstance(first, Allow), (record["id"], first)
        assert check_sql(record["sql"], tables) == first
        again = check_sql(first.sql, tables)
        assert isinstance(again, Allow) and again.sql == first.sql, record["id"]


def test_to_json_shapes() -> None:
    allow = check_sql("SELECT 1", TABLES).to_json()
    assert allow == {
        "allowed": True,
        "code": None,
        "rule": None,
        "message": "allowed; LIMIT 200 added",
        "sql": "SELECT 1 LIMIT 200",
    }
    reject = check_sql("DROP TABLE orders", TABLES).to_json()
    assert set(reject) == {"allowed", "code", "rule", "message", "suggestion", "sql"}
    assert reject["allowed"] is False and reject["sql"] is None
    assert reject["code"] == "SQL_POLICY_VIOLATION" and reject["rule"] == "statement_type"
    json.dumps(reject)  # plain JSON values only


def test_verdicts_are_frozen() -> None:
    decision = check_sql("SELECT 1", TABLES)
    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.sql = "DROP TABLE orders"  # type: ignore[misc,union-attr]


def test_enforce_returns_sql_or_raises_policy_violation() -> None:
    assert enforce("SELECT 1", TABLES, default_limit=3) == "SELECT 1 LIMIT 3"
    with pytest.raises(PolicyViolation) as info:
        enforce("SELECT getenv('HOME')", TABLES)
    error = info.value
    assert error.code == "SQL_POLICY_VIOLATION"
    assert error.details == {"rule": "function_not_allowed"}
    assert error.suggestion and "getenv" in error.message


def test_non_text_is_bad_input() -> None:
    decision = check_sql(b"SELECT 1", TABLES)  # type: ignore[arg-type]
    assert isinstance(decision, Reject) and decision.rule == "bad_input"


# DuckDB's parser is the second judge: fed SQL that sqlglot would never emit, it must refuse.
@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1; SELECT 2",
        "SELECT 1 -- c\r; DROP TABLE orders",
        "DROP TABLE orders",
        "SELECT getenv('HOME')",
        "SELECT * FROM duckdb_settings()",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT count(*) FROM main.orders",
        "SELECT count(*) FROM customers",
        "SELECT main.sum(1)",
        "SELECT (",
    ],
)
def test_duckdb_agreement_refuses_what_the_policy_would(sql: str) -> None:
    verdict = _duckdb.check_agreement(sql, frozenset(TABLES))
    assert verdict is not None and verdict.rule == "duckdb_parser_disagrees"


def test_duckdb_agreement_accepts_emitted_sql() -> None:
    emitted = check_sql("SELECT status, count(*) FILTER (WHERE returned) FROM orders GROUP BY 1", TABLES)
    assert isinstance(emitted, Allow)
    assert _duckdb.check_agreement(emitted.sql, frozenset(TABLES)) is None


def test_thousand_checks_are_fast_and_thread_safe() -> None:
    queries = [r["sql"] for r in _corpus("benign_queries.jsonl") + _corpus("redteam_attacks.jsonl")]
    batch = (queries * (1000 // len(queries) + 1))[:1000]
    tables = ("orders", "order_items", "inventory", "tickets", "sensors")
    started = time.perf_counter()
    serial = [check_sql(q, tables) for q in batch]
    elapsed = time.perf_counter() - started
    assert elapsed < 6.0, f"1,000 checks took {elapsed:.2f} s"
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(lambda q: check_sql(q, tables), batch[:200]))
    assert threaded == serial[:200]
