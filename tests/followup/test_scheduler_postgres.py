"""Two scheduler processes on PostgreSQL: only one scan at a time, never a duplicated alert."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from app import create_app
from app.extensions import db
from app.followup.models import Alert, AlertStatus
from app.followup.scan import SCAN_LOCK_KEY
from app.pathways import services as pathways
from tests import db_helpers
from tests.followup.test_scan import paris

ROOT = Path(__file__).resolve().parents[2]
PG_URL = db_helpers.PG_URL

pytestmark = db_helpers.POSTGRES_WITH_COMMITS


@pytest.fixture
def scratch_database() -> Iterator[str]:
    with db_helpers.scratch_database(PG_URL, "parcours_sched") as url:
        yield url


def _seed(url: str, people: int) -> None:
    from app.followup import live  # imported where used, like the factories (a test helper)
    from tests.factories import AgencyFactory, TerritoryFactory, UserFactory

    app = create_app("testing", overrides={"SQLALCHEMY_DATABASE_URI": url})
    clock, live.clock = live.clock, lambda: paris(2026, 1, 5)  # nothing late when written: the scans raise
    try:
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            territory = TerritoryFactory()
            referent = UserFactory(agency=AgencyFactory(territory=territory))
            db.session.commit()
            for i in range(people):
                # Started long ago, never oriented: orientation-late and no-referent / follow-up alerts.
                pathways.create_beneficiary(
                    referent,
                    {"first_name": f"Personne{i}", "last_name": "Test"},
                    referent=referent if i % 2 else None,
                    now=paris(2026, 1, 5) + timedelta(minutes=i),
                )
            db.session.remove()
            db.engine.dispose()
    finally:
        live.clock = clock


def _scan_process(url: str, now: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "PARCOURS_ENV": "development", "SCHEDULER_IN_PROCESS": "0"}
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "scheduler", "scan", "--now", now],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _alerts(url: str) -> list[tuple]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    sa.select(
                        Alert.__table__.c.pathway_id,
                        Alert.__table__.c.kind,
                        Alert.__table__.c.subject_key,
                        Alert.__table__.c.status,
                    )
                )
            )
    finally:
        engine.dispose()


def test_two_scheduler_processes_never_duplicate_an_alert(scratch_database: str) -> None:
    _seed(scratch_database, people=200)
    processes = [_scan_process(scratch_database, "2026-03-01T08:00:00+01:00") for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in processes]
    assert all(p.returncode == 0 for p in processes), outputs

    alerts = [a for a in _alerts(scratch_database) if a[3] != AlertStatus.RESOLVED.value]
    keys = [(a[0], a[1], a[2]) for a in alerts]
    assert len(keys) == len(set(keys)), "duplicated unresolved alerts"
    assert len(keys) == 200 + 100  # orientation-late for all, no-referent for the 100 without one
    raised = sum(int(out.split(" raised")[0].rsplit(" ", 1)[-1]) for out in outputs if " raised" in out)
    skipped = sum("skipped" in out for out in outputs)
    # Either one scan waited out the other (skipped), or they ran one after the other and the
    # second found nothing new: never both writing the same alerts.
    assert raised == len(keys) and (skipped == 1 or any(" 0 raised" in out for out in outputs)), outputs


def test_a_scan_is_skipped_while_another_process_holds_the_lock(scratch_database: str) -> None:
    _seed(scratch_database, people=20)
    engine = sa.create_engine(scratch_database)
    with engine.connect() as holder:
        holder.execute(sa.select(sa.func.pg_advisory_lock(SCAN_LOCK_KEY)))  # "another scan is running"
        out, _ = _scan_process(scratch_database, "2026-03-01T08:00:00+01:00").communicate(timeout=60)
        assert "skipped" in out, out
        assert _alerts(scratch_database) == []
        holder.execute(sa.select(sa.func.pg_advisory_unlock(SCAN_LOCK_KEY)))
    engine.dispose()
    out, _ = _scan_process(scratch_database, "2026-03-01T08:00:00+01:00").communicate(timeout=60)
    assert "30 raised" in out, out


# --- the daily digest: two processes, one mail per referent ----------------------------------------------


def _seed_referents(url: str, referents: int, people_each: int) -> None:
    from tests.factories import AgencyFactory, TerritoryFactory, UserFactory

    app = create_app("testing", overrides={"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        agency = AgencyFactory(territory=TerritoryFactory())
        users = [UserFactory(agency=agency) for _ in range(referents)]
        db.session.commit()
        for n, user in enumerate(users):
            for i in range(people_each):
                pathways.create_beneficiary(
                    user, {"first_name": f"Personne{n}-{i}", "last_name": "Test"}, referent=user,
                    now=paris(2026, 1, 5) + timedelta(minutes=i),
                )
        db.session.remove()
        db.engine.dispose()


def _flask(url: str, outbox: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "PARCOURS_ENV": "development", "SCHEDULER_IN_PROCESS": "0",
           "MAIL_SERVER": "", "MAIL_OUTBOX_DIR": str(outbox)}
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "scheduler", *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def test_two_scheduler_processes_send_one_digest_per_referent(scratch_database: str, tmp_path: Path) -> None:
    _seed_referents(scratch_database, referents=8, people_each=3)
    out, _ = _flask(scratch_database, tmp_path, "scan", "--now", "2026-03-01T08:00:00+01:00").communicate(timeout=120)
    assert "raised" in out, out
    processes = [_flask(scratch_database, tmp_path, "digest", "--now", "2026-03-02T07:30:00+01:00") for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in processes]
    assert all(p.returncode == 0 for p in processes), outputs

    mails = sorted(eml.name.split("-", 3)[-1] for eml in tmp_path.glob("*.eml"))
    assert len(mails) == 8 and len(set(mails)) == 8, (mails, outputs)
    engine = sa.create_engine(scratch_database)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT status, attempts FROM digest_delivery")).all()
    finally:
        engine.dispose()
    assert sorted(rows) == [("sent", 1)] * 8
    # Either one process skipped (the other held the lock), or it came after and found nothing owed.
    assert any("skipped" in out or "0 digest(s) sent" in out for out in outputs), outputs


# --- a scheduler killed in the middle of its scan ---------------------------------------------------


def test_a_scheduler_killed_mid_scan_leaves_nothing_half_done_and_the_next_scan_is_right(
    scratch_database: str,
) -> None:
    """Issue #12: the scan process is killed (SIGKILL) after it has evaluated the rules and written
    its alerts, before its commit. Held here at that point by locks on the pathways whose follow-up
    summary it refreshes last: the kill then lands inside the transaction. Nothing of it stays (no
    alert, no scan state), and the next scan raises exactly what a scan on a clean base does."""
    import signal
    import time

    _seed(scratch_database, people=60)
    engine = sa.create_engine(scratch_database, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as holder, engine.connect() as watcher:
            holder.exec_driver_sql("BEGIN")
            holder.exec_driver_sql("SELECT id FROM pathway ORDER BY id FOR UPDATE")
            process = _scan_process(scratch_database, "2026-03-01T08:00:00+01:00")
            waiting = 0
            for _ in range(300):  # until the scan's backend waits for our row locks (≤ 30 s)
                waiting = watcher.exec_driver_sql(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND query ILIKE '%%pathway%%'").scalar()
                if waiting or process.poll() is not None:
                    break
                time.sleep(0.1)
            assert waiting == 1, process.communicate(timeout=5)[0] if process.poll() is not None else "no wait"
            in_flight = watcher.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state = 'active' AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()").scalar()
            assert in_flight >= 1  # the scan's transaction has written (it holds a transaction id)
            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=10)
            assert process.returncode == -signal.SIGKILL
            holder.exec_driver_sql("ROLLBACK")
            for _ in range(100):  # the orphaned backend notices its client is gone and rolls back
                left = watcher.exec_driver_sql(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND backend_type = 'client backend'").scalar()
                if left == 0:
                    break
                time.sleep(0.1)
            assert watcher.exec_driver_sql("SELECT count(*) FROM alert").scalar() == 0
            assert watcher.exec_driver_sql("SELECT count(*) FROM scan_state").scalar() == 0
            assert watcher.exec_driver_sql(
                "SELECT count(*) FROM steering_count WHERE metric = 'alert' AND n <> 0").scalar() == 0
    finally:
        engine.dispose()

    out, _ = _scan_process(scratch_database, "2026-03-01T08:00:00+01:00").communicate(timeout=120)
    assert "90 raised" in out, out  # orientation late for the 60, no referent for the 30 without one
    alerts = [a for a in _alerts(scratch_database) if a[3] != AlertStatus.RESOLVED.value]
    assert len(alerts) == len({(a[0], a[1], a[2]) for a in alerts}) == 90
