"""Scheduling sense (issue 13, point 7): public holidays of France and Alsace-Moselle, working days
for post-employment check-ins at the time the referent chose, and the warnings asked before
planning or moving a meeting (a clash for the person or the professional, outside working hours,
a Sunday, a public holiday)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from app.core.timefmt import PARIS
from app.errors import Forbidden, NotFound
from app.extensions import db
from app.meetings import scheduling
from app.meetings import services as meeting_services
from app.meetings.models import Meeting, MeetingKind, MeetingStatus
from app.pathways import services as pathway_services
from app.pathways.models import EmploymentContractType
from tests.factories import UserFactory
from tests.world import World


def paris(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=PARIS)


@pytest.mark.parametrize(
    "day, code, name",
    [
        (date(2027, 7, 14), "93", "Fête nationale"),
        (date(2027, 5, 1), "75", "Fête du Travail"),
        (date(2027, 3, 26), "57", "Vendredi saint"),  # Moselle
        (date(2027, 3, 26), "67", "Vendredi saint"),  # Bas-Rhin
        (date(2027, 12, 26), "68", "Saint Étienne"),  # Haut-Rhin
        (date(2027, 3, 26), "93", None),  # an ordinary Friday in Seine-Saint-Denis
        (date(2027, 12, 26), "93", None),
        (date(2027, 3, 24), "57", None),
    ],
)
def test_public_holidays_of_the_territory(day: date, code: str, name: str | None) -> None:
    found = scheduling.public_holiday(day, code)
    if name is None:
        assert found is None
    else:
        assert found and name.split()[0] in found


def test_next_working_day_skips_weekends_and_holidays() -> None:
    assert scheduling.next_working_day(date(2027, 3, 24), "93") == date(2027, 3, 24)  # a Wednesday
    assert scheduling.next_working_day(date(2027, 3, 20), "93") == date(2027, 3, 22)  # Saturday → Monday
    assert scheduling.next_working_day(date(2027, 3, 28), "93") == date(2027, 3, 30)  # Sunday, Easter Monday
    assert scheduling.next_working_day(date(2027, 3, 26), "57") == date(2027, 3, 30)  # Good Friday in Moselle
    assert scheduling.next_working_day(date(2027, 3, 26), "93") == date(2027, 3, 26)


def test_checkins_land_on_working_days_at_the_chosen_time() -> None:
    # Started on Saturday 26 December 2026: +1 month is Tuesday 26 January (kept); +3 months
    # Friday 26 March 2027 (Good Friday in Alsace-Moselle only); +6 months Saturday 26 June → Monday.
    started = date(2026, 12, 26)
    assert meeting_services.checkin_datetimes(started, [1, 3, 6], territory_code="93") == [
        paris(2027, 1, 26), paris(2027, 3, 26), paris(2027, 6, 28)]
    # In Bas-Rhin, Good Friday then the weekend then Easter Monday: Tuesday 30 March.
    assert meeting_services.checkin_datetimes(started, [3], at=time(14, 30), territory_code="67") == [
        paris(2027, 3, 30, 14, 30)]


def test_recording_employment_plans_checkins_at_the_referents_time(world: World) -> None:
    pathway_services.record_employment(
        world.referent, world.pathway, started_on=date(2026, 11, 14), contract_type=EmploymentContractType.CDI,
        employer="Boulangerie", checkin_time=time(16, 15),
    )
    checkins = db.session.scalars(
        db.select(Meeting).where(Meeting.pathway_id == world.pathway.id, Meeting.kind == MeetingKind.CHECKIN,
                                 Meeting.status == MeetingStatus.PLANNED).order_by(Meeting.scheduled_at)
    ).all()
    # 14 Dec 2026 (Monday), 14 Feb 2027 (Sunday → Monday 15), 14 May 2027 (Friday).
    assert [m.scheduled_at.astimezone(PARIS) for m in checkins] == [
        paris(2026, 12, 14, 16, 15), paris(2027, 2, 15, 16, 15), paris(2027, 5, 14, 16, 15)]


def test_time_warnings() -> None:
    assert scheduling.time_warnings(paris(2027, 3, 24, 10), 45, "93") == []
    [early] = scheduling.time_warnings(paris(2027, 3, 24, 7, 30), 45, "93")
    assert "hors des heures ouvrées (07:30–08:15" in early
    [late] = scheduling.time_warnings(paris(2027, 3, 24, 18, 30), 45, "93")  # ends at 19:15
    assert "hors des heures ouvrées" in late
    assert scheduling.time_warnings(paris(2027, 3, 24, 18, 15), 45, "93") == []  # ends at 19:00
    [sunday] = scheduling.time_warnings(paris(2027, 3, 28, 10), 45, "93")
    assert "est un dimanche" in sunday
    [holiday] = scheduling.time_warnings(paris(2027, 7, 14, 10), 45, "93")
    assert "jour férié (Fête nationale)" in holiday
    assert scheduling.time_warnings(paris(2027, 3, 26, 10), 45, "93") == []
    [good_friday] = scheduling.time_warnings(paris(2027, 3, 26, 10), 45, "57")
    assert "jour férié (Vendredi saint)" in good_friday


def test_clash_warnings_for_the_person_and_for_the_professional(world: World) -> None:
    when = paris(2027, 3, 24, 10)
    now = paris(2027, 3, 1)
    meeting_services.plan_meeting(world.referent, world.pathway, scheduled_at=when, duration_minutes=60, now=now)
    # The same person at 10:30 (overlaps the 10:00–11:00 meeting), with another professional.
    warnings = meeting_services.meeting_warnings(world.colleague, world.pathway,
                                                 scheduled_at=when + timedelta(minutes=30))
    assert warnings == ["Sarah a déjà un rendez-vous prévu le 24/03/2027 10:00, qui chevauche celui-ci."]
    # The referent at 10:30 with another person.
    other = pathway_services.create_beneficiary(world.referent, {"first_name": "Luc", "last_name": "Roy"},
                                                referent=world.referent)
    warnings = meeting_services.meeting_warnings(world.referent, other, scheduled_at=when + timedelta(minutes=30))
    assert warnings == ["Vous avez déjà un rendez-vous prévu le 24/03/2027 10:00 avec une autre personne, "
                        "qui chevauche celui-ci."]
    # Right after it: no clash; another professional with another person: none either.
    assert meeting_services.meeting_warnings(world.referent, other, scheduled_at=when + timedelta(hours=1)) == []
    assert meeting_services.meeting_warnings(world.colleague, other, scheduled_at=when) == []


def test_moving_a_meeting_does_not_clash_with_itself(world: World) -> None:
    when = paris(2027, 3, 24, 10)
    meeting = meeting_services.plan_meeting(world.referent, world.pathway, scheduled_at=when, now=paris(2027, 3, 1))
    assert meeting_services.meeting_warnings(
        world.referent, world.pathway, scheduled_at=when + timedelta(minutes=15), meeting_id=meeting.id) == []


def test_warnings_are_asked_only_of_who_may_plan(world: World) -> None:
    with pytest.raises(Forbidden):
        meeting_services.meeting_warnings(world.partner, world.pathway, scheduled_at=paris(2027, 3, 24))
    with pytest.raises(NotFound):
        meeting_services.meeting_warnings(UserFactory(), world.pathway, scheduled_at=paris(2027, 3, 24))
