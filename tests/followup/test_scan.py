"""Time-travel tests of every follow-up rule (DESIGN §3.4–3.6) at its boundaries.

Deadlines are Paris calendar days: checked on the day before, the day of and the day after, and
across the daylight-saving change of 29 March 2026.
"""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app.barriers import services as barriers
from app.barriers.models import BarrierCategory, BarrierStatus, DeclineReason
from app.extensions import db
from app.followup import queries as followup_queries
from app.followup.models import Alert, AlertKind, AlertStatus
from app.followup.scan import scan_follow_ups
from app.meetings import services as meetings
from app.meetings.models import Meeting, MeetingKind, MeetingStatus
from app.pathways import services as pathways
from app.pathways.models import ContractKind, EmploymentContractType, Orientation, Pathway
from tests.factories import AgencyFactory, TerritoryFactory, UserFactory

PARIS = ZoneInfo("Europe/Paris")


def paris(y: int, m: int, d: int, h: int = 12, minute: int = 0) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=PARIS)


def open_alerts(pathway: Pathway, kind: AlertKind | None = None) -> list[Alert]:
    query = sa.select(Alert).where(Alert.pathway_id == pathway.id, Alert.status != AlertStatus.RESOLVED)
    if kind is not None:
        query = query.where(Alert.kind == kind)
    return list(db.session.scalars(query.order_by(Alert.id)))


def kinds_at(pathway: Pathway, now: datetime) -> set[AlertKind]:
    scan_follow_ups(now)
    return {a.kind for a in open_alerts(pathway)}


@pytest.fixture
def referent():
    territory = TerritoryFactory()
    return UserFactory(agency=AgencyFactory(territory=territory))


def new_pathway(referent, started: datetime, *, orient: Orientation | None = Orientation.PROFESSIONAL,
                with_referent: bool = True, contract: bool = True) -> Pathway:
    pathway = pathways.create_beneficiary(referent, {"first_name": "Thibault", "last_name": "Morel"},
                                          referent=referent if with_referent else None, now=started)
    if orient is not None:
        pathways.orient(referent, pathway, orient, now=started)
        if contract:
            pathways.record_contract(referent, pathway, kind=ContractKind.PPAE, signed_on=started.date(),
                                     starts_on=started.date(), now=started)
    return pathway


def hold(referent, pathway: Pathway, at: datetime) -> Meeting:
    meeting, _ = meetings.log_meeting(referent, pathway, status=MeetingStatus.HELD, held_at=at, now=at)
    return meeting


# --- follow_up_overdue -------------------------------------------------------------------------

def test_follow_up_overdue_counts_paris_days_across_the_daylight_saving_change(referent) -> None:
    pathway = new_pathway(referent, paris(2026, 2, 1, 9))
    hold(referent, pathway, paris(2026, 3, 1, 10))  # cadence 30 days → deadline day: 31 March (after DST)
    kind = AlertKind.FOLLOW_UP_OVERDUE
    assert kind not in kinds_at(pathway, paris(2026, 3, 30, 23, 59))  # the day before
    assert kind not in kinds_at(pathway, paris(2026, 3, 31, 23, 59))  # the day of: still time today
    assert kind in kinds_at(pathway, paris(2026, 4, 1, 0, 1))  # the day after, at 00:01 Paris (22:01 UTC)
    (alert,) = open_alerts(pathway, kind)
    assert alert.due_at.astimezone(PARIS).date() == date(2026, 3, 31)


def test_follow_up_overdue_resolves_when_a_meeting_is_held(referent) -> None:
    pathway = new_pathway(referent, paris(2026, 1, 5))
    assert AlertKind.FOLLOW_UP_OVERDUE in kinds_at(pathway, paris(2026, 2, 10))
    hold(referent, pathway, paris(2026, 2, 11, 9))
    assert AlertKind.FOLLOW_UP_OVERDUE not in kinds_at(pathway, paris(2026, 2, 11, 18))
    (resolved,) = db.session.scalars(sa.select(Alert).where(Alert.pathway_id == pathway.id,
                                                             Alert.kind == AlertKind.FOLLOW_UP_OVERDUE)).all()
    assert resolved.status == AlertStatus.RESOLVED and resolved.resolved_at is not None


