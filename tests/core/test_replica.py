"""Read-only pages from a streaming replica (DATABASE_REPLICA_URL), writes on the primary.

The PostgreSQL tests need a replica of TEST_DATABASE_URL's cluster at TEST_REPLICA_URL (any
database name: each test's scratch database replaces it), as `scripts/replica.sh start` makes on
5433. Without it they are skipped, unless REQUIRE_REPLICA=1 (CI), which makes that a failure.
They commit for real on a scratch database of their own: the replica must replay it.
"""
from __future__ import annotations

import logging
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app import create_app
from app.core import replica as replica_module
from app.core.replica import LSN_KEY, REPLICA_ENDPOINTS, RoutingSession, replica_of
from app.extensions import db
from tests.web_helpers import text

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("TEST_DATABASE_URL", "")
REPLICA_URL = os.environ.get("TEST_REPLICA_URL", "")


# --- without a replica (every database) --------------------------------------------------------------


def test_every_replica_endpoint_is_a_get_route_of_the_app(app: Flask) -> None:
    rules = {rule.endpoint: rule for rule in app.url_map.iter_rules()}
    for endpoint in REPLICA_ENDPOINTS:
        assert endpoint in rules, endpoint
        assert "GET" in rules[endpoint].methods, endpoint
    assert "pathways.add_entry" not in REPLICA_ENDPOINTS  # a form page: it writes on POST


def test_without_a_replica_url_nothing_changes(app: Flask, client) -> None:
    assert app.config["DATABASE_REPLICA_URL"] == ""
    assert replica_of(app) is None
    assert isinstance(db.session(), sa.orm.Session)
    session = RoutingSession(db)  # the app's session class, as Flask-SQLAlchemy builds it
    assert session.get_bind() is db.engine
    assert client.get("/sante").status_code == 200
    assert replica_module.reading_from_replica() is False


# --- with a replica (PostgreSQL) ---------------------------------------------------------------------


def _require_replica() -> None:
    if not PG_URL.startswith("postgresql"):
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL): the SQLite run has no replica")
    reason = ""
    if not REPLICA_URL.startswith("postgresql"):
        reason = "needs a replica of TEST_DATABASE_URL's cluster (TEST_REPLICA_URL)"
    else:
        try:
            engine = sa.create_engine(REPLICA_URL, connect_args={"connect_timeout": 2})
            with engine.connect() as conn:
                if not conn.scalar(sa.text("SELECT pg_is_in_recovery()")):
                    reason = f"{REPLICA_URL} is not a standby"
            engine.dispose()
        except sa.exc.SQLAlchemyError as exc:
            reason = f"the replica does not answer at {REPLICA_URL}: {type(exc).__name__}"
    if reason:
        if os.environ.get("REQUIRE_REPLICA") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


def _with_database(url: str, name: str) -> str:
    return sa.make_url(url).set(database=name).render_as_string(hide_password=False)


def _wait_replayed(primary: sa.Engine, standby: sa.Engine, timeout: float = 15) -> None:
    with primary.connect() as conn:
        target = conn.scalar(sa.text("SELECT pg_current_wal_lsn()::text"))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with standby.connect() as conn:
                if conn.scalar(sa.text("SELECT pg_last_wal_replay_lsn() >= CAST(:t AS pg_lsn)"), {"t": target}):
                    return
        except sa.exc.OperationalError:
            pass  # the scratch database has not reached the replica yet
        time.sleep(0.1)
    raise AssertionError("the replica did not replay the primary's writes in time")


@dataclass
class Statements:
    """The statements each engine ran, as SQL text, since the last `clear()`."""

    primary: list[str] = field(default_factory=list)
    replica: list[str] = field(default_factory=list)

    def clear(self) -> None:
        self.primary.clear()
        self.replica.clear()


@dataclass
class ReplicaWorld:
    app: Flask
    client: Any
    statements: Statements
    user: Any
    pathway_id: int
    standby: sa.Engine


@pytest.fixture
def replica_world() -> Iterator[ReplicaWorld]:
    _require_replica()
    from tests.factories import PathwayFactory
    from tests.web_helpers import login_as

    name = f"parcours_replica_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    primary_url, replica_url = _with_database(PG_URL, name), _with_database(REPLICA_URL, name)
    app = create_app("testing", overrides={"SQLALCHEMY_DATABASE_URI": primary_url,
                                           "DATABASE_REPLICA_URL": replica_url})
    statements = Statements()
    try:
        with app.app_context():  # not kept open: each request gets its own, as in production
            sa.event.listen(db.engine, "before_cursor_execute",
                            lambda *a: statements.primary.append(a[2]))
            standby = replica_of(app).engine
            sa.event.listen(standby, "before_cursor_execute",
                            lambda *a: statements.replica.append(a[2]))
            db.create_all()
            pathway = PathwayFactory()
            db.session.commit()
            user, pathway_id = pathway.referent, pathway.id
            user.email  # noqa: B018 (loaded before the session forgets it)
            db.session.remove()
            _wait_replayed(db.engine, standby)
        client = app.test_client()
        login_as(client, user)
        with app.app_context():
            _wait_replayed(db.engine, standby)  # the login's session row
        with client.session_transaction() as cookie:
            cookie.pop(LSN_KEY, None)  # the login's position is reached: start from a clean cookie
        statements.clear()
        yield ReplicaWorld(app, client, statements, user, pathway_id, standby)
        with app.app_context():
            db.engine.dispose()
        standby.dispose()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _selects(statements: list[str], table: str) -> list[str]:
    return [s for s in statements
            if s.lstrip().upper().startswith("SELECT") and (f"FROM {table}" in s or f"JOIN {table}" in s)]


