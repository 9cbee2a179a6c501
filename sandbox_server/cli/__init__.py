"""``csvanalyst``: the command line. One module per subcommand, each with ``register(subparsers)``.

Exit codes: 0 success, 1 a run that failed or a server error, 2 usage errors and policy
rejections (``check-sql``), as DESIGN.md says.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# The order subcommands appear in ``--help``; each names a module in this package.
SUBCOMMANDS = ("serve", "ask", "sql", "check_sql", "datasets", "runs", "k8s", "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="csvanalyst",
        description="Ask questions about CSV data; every query runs in a fresh sandbox.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"sandbox_server.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"sandbox_server.cli.{name}":
                continue  # not built yet
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
