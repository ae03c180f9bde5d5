"""The application keeps no session state on its PostgreSQL connections: PgBouncer in transaction
pooling may hand each transaction to any server connection.

- statically: every advisory lock of app/ is transaction-scoped, and every other SET is SET LOCAL
  but the JIT one on connect (run everywhere);
- through PgBouncer (TEST_PGBOUNCER_URL, as `scripts/pgbouncer.sh start` serves on 6432, any
  database name: a scratch database replaces it): the jobs' lock holds across transactions and
  excludes another client, JIT is off on every server connection. Skipped without it, unless
  REQUIRE_PGBOUNCER=1 (CI). The rest of the PostgreSQL suite runs through it too (.ci/run).
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.transaction import advisory_lock, unit_of_work
from tests import db_helpers

APP_DIR = Path(__file__).resolve().parents[2] / "app"
PGBOUNCER_URL = os.environ.get("TEST_PGBOUNCER_URL", "")
LOCK_KEY = 0x50415299  # none of the jobs' keys


def _python_sources() -> list[tuple[Path, str]]:
    return [(path, path.read_text(encoding="utf-8")) for path in sorted(APP_DIR.rglob("*.py"))]


def test_every_advisory_lock_is_transaction_scoped() -> None:
    calls = []
    for path, source in _python_sources():
        for match in re.finditer(r"pg_(?:try_)?advisory_\w+", source):
            calls.append((path.relative_to(APP_DIR.parent), match.group(0)))
    assert calls, "the scan excluded nothing: the pattern no longer matches the code"
    session_level = [c for c in calls if "_xact_" not in c[1]]
    assert session_level == [], session_level  # pg_advisory_lock / _unlock would pin a session


def test_every_set_is_local_but_the_connect_one() -> None:
    found = []
    for path, source in _python_sources():
        for match in re.finditer(r"""["']SET (?!LOCAL |NULL)(\w+)""", source):
            found.append((str(path.relative_to(APP_DIR.parent)), match.group(1)))
    assert found == [("app/__init__.py", "jit"), ("app/__init__.py", "max_parallel_workers_per_gather")], found


def _require_pgbouncer() -> None:
    if not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"):
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL): run with the PostgreSQL suite only")
    reason = ""
    if not PGBOUNCER_URL.startswith("postgresql"):
        reason = "needs PgBouncer (TEST_PGBOUNCER_URL)"
    else:
        try:
            engine = sa.create_engine(PGBOUNCER_URL, connect_args={"connect_timeout": 2})
            with engine.connect() as conn:
                conn.scalar(sa.text("SELECT 1"))
            engine.dispose()
        except sa.exc.SQLAlchemyError as exc:
            reason = f"PgBouncer does not answer at {PGBOUNCER_URL}: {type(exc).__name__}"
    if reason:
        if os.environ.get("REQUIRE_PGBOUNCER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture
def bouncer_url() -> Iterator[str]:
    """A scratch database, reached through PgBouncer."""
    _require_pgbouncer()
    with db_helpers.scratch_database(PGBOUNCER_URL, "parcours_bouncer") as url:  # dropped WITH (FORCE):
        yield url  # PgBouncer keeps server connections to it open


def _pool_mode(url: str) -> str:
    import psycopg2  # the admin console speaks the simple protocol only: no SQLAlchemy there

    parts = sa.make_url(url)
    conn = psycopg2.connect(host=parts.host, port=parts.port, user=parts.username, dbname="pgbouncer")
    try:
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute("SHOW CONFIG")
            return next(row[1] for row in cursor.fetchall() if row[0] == "pool_mode")
    finally:
        conn.close()


@pytest.mark.no_rollback
def test_jit_is_off_on_every_server_connection_through_pgbouncer(bouncer_url: str) -> None:
    assert _pool_mode(bouncer_url) == "transaction"
    # Without the application's connect hook: PgBouncer's connect_query did it on each server connection.
    raw = sa.create_engine(bouncer_url, poolclass=sa.pool.NullPool)
    try:
        for _ in range(8):
            with raw.connect() as conn:
                assert conn.scalar(sa.text("SHOW jit")) == "off"
                assert conn.scalar(sa.text("SHOW max_parallel_workers_per_gather")) == "0"
    finally:
        raw.dispose()
    # The application's own SET on connect is harmless there: many connections, each transaction sees it off.
    app = create_app("testing", overrides={"SQLALCHEMY_DATABASE_URI": bouncer_url,
                                           "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 8, "max_overflow": 0}})
    with app.app_context():
        connections = [db.engine.connect() for _ in range(8)]  # more clients than server connections
        try:
            for conn in connections * 2:
                with conn.begin():
                    assert conn.scalar(sa.text("SHOW jit")) == "off"
        finally:
            for conn in connections:
                conn.close()
        db.engine.dispose()


@pytest.mark.no_rollback
def test_the_jobs_lock_holds_across_the_jobs_commits_through_pgbouncer(bouncer_url: str) -> None:
    app = create_app("testing", overrides={"SQLALCHEMY_DATABASE_URI": bouncer_url})
    other = sa.create_engine(bouncer_url, poolclass=sa.pool.NullPool)

    def other_client_gets_it() -> bool:
        with other.connect() as conn, conn.begin():
            return bool(conn.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(LOCK_KEY))))

    try:
        with app.app_context():
            db.session.execute(sa.text("CREATE TABLE job_step (n integer)"))
            db.session.commit()
            with advisory_lock(LOCK_KEY) as acquired:
                assert acquired
                for n in range(5):  # a job that commits step by step, as the digest does
                    with unit_of_work():
                        db.session.execute(sa.text("INSERT INTO job_step VALUES (:n)"), {"n": n})
                    assert not other_client_gets_it(), "another client took the job's lock"
                with advisory_lock(LOCK_KEY) as second:  # a second run of the job, in-process
                    assert not second
            assert other_client_gets_it(), "the lock outlived the block"
            assert db.session.scalar(sa.text("SELECT count(*) FROM job_step")) == 5
            db.session.remove()
            db.engine.dispose()
    finally:
        other.dispose()
