"""What the planner reads off a dataset's schema: keys, date columns, the join graph.

Everything here is derived from the registry alone (names, types, profiles, relationships), so
any dataset, not only the demo ones, gets the same treatment. Ties are always broken by the
registry's own order, which keeps every decision deterministic.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from sandbox_server.planners.offline.text import split_name
from sandbox_server.registry import ColumnInfo, Dataset, TableInfo

# Columns whose name says "this is what a row is called" (used to group by an entity).
_LABEL_NAMES = ("name", "title", "label")
_KEY_WORDS = frozenset({"id", "key", "code", "uuid", "guid", "number", "no", "sku", "ref"})


@dataclass(frozen=True)
class Edge:
    """One relationship seen from ``table``: joining ``other`` fans out when ``other`` is the
    many side (its rows reference ours)."""

    table: str
    other: str
    fans_out: bool


@dataclass
class Schema:
    dataset: Dataset
    _edges: dict[str, list[Edge]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for t in self.dataset.tables:
            self._edges[t.name] = []
        for rel in self.dataset.relationships:
            child, parent = rel.tables
            if child in self._edges and parent in self._edges and child != parent:
                self._edges[child].append(Edge(child, parent, fans_out=False))
                self._edges[parent].append(Edge(parent, child, fans_out=True))

    # -- tables and columns -------------------------------------------------------------

    def table(self, name: str) -> TableInfo:
        table = self.dataset.table(name)
        assert table is not None, name
        return table

    def column(self, table: str, column: str) -> ColumnInfo:
        col = self.table(table).column(column)
        assert col is not None, (table, column)
        return col

    def tables_with(self, column: str) -> list[str]:
        return [t.name for t in self.dataset.tables if t.column(column) is not None]

    def is_key(self, table: str, column: str) -> bool:
        """True when ``column`` identifies a row of ``table`` (declared, or unique by profile)."""
        info = self.table(table)
        if info.primary_key is not None:
            return info.primary_key == column
        col = self.column(table, column)
        rows = info.row_count
        # Uniqueness alone is not enough: in a small table every measurement is unique too
        # ("population" of four cities). Only identifier-like names count.
        named_like_key = bool(set(split_name(column)[-1:]) & _KEY_WORDS)
        return (
            named_like_key
            and rows is not None
            and col.profile.distinct_count == rows
            and col.profile.null_count == 0
        )

    def label_column(self, table: str) -> str | None:
        """The column that names a row of ``table`` for people (``name``), else its key."""
        info = self.table(table)
        for name in _LABEL_NAMES:
            if info.column(name) is not None:
                return name
        return info.primary_key

    def date_column(self, table: str) -> str | None:
        """The table's main date: the first non-nullable temporal column, else the first one."""
        temporal = [c for c in self.table(table).columns if c.is_temporal]
        for col in temporal:
            if not col.nullable and not col.profile.null_count:
                return col.name
        return temporal[0].name if temporal else None

    # -- joins ----------------------------------------------------------------------------

    def path(self, start: str, goal: str) -> list[Edge] | None:
        """The shortest join path (breadth first, registry order on ties), None if unreachable."""
        if start == goal:
            return []
        seen = {start}
        queue: deque[tuple[str, list[Edge]]] = deque([(start, [])])
        while queue:
            table, edges = queue.popleft()
            for edge in self._edges.get(table, []):
                if edge.other in seen:
                    continue
                route = [*edges, edge]
                if edge.other == goal:
                    return route
                seen.add(edge.other)
                queue.append((edge.other, route))
        return None

    def distance(self, start: str, goal: str) -> int:
        route = self.path(start, goal)
        return 1_000 if route is None else len(route)

    def order_index(self, table: str) -> int:
        return self.dataset.table_names.index(table)
