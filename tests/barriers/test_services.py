from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from app.barriers import services
from app.barriers.models import BarrierStatus, DeclineReason, ReferralStatus
from app.errors import Conflict, Forbidden, NotFound, StaleVersion, ValidationError
from app.extensions import db
from app.pathways.models import PathwayMember
from tests.world import T0, World

NOW = T0 + timedelta(days=12)


def test_lifting_dates_the_barrier_and_reopening_clears_it(world: World) -> None:
    services.update_barrier(world.referent, world.barrier, {"status": BarrierStatus.LIFTED}, now=NOW)
    assert world.barrier.lifted_at == NOW
    services.update_barrier(world.referent, world.barrier, {"status": BarrierStatus.OPEN}, now=NOW)
    assert world.barrier.lifted_at is None


def test_stale_barrier_edit_is_refused(world: World) -> None:
    seen = world.barrier.version
    services.update_barrier(world.referent, world.barrier, {"due_on": date(2026, 3, 1)}, expected_version=seen, now=NOW)
    with pytest.raises(StaleVersion):
        services.update_barrier(
            world.colleague, world.barrier, {"due_on": date(2026, 4, 1)}, expected_version=seen, now=NOW
        )
    assert world.barrier.due_on == date(2026, 3, 1)


def test_referral_closed_loop_accept(world: World) -> None:
    referral = services.refer_barrier(world.referent, world.barrier, agency_id=world.caf.id, now=NOW)
    assert referral.status == ReferralStatus.SENT
    assert world.barrier.status == BarrierStatus.IN_PROGRESS
    with pytest.raises(Conflict):
        services.refer_barrier(world.referent, world.barrier, agency_id=world.ccas.id, now=NOW)
    with pytest.raises(Forbidden):
        services.answer_referral(world.referent, referral, accept=True, now=NOW)
    services.answer_referral(world.partner, referral, accept=True, now=NOW + timedelta(days=1))
    assert referral.status == ReferralStatus.ACCEPTED and world.barrier.owner_agency_id == world.caf.id
    services.complete_referral(world.partner, referral, now=NOW + timedelta(days=5))
    assert referral.status == ReferralStatus.DONE


def test_declining_needs_a_reason(world: World) -> None:
    referral = services.refer_barrier(world.referent, world.barrier, agency_id=world.caf.id, now=NOW)
    with pytest.raises(ValidationError) as excinfo:
        services.answer_referral(world.partner, referral, accept=False, now=NOW)
    assert excinfo.value.field == "decline_reason"
    services.answer_referral(world.partner, referral, accept=False, decline_reason=DeclineReason.NO_CAPACITY, now=NOW)
    assert referral.status == ReferralStatus.DECLINED
    # Declined: the barrier can be sent elsewhere.
    services.refer_barrier(world.referent, world.barrier, agency_id=world.ccas.id, now=NOW)


def test_referring_to_an_agency_outside_the_team_adds_it_to_the_team(world: World) -> None:
    services.refer_barrier(world.referent, world.barrier, agency_id=world.ccas.id, now=NOW)
    assert (
        db.session.scalar(
            sa.select(PathwayMember.id).where(
                PathwayMember.pathway_id == world.pathway.id,
                PathwayMember.agency_id == world.ccas.id,
                PathwayMember.removed_at.is_(None),
            )
        )
        is not None
    )


def test_referring_to_an_agency_of_another_territory_is_refused(world: World) -> None:
    other_agency_id = world.stranger.agency_id
    with pytest.raises(ValidationError) as excinfo:
        services.refer_barrier(world.referent, world.barrier, agency_id=other_agency_id, now=NOW)
    assert excinfo.value.field == "agency_id"


@pytest.mark.parametrize("who", ["stranger", "outsider", "admin"])
def test_barriers_of_a_hidden_record_are_not_found(world: World, who: str) -> None:
    with pytest.raises(NotFound):
        services.get_barrier_or_404(world.users()[who], world.barrier.id)
    with pytest.raises(NotFound):
        services.update_barrier(world.users()[who], world.barrier, {"status": BarrierStatus.LIFTED}, now=NOW)


def test_a_partner_edits_only_the_barriers_its_agency_owns(world: World) -> None:
    with pytest.raises(Forbidden):
        services.update_barrier(world.partner, world.barrier, {"status": BarrierStatus.LIFTED}, now=NOW)
    services.update_barrier(world.referent, world.barrier, {"owner_agency_id": world.caf.id}, now=NOW)
    services.update_barrier(world.partner, world.barrier, {"status": BarrierStatus.LIFTED}, now=NOW)
    assert world.barrier.status == BarrierStatus.LIFTED
