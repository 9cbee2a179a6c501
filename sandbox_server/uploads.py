"""Turning uploaded CSV files into a registered dataset, all or nothing.

    files ─► check (size, empty, UTF-8, header, field counts) ─► sniff types (DuckDB)
          ─► canonical CSVs in a staging dir ─► version hash ─► <uploads>/<hash>/ ─► store

The server reads uploads with DuckDB in-process only to sniff and normalise them (never to answer
a question): the canonical CSV it writes has one date/timestamp format and the declared types,
so the runner can read it with explicit types. Identical content gives the identical version
(the directory is content-addressed), and a failure at any step leaves nothing registered.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from sandbox_server.errors import DatasetInvalid
from sandbox_server.planners.offline.explain import schema_questions
from sandbox_server.registry import ColumnInfo, ColumnProfile, ColumnType, Dataset, TableInfo, version_hash
from sandbox_server.store import Store

MAX_VALUES_INDEXED = 50

_TYPE_MAP: dict[str, ColumnType] = {
    "BOOLEAN": "BOOLEAN",
    "DATE": "DATE",
    "DOUBLE": "DOUBLE",
    "FLOAT": "DOUBLE",
    "REAL": "DOUBLE",
}
_INTEGER = re.compile(r"^(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|U?HUGEINT)$")


def column_type(duckdb_type: str) -> ColumnType:
    t = duckdb_type.upper()
    if _INTEGER.match(t):
        return "BIGINT"
    if t.startswith("DECIMAL"):
        return "DOUBLE"
    if t.startswith("TIMESTAMP"):
        return "TIMESTAMP"
    return _TYPE_MAP.get(t, "VARCHAR")


def table_name(filename: str) -> str:
    """``"Sales 2025.csv"`` → ``"sales_2025"``: an identifier users can type."""
    stem = Path(filename).name.rsplit(".", 1)[0] if "." in Path(filename).name else Path(filename).name
    name = re.sub(r"[^0-9a-zA-Z]+", "_", stem).strip("_").lower()
    if not name:
        raise DatasetInvalid(
            f"file {filename!r}: cannot make a table name from it", suggestion="rename the file"
        )
    return name if name[0].isalpha() else f"t_{name}"


def slug(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "-", name.lower()).strip("-")[:40] or "dataset"


def _check_text(filename: str, data: bytes) -> str:
    if not data.strip():
        raise DatasetInvalid(
            f"file {filename!r} is empty", suggestion="upload a CSV with a header row and data"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DatasetInvalid(
            f"file {filename!r} line {line}: not UTF-8 (byte 0x{data[exc.start]:02x})",
            suggestion="save the file as UTF-8 (e.g. pandas: df.to_csv(path, encoding='utf-8'))",
            file=filename,
            line=line,
        ) from exc
    if "\x00" in text:
        raise DatasetInvalid(f"file {filename!r} contains NUL bytes: not a text CSV", file=filename)
    return text


def _check_shape(filename: str, text: str) -> list[str]:
    """Header present, column names unique and non-empty, every row with the header's field count."""
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = [h.strip() for h in next(reader)]
        if any(not h for h in header):
            raise DatasetInvalid(
                f"file {filename!r} line 1: the header has an empty column name ({header})",
                suggestion="name every column in the first row",
            )
        seen: dict[str, str] = {}
        for h in header:
            if h.lower() in seen:
                raise DatasetInvalid(
                    f"file {filename!r} line 1: duplicate column name {h!r}",
                    suggestion="give every column a distinct name",
                )
            seen[h.lower()] = h
        rows = 0
        for row in reader:
            if not row:
                continue
            rows += 1
            if len(row) != len(header):
                raise DatasetInvalid(
                    f"file {filename!r} line {reader.line_num}: {len(row)} fields, the header has {len(header)}",
                    suggestion="check quoting and delimiters on that line",
                    file=filename,
                    line=reader.line_num,
                )
    except csv.Error as exc:
        raise DatasetInvalid(f"file {filename!r} line {reader.line_num}: {exc}", file=filename) from exc
    if rows == 0:
        raise DatasetInvalid(
            f"file {filename!r} has a header but no rows", suggestion="upload a CSV with data"
        )
    return header


