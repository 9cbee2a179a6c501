"""``csvanalyst k8s render-job``: the Job manifest the Kubernetes executor would submit, as YAML.

For reviewing what a run gets (security context, limits, volumes) and for applying a run by
hand with ``kubectl apply -f -`` when debugging a cluster. The SQL goes through the policy
first, so the manifest holds the SQL that would really run (LIMIT added); a rejected query is
reported as ``check-sql`` would, and no manifest is printed.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path

from sandbox_server.cli._common import fail
from sandbox_server.errors import CsvAnalystError


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser("k8s", help="Kubernetes helpers")
    commands = group.add_subparsers(dest="k8s_command", required=True, metavar="K8S_COMMAND")
    p = commands.add_parser(
        "render-job",
        help="print the Job manifest (YAML) the kubernetes executor would submit for a query",
        description="Print the batch/v1 Job the kubernetes executor would create to run SQL on a dataset. "
        "Settings (image, namespace, volume claim, limits) come from the CSVANALYST_* environment.",
    )
    p.add_argument("--dataset", required=True, metavar="ID", help="dataset id, e.g. ecommerce")
    p.add_argument("--sql", required=True, help="one SELECT statement (checked by the SQL policy first)")
    p.add_argument(
        "--datasets", type=Path, metavar="DIR", help="directory with registry.json (default: settings)"
    )
    p.add_argument("--run-id", help="run id to label the Job with (default: a new one)")
    p.set_defaults(func=render_job)


def render_job(args: argparse.Namespace) -> int:
    # Imported here: the kubernetes client is slow to import and only this subcommand needs it.
    import yaml

    from sandbox_server.executors.base import Limits, RunSpec
    from sandbox_server.executors.k8s.manifest import build_job, job_manifest
    from sandbox_server.policy import Allow, check_sql
    from sandbox_server.registry import load_registry
    from sandbox_server.settings import Settings

    settings = Settings(**({"datasets_dir": args.datasets} if args.datasets else {}))
    try:
        dataset = load_registry(settings.datasets_dir).get(args.dataset)
        verdict = check_sql(
            args.sql,
            dataset.table_names,
            default_limit=settings.sql_default_limit,
            max_limit=settings.sql_max_limit,
        )
        if not isinstance(verdict, Allow):
            # The policy's message already says how to fix the query.
            print(f"error: SQL_POLICY_VIOLATION: {verdict.message}", file=sys.stderr)
            return 2
        spec = RunSpec(
            run_id=args.run_id or uuid.uuid4().hex,
            dataset=dataset,
            sql=verdict.sql,
            limits=Limits.from_settings(settings),
        )
        manifest = job_manifest(build_job(spec, settings))
    except CsvAnalystError as exc:
        return fail(exc)
    sys.stdout.write(yaml.safe_dump(manifest, sort_keys=False, width=100))
    return 0
