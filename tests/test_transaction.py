"""One transaction per service call: a failure half-way leaves nothing behind (DESIGN §3.8)."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.errors import Conflict, StaleVersion
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


# --- nesting (STYLE 13): a SAVEPOINT inside, a commit only at the top ----------------------------------


def _entry(world: World, body: str) -> Entry:
    return Entry(territory_id=world.territory.id, pathway_id=world.pathway.id, author_id=world.referent.id,
                 author_agency_id=world.ft.id, kind=EntryKind.NOTE, visibility=Visibility.TEAM, body=body)


def _bodies(world: World) -> set[str]:
    return set(db.session.scalars(sa.select(Entry.body).where(Entry.pathway_id == world.pathway.id)))


def test_a_failed_inner_unit_of_work_undoes_only_its_own_writes(world: World) -> None:
    with unit_of_work() as session:
        session.add(_entry(world, "extérieur, gardé"))
        with pytest.raises(RuntimeError):
            with unit_of_work() as inner:
                inner.add(_entry(world, "intérieur, annulé"))
                inner.flush()
                raise RuntimeError("boom")
        session.add(_entry(world, "après, gardé"))
    bodies = _bodies(world)
    assert {"extérieur, gardé", "après, gardé"} <= bodies and "intérieur, annulé" not in bodies


def test_a_database_refusal_in_an_inner_unit_of_work_is_a_conflict_and_keeps_the_outer_work(world: World) -> None:
    with unit_of_work() as session:
        session.add(_entry(world, "extérieur, gardé"))
        with pytest.raises(Conflict):
            with unit_of_work() as inner:
                inner.add(Pathway(territory_id=world.territory.id, beneficiary_id=world.pathway.beneficiary_id,
                                  lead_agency_id=world.ft.id, stage=Stage.INTAKE, started_at=T0))
    assert "extérieur, gardé" in _bodies(world)


def test_an_inner_unit_of_work_commits_nothing_until_the_outermost_ends(world: World) -> None:
    with pytest.raises(RuntimeError):
        with unit_of_work() as session:
            with unit_of_work() as inner:
                inner.add(_entry(world, "intérieur, réussi"))
            session.add(_entry(world, "extérieur"))
            raise RuntimeError("the outer work fails after the inner one succeeded")
    assert not {"intérieur, réussi", "extérieur"} & _bodies(world)


def test_a_stale_write_in_an_inner_unit_of_work_is_a_stale_version(world: World) -> None:
    pathway = world.pathway
    assert pathway.version is not None  # loaded: the ORM will write `WHERE version = <this>`
    with pytest.raises(StaleVersion):
        with unit_of_work():
            # Another writer moves the version under our feet (a concurrent edit).
            db.session.execute(sa.update(Pathway.__table__).where(Pathway.__table__.c.id == pathway.id)
                               .values(version=Pathway.__table__.c.version + 1))
            with unit_of_work():
                pathway.stage = Stage.DIAGNOSIS


# --- PATCH /api/v1/pathways/{id}: orientation and stage, all or nothing ---------------------------------


@pytest.fixture
def patch_pathway(client):
    """`patch_pathway(user, pathway_id, body, version)`: the real API call, with a Bearer token."""
    from app.accounts.tokens import issue_token

    def call(user, pathway_id: int, body: dict, version: int):
        headers = {"Authorization": f"Bearer {issue_token(user).token}", "If-Match": f'"{version}"'}
        return client.patch(f"/api/v1/pathways/{pathway_id}", json=body, headers=headers)

    return call


def test_patch_pathway_whose_second_part_fails_changes_nothing(patch_pathway, world: World, monkeypatch) -> None:
    """Orientation then stage: when the stage change is refused (here a concurrent edit between the
    two, made through the real database), the orientation is not kept either."""
    from app.audit.models import AuditEvent
    from app.pathways import services as pathway_services

    pathway_id, version = world.pathway.id, world.pathway.version
    real_set_stage = pathway_services.set_stage

    def set_stage_after_a_concurrent_edit(*args, **kwargs):
        db.session.execute(sa.update(Pathway.__table__).where(Pathway.__table__.c.id == pathway_id)
                           .values(version=Pathway.__table__.c.version + 1))
        return real_set_stage(*args, **kwargs)

    monkeypatch.setattr(pathway_services, "set_stage", set_stage_after_a_concurrent_edit)
    pathway_events = sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.pathway_id == pathway_id)
    events_before = db.session.scalar(pathway_events)
    entries_before = _bodies(world)

    response = patch_pathway(world.referent, pathway_id, {"orientation": "social", "stage": "diagnosis"}, version)

    assert response.status_code == 409, response.get_json()
    db.session.expire_all()
    row = db.session.execute(sa.select(Pathway.__table__.c.orientation, Pathway.__table__.c.stage,
                                       Pathway.__table__.c.version)
                             .where(Pathway.__table__.c.id == pathway_id)).one()
    assert (row.orientation, row.stage, row.version) == ("professional", Stage.SUPPORT.value, version)
    assert db.session.scalar(pathway_events) == events_before  # no « pathway.oriented » event
    assert _bodies(world) == entries_before  # no « réorientation » entry


def test_patch_pathway_with_both_parts_applies_both(patch_pathway, world: World) -> None:
    response = patch_pathway(world.referent, world.pathway.id, {"orientation": "social", "stage": "diagnosis"},
                             world.pathway.version)
    assert response.status_code == 200, response.get_json()
    db.session.expire_all()
    assert (world.pathway.orientation.value, world.pathway.stage) == ("social", Stage.DIAGNOSIS)
