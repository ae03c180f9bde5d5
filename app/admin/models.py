"""Invitations: the single-use link by which an invited professional chooses a password."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.db_types import TerritoryScoped, UTCDateTime
from app.extensions import db


class Invitation(TerritoryScoped, db.Model):
    """An invitation link sent to a new account: single-use, expiring, replaced by a resend.

    Only the SHA-256 of the link's secret is stored (as for `PasswordReset`). `used_at` is set when
    the person chose a password; `revoked_at` when a newer invitation replaced it or the account
    was deactivated.
    """

    __tablename__ = "invitation"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["user_id", "territory_id"],
            ["user_account.id", "user_account.territory_id"],
            name="fk_invitation_user_territory",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("expires_at > created_at", name="expires_after_creation"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(index=True)
    invited_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    revoked_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(primaryjoin="foreign(Invitation.user_id) == User.id")
    invited_by: Mapped[Optional[User]] = relationship(foreign_keys=[invited_by_id])

    def is_usable(self, now: datetime) -> bool:
        return self.used_at is None and self.revoked_at is None and self.expires_at > now
