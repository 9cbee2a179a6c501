"""The SQL policy: whether a query may run, and the exact SQL that will.

Every query — compiled from a plan or written by a user or an LLM — passes here before a
runner sees it. ``check_sql`` is a pure function returning a frozen ``Allow`` (with the SQL to
run: re-emitted from the policy's own parse tree, LIMIT added or capped) or ``Reject`` (the
rule that fired, what was wrong, how to fix it). ``enforce`` is the same as an exception for
the pipeline.

Rules, in the order they are checked (rule ids are stable):

    bad_input · too_long · bad_character      text: NFKC-normalised; no NUL, control, zero-width
    parse_error · multiple_statements         sqlglot (DuckDB dialect) finds exactly one statement
    statement_type                            SELECT / WITH / UNION / INTERSECT / EXCEPT only
    parameter                                 no ? or $1 placeholders
    system_catalog · qualified_name           no information_schema, duckdb_*, sqlite_master, main.x
    table_function · file_path · unknown_table  only the dataset's tables and the query's CTEs
    recursive_cte                             no WITH RECURSIVE
    function_not_allowed                      function allowlist (``_allowlist.py``)
    generator_bounds                          range/generate_series with literal bounds, <= 10,000 rows
    limit                                     LIMIT must be a literal; added when missing, capped
    exfiltration                              no whole-row copies without LIMIT <= 1,000
    duckdb_parser_disagrees                   DuckDB parses the emitted SQL as the same one SELECT
"""

from __future__ import annotations

from sandbox_server.policy._check import DEFAULT_LIMIT, MAX_LIMIT, check_sql, enforce
from sandbox_server.policy._decision import POLICY_CODE, Allow, Decision, Reject, Rule, reject_bad_input
from sandbox_server.policy._limits import EXFILTRATION_MAX_ROWS, EXFILTRATION_MIN_COLUMNS
from sandbox_server.policy._rules import MAX_GENERATED_ROWS

__all__ = [
    "DEFAULT_LIMIT",
    "EXFILTRATION_MAX_ROWS",
    "EXFILTRATION_MIN_COLUMNS",
    "MAX_GENERATED_ROWS",
    "MAX_LIMIT",
    "POLICY_CODE",
    "Allow",
    "Decision",
    "Reject",
    "Rule",
    "check_sql",
    "enforce",
    "reject_bad_input",
]
