"""Fixtures of the planner tests: the planner, DuckDB over a dataset's CSV files (to check what
a plan means by running it next to hand-written SQL), and a synthetic non-demo dataset."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from sandbox_server.compiler import compile_plan
from sandbox_server.plan import QueryPlan
from sandbox_server.planners import OfflinePlanner
from sandbox_server.registry import ColumnInfo, ColumnProfile, Dataset, Relationship, TableInfo, version_hash
from sandbox_server.validate import validate_plan

Rows = list[tuple[Any, ...]]


@pytest.fixture(scope="session")
def planner() -> OfflinePlanner:
    return OfflinePlanner()


def _connect(dataset: Dataset) -> duckdb.DuckDBPyConnection:
    """Views over read_csv with the declared types, as the runner makes them (never sniffed)."""
    conn = duckdb.connect()
    for table in dataset.tables:
        path = dataset.file_paths()[table.name]
        columns = ", ".join(f"'{c.name}': '{c.type}'" for c in table.columns)
        conn.execute(
            f"CREATE VIEW {table.name} AS SELECT * FROM read_csv('{path}', header = true, "
            f"auto_detect = false, columns = {{{columns}}})"
        )
    return conn


def normalise(rows: Rows) -> Rows:
    return [tuple(round(v, 6) if isinstance(v, float) else v for v in row) for row in rows]


class Duck:
    """Runs SQL on a dataset; ``answer`` validates, compiles and runs a plan."""

    def __init__(self) -> None:
        self._conns: dict[tuple[str, str], duckdb.DuckDBPyConnection] = {}

    def sql(self, dataset: Dataset, sql: str) -> Rows:
        key = (dataset.id, dataset.version_hash)
        if key not in self._conns:
            self._conns[key] = _connect(dataset)
        return normalise(self._conns[key].execute(sql).fetchall())

    def answer(self, dataset: Dataset, plan: QueryPlan) -> Rows:
        validate_plan(plan, dataset)
        return self.sql(dataset, compile_plan(plan, dataset))


@pytest.fixture(scope="session")
def duck() -> Iterator[Duck]:
    d = Duck()
    yield d
    for conn in d._conns.values():
        conn.close()


# -- a synthetic dataset, to prove nothing is demo-specific ----------------------------------------

DEPARTMENTS = ["Engineering", "Sales", "Marketing", "Finance", "Human Resources"]
CITIES = ["Lisbon", "Oslo", "Nairobi", "Lima"]


def _profile(values: list[Any], type_: str) -> ColumnProfile:
    present = [v for v in values if v is not None]
    distinct = sorted(set(present), key=str)
    if type_ == "VARCHAR":
        return ColumnProfile(
            distinct_count=len(distinct),
            null_count=len(values) - len(present),
            values=[str(v) for v in distinct] if len(distinct) <= 50 else None,
        )
    if type_ == "BOOLEAN":
        return ColumnProfile(distinct_count=len(distinct), null_count=len(values) - len(present))
    lo, hi = min(present), max(present)
    as_json = (lambda v: v.isoformat()) if type_ == "DATE" else (lambda v: v)
    return ColumnProfile(
        distinct_count=len(distinct), null_count=len(values) - len(present), min=as_json(lo), max=as_json(hi)
    )


def _table(
    directory: Path,
    name: str,
    columns: list[tuple[str, str, str, list[str]]],
    rows: list[dict[str, Any]],
    key: str,
) -> TableInfo:
    path = directory / f"{name}.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([c[0] for c in columns])
        for row in rows:
            writer.writerow(
                [
                    ""
                    if row[c[0]] is None
                    else str(row[c[0]]).lower()
                    if isinstance(row[c[0]], bool)
                    else row[c[0]]
                    for c in columns
                ]
            )
    infos = [
        ColumnInfo(name=c, type=t, description=d, synonyms=s, profile=_profile([r[c] for r in rows], t))
        for c, t, d, s in columns
    ]
    return TableInfo(name=name, file=path.name, primary_key=key, row_count=len(rows), columns=infos)


def build_company(directory: Path) -> Dataset:
    """``employees(employee_id, name, department, office_id, salary, hired_on, remote)`` and
    ``offices(office_id, city, desks)``: a registry entry built here, with no measures and no
    prompts, so examples and readings come from the schema alone."""
    directory.mkdir(parents=True, exist_ok=True)
    offices = [{"office_id": i + 1, "city": c, "desks": 40 + 15 * i} for i, c in enumerate(CITIES)]
    employees = []
    for i in range(1, 121):
        employees.append(
            {
                "employee_id": i,
                "name": f"Person {i:03d}",
                "department": DEPARTMENTS[i % 5],
                "office_id": i % 4 + 1,
                "salary": 40_000 + (i * 7919) % 60_000,
                "hired_on": date(2019, 1, 1) + timedelta(days=(i * 37) % 2000),
                "remote": i % 3 == 0,
            }
        )
    tables = [
        _table(
            directory,
            "employees",
            [
                ("employee_id", "BIGINT", "Employee number.", []),
                ("name", "VARCHAR", "Full name.", []),
                ("department", "VARCHAR", "Department the employee works in.", ["team", "division"]),
                ("office_id", "BIGINT", "Office of the employee.", ["office"]),
                ("salary", "DOUBLE", "Yearly salary in EUR.", ["pay", "wage"]),
                ("hired_on", "DATE", "Day the employee was hired.", ["hire date", "start date"]),
                ("remote", "BOOLEAN", "True when the employee works remotely.", ["remote worker"]),
            ],
            employees,
            "employee_id",
        ),
        _table(
            directory,
            "offices",
            [
                ("office_id", "BIGINT", "Office number.", []),
                ("city", "VARCHAR", "City of the office.", ["town", "location"]),
                ("desks", "BIGINT", "Number of desks.", ["seats"]),
            ],
            offices,
            "office_id",
        ),
    ]
    digest = version_hash((t.name, directory / t.file) for t in tables)
    return Dataset(
        id="company",
        name="Company",
        description="Employees and offices (synthetic, for tests).",
        version_hash=digest,
        tables=tables,
        relationships=[
            Relationship.model_validate({"from": "employees.office_id", "to": "offices.office_id"})
        ],
        directory=directory,
    )


@pytest.fixture(scope="session")
def company(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    return build_company(tmp_path_factory.mktemp("company"))


Ask = Callable[..., QueryPlan]


@pytest.fixture()
def ask(planner: OfflinePlanner) -> Ask:
    def _ask(question: str, dataset: Dataset, previous: QueryPlan | None = None) -> QueryPlan:
        out = planner.plan(question, dataset, previous=previous)
        assert out.plan is not None and out.sql is None and out.planner == "offline"
        return out.plan

    return _ask
