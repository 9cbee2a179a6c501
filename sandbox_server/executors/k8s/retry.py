"""Retrying the Kubernetes API's transient failures, and translating the rest at the boundary.

A busy API server answers 429 (with Retry-After) or 5xx, and a load balancer in front of it may
reset a connection; one such hiccup must not fail a user's run. Anything else (401/403 from
RBAC, 422 from admission) is a configuration fault and fails at once with a message that says
what to fix.

The kubernetes client's urllib3 pool retries some connection errors itself but never a POST
whose connection broke mid-request; this module owns the policy so every call has the same one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import urllib3.exceptions
from kubernetes.client.exceptions import ApiException

from sandbox_server.errors import ExecutorUnavailable

T = TypeVar("T")

TRANSIENT_STATUS: frozenset[int] = frozenset({429, 500, 502, 503, 504})
# urllib3 wraps connection failures in MaxRetryError when its own retries give up and raises
# ProtocolError (connection reset, RemoteDisconnected) or a timeout error otherwise.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    urllib3.exceptions.ProtocolError,
    urllib3.exceptions.MaxRetryError,
    urllib3.exceptions.NewConnectionError,
    urllib3.exceptions.TimeoutError,
    ConnectionError,
)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: ``base_delay_s * 2**attempt``, capped at ``max_delay_s``."""

    attempts: int = 5
    base_delay_s: float = 0.2
    max_delay_s: float = 3.0

    def delay_s(self, attempt: int, retry_after_s: float | None = None) -> float:
        """Seconds to wait before attempt ``attempt + 1``; a server's Retry-After wins, within the cap.

        >>> RetryPolicy(base_delay_s=0.1, max_delay_s=1.0).delay_s(0), RetryPolicy(max_delay_s=1.0).delay_s(9)
        (0.1, 1.0)
        """
        wanted = retry_after_s if retry_after_s is not None else self.base_delay_s * 2**attempt
        return min(max(wanted, 0.0), self.max_delay_s)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, ApiException):
        return exc.status in TRANSIENT_STATUS
    return isinstance(exc, TRANSIENT_ERRORS)


def _retry_after_s(exc: BaseException) -> float | None:
    headers = getattr(exc, "headers", None) or {}
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


def call(policy: RetryPolicy, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
    """``fn(*args, **kwargs)``, retried on transient failures; the last failure is re-raised as is."""
    for attempt in range(policy.attempts):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if not is_transient(exc) or attempt == policy.attempts - 1:
                raise
            time.sleep(policy.delay_s(attempt, _retry_after_s(exc)))
    raise AssertionError("unreachable: the last attempt returns or raises")


def status_message(exc: ApiException) -> str:
    """The ``message`` of the API server's Status body, or the HTTP reason."""
    try:
        body = json.loads(exc.body or "")
    except (TypeError, ValueError):
        body = None
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return f"{exc.status} {exc.reason}".strip()


def unavailable(exc: BaseException, doing: str, namespace: str) -> ExecutorUnavailable:
    """The one translation of a Kubernetes API failure that ends a run before it could start."""
    if isinstance(exc, ApiException):
        message = status_message(exc)
        if exc.status in (401, 403):
            return ExecutorUnavailable(
                f"Kubernetes refused {doing} in namespace {namespace!r}: {message}",
                suggestion="the server's service account needs create/get/list/delete on jobs, "
                "list/watch on pods and get on pods/log in that namespace (the Helm chart's Role grants them)",
            )
        if exc.status == 422:
            return ExecutorUnavailable(
                f"Kubernetes rejected the runner Job ({doing}): {message}",
                suggestion="check the CSVANALYST_K8S_* settings (image, volume claim, namespace)",
            )
        if exc.status == 404:
            return ExecutorUnavailable(
                f"Kubernetes answered 404 {doing}: {message}",
                suggestion=f"does namespace {namespace!r} exist? set CSVANALYST_K8S_NAMESPACE",
            )
        return ExecutorUnavailable(f"Kubernetes API failed {doing}: {message}")
    return ExecutorUnavailable(
        f"Kubernetes API unreachable {doing}: {type(exc).__name__}: {exc}",
        suggestion="check the cluster is up and the kubeconfig or in-cluster service account is valid",
    )
