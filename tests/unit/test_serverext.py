"""The side panel's server extension, through a real ``jupyter server`` subprocess.

A recording fake stands in for the sandbox server, so each test can say exactly what reached
it: the routes forward to ``/v1`` with the sandbox token added server-side, require Jupyter's
own authentication, expose nothing beyond the panel's routes, and turn an unreachable server
into the one JSON error envelope.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.e2e.jupyter_process import JupyterProcess, start_jupyter

pytestmark = pytest.mark.slow  # one Jupyter server start for the module, a few seconds

SANDBOX_TOKEN = "sandbox-secret-token"
DATASETS = [
    {"id": "ecommerce", "tables": ["orders"], "version_hash": "a" * 64, "prompts": ["revenue by month"]}
]
RUN = {"run_id": "r-1", "status": "succeeded", "dataset_id": "ecommerce", "thread_id": "t-1"}


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeSandbox:
    """Answers a few /v1 paths from canned bodies and records every request."""

    seen: list[Seen] = field(default_factory=list)

    def answer(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        if path == "/healthz":
            return 200, {}, b'{"status": "ok"}'
        if path == "/v1/datasets":
            return 200, {}, json.dumps(DATASETS).encode()
        if path == "/v1/datasets/nope":
            error = {
                "code": "DATASET_NOT_FOUND",
                "message": "no dataset 'nope'",
                "suggestion": "try ecommerce",
            }
            return 404, {}, json.dumps({"error": error}).encode()
        if path == "/v1/ask" and method == "POST":
            return 200, {}, json.dumps({**RUN, "question": json.loads(body)["question"]}).encode()
        if path == "/v1/runs/r-1?format=download":
            return (
                200,
                {"Content-Disposition": 'attachment; filename="capsule_r-1.json"'},
                b'{"run_id": "r-1"}',
            )
        return 404, {}, json.dumps({"error": {"code": "NOT_FOUND", "message": path}}).encode()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[tuple[str, FakeSandbox]]:
    fake = FakeSandbox()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            fake.seen.append(Seen(self.command, self.path, dict(self.headers.items()), body))
            if self.path == "/v1/datasets/hang-up":
                self.close_connection = True  # no answer at all: the server went away mid-request
                return
            status, headers, content = fake.answer(self.command, self.path, body)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = _handle

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", fake
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def jupyter(
    sandbox: tuple[str, FakeSandbox], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[JupyterProcess]:
    url, _ = sandbox
    env = {"CSVANALYST_SERVER_URL": url, "CSVANALYST_TOKEN": SANDBOX_TOKEN}
    process = start_jupyter(tmp_path_factory.mktemp("jupyter"), env=env)
    yield process
    process.stop()


@pytest.fixture
def fake(sandbox: tuple[str, FakeSandbox]) -> FakeSandbox:
    sandbox[1].seen.clear()
    return sandbox[1]


def get(jupyter: JupyterProcess, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.get(jupyter.api(f"csvanalyst/api/{path}"), headers=jupyter.auth(), timeout=30, **kwargs)


def post(jupyter: JupyterProcess, path: str, body: Any) -> httpx.Response:
    return httpx.post(jupyter.api(f"csvanalyst/api/{path}"), headers=jupyter.auth(), json=body, timeout=30)


def test_datasets_are_forwarded_with_the_sandbox_token_added_server_side(
    jupyter: JupyterProcess, fake: FakeSandbox
) -> None:
    response = get(jupyter, "datasets")

    assert response.status_code == 200
    assert response.json() == DATASETS
    [seen] = fake.seen
    assert (seen.method, seen.path) == ("GET", "/v1/datasets")
    assert seen.headers["Authorization"] == f"Bearer {SANDBOX_TOKEN}"
    # The browser's Jupyter credentials stay on the Jupyter side.
    assert jupyter.token not in json.dumps(seen.headers)
    assert SANDBOX_TOKEN not in response.text and SANDBOX_TOKEN not in str(response.headers)


def test_ask_forwards_the_json_body(jupyter: JupyterProcess, fake: FakeSandbox) -> None:
    body = {"dataset_id": "ecommerce", "question": "How many orders are there by status?", "thread_id": "t-0"}

    response = post(jupyter, "ask", body)

    assert response.status_code == 200
    assert response.json()["question"] == body["question"]
    [seen] = fake.seen
    assert (seen.method, seen.path) == ("POST", "/v1/ask")
    assert json.loads(seen.body) == body


def test_server_errors_pass_through_with_their_status_and_envelope(
    jupyter: JupyterProcess, fake: FakeSandbox
) -> None:
    response = get(jupyter, "datasets/nope")

    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "DATASET_NOT_FOUND",
        "message": "no dataset 'nope'",
        "suggestion": "try ecommerce",
    }


def test_capsule_download_keeps_the_attachment_header(jupyter: JupyterProcess, fake: FakeSandbox) -> None:
    response = get(jupyter, "runs/r-1", params={"format": "download"})

    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="capsule_r-1.json"'
    assert response.json() == {"run_id": "r-1"}
    assert fake.seen[0].path == "/v1/runs/r-1?format=download"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "ask", 405),  # only POST
        ("POST", "datasets", 405),  # uploads are not the panel's business
        ("GET", "runs", 405),  # nor listing the user's whole history
        ("GET", "metrics", 404),  # anything unlisted does not exist
    ],
)
def test_only_the_panels_routes_and_methods_exist(
    jupyter: JupyterProcess, fake: FakeSandbox, method: str, path: str, status: int
) -> None:
    response = httpx.request(
        method, jupyter.api(f"csvanalyst/api/{path}"), headers=jupyter.auth(), json={}, timeout=30
    )

    assert response.status_code == status
    assert fake.seen == []


def test_routes_require_jupyter_authentication(jupyter: JupyterProcess, fake: FakeSandbox) -> None:
    response = httpx.get(jupyter.api("csvanalyst/api/datasets"), timeout=30)

    assert response.status_code == 403
    assert fake.seen == []


def test_posts_without_a_token_need_the_xsrf_cookie(jupyter: JupyterProcess, fake: FakeSandbox) -> None:
    # A browser page on another site cannot make the user's browser ask questions.
    response = httpx.post(
        jupyter.api("csvanalyst/api/ask"), json={"dataset_id": "x", "question": "q"}, timeout=30
    )

    assert response.status_code == 403
    assert fake.seen == []


def test_ids_cannot_escape_their_path_segment(jupyter: JupyterProcess, fake: FakeSandbox) -> None:
    response = get(jupyter, "runs/..%2Fdatasets")

    assert response.status_code == 400
    assert fake.seen == []


def test_a_server_that_goes_away_becomes_a_clear_error(jupyter: JupyterProcess, fake: FakeSandbox) -> None:
    response = get(jupyter, "datasets/hang-up")

    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "SERVER_UNREACHABLE"
    assert "(environment)" in error["message"]
    assert "csvanalyst serve" in error["suggestion"]


def test_status_names_the_configured_server(
    jupyter: JupyterProcess, sandbox: tuple[str, FakeSandbox]
) -> None:
    status = get(jupyter, "status").json()

    assert status == {"source": "environment", "server_url": sandbox[0], "healthy": True}
