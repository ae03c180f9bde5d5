"""Scheduler wiring, CLI and daily digest."""
from __future__ import annotations

from datetime import datetime, timezone
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from apscheduler.schedulers.blocking import BlockingScheduler

from app.followup import scheduler
from app.followup.digest import send_daily_digest
from app.followup.models import AlertKind
from app.followup.scan import scan_follow_ups
from tests.followup.test_scan import new_pathway, open_alerts, paris


@pytest.fixture
def in_process_app(app):
    app.config.update(SCHEDULER_IN_PROCESS=True, TESTING=False)
    yield app
    app.config.update(SCHEDULER_IN_PROCESS=False, TESTING=True)


FLASK = ["/srv/.venv/bin/flask", "--app", "wsgi"]


@pytest.mark.parametrize(
    ("argv", "environ", "expected"),
    [
        (["/srv/.venv/bin/gunicorn", "wsgi:app"], {}, False),  # never in gunicorn workers
        ([*FLASK, "run", "--host", "127.0.0.1"], {}, True),  # what `make run` does
        ([*FLASK, "run", "--debug"], {}, False),  # the reloader's watcher process…
        ([*FLASK, "run", "--debug"], {"WERKZEUG_RUN_MAIN": "true"}, True),  # …and its serving child
        ([*FLASK, "run"], {"FLASK_DEBUG": "1"}, False),
        ([*FLASK, "run", "--debug", "--no-reload"], {}, True),
        ([*FLASK, "scheduler", "scan"], {}, False),
    ],
)
def test_only_the_development_server_starts_the_in_process_scheduler(in_process_app, argv, environ, expected):
    assert scheduler.should_start_in_process(in_process_app, argv=argv, environ=environ) is expected


def test_without_the_setting_nothing_starts(app) -> None:
    assert not scheduler.should_start_in_process(app, argv=["flask", "run"], environ={})


def test_schedulers_are_configured_as_designed(app) -> None:
    app.config["SCHEDULER_INTERVAL_MINUTES"] = 7
    try:
        blocking = scheduler.blocking_scheduler(app)
        assert isinstance(blocking, BlockingScheduler) and str(blocking.timezone) == "Europe/Paris"
        sched = scheduler.background_scheduler(app)
        sched.start(paused=True)  # jobs get their defaults once the scheduler has started
        try:
            assert str(sched.timezone) == "Europe/Paris"
            scan = sched.get_job("scan_follow_ups")
            assert scan.trigger.interval.total_seconds() == 7 * 60
            assert scan.coalesce is True and scan.max_instances == 1
            digest = sched.get_job("daily_digest")
            assert str(digest.trigger.fields[5]) == "7" and str(digest.trigger.fields[6]) == "30"  # 07:30 Paris
            retry = sched.get_job("daily_digest_retry")  # failed digests, every half hour 08:00–19:30
            assert str(retry.trigger.fields[5]) == "8-19" and str(retry.trigger.fields[6]) == "0,30"
            retention = sched.get_job("retention")
            assert str(retention.trigger.fields[5]) == "3"  # 03:00 Paris, daily
            notifications = sched.get_job("notifications")  # the outbox of app/notifications
            assert notifications.trigger.interval.total_seconds() == 60
        finally:
            sched.shutdown(wait=False)
    finally:
        app.config["SCHEDULER_INTERVAL_MINUTES"] = 15


def test_scan_job_runs_a_scan_in_an_app_context(app, referent) -> None:
    from app.extensions import db
    from app.followup.models import Alert

    pathway_id = new_pathway(referent, datetime(2020, 1, 6, tzinfo=timezone.utc), orient=None).id
    scheduler.scan_job(app)  # its own app context; removes the session when done
    kinds = db.session.scalars(db.select(Alert.kind).where(Alert.pathway_id == pathway_id)).all()
    assert AlertKind.ORIENTATION_LATE in kinds


def test_cli_scan_with_a_given_now(runner, referent) -> None:
    pathway = new_pathway(referent, paris(2026, 1, 5), orient=None)
    result = runner.invoke(args=["scheduler", "scan", "--now", "2026-03-01T08:00:00+01:00"])
    assert result.exit_code == 0, result.output
    assert "raised" in result.output and "orientation_late: " in result.output
    assert AlertKind.ORIENTATION_LATE in {a.kind for a in open_alerts(pathway)}


@pytest.mark.parametrize("bad", ["yesterday", "2026-03-01T08:00:00"])
def test_cli_scan_refuses_a_bad_or_naive_now(runner, bad) -> None:
    result = runner.invoke(args=["scheduler", "scan", "--now", bad])
    assert result.exit_code != 0 and "--now" in result.output


def test_daily_digest_lists_each_referents_alerts_without_notes(app, referent, tmp_path: Path) -> None:
    app.config.update(MAIL_OUTBOX_DIR=str(tmp_path), MAIL_SERVER="")
    new_pathway(referent, paris(2026, 1, 5), orient=None)
    scan_follow_ups(paris(2026, 3, 1))
    assert send_daily_digest(paris(2026, 3, 2, 7, 30)).sent == 1
    (eml,) = tmp_path.glob("*.eml")
    message = BytesParser(policy=policy.default).parse(eml.open("rb"))
    assert message["To"] == referent.email
    body = message.get_content()
    assert "Thibault Morel" in body and "orientation" in body.lower()
    assert "lundi 2 mars 2026" in body
