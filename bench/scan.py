"""Benchmark of the follow-up scan on PostgreSQL.

    .venv/bin/python bench/scan.py --pathways 100000
    .venv/bin/python bench/scan.py --pathways 1000000 --keep

Creates a scratch database (dropped at the end unless --keep), applies the migrations, seeds N
pathways with set-based SQL (generate_series: people, pathways at every stage, ~3 meetings,
~1 barrier, contracts, referrals per pathway), then times:
  1. a first scan (full: raises every alert),
  2. a re-run 15 minutes later with nothing written (incremental, as the scheduler runs it),
  3. a re-run the next day (incremental: the deadlines crossed overnight are re-examined),
  4. a forced full re-run (must write nothing),
and reports the peak memory of this process (the scan runs in the database: memory stays flat).
Goals (issue #4): 1 M pathways scanned in ≤ 10 s, re-run ≤ 5 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scratch import BENCH_TERRITORY_SQL, DEFAULT_URL, scratch_app  # noqa: E402

SEED_SQL = """
SELECT setseed(0.2026);
""" + BENCH_TERRITORY_SQL + """INSERT INTO beneficiary (id, territory_id, first_name, last_name, search_name, rights, created_at, updated_at, version)
SELECT i, 1, 'Prénom' || i, 'Nom' || i, 'nom' || i || ' prenom' || i, '[]', :now, :now, 1 FROM generate_series(1, :n) i;
-- Pathways: stage spread, ~8 % without referent, ~10 % not oriented, ~8 % employed, ~10 % closed.
INSERT INTO pathway (id, territory_id, beneficiary_id, lead_agency_id, referent_id, stage, orientation, oriented_at,
  started_at, closed_at, closure_reason, employment_started_on, employment_contract_type, employer,
  created_at, updated_at, version)
SELECT i, 1, i, 1 + r % 10, CASE WHEN i % 12 = 0 THEN NULL ELSE r END,
  CASE WHEN i % 10 = 0 THEN 'closed' WHEN i % 12 = 0 THEN 'intake' WHEN i % 11 = 0 THEN 'intake'
       WHEN i % 13 = 0 THEN 'employed' ELSE 'support' END,
  CASE WHEN i % 12 = 0 OR (i % 11 = 0 AND i % 10 <> 0) THEN NULL
       ELSE (ARRAY['professional','socio_professional','social'])[1 + i % 3] END,
  CASE WHEN i % 12 = 0 OR (i % 11 = 0 AND i % 10 <> 0) THEN NULL ELSE s + interval '20 days' END,
  s,
  CASE WHEN i % 10 = 0 THEN s + interval '200 days' END,
  CASE WHEN i % 10 = 0 THEN 'moved_away' END,
  CASE WHEN i % 13 = 0 AND i % 10 <> 0 AND i % 12 <> 0 AND i % 11 <> 0 THEN (:now - interval '100 days')::date END,
  CASE WHEN i % 13 = 0 AND i % 10 <> 0 AND i % 12 <> 0 AND i % 11 <> 0 THEN 'cdd' END,
  CASE WHEN i % 13 = 0 AND i % 10 <> 0 AND i % 12 <> 0 AND i % 11 <> 0 THEN 'Employeur' END,
  s, s, 1
FROM (SELECT i, 1 + (i::bigint * 7919) % 400 AS r, :now - (random() * 700 + 40) * interval '1 day' AS s
      FROM generate_series(1, :n) i) p;
UPDATE pathway SET stage = 'support' WHERE stage = 'employed' AND employment_started_on IS NULL;
UPDATE pathway SET orientation = 'professional', oriented_at = started_at + interval '20 days'
  WHERE stage = 'support' AND orientation IS NULL;
-- Meetings: a held one, a missed or planned one, and check-ins for employed pathways.
INSERT INTO meeting (territory_id, pathway_id, organizer_id, agency_id, kind, scheduled_at, duration_minutes, channel,
  status, notes_visibility, recorded_at, created_at, updated_at, version)
