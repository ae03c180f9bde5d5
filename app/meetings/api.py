"""JSON API of meetings (thin): plan or log a meeting, record / cancel / move it."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response
from marshmallow.experimental.context import Context

from app import access
from app.api.core import (
    PageQuerySchema,
    current_user,
    if_match,
    json_body,
    json_object,
    operation,
    paginate,
    query_args,
    respond,
    respond_page,
)
from app.audit.services import record_read
from app.errors import ValidationError
from app.extensions import db
from app.meetings import services as meetings
from app.meetings.models import Meeting, MeetingStatus
from app.meetings.schemas import LogMeetingSchema, MeetingOutSchema, PlanMeetingSchema, UpdateMeetingSchema
from app.pathways.models import Pathway


class MeetingListQuerySchema(PageQuerySchema):
    pass


def _dump(meeting: Meeting, *, status: int = 200) -> Response:
    with Context({"user": current_user()}):
        return respond(MeetingOutSchema(), meeting, status=status, version=meeting.version)


@operation(
    "GET",
    "/pathways/{pathway_id}/meetings",
    summary="Rendez-vous du parcours",
    tag="Rendez-vous",
    query=MeetingListQuerySchema,
    response=MeetingOutSchema,
    paginated=True,
)
def list_meetings(pathway_id: int) -> Response:
    """Every meeting, latest first; notes only where the caller may read them."""
    user = current_user()
    pathway = access.get_pathway_or_404(user, pathway_id)
    args = query_args(MeetingListQuerySchema())
    stmt = (
        sa.select(Meeting)
        .where(Meeting.pathway_id == pathway.id)
        .order_by(Meeting.scheduled_at.desc(), Meeting.id.desc())
    )
    items, total = paginate(stmt, args["page"], args["per_page"])
    visible = (
        set(
            db.session.scalars(
                sa.select(Meeting.id)
                .join(Pathway, Pathway.id == Meeting.pathway_id)
                .where(Meeting.id.in_([m.id for m in items]), access.visible_meeting_notes_clause(user))
            )
        )
        if items
        else set()
    )
    record_read(user, pathway, what="meetings")
    with Context({"user": user, "visible_notes": visible}):
        dumped = MeetingOutSchema(many=True).dump(items)
    return respond_page(dumped, total=total, page=args["page"], per_page=args["per_page"])


@operation(
    "POST",
    "/pathways/{pathway_id}/meetings",
    summary="Planifier ou saisir un rendez-vous",
    tag="Rendez-vous",
    body=[PlanMeetingSchema, LogMeetingSchema],
    response=MeetingOutSchema,
    status=201,
    etag=True,
    errors=(403,),
)
def create_meeting(pathway_id: int) -> Response:
    """Without `status`: plan a meeting (`scheduled_at` in the future). With `status` (held / missed)
    and `held_at`: log a meeting that took place, and optionally plan the next one (`next_at`)."""
    user = current_user()
    pathway = access.get_pathway_or_404(user, pathway_id, minimum=access.RecordAccess.EXISTENCE)
    raw = json_object()
    if "status" in raw or "held_at" in raw:
        data = json_body(LogMeetingSchema())
        meeting, _next = meetings.log_meeting(user, pathway, **data)
    else:
        data = json_body(PlanMeetingSchema())
        meeting = meetings.plan_meeting(user, pathway, **data)
    return _dump(meeting, status=201)


@operation(
    "PATCH",
    "/meetings/{meeting_id}",
    summary="Renseigner, annuler ou déplacer un rendez-vous",
    tag="Rendez-vous",
    body=UpdateMeetingSchema,
    response=MeetingOutSchema,
    etag=True,
    if_match="required",
    errors=(403,),
)
def update_meeting(meeting_id: int) -> Response:
    """`status` held / missed records it (with `notes`, `notes_visibility`, and `scheduled_at` as the
    actual time); `cancelled` cancels it (`cancellation_reason`); `scheduled_at` alone moves a
    planned meeting; `notes` alone corrects the notes of a recorded meeting."""
    user = current_user()
    meeting, _pathway = meetings.get_meeting_or_404(user, meeting_id)
    data = json_body(UpdateMeetingSchema())
    version = if_match()
    status = data.get("status")
    if status in (MeetingStatus.HELD.value, MeetingStatus.MISSED.value) or (
        status is None and ("notes" in data or "notes_visibility" in data)
    ):
        if status is None and meeting.status not in (MeetingStatus.HELD, MeetingStatus.MISSED):
            raise ValidationError("Indiquez d'abord si le rendez-vous a eu lieu.", field="status")
        if "cancellation_reason" in data:
            raise ValidationError("Sans objet pour un rendez-vous renseigné.", field="cancellation_reason")
        meeting = meetings.record_meeting(
            user,
            meeting,
            status=MeetingStatus(status or meeting.status),
            notes=data["notes"] if "notes" in data else meeting.notes,
            notes_visibility=data.get("notes_visibility", meeting.notes_visibility),
            held_at=data.get("scheduled_at"),
            expected_version=version,
        )
    elif status == MeetingStatus.CANCELLED.value:
        for name in ("scheduled_at", "notes", "notes_visibility"):
            if name in data:
                raise ValidationError("Sans objet pour une annulation.", field=name)
        meeting = meetings.cancel_meeting(
            user, meeting, reason=data.get("cancellation_reason"), expected_version=version
        )
    else:
        if "scheduled_at" not in data:
            raise ValidationError("Indiquez la nouvelle date du rendez-vous.", field="scheduled_at")
        if "cancellation_reason" in data:
            raise ValidationError("Sans objet sans annulation.", field="cancellation_reason")
        meeting = meetings.reschedule_meeting(
            user, meeting, scheduled_at=data["scheduled_at"], expected_version=version
        )
    return _dump(meeting)
