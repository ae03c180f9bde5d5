"""Shared fixtures.

The same suite runs on SQLite (default) and PostgreSQL (`TEST_DATABASE_URL`). The schema is built
once per run; every test runs inside an outer transaction that is rolled back at the end, while the
code under test commits freely (its commits only release SAVEPOINTs).
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import scoped_session, sessionmaker

from app import create_app
from app.extensions import db

os.environ.setdefault("PARCOURS_ENV", "testing")


def _sqlite_savepoint_fix(engine: sa.Engine) -> None:
    """pysqlite's own transaction handling breaks SAVEPOINT; let SQLAlchemy drive it."""

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN")


@pytest.fixture(scope="session")
def app() -> Iterator[Flask]:
    app = create_app("testing")
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _sqlite_savepoint_fix(db.engine)
        db.drop_all()
        db.create_all()
    yield app
    with app.app_context():
        db.drop_all()


@pytest.fixture(autouse=True)
def _db_transaction(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test runs in a transaction rolled back afterwards (tests needing real commits opt out)."""
    if "no_rollback" in request.keywords:
        yield
        return
    app: Flask = request.getfixturevalue("app")
    ctx = app.app_context()
    ctx.push()
    connection = db.engine.connect()
    outer = connection.begin()
    original_session = db.session
    db.session = scoped_session(
        sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=True)
    )
    try:
        yield
    finally:
        db.session.remove()
        db.session = original_session
        outer.rollback()
        connection.close()
        ctx.pop()


@pytest.fixture
def dialect(app: Flask) -> str:
    return db.engine.dialect.name


class IsolatedClient(FlaskClient):
    """A test client whose requests start with an empty `g`, as in production.

    Tests keep one app context open (for the per-test transaction), and Flask reuses it for each
    request: without this, Flask-Login's cached user and Flask-WTF's CSRF token would leak from
    one request to the next.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        from flask import g, has_app_context

        if has_app_context():
            g.__dict__.clear()
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    app.test_client_class = IsolatedClient
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


@pytest.fixture
def now() -> datetime:
    """A fixed 'now' so tests are repeatable; services take it as a parameter."""
    return datetime(2026, 3, 10, 9, 30, tzinfo=timezone.utc)


@pytest.fixture
def count_queries(app: Flask) -> Any:
    """`with count_queries() as counter: ...` then `counter.count` (see `tests.queries`)."""
    from tests.queries import count_queries

    return count_queries


pytest_plugins = ["tests.factories", "tests.world", "tests.api_client"]


@pytest.fixture
def login_as(client: FlaskClient) -> Any:
    """`login_as(user)`: log the test client in through the real login form."""
    from tests.factories import PASSWORD

    def _login(user: Any) -> FlaskClient:
        client.post("/deconnexion")
        response = client.post("/connexion", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return _login