SELECT 1, p.id, coalesce(p.referent_id, 1), p.lead_agency_id, 'follow_up', t, 45, 'in_person', 'held', 'agency', t, t, t, 1
FROM (SELECT id, referent_id, lead_agency_id, started_at + (random() * (:now - started_at)) AS t FROM pathway) p;
INSERT INTO meeting (territory_id, pathway_id, organizer_id, agency_id, kind, scheduled_at, duration_minutes, channel,
  status, notes_visibility, recorded_at, created_at, updated_at, version)
SELECT 1, p.id, coalesce(p.referent_id, 1), p.lead_agency_id, 'follow_up', t, 45, 'phone',
  CASE WHEN p.id % 3 = 0 THEN 'missed' ELSE 'planned' END, 'agency', CASE WHEN p.id % 3 = 0 THEN t END, t, t, 1
FROM (SELECT id, referent_id, lead_agency_id, :now + (random() * 60 - 30) * interval '1 day' AS t FROM pathway) p;
INSERT INTO meeting (territory_id, pathway_id, organizer_id, agency_id, kind, scheduled_at, duration_minutes, channel,
  status, notes_visibility, created_at, updated_at, version)
SELECT 1, p.id, p.referent_id, p.lead_agency_id, 'checkin', p.employment_started_on + m * interval '1 month' + interval '9 hours',
  30, 'phone', 'planned', 'agency', :now, :now, 1
FROM pathway p CROSS JOIN (VALUES (1), (3), (6)) AS months(m) WHERE p.stage = 'employed';
-- Barriers (one per pathway, a third past due) and referrals (one in ten).
INSERT INTO barrier (territory_id, pathway_id, category, title, owner_agency_id, due_on, status, created_by_id,
  created_at, updated_at, version)
SELECT 1, id, (ARRAY['housing','mobility','health','family','language','digital','administrative','financial',
  'training','employment','justice','other'])[1 + id % 12], 'Frein', lead_agency_id,
  (:now + (random() * 90 - 30) * interval '1 day')::date, CASE WHEN id % 4 = 0 THEN 'in_progress' ELSE 'open' END,
  1, :now, :now, 1 FROM pathway;
INSERT INTO referral (territory_id, barrier_id, agency_id, status, sent_at, sent_by_id, created_at, updated_at, version)
SELECT 1, b.id, 1 + (b.id + 3) % 10, 'sent', :now - (random() * 20) * interval '1 day', 1, :now, :now, 1
FROM barrier b WHERE b.id % 10 = 0;
-- Contracts for two thirds of oriented pathways, some ending soon.
INSERT INTO contract (territory_id, pathway_id, kind, signed_on, starts_on, ends_on, recorded_by_id,
  created_at, updated_at, version)
SELECT 1, id, 'cer', (oriented_at + interval '10 days')::date, (oriented_at + interval '10 days')::date,
  (greatest(oriented_at + interval '10 days', :now) + (random() * 180) * interval '1 day')::date, 1, :now, :now, 1
FROM pathway WHERE oriented_at IS NOT NULL AND id % 3 <> 0;
SELECT setval(pg_get_serial_sequence(t, 'id'), (SELECT coalesce(max(id), 1) FROM territory))
  FROM (VALUES ('territory')) v(t);
