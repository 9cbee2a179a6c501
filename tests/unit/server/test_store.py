"""The capsule store behaves the same on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from sandbox_server.schemas import Capsule, Result
from sandbox_server.store import Store, database_url


def capsule(
    run_id: str, *, user: str = "alice", dataset: str = "ecommerce", at: str = "2026-01-01T00:00:00Z"
) -> Capsule:
    return Capsule(
        run_id=run_id,
        created_at=at,
        user=user,
        dataset_id=dataset,
        dataset_version_hash="abc",
        status="succeeded",
        compiled_sql="SELECT 1 LIMIT 200",
        result_preview=Result(columns=[{"name": "x", "type": "INTEGER"}], rows=[[1]], row_count=1),
        row_count=1,
        result_sha256="f" * 64,
        timings_ms={"total": 1.5},
    )


def test_capsules_round_trip_and_list_newest_first_per_user(store_url: str) -> None:
    store = Store(database_url(store_url, None))  # type: ignore[arg-type]
    store.put_capsule(capsule("r1", at="2026-01-01T00:00:01Z"))
    store.put_capsule(capsule("r2", at="2026-01-01T00:00:02Z", dataset="support"))
    store.put_capsule(capsule("r3", at="2026-01-01T00:00:03Z", user="bob"))
    got = store.get_capsule("r1")
    assert got is not None and got == capsule("r1", at="2026-01-01T00:00:01Z")
    assert [c.run_id for c in store.list_capsules(user="alice")] == ["r2", "r1"]
    assert [c.run_id for c in store.list_capsules(user="alice", dataset_id="ecommerce")] == ["r1"]
    assert [c.run_id for c in store.list_capsules(user="bob")] == ["r3"]
    assert store.get_capsule("nope") is None
    store.ping()


def test_capsules_are_immutable(store_url: str) -> None:
    store = Store(database_url(store_url, None))  # type: ignore[arg-type]
    store.put_capsule(capsule("r1"))
    with pytest.raises(sa.exc.IntegrityError):
        store.put_capsule(capsule("r1", user="mallory"))
    assert store.get_capsule("r1").user == "alice"  # type: ignore[union-attr]
    assert not hasattr(store, "update_capsule")


def test_threads_keep_turns_in_order(store_url: str) -> None:
    store = Store(database_url(store_url, None))  # type: ignore[arg-type]
    store.create_thread("t1", user="alice", dataset_id="ecommerce")
    store.add_turn("t1", run_id="r1", question="q1", plan={"table": "orders"})
    store.add_turn("t1", run_id="r2", question="q2", plan=None)
    thread = store.get_thread("t1")
    assert thread is not None
    assert thread["user"] == "alice" and thread["dataset_id"] == "ecommerce"
    assert [(t["seq"], t["run_id"], t["plan"]) for t in thread["turns"]] == [
        (1, "r1", {"table": "orders"}),
        (2, "r2", None),
    ]
    assert store.get_thread("missing") is None


def test_uploaded_datasets_are_per_owner_and_idempotent(store_url: str) -> None:
    store = Store(database_url(store_url, None))  # type: ignore[arg-type]
    store.put_dataset(owner="alice", dataset_id="d1", version_hash="h", body='{"x": 1}')
    store.put_dataset(owner="alice", dataset_id="d1", version_hash="h", body='{"x": 1}')
    assert store.list_datasets(owner="alice") == ['{"x": 1}']
    assert store.list_datasets(owner="bob") == []
    assert store.get_dataset(owner="bob", dataset_id="d1") is None


def test_sqlite_uses_wal(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = Store(database_url(None, tmp_path))
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"


def test_indexes_exist(store_url: str) -> None:
    store = Store(database_url(store_url, None))  # type: ignore[arg-type]
    names = {ix["name"] for ix in sa.inspect(store.engine).get_indexes("capsules")}
    assert {"ix_capsules_dataset_created", "ix_capsules_user_created"} <= names
