"""Meetings in the workspace (HTML): log an interview and plan the next one, plan, cancel;
« Mon agenda » and its personal ICS feed."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from app import access
from app.audit.services import record_read, record_shown
from app.core.timefmt import paris_today
from app.core.urls import record_url
from app.core.webforms import FormPage, local_input
from app.db_types import utcnow
from app.labels import choices
from app.meetings import calendar, services
from app.meetings.models import MeetingChannel, MeetingStatus
from app.meetings.schemas import (
    CancelMeetingSchema,
    LogMeetingSchema,
    PlanMeetingSchema,
    QuickRecordSchema,
    RescheduleMeetingSchema,
)
from app.pathways.models import Visibility
from app.transaction import unit_of_work

bp = Blueprint("meetings", __name__)

RECORDABLE = [("held", "L'entretien a eu lieu"), ("missed", "La personne était absente")]


@bp.route("/parcours/<id:pathway_id>/entretien", methods=["GET", "POST"])
@login_required
def log_meeting(pathway_id: int) -> ResponseReturnValue:
    """« Saisir un entretien »: held or missed, factual notes with their visibility, and the next one."""
    pathway = access.pathway_for(current_user, pathway_id, access.can_plan_meeting)
    # The planned meeting due today or before, not yet recorded: this interview is most likely it.
    pending = services.pending_meeting(pathway)
    form = FormPage(
        {
            "status": "held",
            "held_at": local_input(pending.scheduled_at if pending else utcnow()),
            "channel": (pending.channel if pending else MeetingChannel.IN_PERSON).value,
            "notes_visibility": Visibility.AGENCY.value,
            "meeting_id": str(pending.id) if pending else "",
        }, schema=LogMeetingSchema()
    )
    if form.submitted and form.submit(
        LogMeetingSchema(),
        lambda d: services.log_meeting(current_user, pathway, **d),
        datetime_fields=("held_at", "next_at"),
    ):
        meeting, next_meeting = form.result
        message = (
            "L'entretien est enregistré."
            if meeting.status == MeetingStatus.HELD
            else "L'absence est enregistrée."
        )
        if next_meeting is None:
            message += " Aucun prochain rendez-vous n'est planifié."
        else:
            message += " Le prochain rendez-vous est planifié."
        flash(message, "success")
        return redirect(record_url(pathway.id, "rendez-vous"))
    record_read(current_user, pathway, what="form.meetings.log_meeting")
    return render_template(
        "meetings/log.html",
        form=form,
        pathway=pathway,
        person=pathway.beneficiary,
        statuses=RECORDABLE,
        channels=choices(MeetingChannel),
        visibilities=choices(Visibility),
        pending=pending,
    ), form.status


@bp.route("/parcours/<id:pathway_id>/rendez-vous/nouveau", methods=["GET", "POST"])
@login_required
def plan_meeting(pathway_id: int) -> ResponseReturnValue:
    pathway = access.pathway_for(current_user, pathway_id, access.can_plan_meeting)
    form = FormPage({"channel": MeetingChannel.IN_PERSON.value, "duration_minutes": "45"}, schema=PlanMeetingSchema())
    warnings: list[str] = []
    if form.submitted:
        data = form.parse(PlanMeetingSchema(), datetime_fields=("scheduled_at",))
        if data is not None and request.form.get("confirm") != "1":
            # A clash, the evening, a Sunday or a holiday: asked once, never refused.
            warnings = services.meeting_warnings(current_user, pathway, scheduled_at=data["scheduled_at"],
                                                 duration_minutes=data.get("duration_minutes") or 45)
        if data is not None and not warnings and form.run(
            lambda: services.plan_meeting(current_user, pathway, **data)
        ):
            flash("Le rendez-vous est planifié.", "success")
            return redirect(record_url(pathway.id, "rendez-vous"))
    record_read(current_user, pathway, what="form.meetings.plan_meeting")
    return render_template(
        "meetings/plan.html",
        form=form,
        pathway=pathway,
        person=pathway.beneficiary,
        channels=choices(MeetingChannel),
        warnings=warnings,
    ), form.status


@bp.route("/rendez-vous/<id:meeting_id>/deplacer", methods=["GET", "POST"])
@login_required
def reschedule_meeting(meeting_id: int) -> ResponseReturnValue:
    """« Déplacer »: a planned meeting to a new time, with the same warnings as planning."""
    meeting, pathway = services.get_meeting_or_404(current_user, meeting_id)
    access.require(access.can_record_meeting(current_user, pathway), current_user, pathway)
    form = FormPage({"scheduled_at": local_input(meeting.scheduled_at)}, schema=RescheduleMeetingSchema())
    warnings: list[str] = []
    if form.submitted:
        data = form.parse(RescheduleMeetingSchema(), datetime_fields=("scheduled_at",))
        if data is not None and request.form.get("confirm") != "1":
            warnings = services.meeting_warnings(
                current_user, pathway, scheduled_at=data["scheduled_at"], duration_minutes=meeting.duration_minutes,
                organizer_id=meeting.organizer_id, meeting_id=meeting.id,
            )
        if data is not None and not warnings and form.run(
            lambda: services.reschedule_meeting(current_user, meeting, scheduled_at=data["scheduled_at"],
                                                expected_version=form.expected_version)
        ):
            flash("Le rendez-vous est déplacé.", "success")
            return redirect(record_url(pathway.id, "rendez-vous"))
    record_read(current_user, pathway, what="form.meetings.reschedule_meeting")
    return render_template(
        "meetings/reschedule.html", form=form, pathway=pathway, person=pathway.beneficiary, meeting=meeting,
        warnings=warnings,
    ), form.status


@bp.post("/rendez-vous/<id:meeting_id>/renseigner")
@login_required
def record_meeting(meeting_id: int) -> ResponseReturnValue:
    """« À renseigner » → « Présent », « Absent » or « Annulé », from the meetings tab."""
    meeting, pathway = services.get_meeting_or_404(current_user, meeting_id)
    access.require(access.can_record_meeting(current_user, pathway), current_user, pathway)
    form = FormPage(schema=QuickRecordSchema())
    messages = {"held": "Le rendez-vous est renseigné : la personne était présente.",
                "missed": "Le rendez-vous est renseigné : la personne était absente.",
                "cancelled": "Le rendez-vous est annulé."}

    def record(data: dict) -> object:
        if data["status"] == MeetingStatus.CANCELLED.value:
            return services.cancel_meeting(current_user, meeting, expected_version=form.expected_version)
        return services.record_meeting(current_user, meeting, status=MeetingStatus(data["status"]),
                                       expected_version=form.expected_version)

    if form.submit(QuickRecordSchema(), record):
        flash(messages[form.values["status"]], "success")
    else:
        flash(form.errors_text(), "error")
    return redirect(record_url(pathway.id, "rendez-vous"))


@bp.route("/rendez-vous/<id:meeting_id>/annuler", methods=["GET", "POST"])
@login_required
def cancel_meeting(meeting_id: int) -> ResponseReturnValue:
    meeting, pathway = services.get_meeting_or_404(current_user, meeting_id)
    access.require(access.can_record_meeting(current_user, pathway), current_user, pathway)
    form = FormPage(schema=CancelMeetingSchema())
    if form.submitted and form.submit(
        CancelMeetingSchema(),
        lambda d: services.cancel_meeting(
            current_user, meeting, reason=d.get("reason"), expected_version=form.expected_version
        ),
    ):
        flash("Le rendez-vous est annulé.", "success")
        return redirect(record_url(pathway.id, "rendez-vous"))
    record_read(current_user, pathway, what="form.meetings.cancel_meeting")
    return render_template(
        "meetings/cancel.html", form=form, pathway=pathway, person=pathway.beneficiary, meeting=meeting
    ), form.status


# --- « Mon agenda » and the ICS feed -----------------------------------------------------------------


def _week_start(value: str | None) -> date:
    """The Monday of the week `?semaine=AAAA-MM-JJ` falls in (this week by default)."""
    try:
        day = date.fromisoformat(value) if value else paris_today()
    except ValueError:
        day = paris_today()
    return day - timedelta(days=day.weekday())


def _agenda_page(new_token: str | None = None) -> str:
    monday = _week_start(request.args.get("semaine"))
    week = calendar.week_view(current_user, monday)
    items = calendar.upcoming_meetings(current_user)
    _audit_agenda(current_user, [*items, *week.items], "agenda")  # both lists the page shows
    return render_template("meetings/agenda.html", items=items, week=week, new_token=new_token)


@bp.get("/agenda")
@login_required
def agenda() -> ResponseReturnValue:
    return _agenda_page()


def _audit_agenda(user: object, items: list[calendar.AgendaItem], where: str) -> None:
    with unit_of_work():
        pathway_ids = list(dict.fromkeys(item.pathway_id for item in items))
        record_shown(user, "meeting.list", pathway_ids=pathway_ids, details={"list": where})


@bp.post("/agenda/abonnement")
@login_required
def issue_feed() -> ResponseReturnValue:
    """Create (or replace) the secret feed address. The page answers directly rather than
    redirecting: the secret is shown this once and never stored in the session."""
    token = calendar.issue_calendar_token(current_user)
    url = url_for("meetings.feed", token=token, _external=True)
    return _agenda_page(new_token=url), 200, {"Cache-Control": "no-store"}


@bp.post("/agenda/abonnement/revoquer")
@login_required
def revoke_feed() -> ResponseReturnValue:
    calendar.revoke_calendar_token(current_user)
    flash(
        "L'adresse d'abonnement est révoquée : les agendas qui l'utilisaient ne reçoivent plus rien.",
        "success",
    )
    return redirect(url_for("meetings.agenda"))


@bp.get("/agenda/<token>.ics")
def feed(token: str) -> ResponseReturnValue:
    user = calendar.user_for_calendar_token(token)
    if user is None:
        abort(404)
    items = calendar.feed_items(user)
    body = calendar.calendar_feed(user, items=items)
    _audit_agenda(user, items, "ics")  # a calendar application fetched it: who, when, which people
    return Response(
        body,
        mimetype="text/calendar",
        headers={
            "Cache-Control": "private, no-store",
            "Content-Disposition": 'inline; filename="parcours.ics"',
            "X-Robots-Tag": "noindex",
        },
    )
