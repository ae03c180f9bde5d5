"""Plan, record (held / missed) and cancel appointments; plan post-employment check-ins."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta

from app import access
from app.accounts.models import User
from app.audit.services import record_event
from app.db_types import utcnow
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.meetings.models import Meeting, MeetingChannel, MeetingKind, MeetingStatus
from app.pathways.models import Pathway, Visibility
from app.transaction import check_version, unit_of_work

PARIS = ZoneInfo("Europe/Paris")
CHECKIN_HOUR = time(10, 0)  # check-ins are proposed at 10:00, Paris time; the referent adjusts them


def get_meeting_or_404(actor: User, meeting_id: int) -> tuple[Meeting, Pathway]:
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound("Ce rendez-vous est introuvable.")
    pathway = db.session.get(Pathway, meeting.pathway_id)
    if pathway is None or not access.can_read_record(actor, pathway):
        raise NotFound("Ce rendez-vous est introuvable.")
    return meeting, pathway


def plan_meeting(
    actor: User,
    pathway: Pathway,
    *,
    scheduled_at: datetime,
    channel: MeetingChannel = MeetingChannel.IN_PERSON,
    duration_minutes: int = 45,
    location: str | None = None,
    kind: MeetingKind = MeetingKind.FOLLOW_UP,
    now: datetime | None = None,
) -> Meeting:
    access.require_manage(actor, pathway)
    if pathway.closed_at is not None:
        raise Conflict("Ce parcours est clôturé : on ne peut plus y planifier de rendez-vous.")
    now = now or utcnow()
    if scheduled_at.tzinfo is None:
        raise ValidationError("Date et heure invalides.", field="scheduled_at")
    if scheduled_at < now - timedelta(minutes=5):
        raise ValidationError("Un rendez-vous à planifier doit être dans le futur.", field="scheduled_at")
    if not 5 <= duration_minutes <= 480:
        raise ValidationError("La durée doit être comprise entre 5 minutes et 8 heures.",
                              field="duration_minutes")
    with unit_of_work() as session:
        meeting = Meeting(
            territory_id=pathway.territory_id, pathway_id=pathway.id, organizer_id=actor.id,
            agency_id=actor.agency_id, kind=MeetingKind(kind), scheduled_at=scheduled_at,
            duration_minutes=duration_minutes, channel=MeetingChannel(channel), location=location,
            status=MeetingStatus.PLANNED,
        )
        session.add(meeting)
        session.flush()
        record_event(actor, "meeting.planned", object_type="meeting", object_id=meeting.id,
                     pathway=pathway, at=now, details={"scheduled_at": scheduled_at.isoformat()})
    return meeting


def record_meeting(
    actor: User,
    meeting: Meeting,
    *,
    status: MeetingStatus,
    notes: str | None = None,
    notes_visibility: Visibility = Visibility.AGENCY,
    held_at: datetime | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Meeting:
    """Mark a meeting held (with factual notes) or missed (the person did not come)."""
    pathway = db.session.get(Pathway, meeting.pathway_id)
    access.require_manage(actor, pathway)
    now = now or utcnow()
    status = MeetingStatus(status)
    if status not in (MeetingStatus.HELD, MeetingStatus.MISSED):
        raise ValidationError("Indiquez si le rendez-vous a eu lieu ou si la personne était absente.",
                              field="status")
    if meeting.status == MeetingStatus.CANCELLED:
        raise Conflict("Ce rendez-vous a été annulé.")
    held_at = held_at or meeting.scheduled_at
    if held_at > now + timedelta(minutes=5):
        raise ValidationError("On ne peut pas renseigner un rendez-vous qui n'a pas encore eu lieu.",
                              field="held_at")
    with unit_of_work():
        check_version(meeting, expected_version)
        previous = meeting.status
        _mark_recorded(actor, meeting, pathway, status=status, held_at=held_at, notes=notes,
                       notes_visibility=notes_visibility, now=now, details={"previous": previous.value})
    return meeting


def _mark_recorded(
    actor: User, meeting: Meeting, pathway: Pathway, *, status: MeetingStatus, held_at: datetime,
    notes: str | None, notes_visibility: Visibility, now: datetime, details: dict | None = None,
) -> None:
    """Held or missed, with its notes, and the audit event; inside the caller's transaction."""
    meeting.status = status
    meeting.scheduled_at = held_at
    meeting.notes = (notes or "").strip() or None
    meeting.notes_visibility = Visibility(notes_visibility)
    meeting.recorded_at = now
    meeting.recorded_by_id = actor.id
    db.session.flush()
    record_event(actor, f"meeting.{status.value}", object_type="meeting", object_id=meeting.id, pathway=pathway,
                 at=now, details={**(details or {}), "notes_visibility": meeting.notes_visibility.value})


