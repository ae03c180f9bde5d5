"""The notification outbox: one row per (recipient, event), sent by `send_pending_notifications`.

A row holds ids only (the event, its recipient, the pathway and the object concerned, who acted):
the mail is built when it is sent, from the database, and never carries a note or a message typed
by a user. `last_error` holds an exception class, never its message.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db_types import StrEnum, TerritoryScoped, UTCDateTime, enum_column, utcnow
from app.extensions import db


class NotificationEvent(StrEnum):
    REFERRAL_SENT = "referral.sent", "Une orientation est adressée à ma structure"
    REFERRAL_ANSWERED = "referral.answered", "Une orientation que j'ai envoyée reçoit une réponse"
    PATHWAY_HANDED_TO = "pathway.handed_to", "Un parcours m'est confié"
    PATHWAY_TAKEN_FROM = "pathway.taken_from", "Un parcours dont j'étais référent change de référent"
    TEAM_JOIN_REQUESTED = "team.join_requested", "Une structure demande à rejoindre l'équipe d'un de mes parcours"
    # Only for « Dès qu'une alerte apparaît » (user_account.alert_digest = 'immediate'), not a checkbox.
    ALERT_RAISED = "alert.raised", "Une alerte apparaît sur un de mes parcours"


class NotificationStatus(StrEnum):
    PENDING = "pending", "À envoyer"
    SENT = "sent", "Envoyée"
    FAILED = "failed", "Échec définitif"


class Notification(TerritoryScoped, db.Model):
    __tablename__ = "notification"
    __table_args__ = (
        sa.UniqueConstraint("key"),
        sa.Index("ix_notification_status_next_attempt", "status", "next_attempt_at"),
        sa.CheckConstraint("(status = 'sent') = (sent_at IS NOT NULL)", name="sent_is_dated"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # "<event>:<object id>:<recipient id>": the unique key that makes a notification once-only.
    key: Mapped[str] = mapped_column(sa.String(120))
    event: Mapped[NotificationEvent] = mapped_column(enum_column(NotificationEvent, "notification_event"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    pathway_id: Mapped[int] = mapped_column(sa.ForeignKey("pathway.id", ondelete="CASCADE"), index=True)
    object_id: Mapped[int] = mapped_column()  # the referral, join request, referent assignment or alert
    actor_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    status: Mapped[NotificationStatus] = mapped_column(
        enum_column(NotificationStatus, "notification_status"), default=NotificationStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    last_error: Mapped[Optional[str]] = mapped_column(sa.String(80))
