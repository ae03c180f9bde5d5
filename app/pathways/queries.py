"""Reads of the pathways feature alone (the read models that combine features are in app/workspace)."""

from __future__ import annotations

import sqlalchemy as sa

from app import access
from app.accounts.models import Agency, User
from app.extensions import db
from app.pathways.models import (
    Entry,
    JoinRequestStatus,
    Pathway,
    TeamJoinRequest,
)


def pending_join_requests(actor: User, pathway: Pathway) -> list[TeamJoinRequest]:
    """The requests the lead agency has to answer on this pathway (none for anyone else)."""
    if not access.can_answer_join_request(actor, pathway):
        return []
    return list(db.session.scalars(sa.select(TeamJoinRequest).where(
        TeamJoinRequest.pathway_id == pathway.id, TeamJoinRequest.status == JoinRequestStatus.PENDING,
    ).order_by(TeamJoinRequest.requested_at)))


def current_or_last_pathway(beneficiary_id: int) -> Pathway | None:
    """The person's open pathway, else their latest one."""
    return db.session.scalar(
        sa.select(Pathway)
        .where(Pathway.beneficiary_id == beneficiary_id)
        .order_by(Pathway.closed_at.is_(None).desc(), Pathway.started_at.desc())
        .limit(1)
    )


def visible_entries_of(user: User, pathway: Pathway) -> sa.Select:
    """The journal entries of a pathway that `user` may read, newest first."""
    return (
        sa.select(Entry)
        .join(Pathway, Pathway.id == Entry.pathway_id)
        .where(Entry.pathway_id == pathway.id, access.visible_entries_clause(user))
        .order_by(Entry.occurred_at.desc(), Entry.id.desc())
    )


def handover_candidates(user: User, pathway: Pathway) -> list[tuple[User, str]]:
    """Whom `user` may hand the pathway to, with their agency's name (never themself)."""
    rows = db.session.execute(
        sa.select(User, Agency.name)
        .join(Agency, Agency.id == User.agency_id)
        .where(access.possible_referents_clause(user), User.id != sa.func.coalesce(pathway.referent_id, 0))
        .order_by(Agency.name, User.last_name, User.first_name)
    ).all()
    return [(candidate, agency) for candidate, agency in rows if access.can_assign_referent(user, pathway, candidate)]