def _profile(con: duckdb.DuckDBPyConnection, table: str, column: str, ctype: ColumnType) -> ColumnProfile:
    q = f'"{column}"'
    distinct, nulls, lo, hi = con.execute(
        f"SELECT count(DISTINCT {q}), count(*) - count({q}), min({q}), max({q}) FROM {table}"
    ).fetchone()  # type: ignore[misc]
    values = None
    if ctype == "VARCHAR" and distinct <= MAX_VALUES_INDEXED:
        values = [
            r[0]
            for r in con.execute(
                f"SELECT DISTINCT {q} FROM {table} WHERE {q} IS NOT NULL ORDER BY 1"
            ).fetchall()
        ]

    def scalar(v: Any) -> str | float | int | None:
        if v is None or (isinstance(v, int | float) and not isinstance(v, bool)):
            return v
        return str(v)  # dates and timestamps print as ISO (2025-01-03, 2025-01-03 10:00:00)

    return ColumnProfile(
        distinct_count=distinct,
        null_count=nulls,
        values=values,
        min=None if ctype in ("VARCHAR", "BOOLEAN") else scalar(lo),
        max=None if ctype in ("VARCHAR", "BOOLEAN") else scalar(hi),
    )


def ingest(
    files: Sequence[tuple[str, bytes]],
    *,
    name: str,
    owner: str | None,
    store: Store,
    uploads_dir: Path,
    max_bytes: int,
) -> Dataset:
    if not files:
        raise DatasetInvalid("no files uploaded", suggestion="send one or more CSV files in 'files' parts")
    name = name.strip()
    if not name:
        raise DatasetInvalid("the dataset needs a name", suggestion="send a non-empty 'name' field")
    total = sum(len(data) for _, data in files)
    if total > max_bytes:
        raise DatasetInvalid(
            f"upload is {total:,} bytes, the limit is {max_bytes:,}",
            suggestion="upload fewer or smaller files, or raise CSVANALYST_UPLOAD_MAX_BYTES",
        )
    names = [table_name(f) for f, _ in files]
    if len(set(names)) != len(names):
        raise DatasetInvalid(f"two files give the same table name: {names}", suggestion="rename one of them")

    uploads_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=uploads_dir))
    try:
        tables = [
            _ingest_file(filename, data, table, staging)
            for (filename, data), table in zip(files, names, strict=True)
        ]
        digest = version_hash((t.name, staging / t.file) for t in tables)
        final = uploads_dir / digest
        if final.exists():
            shutil.rmtree(staging)
        else:
            # mkdtemp makes the directory 0700; the sandbox reads it as an unprivileged uid.
            staging.chmod(0o755)
            for path in staging.iterdir():
                path.chmod(0o644)
            staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    dataset = Dataset(
        id=f"{slug(name)}-{digest[:10]}",
        name=name,
        description=f"Uploaded: {', '.join(f for f, _ in files)}",
        version_hash=digest,
        tables=tables,
        prompts=schema_questions(tables)[:6],
        owner=owner,
    )
    store.put_dataset(owner=owner, dataset_id=dataset.id, version_hash=digest, body=dataset.model_dump_json())
    return dataset.model_copy(update={"directory": final})


def _ingest_file(filename: str, data: bytes, table: str, staging: Path) -> TableInfo:
    text = _check_text(filename, data)
    header = _check_shape(filename, text)
    raw = staging / f".{table}.raw.csv"
    raw.write_text(text, encoding="utf-8")
    con = duckdb.connect(":memory:", config={"threads": 1})
    try:
        con.execute(
            "CREATE TABLE src AS SELECT * FROM read_csv(?, header = true, auto_detect = true, strict_mode = true,"
            " sample_size = -1)",
            [str(raw)],
        )
        described = con.execute("DESCRIBE src").fetchall()
        if [r[0] for r in described] != header:
            raise DatasetInvalid(f"file {filename!r}: could not read the header as CSV ({header})")
        types = {r[0]: column_type(r[1]) for r in described}
        casts = ", ".join(f'CAST("{c}" AS {types[c]}) AS "{c}"' for c in header)
        con.execute(f"CREATE TABLE t AS SELECT {casts} FROM src")
        out = staging / f"{table}.csv"
        con.execute(
            f"COPY t TO '{out}' (HEADER, DELIMITER ',', DATEFORMAT '%Y-%m-%d', TIMESTAMPFORMAT '%Y-%m-%d %H:%M:%S')"
        )
        row_count = con.execute("SELECT count(*) FROM t").fetchone()[0]  # type: ignore[index]
        columns = []
        for c in header:
            profile = _profile(con, "t", c, types[c])
            columns.append(
                ColumnInfo(
                    name=c, type=types[c], description="", nullable=profile.null_count > 0, profile=profile
                )
            )
    except duckdb.Error as exc:
        raise DatasetInvalid(f"file {filename!r}: {str(exc).splitlines()[0]}", file=filename) from exc
    finally:
        con.close()
        raw.unlink(missing_ok=True)
    return TableInfo(
        name=table, file=f"{table}.csv", description=f"from {filename}", row_count=row_count, columns=columns
    )
