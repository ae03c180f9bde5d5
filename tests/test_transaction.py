"""One transaction per service call: a failure half-way leaves nothing behind (DESIGN §3.8)."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.errors import Conflict
from app.extensions import db
from app.meetings.models import Meeting, MeetingStatus
from app.pathways.models import Entry, EntryKind, Pathway, Stage, Visibility
from app.transaction import unit_of_work
from tests.world import T0, World


def test_a_database_refusal_half_way_undoes_the_earlier_writes(world: World) -> None:
    entries_before = db.session.scalar(sa.select(sa.func.count(Entry.id)))
    with pytest.raises(Conflict):
        with unit_of_work() as session:
            session.add(Entry(territory_id=world.territory.id, pathway_id=world.pathway.id,
                              author_id=world.referent.id, author_agency_id=world.ft.id,
                              kind=EntryKind.NOTE, visibility=Visibility.TEAM, body="écrite puis annulée"))
            session.flush()
            # Second write breaks an invariant: a second open pathway for the same person.
            session.add(Pathway(territory_id=world.territory.id, beneficiary_id=world.pathway.beneficiary_id,
                                lead_agency_id=world.ft.id, stage=Stage.INTAKE, started_at=T0))
    assert db.session.scalar(sa.select(sa.func.count(Entry.id))) == entries_before


def test_a_python_error_half_way_undoes_the_earlier_writes(world: World) -> None:
    meetings_before = db.session.scalar(sa.select(sa.func.count(Meeting.id)))
    with pytest.raises(RuntimeError):
        with unit_of_work() as session:
            session.add(Meeting(territory_id=world.territory.id, pathway_id=world.pathway.id,
                                organizer_id=world.referent.id, agency_id=world.ft.id,
                                scheduled_at=T0 + timedelta(days=30), status=MeetingStatus.PLANNED))
            session.flush()
            raise RuntimeError("boom")
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == meetings_before
