"""Work off the kernel's main thread: requests run in a small thread pool, the caller waits
with periodic ticks (to redraw "running… 3.2 s") or not at all (the ChatPanel).

Threads, not asyncio: the kernel's event loop belongs to ipykernel, the client is a plain
thread-safe ``httpx.Client``, and a blocking call in a worker thread keeps the kernel free to
handle widget messages and interrupts.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

TICK_INTERVAL_S = 0.5
FIRST_TICK_S = 0.4  # fast answers never show a "running" state at all

_pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="csvanalyst")


def submit(fn: Callable[..., T], *args: Any, **kwargs: Any) -> concurrent.futures.Future[T]:
    return _pool.submit(fn, *args, **kwargs)


def wait(
    future: concurrent.futures.Future[T],
    on_tick: Callable[[float], None] | None = None,
    *,
    interval_s: float = TICK_INTERVAL_S,
    first_tick_s: float = FIRST_TICK_S,
) -> T:
    """The future's result (its exception re-raised), calling ``on_tick(elapsed_s)`` while waiting."""
    started = time.monotonic()
    timeout = first_tick_s
    while True:
        try:
            return future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            if on_tick is not None:
                on_tick(time.monotonic() - started)
            timeout = interval_s
