"""Invitations: the single-use link by which an invited professional chooses a password; the files
of structures and professionals imported by an admin (`DirectoryImport`)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.db_types import TerritoryScoped, Timestamped, UTCDateTime
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


class DirectoryImport(TerritoryScoped, Timestamped, db.Model):
    """One file of structures or professionals imported by a territory's admin (app/admin/directory.py).

    `rows` holds the rows as read (`[line, *cells]`) between the preview and the run, cleared when
    it ends; `rejections` keeps each rejected row (`{"line", "reasons", "cells"}`) for the result
    page and the errors file. The files are small (hundreds of rows): they are run in the request.
    """

    __tablename__ = "directory_import"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('agencies', 'users')", name="kind_known"),
        sa.CheckConstraint("status IN ('preview', 'running', 'done')", name="status_known"),
        sa.Index("ix_directory_import_territory_created", "territory_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(10))  # "agencies" (structures) or "users" (professionals)
    created_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(sa.String(255))
    headers: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    rows: Mapped[Optional[list[Any]]] = mapped_column(sa.JSON, nullable=True)
    status: Mapped[str] = mapped_column(sa.String(10), default="preview")
    total_rows: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    updated_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    unchanged_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    rejected_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    mail_failed_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    rejections: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    ignored_columns: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    finished_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())

    created_by: Mapped[Optional[User]] = relationship(foreign_keys=[created_by_id])
