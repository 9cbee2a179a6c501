"""The HTTP API of DESIGN.md, walked endpoint by endpoint (in-process executor for speed; the
sandboxed path is covered in test_api_sandboxed.py)."""

from __future__ import annotations

import io
import json

import pytest
from fastapi.testclient import TestClient

from tests.server_fixtures import client_for, make_service

RUN_KEYS = {
    "run_id",
    "status",
    "dataset_id",
    "question",
    "plan",
    "sql",
    "result",
    "chart",
    "message",
    "error",
    "timings_ms",
}


def test_health_ready_metrics_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    spec = client.get("/openapi.json").json()
    for path in ("/v1/datasets", "/v1/datasets/{dataset_id}", "/v1/ask", "/v1/runs", "/v1/runs/{run_id}"):
        assert path in spec["paths"], path
    client.post("/v1/runs", json={"dataset_id": "ecommerce", "sql": "SELECT 1 AS x"})
    text = client.get("/metrics").text
    assert 'csvanalyst_runs_total{code="",status="succeeded"}' in text
    assert "csvanalyst_stage_seconds_bucket" in text and "csvanalyst_queue_depth" in text


def test_datasets_list_and_detail(client: TestClient) -> None:
    listing = client.get("/v1/datasets").json()
    assert {d["id"] for d in listing} >= {"ecommerce", "support", "sensors"}
    eco = next(d for d in listing if d["id"] == "ecommerce")
    assert eco["tables"] == ["orders", "order_items", "inventory"] and len(eco["prompts"]) == 6
    assert len(eco["version_hash"]) == 64
    detail = client.get("/v1/datasets/ecommerce").json()
    orders = next(t for t in detail["tables"] if t["name"] == "orders")
    status = next(c for c in orders["columns"] if c["name"] == "status")
    assert status["type"] == "VARCHAR" and set(status["sample_values"]) <= {
        "pending",
        "shipped",
        "delivered",
        "cancelled",
    }
    assert {"from": "order_items.order_id", "to": "orders.order_id"} in detail["relationships"]


def test_unknown_dataset_is_404_envelope(client: TestClient) -> None:
    reply = client.get("/v1/datasets/nope")
    assert reply.status_code == 404
    assert reply.json()["error"]["code"] == "DATASET_NOT_FOUND"
    assert "ecommerce" in reply.json()["error"]["suggestion"]
    assert client.post("/v1/ask", json={"dataset_id": "nope", "question": "how many?"}).status_code == 404


def test_malformed_requests_are_400_validation_error(client: TestClient) -> None:
    for body in ({}, {"dataset_id": "ecommerce"}, {"dataset_id": "ecommerce", "sql": "SELECT 1", "plan": {}}):
        reply = client.post("/v1/runs", json=body)
        assert reply.status_code == 400, body
        assert reply.json()["error"]["code"] == "VALIDATION_ERROR"
    reply = client.post("/v1/ask", content=b"not json", headers={"content-type": "application/json"})
    assert reply.status_code == 400


def test_sql_run_and_its_capsule(client: TestClient) -> None:
    reply = client.post(
        "/v1/runs",
        json={
            "dataset_id": "ecommerce",
            "sql": "SELECT status, count(*) AS n FROM orders GROUP BY status ORDER BY status",
        },
    )
    assert reply.status_code == 200
    body = reply.json()
    assert set(body) >= RUN_KEYS
    assert body["status"] == "succeeded" and body["error"] is None
    assert [c["name"] for c in body["result"]["columns"]] == ["status", "n"]
    assert {r[0] for r in body["result"]["rows"]} == {"cancelled", "delivered", "pending", "shipped"}
    assert "LIMIT 200" in body["sql"].upper()
    capsule = client.get(f"/v1/runs/{body['run_id']}").json()
    for key in (
        "run_id",
        "created_at",
        "user",
        "dataset_id",
        "dataset_version_hash",
        "compiled_sql",
        "executor",
        "resource_limits",
        "runner_ref",
        "status",
        "result_preview",
        "row_count",
        "result_sha256",
        "timings_ms",
        "software_version",
    ):
        assert key in capsule, key
    assert capsule["compiled_sql"] == body["sql"] and capsule["row_count"] == 4
    assert {"validate", "queue", "exec", "total"} <= set(capsule["timings_ms"])
    download = client.get(f"/v1/runs/{body['run_id']}?format=download")
    assert download.headers["content-disposition"].startswith("attachment")
    assert json.loads(download.content)["run_id"] == body["run_id"]
    listing = client.get("/v1/runs", params={"dataset_id": "ecommerce", "limit": 5}).json()
    assert listing[0]["run_id"] == body["run_id"]