def test_a_meeting_planned_before_the_deadline_prevents_the_alert(referent) -> None:
    pathway = new_pathway(referent, paris(2026, 1, 5))
    meetings.plan_meeting(referent, pathway, scheduled_at=paris(2026, 2, 3, 14), now=paris(2026, 1, 20))
    # On 10 Feb the planned meeting is past and unrecorded: that is its own alert, not this one.
    assert kinds_at(pathway, paris(2026, 2, 10)) & {AlertKind.FOLLOW_UP_OVERDUE, AlertKind.MEETING_UNRECORDED} == {
        AlertKind.MEETING_UNRECORDED}


def test_a_meeting_planned_after_the_deadline_does_not_hide_the_lateness(referent) -> None:
    pathway = new_pathway(referent, paris(2026, 1, 5))
    meetings.plan_meeting(referent, pathway, scheduled_at=paris(2026, 2, 20, 14), now=paris(2026, 1, 20))
    assert AlertKind.FOLLOW_UP_OVERDUE in kinds_at(pathway, paris(2026, 2, 10))


def test_cadence_follows_the_orientation_and_the_territory_setting(referent) -> None:
    pathway = new_pathway(referent, paris(2026, 1, 5), orient=Orientation.SOCIAL)  # 60 days by default
    assert AlertKind.FOLLOW_UP_OVERDUE not in kinds_at(pathway, paris(2026, 3, 6))
    assert AlertKind.FOLLOW_UP_OVERDUE in kinds_at(pathway, paris(2026, 3, 7))
    referent.territory.cadence_social_days = 90
    db.session.flush()
    assert AlertKind.FOLLOW_UP_OVERDUE not in kinds_at(pathway, paris(2026, 3, 7))


# --- meeting_unrecorded and missed_not_rescheduled ----------------------------------------------

def test_meeting_unrecorded_after_the_grace_period(referent) -> None:
    pathway = new_pathway(referent, paris(2026, 1, 5))
    meeting = meetings.plan_meeting(referent, pathway, scheduled_at=paris(2026, 1, 12, 15), now=paris(2026, 1, 6))
    kind = AlertKind.MEETING_UNRECORDED
    assert kind not in kinds_at(pathway, paris(2026, 1, 14, 23, 59))  # day + 2: grace period
    assert kind in kinds_at(pathway, paris(2026, 1, 15, 0, 1))
    assert open_alerts(pathway, kind)[0].subject_key == f"meeting:{meeting.id}"
    meetings.record_meeting(referent, meeting, status=MeetingStatus.HELD, now=paris(2026, 1, 15, 9))
    assert kind not in kinds_at(pathway, paris(2026, 1, 15, 10))


def test_missed_not_rescheduled_within_seven_days(referent) -> None:
    pathway = new_pathway(referent, paris(2026, 1, 5))
    meetings.log_meeting(referent, pathway, status=MeetingStatus.MISSED, held_at=paris(2026, 1, 12, 10),
                         now=paris(2026, 1, 12, 11))
    kind = AlertKind.MISSED_NOT_RESCHEDULED
    assert kind not in kinds_at(pathway, paris(2026, 1, 19, 20))  # day + 7
    assert kind in kinds_at(pathway, paris(2026, 1, 20, 8))
    meetings.plan_meeting(referent, pathway, scheduled_at=paris(2026, 1, 27, 10), now=paris(2026, 1, 20, 9))
    assert kind not in kinds_at(pathway, paris(2026, 1, 20, 10))


# --- barriers and referrals ----------------------------------------------------------------------

