"""A scratch PostgreSQL database with the app on it, for the benchmark scripts."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def scratch_app(url: str, *, prefix: str, keep: bool = False, create_all: bool = False) -> Iterator[Any]:
    """Create a database, build the schema (migrations, or create_all), yield the app inside its
    context; drop the database afterwards unless `keep`."""
    name = f"{prefix}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    os.environ.update(
        DATABASE_URL=sa.make_url(url).set(database=name).render_as_string(hide_password=False),
        PARCOURS_ENV="development",
        SCHEDULER_IN_PROCESS="0",
    )
    try:
        from app import create_app
        from app.extensions import db

        app = create_app()
        with app.app_context():
            if create_all:
                db.create_all()
            else:
                from flask_migrate import upgrade

                upgrade(directory=str(ROOT / "migrations"))
            yield app
            db.session.remove()
            db.engine.dispose()
    finally:
        if keep:
            print(f"kept database {name}")
        else:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
