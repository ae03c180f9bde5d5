"""DESIGN §3.9: records anonymised `retention_months` after the last pathway closed; audit events
purged after `audit_retention_months`."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.barriers.models import Barrier
from app.extensions import db
from app.meetings.models import Meeting
from app.pathways import services
from app.pathways.models import Beneficiary, ClosureReason, Entry
from app.pathways.retention import ANONYMISED_TEXT, apply_retention
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
