"""Plan, record (held / missed) and cancel appointments; plan post-employment check-ins."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta

from app import access
from app.accounts.models import User
from app.audit.services import record_event
from app.core.timefmt import PARIS, paris_date
from app.db_types import utcnow
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.meetings import scheduling
from app.meetings.models import Meeting, MeetingChannel, MeetingKind, MeetingStatus
from app.pathways.models import Pathway, Visibility
from app.transaction import check_version, unit_of_work

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
    access.require(access.can_plan_meeting(actor, pathway), actor, pathway)
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
    """Mark a planned meeting held (with factual notes) or missed (the person did not come).

    A meeting already recorded only has its status corrected here: its notes and their author are
    left as they are (`edit_meeting_notes` changes notes, under the notes' own rule).
    """
    return update_meeting(
        actor, meeting,
        {"status": status, "held_at": held_at,
         **({"notes": notes, "notes_visibility": notes_visibility} if meeting.status == MeetingStatus.PLANNED
            else {})},
        expected_version=expected_version, now=now,
    )


def edit_meeting_notes(
    actor: User,
    meeting: Meeting,
    *,
    notes: str | None | object = ...,
    notes_visibility: Visibility | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Meeting:
    """Correct the notes of a recorded meeting, or change who may read them (DESIGN §3.3)."""
    changes: dict = {}
    if notes is not ...:
        changes["notes"] = notes
    if notes_visibility is not None:
        changes["notes_visibility"] = notes_visibility
    return update_meeting(actor, meeting, changes, expected_version=expected_version, now=now)


_UPDATE_FIELDS = {"status", "held_at", "scheduled_at", "notes", "notes_visibility", "cancellation_reason"}


def update_meeting(
    actor: User,
    meeting: Meeting,
    changes: dict,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Meeting:
    """Every change to an existing meeting, in one transaction, each under its own rule:

    - `status` held / missed records a planned meeting (`held_at`, or `scheduled_at`, the actual
      time; `notes` and `notes_visibility` written then, by the recorder) or corrects the status
      of a recorded one — never touching its notes or their author;
    - `status` cancelled cancels a planned meeting (`cancellation_reason`);
    - `scheduled_at` alone moves a planned meeting;
    - `notes` / `notes_visibility` on a recorded meeting: only whoever may read the notes may
      change them; only their author may widen who reads them (`access.can_set_meeting_notes_visibility`).
    """
    pathway = db.session.get(Pathway, meeting.pathway_id)
    access.require(access.can_record_meeting(actor, pathway), actor, pathway)
    unknown = set(changes) - _UPDATE_FIELDS
    if unknown:
        raise ValidationError("Champ inconnu.", field=sorted(unknown)[0])
    if not changes:
        raise ValidationError("Aucune modification demandée.")
    now = now or utcnow()
    status = MeetingStatus(changes["status"]) if changes.get("status") is not None else None
    touches_notes = "notes" in changes or changes.get("notes_visibility") is not None
    if meeting.status == MeetingStatus.CANCELLED:
        raise Conflict("Ce rendez-vous a été annulé.")
    with unit_of_work():
        check_version(meeting, expected_version)
        if status in (MeetingStatus.HELD, MeetingStatus.MISSED):
            if "cancellation_reason" in changes:
                raise ValidationError("Sans objet pour un rendez-vous renseigné.", field="cancellation_reason")
            held_at = changes.get("held_at") or changes.get("scheduled_at") or meeting.scheduled_at
            if held_at > now + timedelta(minutes=5):
                raise ValidationError("On ne peut pas renseigner un rendez-vous qui n'a pas encore eu lieu.",
                                      field="scheduled_at" if changes.get("scheduled_at") else "held_at")
            if meeting.status == MeetingStatus.PLANNED:
                visibility = Visibility(changes.get("notes_visibility") or Visibility.AGENCY)
                _require_visibility_allowed(actor, pathway, visibility)
                _mark_recorded(actor, meeting, pathway, status=status, held_at=held_at,
                               notes=changes.get("notes"), notes_visibility=visibility, now=now,
                               details={"previous": MeetingStatus.PLANNED.value})
                return meeting
            previous = meeting.status
            meeting.status = status
            meeting.scheduled_at = held_at
            record_event(actor, "meeting.status_corrected", object_type="meeting", object_id=meeting.id,
                         pathway=pathway, at=now, details={"previous": previous.value, "status": status.value})
        elif status == MeetingStatus.CANCELLED:
            for name in ("scheduled_at", "held_at", "notes", "notes_visibility"):
                if name in changes:
                    raise ValidationError("Sans objet pour une annulation.", field=name)
            _cancel(actor, meeting, pathway, reason=changes.get("cancellation_reason"), now=now)
            return meeting
        elif "scheduled_at" in changes and not touches_notes:
            if "cancellation_reason" in changes:
                raise ValidationError("Sans objet sans annulation.", field="cancellation_reason")
            _reschedule(actor, meeting, pathway, scheduled_at=changes["scheduled_at"], now=now)
            return meeting
        elif not touches_notes:
            raise ValidationError("Indiquez la nouvelle date du rendez-vous.", field="scheduled_at")
        if touches_notes:
            _edit_notes(actor, meeting, pathway, changes, now=now)
    return meeting


def _require_visibility_allowed(actor: User, pathway: Pathway, visibility: Visibility) -> None:
    if not access.can_write_with_visibility(actor, pathway, visibility):
        raise ValidationError("Seule la structure du référent peut réserver un écrit au référent.",
                              field="notes_visibility")


def _edit_notes(actor: User, meeting: Meeting, pathway: Pathway, changes: dict, *, now: datetime) -> None:
    """Inside the caller's transaction. Authorship never changes: the notes stay their author's."""
    if meeting.status not in (MeetingStatus.HELD, MeetingStatus.MISSED):
        raise ValidationError("Indiquez d'abord si le rendez-vous a eu lieu.", field="status")
    if "cancellation_reason" in changes:
        raise ValidationError("Sans objet pour un rendez-vous renseigné.", field="cancellation_reason")
    access.require(access.can_edit_meeting_notes(actor, meeting, pathway), actor, pathway,
                   "Seules les personnes qui peuvent lire ce compte rendu peuvent le modifier.")
    details: dict = {}
    visibility = changes.get("notes_visibility")
    if visibility is not None and Visibility(visibility) != meeting.notes_visibility:
        visibility = Visibility(visibility)
        _require_visibility_allowed(actor, pathway, visibility)
        access.require(access.can_set_meeting_notes_visibility(actor, meeting, pathway, visibility), actor,
                       pathway, "Seul l'auteur du compte rendu peut l'ouvrir à plus de lecteurs.")
        details["notes_visibility"] = {"from": meeting.notes_visibility.value, "to": visibility.value}
        meeting.notes_visibility = visibility
    if "notes" in changes:
        notes = (changes["notes"] or "").strip() or None
        if notes != meeting.notes:
            details["notes"] = "changed"
            meeting.notes = notes
    if details:
        record_event(actor, "meeting.notes_edited", object_type="meeting", object_id=meeting.id,
                     pathway=pathway, at=now, details=details)


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
    meeting.agency_id = actor.agency_id  # the notes are the recording agency's (`agency` visibility)
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
    meeting_id: int | None = None,
    now: datetime | None = None,
) -> tuple[Meeting, Meeting | None]:
    """Log a meeting that took place (or a no-show) and plan the next one, in one transaction.

    `meeting_id`: the planned meeting this one is (the form proposes the pending one, see
    `pending_meeting`). Without it, a planned meeting of the pathway due that day is the one
    recorded; otherwise a new meeting is written.
    """
    access.require(access.can_plan_meeting(actor, pathway), actor, pathway)
    _require_visibility_allowed(actor, pathway, Visibility(notes_visibility))
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
    chosen = None
    if meeting_id is not None:
        chosen = db.session.get(Meeting, meeting_id)
        if chosen is None or chosen.pathway_id != pathway.id or chosen.status != MeetingStatus.PLANNED:
            raise ValidationError("Ce rendez-vous prévu n'est plus à renseigner.", field="meeting_id")
    with unit_of_work() as session:
        meeting = chosen
        if meeting is None:
            planned = session.scalars(
                sa.select(Meeting).where(
                    Meeting.pathway_id == pathway.id, Meeting.status == MeetingStatus.PLANNED
                ).order_by(Meeting.scheduled_at)
            ).all()
            meeting = next((m for m in planned if m.scheduled_at.astimezone(PARIS).date() == day), None)
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


def pending_meeting(pathway: Pathway, *, now: datetime | None = None) -> Meeting | None:
    """The planned meeting « Saisir un entretien » proposes to record: the earliest one planned
    today or before (Paris days) and not yet recorded."""
    today = paris_date(now or utcnow())
    end_of_today = datetime.combine(today + timedelta(days=1), time(0, 0), tzinfo=PARIS)
    return db.session.scalar(
        sa.select(Meeting)
        .where(Meeting.pathway_id == pathway.id, Meeting.status == MeetingStatus.PLANNED,
               Meeting.scheduled_at < end_of_today)
        .order_by(Meeting.scheduled_at)
        .limit(1)
    )


def meeting_warnings(
    actor: User, pathway: Pathway, *, scheduled_at: datetime, duration_minutes: int = 45,
    organizer_id: int | None = None, meeting_id: int | None = None,
) -> list[str]:
    """What to confirm before planning or moving a meeting (`scheduling.scheduling_warnings`)."""
    access.require(access.can_plan_meeting(actor, pathway), actor, pathway)
    territory = pathway.lead_agency.territory
    return scheduling.scheduling_warnings(
        pathway_id=pathway.id, organizer_id=organizer_id or actor.id, starts_at=scheduled_at,
        minutes=duration_minutes, territory_code=territory.code, meeting_id=meeting_id,
        person=pathway.beneficiary.first_name,
    )


def cancel_meeting(
    actor: User, meeting: Meeting, *, reason: str | None = None, expected_version: int | None = None,
    now: datetime | None = None,
) -> Meeting:
    return update_meeting(actor, meeting, {"status": MeetingStatus.CANCELLED, "cancellation_reason": reason},
                          expected_version=expected_version, now=now)


def reschedule_meeting(
    actor: User, meeting: Meeting, *, scheduled_at: datetime, expected_version: int | None = None,
    now: datetime | None = None,
) -> Meeting:
    return update_meeting(actor, meeting, {"scheduled_at": scheduled_at}, expected_version=expected_version,
                          now=now)


def _cancel(actor: User, meeting: Meeting, pathway: Pathway, *, reason: str | None, now: datetime) -> None:
    if meeting.status != MeetingStatus.PLANNED:
        raise Conflict("Seul un rendez-vous prévu peut être annulé.")
    meeting.status = MeetingStatus.CANCELLED
    meeting.cancelled_at = now
    meeting.cancellation_reason = (reason or "").strip() or None
    record_event(actor, "meeting.cancelled", object_type="meeting", object_id=meeting.id, pathway=pathway, at=now)


def _reschedule(actor: User, meeting: Meeting, pathway: Pathway, *, scheduled_at: datetime, now: datetime) -> None:
    if meeting.status != MeetingStatus.PLANNED:
        raise Conflict("Seul un rendez-vous prévu peut être déplacé.")
    if scheduled_at <= now:
        raise ValidationError("La nouvelle date doit être dans le futur.", field="scheduled_at")
    meeting.scheduled_at = scheduled_at
    record_event(actor, "meeting.rescheduled", object_type="meeting", object_id=meeting.id,
                 pathway=pathway, at=now, details={"scheduled_at": scheduled_at.isoformat()})


def checkin_datetimes(
    started_on: date, months: list[int], *, at: time | None = None, territory_code: str | None = None,
) -> list[datetime]:
    """Check-in times for a job that started on `started_on`: +N months, on a working day of the
    territory (the next one when that day is a weekend or a public holiday), at `at` Paris time
    (10:00 unless the referent chose another time)."""
    return [
        scheduling.checkin_at(started_on + relativedelta(months=m), at or CHECKIN_HOUR, territory_code)
        for m in sorted(set(months))
    ]


def plan_checkins(pathway: Pathway, started_on: date, *, now: datetime, at: time | None = None) -> list[Meeting]:
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
    for when in checkin_datetimes(started_on, territory.checkin_months or [1, 3, 6], at=at,
                                  territory_code=territory.code):
        meeting = Meeting(
            territory_id=pathway.territory_id, pathway_id=pathway.id, organizer_id=referent.id,
            agency_id=referent.agency_id, kind=MeetingKind.CHECKIN, scheduled_at=when,
            channel=MeetingChannel.PHONE, status=MeetingStatus.PLANNED,
        )
        db.session.add(meeting)
        meetings.append(meeting)
    db.session.flush()
    return meetings
