"""The caseload page and the record page issue the same number of queries for 10 or 300 people /
entries (no N+1), measured over real HTTP requests through the test client."""

from __future__ import annotations

from datetime import timedelta

from app.barriers.models import Barrier, BarrierCategory, Referral, ReferralStatus
from app.extensions import db
from app.followup.models import Alert, AlertKind
from app.meetings.models import Meeting, MeetingStatus
from app.pathways.models import Beneficiary, Entry, Pathway, Stage, Visibility
from app.pathways.search import search_key
from tests.factories import UserFactory
from tests.queries import assert_num_queries
from tests.web_helpers import login_as
from tests.world import T0, World


def _people(referent, n: int) -> None:
    people = [
        Beneficiary(
            territory_id=referent.territory_id,
            first_name=f"Prénom{i}",
            last_name=f"Nom{i}",
            rights=[],
            search_name=search_key(f"Nom{i}", f"Prénom{i}"),
        )
        for i in range(n)
    ]
    db.session.add_all(people)
    db.session.flush()
    pathways = [
        Pathway(
            territory_id=referent.territory_id,
            beneficiary_id=p.id,
            lead_agency_id=referent.agency_id,
            referent_id=referent.id,
            stage=Stage.SUPPORT,
            started_at=T0,
        )
        for p in people
    ]
    db.session.add_all(pathways)
    db.session.flush()
    for i, pathway in enumerate(pathways):
        db.session.add(
            Meeting(
                territory_id=pathway.territory_id,
                pathway_id=pathway.id,
                organizer_id=referent.id,
                agency_id=referent.agency_id,
                scheduled_at=T0 + timedelta(days=60 + i),
                status=MeetingStatus.PLANNED,
            )
        )
        if i % 3 == 0:
            db.session.add(
                Alert(
                    territory_id=pathway.territory_id,
                    pathway_id=pathway.id,
                    kind=AlertKind.FOLLOW_UP_OVERDUE,
                    due_at=T0,
                )
            )
    db.session.commit()


def _record(world: World, pathway: Pathway, n: int) -> None:
    author = world.referent
    for i in range(n):
        db.session.add(
            Entry(
                territory_id=pathway.territory_id,
                pathway_id=pathway.id,
                author_id=author.id,
                author_agency_id=author.agency_id,
                visibility=Visibility.TEAM,
                body=f"Note {i}",
                occurred_at=T0 + timedelta(minutes=i),
            )
        )
        db.session.add(
            Meeting(
                territory_id=pathway.territory_id,
                pathway_id=pathway.id,
                organizer_id=author.id,
                agency_id=author.agency_id,
                scheduled_at=T0 + timedelta(hours=i),
                status=MeetingStatus.HELD,
                recorded_at=T0,
                recorded_by_id=author.id,
                notes=f"CR {i}",
            )
        )
        barrier = Barrier(
            territory_id=pathway.territory_id,
            pathway_id=pathway.id,
            category=BarrierCategory.HOUSING,
            title=f"Frein {i}",
            owner_agency_id=author.agency_id,
            created_by_id=author.id,
        )
        db.session.add(barrier)
        db.session.flush()
        db.session.add(
            Referral(
                territory_id=pathway.territory_id,
                barrier_id=barrier.id,
                agency_id=world.caf.id,
                status=ReferralStatus.DECLINED,
                decline_reason="no_capacity",
                sent_by_id=author.id,
                answered_at=T0,
            )
        )
    db.session.commit()


def _get_within(client, url: str, budget: int) -> None:
    assert client.get(url).status_code == 200  # warm-up: same caches for both sizes
    with assert_num_queries(budget):
        assert client.get(url).status_code == 200


# GET /portefeuille, the same for 10 and 300 people (the same on SQLite and PostgreSQL):
CASELOAD_PAGE = 8
# 1 the user and their session (Flask-Login's loader, one JOIN)
# 2 the caseload's count (pagination)
# 3 the page of pathways, with person, lead agency and referent (JOINs)
# 4 the unresolved alerts of the pathways on the page (one IN)
# 5 which of them the user may read in full (one IN through the access filter)
# 6 the referral requests waiting for the user's agency
# 7 when the alerts were last computed (the territory's scan state)
# 8 INSERT the audit event of the read

# GET /parcours/<id>, the same for a record of 10 and of 300 items of each kind (both dialects):
RECORD_PAGE = 19
# 1 the user and their session (Flask-Login's loader, one JOIN)
# 2 the pathway (the access check)
# 3 INSERT the audit event of the read (committed with the page: one transaction, nothing expired)
# 4-5 its lead agency, its person
# 6 the pathway's unresolved alerts
# 7 its consents
# 8 its contracts
# 9 its current referent assignment, with user and agency
# 10 its active team members, with their agencies
# 11 its barriers, with their owner agencies
# 12 the referrals of those barriers, with their agencies (one IN)
# 13 its meetings, with organizer and agency
# 14 the journal entries the user may read
# 15 the meeting history (cancelled left out), with who recorded it
# 16 the record's activity from the audit log, with actors and agencies
# 17 the referent history, with who assigned each referent
# 18 the pending requests to join the team
# 19 the territory's active agencies (the "add to the team" choices)


def test_caseload_page_queries_do_not_grow_with_the_caseload(client, world: World) -> None:
    small, large = UserFactory(agency=world.ft), UserFactory(agency=world.ft)
    _people(small, 10)
    _people(large, 300)
    login_as(client, small)
    _get_within(client, "/portefeuille", CASELOAD_PAGE)
    login_as(client, large)
    _get_within(client, "/portefeuille", CASELOAD_PAGE)


def test_record_page_queries_do_not_grow_with_the_record(client, world: World) -> None:
    from app.pathways import services

    other = services.create_beneficiary(
        world.referent, {"first_name": "Yanis", "last_name": "Roux"}, referent=world.referent, now=T0
    )
    _record(world, world.pathway, 10)
    _record(world, other, 300)
    login_as(client, world.referent)
    _get_within(client, f"/parcours/{world.pathway.id}", RECORD_PAGE)
    _get_within(client, f"/parcours/{other.id}", RECORD_PAGE)