def test_barrier_overdue_from_the_paris_day_after_its_due_date(referent) -> None:
    pathway = new_pathway(referent, paris(2026, 1, 5))
    barrier = barriers.add_barrier(referent, pathway, category=BarrierCategory.HOUSING, title="Hébergement d'urgence",
                                   due_on=date(2026, 3, 28), now=paris(2026, 1, 6))
    kind = AlertKind.BARRIER_OVERDUE
    assert kind not in kinds_at(pathway, paris(2026, 3, 28, 23, 59))
    assert kind in kinds_at(pathway, paris(2026, 3, 29, 0, 30))  # 23:30 UTC on the 28th
    barriers.update_barrier(referent, barrier, {"status": BarrierStatus.LIFTED}, now=paris(2026, 3, 30))
    assert kind not in kinds_at(pathway, paris(2026, 3, 30, 12))


def test_referral_unanswered_after_ten_days(referent) -> None:
    pathway = new_pathway(referent, paris(2026, 1, 5))
    partner_agency = AgencyFactory(territory=referent.territory)
    partner = UserFactory(agency=partner_agency)
    barrier = barriers.add_barrier(referent, pathway, category=BarrierCategory.MOBILITY, title="Permis",
                                   now=paris(2026, 1, 6))
    referral = barriers.refer_barrier(referent, barrier, agency_id=partner_agency.id, now=paris(2026, 1, 6, 10))
    kind = AlertKind.REFERRAL_UNANSWERED
    assert kind not in kinds_at(pathway, paris(2026, 1, 16, 23))
    assert kind in kinds_at(pathway, paris(2026, 1, 17, 1))
    barriers.answer_referral(partner, referral, accept=False, decline_reason=DeclineReason.NO_CAPACITY,
                             now=paris(2026, 1, 17, 9))
    assert kind not in kinds_at(pathway, paris(2026, 1, 17, 10))


# --- intake deadlines ------------------------------------------------------------------------------

def test_no_referent_after_thirty_days_in_intake(referent) -> None:
    pathway = new_pathway(referent, paris(2026, 1, 5, 9), orient=None, with_referent=False)
    kind = AlertKind.NO_REFERENT
    assert kind not in kinds_at(pathway, paris(2026, 2, 4, 22))
    assert kind in kinds_at(pathway, paris(2026, 2, 5, 8))
    pathways.assign_referent(referent, pathway, referent, now=paris(2026, 2, 5, 9))
    assert kind not in kinds_at(pathway, paris(2026, 2, 5, 10))


def test_orientation_late_after_six_weeks(referent) -> None:
    pathway = new_pathway(referent, paris(2026, 1, 5, 9), orient=None)
    kind = AlertKind.ORIENTATION_LATE
    assert kind not in kinds_at(pathway, paris(2026, 2, 16, 22))  # 5 Jan + 42 days = 16 Feb
    assert kind in kinds_at(pathway, paris(2026, 2, 17, 8))
    pathways.orient(referent, pathway, Orientation.SOCIO_PROFESSIONAL, now=paris(2026, 2, 17, 9))
    assert kind not in kinds_at(pathway, paris(2026, 2, 17, 10))


def test_contract_late_one_month_after_orientation(referent) -> None:
    pathway = new_pathway(referent, paris(2026, 1, 5, 9), contract=False)
    kind = AlertKind.CONTRACT_LATE
    assert kind not in kinds_at(pathway, paris(2026, 2, 4, 22))
    assert kind in kinds_at(pathway, paris(2026, 2, 5, 8))
    pathways.record_contract(referent, pathway, kind=ContractKind.CER, signed_on=date(2026, 2, 5),
                             starts_on=date(2026, 2, 5), now=paris(2026, 2, 5, 9))
    assert kind not in kinds_at(pathway, paris(2026, 2, 5, 10))


