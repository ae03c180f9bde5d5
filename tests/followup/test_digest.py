"""The daily digest goes out once per referent and Paris day, whatever the number of runs; a failed
mail does not stop the others and is sent later, once (real database, .eml files in a tmp outbox)."""

from __future__ import annotations

import smtplib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.db_types import utcnow
from app.extensions import db
from app.followup import digest
from app.followup.digest import MAX_ATTEMPTS, retry_digests, send_daily_digest
from app.followup.models import DeliveryStatus, DigestDelivery
from app.followup.scan import scan_follow_ups
from app.transaction import DIGEST_LOCK_KEY
from tests.factories import AgencyFactory, TerritoryFactory, UserFactory
from tests.followup.test_scan import new_pathway, paris

MORNING = paris(2026, 3, 2, 7, 30)


@pytest.fixture
def outbox(app, tmp_path: Path):
    previous = app.config["MAIL_OUTBOX_DIR"], app.config["MAIL_SERVER"]
    app.config.update(MAIL_OUTBOX_DIR=str(tmp_path), MAIL_SERVER="")
    yield tmp_path
    app.config["MAIL_OUTBOX_DIR"], app.config["MAIL_SERVER"] = previous


@pytest.fixture
def referents():
    """Three referents of one agency, each with a pathway never oriented: alerts open on 2 March."""
    agency = AgencyFactory(territory=TerritoryFactory())
    users = [UserFactory(agency=agency) for _ in range(3)]
    for user in users:
        new_pathway(user, paris(2026, 1, 5), orient=None)
    scan_follow_ups(paris(2026, 3, 1))
    return users


