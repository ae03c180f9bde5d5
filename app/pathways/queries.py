"""Reads of the pathways feature alone (the read models that combine features are in app/workspace)."""

from __future__ import annotations

import sqlalchemy as sa

from app import access
from app.accounts.models import User
from app.extensions import db
from app.pathways.models import (
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
