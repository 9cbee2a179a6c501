"""The jupyter-server extension behind the JupyterLab side panel: ``/csvanalyst/api/...``.

The panel runs in the browser; the sandbox server wants a bearer token. Rather than hand that
token to the browser, these routes forward the panel's calls and add the token on the server
side. Every route is guarded by Jupyter's own authentication, so the panel works wherever
JupyterLab does, JupyterHub included, and nothing but a logged-in user reaches the sandbox.

Which sandbox server: ``CSVANALYST_SERVER_URL`` (and ``CSVANALYST_TOKEN``) from the
environment, as for the kernel; without them the embedded server of
``csvanalyst_kernel.embedded`` is started on first use, exactly as a kernel would.

    browser ──(Jupyter auth + XSRF)──► /csvanalyst/api/ask ──(Bearer token)──► /v1/ask
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import Any

import httpx
import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from csvanalyst_kernel.errors import ClientError

API_PREFIX = "csvanalyst/api"
SETTINGS_KEY = "csvanalyst_upstream"
# Planning with an LLM and running in a fresh sandbox can take a while; the client uses the same.
TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Connection:
    """Where the sandbox server is and the token that names this Jupyter user to it."""

    base_url: str
    token: str | None
    source: str  # "environment" or "embedded": shown by the status route


class Upstream:
    """The sandbox server behind the routes: resolved on first use, shared by every request."""

    def __init__(self, connection: Connection | None = None) -> None:
        self._fixed = connection
        self._lock = asyncio.Lock()
        self._http: httpx.AsyncClient | None = None

    @staticmethod
    def from_environment() -> Connection | None:
        url = os.environ.get("CSVANALYST_SERVER_URL", "").strip()
        if not url:
            return None
        return Connection(url.rstrip("/"), os.environ.get("CSVANALYST_TOKEN") or None, "environment")

    def configured(self) -> Connection | None:
        """The server given by the test or the environment; None means the embedded one."""
        return self._fixed or self.from_environment()

    async def connection(self) -> Connection:
        configured = self.configured()
        if configured is not None:
            return configured
        async with self._lock:
            from csvanalyst_kernel.embedded import embedded_server

            # Starting takes seconds (and restarts a dead one): not on the event loop.
            server = await asyncio.to_thread(embedded_server)
            return Connection(server.url, server.token, "embedded")

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=httpx.Timeout(TIMEOUT_S, connect=5.0))
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None


class ProxyHandler(APIHandler):
    """Forwards one route to the same path under ``/v1`` with the user's token added.

    Only the routes registered below exist: the browser cannot reach any other path of the
    sandbox server (uploads, listings of all runs, metrics) through Jupyter.
    """

    upstream_path: str = ""
    methods: frozenset[str] = frozenset()

    @property
    def upstream(self) -> Upstream:
        upstream: Upstream = self.settings[SETTINGS_KEY]
        return upstream

    @tornado.web.authenticated
    async def get(self, *args: str) -> None:
        await self._forward("GET", args)

    @tornado.web.authenticated
    async def post(self, *args: str) -> None:
        await self._forward("POST", args)

    async def _forward(self, method: str, args: tuple[str, ...]) -> None:
        if method not in self.methods:
            raise tornado.web.HTTPError(405)
        path = self.upstream_path.format(*[_segment(a) for a in args])
        try:
            connection = await self.upstream.connection()
        except ClientError as exc:
            self._error(503, exc.code, exc.message, exc.suggestion)
            return
        headers = {"Accept": "application/json", "User-Agent": "csvanalyst-jupyter-server"}
        if connection.token:
            headers["Authorization"] = f"Bearer {connection.token}"
        if method == "POST":
            headers["Content-Type"] = "application/json"
        params = {k: self.get_argument(k) for k in ("format",) if self.get_argument(k, None)}
        try:
            response = await self.upstream.http.request(
                method,
                f"{connection.base_url}{path}",
                headers=headers,
                params=params,
                content=self.request.body if method == "POST" else None,
            )
        except httpx.TimeoutException:
            self._error(
                504,
                "SERVER_TIMEOUT",
                f"the sandbox server did not answer within {TIMEOUT_S:.0f} s",
                "try a simpler question, or check the server's load",
            )
            return
        except httpx.HTTPError as exc:
            self._error(
                502,
                "SERVER_UNREACHABLE",
                f"cannot reach the sandbox server at {connection.base_url} ({connection.source}): {exc}",
                "check that `csvanalyst serve` runs there, or unset CSVANALYST_SERVER_URL to use "
                "the embedded server",
            )
            return
        # Status and body pass through unchanged: the server's error envelope is the panel's too.
        self.set_status(response.status_code)
        for name in ("Content-Type", "Content-Disposition"):
            if name in response.headers:
                self.set_header(name, response.headers[name])
        self.finish(response.content)

    def _error(self, status: int, code: str, message: str, suggestion: str | None) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        error: dict[str, Any] = {"code": code, "message": message}
        if suggestion:
            error["suggestion"] = suggestion
        self.finish({"error": error})


class StatusHandler(APIHandler):
    """Which sandbox server the panel talks to, and whether it is up (never starts one)."""

    @tornado.web.authenticated
    async def get(self) -> None:
        upstream: Upstream = self.settings[SETTINGS_KEY]
        fixed = upstream.configured()
        if fixed is None:
            self.finish({"source": "embedded", "server_url": None, "healthy": None})
            return
        try:
            healthy = (await upstream.http.get(f"{fixed.base_url}/healthz", timeout=5.0)).status_code == 200
        except httpx.HTTPError:
            healthy = False
        self.finish({"source": fixed.source, "server_url": fixed.base_url, "healthy": healthy})


def _segment(value: str) -> str:
    """A dataset or run id as one path segment: no slashes, no dot-dot tricks."""
    if not value or value in {".", ".."} or "/" in value:
        raise tornado.web.HTTPError(400, f"invalid id {value!r}")
    return value


def _route(upstream_path: str, *methods: str) -> type[ProxyHandler]:
    return type(
        "ProxyHandler",
        (ProxyHandler,),
        {"upstream_path": upstream_path, "methods": frozenset(methods)},
    )


ID = r"([^/]+)"
# (route under /csvanalyst/api, upstream path under the server, methods): the panel's whole world.
ROUTES: list[tuple[str, str, tuple[str, ...]]] = [
    ("datasets", "/v1/datasets", ("GET",)),
    (f"datasets/{ID}", "/v1/datasets/{}", ("GET",)),
    ("ask", "/v1/ask", ("POST",)),
    ("runs", "/v1/runs", ("POST",)),
    (f"runs/{ID}", "/v1/runs/{}", ("GET",)),
    (f"runs/{ID}/replay", "/v1/runs/{}/replay", ("POST",)),
]


def setup_handlers(web_app: Any, upstream: Upstream | None = None) -> None:
    web_app.settings[SETTINGS_KEY] = upstream or Upstream()
    base = url_path_join(web_app.settings["base_url"], API_PREFIX)
    handlers: list[tuple[str, type[APIHandler]]] = [(url_path_join(base, "status"), StatusHandler)]
    handlers += [(url_path_join(base, route), _route(path, *methods)) for route, path, methods in ROUTES]
    web_app.add_handlers(".*$", handlers)


def _load_jupyter_server_extension(server_app: Any) -> None:
    """Called by jupyter-server (see ``_jupyter_server_extension_points``)."""
    setup_handlers(server_app.web_app)
    server_app.log.info("csvanalyst: side-panel API at /%s", API_PREFIX)
