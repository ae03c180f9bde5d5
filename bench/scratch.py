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


# The bench territory (id 1, code B1), its 10 structures and 400 referents: the start of every
# benchmark's seed (bench/scan.py, bench/import.py), with `:now` bound by the caller.
BENCH_TERRITORY_SQL = """INSERT INTO territory (id, code, name, cadence_professional_days, cadence_socio_professional_days, cadence_social_days,
  grace_days, reschedule_days, no_referent_days, orientation_delay_days, contract_delay_days, contract_ending_days,
  referral_answer_days, checkin_months, retention_months, audit_retention_months, created_at, updated_at, version)
VALUES (1, 'B1', 'Banc d''essai', 30, 30, 60, 2, 7, 30, 42, 30, 30, 10, '[1, 3, 6]', 24, 12, :now, :now, 1);
INSERT INTO agency (id, territory_id, name, kind, is_active, created_at, updated_at, version)
SELECT a, 1, 'Structure ' || a,
  (ARRAY['departmental_council','france_travail','caf','mission_locale','ccas','cap_emploi','association'])[1 + a % 7],
  true, :now, :now, 1 FROM generate_series(1, 10) a;
INSERT INTO user_account (id, territory_id, agency_id, email, password_hash, first_name, last_name, role,
  is_active_account, created_at, updated_at, version)
SELECT u, 1, 1 + u % 10, 'referent' || u || '@bench.test', 'x', 'Prénom' || u, 'Nom' || u, 'professional', true,
  :now, :now, 1 FROM generate_series(1, 400) u;
"""
