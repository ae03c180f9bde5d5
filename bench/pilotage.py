"""Benchmark of « Pilotage » and of the steering counters' triggers on PostgreSQL.

    .venv/bin/python bench/pilotage.py --pathways 1000000

Creates a scratch database `h_pilotage_bench_…` (dropped at the end unless --keep), applies the
migrations, seeds N pathways with bench/scan.py's set-based SQL (the triggers count them as they
are inserted), then:
  1. runs the first full scan with the steering triggers of `alert` disabled, and again (after
     emptying `alert`) with them: the triggers' overhead on the scan's millions of alert rows;
  2. checks the counters against a recount (`check_counters`: must be empty);
  3. times `dashboard()` 50 times for a manager of the conseil départemental (whole territory) and
     for an agency's manager, and the lists behind the figures (p50 / p95, in this process).
Goals (issue #11): territory of 1 M pathways p95 ≤ 200 ms, one agency ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scan import SEED_SQL, SEQUENCE_TABLES  # noqa: E402
from scratch import DEFAULT_URL, scratch_app  # noqa: E402

ALERT_TRIGGERS = ("steering_alert_insert", "steering_alert_update", "steering_alert_delete")


def seed(conn: sa.Connection, now: datetime, n: int) -> None:
    """bench/scan.py's seed, plus two managers: one of the conseil départemental (agency 7), one of
    France Travail (agency 1)."""
    for statement in [s for s in SEED_SQL.split(";\n") if s.strip()]:
        conn.execute(sa.text(statement), {"now": now, "n": n})
    conn.execute(
        sa.text(
            "INSERT INTO user_account (id, territory_id, agency_id, email, password_hash, first_name, last_name, role, "
            "is_active_account, created_at, updated_at, version) VALUES "
            "(1001, 1, 7, 'cd@bench.test', 'x', 'Cheffe', 'CD', 'manager', true, :now, :now, 1), "
            "(1002, 1, 1, 'ft@bench.test', 'x', 'Chef', 'FT', 'manager', true, :now, :now, 1)"
        ),
        {"now": now},
    )
    for table in SEQUENCE_TABLES:
        conn.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
        )
    for table in ("pathway", "meeting", "barrier", "referral", "contract"):
        conn.execute(sa.text(f"UPDATE {table} SET updated_at = least(updated_at, :now) - interval '1 day'"), {"now": now})


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return f"p50 {1000 * statistics.median(ordered):.1f} ms, p95 {1000 * p95:.1f} ms"


def timed(label: str, call: Callable[[], Any], runs: int) -> list[float]:
    from app.extensions import db

    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
        db.session.rollback()  # a fresh transaction per request, as in the app
    print(f"{label}: {percentiles(samples)}")
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pathways", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--database", help="time the pages of this existing database (no seed, no scan)")
    args = parser.parse_args()

    if args.database:
        import os

        os.environ.update(DATABASE_URL=sa.make_url(args.url).set(database=args.database).render_as_string(
            hide_password=False), PARCOURS_ENV="development", SCHEDULER_IN_PROCESS="0")
        from app import create_app

        with create_app().app_context():
            time_pages(datetime.now(timezone.utc), args.runs, f"database={args.database} ")
        return

    with scratch_app(args.url, prefix="h_pilotage_bench", keep=args.keep):
        from app.extensions import db
        from app.followup import steering
        from app.followup.scan import scan_follow_ups

        now = datetime.now(timezone.utc)
        started = time.perf_counter()
        with db.engine.begin() as conn:
            seed(conn, now, args.pathways)
            conn.exec_driver_sql("ANALYZE")
        print(f"seeded {args.pathways} pathways (counted by the triggers) in {time.perf_counter() - started:.1f} s")

        def first_scan(label: str) -> float:
            started = time.perf_counter()
            result = scan_follow_ups(now)
            elapsed = time.perf_counter() - started
            print(f"first scan, {label}: {elapsed:.2f} s — {result}")
            return elapsed

        with db.engine.begin() as conn:
            for trigger in ALERT_TRIGGERS:
                conn.exec_driver_sql(f"ALTER TABLE alert DISABLE TRIGGER {trigger}")
        without = first_scan("alert triggers disabled")
        with db.engine.begin() as conn:
            conn.exec_driver_sql("TRUNCATE alert, scan_state")  # TRUNCATE fires no trigger
            for trigger in ALERT_TRIGGERS:
                conn.exec_driver_sql(f"ALTER TABLE alert ENABLE TRIGGER {trigger}")
            steering.rebuild_counters(conn)
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE alert")
        with_triggers = first_scan("with the steering triggers")
        print(f"trigger overhead on the first scan: {with_triggers - without:+.2f} s "
              f"({100 * (with_triggers - without) / without:+.0f} %)")

        started = time.perf_counter()
        with db.engine.begin() as conn:
            differences = steering.check_counters(conn)
        print(f"check_counters: {len(differences)} difference(s) in {time.perf_counter() - started:.1f} s")
        assert not differences, differences[:10]
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")

        time_pages(now, args.runs, f"pathways={args.pathways} scan_without_triggers={without:.2f}s "
                   f"scan_with_triggers={with_triggers:.2f}s ")


def time_pages(now: datetime, runs: int, label_prefix: str) -> None:
    """p50 / p95 of `dashboard()` and of the lists, for the CD manager (1001) and the FT one (1002)."""
    from app.accounts.models import User
    from app.extensions import db
    from app.followup import pilotage

    cd_manager = db.session.get(User, 1001)
    ft_manager = db.session.get(User, 1002)
    results = {}
    for label, manager in (("territory (CD manager)", cd_manager), ("agency (France Travail manager)", ft_manager)):
        scope = pilotage.Scope(manager)
        results[label] = timed(f"dashboard, {label}", lambda scope=scope: pilotage.dashboard(scope, now), runs)
        referent = pilotage.Scope(manager, referent_id=db.session.scalar(
            sa.select(User.id).where(User.agency_id == manager.agency_id, User.role == "professional").limit(1)
        ))
        timed(f"dashboard, {label}, one referent", lambda scope=referent: pilotage.dashboard(scope, now), 10)
        lists = {
            "alert_list": lambda scope=scope: pilotage.alert_list(scope),
            "alert_list follow-ups": lambda scope=scope: pilotage.alert_list(scope, follow_ups_only=True),
            "caseload_list": lambda scope=scope: pilotage.caseload_list(scope),
            "caseload_list without referent": lambda scope=scope: pilotage.caseload_list(
                scope, without_referent=True),
            "checkin_list": lambda scope=scope: pilotage.checkin_list(scope, now),
            "barrier_list": lambda scope=scope: pilotage.barrier_list(scope),
            "alert_list, one referent": lambda scope=referent: pilotage.alert_list(scope),
        }
        for name, call in lists.items():
            timed(f"  {name}, {label}", call, 5)
    territory, agency = (sorted(s) for s in results.values())
    print(
        f"RESULT {label_prefix}"
        f"territory_p50={1000 * statistics.median(territory):.0f}ms "
        f"territory_p95={1000 * territory[round(0.95 * len(territory)) - 1]:.0f}ms "
        f"agency_p50={1000 * statistics.median(agency):.0f}ms agency_p95={1000 * agency[round(0.95 * len(agency)) - 1]:.0f}ms"
    )


if __name__ == "__main__":
    main()
