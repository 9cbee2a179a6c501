"""``csvanalyst sql SQL --dataset ID``: raw SQL through the policy and a fresh sandbox."""

from __future__ import annotations

import argparse

from sandbox_server.cli._runs import add_target_options, run_and_show


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("sql", help="run SQL through the policy in a fresh sandbox")
    p.add_argument("sql", help="one SELECT statement")
    add_target_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return run_and_show(args, "/v1/runs", {"dataset_id": args.dataset, "sql": args.sql})
