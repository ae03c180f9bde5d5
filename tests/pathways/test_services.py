"""The rules of DESIGN §3.1–3.3 and §3.8 through the pathway services."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app import access
from app.audit.models import AuditEvent
from app.errors import Conflict, Forbidden, NotFound, StaleVersion, ValidationError
from app.extensions import db
from app.meetings.models import Meeting, MeetingKind, MeetingStatus
from app.pathways import services
from app.pathways.models import (
    Beneficiary,
    ClosureReason,
    EmploymentContractType,
    Orientation,
    Pathway,
    PathwayMember,
    ReferentAssignment,
    Stage,
)
from app.pathways.schemas import BeneficiarySchema
from app.transaction import unit_of_work
from app.validation import load
from tests.factories import UserFactory
from tests.world import T0, World


def _events(pathway: Pathway) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.pathway_id == pathway.id).order_by(AuditEvent.id)
        )
    )


# --- §3.1 one open pathway per person, one referent per pathway -------------------------------


def test_a_second_open_pathway_is_a_conflict_not_an_integrity_error(world: World) -> None:
    person_id = world.pathway.beneficiary_id
    with pytest.raises(Conflict, match="déjà un parcours ouvert"):
        services.open_pathway(world.referent, person_id)
    assert db.session.scalar(sa.select(sa.func.count()).where(Pathway.beneficiary_id == person_id)) == 1


def test_the_database_itself_refuses_a_second_open_pathway(world: World) -> None:
    """Even code that bypasses the service cannot open two pathways (partial unique index)."""
    duplicate = Pathway(
        territory_id=world.territory.id,
        beneficiary_id=world.pathway.beneficiary_id,
        lead_agency_id=world.ft.id,
        stage=Stage.INTAKE,
        started_at=T0,
    )
    with pytest.raises(Conflict, match="déjà un parcours ouvert"):
        with unit_of_work() as session:
            session.add(duplicate)
    # The raw error, without the translation, is an IntegrityError from the database.
    db.session.add(
        Pathway(
            territory_id=world.territory.id,
            beneficiary_id=world.pathway.beneficiary_id,
            lead_agency_id=world.ft.id,
            stage=Stage.INTAKE,
            started_at=T0,
        )
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_new_pathway_can_open_once_the_previous_one_is_closed(world: World) -> None:
    services.close_pathway(world.referent, world.pathway, reason=ClosureReason.MOVED_AWAY, now=T0 + timedelta(days=20))
    new = services.open_pathway(world.referent, world.pathway.beneficiary_id, now=T0 + timedelta(days=30))
    assert new.is_open and new.id != world.pathway.id


def test_the_database_refuses_two_current_referent_assignments(world: World) -> None:
    db.session.add(
        ReferentAssignment(
            territory_id=world.territory.id,
            pathway_id=world.pathway.id,
            user_id=world.colleague.id,
            agency_id=world.ft.id,
            started_at=T0,
        )
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_the_referent_must_belong_to_the_lead_agency_in_the_database(world: World) -> None:
    world.pathway.referent_id = world.partner.id  # a CAF user on an FT-led pathway
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_handover_keeps_the_history_and_moves_the_lead_agency(world: World) -> None:
    later = T0 + timedelta(days=15)
    services.assign_referent(world.referent, world.pathway, world.colleague, note="Congé", now=later)
    cd_referent = UserFactory(agency=world.cd)
    services.assign_referent(
        world.manager_cd, world.pathway, cd_referent, note="Orientation sociale", now=later + timedelta(days=1)
    )

    history = db.session.scalars(
        sa.select(ReferentAssignment)
        .where(ReferentAssignment.pathway_id == world.pathway.id)
        .order_by(ReferentAssignment.started_at)
    ).all()
    assert [a.user_id for a in history] == [world.referent.id, world.colleague.id, cd_referent.id]
    assert [a.ended_at is None for a in history] == [False, False, True]
    assert history[1].note == "Congé"
    assert world.pathway.referent_id == cd_referent.id
    assert world.pathway.lead_agency_id == world.cd.id
    # FT, the previous lead agency, stays in the team; the referent's new agency sees everything.
    members = set(
        db.session.scalars(
            sa.select(PathwayMember.agency_id).where(
                PathwayMember.pathway_id == world.pathway.id, PathwayMember.removed_at.is_(None)
            )
        )
    )
    assert world.ft.id in members and world.cd.id not in members
    assert access.record_access(cd_referent, world.pathway) == access.RecordAccess.FULL
    assert "pathway.referent_assigned" in _events(world.pathway)


def test_referent_of_another_territory_is_refused(world: World) -> None:
    with pytest.raises(NotFound):
        services.assign_referent(world.referent, world.pathway, world.stranger)


# --- §3.2 territory isolation: not found, never forbidden ----------------------------------------


@pytest.mark.parametrize("who", ["stranger", "outsider", "admin"])
def test_users_who_cannot_know_the_record_get_not_found(world: World, who: str) -> None:
    user = world.users()[who]
    with pytest.raises(NotFound):
        access.get_pathway_or_404(user, world.pathway.id)
    with pytest.raises(NotFound):
        services.orient(user, world.pathway, Orientation.SOCIAL)
    with pytest.raises(NotFound):
        services.add_entry(user, world.pathway, body="x", visibility="team")
    with pytest.raises(NotFound):
        services.close_pathway(user, world.pathway, reason=ClosureReason.OTHER)


def test_a_partner_who_may_read_gets_forbidden_for_lead_agency_actions(world: World) -> None:
    with pytest.raises(Forbidden):
        services.close_pathway(world.partner, world.pathway, reason=ClosureReason.OTHER)
    assert world.pathway.is_open


def test_duplicates_are_searched_within_the_territory_only(world: World) -> None:
    found = services.check_duplicates(world.referent, {"caf_number": "1234567"})
    assert [d.pathway.id for d in found] == [world.pathway.id]
    assert services.check_duplicates(world.stranger, {"caf_number": "1234567"}) == []


# --- §3.8 bad input never costs data; stale versions are refused ----------------------------------


def test_invalid_identity_names_each_field_and_writes_nothing(world: World) -> None:
    before = db.session.scalar(sa.select(sa.func.count(Beneficiary.id)))
    with pytest.raises(ValidationError) as excinfo:
        load(
            BeneficiarySchema(),
            {
                "first_name": "  ",
                "last_name": "Durand",
                "caf_number": "12AB",
                "birth_date": "2999-01-01",
                "nir": "1850512345678",
            },
        )
    errors = excinfo.value.errors
    assert errors["first_name"] == ["Ce champ est obligatoire."]
    assert "7 chiffres" in errors["caf_number"][0]
    assert "futur" in errors["birth_date"][0]
    assert errors["nir"] == ["Champ inconnu."]  # no NIR, ever
    assert db.session.scalar(sa.select(sa.func.count(Beneficiary.id))) == before


def test_a_failed_write_rolls_back_everything(world: World) -> None:
    """log_meeting with an invalid next date writes neither the meeting nor the next one."""
    from app.meetings import services as meetings

    before = db.session.scalar(sa.select(sa.func.count(Meeting.id)))
    now = T0 + timedelta(days=12)
    with pytest.raises(ValidationError) as excinfo:
        meetings.log_meeting(
            world.referent,
            world.pathway,
            status=MeetingStatus.HELD,
            held_at=now - timedelta(hours=1),
            notes="Entretien.",
            next_at=now - timedelta(days=1),
            now=now,
        )
    assert excinfo.value.field == "next_at"
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == before


def test_a_stale_version_is_refused_and_changes_nothing(world: World) -> None:
    seen_version = world.pathway.version
    services.orient(
        world.colleague, world.pathway, Orientation.SOCIAL, expected_version=seen_version, now=T0 + timedelta(days=3)
    )
    with pytest.raises(StaleVersion):
        services.orient(
            world.referent,
            world.pathway,
            Orientation.SOCIO_PROFESSIONAL,
            expected_version=seen_version,
            now=T0 + timedelta(days=3),
        )
    db.session.refresh(world.pathway)
    assert world.pathway.orientation == Orientation.SOCIAL


def test_a_concurrent_update_behind_the_orms_back_is_detected(world: World) -> None:
    """Two sessions edit the same row: the version column makes the second UPDATE fail (409)."""
    pathway = world.pathway
    table = Pathway.__table__  # Core UPDATE: the session's copy keeps the old version, as another process's would
    db.session.execute(sa.update(table).where(table.c.id == pathway.id).values(version=table.c.version + 1))
    with pytest.raises(StaleVersion):
        services.set_stage(world.referent, pathway, Stage.DIAGNOSIS)


def test_enum_values_are_checked_by_the_database(world: World) -> None:
    with pytest.raises(IntegrityError):
        db.session.execute(sa.text("UPDATE pathway SET stage = 'lost' WHERE id = :id"), {"id": world.pathway.id})
    db.session.rollback()


def test_a_closed_pathway_must_have_a_date_and_a_reason_in_the_database(world: World) -> None:
    with pytest.raises(IntegrityError):
        db.session.execute(sa.text("UPDATE pathway SET stage = 'closed' WHERE id = :id"), {"id": world.pathway.id})
    db.session.rollback()


# --- services: each writes what it says, and an audit event ---------------------------------------


def test_orientation_moves_to_support_and_reorientation_is_journaled(world: World) -> None:
    from app.pathways.models import Entry, EntryKind

    assert world.pathway.stage == Stage.SUPPORT
    services.orient(world.referent, world.pathway, Orientation.SOCIAL, now=T0 + timedelta(days=5))
    kinds = db.session.scalars(sa.select(Entry.kind).where(Entry.pathway_id == world.pathway.id)).all()
    assert EntryKind.REORIENTATION in kinds
    assert _events(world.pathway).count("pathway.oriented") == 2


def test_orientation_cannot_be_dated_in_the_future(world: World) -> None:
    now = T0 + timedelta(days=5)
    with pytest.raises(ValidationError) as excinfo:
        services.orient(world.referent, world.pathway, Orientation.SOCIAL, oriented_at=now + timedelta(days=1), now=now)
    assert excinfo.value.field == "oriented_at"


def test_return_to_work_plans_checkins_with_the_same_referent(world: World) -> None:
    now = T0 + timedelta(days=40)
    services.record_employment(
        world.referent,
        world.pathway,
        started_on=date(2026, 2, 16),
        contract_type=EmploymentContractType.CDD,
        employer="Boulangerie Dupain",
        now=now,
    )
    assert world.pathway.stage == Stage.EMPLOYED
    checkins = db.session.scalars(
        sa.select(Meeting)
        .where(Meeting.pathway_id == world.pathway.id, Meeting.kind == MeetingKind.CHECKIN)
        .order_by(Meeting.scheduled_at)
    ).all()
    # +1, +3, +6 months on working days: Saturday 16 May and Sunday 16 August move to the Monday.
    assert [m.scheduled_at.date() for m in checkins] == [date(2026, 3, 16), date(2026, 5, 18), date(2026, 8, 17)]
    assert {m.organizer_id for m in checkins} == {world.referent.id}
    assert world.pathway.referent_id == world.referent.id
    # 10:00 Paris time, whatever the season (UTC+1 in March, UTC+2 in May).
    assert [m.scheduled_at.hour for m in checkins] == [9, 8, 8]


def test_return_to_work_uses_the_territorys_checkin_months(world: World) -> None:
    world.territory.checkin_months = [2, 12]
    services.record_employment(
        world.referent,
        world.pathway,
        started_on=date(2026, 2, 1),
        contract_type=EmploymentContractType.CDI,
        employer="Mairie",
        now=T0 + timedelta(days=40),
    )
    dates = db.session.scalars(
        sa.select(Meeting.scheduled_at)
        .where(Meeting.pathway_id == world.pathway.id, Meeting.kind == MeetingKind.CHECKIN)
        .order_by(Meeting.scheduled_at)
    ).all()
    assert [d.date() for d in dates] == [date(2026, 4, 1), date(2027, 2, 1)]


def test_closing_cancels_future_meetings_and_ends_the_assignment(world: World) -> None:
    from app.meetings import services as meetings

    now = T0 + timedelta(days=12)
    planned = meetings.plan_meeting(world.referent, world.pathway, scheduled_at=now + timedelta(days=7), now=now)
    services.close_pathway(world.referent, world.pathway, reason=ClosureReason.TRAINING, now=now)
    assert planned.status == MeetingStatus.CANCELLED
    assert world.pathway.stage == Stage.CLOSED and world.pathway.closure_reason == ClosureReason.TRAINING
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(ReferentAssignment)
            .where(ReferentAssignment.pathway_id == world.pathway.id, ReferentAssignment.ended_at.is_(None))
        )
        == 0
    )
    with pytest.raises(Conflict, match="clôturé"):
        services.orient(world.referent, world.pathway, Orientation.SOCIAL)


def test_every_service_writes_an_audit_event(world: World) -> None:
    actions = set(_events(world.pathway))
    assert {
        "beneficiary.created",
        "pathway.opened",
        "pathway.referent_assigned",
        "pathway.oriented",
        "pathway.member_added",
        "consent.recorded",
        "meeting.held",
        "barrier.added",
        "entry.added",
    } <= actions


def test_audit_events_hold_no_note_content(world: World) -> None:
    details = db.session.scalars(sa.select(AuditEvent.details).where(AuditEvent.pathway_id == world.pathway.id)).all()
    text = repr(details)
    assert "Note du référent" not in text and "logement" not in text


def test_audit_events_cannot_be_edited_or_deleted(world: World) -> None:
    event = db.session.scalars(sa.select(AuditEvent).limit(1)).one()
    event.action = "tampered"
    with pytest.raises(PermissionError):
        db.session.flush()
    db.session.rollback()


def test_consent_twice_is_a_conflict(world: World) -> None:
    from app.pathways.models import ConsentMethod

    with pytest.raises(Conflict):
        services.record_consent(world.referent, world.pathway, method=ConsentMethod.ORAL)


def test_timestamps_are_stored_and_returned_in_utc(world: World) -> None:
    db.session.expire_all()
    pathway = db.session.get(Pathway, world.pathway.id)
    assert pathway.started_at == T0
    assert pathway.started_at.tzinfo is not None and pathway.started_at.utcoffset() == timedelta(0)
    with pytest.raises(Exception, match="naive"):
        pathway.oriented_at = datetime(2026, 1, 1)  # noqa: DTZ001  (naive on purpose)
        db.session.flush()
    db.session.rollback()


def test_a_contract_signed_today_in_paris_is_accepted_just_after_midnight(world: World) -> None:
    """00:30 in Paris on 2 March is still 1 March in UTC: « today » is the Paris day."""
    from datetime import date, datetime, timezone

    from app.pathways.models import ContractKind

    now = datetime(2026, 3, 1, 23, 30, tzinfo=timezone.utc)  # 2 March, 00:30 in Paris
    contract = services.record_contract(world.referent, world.pathway, kind=ContractKind.PPAE,
                                        signed_on=date(2026, 3, 2), starts_on=date(2026, 3, 2), now=now)
    assert contract.signed_on == date(2026, 3, 2)