def log_meeting(
    actor: User,
    pathway: Pathway,
    *,
    status: MeetingStatus,
    held_at: datetime,
    notes: str | None = None,
    notes_visibility: Visibility = Visibility.AGENCY,
    channel: MeetingChannel = MeetingChannel.IN_PERSON,
    next_at: datetime | None = None,
    next_channel: MeetingChannel | None = None,
    now: datetime | None = None,
) -> tuple[Meeting, Meeting | None]:
    """Log a meeting that took place (or a no-show) and plan the next one, in one transaction.

    If a planned meeting of the pathway is due that day, it is the one recorded.
    """
    access.require_manage(actor, pathway)
    if pathway.closed_at is not None:
        raise Conflict("Ce parcours est clôturé.")
    now = now or utcnow()
    status = MeetingStatus(status)
    if status not in (MeetingStatus.HELD, MeetingStatus.MISSED):
        raise ValidationError("Indiquez si le rendez-vous a eu lieu ou si la personne était absente.",
                              field="status")
    if held_at > now + timedelta(minutes=5):
        raise ValidationError("La date de l'entretien ne peut pas être dans le futur.", field="held_at")
    if next_at is not None and next_at <= now:
        raise ValidationError("Le prochain rendez-vous doit être dans le futur.", field="next_at")
    day = held_at.astimezone(PARIS).date()
    with unit_of_work() as session:
        meeting = session.scalars(
            sa.select(Meeting).where(
                Meeting.pathway_id == pathway.id, Meeting.status == MeetingStatus.PLANNED
            ).order_by(Meeting.scheduled_at)
        ).all()
        meeting = next((m for m in meeting if m.scheduled_at.astimezone(PARIS).date() == day), None)
        if meeting is None:
            meeting = Meeting(territory_id=pathway.territory_id, pathway_id=pathway.id,
                              organizer_id=actor.id, agency_id=actor.agency_id,
                              kind=MeetingKind.FOLLOW_UP, channel=MeetingChannel(channel))
            session.add(meeting)
        _mark_recorded(actor, meeting, pathway, status=status, held_at=held_at, notes=notes,
                       notes_visibility=notes_visibility, now=now)
        next_meeting = None
        if next_at is not None:
            next_meeting = Meeting(
                territory_id=pathway.territory_id, pathway_id=pathway.id, organizer_id=actor.id,
                agency_id=actor.agency_id, kind=MeetingKind.FOLLOW_UP, scheduled_at=next_at,
                channel=MeetingChannel(next_channel or channel), status=MeetingStatus.PLANNED,
            )
            session.add(next_meeting)
            session.flush()
            record_event(actor, "meeting.planned", object_type="meeting", object_id=next_meeting.id,
                         pathway=pathway, at=now, details={"scheduled_at": next_at.isoformat()})
    return meeting, next_meeting


def cancel_meeting(
    actor: User, meeting: Meeting, *, reason: str | None = None, expected_version: int | None = None,
    now: datetime | None = None,
) -> Meeting:
    pathway = db.session.get(Pathway, meeting.pathway_id)
    access.require_manage(actor, pathway)
    now = now or utcnow()
    if meeting.status != MeetingStatus.PLANNED:
        raise Conflict("Seul un rendez-vous prévu peut être annulé.")
    with unit_of_work():
        check_version(meeting, expected_version)
        meeting.status = MeetingStatus.CANCELLED
        meeting.cancelled_at = now
        meeting.cancellation_reason = (reason or "").strip() or None
        record_event(actor, "meeting.cancelled", object_type="meeting", object_id=meeting.id,
                     pathway=pathway, at=now)
    return meeting


def reschedule_meeting(
    actor: User, meeting: Meeting, *, scheduled_at: datetime, expected_version: int | None = None,
    now: datetime | None = None,
) -> Meeting:
    pathway = db.session.get(Pathway, meeting.pathway_id)
    access.require_manage(actor, pathway)
    now = now or utcnow()
    if meeting.status != MeetingStatus.PLANNED:
        raise Conflict("Seul un rendez-vous prévu peut être déplacé.")
    if scheduled_at <= now:
        raise ValidationError("La nouvelle date doit être dans le futur.", field="scheduled_at")
    with unit_of_work():
        check_version(meeting, expected_version)
        meeting.scheduled_at = scheduled_at
        record_event(actor, "meeting.rescheduled", object_type="meeting", object_id=meeting.id,
                     pathway=pathway, at=now, details={"scheduled_at": scheduled_at.isoformat()})
    return meeting


def checkin_datetimes(started_on: date, months: list[int]) -> list[datetime]:
    """Check-in times for a job that started on `started_on`: +N months, 10:00 Paris time."""
    return [
        datetime.combine(started_on + relativedelta(months=m), CHECKIN_HOUR, tzinfo=PARIS)
        for m in sorted(set(months))
    ]


def plan_checkins(pathway: Pathway, started_on: date, *, now: datetime) -> list[Meeting]:
    """Plan post-employment check-ins with the pathway's referent (inside the caller's transaction).

    Check-ins already planned for this pathway are replaced, so recording a corrected start date
    does not pile them up.
    """
    territory = pathway.lead_agency.territory
    for old in db.session.scalars(sa.select(Meeting).where(
        Meeting.pathway_id == pathway.id, Meeting.kind == MeetingKind.CHECKIN,
        Meeting.status == MeetingStatus.PLANNED,
    )):
        old.status = MeetingStatus.CANCELLED
        old.cancelled_at = now
        old.cancellation_reason = "Date d'embauche corrigée"
    referent = db.session.get(User, pathway.referent_id)
    meetings = []
    for when in checkin_datetimes(started_on, territory.checkin_months or [1, 3, 6]):
        meeting = Meeting(
            territory_id=pathway.territory_id, pathway_id=pathway.id, organizer_id=referent.id,
            agency_id=referent.agency_id, kind=MeetingKind.CHECKIN, scheduled_at=when,
            channel=MeetingChannel.PHONE, status=MeetingStatus.PLANNED,
        )
        db.session.add(meeting)
        meetings.append(meeting)
    db.session.flush()
    return meetings
