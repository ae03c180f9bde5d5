"""Incremental scans never miss an alert: after any sequence of operations and of time steps, the
unresolved alerts are exactly what a full evaluation of every rule gives (the oracle below).

Runs with no safety margin on "rows written since the last scan", so that what the incremental scan
re-examines is decided by the deadline windows, not by the (here very recent) write times.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app.accounts.models import AgencyKind, Role
from app.barriers import services as barriers
from app.barriers.models import Barrier, BarrierCategory, BarrierStatus, DeclineReason, Referral, ReferralStatus
from app.db_types import utcnow
from app.errors import DomainError
from app.extensions import db
from app.followup import live
from app.followup import scan as scan_module
from app.followup.models import Alert, AlertStatus
from app.followup.rules import RULES, RuleContext
from app.followup.scan import scan_follow_ups
from app.meetings import services as meetings
from app.meetings.models import Meeting, MeetingStatus
from app.pathways import services as pathways
from app.pathways.models import ClosureReason, Contract, ContractKind, EmploymentContractType, Orientation, Pathway
from tests.factories import AgencyFactory, TerritoryFactory, UserFactory

PARIS = ZoneInfo("Europe/Paris")


def expected_keys(now: datetime, territory) -> set[tuple]:
    ctx = RuleContext(now=now, territories=[territory])
    keys = set()
    for rule in RULES.values():
        for row in db.session.execute(rule(ctx)):
            keys.add((row.pathway_id, str(row.kind), row.subject_key))
    return keys


def actual_keys(territory) -> set[tuple]:
    rows = db.session.execute(
        sa.select(Alert.pathway_id, Alert.kind, Alert.subject_key).where(
            Alert.territory_id == territory.id, Alert.status != AlertStatus.RESOLVED
        )
    )
    return {(p, str(k), s) for p, k, s in rows}


class Simulation:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.territory = TerritoryFactory()
        lead = AgencyFactory(territory=self.territory, kind=AgencyKind.DEPARTMENTAL_COUNCIL)
        self.partner_agency = AgencyFactory(territory=self.territory, kind=AgencyKind.CAF)
        self.referents = [UserFactory(agency=lead) for _ in range(2)]
        self.partner = UserFactory(agency=self.partner_agency)
        self.manager = UserFactory(agency=lead, role=Role.MANAGER)

    def open_pathways(self) -> list[Pathway]:
        return list(
            db.session.scalars(
                sa.select(Pathway)
                .where(Pathway.territory_id == self.territory.id, Pathway.closed_at.is_(None))
                .order_by(Pathway.id)
            )
        )

    def step(self, now: datetime) -> None:
        rng, referent = self.rng, self.rng.choice(self.referents)
        open_pathways = self.open_pathways()
        pathway = rng.choice(open_pathways) if open_pathways else None
        action = rng.choice(
            [
                "create",
                "create",
                "orient",
                "held",
                "missed",
                "plan",
                "record_planned",
                "barrier",
                "lift",
                "refer",
                "answer",
                "contract",
                "employment",
                "close",
                "assign",
                "cadence",
            ]
        )
        if action == "create" or pathway is None:
            pathways.create_beneficiary(
                referent,
                {"first_name": "Personne", "last_name": f"N{rng.randint(1, 999)}"},
                referent=referent if rng.random() < 0.7 else None,
                now=now - timedelta(days=rng.randint(0, 60)),
            )
        elif action == "orient":
            pathways.orient(
                self.manager,
                pathway,
                rng.choice(list(Orientation)),
                now=now,
                oriented_at=max(pathway.started_at, now - timedelta(days=rng.randint(0, 40))),
            )
        elif action in ("held", "missed"):
            status = MeetingStatus.HELD if action == "held" else MeetingStatus.MISSED
            next_at = now + timedelta(days=rng.randint(1, 45)) if rng.random() < 0.5 else None
            meetings.log_meeting(
                self.manager,
                pathway,
                status=status,
                now=now,
                next_at=next_at,
                held_at=max(pathway.started_at, now - timedelta(hours=rng.randint(0, 200))),
            )
        elif action == "plan":
            meetings.plan_meeting(
                self.manager, pathway, scheduled_at=now + timedelta(hours=rng.randint(1, 900)), now=now
            )
        elif action == "record_planned":
            planned = db.session.scalars(
                sa.select(Meeting).where(
                    Meeting.pathway_id == pathway.id,
                    Meeting.status == MeetingStatus.PLANNED,
                    Meeting.scheduled_at <= now,
                )
            ).first()
            if planned:
                meetings.record_meeting(
                    self.manager, planned, status=rng.choice([MeetingStatus.HELD, MeetingStatus.MISSED]), now=now
                )
        elif action == "barrier":
            today = now.astimezone(PARIS).date()
            barriers.add_barrier(
                self.manager,
                pathway,
                category=rng.choice(list(BarrierCategory)),
                title="Frein",
                due_on=today + timedelta(days=rng.randint(-3, 20)),
                now=now,
            )
        elif action == "lift":
            barrier = db.session.scalars(sa.select(Barrier).where(Barrier.pathway_id == pathway.id)).first()
            if barrier:
                barriers.update_barrier(self.manager, barrier, {"status": BarrierStatus.LIFTED}, now=now)
        elif action == "refer":
            barrier = db.session.scalars(sa.select(Barrier).where(Barrier.pathway_id == pathway.id)).first()
            if barrier:
                barriers.refer_barrier(self.manager, barrier, agency_id=self.partner_agency.id, now=now)
        elif action == "answer":
            referral = db.session.scalars(sa.select(Referral).where(Referral.status == ReferralStatus.SENT)).first()
            if referral:
                barriers.answer_referral(
                    self.partner, referral, accept=rng.random() < 0.5, decline_reason=DeclineReason.NO_CAPACITY, now=now
                )
        elif action == "contract":
            today = now.astimezone(PARIS).date()
            pathways.record_contract(
                self.manager,
                pathway,
                kind=ContractKind.CER,
                signed_on=today,
                starts_on=today,
                ends_on=today + timedelta(days=rng.randint(5, 60)),
                now=now,
            )
        elif action == "employment" and pathway.referent_id:
            pathways.record_employment(
                self.manager,
                pathway,
                started_on=now.astimezone(PARIS).date(),
                contract_type=EmploymentContractType.CDD,
                employer="Employeur",
                now=now,
            )
        elif action == "close":
            pathways.close_pathway(self.manager, pathway, reason=ClosureReason.OTHER, now=now)
        elif action == "assign" and pathway.referent_id is None:
            pathways.assign_referent(self.manager, pathway, referent, now=now)
        elif action == "cadence":
            self.territory.cadence_professional_days = rng.choice([20, 30, 45])
            db.session.flush()


def written_since(territory, since: datetime) -> set[int]:
    """The pathways of the territory with a row written since `since` (wall clock)."""
    selects = [
        sa.select(table.pathway_id).where(table.territory_id == territory.id, table.updated_at >= since)
        for table in (Meeting, Barrier, Contract)
    ]
    selects.append(sa.select(Pathway.id).where(Pathway.territory_id == territory.id, Pathway.updated_at >= since))
    selects.append(
        sa.select(Barrier.pathway_id)
        .join(Referral, Referral.barrier_id == Barrier.id)
        .where(Referral.territory_id == territory.id, Referral.updated_at >= since)
    )
    return set(db.session.scalars(sa.union(*selects)))


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_incremental_scans_match_a_full_evaluation(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    monkeypatch.setattr(scan_module, "CHANGE_MARGIN", timedelta(0))
    monkeypatch.setattr(scan_module, "INCREMENTAL_MAX_SHARE", 1.0)  # never fall back to full: test the windows
    rng = random.Random(seed)
    simulation = Simulation(rng)
    now = datetime(2026, 1, 5, 9, 0, tzinfo=PARIS)
    # Writes are evaluated at the simulation's clock, as they are at the wall clock's in production.
    monkeypatch.setattr(live, "clock", lambda: now)
    incremental_scans = live_checks = 0
    for _ in range(45):
        now += timedelta(hours=rng.choice([2, 7, 20, 24, 26, 49, 24 * 6, 24 * 15]))
        before_step = utcnow()
        try:
            simulation.step(now)
        except DomainError:
            db.session.rollback()  # a refused operation (e.g. a second consent) changes nothing
        # The write-time evaluation: the pathways just written have exactly their alerts already.
        touched = written_since(simulation.territory, before_step)
        live_checks += bool(touched)
        expected = {key for key in expected_keys(now, simulation.territory) if key[0] in touched}
        assert {key for key in actual_keys(simulation.territory) if key[0] in touched} == expected
        result = scan_follow_ups(now, territory_ids=[simulation.territory.id])
        incremental_scans += not result.full
        assert actual_keys(simulation.territory) == expected_keys(now, simulation.territory), f"after {result}"
    assert incremental_scans > 20  # the point of the test: most scans were incremental
    assert live_checks > 20  # and most steps wrote something
    assert actual_keys(simulation.territory)  # and the world produced alerts


def test_time_alone_raises_alerts_incrementally(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing written between two scans: the deadline windows alone bring the pathway in."""
    monkeypatch.setattr(scan_module, "CHANGE_MARGIN", timedelta(0))
    monkeypatch.setattr(scan_module, "INCREMENTAL_MAX_SHARE", 1.0)
    territory = TerritoryFactory()
    referent = UserFactory(agency=AgencyFactory(territory=territory))
    pathway = pathways.create_beneficiary(
        referent,
        {"first_name": "Sarah", "last_name": "B"},
        referent=referent,
        now=datetime(2026, 1, 5, 9, tzinfo=PARIS),
    )
    first = scan_follow_ups(datetime(2026, 2, 5, 9, tzinfo=PARIS), territory_ids=[territory.id])
    assert first.full
    # 5 → 12 Feb: no threshold of this pathway (30, 42, 60 days after 5 Jan) is crossed.
    quiet = scan_follow_ups(datetime(2026, 2, 12, 9, tzinfo=PARIS), territory_ids=[territory.id])
    assert not quiet.full and quiet.examined == 0 and quiet.raised == 0
    late = scan_follow_ups(datetime(2026, 2, 17, 9, tzinfo=PARIS), territory_ids=[territory.id])  # 5 Jan + 42 d
    assert not late.full and late.examined == 1 and late.raised == 1
    assert {k[1] for k in actual_keys(territory)} == {"orientation_late"}
    assert pathway.id == late_pathway_id(territory)