def test_policy_rejection_is_200_rejected_with_capsule(client: TestClient) -> None:
    reply = client.post("/v1/runs", json={"dataset_id": "ecommerce", "sql": "DELETE FROM orders"})
    assert reply.status_code == 200
    body = reply.json()
    assert body["status"] == "rejected" and body["error"]["code"] == "SQL_POLICY_VIOLATION"
    capsule = client.get(f"/v1/runs/{body['run_id']}").json()
    assert capsule["status"] == "rejected" and capsule["error_code"] == "SQL_POLICY_VIOLATION"
    assert capsule["policy"]["allowed"] is False and capsule["submitted_sql"] == "DELETE FROM orders"


def test_plan_run_and_invalid_plan(client: TestClient) -> None:
    plan = {
        "table": "orders",
        "group_by": ["status"],
        "select": [{"func": "count", "alias": "n"}],
        "order_by": ["status"],
    }
    body = client.post("/v1/runs", json={"dataset_id": "ecommerce", "plan": plan}).json()
    assert body["status"] == "succeeded" and body["plan"]["table"] == "orders"
    chart = body["chart"]
    assert chart is not None and "bar" in str(chart["mark"])
    assert {v["status"]: v["n"] for v in chart["data"]["values"]} == dict(map(tuple, body["result"]["rows"]))
    bad = client.post(
        "/v1/runs", json={"dataset_id": "ecommerce", "plan": {"table": "orders", "select": ["totl"]}}
    ).json()
    assert bad["status"] == "rejected" and bad["error"]["code"] == "VALIDATION_ERROR"
    assert "total" in bad["error"]["message"]


def test_ask_starts_a_thread_and_follow_up_edits_the_plan(client: TestClient) -> None:
    first = client.post(
        "/v1/ask", json={"dataset_id": "ecommerce", "question": "How many orders are there by status?"}
    ).json()
    assert first["status"] == "succeeded" and first["thread_id"]
    assert first["planner"] == "offline"
    follow = client.post(
        "/v1/ask", json={"dataset_id": "ecommerce", "question": "only 2025", "thread_id": first["thread_id"]}
    ).json()
    assert follow["status"] == "succeeded" and follow["thread_id"] == first["thread_id"]
    assert follow["plan"]["group_by"] == first["plan"]["group_by"]
    assert any(f["column"].endswith("order_date") for f in follow["plan"]["filters"])
    thread = client.get(f"/v1/threads/{first['thread_id']}").json()
    assert [t["run_id"] for t in thread["turns"]] == [first["run_id"], follow["run_id"]]


def test_ask_not_understood_is_rejected_planner_error(client: TestClient) -> None:
    body = client.post(
        "/v1/ask", json={"dataset_id": "ecommerce", "question": "what is the meaning of life?"}
    ).json()
    assert body["status"] == "rejected" and body["error"]["code"] == "PLANNER_ERROR"
    assert client.get(f"/v1/runs/{body['run_id']}").json()["status"] == "rejected"


def test_replay_matches_and_needs_no_planner(client: TestClient) -> None:
    first = client.post(
        "/v1/ask", json={"dataset_id": "support", "question": "How many tickets are there by priority?"}
    ).json()
    replay = client.post(f"/v1/runs/{first['run_id']}/replay").json()
    assert replay["original_run_id"] == first["run_id"] and replay["run_id"] != first["run_id"]
    assert replay["matches"] is True and replay["dataset_version_changed"] is False
    assert client.get(f"/v1/runs/{replay['run_id']}").json()["planner"] == "replay"


def upload(client: TestClient, name: str, files: dict[str, bytes]):  # type: ignore[no-untyped-def]
    return client.post(
        "/v1/datasets",
        data={"name": name},
        files=[("files", (fname, io.BytesIO(data), "text/csv")) for fname, data in files.items()],
    )


