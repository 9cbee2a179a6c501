"""Loading ``registry.json``: the committed demo data loads, and every way the files can go
stale or broken is a ``DatasetInvalid`` that names the file to look at (never a wrong answer).

Each broken case works on a copy of the datasets in ``tmp_path``."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from sandbox_server.errors import DatasetInvalid, DatasetNotFound
from sandbox_server.registry import Registry, load_registry

REPO_ROOT = Path(__file__).resolve().parents[2]
DATASETS_DIR = REPO_ROOT / "datasets"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The committed datasets (CSV files and registry.json, not the generator) in a tmp dir."""
    target = tmp_path / "datasets"
    shutil.copytree(DATASETS_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


def test_committed_registry_loads() -> None:
    registry = load_registry(DATASETS_DIR)
    assert isinstance(registry, Registry)
    assert sorted(d.id for d in registry.datasets) == ["ecommerce", "sensors", "support"]
    for dataset in registry.datasets:
        assert dataset.directory == DATASETS_DIR / dataset.id
        assert all(path.is_file() for path in dataset.file_paths().values())
        assert dataset.owner is None, "demo datasets are visible to all"


def test_copy_loads_and_binds_to_its_own_directory(copy: Path) -> None:
    registry = load_registry(copy)
    assert registry.get("sensors").file_paths() == {"sensors": copy / "sensors" / "sensors.csv"}


def test_unknown_dataset_is_not_found() -> None:
    with pytest.raises(DatasetNotFound, match="nope") as info:
        load_registry(DATASETS_DIR).get("nope")
    assert info.value.suggestion is not None and "ecommerce" in info.value.suggestion


def _delete_file(root: Path) -> None:
    (root / "support" / "tickets.csv").unlink()


def _rename_header_column(root: Path) -> None:
    path = root / "ecommerce" / "orders.csv"
    header, rest = path.read_text(encoding="utf-8").split("\n", 1)
    path.write_text(header.replace("total", "amount") + "\n" + rest, encoding="utf-8")


def _change_one_byte(root: Path) -> None:
    path = root / "sensors" / "sensors.csv"
    data = bytearray(path.read_bytes())
    # The last reading's humidity, last digit: same shape, different data.
    position = data.rstrip(b"\n").rfind(b",") - 1
    data[position] = ord("0") if data[position] != ord("0") else ord("1")
    path.write_bytes(bytes(data))


def _invalid_json(root: Path) -> None:
    path = root / "registry.json"
    path.write_text(path.read_text(encoding="utf-8")[:-20], encoding="utf-8")


def _wrong_schema(root: Path) -> None:
    path = root / "registry.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw["datasets"][0]["tables"][0]["columns"][0]["type"] = "INTEGER"
    path.write_text(json.dumps(raw), encoding="utf-8")


def _delete_registry(root: Path) -> None:
    (root / "registry.json").unlink()


@pytest.mark.parametrize(
    ("breakage", "named"),
    [
        (_delete_file, "tickets.csv"),
        (_rename_header_column, "orders.csv"),
        (_change_one_byte, "sensors.csv"),
        (_invalid_json, "registry.json"),
        (_wrong_schema, "registry.json"),
        (_delete_registry, "registry.json"),
    ],
    ids=["missing-file", "wrong-header", "changed-byte", "invalid-json", "wrong-schema", "missing-registry"],
)
def test_broken_datasets_are_invalid_and_name_the_file(
    copy: Path, breakage: Callable[[Path], None], named: str
) -> None:
    breakage(copy)
    with pytest.raises(DatasetInvalid) as info:
        load_registry(copy)
    error = info.value
    assert error.code == "DATASET_INVALID"
    assert named in error.message
    assert str(copy) in error.message, "the message says where, not just what"


def test_wrong_header_says_what_the_registry_expects(copy: Path) -> None:
    _rename_header_column(copy)
    with pytest.raises(DatasetInvalid, match="amount") as info:
        load_registry(copy)
    assert "total" in info.value.message
    assert info.value.suggestion is not None and "generate.py" in info.value.suggestion


def test_changed_byte_is_a_hash_mismatch(copy: Path) -> None:
    _change_one_byte(copy)
    with pytest.raises(DatasetInvalid, match="hash") as info:
        load_registry(copy)
    assert "'sensors'" in info.value.message


def test_verify_false_skips_the_file_checks(copy: Path) -> None:
    _delete_file(copy)
    registry = load_registry(copy, verify=False)
    assert registry.get("support").table_names == ["tickets"]
