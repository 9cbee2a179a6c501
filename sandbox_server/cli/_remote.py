"""A tiny client for the subcommands that talk to a running server (``--server URL``)."""

from __future__ import annotations

import os
from typing import Any

import httpx

from sandbox_server.errors import from_code


def request(server: str, method: str, path: str, *, token: str | None = None, **kwargs: Any) -> Any:
    token = token or os.environ.get("CSVANALYST_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        reply = httpx.request(method, server.rstrip("/") + path, headers=headers, timeout=300, **kwargs)
    except httpx.HTTPError as exc:
        raise from_code("EXECUTOR_UNAVAILABLE", f"server {server} not reachable: {exc}") from exc
    try:
        data = reply.json()
    except ValueError:
        data = {"error": {"code": "RUNNER_INTERNAL_ERROR", "message": reply.text[:500]}}
    if reply.status_code >= 400:
        err = data.get("error") or {}
        raise from_code(err.get("code", "RUNNER_INTERNAL_ERROR"), err.get("message", reply.text[:500]))
    return data