def test_contract_ending_within_thirty_days_until_renewed(referent) -> None:
    pathway = new_pathway(referent, paris(2026, 1, 5, 9), contract=False)
    pathways.record_contract(referent, pathway, kind=ContractKind.CER, signed_on=date(2026, 1, 5),
                             starts_on=date(2026, 1, 5), ends_on=date(2026, 7, 4), now=paris(2026, 1, 5, 10))
    kind = AlertKind.CONTRACT_ENDING
    assert kind not in kinds_at(pathway, paris(2026, 6, 3, 23))
    assert kind in kinds_at(pathway, paris(2026, 6, 4, 1))  # 4 July − 30 days
    hold(referent, pathway, paris(2026, 6, 5, 9))
    pathways.record_contract(referent, pathway, kind=ContractKind.CER, signed_on=date(2026, 6, 5),
                             starts_on=date(2026, 7, 5), ends_on=date(2027, 1, 4), now=paris(2026, 6, 5, 10))
    assert kind not in kinds_at(pathway, paris(2026, 6, 5, 11))


# --- after a return to work ------------------------------------------------------------------------

def test_checkins_after_return_to_work_then_closure_proposed(referent) -> None:
    pathway = new_pathway(referent, paris(2026, 1, 5, 9))
    pathways.record_employment(referent, pathway, started_on=date(2026, 2, 2),
                               contract_type=EmploymentContractType.CDD, employer="Transports Dubois",
                               now=paris(2026, 2, 3))
    checkins = db.session.scalars(sa.select(Meeting).where(
        Meeting.pathway_id == pathway.id, Meeting.kind == MeetingKind.CHECKIN).order_by(Meeting.scheduled_at)).all()
    first, second, third = checkins  # 1, 3 and 6 months after: 2 March, 2 May, 2 August, 10:00 Paris…
    # …on working days: Saturday 2 May and Sunday 2 August move to the Monday after.
    assert [c.scheduled_at for c in checkins] == [paris(2026, 3, 2, 10), paris(2026, 5, 4, 10), paris(2026, 8, 3, 10)]
    kind = AlertKind.CHECKIN_OVERDUE
    # No regular follow-up alert while in employment: the check-ins are the follow-up.
    assert AlertKind.FOLLOW_UP_OVERDUE not in kinds_at(pathway, paris(2026, 3, 4, 23))
    assert kind not in kinds_at(pathway, paris(2026, 3, 4, 23))
    assert kind in kinds_at(pathway, paris(2026, 3, 5, 1))
    assert open_alerts(pathway, kind)[0].subject_key == f"meeting:{first.id}"
    meetings.record_meeting(referent, first, status=MeetingStatus.HELD, now=paris(2026, 3, 5, 9))
    assert kind not in kinds_at(pathway, paris(2026, 3, 5, 10))
    # A missed check-in stays flagged until a meeting is held.
    meetings.record_meeting(referent, second, status=MeetingStatus.MISSED, now=paris(2026, 5, 4, 11))
    assert kind in kinds_at(pathway, paris(2026, 5, 8))
    hold(referent, pathway, paris(2026, 5, 11, 10))
    assert kind not in kinds_at(pathway, paris(2026, 5, 11, 12))
    assert AlertKind.CLOSURE_PROPOSED not in kinds_at(pathway, paris(2026, 8, 2))
    meetings.record_meeting(referent, third, status=MeetingStatus.HELD, now=paris(2026, 8, 3, 11))
    assert AlertKind.CLOSURE_PROPOSED in kinds_at(pathway, paris(2026, 8, 3, 12))
    assert pathway.is_open  # proposed, never closed silently
    from app.pathways.models import ClosureReason

    pathways.close_pathway(referent, pathway, reason=ClosureReason.EMPLOYMENT_SUSTAINED, now=paris(2026, 8, 4))
    assert open_alerts(pathway) == []
    assert kinds_at(pathway, paris(2026, 12, 1)) == set()


# --- idempotence, acknowledgement, scope -----------------------------------------------------------

