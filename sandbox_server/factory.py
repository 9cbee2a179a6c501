"""Building the service from Settings: the one place that chooses store, executor and planner."""

from __future__ import annotations

import logging

from sandbox_server.catalog import Catalog
from sandbox_server.executors import make_executor
from sandbox_server.executors.base import Executor
from sandbox_server.metrics import Metrics
from sandbox_server.planners.base import Planner
from sandbox_server.service import Service
from sandbox_server.settings import Settings
from sandbox_server.store import Store

log = logging.getLogger("csvanalyst.server")


def make_planner(settings: Settings, executor: Executor | None = None) -> Planner:
    """The offline planner, or the LLM planner (falling back to offline) when a model is set.

    Under ``llm_privacy = "rows"`` the LLM's tools may preview up to 5 rows of policy-approved
    SQL, run through ``executor`` (a real sandbox, never in-process).
    """
    from sandbox_server.planners.offline import OfflinePlanner

    offline = OfflinePlanner()
    if not settings.llm_model:
        return offline
    from sandbox_server.executors.base import Limits
    from sandbox_server.planners.llm import LLMPlanner
    from sandbox_server.planners.llm.tools import executor_preview

    preview = None
    if settings.llm_privacy == "rows" and executor is not None:
        preview = executor_preview(executor, Limits.from_settings(settings))
    return LLMPlanner(settings, fallback=offline, preview=preview)


def build_service(
    settings: Settings, *, executor: Executor | None = None, planner: Planner | None = None
) -> Service:
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    store = Store.open(settings)
    catalog = Catalog.open(settings.datasets_dir, store, settings.state_dir)
    metrics = Metrics()
    chosen = executor or make_executor(settings)
    if hasattr(chosen, "queue_depth"):
        metrics.track_queue(lambda: float(chosen.queue_depth))
    return Service(
        settings,
        store=store,
        catalog=catalog,
        executor=chosen,
        planner=planner or make_planner(settings, chosen),
        metrics=metrics,
    )
