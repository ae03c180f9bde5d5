"""APScheduler 3 wiring. The jobs are thin: an app context, then a plain function with its own tests.

Production: `flask scheduler run` is its own process (a BlockingScheduler); several may run: each
job takes a PostgreSQL advisory lock (app.transaction), so only one process scans, sends the digest
or applies retention at a time, and the digest records what it sent (one per referent and day;
failed mails retried every half hour until the evening). Development: `make run`
sets SCHEDULER_IN_PROCESS=1 and the Flask development server starts a BackgroundScheduler.
Gunicorn workers never start one.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from app.core.observability import observe_scan
from app.core.timefmt import ZONE_NAME
from app.extensions import db
from app.followup import steering
from app.followup.digest import retry_digests, send_daily_digest
from app.followup.scan import scan_follow_ups
from app.notifications.services import send_pending_notifications
from app.transaction import unit_of_work
from app.workspace.exports import purge_expired_exports, run_pending_exports
from app.workspace.retention import apply_retention

log = logging.getLogger("parcours.scheduler")

TIMEZONE = ZONE_NAME  # the jobs' hours are Paris hours
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}


def _run_job(app: Flask, name: str, job: Callable[[datetime], object]) -> None:
    """A job's whole life: an app context, the plain function at the current time, a clean session."""
    with app.app_context():
        try:
            log.info("%s: %s", name, job(datetime.now(timezone.utc)))
        finally:
            db.session.remove()


def scan_job(app: Flask) -> None:

    _run_job(app, "follow-up scan", _observed_scan)


def _observed_scan(now: datetime) -> object:
    """The scan, timed for the metrics (duration, alerts raised and resolved); then the steering
    deltas it appended are compacted (a first scan appends one per referent and key)."""
    started = time.perf_counter()
    result = scan_follow_ups(now)
    observe_scan(result, time.perf_counter() - started)
    compact_steering(now)
    return result


def steering_compact_job(app: Flask) -> None:

    _run_job(app, "steering counters, compaction (deltas moved)", compact_steering)


def compact_steering(_now: datetime) -> int:
    """Move the steering deltas into the rollup (app/followup/steering.py), in its own transaction."""
    with unit_of_work() as session:
        return steering.compact(session.connection())


def digest_job(app: Flask) -> None:

    _run_job(app, "daily digest (mails sent)", send_daily_digest)


def digest_retry_job(app: Flask) -> None:

    _run_job(app, "daily digest, retries", retry_digests)


def notifications_job(app: Flask) -> None:

    _run_job(app, "notifications", send_pending_notifications)


def exports_job(app: Flask) -> None:

    _run_job(app, "exports", run_pending_exports)


def exports_purge_job(app: Flask) -> None:

    _run_job(app, "exports, purge", purge_expired_exports)


def retention_job(app: Flask) -> None:

    _run_job(app, "retention", apply_retention)


def configure(scheduler: BaseScheduler, app: Flask) -> BaseScheduler:
    minutes = int(app.config.get("SCHEDULER_INTERVAL_MINUTES", 15))
    scheduler.add_job(scan_job, "interval", minutes=minutes, args=[app], id="scan_follow_ups",
                      next_run_time=datetime.now(timezone.utc), replace_existing=True)
    scheduler.add_job(digest_job, "cron", hour=7, minute=30, args=[app], id="daily_digest",
                      replace_existing=True)
    # Today's digests that failed (mail server down, address refused…), tried again every half hour.
    scheduler.add_job(digest_retry_job, "cron", hour="8-19", minute="0,30", args=[app], id="daily_digest_retry",
                      replace_existing=True)
    # Notifications to professionals (app/notifications): recorded by the writes, sent here.
    scheduler.add_job(notifications_job, "interval", minutes=1, args=[app], id="notifications",
                      replace_existing=True)
    # « Pilotage » reads the rollup plus the deltas appended since: keep the deltas few.
    scheduler.add_job(steering_compact_job, "interval", minutes=1, args=[app], id="steering_compact",
                      replace_existing=True)
    # Exports of long lists (« Mes exports »): built here, their files deleted 48 h after.
    scheduler.add_job(exports_job, "interval", minutes=1, args=[app], id="exports", replace_existing=True)
    scheduler.add_job(exports_purge_job, "cron", minute=17, args=[app], id="exports_purge", replace_existing=True)
    scheduler.add_job(retention_job, "cron", hour=3, minute=0, args=[app], id="retention",
                      replace_existing=True)
    return scheduler


def blocking_scheduler(app: Flask) -> BlockingScheduler:
    return configure(BlockingScheduler(timezone=TIMEZONE, job_defaults=JOB_DEFAULTS), app)


def background_scheduler(app: Flask) -> BackgroundScheduler:
    return configure(BackgroundScheduler(timezone=TIMEZONE, job_defaults=JOB_DEFAULTS, daemon=True), app)


def should_start_in_process(app: Flask, argv: list[str] | None = None, environ: dict | None = None) -> bool:
    """Only the Flask development server, with SCHEDULER_IN_PROCESS=1, runs the in-process scheduler.

    Never under gunicorn or tests, and only in the reloader's serving child (not in its watcher).
    """
    argv = sys.argv if argv is None else argv
    environ = os.environ if environ is None else environ
    if not app.config.get("SCHEDULER_IN_PROCESS") or app.testing:
        return False
    program = os.path.basename(argv[0]) if argv else ""
    if "gunicorn" in program or "run" not in argv[1:]:
        return False
    if _reloader_active(argv, environ) and environ.get("WERKZEUG_RUN_MAIN") != "true":
        return False  # the reloader's watcher process: the serving child starts it
    return True


def _reloader_active(argv: list[str], environ: dict) -> bool:
    """Whether `flask run` restarts itself in a child process (--reload, or debug mode by default)."""
    if "--no-reload" in argv:
        return False
    debug = "--debug" in argv or str(environ.get("FLASK_DEBUG", "")).lower() in {"1", "true", "yes"}
    return "--reload" in argv or (debug and "--no-debug" not in argv)


def init_app(app: Flask) -> None:
    if should_start_in_process(app):
        scheduler = background_scheduler(app)
        scheduler.start()
        app.extensions["scheduler"] = scheduler
        log.info("in-process scheduler started (every %s min)", app.config["SCHEDULER_INTERVAL_MINUTES"])
