from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.errors import Conflict, NotFound, StaleVersion, ValidationError
from app.extensions import db
from app.meetings import services
from app.meetings.models import Meeting, MeetingStatus
from app.pathways.models import Visibility
from tests.world import T0, World

NOW = T0 + timedelta(days=12)


def test_plan_then_hold_with_notes(world: World) -> None:
    meeting = services.plan_meeting(world.referent, world.pathway, scheduled_at=NOW + timedelta(days=3), now=NOW)
    assert meeting.status == MeetingStatus.PLANNED and meeting.recorded_at is None
    later = NOW + timedelta(days=3, hours=1)
    services.record_meeting(
        world.referent,
        meeting,
        status=MeetingStatus.HELD,
        notes=" Bilan fait. ",
        notes_visibility=Visibility.TEAM,
        expected_version=meeting.version,
        now=later,
    )
    assert meeting.status == MeetingStatus.HELD and meeting.notes == "Bilan fait."
    assert meeting.recorded_by_id == world.referent.id


def test_a_meeting_cannot_be_recorded_before_it_happens(world: World) -> None:
    meeting = services.plan_meeting(world.referent, world.pathway, scheduled_at=NOW + timedelta(days=3), now=NOW)
    with pytest.raises(ValidationError) as excinfo:
        services.record_meeting(world.referent, meeting, status=MeetingStatus.HELD, now=NOW)
    assert excinfo.value.field == "held_at"
    assert meeting.status == MeetingStatus.PLANNED


def test_planning_in_the_past_is_refused(world: World) -> None:
    with pytest.raises(ValidationError) as excinfo:
        services.plan_meeting(world.referent, world.pathway, scheduled_at=NOW - timedelta(days=1), now=NOW)
    assert excinfo.value.field == "scheduled_at"


def test_log_meeting_records_the_planned_one_of_that_day_and_plans_the_next(world: World) -> None:
    planned = services.plan_meeting(world.referent, world.pathway, scheduled_at=NOW + timedelta(hours=2), now=NOW)
    held, following = services.log_meeting(
        world.referent,
        world.pathway,
        status=MeetingStatus.MISSED,
        held_at=NOW + timedelta(hours=2),
        next_at=NOW + timedelta(days=7),
        now=NOW + timedelta(hours=3),
    )
    assert held.id == planned.id and held.status == MeetingStatus.MISSED
    assert following is not None and following.status == MeetingStatus.PLANNED


def test_cancel_only_a_planned_meeting(world: World) -> None:
    meeting = services.plan_meeting(world.referent, world.pathway, scheduled_at=NOW + timedelta(days=1), now=NOW)
    services.cancel_meeting(world.referent, meeting, reason="Malade", now=NOW)
    assert meeting.status == MeetingStatus.CANCELLED
    with pytest.raises(Conflict):
        services.cancel_meeting(world.referent, meeting, now=NOW)


def test_stale_meeting_edit_is_refused(world: World) -> None:
    meeting = services.plan_meeting(world.referent, world.pathway, scheduled_at=NOW + timedelta(days=1), now=NOW)
    seen = meeting.version
    services.reschedule_meeting(
        world.referent, meeting, scheduled_at=NOW + timedelta(days=2), expected_version=seen, now=NOW
    )
    with pytest.raises(StaleVersion):
        services.cancel_meeting(world.colleague, meeting, expected_version=seen, now=NOW)
    assert meeting.status == MeetingStatus.PLANNED


@pytest.mark.parametrize("who", ["stranger", "outsider", "admin"])
def test_meetings_of_a_hidden_record_are_not_found(world: World, who: str) -> None:
    with pytest.raises(NotFound):
        services.get_meeting_or_404(world.users()[who], world.meeting_team.id)
    with pytest.raises(NotFound):
        services.plan_meeting(world.users()[who], world.pathway, scheduled_at=NOW + timedelta(days=1), now=NOW)


def test_partner_sees_meetings_but_cannot_plan(world: World) -> None:
    from app.errors import Forbidden

    services.get_meeting_or_404(world.partner, world.meeting_team.id)
    with pytest.raises(Forbidden):
        services.plan_meeting(world.partner, world.pathway, scheduled_at=NOW + timedelta(days=1), now=NOW)
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id)).where(Meeting.organizer_id == world.partner.id)) == 0
