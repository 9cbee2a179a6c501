"""The capsule store under test: SQLite always, PostgreSQL from scripts/start-postgres.sh."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def postgres_url() -> str:
    """A fresh database on the test PostgreSQL (started on demand). Skips off CI when impossible."""
    url = os.environ.get("CSVANALYST_TEST_POSTGRES_URL")
    if not url:
        try:
            url = subprocess.run(
                ["bash", str(REPO_ROOT / "scripts" / "start-postgres.sh")],
                check=True,
                capture_output=True,
                text=True,
                timeout=180,
            ).stdout.strip()
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, FileNotFoundError) as exc:
            detail = getattr(exc, "stderr", "") or str(exc)
            if os.environ.get("CI") == "true":
                pytest.fail(f"PostgreSQL is required in CI but could not be started: {detail}")
            pytest.skip(f"PostgreSQL not available here: {detail.strip()[:200]}")
        os.environ["CSVANALYST_TEST_POSTGRES_URL"] = url
    # One schema-isolated database per test: create a new database from the server's template.
    import sqlalchemy as sa

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(
        url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'capsules.db'}"
    return postgres_url()
