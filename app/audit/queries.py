"""Reads of the audit trail."""
from __future__ import annotations

import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.pathways.models import Pathway


def audit_trail_of(pathway: Pathway) -> sa.Select:
    """Who read or changed the record, newest first (the caller checked `access.can_read_audit`)."""
    return (
        sa.select(AuditEvent)
        .where(AuditEvent.pathway_id == pathway.id)
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    )
