"""The planner knows no dataset: a registry entry built here (employees and offices, no
measures, no prompts) is understood from its schema and profiles alone. Each question's plan
is validated, compiled and run next to hand-written SQL."""

from __future__ import annotations

import pytest

from sandbox_server.registry import Dataset
from tests.unit.planner.conftest import Ask, Duck

SYNTHETIC: list[tuple[str, str, bool]] = [
    (
        "How many employees are there by department?",
        "SELECT department, count(*) FROM employees GROUP BY 1",
        False,
    ),
    (
        "What is the average salary by department?",
        "SELECT department, avg(salary) FROM employees GROUP BY 1",
        False,
    ),
    ("average pay of remote employees", "SELECT avg(salary) FROM employees WHERE remote", False),
    ("how many employees were not remote", "SELECT count(*) FROM employees WHERE NOT remote", False),
    (
        "how many employees were hired in 2021",
        "SELECT count(*) FROM employees WHERE hired_on >= DATE '2021-01-01' AND hired_on < DATE '2022-01-01'",
        False,
    ),
    (
        "employees hired between March and June 2022",
        "SELECT * FROM employees WHERE hired_on >= DATE '2022-03-01' AND hired_on < DATE '2022-07-01'",
        False,
    ),
    (
        "employees hired since 2023-06-15",
        "SELECT * FROM employees WHERE hired_on >= DATE '2023-06-15'",
        False,
    ),
    (
        "total salary per city",
        "SELECT o.city, sum(e.salary) FROM employees e JOIN offices o USING (office_id) GROUP BY 1",
        False,
    ),
    (
        "top 3 departments by average salary",
        "SELECT department, avg(salary) AS a FROM employees GROUP BY 1 ORDER BY a DESC LIMIT 3",
        True,
    ),
    (
        "employees in Engineering with salary above 80000",
        "SELECT * FROM employees WHERE department = 'Engineering' AND salary > 80000",
        False,
    ),
    ("salary of at least 95000", "SELECT * FROM employees WHERE salary >= 95000", False),
    ("how many employees earn less than 50000", "SELECT count(*) FROM employees WHERE salary < 50000", False),
    (
        "which city has the most employees",
        "SELECT o.city, count(*) AS n FROM employees e JOIN offices o USING (office_id) GROUP BY 1 ORDER BY n DESC LIMIT 1",
        True,
    ),
    (
        "how many employees per year",
        "SELECT date_trunc('year', hired_on)::DATE, count(*) FROM employees GROUP BY 1",
        False,
    ),
    ("number of desks by city", "SELECT city, sum(desks) FROM offices GROUP BY 1", False),
    (
        "median wage in the sales team",
        "SELECT median(salary) FROM employees WHERE department = 'Sales'",
        False,
    ),
    (
        "share of remote employees by department",
        "SELECT department, avg(CASE WHEN remote THEN 1 ELSE 0 END) FROM employees GROUP BY 1",
        False,
    ),
    (
        "list the 5 most recently hired employees",
        "SELECT * FROM employees ORDER BY hired_on DESC LIMIT 5",
        True,
    ),
    (
        "how many remote workers in Oslo",
        "SELECT count(*) FROM employees e JOIN offices o USING (office_id) WHERE remote AND o.city = 'Oslo'",
        False,
    ),
    (
        "headcount in human resources",  # a multi-word value, written in lower case
        "SELECT * FROM employees WHERE department = 'Human Resources'",
        False,
    ),
    ("list the distinct departments", "SELECT DISTINCT department FROM employees", False),
    (
        "how many employees by day of week hired",
        "SELECT isodow(hired_on), count(*) FROM employees GROUP BY 1",
        False,
    ),
]


@pytest.mark.parametrize(("question", "sql", "ordered"), SYNTHETIC, ids=[q for q, _, _ in SYNTHETIC])
def test_synthetic_dataset(
    question: str, sql: str, ordered: bool, company: Dataset, ask: Ask, duck: Duck
) -> None:
    plan = ask(question, company)
    got, want = duck.answer(company, plan), duck.sql(company, sql)
    if not ordered:
        got, want = sorted(got, key=repr), sorted(want, key=repr)
    assert got == want, plan.notes


def test_a_column_in_two_tables_is_taken_from_the_base_table(company: Dataset, ask: Ask) -> None:
    plan = ask("how many employees per office", company)
    assert plan.table == "employees" and plan.joins == []
    assert [d.column for d in plan.group_by] == ["office_id"]
