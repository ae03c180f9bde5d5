"""Migrations are the schema: one head, they build an empty database, and they match the models."""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade

from app import create_app
from app.extensions import db

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def test_there_is_a_single_head() -> None:
    config = AlembicConfig(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"several Alembic heads: {heads}; merge them"


@pytest.fixture
def empty_databases(tmp_path: Path) -> Iterator[list[tuple[str, str]]]:
    """An empty SQLite file, and a fresh PostgreSQL database when the suite runs on PostgreSQL."""
    urls = [("sqlite", f"sqlite:///{tmp_path / 'migrations.db'}")]
    created: list[str] = []
    admin_engine = None
    pg = os.environ.get("TEST_DATABASE_URL", "")
    if pg.startswith("postgresql"):
        name = f"parcours_migrations_{uuid.uuid4().hex[:8]}"
        admin_engine = sa.create_engine(pg, isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        created.append(name)
        urls.append(("postgresql", sa.make_url(pg).set(database=name).render_as_string(hide_password=False)))
    yield urls
    if admin_engine is not None:
        for name in created:
            with admin_engine.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin_engine.dispose()


@pytest.mark.no_rollback
def test_upgrade_builds_an_empty_database_that_matches_the_models(empty_databases) -> None:
    for dialect, url in empty_databases:
        app = create_app("testing", overrides={"SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            upgrade(directory=str(MIGRATIONS))
            with db.engine.connect() as conn:
                context = MigrationContext.configure(conn, opts={"compare_type": True})
                diff = compare_metadata(context, db.metadata)
                tables = set(sa.inspect(conn).get_table_names())
            assert not diff, f"{dialect}: models and migrations differ: {diff}"
            assert set(db.metadata.tables) <= tables
            downgrade(directory=str(MIGRATIONS), revision="base")
            with db.engine.connect() as conn:
                assert set(sa.inspect(conn).get_table_names()) <= {"alembic_version"}
            db.session.remove()
            db.engine.dispose()
