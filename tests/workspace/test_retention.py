"""DESIGN §3.9: records anonymised `retention_months` after the last pathway closed; audit events
purged after `audit_retention_months`."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.barriers.models import Barrier
from app.extensions import db
from app.followup.digest import send_daily_digest
from app.followup.models import DigestDelivery
from app.followup.scan import scan_follow_ups
from app.meetings.models import Meeting
from app.pathways import services
from app.pathways.models import Beneficiary, ClosureReason, Entry
from app.transaction import RETENTION_LOCK_KEY
from app.workspace.retention import ANONYMISED_TEXT, apply_retention
from tests.world import T0, World

CLOSED = T0 + timedelta(days=20)  # 25 January 2026


def _close(world: World) -> None:
    services.close_pathway(world.referent, world.pathway, reason=ClosureReason.MOVED_AWAY, now=CLOSED)


def test_a_record_is_kept_until_the_retention_delay_then_anonymised(world: World) -> None:
    _close(world)
    person_id = world.pathway.beneficiary_id
    assert apply_retention(datetime(2028, 1, 24, tzinfo=timezone.utc)).anonymised_people == 0  # 24 months − 1 day
    assert db.session.get(Beneficiary, person_id).last_name == "Benali"

    result = apply_retention(datetime(2028, 1, 26, tzinfo=timezone.utc))
    assert result.anonymised_people == 1
    person = db.session.get(Beneficiary, person_id)
    assert (person.first_name, person.last_name, person.caf_number, person.search_name) == (
        "Personne",
        "anonymisée",
        None,
        "",
    )
    assert person.anonymised_at is not None
    bodies = set(db.session.scalars(sa.select(Entry.body).where(Entry.pathway_id == world.pathway.id)))
    assert bodies == {ANONYMISED_TEXT}
    assert set(db.session.scalars(sa.select(Meeting.notes).where(Meeting.pathway_id == world.pathway.id))) == {None}
    assert set(db.session.scalars(sa.select(Barrier.title).where(Barrier.pathway_id == world.pathway.id))) == {
        ANONYMISED_TEXT
    }
    # Counts stay for statistics; a second run changes nothing.
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id)).where(Meeting.pathway_id == world.pathway.id)) == 2
    assert apply_retention(datetime(2028, 2, 1, tzinfo=timezone.utc)).anonymised_people == 0


def test_an_open_pathway_is_never_anonymised(world: World) -> None:
    assert apply_retention(datetime(2035, 1, 1, tzinfo=timezone.utc)).anonymised_people == 0
    assert db.session.get(Beneficiary, world.pathway.beneficiary_id).last_name == "Benali"


def test_a_new_pathway_after_a_closed_one_keeps_the_record(world: World) -> None:
    _close(world)
    services.open_pathway(world.referent, world.pathway.beneficiary_id, now=CLOSED + timedelta(days=700))
    assert apply_retention(datetime(2029, 1, 1, tzinfo=timezone.utc)).anonymised_people == 0


def test_the_territory_setting_decides_the_delay(world: World) -> None:
    _close(world)
    world.territory.retention_months = 36
    db.session.flush()
    assert apply_retention(datetime(2028, 6, 1, tzinfo=timezone.utc)).anonymised_people == 0
    assert apply_retention(datetime(2029, 2, 1, tzinfo=timezone.utc)).anonymised_people == 1


def test_audit_events_are_purged_after_their_retention(world: World) -> None:
    before = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.pathway_id == world.pathway.id))
    assert before > 0
    assert apply_retention(datetime(2026, 12, 31, tzinfo=timezone.utc)).purged_audit_events == 0
    purged = apply_retention(datetime(2027, 2, 1, tzinfo=timezone.utc)).purged_audit_events
    assert purged >= before
    assert (
        db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.pathway_id == world.pathway.id)) == 0
    )


def test_other_territories_keep_their_own_settings(world: World) -> None:
    world.territory.audit_retention_months = 36
    db.session.flush()
    assert apply_retention(datetime(2027, 2, 1, tzinfo=timezone.utc)).purged_audit_events == 0


def test_cli_retention(runner, world: World) -> None:
    _close(world)
    result = runner.invoke(args=["scheduler", "retention", "--now", "2028-03-01T00:00:00+00:00"])
    assert result.exit_code == 0, result.output
    assert "1 record(s) anonymised" in result.output


# --- mail copies in the outbox (MAIL_OUTBOX_DIR) ------------------------------------------------------


@pytest.fixture
def outbox(app, tmp_path: Path):
    keys = ("MAIL_OUTBOX_DIR", "MAIL_SERVER", "MAIL_OUTBOX_RETENTION_DAYS")
    previous = {key: app.config.get(key) for key in keys}
    app.config.update(MAIL_OUTBOX_DIR=str(tmp_path), MAIL_SERVER="")
    yield tmp_path
    for key, value in previous.items():
        if value is None:
            app.config.pop(key, None)
        else:
            app.config[key] = value


def test_retention_deletes_the_digest_copies_naming_an_anonymised_person(app, outbox: Path, world: World) -> None:
    app.config["MAIL_OUTBOX_RETENTION_DAYS"] = 100_000  # only the name rule here
    services.create_beneficiary(world.colleague, {"first_name": "Thibault", "last_name": "Roux"},
                                referent=world.colleague, now=T0)
    alerts_day = T0 + timedelta(days=60)
    scan_follow_ups(alerts_day)
    assert send_daily_digest(alerts_day).sent == 2
    by_recipient = {eml.name.split("-", 3)[-1]: eml for eml in outbox.glob("*.eml")}
    mine, other = by_recipient["referent_at_ft.test.eml"], by_recipient["collegue_at_ft.test.eml"]
    assert "Sarah Benali" in _body(mine) and "Thibault Roux" in _body(other)

    services.close_pathway(world.referent, world.pathway, reason=ClosureReason.MOVED_AWAY, now=alerts_day)
    assert apply_retention(alerts_day + timedelta(days=30)).purged_mail_copies == 0  # not anonymised yet: kept
    result = apply_retention(alerts_day + timedelta(days=800))
    assert result.anonymised_people == 1 and result.purged_mail_copies == 1
    assert not mine.exists() and other.exists()  # Thibault Roux's referent keeps hers


def test_retention_deletes_outbox_copies_older_than_the_setting(app, outbox: Path, world: World) -> None:
    now = datetime.now(timezone.utc)
    old, recent, other = outbox / "old.eml", outbox / "recent.eml", outbox / "notes.txt"
    for path, age in ((old, timedelta(days=7, hours=1)), (recent, timedelta(days=6)), (other, timedelta(days=30))):
        path.write_bytes(b"Subject: x\n\nBonjour")
        stamp = (now - age).timestamp()
        os.utime(path, (stamp, stamp))
    assert apply_retention(now).purged_mail_copies == 1  # default: 7 days
    assert (old.exists(), recent.exists(), other.exists()) == (False, True, True)  # only .eml mail copies
    app.config["MAIL_OUTBOX_RETENTION_DAYS"] = 2
    assert apply_retention(now).purged_mail_copies == 1 and not recent.exists()


def test_digest_records_go_with_the_audit_retention(outbox: Path, world: World) -> None:
    alerts_day = T0 + timedelta(days=60)
    scan_follow_ups(alerts_day)
    assert send_daily_digest(alerts_day).sent == 1
    count = sa.select(sa.func.count(DigestDelivery.id))
    assert db.session.scalar(count) == 1
    assert apply_retention(alerts_day + timedelta(days=300)).purged_digest_deliveries == 0
    assert apply_retention(alerts_day + timedelta(days=370)).purged_digest_deliveries == 1
    assert db.session.scalar(count) == 0


def test_retention_skips_while_another_process_applies_it(world: World, dialect) -> None:
    if dialect != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    _close(world)
    with db.engine.connect() as other_process:
        other_process.execute(sa.select(sa.func.pg_advisory_lock(RETENTION_LOCK_KEY)))
        try:
            result = apply_retention(datetime(2028, 3, 1, tzinfo=timezone.utc))
            assert result.skipped and result.anonymised_people == 0
        finally:
            other_process.execute(sa.select(sa.func.pg_advisory_unlock(RETENTION_LOCK_KEY)))
            other_process.commit()
    assert db.session.get(Beneficiary, world.pathway.beneficiary_id).last_name == "Benali"
    assert apply_retention(datetime(2028, 3, 1, tzinfo=timezone.utc)).anonymised_people == 1


def _body(path: Path) -> str:
    from email import policy
    from email.parser import BytesParser

    return BytesParser(policy=policy.default).parsebytes(path.read_bytes()).get_content()
