"""Prometheus metrics at /metrics: runs by status and error code, stage latencies, queue depth.

Each app gets its own CollectorRegistry so tests (and several apps in one process) never clash.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from sandbox_server.schemas import Capsule

_STAGE_BUCKETS_S = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.runs = Counter(
            "csvanalyst_runs",
            "Runs by final status and error code",
            ["status", "code"],
            registry=self.registry,
        )
        self.stage = Histogram(
            "csvanalyst_stage_seconds",
            "Latency of each pipeline stage",
            ["stage"],
            buckets=_STAGE_BUCKETS_S,
            registry=self.registry,
        )
        self.policy_verdicts = Counter(
            "csvanalyst_policy_verdicts",
            "SQL policy verdicts by rule",
            ["allowed", "rule"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "csvanalyst_queue_depth", "Runs waiting for a sandbox slot", registry=self.registry
        )

    def run(self, capsule: Capsule) -> None:
        self.runs.labels(status=capsule.status, code=capsule.error_code or "").inc()
        for stage, ms in capsule.timings_ms.items():
            self.stage.labels(stage=stage).observe(ms / 1000)

    def policy(self, *, allowed: bool, rule: str | None) -> None:
        self.policy_verdicts.labels(allowed=str(allowed).lower(), rule=rule or "").inc()

    def track_queue(self, depth: Callable[[], float]) -> None:
        self.queue_depth.set_function(depth)

    def render(self) -> bytes:
        return generate_latest(self.registry)
