"""Alerts follow the writes: a write that removes an alert's cause resolves it in its own
transaction, one that creates a late situation raises it at once — over real HTTP, as a user does.

After a first scan at the real clock's time (the time writes are evaluated at), each write is
checked for: the alert resolved or raised when the response arrives, « Mes alertes » in step,
the pathway summaries exact (`summary.drift` empty), and a full scan afterwards writing nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.barriers import services as barrier_services
from app.barriers.models import Barrier, BarrierCategory, BarrierStatus
from app.db_types import utcnow
from app.errors import DomainError
from app.extensions import db
from app.followup import live, summary
from app.followup.models import Alert, AlertKind, AlertStatus
from app.followup.rules import RULES, tables_read
from app.followup.scan import scan_follow_ups
from app.meetings import services as meeting_services
from app.meetings.models import Meeting
from app.pathways import services as pathway_services
from app.pathways.models import Contract, ContractKind, Pathway
from app.transaction import unit_of_work
from app.validation import PARIS
from tests.web_helpers import local_input, login_as, text
from tests.world import World


@dataclass
class Late:
    world: World
    unreferred: Pathway  # no referent for 60 days (and not oriented)
    unrecorded: Pathway  # a planned meeting five days ago, never recorded
    planned: Meeting
    barrier: Barrier  # world.pathway's, due ten days ago


def unresolved(pathway: Pathway, kind: AlertKind | None = None) -> list[Alert]:
    query = sa.select(Alert).where(Alert.pathway_id == pathway.id, Alert.status != AlertStatus.RESOLVED)
    if kind is not None:
        query = query.where(Alert.kind == kind)
    return list(db.session.scalars(query.execution_options(populate_existing=True)))


def alert_rows() -> list[tuple]:
    return list(db.session.execute(sa.select(Alert.id, Alert.status, Alert.resolved_at).order_by(Alert.id)))


def assert_consistent() -> None:
    """Summaries exact, and a full scan at the same clock has nothing left to do."""
    assert summary.drift(db.session.connection()) == []
    after = scan_follow_ups(utcnow(), full=True)
    assert (after.raised, after.resolved) == (0, 0), after


@pytest.fixture
def late(world: World) -> Late:
    now = utcnow()
    today = now.astimezone(PARIS).date()
    referent = world.referent
    unreferred = pathway_services.create_beneficiary(
        referent, {"first_name": "Nadia", "last_name": "Sans-Référent"}, referent=None, now=now - timedelta(days=60)
    )
    unrecorded = pathway_services.create_beneficiary(
        referent, {"first_name": "Paul", "last_name": "Rendez-Vous"}, referent=referent, now=now - timedelta(days=20)
    )
    pathway_services.orient(referent, unrecorded, "professional", now=now - timedelta(days=20))
    signed = today - timedelta(days=19)
    pathway_services.record_contract(
        referent, unrecorded, kind=ContractKind.PPAE, signed_on=signed, starts_on=signed, now=now - timedelta(days=19)
    )
    planned = meeting_services.plan_meeting(
        referent, unrecorded, scheduled_at=now - timedelta(days=5), now=now - timedelta(days=6)
    )
    barrier = barrier_services.add_barrier(
        referent,
        world.pathway,
        category=BarrierCategory.HOUSING,
        title="Loyer impayé",
        due_on=today - timedelta(days=10),
        now=now - timedelta(days=30),
    )
    scan_follow_ups(now, full=True)
    late = Late(world, unreferred, unrecorded, planned, barrier)
    assert unresolved(world.pathway, AlertKind.FOLLOW_UP_OVERDUE)
    assert unresolved(world.pathway, AlertKind.BARRIER_OVERDUE)
    assert unresolved(unreferred, AlertKind.NO_REFERENT)
    assert unresolved(unrecorded, AlertKind.MEETING_UNRECORDED)
    return late


def my_alerts(client) -> str:
    """The rows of « Mes alertes » (not the filter's list of kinds)."""
    return text(client.get("/alertes")).split("<tbody", 1)[1]


def test_holding_the_meeting_resolves_follow_up_overdue_in_the_same_request(client, late: Late) -> None:
    world = late.world
    login_as(client, world.referent)
    assert "Sarah Benali" in my_alerts(client) and "Suivi en retard" in my_alerts(client)
    response = client.post(
        f"/parcours/{world.pathway.id}/entretien",
        data={
            "status": "held",
            "held_at": local_input(utcnow() - timedelta(hours=1)),
            "channel": "in_person",
            "notes": "Point d'étape.",
            "notes_visibility": "team",
        },
    )
    assert response.status_code == 302
    assert unresolved(world.pathway, AlertKind.FOLLOW_UP_OVERDUE) == []
    assert "Suivi en retard" not in my_alerts(client)
    db.session.refresh(world.pathway)
    assert world.pathway.last_held_at is not None and world.pathway.open_alert_count == len(unresolved(world.pathway))
    assert_consistent()


def test_recording_the_planned_meeting_resolves_meeting_unrecorded(client, late: Late) -> None:
    login_as(client, late.world.referent)
    assert "Rendez-vous non renseigné" in my_alerts(client)
    response = client.post(
        f"/parcours/{late.unrecorded.id}/entretien",
        data={
            "status": "held",
            "held_at": local_input(late.planned.scheduled_at),
            "channel": "in_person",
            "notes": "Entretien tenu.",
            "notes_visibility": "team",
        },
    )
    assert response.status_code == 302
    db.session.refresh(late.planned)
    assert late.planned.status == "held"  # the planned meeting itself was recorded
    assert unresolved(late.unrecorded, AlertKind.MEETING_UNRECORDED) == []
    assert "Rendez-vous non renseigné" not in my_alerts(client)
    assert_consistent()


def test_naming_the_referent_resolves_no_referent(client, late: Late) -> None:
    world = late.world
    login_as(client, world.manager_ft)
    response = client.post(
        f"/parcours/{late.unreferred.id}/referent",
        data={"user_id": str(world.referent.id), "note": "Prise en charge.", "version": str(late.unreferred.version)},
    )
    assert response.status_code == 302
    assert unresolved(late.unreferred, AlertKind.NO_REFERENT) == []
    assert unresolved(late.unreferred, AlertKind.ORIENTATION_LATE)  # its other cause is still there
    login_as(client, world.referent)
    page = my_alerts(client)
    assert "Sans référent" not in page and "Nadia" in page  # now the referent's, for orientation
    assert_consistent()


def test_lifting_the_barrier_resolves_barrier_overdue(client, late: Late) -> None:
    world = late.world
    login_as(client, world.referent)
    assert "Frein en retard" in my_alerts(client)
    form = {
        "category": "housing",
        "title": "Loyer impayé",
        "owner_agency_id": str(world.ft.id),
        "status": "lifted",
        "version": str(late.barrier.version),
    }
    assert client.post(f"/freins/{late.barrier.id}/modifier", data=form).status_code == 302
    assert unresolved(world.pathway, AlertKind.BARRIER_OVERDUE) == []
    assert "Frein en retard" not in my_alerts(client)
    db.session.refresh(world.pathway)
    assert world.pathway.open_barrier_count == 1  # the world's own barrier, still open
    assert_consistent()


def test_a_write_that_creates_a_late_situation_raises_it_at_once(client, late: Late) -> None:
    world = late.world
    login_as(client, world.referent)
    assert "Absence non replanifiée" not in my_alerts(client)
    response = client.post(
        f"/parcours/{world.pathway.id}/entretien",
        data={
            "status": "missed",
            "held_at": local_input(utcnow() - timedelta(days=10)),
            "channel": "phone",
            "notes_visibility": "team",
        },
    )
    assert response.status_code == 302
    assert unresolved(world.pathway, AlertKind.MISSED_NOT_RESCHEDULED)
    assert "Absence non replanifiée" in my_alerts(client)
    assert_consistent()


def test_a_refused_write_changes_no_alert(client, late: Late) -> None:
    world = late.world
    before = alert_rows()
    login_as(client, world.referent)
    form = {
        "category": "housing",
        "title": "Loyer impayé",
        "owner_agency_id": str(world.ft.id),
        "status": "lifted",
        "version": str(late.barrier.version - 1),  # somebody edited it meanwhile
    }
    assert client.post(f"/freins/{late.barrier.id}/modifier", data=form).status_code == 409
    assert alert_rows() == before
    # Refused after its changes were flushed: the transaction is rolled back, nothing is evaluated,
    # and nothing is left noted for the next commit.
    with pytest.raises(DomainError), unit_of_work():
        late.barrier.status = BarrierStatus.LIFTED
        db.session.flush()
        raise DomainError("refusé")
    assert alert_rows() == before
    assert not db.session.info.get("parcours.followup.evaluate_pathways")
    assert unresolved(world.pathway, AlertKind.BARRIER_OVERDUE)
    assert_consistent()


def test_closing_a_pathway_resolves_its_alerts_and_a_contract_resolves_contract_late(late: Late) -> None:
    world = late.world
    assert unresolved(world.pathway, AlertKind.CONTRACT_LATE)
    today = utcnow().astimezone(PARIS).date()
    pathway_services.record_contract(
        world.referent, world.pathway, kind=ContractKind.CER, signed_on=today, starts_on=today
    )
    assert unresolved(world.pathway, AlertKind.CONTRACT_LATE) == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Contract)) >= 1
    assert_consistent()


def test_the_write_hook_reads_every_table_the_rules_read() -> None:
    """A new rule reading a new table must come with the way a write of it names its pathway."""
    assert live.uncovered_rule_tables() == set()
    assert "referral" in tables_read(RULES[AlertKind.REFERRAL_UNANSWERED])  # aliases and joins are seen
    assert tables_read(RULES[AlertKind.CONTRACT_ENDING]) == {"contract", "pathway"}
