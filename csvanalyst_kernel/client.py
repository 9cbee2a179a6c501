"""The HTTP client of the sandbox server's ``/v1`` API (DESIGN.md), for the kernel and the panel.

Synchronous on purpose: the kernel keeps itself responsive by calling it from worker threads
(``csvanalyst_kernel.background``), and ``httpx.Client`` is safe to share between threads.
Every answer is parsed into the shared wire models of ``sandbox_server.schemas``; every failure
becomes one ``ClientError`` (see ``errors.py`` for the codes), so callers never see httpx or
pydantic exceptions. Tests build a ``Client`` on ``httpx.MockTransport``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from csvanalyst_kernel.errors import ClientError
from sandbox_server.plan import QueryPlan
from sandbox_server.schemas import Capsule, DatasetDetail, DatasetSummary, RunResponse

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 120.0  # a run may plan with an LLM (30 s) and then execute (10 s), with queueing


class ReplayResponse(BaseModel):
    """``POST /v1/runs/{run_id}/replay``: the run again, on the same data, and whether it matches."""

    model_config = ConfigDict(extra="allow")

    run_id: str
    original_run_id: str
    matches: bool
    original_result_sha256: str | None = None
    result_sha256: str | None = None
    status: str


class Client:
    """One server: its base URL and the bearer token that names the user."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Accept": "application/json", "User-Agent": "csvanalyst-kernel"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=5.0),
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"Client({self.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- endpoints, in the order of DESIGN.md's table

    def health(self) -> bool:
        """True when ``/healthz`` answers 200; never raises."""
        try:
            return self._http.get("/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    def list_datasets(self) -> list[DatasetSummary]:
        data = self._request("GET", "/v1/datasets")
        return [_summary(item) for item in _items(data, "datasets")]

    def get_dataset(self, dataset_id: str) -> DatasetDetail:
        return _parse(DatasetDetail, self._request("GET", f"/v1/datasets/{_segment(dataset_id)}"))

    def upload_dataset(self, name: str, files: Sequence[tuple[str, bytes]]) -> DatasetSummary:
        """Create a dataset from CSV files (one table each, named after the file)."""
        if not files:
            raise ClientError(
                "VALIDATION_ERROR", "no files to upload", suggestion="give at least one CSV file"
            )
        parts = [("files", (filename, content, "text/csv")) for filename, content in files]
        return _summary(self._request("POST", "/v1/datasets", data={"name": name}, files=parts))

    def ask(self, dataset_id: str, question: str, thread_id: str | None = None) -> RunResponse:
        body: dict[str, Any] = {"dataset_id": dataset_id, "question": question}
        if thread_id:
            body["thread_id"] = thread_id
        return _parse(RunResponse, self._request("POST", "/v1/ask", json=body))

    def run_sql(self, dataset_id: str, sql: str) -> RunResponse:
        body = {"dataset_id": dataset_id, "sql": sql}
        return _parse(RunResponse, self._request("POST", "/v1/runs", json=body))

    def run_plan(self, dataset_id: str, plan: QueryPlan | dict[str, Any]) -> RunResponse:
        plan_json = plan.model_dump(mode="json", exclude_none=True) if isinstance(plan, QueryPlan) else plan
        body = {"dataset_id": dataset_id, "plan": plan_json}
        return _parse(RunResponse, self._request("POST", "/v1/runs", json=body))

    def get_run(self, run_id: str) -> Capsule:
        return _parse(Capsule, self._request("GET", f"/v1/runs/{_segment(run_id)}"))

    def download_capsule(self, run_id: str) -> bytes:
        """The capsule exactly as the server stores it (JSON bytes), for saving to a file."""
        return self._send("GET", f"/v1/runs/{_segment(run_id)}").content

    def capsule_url(self, run_id: str) -> str:
        return f"{self.base_url}/v1/runs/{_segment(run_id)}"

    def list_runs(self, dataset_id: str | None = None, limit: int = 20) -> list[Capsule]:
        params: dict[str, Any] = {"limit": limit}
        if dataset_id:
            params["dataset_id"] = dataset_id
        data = self._request("GET", "/v1/runs", params=params)
        return [_parse(Capsule, item) for item in _items(data, "runs")]

    def replay(self, run_id: str) -> ReplayResponse:
        return _parse(ReplayResponse, self._request("POST", f"/v1/runs/{_segment(run_id)}/replay"))

    # -- transport and error translation

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise ClientError(
                "BAD_RESPONSE",
                f"{method} {path} answered {response.status_code} with a body that is not JSON",
                suggestion=f"check that {self.base_url} is a csvanalyst server",
                http_status=response.status_code,
            ) from exc

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise translate_transport_error(exc, self.base_url) from exc
        if response.status_code >= 400:
            raise error_from_response(response)
        return response


def translate_transport_error(exc: httpx.HTTPError, base_url: str) -> ClientError:
    """The one place where httpx's exceptions become ``ClientError`` (a test walks them all)."""
    if isinstance(exc, httpx.ConnectTimeout | httpx.ConnectError):
        return ClientError(
            "SERVER_UNREACHABLE",
            f"server not reachable at {base_url} ({type(exc).__name__}: {exc})",
            suggestion="start it with `csvanalyst serve`, or fix %config AskMagics.server_url "
            "(unset it to use the embedded server)",
        )
    if isinstance(exc, httpx.TimeoutException):
        return ClientError(
            "SERVER_TIMEOUT",
            f"the server at {base_url} did not answer in time ({type(exc).__name__})",
            suggestion="the run may still finish: look for it with %ask_history",
        )
    if isinstance(exc, httpx.TransportError):
        return ClientError(
            "SERVER_UNREACHABLE",
            f"lost the connection to {base_url} ({type(exc).__name__}: {exc})",
            suggestion="check that the server is still running, then try again",
        )
    return ClientError("BAD_RESPONSE", f"request to {base_url} failed: {type(exc).__name__}: {exc}")


def error_from_response(response: httpx.Response) -> ClientError:
    """Read the API's error envelope ``{"error": {code, message, suggestion?}}``; tolerate others."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        details = err.get("details") if isinstance(err.get("details"), dict) else {}
        return ClientError(
            str(err.get("code") or _code_for_status(status)),
            str(err.get("message") or f"HTTP {status}"),
            suggestion=err.get("suggestion"),
            http_status=status,
            run_id=err.get("run_id") or details.get("run_id"),
        )
    if isinstance(body, dict) and "detail" in body:  # a framework default (e.g. FastAPI's 422)
        detail = body["detail"]
        message = detail if isinstance(detail, str) else json.dumps(detail)[:500]
        return ClientError(_code_for_status(status), message, http_status=status)
    text = response.text[:200].strip() or response.reason_phrase
    return ClientError(
        _code_for_status(status) if status < 500 else "BAD_RESPONSE",
        f"HTTP {status} from {response.request.url}: {text}",
        http_status=status,
    )


def _code_for_status(status: int) -> str:
    return {
        401: "UNAUTHORIZED",
        403: "FORBIDDEN",
        404: "DATASET_NOT_FOUND",
        503: "EXECUTOR_UNAVAILABLE",
    }.get(status, "VALIDATION_ERROR" if status < 500 else "BAD_RESPONSE")


def _parse(model: type[T], data: Any) -> T:
    try:
        return TypeAdapter(model).validate_python(data)
    except PydanticValidationError as exc:
        raise ClientError(
            "BAD_RESPONSE",
            f"the server's answer is not a valid {model.__name__}: {exc.errors()[0]['msg']}",
            suggestion="the server and this client may be different versions",
        ) from exc


def _items(data: Any, key: str) -> list[Any]:
    """A list endpoint's items, whether the server sends a bare list or ``{key: [...]}``."""
    if isinstance(data, dict) and isinstance(data.get(key), list):
        return list(data[key])
    if isinstance(data, list):
        return data
    raise ClientError("BAD_RESPONSE", f"expected a list of {key}, got {type(data).__name__}")


def _summary(data: Any) -> DatasetSummary:
    """A dataset description as a summary, also when the server sent the detailed schema."""
    if isinstance(data, dict) and any(isinstance(t, dict) for t in data.get("tables", [])):
        data = {**data, "tables": [t["name"] if isinstance(t, dict) else t for t in data["tables"]]}
    return _parse(DatasetSummary, data)


def _segment(value: str) -> str:
    """One URL path segment: ids come from people, so a ``/`` must not change the route."""
    if not value or "/" in value or value in (".", ".."):
        raise ClientError("VALIDATION_ERROR", f"not a valid id: {value!r}")
    return value