def _mails(outbox: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for eml in outbox.glob("*.eml"):
        to = eml.name.split("-", 3)[-1].removesuffix(".eml")
        counts[to] = counts.get(to, 0) + 1
    return counts


def _address(user) -> str:
    return user.email.replace("@", "_at_")


def _delivery(user) -> DigestDelivery:
    db.session.expire_all()
    return db.session.scalar(sa.select(DigestDelivery).where(DigestDelivery.user_id == user.id))


def test_two_runs_the_same_day_send_one_digest_per_referent(outbox: Path, referents) -> None:
    assert send_daily_digest(MORNING).sent == 3
    second = send_daily_digest(MORNING + timedelta(hours=2))  # the job again, or another process after it
    assert (second.sent, second.failed) == (0, 0)
    assert retry_digests(MORNING + timedelta(hours=3)).sent == 0
    assert _mails(outbox) == {_address(u): 1 for u in referents}
    assert all(_delivery(u).status == DeliveryStatus.SENT and _delivery(u).attempts == 1 for u in referents)

    assert send_daily_digest(MORNING + timedelta(days=1)).sent == 3  # a new Paris day, a new digest
    assert _mails(outbox) == {_address(u): 2 for u in referents}


def test_the_day_is_the_paris_day(outbox: Path, referents) -> None:
    assert send_daily_digest(MORNING).sent == 3
    assert send_daily_digest(datetime(2026, 3, 2, 22, 30, tzinfo=timezone.utc)).sent == 0  # 23:30 in Paris
    assert send_daily_digest(datetime(2026, 3, 2, 23, 30, tzinfo=timezone.utc)).sent == 3  # 3 March, 00:30


def test_a_failed_mail_does_not_stop_the_others_and_is_sent_once_later(outbox: Path, referents, monkeypatch) -> None:
    unlucky = referents[1]
    real_deliver = digest.deliver

    def server_refuses_one(message) -> None:
        if message["To"] == unlucky.email:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        real_deliver(message)

    monkeypatch.setattr(digest, "deliver", server_refuses_one)
    first = send_daily_digest(MORNING)
    assert (first.sent, first.failed) == (2, 1)
    assert _mails(outbox) == {_address(referents[0]): 1, _address(referents[2]): 1}
    failed = _delivery(unlucky)
    assert (failed.status, failed.attempts, failed.last_error) == (DeliveryStatus.FAILED, 1, "SMTPServerDisconnected")
    assert unlucky.email not in (failed.last_error or "")

    monkeypatch.setattr(digest, "deliver", real_deliver)  # the server is back
    retried = retry_digests(MORNING + timedelta(minutes=30))
    assert (retried.sent, retried.failed) == (1, 0)
    assert send_daily_digest(MORNING + timedelta(hours=1)).sent == 0
    assert retry_digests(MORNING + timedelta(hours=2)).sent == 0
    assert _mails(outbox) == {_address(u): 1 for u in referents}
    sent = _delivery(unlucky)
    assert (sent.status, sent.attempts, sent.last_error) == (DeliveryStatus.SENT, 2, None)
    assert sent.sent_at is not None


def test_retries_stop_after_the_last_attempt(outbox: Path, referents, monkeypatch) -> None:
    def server_down(message) -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(digest, "deliver", server_down)
    assert send_daily_digest(MORNING).failed == 3
    for i in range(1, MAX_ATTEMPTS + 2):
        retry_digests(MORNING + timedelta(minutes=30 * i))
    assert {_delivery(u).attempts for u in referents} == {MAX_ATTEMPTS}
    assert list(outbox.glob("*.eml")) == []


def test_an_interrupted_delivery_is_tried_again_only_after_its_claim_timed_out(outbox: Path, referents) -> None:
    """A run that died while handing a mail to the server leaves its row `sending`."""
    send_daily_digest(MORNING)
    for eml in outbox.glob("*.eml"):
        eml.unlink()
    row = _delivery(referents[0])
    table = DigestDelivery.__table__
    for claimed_at, expected in ((utcnow() - timedelta(minutes=1), 0), (utcnow() - timedelta(hours=1), 1)):
        db.session.execute(
            sa.update(table).where(table.c.id == row.id).values(status="sending", sent_at=None, claimed_at=claimed_at)
        )
        assert retry_digests(MORNING + timedelta(minutes=30)).sent == expected  # a live claim is left alone
    assert _mails(outbox) == {_address(referents[0]): 1}


def test_a_referent_without_open_alerts_by_the_retry_gets_nothing(outbox: Path, referents, monkeypatch) -> None:
    monkeypatch.setattr(digest, "deliver", lambda message: (_ for _ in ()).throw(OSError("down")))
    send_daily_digest(MORNING)
    monkeypatch.undo()
    from app.accounts.models import User

    db.session.get(User, referents[0].id).is_active_account = False
    db.session.flush()
    result = retry_digests(MORNING + timedelta(minutes=30))
    assert (result.sent, result.cancelled) == (2, 1)
    assert _delivery(referents[0]).status == DeliveryStatus.CANCELLED


def test_cli_digest_reports_sent_and_failed(runner, outbox: Path, referents) -> None:
    result = runner.invoke(args=["scheduler", "digest", "--now", "2026-03-02T07:30:00+01:00"])
    assert result.exit_code == 0, result.output
    assert "3 digest(s) sent, 0 failed" in result.output
    again = runner.invoke(args=["scheduler", "digest", "--now", "2026-03-02T09:30:00+01:00"])
    assert "0 digest(s) sent" in again.output and len(list(outbox.glob("*.eml"))) == 3


def test_a_second_process_holding_the_lock_makes_this_run_skip(app, outbox: Path, referents, dialect) -> None:
    """PostgreSQL: another scheduler process (here another connection) is sending the digest."""
    if dialect != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    with db.engine.connect() as other_process:
        other_process.execute(sa.select(sa.func.pg_advisory_lock(DIGEST_LOCK_KEY)))
        try:
            result = send_daily_digest(MORNING)
            assert result.skipped and result.sent == 0 and "skipped" in str(result)
            assert list(outbox.glob("*.eml")) == []
        finally:
            other_process.execute(sa.select(sa.func.pg_advisory_unlock(DIGEST_LOCK_KEY)))
            other_process.commit()
    assert send_daily_digest(MORNING).sent == 3


def test_the_digest_writes_dates_as_the_pages_do() -> None:
    """« 1er avril », not « 1 avril »: the digest's dates come from the same formatter as the pages."""
    from types import SimpleNamespace

    from app.followup.models import AlertKind, AlertStatus

    user = SimpleNamespace(first_name="Inès", email="ines@example.fr")
    person = SimpleNamespace(first_name="Thibault", last_name="Morel")
    first = SimpleNamespace(kind=AlertKind.ORIENTATION_LATE, status=AlertStatus.OPEN,
                            due_at=datetime(2026, 3, 31, 22, 0, tzinfo=timezone.utc))  # 1 April in Paris
    second = SimpleNamespace(kind=AlertKind.CONTRACT_LATE, status=AlertStatus.ACKNOWLEDGED,
                             due_at=datetime(2026, 4, 2, 8, 0, tzinfo=timezone.utc))
    message = digest.build_digest(user, [(first, person), (second, person)],
                                  datetime(2026, 4, 1, 5, 30, tzinfo=timezone.utc))
    text = message.get_content()
    assert "ce mercredi 1er avril 2026 (2 alertes)" in text
    assert "- Thibault Morel : Orientation en retard, échéance le 1er avril 2026\n" in text
    assert "- Thibault Morel : Contrat en retard, échéance le 2 avril 2026 (déjà vue)\n" in text
