"""Meetings in the workspace: log an interview and plan the next one, cancel, « Mon agenda », ICS."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import holidays
import sqlalchemy as sa
from icalendar import Calendar

from app.accounts.models import User
from app.core.timefmt import PARIS
from app.db_types import utcnow
from app.extensions import db
from app.meetings import services as meeting_services
from app.meetings.models import Meeting, MeetingStatus
from tests.db_helpers import count_rows
from tests.web_helpers import field_error, local_input, login_as, text
from tests.world import World


def test_log_form_reminds_that_notes_must_be_factual(client, world: World) -> None:
    login_as(client, world.referent)
    html = text(client.get(f"/parcours/{world.pathway.id}/entretien"))
    assert "droit d'accès" in html and "Des faits, pas des jugements" in html


def test_log_a_held_meeting_and_plan_the_next_in_one_step(client, world: World) -> None:
    login_as(client, world.referent)
    held, nxt = utcnow() - timedelta(hours=1), utcnow() + timedelta(days=14)
    response = client.post(
        f"/parcours/{world.pathway.id}/entretien",
        data={
            "status": "held",
            "held_at": local_input(held),
            "channel": "in_person",
            "notes": "Inscription à la formation.",
            "notes_visibility": "team",
            "next_at": local_input(nxt),
        },
        follow_redirects=True,
    )
    html = text(response)
    assert "L'entretien est enregistré. Le prochain rendez-vous est planifié." in html
    planned = db.session.scalars(
        sa.select(Meeting).where(
            Meeting.pathway_id == world.pathway.id, Meeting.status == MeetingStatus.PLANNED
        )
    ).all()
    assert len(planned) == 1
    # the datetime-local value was Paris wall-clock time
    assert local_input(planned[0].scheduled_at) == local_input(nxt)


def test_invalid_log_keeps_what_was_typed_and_writes_nothing(client, world: World) -> None:
    login_as(client, world.referent)
    before = count_rows(Meeting)
    response = client.post(
        f"/parcours/{world.pathway.id}/entretien",
        data={
            "status": "held",
            "held_at": local_input(utcnow() - timedelta(hours=1)),
            "notes": "Texte saisi à garder",
            "next_at": local_input(utcnow() - timedelta(days=1)),
        },
    )
    html = text(response)
    assert response.status_code == 422
    assert field_error(html, "next_at") == "Le prochain rendez-vous doit être dans le futur."
    assert "Texte saisi à garder" in html
    assert count_rows(Meeting) == before
    response = client.post(
        f"/parcours/{world.pathway.id}/entretien", data={"status": "", "held_at": "demain"}
    )
    assert response.status_code == 422
    assert field_error(text(response), "held_at").startswith("Date et heure invalides")


def test_plan_and_cancel_a_meeting(client, world: World) -> None:
    login_as(client, world.referent)
    # A weekday at 10:00 Paris time, three to five days ahead: a time the page plans without asking
    # (an evening, a Sunday or a public holiday asks for confirmation first).
    day = (utcnow() + timedelta(days=3)).astimezone(PARIS).date()
    while day.weekday() >= 5 or day in holidays.France(years=day.year):
        day += timedelta(days=1)
    when = datetime.combine(day, time(10, 0), tzinfo=PARIS).astimezone(timezone.utc)
    assert (
        client.post(
            f"/parcours/{world.pathway.id}/rendez-vous/nouveau",
            data={"scheduled_at": local_input(when), "channel": "phone", "duration_minutes": "30"},
        ).status_code
        == 302
    )
    meeting = db.session.scalar(sa.select(Meeting).where(Meeting.status == MeetingStatus.PLANNED))
    assert "Par téléphone" in text(client.get("/agenda"))
    response = client.post(
        f"/rendez-vous/{meeting.id}/annuler", data={"reason": "Malade", "version": str(meeting.version - 1)}
    )
    assert response.status_code == 409
    response = client.post(
        f"/rendez-vous/{meeting.id}/annuler", data={"reason": "Malade", "version": str(meeting.version)}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).status == MeetingStatus.CANCELLED


def test_ics_feed_token_shown_once_hashed_revocable(client, world: World) -> None:
    meeting_services.plan_meeting(world.referent, world.pathway, scheduled_at=utcnow() + timedelta(days=2))
    login_as(client, world.referent)
    html = text(client.post("/agenda/abonnement"))
    url = html.split('id="adresse-abonnement" type="text" readonly value="')[1].split('"')[0]
    path = url.split("localhost", 1)[1]
    token = path.rsplit("/", 1)[1].removesuffix(".ics")
    user = db.session.get(User, world.referent.id)
    assert (
        user.calendar_token_hash
        and token not in user.calendar_token_hash
        and len(user.calendar_token_hash) == 64
    )
    assert token not in text(client.get("/agenda"))  # shown once

    client.post("/deconnexion")
    feed = client.get(path)
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    calendar = Calendar.from_ical(feed.data)
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 1
    assert str(events[0]["SUMMARY"]).endswith("Sarah B.")
    assert events[0].decoded("DTSTART").utcoffset() == timedelta(0)
    raw = feed.get_data(as_text=True)
    assert "Benali" not in raw and "CV mis à jour" not in raw and "logement" not in raw

    login_as(client, world.referent)
    client.post("/agenda/abonnement/revoquer")
    client.post("/deconnexion")
    assert client.get(path).status_code == 404
    assert client.get("/agenda/nimporte-quoi.ics").status_code == 404