@pytest.mark.no_rollback
def test_a_page_reads_from_the_replica_and_writes_its_audit_on_the_primary(replica_world: ReplicaWorld) -> None:
    w = replica_world
    with w.standby.connect() as conn:
        assert conn.scalar(sa.text("SELECT pg_is_in_recovery()")) is True  # what the engine is
    response = w.client.get("/portefeuille")
    assert response.status_code == 200
    assert _selects(w.statements.replica, "pathway"), "the portfolio was not read from the replica"
    assert not _selects(w.statements.primary, "pathway")
    # The audit event (record_shown, in a unit of work) and the login session's check: the primary.
    assert any(s.startswith("INSERT INTO audit_event") for s in w.statements.primary)
    assert not any(s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")) for s in w.statements.replica)
    assert _selects(w.statements.primary, "user_session")
    assert not _selects(w.statements.replica, "user_session")

    w.statements.clear()
    response = w.client.get(f"/parcours/{w.pathway_id}")
    assert response.status_code == 200
    assert _selects(w.statements.replica, "pathway")
    # A page outside the list (« Mon compte ») reads the primary only.
    w.statements.clear()
    assert w.client.get("/compte").status_code == 200
    assert w.statements.replica == []


@pytest.mark.no_rollback
def test_the_user_reads_their_own_write_even_when_the_replica_lags(replica_world: ReplicaWorld) -> None:
    w = replica_world
    with w.standby.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.scalar(sa.text("SELECT pg_wal_replay_pause()"))
        try:
            response = w.client.post(f"/parcours/{w.pathway_id}/journal", data={
                "body": "Note écrite pendant le retard du réplica.", "visibility": "team", "note_type": "call"})
            assert response.status_code == 302
            with w.client.session_transaction() as cookie:
                assert cookie.get(LSN_KEY)  # the primary's position after the write
            w.statements.clear()
            page = w.client.get(f"/parcours/{w.pathway_id}?onglet=journal")
            assert page.status_code == 200
            assert "Note écrite pendant le retard du réplica." in text(page)
            assert not _selects(w.statements.replica, "pathway"), "read from a replica that lacks the write"
            assert _selects(w.statements.primary, "pathway")
        finally:
            conn.scalar(sa.text("SELECT pg_wal_replay_resume()"))
    with w.app.app_context():
        _wait_replayed(db.engine, w.standby)
    w.statements.clear()
    page = w.client.get(f"/parcours/{w.pathway_id}?onglet=journal")
    assert "Note écrite pendant le retard du réplica." in text(page)
    assert _selects(w.statements.replica, "pathway"), "the replica caught up: it serves the page again"


@pytest.mark.no_rollback
def test_an_api_list_reads_from_the_replica_only_when_it_has_every_write(replica_world: ReplicaWorld) -> None:
    w = replica_world
    with w.app.app_context():
        from app.accounts.models import User
        from app.accounts.tokens import issue_token

        token = issue_token(db.session.get(User, w.user.id)).token
        db.session.commit()
        _wait_replayed(db.engine, w.standby)
    headers = {"Authorization": f"Bearer {token}"}
    w.statements.clear()
    assert w.client.get("/api/v1/beneficiaries", headers=headers).status_code == 200
    assert _selects(w.statements.replica, "beneficiary")
    assert _selects(w.statements.primary, "api_token")  # the token's check: never stale
    with w.standby.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.scalar(sa.text("SELECT pg_wal_replay_pause()"))
        try:
            with w.app.app_context():
                with db.engine.begin() as primary:
                    primary.execute(sa.text("UPDATE beneficiary SET first_name = 'Rewritten'"))
            w.statements.clear()
            response = w.client.get("/api/v1/beneficiaries", headers=headers)
            assert response.status_code == 200
            assert "Rewritten" in response.get_data(as_text=True)
            assert not _selects(w.statements.replica, "beneficiary")
        finally:
            conn.scalar(sa.text("SELECT pg_wal_replay_resume()"))


@pytest.mark.no_rollback
def test_a_stopped_replica_sends_the_pages_to_the_primary(replica_world: ReplicaWorld, caplog) -> None:
    w = replica_world
    assert w.client.get("/portefeuille").status_code == 200
    assert _selects(w.statements.replica, "pathway")
    w.standby.dispose()
    subprocess.run([str(ROOT / "scripts" / "replica.sh"), "stop"], check=True, capture_output=True)
    try:
        caplog.set_level(logging.WARNING, logger="parcours.replica")
        for path in ("/portefeuille", f"/parcours/{w.pathway_id}", "/alertes", "/agenda"):
            w.statements.clear()
            response = w.client.get(path)
            assert response.status_code == 200, path
            assert w.statements.replica == [], path
        warnings = [r for r in caplog.records if r.name == "parcours.replica"]
        assert len(warnings) == 1, [r.getMessage() for r in warnings]  # logged once
        assert "primary" in warnings[0].getMessage()
    finally:
        subprocess.run([str(ROOT / "scripts" / "replica.sh"), "start"], check=True, capture_output=True)
