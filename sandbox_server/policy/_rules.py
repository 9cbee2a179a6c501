"""Rules over sqlglot's parse tree: what kind of statement, which tables, which functions.

Each rule is a function ``(tree, context) -> Reject | None``; ``check.py`` declares their order
once. They look at every node of the tree, so a forbidden thing is found wherever it hides
(a CTE, a subquery, a join, a window).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlglot import exp

from sandbox_server.policy._allowlist import (
    GENERATORS,
    SIZED_STRING_FUNCTIONS,
    function_name,
    is_allowed,
)
from sandbox_server.policy._decision import Reject, reject

MAX_GENERATED_ROWS = 10_000

_QUERY_ROOTS = (exp.Select, exp.SetOperation, exp.Subquery)


def _node_types(*names: str) -> tuple[type[exp.Expr], ...]:
    # getattr: sqlglot adds and renames statement nodes between versions; missing ones just drop out.
    return tuple(t for t in (getattr(exp, n, None) for n in names) if isinstance(t, type))


# Nodes that are statements (or make one, like SELECT ... INTO) rather than parts of a query.
_STATEMENT_NODES = _node_types(
    "DDL", "DML", "Command", "Pragma", "Set", "Use", "Describe", "Summarize", "Show", "Install",
    "Attach", "Detach", "Transaction", "Commit", "Rollback", "Drop", "Alter", "Analyze", "Export",
    "Refresh", "Kill", "Grant", "Revoke", "Cache", "Uncache", "LoadData", "TruncateTable",
    "Declare", "Execute", "Comment", "Into", "Pivot", "Copy", "Merge", "Create", "Insert",
    "Update", "Delete",
)  # fmt: skip
_SYSTEM_PREFIXES = ("duckdb_", "sqlite_", "pragma_", "pg_")
_SYSTEM_NAMES = frozenset({"information_schema", "pg_catalog", "sqlite_master", "sqlite_schema"})
_ONE_STATEMENT = "write one SELECT (or WITH ... SELECT, or a UNION/INTERSECT/EXCEPT of SELECTs)"


@dataclass(frozen=True, slots=True)
class Context:
    tables: frozenset[str]  # the dataset's tables, lower case
    cte_names: frozenset[str]  # every CTE name in the query, lower case

    @property
    def listing(self) -> str:
        return ", ".join(sorted(self.tables)) or "(none)"


def context_for(tree: exp.Expr, tables: frozenset[str]) -> Context:
    ctes = frozenset(str(cte.alias_or_name).lower() for cte in tree.find_all(exp.CTE))
    return Context(tables=tables, cte_names=ctes)


def check_statement_type(tree: exp.Expr, ctx: Context) -> Reject | None:
    if not isinstance(tree, _QUERY_ROOTS) or (
        isinstance(tree, exp.Subquery) and not isinstance(tree.unnest(), exp.Select | exp.SetOperation)
    ):
        if isinstance(tree, exp.Command):
            what = f"{str(tree.this).upper()} statements are"
        elif isinstance(tree, _STATEMENT_NODES):
            what = f"{tree.key.upper()} statements are"
        else:
            what = "this statement is"
        return reject("statement_type", f"{what} not allowed, only queries", _ONE_STATEMENT)
    for node in tree.walk():
        if isinstance(node, _STATEMENT_NODES):
            what = "SELECT ... INTO" if isinstance(node, exp.Into) else node.key.upper()
            return reject(
                "statement_type",
                f"{what} is not allowed inside a query: the policy allows reading only",
                _ONE_STATEMENT,
            )
    return None


def check_parameters(tree: exp.Expr, ctx: Context) -> Reject | None:
    for node in tree.find_all(exp.Placeholder, exp.Parameter):
        return reject(
            "parameter",
            f"the query has a parameter placeholder ({node.sql('duckdb')}); nothing would bind it",
            "write the value into the query as a literal",
        )
    return None


def _is_system_name(name: str) -> bool:
    return name in _SYSTEM_NAMES or name.startswith(_SYSTEM_PREFIXES)


def _looks_like_path(name: str) -> bool:
    # DuckDB's replacement scans read any table name that looks like a file or URL.
    return any(c in name for c in "./\\:*?~") or name.startswith("$")


def check_tables(tree: exp.Expr, ctx: Context) -> Reject | None:
    fix_tables = f"read only the dataset's tables: {ctx.listing}"
    for cte in tree.find_all(exp.CTE):
        name = str(cte.alias_or_name).lower()
        if _is_system_name(name) or _looks_like_path(name):
            return reject("system_catalog", f"the CTE name {name!r} is reserved", "rename the CTE")
    for table in tree.find_all(exp.Table):
        target = table.this
        if isinstance(target, exp.GenerateSeries):
            continue  # bounded by check_generators
        if isinstance(target, exp.Func | exp.Dot) or not isinstance(target, exp.Identifier):
            name = function_name(target) if isinstance(target, exp.Func) else target.sql("duckdb")
            return reject(
                "table_function",
                f"reading from the table function {name}(...) is not allowed",
                fix_tables + " (range/generate_series with small literal bounds are the only generators)",
            )
        name = str(target.this).lower()
        qualifiers = [str(p).lower() for p in (table.catalog, table.db) if p]
        if any(_is_system_name(q) for q in qualifiers) or _is_system_name(name):
            full = ".".join([*qualifiers, name])
            return reject(
                "system_catalog",
                f"{full} is a system catalog; the data's metadata is not queryable",
                fix_tables + "; the dataset's schema is shown by `csvanalyst datasets show`",
            )
        if qualifiers:
            full = ".".join([*qualifiers, name])
            return reject(
                "qualified_name",
                f"{full} names a schema or catalog; only bare table names are allowed",
                f"write {name} instead of {full}",
            )
        if _looks_like_path(name):
            return reject(
                "file_path",
                f"{name!r} is a file path or URL; queries may not read files",
                fix_tables,
            )
        if name not in ctx.tables and name not in ctx.cte_names:
            return reject("unknown_table", f"table {name!r} is not part of this dataset", fix_tables)
    return None


def check_recursion(tree: exp.Expr, ctx: Context) -> Reject | None:
    for with_ in tree.find_all(exp.With):
        if with_.args.get("recursive"):
            return reject(
                "recursive_cte",
                "WITH RECURSIVE is not allowed: a recursive query has no bound on its size",
                "use a plain WITH, or range(n) with a literal n <= 10000 to generate rows",
            )
    return None


def check_functions(tree: exp.Expr, ctx: Context) -> Reject | None:
    for node in tree.walk():
        if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Func):
            return reject(
                "qualified_name",
                f"the function call {node.sql('duckdb')} names a schema or catalog",
                f"call {function_name(node.expression)}(...) without a prefix",
            )
        if isinstance(node, exp.Func) and not is_allowed(node):
            name = function_name(node)
            return reject(
                "function_not_allowed",
                f"the function {name}() is not on the allowlist",
                "use aggregates, window, math, string, date/time and conditional functions only "
                "(sum, avg, count, quantile_cont, date_trunc, strftime, coalesce, ...)",
            )
    return None


def integer_literal(node: exp.Expr | None) -> int | None:
    """The value of an integer literal (``5``, ``-5``, ``1e3``), else None."""
    negative = False
    while isinstance(node, exp.Neg | exp.Paren):
        negative ^= isinstance(node, exp.Neg)
        node = node.this
    if not isinstance(node, exp.Literal) or node.is_string:
        return None
    try:
        value = Decimal(str(node.this))
    except InvalidOperation:
        return None
    if value != value.to_integral_value():
        return None
    return int(-value if negative else value)


def generator_size(node: exp.Func) -> int | None:
    """How many rows range/generate_series make, from literal integer bounds; None if not literal."""
    if isinstance(node, exp.GenerateSeries):
        start, end, step = node.args.get("start"), node.args.get("end"), node.args.get("step")
        exclusive = bool(node.args.get("is_end_exclusive"))
    else:  # an Anonymous range/generate_series sqlglot did not type
        args = list(node.expressions)
        if len(args) == 1:
            args = [exp.Literal.number(0), *args]
        start, end, step = [*args, None, None, None][:3]
        exclusive = function_name(node) == "range"
    lo, hi = integer_literal(start), integer_literal(end)
    by = 1 if step is None else integer_literal(step)
    if lo is None or hi is None or by is None or by == 0:
        return None
    span = hi - lo
    # ceil(span / by) rows when the end is excluded, floor(span / by) + 1 when included.
    return max(0, -(-span // by) if exclusive else span // by + 1)


def check_generators(tree: exp.Expr, ctx: Context) -> Reject | None:
    fix = f"give range/generate_series literal integer bounds making at most {MAX_GENERATED_ROWS:,} rows"
    total = 1
    for node in tree.find_all(exp.Func):
        name = function_name(node)
        if isinstance(node, exp.GenerateSeries) or name in GENERATORS:
            size = generator_size(node)
            if size is None:
                return reject(
                    "generator_bounds",
                    f"{node.sql('duckdb')} does not have literal integer bounds",
                    fix,
                )
            total *= max(size, 1)
            if total > MAX_GENERATED_ROWS:
                return reject(
                    "generator_bounds",
                    f"{node.sql('duckdb')} generates {size:,} rows (with the query's other "
                    f"generators, up to {total:,}); the limit is {MAX_GENERATED_ROWS:,}",
                    fix,
                )
        elif isinstance(node, exp.Repeat | exp.Pad) or name in SIZED_STRING_FUNCTIONS:
            sizes = [node.args.get("times"), node.args.get("expression")]
            size = next((v for v in map(integer_literal, sizes) if v is not None), None)
            if size is None or size > MAX_GENERATED_ROWS:
                return reject(
                    "generator_bounds",
                    f"{node.sql('duckdb')} builds a string without a small literal length",
                    f"use a literal length of at most {MAX_GENERATED_ROWS:,}",
                )
    return None