def test_scanning_twice_writes_nothing_new(referent) -> None:
    pathway = new_pathway(referent, paris(2026, 1, 5), orient=None, with_referent=False)
    first = scan_follow_ups(paris(2026, 3, 1), full=True)
    ids = [a.id for a in open_alerts(pathway)]
    second = scan_follow_ups(paris(2026, 3, 1), full=True)
    # (Both alerts were raised when the pathway was written, by the write-time evaluation.)
    assert len(ids) == 2 and first.raised == first.resolved == 0
    assert second.raised == 0 and second.resolved == 0
    assert [a.id for a in open_alerts(pathway)] == ids


def test_an_acknowledged_alert_stays_until_its_cause_is_gone(referent) -> None:
    pathway = new_pathway(referent, paris(2026, 1, 5), orient=None)
    scan_follow_ups(paris(2026, 3, 1))
    (alert,) = open_alerts(pathway, AlertKind.ORIENTATION_LATE)
    alert.status = AlertStatus.ACKNOWLEDGED
    db.session.flush()
    scan_follow_ups(paris(2026, 3, 2))
    assert [a.id for a in open_alerts(pathway, AlertKind.ORIENTATION_LATE)] == [alert.id]
    pathways.orient(referent, pathway, Orientation.SOCIAL, now=paris(2026, 3, 2, 13))
    scan_follow_ups(paris(2026, 3, 2, 14))
    assert open_alerts(pathway, AlertKind.ORIENTATION_LATE) == []


def test_the_database_refuses_a_duplicate_unresolved_alert(referent) -> None:
    from sqlalchemy.exc import IntegrityError

    pathway = new_pathway(referent, paris(2026, 1, 5), orient=None)
    for _ in range(2):
        db.session.add(Alert(territory_id=pathway.territory_id, pathway_id=pathway.id,
                             kind=AlertKind.ORIENTATION_LATE, subject_key="", due_at=paris(2026, 2, 16)))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_scan_can_be_limited_to_some_territories(referent) -> None:
    pathway = new_pathway(referent, paris(2026, 1, 5), orient=None)
    other = new_pathway(UserFactory(agency=AgencyFactory(territory=TerritoryFactory())), paris(2026, 1, 5), orient=None)
    before = open_alerts(pathway)  # raised when it was written (at the wall clock's time)
    assert before and open_alerts(other)
    scan_follow_ups(paris(2026, 1, 6), territory_ids=[other.territory_id])  # nothing late on 6 January
    assert open_alerts(other) == [] and open_alerts(pathway) == before


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        scan_follow_ups(datetime(2026, 3, 1))  # noqa: DTZ001


def test_acknowledging_is_audited_and_keeps_the_alert_visible(referent) -> None:
    from app.audit.models import AuditEvent
    from app.followup import services as alerts

    pathway = new_pathway(referent, paris(2026, 1, 5), orient=None)
    scan_follow_ups(paris(2026, 3, 1))
    alert = open_alerts(pathway, AlertKind.ORIENTATION_LATE)[0]
    alerts.acknowledge_alert(referent, alert, now=paris(2026, 3, 1, 13))
    assert alert.status == AlertStatus.ACKNOWLEDGED and alert.acknowledged_by_id == referent.id
    assert alert in db.session.scalars(followup_queries.open_alerts_query(referent)).all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "alert.acknowledged", AuditEvent.object_id == alert.id)) == 1


def test_other_agencies_cannot_acknowledge(referent) -> None:
    from app.errors import NotFound
    from app.followup import services as alerts

    pathway = new_pathway(referent, paris(2026, 1, 5), orient=None)
    scan_follow_ups(paris(2026, 3, 1))
    alert = open_alerts(pathway, AlertKind.ORIENTATION_LATE)[0]
    stranger = UserFactory(agency=AgencyFactory(territory=TerritoryFactory()))
    with pytest.raises(NotFound):
        alerts.get_alert_or_404(stranger, alert.id)
    with pytest.raises(NotFound):
        alerts.acknowledge_alert(stranger, alert)
    assert db.session.scalars(followup_queries.open_alerts_query(stranger)).all() == []
