"""``csvanalyst serve``: the sandbox server over HTTP."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sandbox_server.errors import CsvAnalystError

if TYPE_CHECKING:
    from sandbox_server.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("serve", help="run the sandbox server (HTTP API)")
    p.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default 8765)")
    p.add_argument("--executor", choices=["auto", "local", "docker", "kubernetes"], default=None)
    p.add_argument("--datasets", type=Path, default=None, help="directory with registry.json")
    p.add_argument("--state", type=Path, default=None, help="state directory (capsules, uploads)")
    p.set_defaults(func=run)


def settings_from(args: argparse.Namespace) -> Settings:
    from sandbox_server.settings import Settings

    overrides = {
        key: value
        for key, value in {
            "host": getattr(args, "host", None),
            "port": getattr(args, "port", None),
            "executor": getattr(args, "executor", None),
            "datasets_dir": getattr(args, "datasets", None),
            "state_dir": getattr(args, "state", None),
        }.items()
        if value is not None
    }
    return Settings(**overrides)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from sandbox_server.api import create_app
    from sandbox_server.auth import auth_mode, is_loopback
    from sandbox_server.cli._common import fail
    from sandbox_server.factory import build_service
    from sandbox_server.logs import configure

    settings = settings_from(args)
    configure(settings.log_level)
    mode = auth_mode(settings)
    if mode == "none":
        if not is_loopback(settings.host):
            print(
                f"error: refusing to serve on {settings.host} without authentication.\n"
                'hint: set CSVANALYST_TOKENS=\'{"<token>": "<user>"}\' or CSVANALYST_AUTH_MODE=jupyterhub, '
                "or bind 127.0.0.1",
                file=sys.stderr,
            )
            return 2
        print(
            f"csvanalyst: single-user mode without authentication on {settings.host} (loopback only)",
            file=sys.stderr,
        )
    try:
        service = build_service(settings)
    except CsvAnalystError as exc:
        return fail(exc)
    print(
        f"csvanalyst: serving on http://{settings.host}:{settings.port} "
        f"(executor {service.executor.name}, auth {mode}, state {settings.state_dir})",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(
        create_app(service),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
    )
    return 0
