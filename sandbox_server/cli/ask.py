"""``csvanalyst ask QUESTION --dataset ID``: a plain-English question, planned, checked and run."""

from __future__ import annotations

import argparse

from sandbox_server.cli._runs import add_target_options, run_and_show


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("ask", help="ask a question in plain English")
    p.add_argument("question")
    add_target_options(p)
    p.add_argument("--thread", default=None, help="continue a conversation thread")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    body = {"dataset_id": args.dataset, "question": args.question}
    if args.thread:
        body["thread_id"] = args.thread
    return run_and_show(args, "/v1/ask", body, with_plan=True)
