"""Fixtures for the notebook side: a fake sandbox server behind ``httpx.MockTransport`` that
answers with contract-shaped bodies (DESIGN.md), a client and session on it, and a real IPython
shell with the extension loaded and pointed at the fake server."""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from csvanalyst_kernel.client import Client
from csvanalyst_kernel.session import Session

TOKEN = "test-token"
REVENUE_CHART = {
    "mark": {"type": "line", "point": True},
    "encoding": {
        "x": {"field": "order_date_month", "type": "temporal"},
        "y": {"field": "sum_total", "type": "quantitative"},
    },
}
DATASETS = [
    {
        "id": "ecommerce",
        "name": "ecommerce",
        "description": "Online shop orders",
        "tables": ["orders", "order_items", "inventory"],
        "version_hash": "a" * 64,
        "prompts": ["revenue by month", "top 5 categories by revenue"],
    },
    {
        "id": "support",
        "name": "Support desk",
        "description": "Tickets",
        "tables": ["tickets"],
        "version_hash": "b" * 64,
        "prompts": ["average csat by priority"],
    },
]


def envelope(status: int, code: str, message: str, suggestion: str | None = None) -> httpx.Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if suggestion:
        error["suggestion"] = suggestion
    return httpx.Response(status, json={"error": error})


@dataclass
class FakeServer:
    """Answers like the real server, from canned data; records every request it gets.

    Questions steer it: "revenue by month" succeeds with a chart, "<script>" comes back in the
    data unescaped, "many rows" returns 120 truncated rows, "drop" is rejected by policy,
    "gibberish" is not understood, anything else succeeds with a small table.
    """

    requests: list[httpx.Request] = field(default_factory=list)
    datasets: list[dict[str, Any]] = field(default_factory=lambda: [dict(d) for d in DATASETS])
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    delay_s: float = 0.0
    gate: threading.Event | None = None  # when set, runs wait for it (a question "in flight")
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def bodies(self, path: str) -> list[Any]:
        return [json.loads(r.content) for r in self.requests if r.url.path == path and r.content]

    # -- the endpoints

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return envelope(401, "UNAUTHORIZED", "missing or unknown bearer token")
        path, method = request.url.path, request.method
        if path == "/healthz":
            return httpx.Response(200, json={"status": "ok"})
        if path == "/v1/datasets" and method == "GET":
            return httpx.Response(200, json=self.datasets)
        if path == "/v1/datasets" and method == "POST":
            return self._upload(request)
        if m := re.fullmatch(r"/v1/datasets/([^/]+)", path):
            return self._dataset(m.group(1))
        if path == "/v1/ask":
            return self._run(json.loads(request.content))
        if path == "/v1/runs" and method == "POST":
            return self._run(json.loads(request.content))
        if path == "/v1/runs" and method == "GET":
            dataset_id = request.url.params.get("dataset_id")
            runs = [
                self._capsule(r)
                for r in reversed(self.runs.values())
                if dataset_id in (None, r["dataset_id"])
            ]
            return httpx.Response(200, json=runs[: int(request.url.params.get("limit", 50))])
        if m := re.fullmatch(r"/v1/runs/([^/]+)/replay", path):
            original = self.runs.get(m.group(1))
            if original is None:
                return envelope(400, "VALIDATION_ERROR", f"no run with id {m.group(1)!r}")
            replay = self._run({"dataset_id": original["dataset_id"], "sql": original["sql"]}).json()
            sha = self._capsule(original)["result_sha256"]
            body = {
                **replay,
                "original_run_id": m.group(1),
                "original_result_sha256": sha,
                "result_sha256": sha,
            }
            return httpx.Response(200, json={**body, "matches": True})
        if m := re.fullmatch(r"/v1/runs/([^/]+)", path):
            run = self.runs.get(m.group(1))
            if run is None:
                return envelope(400, "VALIDATION_ERROR", f"no run with id {m.group(1)!r}")
            return httpx.Response(200, json=self._capsule(run))
        return envelope(404, "VALIDATION_ERROR", f"no route {method} {path}")

    def _dataset(self, dataset_id: str) -> httpx.Response:
        found = next((d for d in self.datasets if d["id"] == dataset_id), None)
        if found is None:
            return envelope(
                404, "DATASET_NOT_FOUND", f"no dataset {dataset_id!r}", "list them: GET /v1/datasets"
            )
        columns = [{"name": "order_id", "type": "BIGINT", "sample_values": [1, 2]}]
        tables = [{"name": t, "columns": columns} for t in found["tables"]]
        return httpx.Response(200, json={**found, "tables": tables, "relationships": []})

    def _upload(self, request: httpx.Request) -> httpx.Response:
        body = request.content.decode(errors="replace")
        name = re.search(r'name="name"\r\n\r\n([^\r]*)', body)
        filenames = re.findall(r'name="files"; filename="([^"]+)"', body)
        if not filenames:
            return envelope(400, "DATASET_INVALID", "no files")
        dataset = {
            "id": f"u_{name.group(1) if name else 'x'}",
            "name": name.group(1) if name else "",
            "description": "uploaded",
            "tables": [f.rsplit(".", 1)[0] for f in filenames],
            "version_hash": "c" * 64,
            "prompts": [],
            "owner": "alice",
        }
        self.datasets.append(dataset)
        return httpx.Response(201, json=dataset)

    def _run(self, body: dict[str, Any]) -> httpx.Response:
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.gate is not None:
            self.gate.wait(10)
        dataset_id = body["dataset_id"]
        if not any(d["id"] == dataset_id for d in self.datasets):
            return envelope(404, "DATASET_NOT_FOUND", f"no dataset {dataset_id!r}")
        run_id = f"r{next(self._ids)}"
        question = body.get("question")
        text = (question or body.get("sql") or "").lower()
        thread_id = body.get("thread_id") or (f"t{run_id}" if question else None)
        run: dict[str, Any] = {
            "run_id": run_id,
            "status": "succeeded",
            "dataset_id": dataset_id,
            "question": question,
            "thread_id": thread_id,
            "plan": None,
            "sql": body.get("sql"),
            "result": {"columns": [], "rows": [], "row_count": 0, "truncated": False},
            "chart": None,
            "message": "",
            "error": None,
            "timings_ms": {"plan": 1.0, "exec": 20.5, "total": 1234.0},
            "planner": "offline" if question else None,
            "executor": "local",
        }
        if "drop" in text:
            run |= {"status": "rejected", "sql": body.get("sql") or "DROP TABLE orders"}
            run["error"] = {"code": "SQL_POLICY_VIOLATION", "message": "only SELECT queries may run"}
            run["error"]["suggestion"] = "ask a question, or write a SELECT"
        elif "gibberish" in text:
            run |= {"status": "rejected", "sql": None}
            run["error"] = {
                "code": "PLANNER_ERROR",
                "message": "could not understand the question",
                "suggestion": "rephrase it; columns: order_id, total, status",
            }
        else:
            if question:
                run["plan"] = {
                    "dataset_id": dataset_id,
                    "table": "orders",
                    "group_by": [{"column": "order_date", "bucket": "month"}],
                    "select": [{"func": "sum", "column": "total"}],
                    "limit": 200,
                }
                run["sql"] = (
                    "SELECT date_trunc('month', order_date) AS order_date_month, sum(total) AS sum_total\n"
                    "FROM orders GROUP BY 1 ORDER BY 1 LIMIT 200"
                )
            columns = [{"name": "order_date_month", "type": "DATE"}, {"name": "sum_total", "type": "DOUBLE"}]
            rows: list[list[Any]] = [["2024-01-01", 123456.5], ["2024-02-01", 7.25]]
            if "<script>" in text:
                columns = [{"name": "<b>name</b>", "type": "VARCHAR"}, {"name": "n", "type": "BIGINT"}]
                rows = [["<script>alert(1)</script>", 1234567]]
            if "many rows" in text:
                rows = [[f"2024-01-{i % 28 + 1:02d}", float(i)] for i in range(120)]
            run["result"] = {
                "columns": columns,
                "rows": rows,
                "row_count": len(rows),
                "truncated": "many rows" in text,
            }
            if "by month" in text:
                run["chart"] = REVENUE_CHART
        self.runs[run_id] = run
        return httpx.Response(200, json=run)

    def _capsule(self, run: dict[str, Any]) -> dict[str, Any]:
        return {
            "run_id": run["run_id"],
            "created_at": "2026-11-24T12:00:00Z",
            "user": "alice",
            "dataset_id": run["dataset_id"],
            "dataset_version_hash": "a" * 64,
            "question": run["question"],
            "thread_id": run["thread_id"],
            "planner": run["planner"],
            "plan_json": run["plan"],
            "compiled_sql": run["sql"],
            "executor": "local",
            "status": run["status"],
            "error_code": (run["error"] or {}).get("code"),
            "error_message": (run["error"] or {}).get("message"),
            "result_preview": run["result"],
            "row_count": run["result"]["row_count"],
            "result_sha256": "f" * 64,
            "timings_ms": run["timings_ms"],
        }


@pytest.fixture
def fake_server() -> FakeServer:
    return FakeServer()


@pytest.fixture
def client(fake_server: FakeServer) -> Iterator[Client]:
    with Client("http://fake:8765", TOKEN, transport=httpx.MockTransport(fake_server.handle)) as c:
        yield c


@pytest.fixture
def session(client: Client) -> Session:
    return Session(client)


@pytest.fixture
def shell(session: Session) -> Iterator[Any]:
    """A real IPython shell with ``%load_ext csvanalyst_kernel``, its session on the fake server."""
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    ip.config.pop("AskMagics", None)  # %config of an earlier test lives in the singleton's config
    ip.run_line_magic("load_ext", "csvanalyst_kernel")
    magics: Any = next(c for c in ip.configurables if type(c).__name__ == "AskMagics")
    magics.session = session
    yield ip
    ip.run_line_magic("unload_ext", "csvanalyst_kernel")
    ip.config.pop("AskMagics", None)
    for name in ("result", "sql_text", "df"):
        ip.user_ns.pop(name, None)
