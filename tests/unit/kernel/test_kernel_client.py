"""The HTTP client against a fake server on httpx.MockTransport: every endpoint, the bearer
header, and every way a request can fail translated into one ClientError."""

from __future__ import annotations

import json

import httpx
import pytest

from csvanalyst_kernel.client import Client, error_from_response, translate_transport_error
from csvanalyst_kernel.errors import ClientError
from sandbox_server.plan import Aggregate, QueryPlan

from .conftest import TOKEN, FakeServer


def test_every_request_carries_the_bearer_token(client: Client, fake_server: FakeServer) -> None:
    client.list_datasets()
    client.ask("ecommerce", "revenue by month")
    assert {r.headers["authorization"] for r in fake_server.requests} == {f"Bearer {TOKEN}"}


def test_without_token_the_server_says_unauthorized(fake_server: FakeServer) -> None:
    anonymous = Client("http://fake", transport=httpx.MockTransport(fake_server.handle))
    with anonymous, pytest.raises(ClientError) as info:
        anonymous.list_datasets()
    assert (info.value.code, info.value.http_status) == ("UNAUTHORIZED", 401)
    assert "authorization" not in fake_server.requests[0].headers


def test_list_and_get_datasets(client: Client) -> None:
    datasets = client.list_datasets()
    assert [d.id for d in datasets] == ["ecommerce", "support"]
    assert datasets[0].prompts == ["revenue by month", "top 5 categories by revenue"]
    detail = client.get_dataset("ecommerce")
    assert [t.name for t in detail.tables] == ["orders", "order_items", "inventory"]


def test_unknown_dataset_translates_the_error_envelope(client: Client) -> None:
    with pytest.raises(ClientError) as info:
        client.get_dataset("nope")
    error = info.value
    assert (error.code, error.http_status) == ("DATASET_NOT_FOUND", 404)
    assert error.message == "no dataset 'nope'"
    assert error.suggestion == "list them: GET /v1/datasets"


def test_ask_sends_the_contract_body_and_parses_the_run(client: Client, fake_server: FakeServer) -> None:
    run = client.ask("ecommerce", "revenue by month", thread_id="t7")
    assert fake_server.bodies("/v1/ask") == [
        {"dataset_id": "ecommerce", "question": "revenue by month", "thread_id": "t7"}
    ]
    assert run.status == "succeeded" and run.thread_id == "t7"
    assert run.result.rows[0] == ["2024-01-01", 123456.5]
    assert run.chart is not None


def test_ask_without_thread_sends_no_thread_id(client: Client, fake_server: FakeServer) -> None:
    client.ask("ecommerce", "revenue")
    assert "thread_id" not in fake_server.bodies("/v1/ask")[0]


def test_a_rejected_run_is_a_response_not_an_exception(client: Client) -> None:
    run = client.run_sql("ecommerce", "DROP TABLE orders")
    assert run.status == "rejected"
    assert run.error is not None and run.error.code == "SQL_POLICY_VIOLATION"


def test_run_sql_and_run_plan_post_to_runs(client: Client, fake_server: FakeServer) -> None:
    client.run_sql("ecommerce", "SELECT 1")
    plan = QueryPlan(dataset_id="ecommerce", table="orders", select=[Aggregate(func="count")])
    client.run_plan("ecommerce", plan)
    client.run_plan("ecommerce", {"dataset_id": "ecommerce", "table": "orders"})
    bodies = fake_server.bodies("/v1/runs")
    assert bodies[0] == {"dataset_id": "ecommerce", "sql": "SELECT 1"}
    assert bodies[1]["plan"]["select"] == [{"func": "count", "where": []}]
    assert bodies[2]["plan"] == {"dataset_id": "ecommerce", "table": "orders"}


def test_runs_capsules_download_and_replay(client: Client) -> None:
    first = client.ask("ecommerce", "revenue by month")
    client.ask("support", "tickets")
    assert [c.run_id for c in client.list_runs()] == ["r2", "r1"]
    assert [c.run_id for c in client.list_runs("ecommerce")] == ["r1"]
    capsule = client.get_run(first.run_id)
    assert capsule.compiled_sql == first.sql and capsule.status == "succeeded"
    assert json.loads(client.download_capsule(first.run_id))["run_id"] == "r1"
    assert client.capsule_url("r1") == "http://fake:8765/v1/runs/r1"
    replay = client.replay(first.run_id)
    assert (replay.original_run_id, replay.run_id, replay.matches) == ("r1", "r3", True)


def test_list_runs_sends_dataset_and_limit(client: Client, fake_server: FakeServer) -> None:
    client.list_runs("ecommerce", limit=5)
    params = fake_server.requests[-1].url.params
    assert (params["dataset_id"], params["limit"]) == ("ecommerce", "5")


def test_upload_is_multipart_with_files_and_name(client: Client, fake_server: FakeServer) -> None:
    dataset = client.upload_dataset("shop", [("orders.csv", b"a,b\n1,2\n"), ("items.csv", b"x\n1\n")])
    assert (dataset.id, dataset.tables) == ("u_shop", ["orders", "items"])
    request = fake_server.requests[-1]
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert b'filename="orders.csv"' in request.content and b"a,b\n1,2\n" in request.content


def test_upload_without_files_is_refused_before_any_request(client: Client, fake_server: FakeServer) -> None:
    with pytest.raises(ClientError, match="no files"):
        client.upload_dataset("x", [])
    assert fake_server.requests == []


