"""Small database questions tests ask."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db

# The PostgreSQL server of the suite, and the marks of a module whose tests commit for real on it
# (each in a database of its own: `scratch_database`), skipped without it.
PG_URL = os.environ.get("TEST_DATABASE_URL", "")
POSTGRES_WITH_COMMITS = [
    pytest.mark.no_rollback,
    pytest.mark.postgres_only,
    pytest.mark.skipif(not PG_URL.startswith("postgresql"), reason="needs PostgreSQL (TEST_DATABASE_URL)"),
]


def count_rows(model: Any, *where: Any) -> int:
    """How many rows of `model` match `where` (all of them without it)."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def open_alert(pathway: Any, kind: Any, *, due_at: Any = None, subject_key: str = "") -> Any:
    """The pathway's unresolved alert of `kind`, raised if it is not there yet.

    Writes evaluate the follow-up rules at once (app/followup/live.py): a world built months
    before today already has its late situations raised, and a second one would break
    `uq_alert_one_unresolved`."""
    from app.db_types import utcnow  # tests import the app lazily (the app fixture builds it)
    from app.followup.models import Alert, AlertStatus

    alert = db.session.scalar(sa.select(Alert).where(
        Alert.pathway_id == pathway.id, Alert.kind == kind, Alert.subject_key == subject_key,
        Alert.status != AlertStatus.RESOLVED,
    ))
    if alert is None:
        alert = Alert(territory_id=pathway.territory_id, pathway_id=pathway.id, kind=kind, subject_key=subject_key,
                      due_at=due_at or utcnow(), raised_at=utcnow(), status=AlertStatus.OPEN)
        db.session.add(alert)
        db.session.flush()
    return alert


@contextmanager
def scratch_database(server_url: str, prefix: str) -> Iterator[str]:
    """A new, empty database on the server of `server_url` (named `prefix_` + a random suffix),
    for tests that commit for real or start other processes; yields its URL, drops it after (FORCE:
    processes still connected, a pooler's server connections)."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield sa.make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()
