"""``csvanalyst demo``: the main job on the embedded default — every demo prompt of every demo
dataset, answered by the offline planner in the local sandbox, printing plan, SQL, table and run_id."""

from __future__ import annotations

import argparse
import sys

from sandbox_server.cli._common import fail
from sandbox_server.errors import CsvAnalystError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("demo", help="answer the demo questions of every demo dataset")
    p.add_argument("--dataset", "-d", action="append", default=None, help="only this dataset (repeatable)")
    p.add_argument("--executor", choices=["auto", "local", "docker", "kubernetes"], default="local")
    p.add_argument("--datasets", default=None)
    p.add_argument("--state", default=None)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sandbox_server.auth import LOCAL_USER
    from sandbox_server.cli._runs import print_run
    from sandbox_server.cli.serve import settings_from
    from sandbox_server.factory import build_service
    from sandbox_server.schemas import AskRequest

    try:
        service = build_service(settings_from(args))
    except CsvAnalystError as exc:
        return fail(exc)
    failures = 0
    try:
        for dataset in service.catalog.registry.datasets:
            if args.dataset and dataset.id not in args.dataset:
                continue
            print(f"\n{'=' * 100}\n{dataset.id}: {dataset.description}\n{'=' * 100}")
            for prompt in dataset.prompts:
                print(f"\n>>> {prompt}")
                response = service.ask(LOCAL_USER, AskRequest(dataset_id=dataset.id, question=prompt))
                print_run(response.model_dump(mode="json"), with_plan=True)
                failures += response.status != "succeeded"
    finally:
        service.executor.close()
        service.store.close()
    print(
        f"\n{'all' if not failures else 'not all'} demo questions answered ({failures} failed)",
        file=sys.stderr,
    )
    return 1 if failures else 0
