"""The follow-up summary on `pathway` (and its copy on the team members) stays exact through every
write, in the write's own transaction: the lists that read it never show a stale order or count."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.barriers import services as barrier_services
from app.barriers.models import BarrierCategory, BarrierStatus
from app.errors import ValidationError
from app.extensions import db
from app.followup import summary
from app.meetings import services as meeting_services
from app.meetings.models import MeetingStatus
from app.pathways import services as pathway_services
from app.pathways.models import ConsentMethod, Pathway, PathwayMember
from tests.world import T0, World

NOW = T0 + timedelta(days=12)


def _fresh(world: World) -> Pathway:
    db.session.expire_all()
    return db.session.get(Pathway, world.pathway.id)


def _exact() -> None:
    assert summary.drift(db.session.connection()) == []


def test_meetings_move_the_next_and_last_meeting(world: World) -> None:
    _exact()
    assert _fresh(world).next_meeting_at is None
    at = NOW + timedelta(days=3)
    meeting = meeting_services.plan_meeting(world.referent, world.pathway, scheduled_at=at, now=NOW)
    assert _fresh(world).next_meeting_at == at
    member = db.session.scalar(sa.select(PathwayMember).where(PathwayMember.pathway_id == world.pathway.id))
    assert member.next_meeting_at == at  # the copy the team list reads
    meeting_services.reschedule_meeting(world.referent, meeting, scheduled_at=at + timedelta(days=1), now=NOW)
    assert _fresh(world).next_meeting_at == at + timedelta(days=1)
    meeting_services.record_meeting(world.referent, meeting, status=MeetingStatus.HELD, now=at + timedelta(days=2))
    pathway = _fresh(world)
    assert pathway.next_meeting_at is None and pathway.last_held_at == at + timedelta(days=1)
    _exact()


def test_barriers_count_while_open(world: World) -> None:
    assert _fresh(world).open_barrier_count == 1
    barrier_services.add_barrier(world.referent, world.pathway, category=BarrierCategory.HOUSING,
                                 title="Hébergement d'urgence", now=NOW)
    assert _fresh(world).open_barrier_count == 2
    barrier_services.update_barrier(world.referent, world.barrier, {"status": BarrierStatus.LIFTED}, now=NOW)
    assert _fresh(world).open_barrier_count == 1
    _exact()


def test_consent_decides_the_members_copy_of_who_reads_the_record(world: World) -> None:
    def shared() -> bool:
        db.session.expire_all()
        return db.session.scalar(sa.select(PathwayMember.pathway_shared).where(
            PathwayMember.pathway_id == world.pathway.id, PathwayMember.agency_id == world.caf.id))

    assert shared() is True
    pathway_services.withdraw_consent(world.referent, world.pathway)
    assert shared() is False
    pathway_services.record_consent(world.referent, _fresh(world), method=ConsentMethod.ORAL, now=NOW)
    assert shared() is True
    _exact()


def test_a_refused_write_changes_no_summary(world: World) -> None:
    before = _fresh(world).open_barrier_count
    with pytest.raises(ValidationError):
        barrier_services.add_barrier(world.referent, world.pathway, category=BarrierCategory.HOUSING,
                                     title="", now=NOW)
    assert _fresh(world).open_barrier_count == before
    _exact()


def test_drift_names_a_pathway_whose_summary_was_changed_behind_its_back(world: World) -> None:
    connection = db.session.connection()
    connection.execute(sa.update(Pathway.__table__).where(Pathway.__table__.c.id == world.pathway.id)
                       .values(open_barrier_count=7))
    assert summary.drift(connection) == [world.pathway.id]
    summary.refresh(connection, [world.pathway.id])
    assert summary.drift(connection) == []
