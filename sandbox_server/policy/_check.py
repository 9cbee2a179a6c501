"""The policy pipeline: text → sqlglot tree → tree rules → LIMIT → re-emit → DuckDB agreement.

The order is declared once (``TREE_RULES``); the first rule that fires decides. What runs is
never the text that arrived: it is SQL re-emitted by sqlglot from the tree the rules judged
(comments dropped), and only after DuckDB's parser agrees that text is the same one SELECT.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from sandbox_server.errors import PolicyViolation
from sandbox_server.policy import _duckdb, _limits, _rules, _text
from sandbox_server.policy._decision import Allow, Decision, Reject, reject

DEFAULT_LIMIT = 200
MAX_LIMIT = 10_000

TreeRule = Callable[[exp.Expr, _rules.Context], Reject | None]
TREE_RULES: tuple[TreeRule, ...] = (
    _rules.check_statement_type,
    _rules.check_parameters,
    _rules.check_tables,
    _rules.check_recursion,
    _rules.check_functions,
    _rules.check_generators,
)


def _parse(text: str) -> exp.Expr | Reject:
    try:
        statements = [s for s in sqlglot.parse(text, read="duckdb") if s is not None]
    except SqlglotError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return reject("parse_error", f"the query does not parse: {first}", "check the SQL syntax")
    except RecursionError:
        return reject("parse_error", "the query is nested too deeply to parse", "simplify the query")
    if len(statements) != 1:
        return reject(
            "multiple_statements",
            f"the text holds {len(statements)} statements; exactly one is allowed",
            "send one SELECT statement, without semicolons between statements",
        )
    return statements[0]


def check_sql(
    sql: str,
    tables: Collection[str],
    *,
    default_limit: int = DEFAULT_LIMIT,
    max_limit: int = MAX_LIMIT,
) -> Decision:
    """Judge one query (raw or compiled) against a dataset's ``tables``.

    >>> check_sql("select status, count(*) from orders group by status", ["orders"]).sql
    'SELECT status, COUNT(*) FROM orders GROUP BY status LIMIT 200'
    >>> check_sql("SELECT * FROM read_csv('/etc/passwd')", ["orders"]).rule
    'table_function'
    """
    if not isinstance(sql, str):
        return reject(
            "bad_input", f"the query must be text, not {type(sql).__name__}", "send the SQL as a string"
        )
    text = _text.normalise(sql)
    if isinstance(text, Reject):
        return text
    tree = _parse(text)
    if isinstance(tree, Reject):
        return tree
    allowed = frozenset(t.lower() for t in tables)
    context = _rules.context_for(tree, allowed)
    for rule in TREE_RULES:
        verdict = rule(tree, context)
        if verdict is not None:
            return verdict
    written = _limits.written_limit(tree)
    if isinstance(written, Reject):
        return written
    exfiltration = _limits.check_exfiltration(tree, written)
    if exfiltration is not None:
        return exfiltration
    change = _limits.apply_limit(tree, written, default=default_limit, maximum=max_limit)
    try:
        emitted = tree.sql(dialect="duckdb", comments=False)
    except SqlglotError as exc:
        return reject(
            "parse_error", f"the query cannot be re-emitted as DuckDB SQL: {exc}", "simplify the query"
        )
    # The text as written too: a smuggling attempt shows as DuckDB reading it differently.
    original = _duckdb.statement_count(text)
    if original is None or original != (1, True):
        seen = "cannot parse it" if original is None else f"reads {original[0]} statement(s)"
        return reject(
            "duckdb_parser_disagrees",
            f"DuckDB's parser {seen} where the policy read one SELECT",
            "send one plain SELECT statement, with no comment or quoting tricks",
        )
    disagreement = _duckdb.check_agreement(emitted, allowed)
    if disagreement is not None:
        return disagreement
    return Allow(emitted, "allowed" + (f"; {change.note}" if change.note else ""))


def enforce(
    sql: str,
    tables: Collection[str],
    *,
    default_limit: int = DEFAULT_LIMIT,
    max_limit: int = MAX_LIMIT,
) -> str:
    """The SQL that may run, or ``PolicyViolation`` (code SQL_POLICY_VIOLATION) naming the rule."""
    decision = check_sql(sql, tables, default_limit=default_limit, max_limit=max_limit)
    if isinstance(decision, Reject):
        raise PolicyViolation(decision.message, suggestion=decision.suggestion, rule=decision.rule)
    return decision.sql
