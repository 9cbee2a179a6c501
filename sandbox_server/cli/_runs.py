"""What ``ask`` and ``sql`` share: embedded service or a remote server, and printing a run."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from sandbox_server.cli._common import fail, format_table
from sandbox_server.errors import CsvAnalystError


def add_target_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", "-d", required=True, help="dataset id")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--server", default=None, help="URL of a running sandbox server (default: embedded)")
    target.add_argument(
        "--executor",
        choices=["auto", "local", "docker", "kubernetes"],
        default=None,
        help="embedded executor",
    )
    p.add_argument("--token", default=None, help="bearer token for --server (default $CSVANALYST_TOKEN)")
    p.add_argument("--json", action="store_true", help="print the run response (the HTTP body) as JSON")
    p.add_argument("--datasets", default=None, help="directory with registry.json (embedded)")
    p.add_argument("--state", default=None, help="state directory (embedded)")


def call(args: argparse.Namespace, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST ``body`` to ``path`` on a server, or run it on the embedded service."""
    if args.server:
        return _remote(args, path, body)
    from sandbox_server.cli.serve import settings_from
    from sandbox_server.factory import build_service
    from sandbox_server.schemas import AskRequest, RunRequest

    settings = settings_from(args)
    if args.executor is None and "CSVANALYST_EXECUTOR" not in os.environ:
        # The embedded default is the local bubblewrap sandbox; `serve` keeps `auto`.
        settings = settings.model_copy(update={"executor": "local"})
    service = build_service(settings)
    try:
        from sandbox_server.auth import LOCAL_USER

        if path == "/v1/ask":
            return service.ask(LOCAL_USER, AskRequest(**body)).model_dump(mode="json")
        return service.run(LOCAL_USER, RunRequest(**body)).model_dump(mode="json")
    finally:
        service.executor.close()
        service.store.close()


def _remote(args: argparse.Namespace, path: str, body: dict[str, Any]) -> dict[str, Any]:
    from sandbox_server.cli._remote import request

    data: dict[str, Any] = request(args.server, "POST", path, token=args.token, json=body)
    return data


def show(args: argparse.Namespace, response: dict[str, Any], *, with_plan: bool = False) -> int:
    if args.json:
        print(json.dumps(response, indent=2, ensure_ascii=False))
    else:
        print_run(response, with_plan=with_plan)
    return 0 if response["status"] == "succeeded" else 1


def print_run(response: dict[str, Any], *, with_plan: bool = False) -> None:
    if with_plan and response.get("plan"):
        print("plan:")
        print("  " + json.dumps(response["plan"], ensure_ascii=False))
    if response.get("sql"):
        print("sql:")
        print("  " + response["sql"].replace("\n", "\n  "))
    result = response.get("result") or {}
    if response["status"] == "succeeded":
        print(format_table([c["name"] for c in result["columns"]], result["rows"]))
        more = " (truncated)" if result.get("truncated") else ""
        print(f"({result['row_count']} row{'s' if result['row_count'] != 1 else ''}{more})")
    else:
        err = response.get("error") or {}
        print(f"{response['status']}: {err.get('code')}: {err.get('message')}")
        if err.get("suggestion"):
            print(f"hint: {err['suggestion']}")
    print(f"run_id: {response['run_id']}")


def run_and_show(
    args: argparse.Namespace, path: str, body: dict[str, Any], *, with_plan: bool = False
) -> int:
    try:
        response = call(args, path, body)
    except CsvAnalystError as exc:
        return fail(exc)
    return show(args, response, with_plan=with_plan)
