"""Reads of alerts: « Mes alertes », the API's alert lists, the managers' overdue follow-ups."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app import access
from app.accounts.models import User
from app.extensions import db
from app.followup.models import Alert, AlertKind, AlertStatus
from app.pathways.models import Beneficiary, Pathway

# The follow-up kinds a manager sees as « suivis en retard ».
OVERDUE_KINDS = (
    AlertKind.FOLLOW_UP_OVERDUE,
    AlertKind.MEETING_UNRECORDED,
    AlertKind.MISSED_NOT_RESCHEDULED,
    AlertKind.CHECKIN_OVERDUE,
)


def open_alerts_query(actor: User) -> sa.Select:
    """Unresolved alerts of the pathways the actor may read, most overdue first."""
    return (
        sa.select(Alert)
        .join(Pathway, Pathway.id == Alert.pathway_id)
        .where(Alert.status != AlertStatus.RESOLVED,
               access.readable_pathways_clause(actor, minimum=access.RecordAccess.SHARED))
        .order_by(Alert.due_at, Alert.id)
    )


def my_alerts(actor: User, kind: AlertKind | None = None) -> list[tuple[Alert, Beneficiary]]:
    """« Mes alertes »: the unresolved alerts of the people the actor is the referent of."""
    query = open_alerts_query(actor).where(
        Pathway.referent_id == actor.id  # not an access rule: « Mes alertes » are my people's
    )
    if kind is not None:
        query = query.where(Alert.kind == kind)
    query = query.add_columns(Beneficiary).join(Beneficiary, Beneficiary.id == Pathway.beneficiary_id)
    return list(db.session.execute(query).tuples())


def alerts_list(actor: User, *, status: str = "unresolved", kind: AlertKind | None = None,
                referent_id: int | None = None) -> sa.Select:
    """The API's alert list: alerts of the pathways the actor may read, most overdue first."""
    stmt = (
        sa.select(Alert)
        .join(Pathway, Pathway.id == Alert.pathway_id)
        .where(access.readable_pathways_clause(actor, minimum=access.RecordAccess.SHARED))
        .options(selectinload(Alert.pathway))
        .order_by(Alert.due_at, Alert.id)
    )
    if status == "unresolved":
        stmt = stmt.where(Alert.status != AlertStatus.RESOLVED)
    else:
        stmt = stmt.where(Alert.status == AlertStatus(status))
    if kind:
        stmt = stmt.where(Alert.kind == kind)
    if referent_id:
        stmt = stmt.where(Pathway.referent_id == referent_id)
    return stmt


def overdue_followups(manager: User, *, agency_id: int | None = None, referent_id: int | None = None) -> sa.Select:
    """Unresolved follow-up alerts of the pathways a manager steers, oldest deadline first."""
    stmt = (
        sa.select(Alert)
        .join(Pathway, Pathway.id == Alert.pathway_id)
        .where(
            access.steering_pathways_clause(manager, agency_id=agency_id),
            Alert.status != AlertStatus.RESOLVED,
            Alert.kind.in_(OVERDUE_KINDS),
        )
        .options(selectinload(Alert.pathway))
        .order_by(Alert.due_at, Alert.id)
    )
    if referent_id:
        stmt = stmt.where(Pathway.referent_id == referent_id)
    return stmt
