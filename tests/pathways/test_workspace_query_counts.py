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


def _count(client, count_queries, url: str) -> int:
    assert client.get(url).status_code == 200  # warm-up: same caches for both sizes
    with count_queries() as counter:
        assert client.get(url).status_code == 200
    return counter.count


def test_caseload_page_queries_do_not_grow_with_the_caseload(client, world: World, count_queries) -> None:
    small, large = UserFactory(agency=world.ft), UserFactory(agency=world.ft)
    _people(small, 10)
    _people(large, 300)
    login_as(client, small)
    small_count = _count(client, count_queries, "/portefeuille")
    login_as(client, large)
    large_count = _count(client, count_queries, "/portefeuille")
    assert small_count == large_count, (small_count, large_count)
    assert small_count <= 12


def test_record_page_queries_do_not_grow_with_the_record(client, world: World, count_queries) -> None:
    from app.pathways import services

    other = services.create_beneficiary(
        world.referent, {"first_name": "Yanis", "last_name": "Roux"}, referent=world.referent, now=T0
    )
    _record(world, world.pathway, 10)
    _record(world, other, 300)
    login_as(client, world.referent)
    small_count = _count(client, count_queries, f"/parcours/{world.pathway.id}")
    large_count = _count(client, count_queries, f"/parcours/{other.id}")
    assert small_count == large_count, (small_count, large_count)
    assert small_count <= 30
