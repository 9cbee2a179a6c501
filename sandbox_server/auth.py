"""Who is asking: bearer tokens mapped to users, JupyterHub tokens, or single-user loopback.

none         every request is the user "local" (only allowed on a loopback address)
tokens       ``Authorization: Bearer <token>`` looked up in Settings.tokens
jupyterhub   the token is verified against JupyterHub's API (cached briefly)
"""

from __future__ import annotations

import ipaddress
import threading
import time
from typing import Literal

import httpx

from sandbox_server.errors import Unauthorized
from sandbox_server.settings import Settings

LOCAL_USER = "local"
AuthMode = Literal["none", "tokens", "jupyterhub"]
_HUB_CACHE_S = 60.0


def auth_mode(settings: Settings) -> AuthMode:
    if settings.auth_mode == "auto":
        return "tokens" if settings.tokens else "none"
    return settings.auth_mode


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Authenticator:
    def __init__(self, settings: Settings) -> None:
        self.mode = auth_mode(settings)
        self.tokens = dict(settings.tokens)
        self.hub_url = (settings.jupyterhub_api_url or "").rstrip("/")
        self.hub_token = settings.jupyterhub_api_token
        self._hub_cache: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def user_for(self, authorization: str | None) -> str:
        if self.mode == "none":
            return LOCAL_USER
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() not in ("bearer", "token") or not token.strip():
            raise Unauthorized(
                "missing bearer token",
                suggestion="send 'Authorization: Bearer <token>' (see CSVANALYST_TOKENS)",
            )
        token = token.strip()
        if self.mode == "tokens":
            user = self.tokens.get(token)
            if user is None:
                raise Unauthorized("unknown token", suggestion="check the token configured for you")
            return user
        return self._hub_user(token)

    def _hub_user(self, token: str) -> str:
        now = time.monotonic()
        with self._lock:
            hit = self._hub_cache.get(token)
            if hit and hit[0] > now:
                return hit[1]
        try:
            reply = httpx.get(
                f"{self.hub_url}/user", headers={"Authorization": f"token {token}"}, timeout=5.0
            )
        except httpx.HTTPError as exc:
            raise Unauthorized(f"JupyterHub not reachable to verify the token: {exc}") from exc
        if reply.status_code != 200:
            raise Unauthorized("JupyterHub rejected the token")
        user = str(reply.json().get("name") or "")
        if not user:
            raise Unauthorized("JupyterHub returned no user for the token")
        with self._lock:
            self._hub_cache[token] = (now + _HUB_CACHE_S, user)
        return user
