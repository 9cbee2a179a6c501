"""The LIMIT the policy guarantees, and the exfiltration heuristic.

LIMIT: a query without one gets ``default_limit``; a literal LIMIT above ``max_limit`` is
rewritten to ``max_limit`` (capping, not rejecting: the user still gets an answer, and the
runner reports truncation); anything but a literal non-negative integer (``LIMIT (SELECT ..)``,
``LIMIT 10%``, ``LIMIT ALL``, ``FETCH FIRST``) is rejected, since its size cannot be known.

Exfiltration: a query that neither groups nor aggregates and returns whole rows (``*``, a
whole-row reference, or many columns) with no LIMIT or a LIMIT above
``EXFILTRATION_MAX_ROWS`` is a copy of the table, not an analysis: rejected. It is a
heuristic, judged on the LIMIT the user wrote (before any default is added), and it is
one layer: the runner caps rows and output bytes whatever gets through.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from sandbox_server.policy._allowlist import AGGREGATES, function_name
from sandbox_server.policy._decision import Reject, reject
from sandbox_server.policy._rules import integer_literal

EXFILTRATION_MAX_ROWS = 1_000
EXFILTRATION_MIN_COLUMNS = 6


@dataclass(frozen=True, slots=True)
class LimitChange:
    """What the policy did to the outermost LIMIT, for the Allow message."""

    written: int | None  # the LIMIT the query had, None when it had none
    applied: int

    @property
    def note(self) -> str:
        if self.written is None:
            return f"LIMIT {self.applied} added"
        if self.written != self.applied:
            return f"LIMIT {self.written} capped to {self.applied}"
        return ""


def _leaf_selects(node: exp.Expr) -> list[exp.Select]:
    """The SELECTs whose rows the outermost query returns (each side of a UNION, inside parens)."""
    if isinstance(node, exp.Subquery):
        return _leaf_selects(node.this)
    if isinstance(node, exp.SetOperation):
        return _leaf_selects(node.left) + _leaf_selects(node.right)
    return [node] if isinstance(node, exp.Select) else []


def _aggregates(select: exp.Select) -> bool:
    if select.args.get("group") or (select.args.get("distinct") and select.args["distinct"].args.get("on")):
        return True
    for projection in select.expressions:
        for node in projection.find_all(exp.AggFunc, exp.Anonymous):
            if isinstance(node, exp.Anonymous) and function_name(node) not in AGGREGATES:
                continue
            # An aggregate under OVER (...) keeps every row; inside a subquery it is another query's.
            if not any(isinstance(a, exp.Window | exp.Subquery) for a in _ancestors(node, projection)):
                return True
    return False


def _ancestors(node: exp.Expr, stop: exp.Expr) -> list[exp.Expr]:
    """The nodes from ``node``'s parent up to and including ``stop``."""
    out = []
    parent = node.parent
    while parent is not None:
        out.append(parent)
        if parent is stop:
            break
        parent = parent.parent
    return out


def _whole_rows(select: exp.Select) -> bool:
    """``*``, ``t.*``, a bare table alias (a whole row as a struct), or many columns."""
    if len(select.expressions) >= EXFILTRATION_MIN_COLUMNS:
        return True
    sources = {str(t.alias_or_name).lower() for t in select.find_all(exp.Table)}
    for projection in select.expressions:
        target = projection.unalias()
        if isinstance(target, exp.Star) or (isinstance(target, exp.Column) and target.is_star):
            return True
        if isinstance(target, exp.Column) and not target.table and target.name.lower() in sources:
            return True
    return False


def _summarised(select: exp.Select, ctes: dict[str, exp.Expr], depth: int = 0) -> bool:
    """Whether every row ``select`` returns is already a summary: it aggregates, or all it reads
    are generators or CTEs/subqueries that are themselves summaries."""
    if _aggregates(select):
        return True
    if depth > 20:  # CTEs may name each other; deeper than this is not worth the benefit of doubt
        return False
    sources = [select.args.get("from_") or select.args.get("from")]
    sources += [join.this for join in select.args.get("joins") or []]
    sources = [s.this if isinstance(s, exp.From) else s for s in sources if s is not None]
    if not sources:
        return True  # SELECT 1, 'a': no table rows at all
    for source in sources:
        if isinstance(source, exp.Table) and isinstance(source.this, exp.GenerateSeries):
            continue
        if isinstance(source, exp.Table) and str(source.name).lower() in ctes:
            body = ctes[str(source.name).lower()]
        elif isinstance(source, exp.Subquery):
            body = source.this
        else:
            return False
        if not all(_summarised(s, ctes, depth + 1) for s in _leaf_selects(body)):
            return False
    return True


def check_exfiltration(tree: exp.Expr, written_limit: int | None) -> Reject | None:
    if written_limit is not None and written_limit <= EXFILTRATION_MAX_ROWS:
        return None
    ctes = {str(c.alias_or_name).lower(): c.this for c in tree.find_all(exp.CTE)}
    for select in _leaf_selects(tree):
        if _whole_rows(select) and not _summarised(select, ctes):
            said = "no LIMIT" if written_limit is None else f"LIMIT {written_limit:,}"
            return reject(
                "exfiltration",
                f"the query copies whole rows ({said}, no aggregation); that is an export, not an analysis",
                f"aggregate (GROUP BY ...), select fewer than {EXFILTRATION_MIN_COLUMNS} columns, "
                "or add LIMIT 200",
            )
    return None


def written_limit(tree: exp.Expr) -> int | Reject | None:
    """The outermost literal LIMIT, None when there is none, or a Reject when it is not a literal."""
    fix = "write LIMIT n with a literal non-negative integer n"
    if tree.args.get("fetch") is not None:
        return reject("limit", "FETCH FIRST is not supported by the policy", fix)
    limit = tree.args.get("limit")
    offset = tree.args.get("offset")
    if offset is not None:
        value = integer_literal(offset.expression)
        if value is None or value < 0:
            return reject("limit", f"OFFSET {offset.expression.sql('duckdb')} is not a literal", fix)
    if limit is None:
        return None
    if not isinstance(limit, exp.Limit) or limit.args.get("limit_options") or limit.args.get("offset"):
        return reject("limit", f"{limit.sql('duckdb')} is not a plain LIMIT n", fix)
    value = integer_literal(limit.expression)
    if value is None or value < 0:
        return reject("limit", f"LIMIT {limit.expression.sql('duckdb')} is not a literal row count", fix)
    return value


def apply_limit(tree: exp.Expr, written: int | None, *, default: int, maximum: int) -> LimitChange:
    """Set the outermost LIMIT in place: ``default`` when missing, at most ``maximum``."""
    applied = min(default if written is None else written, maximum)
    if written != applied:
        tree.set("limit", exp.Limit(expression=exp.Literal.number(applied)))
    return LimitChange(written=written, applied=applied)