"""

SEQUENCE_TABLES = (
    "territory",
    "agency",
    "user_account",
    "beneficiary",
    "pathway",
    "meeting",
    "barrier",
    "referral",
    "contract",
    "alert",
)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pathways", type=int, default=100_000)
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--prefix", default="parcours_bench", help="name prefix of the scratch database")
    parser.add_argument(
        "--database", help="re-run the scans on a database kept by --keep (its alerts are deleted first)"
    )
    parser.add_argument("--profile", action="store_true", help="print every statement taking more than 50 ms")
    args = parser.parse_args()

    with (
        _existing_app(args.url, args.database)
        if args.database
        else scratch_app(args.url, prefix=args.prefix, keep=args.keep)
    ):
        from app.extensions import db
        from app.followup.scan import scan_follow_ups

        if args.profile:
            _profile(db.engine)
        if args.database:
            now = _reset(db)
        else:
            now = _seed(db, args.pathways)
        counts = {
            t: db.session.scalar(sa.text(f"SELECT count(*) FROM {t}"))
            for t in ("pathway", "meeting", "barrier", "referral", "contract")
        }
        print(f"rows {counts}")
        _run(scan_follow_ups, now, counts["pathway"])


@contextmanager
def _existing_app(url: str, name: str) -> Iterator[Any]:
    os.environ.update(
        DATABASE_URL=sa.make_url(url).set(database=name).render_as_string(hide_password=False),
        PARCOURS_ENV="development",
        SCHEDULER_IN_PROCESS="0",
    )
    from app import create_app

    app = create_app()
    with app.app_context():
        yield app


def _reset(db: Any) -> datetime:
    """Back to the state right after the seed: no alert, no scan state, summaries without alerts."""
    with db.engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE alert, scan_state")
        conn.exec_driver_sql(
            "UPDATE pathway SET open_alert_count = 0, first_alert_due_at = NULL "
            "WHERE open_alert_count <> 0 OR first_alert_due_at IS NOT NULL"
        )
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE pathway, alert")
        return conn.execute(sa.text("SELECT created_at FROM territory WHERE id = 1")).scalar_one()


def _profile(engine: sa.Engine) -> None:
    @sa.event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        conn.info["bench.started"] = time.perf_counter()

    @sa.event.listens_for(engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        elapsed = time.perf_counter() - conn.info.pop("bench.started", time.perf_counter())
        if elapsed > 0.05:
            print(f"    {elapsed:6.2f} s  {' '.join(statement.split())[:150]}")


def _seed(db: Any, pathways: int) -> datetime:
    now = datetime.now(timezone.utc)
    started = time.perf_counter()
    with db.engine.begin() as conn:
        for statement in [s for s in SEED_SQL.split(";\n") if s.strip()]:
            conn.execute(sa.text(statement), {"now": now, "n": pathways})
        for table in SEQUENCE_TABLES:
            conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
        # The history was written before: only what the scheduler's next runs see as new is new.
        for table in ("pathway", "meeting", "barrier", "referral", "contract"):
            conn.execute(
                sa.text(f"UPDATE {table} SET updated_at = least(updated_at, :now) - interval '1 day'"), {"now": now}
            )
        conn.exec_driver_sql("ANALYZE")
    print(f"seeded in {time.perf_counter() - started:.1f} s")
    return now


def _run(scan_follow_ups: Any, now: datetime, pathways: int) -> None:
    timings = []
    runs = [
        ("first scan (full)", now, False),
        ("re-run 15 min later (incremental, nothing to change)", now + timedelta(minutes=15), False),
        ("re-run the next day (incremental: deadlines crossed overnight)", now + timedelta(days=1), False),
        ("re-run forced full (nothing to change)", now + timedelta(days=1), True),
    ]
    for label, at, full in runs:
        started = time.perf_counter()
        result = scan_follow_ups(at, full=full)
        elapsed = time.perf_counter() - started
        timings.append(elapsed)
        print(
            f"{label}: {elapsed:.2f} s — {result}, {sum(result.open_by_kind.values())} open; "
            f"peak RSS {peak_rss_mb():.0f} MB"
        )
    assert result.raised == 0 and result.resolved == 0, "the forced full re-run must write nothing"
    print(
        f"RESULT pathways={pathways} first={timings[0]:.2f}s rerun={timings[1]:.2f}s "
        f"next_day={timings[2]:.2f}s full_rerun={timings[3]:.2f}s "
        f"peak_rss={peak_rss_mb():.0f}MB load={os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
