"""Every demo prompt of the registry, asked through the HTTP API, answered by the offline planner
in the real local sandbox, equals the hand-written SQL answer (the same table of answers the
planner's own tests use)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient

from runner.convert import to_json
from sandbox_server.executors.base import Bounded
from tests.server_fixtures import client_for, make_service
from tests.unit.planner.paraphrases import CASES


@pytest.fixture(scope="module")
def sandboxed_client(tmp_path_factory: pytest.TempPathFactory, local_executor: Any) -> Iterator[TestClient]:
    service = make_service(tmp_path_factory.mktemp("demo"), executor=Bounded(local_executor, 2))
    with client_for(service) as client:
        yield client


def expected(dataset: Any, sql: str) -> list[list[Any]]:
    con = duckdb.connect()
    for table in dataset.tables:
        columns = ", ".join(f"'{c.name}': '{c.type}'" for c in table.columns)
        path = Path(dataset.directory) / table.file
        con.execute(
            f"CREATE VIEW {table.name} AS SELECT * FROM read_csv('{path}', header = true, auto_detect = false, "
            f"columns = {{{columns}}})"
        )
    return [[to_json(v) for v in row] for row in con.execute(sql).fetchall()]


def rounded(rows: list[list[Any]]) -> list[list[Any]]:
    return [[round(v, 6) if isinstance(v, float) else v for v in row] for row in rows]


@pytest.mark.parametrize("case", CASES, ids=[c.prompt for c in CASES])
def test_demo_prompt_through_http(case: Any, sandboxed_client: TestClient, registry: Any) -> None:
    body = sandboxed_client.post("/v1/ask", json={"dataset_id": case.dataset, "question": case.prompt}).json()
    assert body["status"] == "succeeded", body.get("error")
    assert body["planner"] == "offline" and body["executor"] == "local"
    got, want = rounded(body["result"]["rows"]), rounded(expected(registry.get(case.dataset), case.sql))
    if case.ordered:
        assert got == want
    else:
        assert sorted(got, key=repr) == sorted(want, key=repr)
