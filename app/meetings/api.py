"""JSON API of meetings (thin): plan or log a meeting, record / cancel / move it."""

from __future__ import annotations

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
    query_args,
    respond,
    respond_page,
)
from app.audit.services import record_read
from app.core.pages import paginate
from app.meetings import queries
from app.meetings import services as meetings
from app.meetings.models import Meeting
from app.meetings.schemas import LogMeetingSchema, MeetingOutSchema, PlanMeetingSchema, UpdateMeetingSchema


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
    page = paginate(queries.meetings_of(pathway), args["page"], args["per_page"])
    visible = queries.readable_notes(user, page.items)
    record_read(user, pathway, what="meetings")
    with Context({"user": user, "visible_notes": visible}):
        return respond_page(page, MeetingOutSchema(many=True).dump(page.items))


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
    meeting, pathway = meetings.get_meeting_or_404(user, meeting_id)
    data = json_body(UpdateMeetingSchema())
    version = if_match()
    # No answer carries a note its caller could not read before the write.
    could_read = access.can_see_meeting_notes(user, meeting, pathway)
    meeting = meetings.update_meeting(user, meeting, data, expected_version=version)
    visible = {meeting.id} if could_read and access.can_see_meeting_notes(user, meeting, pathway) else set()
    with Context({"user": user, "visible_notes": visible}):
        return respond(MeetingOutSchema(), meeting, version=meeting.version)
