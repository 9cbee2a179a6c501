"""Datasets: the registry models, the version hash, and loading ``registry.json`` safely.

``datasets/registry.json`` describes every demo dataset: tables with typed, described columns
(and per-column profiles: distinct values of low-cardinality text columns, min/max), foreign-key
relationships, named measures (the semantic layer) and demo prompts. Loading it checks it
against the files on disk, so a stale registry is a clear error, never a wrong answer.

Depends on pydantic only (the notebook side renders schemas with these models).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sandbox_server.errors import DatasetInvalid, DatasetNotFound
from sandbox_server.plan import Aggregate

ColumnType = Literal["BIGINT", "DOUBLE", "VARCHAR", "DATE", "TIMESTAMP", "BOOLEAN"]
NUMERIC_TYPES: frozenset[str] = frozenset({"BIGINT", "DOUBLE"})
TEMPORAL_TYPES: frozenset[str] = frozenset({"DATE", "TIMESTAMP"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnProfile(_Model):
    """What the planner may know about a column's data without reading rows at question time."""

    distinct_count: int | None = None
    null_count: int = 0
    values: list[str] | None = Field(None, description="All distinct values, for low-cardinality text")
    min: str | float | int | None = None
    max: str | float | int | None = None


class ColumnInfo(_Model):
    name: str
    type: ColumnType
    description: str = ""
    synonyms: list[str] = Field(default_factory=list)
    nullable: bool = False
    profile: ColumnProfile = Field(default_factory=ColumnProfile)

    @property
    def is_numeric(self) -> bool:
        return self.type in NUMERIC_TYPES

    @property
    def is_temporal(self) -> bool:
        return self.type in TEMPORAL_TYPES


class TableInfo(_Model):
    name: str
    file: str = Field(description="CSV file name inside the dataset's directory")
    description: str = ""
    synonyms: list[str] = Field(default_factory=list)
    primary_key: str | None = None
    row_count: int | None = None
    columns: list[ColumnInfo]

    def column(self, name: str) -> ColumnInfo | None:
        return next((c for c in self.columns if c.name == name), None)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


class Relationship(_Model):
    """A foreign key: ``from_`` (``"order_items.order_id"``) references ``to`` (``"orders.order_id"``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: str = Field(alias="from")
    to: str

    @property
    def tables(self) -> tuple[str, str]:
        return self.from_.split(".", 1)[0], self.to.split(".", 1)[0]


class Measure(_Model):
    """A named measure (``revenue``): an aggregate over one table, defined once in the registry."""

    name: str
    description: str = ""
    synonyms: list[str] = Field(default_factory=list)
    table: str
    aggregate: Aggregate
    format: Literal["number", "currency", "percent"] = "number"


class Dataset(_Model):
    id: str
    name: str = ""
    description: str = ""
    version_hash: str
    tables: list[TableInfo]
    relationships: list[Relationship] = Field(default_factory=list)
    measures: list[Measure] = Field(default_factory=list)
    prompts: list[str] = Field(default_factory=list)
    owner: str | None = Field(None, description="None for demo datasets (visible to all)")
    directory: Path | None = Field(None, exclude=True, description="Where the CSV files are")

    def table(self, name: str) -> TableInfo | None:
        return next((t for t in self.tables if t.name == name), None)

    @property
    def table_names(self) -> list[str]:
        return [t.name for t in self.tables]

    def measure(self, name: str) -> Measure | None:
        return next((m for m in self.measures if m.name == name), None)

    def file_paths(self) -> dict[str, Path]:
        if self.directory is None:
            raise DatasetInvalid(f"dataset {self.id!r} has no directory")
        return {t.name: self.directory / t.file for t in self.tables}


class Registry(_Model):
    datasets: list[Dataset]

    def get(self, dataset_id: str) -> Dataset:
        for d in self.datasets:
            if d.id == dataset_id:
                return d
        raise DatasetNotFound(
            f"dataset {dataset_id!r} does not exist",
            suggestion="known datasets: " + ", ".join(sorted(d.id for d in self.datasets)),
        )


def version_hash(files: Iterable[tuple[str, Path]]) -> str:
    """SHA-256 over a dataset's CSV files, in table-name order, each prefixed by its table name.

    Any change to any byte of any file (or a renamed table) gives a new version.
    """
    digest = hashlib.sha256()
    for name, path in sorted(files):
        digest.update(name.encode() + b"\0")
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()


def read_header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as fh:
        return next(csv.reader(fh), [])


def check_dataset(dataset: Dataset) -> None:
    """The dataset's files exist, their headers match the schema, and their hash matches."""
    paths = dataset.file_paths()
    for table in dataset.tables:
        path = paths[table.name]
        if not path.is_file():
            raise DatasetInvalid(
                f"dataset {dataset.id!r}: file {path} for table {table.name!r} is missing",
                suggestion="regenerate the demo data: python datasets/generate.py",
            )
        header = read_header(path)
        if header != table.column_names:
            raise DatasetInvalid(
                f"dataset {dataset.id!r}: {path} has header {header}, the registry says {table.column_names}",
                suggestion="regenerate the demo data: python datasets/generate.py",
            )
    actual = version_hash(paths.items())
    if actual != dataset.version_hash:
        raise DatasetInvalid(
            f"dataset {dataset.id!r}: files {', '.join(sorted(p.name for p in paths.values()))} "
            f"in {dataset.directory} hash to {actual[:12]}…, "
            f"registry.json says {dataset.version_hash[:12]}… (a file was changed after generation)",
            suggestion="regenerate the demo data: python datasets/generate.py",
        )


def load_registry(datasets_dir: Path, *, verify: bool = True) -> Registry:
    """Load ``<datasets_dir>/registry.json``, bind each dataset to ``<datasets_dir>/<id>/``, and
    (``verify``) check it against the files."""
    path = datasets_dir / "registry.json"
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DatasetInvalid(
            f"no registry at {path}", suggestion="generate it: python datasets/generate.py"
        ) from exc
    except json.JSONDecodeError as exc:
        raise DatasetInvalid(f"{path} is not valid JSON: {exc}") from exc
    try:
        registry = Registry.model_validate(raw)
    except ValidationError as exc:
        raise DatasetInvalid(f"{path} does not match the registry schema: {exc}") from exc
    bound = Registry(
        datasets=[d.model_copy(update={"directory": datasets_dir / d.id}) for d in registry.datasets]
    )
    if verify:
        for dataset in bound.datasets:
            check_dataset(dataset)
    return bound
