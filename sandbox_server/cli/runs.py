"""``csvanalyst runs show RUN_ID`` and ``csvanalyst runs list [--dataset ID]``."""

from __future__ import annotations

import argparse
from typing import Any

from sandbox_server.cli._common import fail, print_json
from sandbox_server.errors import CsvAnalystError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("runs", help="run capsules")
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--server", default=None)
    common.add_argument("--token", default=None)
    common.add_argument("--state", default=None)
    common.add_argument("--datasets", default=None)
    show = sub.add_parser("show", parents=[common], help="print a run's capsule (JSON)")
    show.add_argument("run_id")
    show.set_defaults(func=show_)
    lst = sub.add_parser("list", parents=[common], help="recent runs, newest first")
    lst.add_argument("--dataset", default=None)
    lst.add_argument("--limit", type=int, default=20)
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=list_)


def _store(args: argparse.Namespace):
    from sandbox_server.cli.serve import settings_from
    from sandbox_server.store import Store

    settings = settings_from(args)
    return Store.open(settings)


def show_(args: argparse.Namespace) -> int:
    from sandbox_server.auth import LOCAL_USER
    from sandbox_server.cli._remote import request
    from sandbox_server.service import owned_capsule

    try:
        if args.server:
            capsule: dict[str, Any] = request(args.server, "GET", f"/v1/runs/{args.run_id}", token=args.token)
        else:
            capsule = owned_capsule(_store(args), LOCAL_USER, args.run_id).model_dump(mode="json")
    except CsvAnalystError as exc:
        return fail(exc)
    print_json(capsule)
    return 0


def list_(args: argparse.Namespace) -> int:
    from sandbox_server.auth import LOCAL_USER
    from sandbox_server.cli._remote import request

    try:
        if args.server:
            query = f"?limit={args.limit}" + (f"&dataset_id={args.dataset}" if args.dataset else "")
            items: list[dict[str, Any]] = request(args.server, "GET", f"/v1/runs{query}", token=args.token)
        else:
            items = [
                c.model_dump(mode="json")
                for c in _store(args).list_capsules(
                    user=LOCAL_USER, dataset_id=args.dataset, limit=args.limit
                )
            ]
    except CsvAnalystError as exc:
        return fail(exc)
    if args.json:
        print_json(items)
        return 0
    for c in items:
        what = (c.get("question") or c.get("compiled_sql") or "").replace("\n", " ")[:60]
        print(f"{c['run_id']}  {c['created_at']}  {c['dataset_id']:<12} {c['status']:<9} {what}")
    return 0
