"""``create_app``: the FastAPI application, its one error envelope and its middleware."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from sandbox_server import errors
from sandbox_server.api.routes import router
from sandbox_server.auth import Authenticator
from sandbox_server.logs import request_id
from sandbox_server.service import SOFTWARE_VERSION, Service

log = logging.getLogger("csvanalyst.http")


def _envelope(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message, **extra}})


def create_app(service: Service) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        service.executor.close()
        service.store.close()

    app = FastAPI(
        title="csvanalyst sandbox server",
        version=SOFTWARE_VERSION,
        description="Plain-English questions about CSV data, answered in a fresh sandbox per run.",
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.authenticator = Authenticator(service.settings)
    app.include_router(router)

    @app.exception_handler(errors.CsvAnalystError)
    async def _known(_: Request, exc: errors.CsvAnalystError) -> JSONResponse:
        return JSONResponse(status_code=exc.http_status, content=errors.envelope(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'] if p != 'body')}: {e['msg']}" for e in exc.errors()
        )
        return _envelope(400, "VALIDATION_ERROR", f"invalid request: {problems}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {401: "UNAUTHORIZED", 403: "FORBIDDEN"}.get(exc.status_code, "VALIDATION_ERROR")
        return _envelope(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return _envelope(500, "RUNNER_INTERNAL_ERROR", f"internal server error ({exc.__class__.__name__})")

    @app.middleware("http")
    async def _context(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        rid = request.headers.get("x-request-id") or uuid.uuid4().hex[:16]
        token = request_id.set(rid)
        start = time.perf_counter()
        try:
            response = await call_next(request)
        finally:
            request_id.reset(token)
        response.headers["x-request-id"] = rid
        log.info(
            "request",
            extra={
                "request_id": rid,
                "method": request.method,
                "path": request.url.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - start) * 1000, 2),
            },
        )
        return response

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": SOFTWARE_VERSION}

    @app.get("/readyz", tags=["health"])
    def readyz() -> JSONResponse:
        checks: dict[str, str] = {}
        for name, check in (("store", service.store.ping), ("executor", service.executor.check)):
            try:
                check()
                checks[name] = "ok"
            except errors.CsvAnalystError as exc:
                checks[name] = exc.message
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse(status_code=200 if ready else 503, content={"ready": ready, "checks": checks})

    @app.get("/metrics", tags=["health"])
    def metrics() -> Response:
        return Response(service.metrics.render(), media_type="text/plain; version=0.0.4")

    return app
