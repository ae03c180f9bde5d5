"""Two runners at once on PostgreSQL (two scheduler processes): every export is built exactly once."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from app import create_app
from app.audit.models import AuditEvent
from app.db_types import utcnow
from app.exports.models import ExportFile, ExportJob, ExportStatus
from app.extensions import db
from app.pathways import services as pathways
from app.workspace import exports
from tests import db_helpers

ROOT = Path(__file__).resolve().parents[2]
PG_URL = db_helpers.PG_URL

pytestmark = db_helpers.POSTGRES_WITH_COMMITS


@pytest.fixture
def scratch_database() -> Iterator[str]:
    with db_helpers.scratch_database(PG_URL, "parcours_exports") as url:
        yield url


def test_two_runners_at_once_build_each_export_once(scratch_database: str, monkeypatch) -> None:
    from tests.factories import AgencyFactory, TerritoryFactory, UserFactory

    app = create_app("testing", overrides={"SQLALCHEMY_DATABASE_URI": scratch_database})
    now = utcnow()
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        referent = UserFactory(agency=AgencyFactory(territory=TerritoryFactory()))
        db.session.commit()
        for i in range(5):
            pathways.create_beneficiary(referent, {"first_name": f"P{i}", "last_name": "Test"}, referent=referent,
                                        now=now - timedelta(days=i))
        jobs = [exports.queue_export(referent, "portfolio.moi", {}, fmt, now=now).id
                for fmt in ("csv", "xlsx") * 3]
        db.session.remove()

    slow = exports._portfolio_batches

    def slowly(user, job):  # a build long enough for the other runner to look for work meanwhile
        time.sleep(0.2)
        yield from slow(user, job)

    monkeypatch.setattr(exports, "_portfolio_batches", slowly)
    results: list[dict[str, int]] = []
    start = threading.Barrier(2)

    def runner() -> None:
        with app.app_context():
            try:
                start.wait()
                results.append(exports.run_pending_exports(now))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sum(r["built"] for r in results) == len(jobs) and all(r["failed"] == 0 for r in results)
    assert all(r["built"] > 0 for r in results), results  # both worked, each on its own jobs
    with app.app_context():
        built = db.session.scalars(sa.select(AuditEvent.object_id).where(AuditEvent.action == "export.built")).all()
        assert sorted(built) == sorted(jobs)  # each once
        statuses = set(db.session.scalars(sa.select(ExportJob.status)))
        assert statuses == {ExportStatus.DONE}
        assert db.session.scalar(sa.select(sa.func.count(sa.distinct(ExportFile.job_id)))) == len(jobs)
        db.session.remove()
        db.engine.dispose()