def late_pathway_id(territory) -> int:
    return db.session.scalar(sa.select(Alert.pathway_id).where(Alert.territory_id == territory.id))


def test_settings_change_and_going_back_in_time_force_a_full_scan() -> None:
    territory = TerritoryFactory()
    UserFactory(agency=AgencyFactory(territory=territory))
    assert scan_follow_ups(datetime(2026, 3, 1, tzinfo=PARIS), territory_ids=[territory.id]).full
    assert not scan_follow_ups(datetime(2026, 3, 2, tzinfo=PARIS), territory_ids=[territory.id]).full
    territory.grace_days = 3
    db.session.flush()
    assert scan_follow_ups(datetime(2026, 3, 3, tzinfo=PARIS), territory_ids=[territory.id]).full
    assert scan_follow_ups(datetime(2026, 2, 1, tzinfo=PARIS), territory_ids=[territory.id]).full
    assert scan_follow_ups(datetime(2026, 2, 2, tzinfo=PARIS), territory_ids=[territory.id], full=True).full


def test_a_scan_falls_back_to_full_when_most_pathways_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan_module, "INCREMENTAL_ALWAYS", 0)  # a territory of three pathways stands for a large one
    territory = TerritoryFactory()
    referent = UserFactory(agency=AgencyFactory(territory=territory))
    scan_follow_ups(datetime(2026, 3, 1, tzinfo=PARIS), territory_ids=[territory.id])
    for i in range(3):
        pathways.create_beneficiary(
            referent, {"first_name": "P", "last_name": str(i)}, now=datetime(2026, 3, 1, tzinfo=PARIS)
        )
    # Every pathway was written since the previous scan: a scoped scan would gain nothing.
    assert scan_follow_ups(datetime(2026, 3, 2, tzinfo=PARIS), territory_ids=[territory.id]).full


