"""Read model of « Demandes en attente »: referrals sent to the actor's agency, awaiting its answer.

One query. Without the person's consent the partner learns only that a pathway exists and who its
referent is (DESIGN §3.3): the person's name and the barrier's theme and title are not even
selected for those rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import aliased, selectinload

from app import access
from app.accounts.models import Agency, User
from app.barriers.models import Barrier, BarrierCategory, Referral, ReferralStatus
from app.core.timefmt import paris_date, paris_today
from app.extensions import db
from app.pathways.models import Beneficiary, Pathway

# Made once (see app/workspace/timeline.py).
_REFERENT = aliased(User, name="referent")


@dataclass
class PendingReferral:
    referral_id: int
    referral_version: int
    pathway_id: int
    sent_at: datetime
    shared: bool  # the person consented: identity and barrier shown
    person: str | None
    category: BarrierCategory | None
    title: str | None
    message: str | None
    referent: str | None
    lead_agency: str
    waiting_days: int = 0  # Paris calendar days since it was sent


def pending_referrals(actor: User, *, limit: int = 100, now: datetime | None = None) -> list[PendingReferral]:
    """The requests awaiting the actor's agency's answer, oldest first (`limit` at most: the page
    shows them all, and a hundred unanswered requests is a backlog to clear, not to page through)."""
    today = paris_today(now)
    shared = access.readable_pathways_clause(actor, minimum=access.RecordAccess.SHARED)
    referent = _REFERENT

    def if_shared(column: sa.ColumnElement) -> sa.ColumnElement:
        return sa.case((shared, column), else_=None)

    rows = db.session.execute(
        sa.select(
            Referral.id,
            Referral.version,
            Pathway.id,
            Referral.sent_at,
            if_shared(sa.true()),
            if_shared(Beneficiary.first_name),
            if_shared(Beneficiary.last_name),
            if_shared(Barrier.category),
            if_shared(Barrier.title),
            if_shared(Referral.message),
            referent.first_name,
            referent.last_name,
            Agency.name,
        )
        .join(Barrier, Barrier.id == Referral.barrier_id)
        .join(Pathway, Pathway.id == Barrier.pathway_id)
        .join(Beneficiary, Beneficiary.id == Pathway.beneficiary_id)
        .join(Agency, Agency.id == Pathway.lead_agency_id)
        .outerjoin(referent, referent.id == Pathway.referent_id)
        .where(
            access.answerable_referrals_clause(actor),
            Referral.status == ReferralStatus.SENT,
            Pathway.closed_at.is_(None),
        )
        .order_by(Referral.sent_at)
        .limit(limit)
    ).all()
    return [
        PendingReferral(
            referral_id=rid,
            referral_version=version,
            pathway_id=pid,
            sent_at=sent_at,
            shared=bool(is_shared),
            person=f"{first} {last}" if is_shared else None,
            category=BarrierCategory(category) if category else None,
            title=title,
            message=message,
            referent=f"{r_first} {r_last}" if r_first else None,
            lead_agency=agency,
            waiting_days=max(0, (today - paris_date(sent_at)).days),
        )
        for (rid, version, pid, sent_at, is_shared, first, last, category, title, message,
             r_first, r_last, agency) in rows
    ]


def barriers_of(pathway: Pathway) -> sa.Select:
    """The barriers of a pathway with their referrals, oldest first (the caller checked access)."""
    return (
        sa.select(Barrier)
        .where(Barrier.pathway_id == pathway.id)
        .options(selectinload(Barrier.referrals))
        .order_by(Barrier.created_at, Barrier.id)
    )


def barrier_and_pathway(barrier_id: int) -> tuple[Barrier | None, Pathway | None]:
    barrier = db.session.get(Barrier, barrier_id)
    return barrier, (db.session.get(Pathway, barrier.pathway_id) if barrier else None)


def referral_and_pathway(referral_id: int) -> tuple[Referral | None, Barrier | None, Pathway | None]:
    referral = db.session.get(Referral, referral_id)
    barrier, pathway = barrier_and_pathway(referral.barrier_id) if referral else (None, None)
    return referral, barrier, pathway


def referral_awaiting_answer(barrier: Barrier) -> Referral | None:
    """The latest referral of a barrier still waiting for the partner's answer."""
    return db.session.scalar(
        sa.select(Referral)
        .where(Referral.barrier_id == barrier.id, Referral.status == ReferralStatus.SENT)
        .order_by(Referral.sent_at.desc())
        .limit(1)
    )


def referral_sender(referral: Referral) -> User | None:
    """Who sent the referral (its referent's name is known even without consent)."""
    return db.session.get(User, referral.sent_by_id)


def active_agencies(territory_id: int, *, exclude: int | None = None) -> list[tuple[str, str]]:
    """(id, name) of the territory's active agencies, for the owner and referral selects."""
    rows = db.session.execute(
        sa.select(Agency.id, Agency.name)
        .where(Agency.territory_id == territory_id, Agency.is_active)
        .order_by(Agency.name)
    ).all()
    return [(str(agency_id), name) for agency_id, name in rows if agency_id != exclude]