def test_ids_cannot_change_the_route(client: Client, fake_server: FakeServer) -> None:
    with pytest.raises(ClientError, match="not a valid id"):
        client.get_run("../datasets")
    assert fake_server.requests == []


def test_connection_refused_says_server_not_reachable() -> None:
    # Port 9 (discard) on loopback: nothing listens there on a test machine.
    with Client("http://127.0.0.1:9", timeout_s=2) as c:
        with pytest.raises(ClientError) as info:
            c.list_datasets()
        assert c.health() is False
    assert info.value.code == "SERVER_UNREACHABLE"
    assert "server not reachable at http://127.0.0.1:9" in info.value.message
    assert info.value.suggestion and "csvanalyst serve" in info.value.suggestion


# Every httpx exception a request can raise maps to a client code (httpx's own style of test).
TRANSPORT_ERRORS = {
    httpx.ConnectError("refused"): "SERVER_UNREACHABLE",
    httpx.ConnectTimeout("slow connect"): "SERVER_UNREACHABLE",
    httpx.ReadTimeout("slow"): "SERVER_TIMEOUT",
    httpx.WriteTimeout("slow"): "SERVER_TIMEOUT",
    httpx.PoolTimeout("busy"): "SERVER_TIMEOUT",
    httpx.ReadError("reset"): "SERVER_UNREACHABLE",
    httpx.WriteError("reset"): "SERVER_UNREACHABLE",
    httpx.CloseError("close"): "SERVER_UNREACHABLE",
    httpx.RemoteProtocolError("garbage"): "SERVER_UNREACHABLE",
    httpx.LocalProtocolError("bad"): "SERVER_UNREACHABLE",
    httpx.ProxyError("proxy"): "SERVER_UNREACHABLE",
    httpx.UnsupportedProtocol("ftp"): "SERVER_UNREACHABLE",
    httpx.DecodingError("gzip"): "BAD_RESPONSE",
    httpx.TooManyRedirects("loop"): "BAD_RESPONSE",
}


@pytest.mark.parametrize(("exc", "code"), list(TRANSPORT_ERRORS.items()), ids=lambda v: type(v).__name__)
def test_transport_errors_are_translated(exc: httpx.HTTPError, code: str) -> None:
    def raise_it(request: httpx.Request) -> httpx.Response:
        raise exc

    with (
        Client("http://fake", transport=httpx.MockTransport(raise_it)) as c,
        pytest.raises(ClientError) as info,
    ):
        c.list_datasets()
    assert info.value.code == code
    assert info.value.__cause__ is exc


def test_every_concrete_httpx_request_error_is_covered() -> None:
    def leaves(cls: type) -> set[type]:
        subs: list[type] = cls.__subclasses__()
        return {cls} if not subs else set().union(*(leaves(s) for s in subs))

    covered = {type(e) for e in TRANSPORT_ERRORS}
    assert leaves(httpx.RequestError) - covered == set()
    for cls in leaves(httpx.RequestError):
        assert translate_transport_error(cls("x"), "http://h").code in {
            "SERVER_UNREACHABLE",
            "SERVER_TIMEOUT",
            "BAD_RESPONSE",
        }


@pytest.mark.parametrize(
    ("response", "code", "message"),
    [
        (httpx.Response(503, json={"error": {"code": "EXECUTOR_UNAVAILABLE", "message": "no sandbox"}}),
         "EXECUTOR_UNAVAILABLE", "no sandbox"),
        (httpx.Response(422, json={"detail": [{"loc": ["body", "question"], "msg": "missing"}]}),
         "VALIDATION_ERROR", "missing"),
        (httpx.Response(403, text="<html>forbidden</html>"), "FORBIDDEN", "forbidden"),
        (httpx.Response(502, text="Bad Gateway"), "BAD_RESPONSE", "HTTP 502"),
        (httpx.Response(500, json={"error": {"code": "RUNNER_INTERNAL_ERROR", "message": "boom"}}),
         "RUNNER_INTERNAL_ERROR", "boom"),
    ],
)  # fmt: skip
def test_error_bodies_of_every_shape(response: httpx.Response, code: str, message: str) -> None:
    response.request = httpx.Request("GET", "http://fake/v1/datasets")
    error = error_from_response(response)
    assert error.code == code
    assert message in error.message
    assert error.http_status == response.status_code


def test_a_non_json_success_is_a_bad_response() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, text="<html>a proxy login page</html>"))
    with Client("http://fake", transport=transport) as c, pytest.raises(ClientError) as info:
        c.list_datasets()
    assert info.value.code == "BAD_RESPONSE"
    assert "not JSON" in info.value.message


def test_a_body_off_contract_is_a_bad_response() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json={"run_id": "r1"}))
    with Client("http://fake", transport=transport) as c, pytest.raises(ClientError) as info:
        c.ask("ecommerce", "q")
    assert info.value.code == "BAD_RESPONSE"
    assert "RunResponse" in info.value.message


def test_list_endpoints_accept_a_wrapped_list() -> None:
    body = {"datasets": [{"id": "x", "tables": ["t"], "version_hash": "h"}]}
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json=body))
    with Client("http://fake", transport=transport) as c:
        assert [d.id for d in c.list_datasets()] == ["x"]
