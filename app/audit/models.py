"""Append-only audit trail: who read or changed what, when. Never holds note content."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db_types import TerritoryScoped, UTCDateTime, utcnow
from app.extensions import db


class AuditEvent(TerritoryScoped, db.Model):
    __tablename__ = "audit_event"
    __table_args__ = (
        sa.Index("ix_audit_event_pathway_time", "pathway_id", "occurred_at"),
        sa.Index("ix_audit_event_territory_time", "territory_id", "occurred_at"),
        sa.Index("ix_audit_event_actor_time", "actor_id", "occurred_at"),  # what did this user see / do
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("user_account.id"))  # None: system
    actor_agency_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("agency.id"))
    action: Mapped[str] = mapped_column(sa.String(60))  # "pathway.read", "meeting.held"…
    object_type: Mapped[str] = mapped_column(sa.String(40))
    object_id: Mapped[Optional[int]] = mapped_column()
    pathway_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("pathway.id"))
    # Which fields changed and other facts — never free-text note content (DESIGN §3.9).
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)


@sa.event.listens_for(AuditEvent, "before_update", propagate=True)
@sa.event.listens_for(AuditEvent, "before_delete", propagate=True)
def _audit_is_append_only(mapper: Any, connection: Any, target: AuditEvent) -> None:
    raise PermissionError("Audit events are append-only; they cannot be edited or deleted.")
