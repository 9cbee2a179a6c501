"""Persistent state through SQLAlchemy Core: run capsules, conversation threads, uploaded datasets.

SQLite (WAL) under the state directory by default; PostgreSQL when ``database_url`` names one
(the deployment that outgrows one replica). Capsules are immutable: the store inserts them once
and offers no way to change one (a second insert of the same run_id is an error).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from sandbox_server.errors import ExecutorUnavailable
from sandbox_server.schemas import Capsule

if TYPE_CHECKING:
    from sandbox_server.settings import Settings

metadata = sa.MetaData()

capsules = sa.Table(
    "capsules",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("user", sa.String(200)),
    sa.Column("dataset_id", sa.String(200), nullable=False),
    sa.Column("thread_id", sa.String(64)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Index("ix_capsules_dataset_created", "dataset_id", "created_at"),
    sa.Index("ix_capsules_user_created", "user", "created_at"),
)

threads = sa.Table(
    "threads",
    metadata,
    sa.Column("thread_id", sa.String(64), primary_key=True),
    sa.Column("user", sa.String(200)),
    sa.Column("dataset_id", sa.String(200), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
)

turns = sa.Table(
    "thread_turns",
    metadata,
    sa.Column("thread_id", sa.String(64), sa.ForeignKey("threads.thread_id"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("plan_json", sa.Text),
    sa.Column("created_at", sa.String(40), nullable=False),
)

user_datasets = sa.Table(
    "user_datasets",
    metadata,
    sa.Column("owner", sa.String(200), primary_key=True),
    sa.Column("dataset_id", sa.String(200), primary_key=True),
    sa.Column("version_hash", sa.String(64), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def database_url(url: str | None, state_dir: Path) -> str:
    if url:
        # SQLAlchemy picks psycopg2 for plain postgresql://; we ship psycopg 3.
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
    state_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{state_dir / 'csvanalyst.db'}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite"):
            self.engine: Engine = sa.create_engine(url, connect_args={"check_same_thread": False})
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = sa.create_engine(url, pool_pre_ping=True)
        metadata.create_all(self.engine)

    @classmethod
    def open(cls, settings: Settings) -> Store:
        """The store the settings name: ``database_url``, else SQLite under ``state_dir``."""
        return cls(database_url(settings.database_url, settings.state_dir))

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def ping(self) -> None:
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as exc:
            raise ExecutorUnavailable(f"capsule store not reachable: {exc.__class__.__name__}") from exc

    def close(self) -> None:
        self.engine.dispose()

    # -- capsules ---------------------------------------------------------------------------
    def put_capsule(self, capsule: Capsule) -> None:
        with self._tx() as conn:
            conn.execute(
                capsules.insert().values(
                    run_id=capsule.run_id,
                    created_at=capsule.created_at,
                    user=capsule.user,
                    dataset_id=capsule.dataset_id,
                    thread_id=capsule.thread_id,
                    status=capsule.status,
                    body=capsule.model_dump_json(),
                )
            )

    def get_capsule(self, run_id: str) -> Capsule | None:
        with self.engine.connect() as conn:
            body = conn.execute(sa.select(capsules.c.body).where(capsules.c.run_id == run_id)).scalar()
        return Capsule.model_validate_json(body) if body else None

    def list_capsules(
        self, *, user: str | None, dataset_id: str | None = None, limit: int = 50
    ) -> list[Capsule]:
        query = sa.select(capsules.c.body).where(capsules.c.user == user)
        if dataset_id:
            query = query.where(capsules.c.dataset_id == dataset_id)
        query = query.order_by(capsules.c.created_at.desc(), capsules.c.run_id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [Capsule.model_validate_json(b) for b in conn.execute(query).scalars()]

    # -- threads ----------------------------------------------------------------------------
    def create_thread(self, thread_id: str, *, user: str | None, dataset_id: str) -> None:
        with self._tx() as conn:
            conn.execute(
                threads.insert().values(
                    thread_id=thread_id, user=user, dataset_id=dataset_id, created_at=now_iso()
                )
            )

    def get_thread(self, thread_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(threads).where(threads.c.thread_id == thread_id)).mappings().first()
            if row is None:
                return None
            history = conn.execute(
                sa.select(turns).where(turns.c.thread_id == thread_id).order_by(turns.c.seq)
            ).mappings()
            return {
                **dict(row),
                "turns": [
                    {**dict(t), "plan": json.loads(t["plan_json"]) if t["plan_json"] else None}
                    for t in history
                ],
            }

    def add_turn(self, thread_id: str, *, run_id: str, question: str, plan: dict[str, Any] | None) -> None:
        with self._tx() as conn:
            seq = conn.execute(
                sa.select(sa.func.coalesce(sa.func.max(turns.c.seq), 0)).where(turns.c.thread_id == thread_id)
            ).scalar_one()
            conn.execute(
                turns.insert().values(
                    thread_id=thread_id,
                    seq=seq + 1,
                    run_id=run_id,
                    question=question,
                    plan_json=json.dumps(plan) if plan is not None else None,
                    created_at=now_iso(),
                )
            )

    # -- uploaded datasets ------------------------------------------------------------------
    def put_dataset(self, *, owner: str | None, dataset_id: str, version_hash: str, body: str) -> None:
        """Register (idempotently: same owner, id and content is a no-op)."""
        key = owner or ""
        with self._tx() as conn:
            exists = conn.execute(
                sa.select(user_datasets.c.version_hash).where(
                    user_datasets.c.owner == key, user_datasets.c.dataset_id == dataset_id
                )
            ).scalar()
            if exists is None:
                conn.execute(
                    user_datasets.insert().values(
                        owner=key,
                        dataset_id=dataset_id,
                        version_hash=version_hash,
                        created_at=now_iso(),
                        body=body,
                    )
                )

    def list_datasets(self, *, owner: str | None) -> list[str]:
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    sa.select(user_datasets.c.body)
                    .where(user_datasets.c.owner == (owner or ""))
                    .order_by(user_datasets.c.created_at, user_datasets.c.dataset_id)
                ).scalars()
            )

    def get_dataset(self, *, owner: str | None, dataset_id: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(user_datasets.c.body).where(
                    user_datasets.c.owner == (owner or ""), user_datasets.c.dataset_id == dataset_id
                )
            ).scalar()
