"""Finding 1: writes follow reads for meeting notes (DESIGN §3.3).

Only whoever may read a note may change it or its visibility; only its author may widen it; a status
change never touches notes or authorship; no answer carries a note its caller could not read before.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from app.extensions import db
from app.meetings import services as meetings
from app.meetings.models import Meeting, MeetingStatus
from app.pathways import services as pathways
from app.pathways.models import Visibility
from tests.factories import UserFactory
from tests.world import T0, World

NOW = T0 + timedelta(days=10)


@pytest.fixture
def referent_only(world: World) -> Meeting:
    meeting, _ = meetings.log_meeting(
        world.referent, world.pathway, status=MeetingStatus.HELD, held_at=T0 + timedelta(days=3),
        notes="Confidence sur la santé.", notes_visibility=Visibility.REFERENT, now=NOW,
    )
    return meeting


def _fresh(meeting_id: int) -> Meeting:
    db.session.expire_all()
    return db.session.get(Meeting, meeting_id)


def test_a_colleague_cannot_widen_referent_notes_through_the_api(api, world: World, referent_only: Meeting) -> None:
    response = api(world.colleague).patch(
        f"/meetings/{referent_only.id}", json={"notes_visibility": "team"}, version=referent_only.version
    )
    assert response.status_code == 403
    assert "Confidence" not in response.get_data(as_text=True)
    after = _fresh(referent_only.id)
    assert after.notes_visibility == Visibility.REFERENT
    assert after.recorded_by_id == world.referent.id


def test_a_status_change_by_a_colleague_keeps_notes_and_author_and_hides_them(
    api, world: World, referent_only: Meeting
) -> None:
    response = api(world.colleague).patch(
        f"/meetings/{referent_only.id}", json={"status": "missed"}, version=referent_only.version
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["notes"] is None and body["status"] == "missed"
    assert body["recorded_by_id"] == world.referent.id
    after = _fresh(referent_only.id)
    assert after.notes == "Confidence sur la santé."
    assert after.notes_visibility == Visibility.REFERENT
    assert after.recorded_by_id == world.referent.id


def test_a_colleague_cannot_rewrite_notes_they_cannot_read(api, world: World, referent_only: Meeting) -> None:
    response = api(world.colleague).patch(
        f"/meetings/{referent_only.id}", json={"status": "held", "notes": "écrasé"}, version=referent_only.version
    )
    assert response.status_code == 403
    assert _fresh(referent_only.id).notes == "Confidence sur la santé."


def test_only_the_author_widens_agency_notes(api, world: World) -> None:
    meeting = world.meeting_private  # `agency` notes written by the referent
    refused = api(world.colleague).patch(f"/meetings/{meeting.id}", json={"notes_visibility": "team"},
                                         version=meeting.version)
    assert refused.status_code == 403
    assert _fresh(meeting.id).notes_visibility == Visibility.AGENCY
    allowed = api(world.referent).patch(f"/meetings/{meeting.id}", json={"notes_visibility": "team"},
                                        version=meeting.version)
    assert allowed.status_code == 200
    assert allowed.get_json()["notes"] == "Point sur la recherche de logement."
    assert _fresh(meeting.id).notes_visibility == Visibility.TEAM


def test_a_reader_may_narrow_but_authorship_stays(api, world: World) -> None:
    meeting = world.meeting_private
    response = api(world.colleague).patch(f"/meetings/{meeting.id}", json={"notes_visibility": "referent"},
                                          version=meeting.version)
    # A colleague of the lead agency may narrow, but may not reserve a note to the referent on the
    # referent's behalf... narrowing to `referent` is a narrowing: allowed, author unchanged.
    assert response.status_code == 200
    after = _fresh(meeting.id)
    assert after.notes_visibility == Visibility.REFERENT
    assert after.recorded_by_id == world.referent.id


def test_after_a_handover_to_another_agency_the_new_lead_agency_cannot_open_old_notes(
    api, world: World
) -> None:
    new_referent = UserFactory(agency=world.cd, email="nouvelle@cd.test")
    pathways.assign_referent(world.manager_cd, world.pathway, new_referent, now=NOW)
    meeting = world.meeting_private
    widened = api(new_referent).patch(f"/meetings/{meeting.id}", json={"notes_visibility": "team"},
                                      version=meeting.version)
    assert widened.status_code == 403
    corrected = api(new_referent).patch(f"/meetings/{meeting.id}", json={"status": "missed"},
                                        version=meeting.version)
    assert corrected.status_code == 200
    assert corrected.get_json()["notes"] is None
    after = _fresh(meeting.id)
    assert after.notes_visibility == Visibility.AGENCY
    assert after.recorded_by_id == world.referent.id
    assert after.notes == "Point sur la recherche de logement."


def test_a_partner_cannot_change_a_meeting(api, world: World) -> None:
    meeting = world.meeting_team
    response = api(world.partner).patch(f"/meetings/{meeting.id}", json={"status": "missed"},
                                        version=meeting.version)
    assert response.status_code == 403
    assert _fresh(meeting.id).status == MeetingStatus.HELD


def test_recording_a_planned_meeting_makes_the_recorder_the_author(world: World) -> None:
    planned = meetings.plan_meeting(world.referent, world.pathway, scheduled_at=NOW + timedelta(days=1), now=NOW)
    meetings.record_meeting(world.colleague, planned, status=MeetingStatus.HELD, notes="Vu par la collègue.",
                            notes_visibility=Visibility.AGENCY, now=NOW + timedelta(days=1, hours=1))
    after = _fresh(planned.id)
    assert after.recorded_by_id == world.colleague.id
    assert after.agency_id == world.colleague.agency_id


def test_only_the_lead_agency_reserves_a_note_to_the_referent(world: World) -> None:
    from app.errors import ValidationError

    with pytest.raises(ValidationError) as excinfo:
        pathways.add_entry(world.partner, world.pathway, body="Pour le référent", visibility=Visibility.REFERENT,
                           now=NOW)
    assert excinfo.value.field == "visibility"
