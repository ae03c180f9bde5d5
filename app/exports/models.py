"""Exports built in the background (« Mes exports »): the job, and its file stored in the database
in pieces (any web server can serve it; the purge deletes the pieces once the link has expired)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db_types import StrEnum, TerritoryScoped, UTCDateTime, enum_column, utcnow
from app.extensions import db


class ExportStatus(StrEnum):
    PENDING = "pending", "En attente"
    RUNNING = "running", "En préparation"
    DONE = "done", "Prêt"
    FAILED = "failed", "Échec"
    EXPIRED = "expired", "Expiré"  # the link is past its 48 h: the file is deleted


class ExportJob(TerritoryScoped, db.Model):
    """One export asked for by one user: which list (`kind`: « portfolio.moi », « portfolio.structure »
    or « pilotage.<list> »), with the page's filters (`parameters`), in which format."""

    __tablename__ = "export_job"
    __table_args__ = (
        sa.Index("ix_export_job_status_created", "status", "created_at"),
        sa.Index("ix_export_job_requested_by_created", "requested_by_id", "created_at"),
        sa.CheckConstraint("format IN ('csv', 'xlsx')", name="known_format"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    # The requester's agency when she asked: moved to another one meanwhile, she gets nothing.
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    parameters: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    format: Mapped[str] = mapped_column(sa.String(4))
    status: Mapped[ExportStatus] = mapped_column(enum_column(ExportStatus, "export_status"),
                                                 default=ExportStatus.PENDING)
    row_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    filename: Mapped[str] = mapped_column(sa.String(120))
    # The pathways the file holds (the audit event of each download names them).
    pathway_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    error: Mapped[Optional[str]] = mapped_column(sa.String(300))  # why it failed (French)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    finished_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    expires_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())  # finished_at + 48 h


class ExportFile(db.Model):
    """A piece of an export's file (about 1 Mo each, in order): never the whole file in memory."""

    __tablename__ = "export_file"
    __table_args__ = (sa.UniqueConstraint("job_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("export_job.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(sa.Integer)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
