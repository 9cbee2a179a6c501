"""``csvanalyst check-sql``: the SQL policy's verdict on a query, without running it.

For people (is my query allowed, and what would run?) and for batch checks (a red-team file of
``{"sql": ...}`` lines gives one verdict line each, in order). Exit 0 when every query is
allowed, 2 when any is rejected or the input is unusable, as DESIGN.md's CLI contract says.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from sandbox_server.cli._common import fail, print_json
from sandbox_server.errors import CsvAnalystError

EXIT_ALLOWED = 0
EXIT_REJECTED = 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "check-sql",
        help="print the SQL policy's verdict on a query as JSON (exit 0 allowed, 2 rejected)",
        description="Check SQL against the policy for a dataset's tables; nothing is executed.",
    )
    parser.add_argument("sql", nargs="?", help="the query to check (omit with --jsonl)")
    parser.add_argument(
        "--dataset", required=True, metavar="ID", help="dataset whose tables the query may read"
    )
    parser.add_argument(
        "--jsonl",
        type=Path,
        metavar="FILE",
        help='check one {"sql": ...} object per line of FILE ("-" for stdin); one verdict line each',
    )
    parser.add_argument("--datasets", type=Path, metavar="DIR", help="directory holding registry.json")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Imported here so other subcommands do not pay for sqlglot and duckdb at start-up.
    from sandbox_server.policy import check_sql
    from sandbox_server.registry import load_registry
    from sandbox_server.settings import Settings

    if (args.sql is None) == (args.jsonl is None):
        print("error: give either SQL or --jsonl FILE (exactly one)", file=sys.stderr)
        return EXIT_REJECTED
    # sqlglot logs a warning for every statement it can only parse as a bare command; the
    # verdict already says so, and stderr stays for real errors.
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    settings = Settings(datasets_dir=args.datasets) if args.datasets else Settings()
    try:
        tables = load_registry(settings.datasets_dir, verify=False).get(args.dataset).table_names
    except CsvAnalystError as exc:
        return fail(exc, exit_code=EXIT_REJECTED)
    limits = {"default_limit": settings.sql_default_limit, "max_limit": settings.sql_max_limit}

    if args.sql is not None:
        verdict = check_sql(args.sql, tables, **limits).to_json()
        print_json(verdict)
        return EXIT_ALLOWED if verdict["allowed"] else EXIT_REJECTED

    try:
        stream: TextIO = sys.stdin if str(args.jsonl) == "-" else args.jsonl.open(encoding="utf-8")
    except OSError as exc:
        print(f"error: cannot read {args.jsonl}: {exc.strerror}", file=sys.stderr)
        return EXIT_REJECTED
    all_allowed = True
    with stream:
        for verdict in _verdicts(stream, tables, limits):
            all_allowed &= bool(verdict["allowed"])
            print(json.dumps(verdict, ensure_ascii=False, separators=(",", ":")))
    return EXIT_ALLOWED if all_allowed else EXIT_REJECTED


def _verdicts(lines: Iterable[str], tables: list[str], limits: dict[str, int]) -> Iterator[dict[str, Any]]:
    """One verdict per non-blank line, in order; a line that is not a query gets a bad_input one."""
    from sandbox_server.policy import check_sql, reject_bad_input

    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue  # blank lines are not records (a trailing newline, spacing between groups)
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield reject_bad_input(f"line {number} is not JSON ({exc.msg})").to_json()
            continue
        sql = record.get("sql") if isinstance(record, dict) else None
        if not isinstance(sql, str):
            yield reject_bad_input(f'line {number} has no "sql" string').to_json()
            continue
        yield check_sql(sql, tables, **limits).to_json()
