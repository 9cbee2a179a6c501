"""``csvanalyst datasets list|show ID|add PATH... [--name NAME]``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sandbox_server.cli._common import fail, print_json
from sandbox_server.errors import CsvAnalystError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("datasets", help="list, show and add datasets")
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--server", default=None, help="URL of a running sandbox server (default: local state)"
    )
    common.add_argument("--token", default=None)
    common.add_argument("--datasets", default=None, help="directory with registry.json")
    common.add_argument("--state", default=None, help="state directory")
    common.add_argument("--json", action="store_true")
    sub.add_parser("list", parents=[common], help="datasets you can query").set_defaults(func=list_)
    show = sub.add_parser("show", parents=[common], help="a dataset's schema")
    show.add_argument("id")
    show.set_defaults(func=show_)
    add = sub.add_parser("add", parents=[common], help="upload CSV files as a new dataset")
    add.add_argument("paths", nargs="+", type=Path)
    add.add_argument("--name", default=None, help="dataset name (default: the first file's name)")
    add.set_defaults(func=add_)


def _local(args: argparse.Namespace):
    from sandbox_server.catalog import Catalog
    from sandbox_server.cli.serve import settings_from
    from sandbox_server.store import Store

    settings = settings_from(args)
    store = Store.open(settings)
    return settings, Catalog.open(settings.datasets_dir, store, settings.state_dir)


def list_(args: argparse.Namespace) -> int:
    from sandbox_server.api.routes import summary
    from sandbox_server.auth import LOCAL_USER
    from sandbox_server.cli._remote import request

    try:
        if args.server:
            items: list[dict[str, Any]] = request(args.server, "GET", "/v1/datasets", token=args.token)
        else:
            _, catalog = _local(args)
            items = [summary(d).model_dump(mode="json") for d in catalog.list(LOCAL_USER)]
    except CsvAnalystError as exc:
        return fail(exc)
    if args.json:
        print_json(items)
        return 0
    for d in items:
        print(f"{d['id']:<28} {', '.join(d['tables']):<40} {d['description'][:60]}")
    return 0


def show_(args: argparse.Namespace) -> int:
    from sandbox_server.api.routes import detail
    from sandbox_server.auth import LOCAL_USER
    from sandbox_server.cli._remote import request

    try:
        if args.server:
            info = request(args.server, "GET", f"/v1/datasets/{args.id}", token=args.token)
        else:
            _, catalog = _local(args)
            info = detail(catalog.get(args.id, LOCAL_USER)).model_dump(mode="json")
    except CsvAnalystError as exc:
        return fail(exc)
    if args.json:
        print_json(info)
        return 0
    print(f"{info['id']}: {info['description']}  (version {info['version_hash'][:12]})")
    for t in info["tables"]:
        print(f"\n  {t['name']} ({t.get('row_count') or '?'} rows) {t['description']}")
        for c in t["columns"]:
            print(f"    {c['name']:<16} {c['type']:<10} {c['description']}")
    if info.get("prompts"):
        print("\n  try:")
        for prompt in info["prompts"]:
            print(f"    - {prompt}")
    return 0


def add_(args: argparse.Namespace) -> int:
    from sandbox_server.auth import LOCAL_USER
    from sandbox_server.cli._remote import request
    from sandbox_server.errors import DatasetInvalid
    from sandbox_server.uploads import ingest

    name = args.name or args.paths[0].stem
    try:
        missing = [str(p) for p in args.paths if not p.is_file()]
        if missing:
            raise DatasetInvalid(f"no such file: {', '.join(missing)}")
        files = [(p.name, p.read_bytes()) for p in args.paths]
        if args.server:
            info = request(
                args.server,
                "POST",
                "/v1/datasets",
                token=args.token,
                data={"name": name},
                files=[("files", (f, data, "text/csv")) for f, data in files],
            )
        else:
            settings, catalog = _local(args)
            dataset = ingest(
                files,
                name=name,
                owner=LOCAL_USER,
                store=catalog.store,
                uploads_dir=catalog.uploads_dir,
                max_bytes=settings.upload_max_bytes,
            )
            info = {"id": dataset.id, "tables": dataset.table_names, "version_hash": dataset.version_hash}
    except CsvAnalystError as exc:
        return fail(exc)
    if args.json:
        print_json(info)
    else:
        print(f"added dataset {info['id']} (tables: {', '.join(info['tables'])})")
    return 0
