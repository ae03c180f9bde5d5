"""Meetings you can record and move from the page (issue 13, points 5, 7 and 11): « À renseigner »
offers « Présent », « Absent », « Annulé »; « Saisir un entretien » proposes the pending planned
meeting; « Déplacer »; the confirm step of the scheduling warnings; the week agenda and the feed."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from icalendar import Calendar

from app.core.timefmt import PARIS
from app.db_types import utcnow
from app.extensions import db
from app.meetings import calendar
from app.meetings import services as meeting_services
from app.meetings.models import Meeting, MeetingChannel, MeetingStatus
from tests.db_helpers import count_rows
from tests.web_helpers import local_input, login_as, text
from tests.world import World

WEDNESDAY = datetime(2030, 3, 20, 10, 0, tzinfo=PARIS)  # an ordinary working morning
SUNDAY = datetime(2030, 3, 24, 10, 0, tzinfo=PARIS)


def _past_planned(world: World, days: int = 1) -> Meeting:
    """A meeting planned for `days` ago and never recorded (« À renseigner »)."""
    return meeting_services.plan_meeting(
        world.referent, world.pathway, scheduled_at=utcnow() - timedelta(days=days),
        now=utcnow() - timedelta(days=days + 1),
    )


def _planned(world: World) -> list[Meeting]:
    return list(db.session.scalars(sa.select(Meeting).where(
        Meeting.pathway_id == world.pathway.id, Meeting.status == MeetingStatus.PLANNED)))


# --- « À renseigner » ------------------------------------------------------------------------------


def test_a_past_planned_meeting_offers_present_absent_cancelled(client, world: World) -> None:
    meeting = _past_planned(world)
    login_as(client, world.referent)
    html = text(client.get(f"/parcours/{world.pathway.id}?onglet=rendez-vous"))
    assert "À renseigner" in html
    assert f'action="/rendez-vous/{meeting.id}/renseigner"' in html
    for label in ("Présent", "Absent", "Annulé"):
        assert f'value="{ {"Présent": "held", "Absent": "missed", "Annulé": "cancelled"}[label] }">{label}' in html
    login_as(client, world.partner)  # a partner reads the meetings, and records none
    assert "/renseigner" not in text(client.get(f"/parcours/{world.pathway.id}?onglet=rendez-vous"))


def test_present_absent_and_cancelled_in_one_click(client, world: World) -> None:
    login_as(client, world.referent)
    for status, message in (("held", "la personne était présente"), ("missed", "la personne était absente"),
                            ("cancelled", "Le rendez-vous est annulé.")):
        meeting = _past_planned(world)
        response = client.post(f"/rendez-vous/{meeting.id}/renseigner",
                               data={"status": status, "version": meeting.version}, follow_redirects=True)
        assert message in text(response)
        db.session.refresh(meeting)
        assert meeting.status == MeetingStatus(status)
        assert (meeting.recorded_by_id == world.referent.id) == (status != "cancelled")


def test_quick_recording_refuses_a_stale_page_or_a_future_meeting(client, world: World) -> None:
    login_as(client, world.referent)
    meeting = _past_planned(world)
    stale = meeting.version
    meeting_services.reschedule_meeting(world.colleague, meeting, scheduled_at=utcnow() + timedelta(days=2))
    response = client.post(f"/rendez-vous/{meeting.id}/renseigner", data={"status": "held", "version": stale},
                           follow_redirects=True)
    assert "modifiées par quelqu'un d'autre" in text(response)
    db.session.refresh(meeting)
    assert meeting.status == MeetingStatus.PLANNED
    response = client.post(f"/rendez-vous/{meeting.id}/renseigner",
                           data={"status": "held", "version": meeting.version}, follow_redirects=True)
    assert "n'a pas encore eu lieu" in text(response)
    response = client.post(f"/rendez-vous/{meeting.id}/renseigner", data={"status": "ailleurs"},
                           follow_redirects=True)
    assert "Déroulement : Indiquez « Présent », « Absent » ou « Annulé »." in text(response)
    db.session.refresh(meeting)
    assert meeting.status == MeetingStatus.PLANNED


# --- « Saisir un entretien » proposes the pending meeting -------------------------------------------


def test_log_proposes_the_pending_meeting_and_records_it(client, world: World) -> None:
    pending = _past_planned(world, days=2)
    login_as(client, world.referent)
    html = text(client.get(f"/parcours/{world.pathway.id}/entretien"))
    assert "Un rendez-vous prévu est à renseigner" in html
    assert f'value="{local_input(pending.scheduled_at)}"' in html  # its time, proposed
    before = count_rows(Meeting)
    response = client.post(f"/parcours/{world.pathway.id}/entretien", data={
        "meeting_id": str(pending.id), "status": "held", "held_at": local_input(pending.scheduled_at),
        "channel": "in_person", "notes_visibility": "agency", "notes": "Point d'étape.",
    }, follow_redirects=True)
    assert "L'entretien est enregistré." in text(response)
    assert count_rows(Meeting) == before  # no second meeting
    db.session.refresh(pending)
    assert pending.status == MeetingStatus.HELD and pending.notes == "Point d'étape."


def test_log_another_interview_leaves_the_pending_one_to_record(client, world: World) -> None:
    pending = _past_planned(world, days=2)
    login_as(client, world.referent)
    before = count_rows(Meeting)
    client.post(f"/parcours/{world.pathway.id}/entretien", data={
        "meeting_id": "", "status": "held", "held_at": local_input(utcnow() - timedelta(hours=1)),
        "channel": "phone", "notes_visibility": "agency",
    })
    assert count_rows(Meeting) == before + 1
    db.session.refresh(pending)
    assert pending.status == MeetingStatus.PLANNED


def test_log_refuses_a_meeting_of_another_pathway(client, world: World) -> None:
    login_as(client, world.referent)
    response = client.post(f"/parcours/{world.pathway.id}/entretien", data={
        "meeting_id": str(world.meeting_team.id), "status": "held",
        "held_at": local_input(utcnow() - timedelta(hours=1)), "notes_visibility": "agency",
    })
    assert response.status_code == 422
    assert "n'est plus à renseigner" in text(response)


# --- planning and moving: warnings to confirm, never a refusal --------------------------------------


def test_planning_on_a_sunday_asks_for_confirmation(client, world: World) -> None:
    login_as(client, world.referent)
    data = {"scheduled_at": local_input(SUNDAY), "channel": "in_person", "duration_minutes": "45"}
    response = client.post(f"/parcours/{world.pathway.id}/rendez-vous/nouveau", data=data)
    html = text(response)
    assert response.status_code == 200
    assert "Vérifiez ce créneau avant de confirmer" in html and "est un dimanche" in html
    assert "Confirmer quand même" in html
    assert _planned(world) == []
    response = client.post(f"/parcours/{world.pathway.id}/rendez-vous/nouveau", data={**data, "confirm": "1"})
    assert response.status_code == 302
    [meeting] = _planned(world)
    assert meeting.scheduled_at == SUNDAY


def test_planning_a_clash_asks_and_a_free_slot_does_not(client, world: World) -> None:
    meeting_services.plan_meeting(world.referent, world.pathway, scheduled_at=WEDNESDAY)
    login_as(client, world.colleague)
    data = {"scheduled_at": local_input(WEDNESDAY + timedelta(minutes=15)), "channel": "phone",
            "duration_minutes": "30"}
    html = text(client.post(f"/parcours/{world.pathway.id}/rendez-vous/nouveau", data=data))
    assert "Sarah a déjà un rendez-vous prévu le 20/03/2030 10:00" in html
    assert len(_planned(world)) == 1
    data["scheduled_at"] = local_input(WEDNESDAY + timedelta(hours=2))
    assert client.post(f"/parcours/{world.pathway.id}/rendez-vous/nouveau", data=data).status_code == 302
    assert len(_planned(world)) == 2


def test_reschedule_a_meeting_with_the_same_warnings(client, world: World) -> None:
    meeting = meeting_services.plan_meeting(world.referent, world.pathway, scheduled_at=WEDNESDAY)
    login_as(client, world.referent)
    page = text(client.get(f"/rendez-vous/{meeting.id}/deplacer"))
    assert "Déplacer un rendez-vous" in page and local_input(WEDNESDAY) in page
    late = WEDNESDAY.replace(hour=20)
    html = text(client.post(f"/rendez-vous/{meeting.id}/deplacer",
                            data={"scheduled_at": local_input(late), "version": meeting.version}))
    assert "hors des heures ouvrées" in html
    db.session.refresh(meeting)
    assert meeting.scheduled_at == WEDNESDAY
    response = client.post(f"/rendez-vous/{meeting.id}/deplacer",
                           data={"scheduled_at": local_input(late), "version": meeting.version, "confirm": "1"},
                           follow_redirects=True)
    assert "Le rendez-vous est déplacé." in text(response)
    db.session.refresh(meeting)
    assert meeting.scheduled_at == late


def test_reschedule_refuses_a_stale_page_in_french(client, world: World) -> None:
    meeting = meeting_services.plan_meeting(world.referent, world.pathway, scheduled_at=WEDNESDAY)
    stale = meeting.version
    meeting_services.reschedule_meeting(world.colleague, meeting, scheduled_at=WEDNESDAY + timedelta(days=1))
    login_as(client, world.referent)
    response = client.post(f"/rendez-vous/{meeting.id}/deplacer", data={
        "scheduled_at": local_input(WEDNESDAY + timedelta(hours=3)), "version": stale})
    assert response.status_code == 409
    assert "modifiées par quelqu'un d'autre" in text(response)
    db.session.refresh(meeting)
    assert meeting.scheduled_at == WEDNESDAY + timedelta(days=1)


def test_the_meetings_tab_offers_to_move_a_planned_meeting(client, world: World) -> None:
    meeting = meeting_services.plan_meeting(world.referent, world.pathway, scheduled_at=WEDNESDAY)
    login_as(client, world.referent)
    html = text(client.get(f"/parcours/{world.pathway.id}?onglet=rendez-vous"))
    assert f'href="/rendez-vous/{meeting.id}/deplacer"' in html


def test_the_employment_form_asks_the_checkin_time(client, world: World) -> None:
    login_as(client, world.referent)
    html = text(client.get(f"/parcours/{world.pathway.id}/emploi"))
    assert "Heure des points de suivi dans l'emploi" in html and 'value="10:00"' in html
    client.post(f"/parcours/{world.pathway.id}/emploi", data={
        "started_on": "2026-11-14", "contract_type": "cdi", "employer": "Boulangerie", "checkin_time": "09:30"})
    times = {m.scheduled_at.astimezone(PARIS).strftime("%H:%M") for m in _planned(world)}
    assert times == {"09:30"}


# --- the week agenda and the feed -----------------------------------------------------------------


def test_the_week_agenda_with_its_warnings(client, world: World) -> None:
    monday = WEDNESDAY.date() - timedelta(days=2)
    meeting_services.plan_meeting(world.referent, world.pathway, scheduled_at=WEDNESDAY, location="Agence de Bobigny")
    meeting_services.plan_meeting(world.referent, world.pathway, scheduled_at=WEDNESDAY + timedelta(minutes=30))
    login_as(client, world.referent)
    html = text(client.get(f"/agenda?semaine={WEDNESDAY.date().isoformat()}"))
    assert "Semaine du 18 mars 2030 au 24 mars 2030" in html
    days = ["Lundi 18 mars 2030", "Mardi 19 mars 2030", "Mercredi 20 mars 2030", "Jeudi 21 mars 2030",
            "Vendredi 22 mars 2030", "Samedi 23 mars 2030", "Dimanche 24 mars 2030"]
    positions = [html.index(day) for day in days]
    assert positions == sorted(positions)
    assert f"semaine={(monday - timedelta(days=7)).isoformat()}" in html
    assert f"semaine={(monday + timedelta(days=7)).isoformat()}" in html
    assert "Agence de Bobigny" in html
    assert "Sarah B. a déjà un rendez-vous prévu le 20/03/2030 10:30" in html
    assert "2 rendez-vous de la semaine demandent une vérification" in html
    assert 'aria-current="date"' not in html  # not this week
    this_week = text(client.get("/agenda"))
    assert 'aria-current="date"' in this_week and "Aujourd'hui" in this_week


def test_week_view_marks_holidays_and_keeps_to_readable_records(world: World) -> None:
    monday = datetime(2030, 7, 8, tzinfo=PARIS).date()  # the week of 14 July
    week = calendar.week_view(world.referent, monday)
    assert [d.name for d in week.days] == ["Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi",
                                           "Dimanche"]
    assert week.days[6].holiday == "Fête nationale"


def test_the_feed_carries_the_place_and_the_phone(world: World) -> None:
    world.pathway.beneficiary.phone = "06 12 34 56 78"
    db.session.commit()
    meeting_services.plan_meeting(world.referent, world.pathway, scheduled_at=WEDNESDAY, location="Salle 2")
    meeting_services.plan_meeting(world.referent, world.pathway, scheduled_at=WEDNESDAY + timedelta(days=1),
                                  channel=MeetingChannel.PHONE)
    events = [c for c in Calendar.from_ical(calendar.calendar_feed(world.referent)).walk("VEVENT")]
    by_day = {e.decoded("dtstart").astimezone(PARIS).day: e for e in events}
    assert str(by_day[20]["location"]) == "Salle 2"
    assert "06 12 34 56 78" not in str(by_day[20]["description"])  # in person: no phone needed
    assert str(by_day[21]["location"]) == "Téléphone : 06 12 34 56 78"
    assert "Téléphone : 06 12 34 56 78" in str(by_day[21]["description"])
    assert "Point sur la recherche" not in calendar.calendar_feed(world.referent).decode()  # never a note
