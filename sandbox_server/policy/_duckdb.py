"""DuckDB's own parser must agree with the policy about the SQL that will run.

The policy judged sqlglot's parse tree and re-emitted SQL from it; DuckDB runs that text. Were
the two parsers ever to disagree (a bare CR ending a ``--`` comment, dollar quoting, backslashes
and ``E''`` strings, nested comments), a second statement or a forbidden call could hide in the
difference. So DuckDB parses the re-emitted SQL too — ``extract_statements`` must find exactly
one SELECT — and its own parse tree (``json_serialize_sql``) is walked for the same things the
policy checked: base tables, table functions and function names.

Parsing only: the in-memory connection never runs user SQL, has external access disabled and
its configuration locked. One connection per thread, since a DuckDB connection is not safe to
share between threads.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import duckdb

from sandbox_server.policy._allowlist import GENERATORS, duckdb_allows
from sandbox_server.policy._decision import Reject, reject

_local = threading.local()
_SELECT = duckdb.StatementType.SELECT
_FIX = "rewrite the query more plainly (no comment or quoting tricks); it must be one SELECT"


def _connection() -> duckdb.DuckDBPyConnection:
    con: duckdb.DuckDBPyConnection | None = getattr(_local, "con", None)
    if con is None:
        con = duckdb.connect(":memory:", config={"enable_external_access": False, "lock_configuration": True})
        _local.con = con
    return con


def statement_count(sql: str) -> tuple[int, bool] | None:
    """How many statements DuckDB sees in ``sql`` and whether they are all SELECTs; None if it
    cannot parse it."""
    try:
        statements = _connection().extract_statements(sql)
    except duckdb.Error:
        return None
    return len(statements), all(s.type == _SELECT for s in statements)


_INTERESTING_KEYS = ("function_name", "cte_map")
_INTERESTING_TYPES = frozenset({"BASE_TABLE", "TABLE_FUNCTION", "SHOW_REF", "COLUMN_DATA", "DELIM_GET"})


def _parse_tree(text: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """DuckDB's JSON parse tree and the nodes the checks look at, collected while decoding (one
    pass in the C decoder instead of a second walk over every node in Python)."""
    found: list[dict[str, Any]] = []

    def keep(node: dict[str, Any]) -> dict[str, Any]:
        if node.get("type") in _INTERESTING_TYPES or any(k in node for k in _INTERESTING_KEYS):
            found.append(node)
        return node

    return json.loads(text, object_hook=keep), found


def check_agreement(sql: str, tables: frozenset[str]) -> Reject | None:
    """Reject unless DuckDB parses ``sql`` as exactly one SELECT over allowed tables and functions."""
    seen = statement_count(sql)
    if seen is None:
        return reject("duckdb_parser_disagrees", "DuckDB cannot parse the SQL the policy produced", _FIX)
    count, all_select = seen
    if count != 1 or not all_select:
        return reject(
            "duckdb_parser_disagrees",
            f"DuckDB reads {count} statement(s) (all SELECT: {all_select}) where the policy read one SELECT",
            _FIX,
        )
    try:
        row = _connection().execute("SELECT json_serialize_sql($1::VARCHAR)", [sql]).fetchone()
    except duckdb.Error as exc:  # parsing only; an error here is a disagreement, not a fault
        return reject("duckdb_parser_disagrees", f"DuckDB could not serialise the query: {exc}", _FIX)
    tree, nodes = _parse_tree(row[0]) if row else ({"error": True}, [])
    if tree.get("error"):
        return reject(
            "duckdb_parser_disagrees",
            f"DuckDB's parser rejects the query: {tree.get('error_message', 'unknown error')}",
            _FIX,
        )
    ctes = {
        str(entry.get("key", "")).lower()
        for node in nodes
        for entry in (node.get("cte_map") or {}).get("map", [])
    }
    for node in nodes:
        problem = _problem(node, tables | ctes)
        if problem:
            return reject("duckdb_parser_disagrees", f"DuckDB's parse tree has {problem}", _FIX)
    return None


def _problem(node: dict[str, Any], sources: frozenset[str] | set[str]) -> str | None:
    kind = node.get("type")
    if "function_name" in node:
        name = str(node["function_name"])
        if node.get("schema") or node.get("catalog"):
            return f"a schema-qualified function {node.get('schema')}.{name}"
        if not duckdb_allows(name):
            return f"a call of {name}(), which is not on the allowlist"
    if kind == "BASE_TABLE":
        name = str(node.get("table_name", "")).lower()
        if node.get("schema_name") or node.get("catalog_name"):
            return f"a qualified table {node.get('schema_name')}.{name}"
        if name not in sources:
            return f"a table {name!r} that is not part of the dataset"
    if kind == "TABLE_FUNCTION":
        function = node.get("function") or {}
        name = str(function.get("function_name", "")).lower()
        if name not in GENERATORS:
            return f"a table function {name}()"
    if kind in {"SHOW_REF", "COLUMN_DATA", "DELIM_GET", "BOUND_REF"}:
        return f"a {kind} table reference"
    return None
