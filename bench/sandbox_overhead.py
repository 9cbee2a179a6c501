"""What a fresh sandbox costs, as ratios against in-process DuckDB measured in the same run.

    .venv/bin/python bench/sandbox_overhead.py [--runs 20] [--executors local,docker]

Timings on a shared machine are noisy: only the ratios of one run mean much. Not a test.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sandbox_server.errors import CsvAnalystError
from sandbox_server.executors import make_executor
from sandbox_server.executors.base import Limits, RunSpec
from sandbox_server.executors.inprocess import InProcessExecutor
from sandbox_server.policy import Allow, check_sql
from sandbox_server.registry import load_registry
from sandbox_server.settings import Settings

SQL = "SELECT status, count(*) AS n, sum(total) AS revenue FROM orders GROUP BY status"


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    fn()  # warm-up
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--executors", default="local,docker")
    args = parser.parse_args()
    settings = Settings(datasets_dir=Path(__file__).resolve().parents[1] / "datasets")
    dataset = load_registry(settings.datasets_dir).get("ecommerce")
    verdict = check_sql(SQL, dataset.table_names)
    assert isinstance(verdict, Allow)

    def spec() -> RunSpec:
        return RunSpec(uuid.uuid4().hex, dataset, verdict.sql, Limits.from_settings(settings))

    baseline_exec = InProcessExecutor()
    results = {"in-process (baseline)": timed(lambda: baseline_exec.run(spec()), args.runs)}
    results["policy check only"] = timed(lambda: check_sql(SQL, dataset.table_names), args.runs)
    for name in args.executors.split(","):
        try:
            executor = make_executor(settings, name)
            executor.check()
        except CsvAnalystError as exc:
            print(f"{name}: skipped ({exc.message})")
            continue
        results[f"{name} sandbox"] = timed(lambda e=executor: e.run(spec()), args.runs)  # type: ignore[misc]
    base = p50(results["in-process (baseline)"])
    print(f"{'path':<24} {'p50 ms':>8} {'ratio':>8}")
    for name, samples in results.items():
        print(f"{name:<24} {p50(samples):8.1f} {p50(samples) / base:8.1f}x")


if __name__ == "__main__":
    main()