CITIES = b"city,country,population\nOslo,Norway,700000\nBergen,Norway,285000\nRome,Italy,2800000\nMilan,Italy,1350000\n"


def test_upload_then_ask_and_sql(client: TestClient) -> None:
    reply = upload(client, "My Cities", {"cities.csv": CITIES})
    assert reply.status_code == 201
    info = reply.json()
    assert info["tables"] == ["cities"] and info["id"].startswith("my-cities-")
    again = upload(client, "My Cities", {"cities.csv": CITIES}).json()
    assert again["id"] == info["id"] and again["version_hash"] == info["version_hash"]
    body = client.post(
        "/v1/runs",
        json={
            "dataset_id": info["id"],
            "sql": "SELECT country, sum(population) AS p FROM cities GROUP BY 1 ORDER BY 1",
        },
    ).json()
    assert body["result"]["rows"] == [["Italy", 4150000], ["Norway", 985000]]
    asked = client.post(
        "/v1/ask", json={"dataset_id": info["id"], "question": "What is the total population by country?"}
    ).json()
    assert asked["status"] == "succeeded", asked
    assert sorted(asked["result"]["rows"]) == [["Italy", 4150000], ["Norway", 985000]]
    assert info["id"] in {d["id"] for d in client.get("/v1/datasets").json()}


@pytest.mark.parametrize(
    ("files", "needle"),
    [
        ({"empty.csv": b""}, "empty.csv' is empty"),
        ({"dup.csv": b"a,b,a\n1,2,3\n"}, "duplicate column name 'a'"),
        ({"ragged.csv": b"a,b\n1,2\n3,4,5\n"}, "line 3"),
        ({"latin.csv": "name\nJos\u00e9\n".encode("latin-1")}, "not UTF-8"),
    ],
)
def test_bad_uploads_are_dataset_invalid_and_register_nothing(client: TestClient, files, needle) -> None:  # type: ignore[no-untyped-def]
    before = {d["id"] for d in client.get("/v1/datasets").json()}
    reply = upload(client, "bad", files)
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "DATASET_INVALID"
    assert needle in reply.json()["error"]["message"]
    assert {d["id"] for d in client.get("/v1/datasets").json()} == before


def test_upload_size_limit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    service = make_service(tmp_path, upload_max_bytes=50)
    with client_for(service) as c:
        reply = upload(c, "big", {"big.csv": CITIES})
    assert reply.status_code == 400 and "limit" in reply.json()["error"]["message"]


def test_tokens_map_to_users_and_isolate_their_data(tmp_path) -> None:  # type: ignore[no-untyped-def]
    service = make_service(tmp_path, tokens={"ta": "alice", "tb": "bob"})
    with client_for(service) as anon:
        assert anon.get("/v1/datasets").status_code == 401
        assert anon.get("/v1/datasets").json()["error"]["code"] == "UNAUTHORIZED"
        assert anon.get("/healthz").status_code == 200
    with (
        client_for(service, "ta") as alice,
        client_for(service, "tb") as bob,
        client_for(service, "bad") as bad,
    ):
        assert bad.get("/v1/datasets").status_code == 401
        run = alice.post(
            "/v1/runs", json={"dataset_id": "sensors", "sql": "SELECT count(*) FROM sensors"}
        ).json()
        assert alice.get(f"/v1/runs/{run['run_id']}").status_code == 200
        denied = bob.get(f"/v1/runs/{run['run_id']}")
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "FORBIDDEN"
        assert run["run_id"] not in {c["run_id"] for c in bob.get("/v1/runs").json()}
        ds = upload(alice, "alice data", {"cities.csv": CITIES}).json()
        assert ds["id"] not in {d["id"] for d in bob.get("/v1/datasets").json()}
        assert bob.get(f"/v1/datasets/{ds['id']}").status_code == 404
        assert {"ecommerce", "support", "sensors"} <= {d["id"] for d in bob.get("/v1/datasets").json()}
        thread = alice.post(
            "/v1/ask", json={"dataset_id": "sensors", "question": "How many readings are there?"}
        ).json()["thread_id"]
        stolen = bob.post(
            "/v1/ask", json={"dataset_id": "sensors", "question": "only 2025", "thread_id": thread}
        )
        assert stolen.status_code == 403