def test_a_scan_with_most_pathways_changed_falls_back_to_a_full_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    """Up to INCREMENTAL_ALWAYS pathways are always scoped (no count of the territory); beyond, more
    than INCREMENTAL_MAX_SHARE of the territory changed makes a full scan, cheaper than a scoped one."""
    monkeypatch.setattr(scan_module, "CHANGE_MARGIN", timedelta(0))
    territory = TerritoryFactory()
    referent = UserFactory(agency=AgencyFactory(territory=territory))
    start = datetime(2026, 1, 5, 9, tzinfo=PARIS)
    created = [pathways.create_beneficiary(referent, {"first_name": f"P{i}", "last_name": "B"},
                                           referent=referent, now=start) for i in range(4)]
    assert scan_follow_ups(start + timedelta(days=1), territory_ids=[territory.id]).full
    for pathway in created[:2]:  # half of the territory written since the first scan (wall clock)
        pathway.updated_at = utcnow()
    db.session.flush()
    scoped = scan_follow_ups(start + timedelta(days=1, hours=2), territory_ids=[territory.id])
    assert not scoped.full and scoped.examined == 2  # 2 ≤ INCREMENTAL_ALWAYS: scoped, whatever the share
    monkeypatch.setattr(scan_module, "INCREMENTAL_ALWAYS", 1)
    for pathway in created[:2]:
        pathway.updated_at = utcnow()
    db.session.flush()
    assert scan_follow_ups(start + timedelta(days=1, hours=4), territory_ids=[territory.id]).full
