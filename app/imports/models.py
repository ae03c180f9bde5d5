"""Imports of people: the job (file, mapping, progress, counts), its rejected rows, saved mappings."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, deferred, mapped_column

from app.db_types import StrEnum, TerritoryScoped, Timestamped, UTCDateTime, enum_column
from app.extensions import db


class ImportStatus(StrEnum):
    PREVIEW = "preview", "Aperçu"  # uploaded and checked, nothing written
    QUEUED = "queued", "En attente"
    RUNNING = "running", "En cours"
    DONE = "done", "Terminé"
    FAILED = "failed", "Interrompu"  # resumable from `rows_done`


class ImportJob(TerritoryScoped, Timestamped, db.Model):
    """One import of one file. Progress is committed with each batch, so a job can be resumed."""

    __tablename__ = "import_job"
    __table_args__ = (
        sa.Index("ix_import_job_territory_created", "territory_id", "created_at"),
        sa.CheckConstraint("rows_done >= 0 AND rows_done <= total_rows", name="progress_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("user_account.id"))  # None: the CLI
    filename: Mapped[str] = mapped_column(sa.String(255))
    # The rows as read (zlib-compressed JSON, the NIR column blanked: never stored), so that any
    # process (a thread of the web worker, the CLI) can run or resume the job; cleared when it ends.
    content: Mapped[Optional[bytes]] = deferred(mapped_column(sa.LargeBinary, nullable=True))
    headers: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    preset: Mapped[str] = mapped_column(sa.String(80))  # "carnet-de-bord" or "custom:NAME"
    mapping: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)  # {field: header} used
    dry_run: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    status: Mapped[ImportStatus] = mapped_column(enum_column(ImportStatus, "import_status"),
                                                 default=ImportStatus.PREVIEW)
    total_rows: Mapped[int] = mapped_column(sa.Integer, default=0)
    rows_done: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    updated_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    unchanged_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    rejected_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    ignored_columns: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    error: Mapped[Optional[str]] = mapped_column(sa.String(500))  # why the job stopped (French)
    started_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    finished_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())

    @property
    def percent(self) -> int:
        return 100 if not self.total_rows else int(100 * self.rows_done / self.total_rows)


class ImportRejection(TerritoryScoped, db.Model):
    """A rejected row: its line as a spreadsheet shows it, its cells and the reasons (French)."""

    __tablename__ = "import_rejection"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("import_job.id", ondelete="CASCADE"), index=True)
    line: Mapped[int] = mapped_column(sa.Integer)
    reasons: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    cells: Mapped[list[str]] = mapped_column(sa.JSON, default=list)  # NIR column blanked


class ImportMapping(TerritoryScoped, Timestamped, db.Model):
    """A custom mapping saved for the territory (`custom:NAME`): {field: the file's header}."""

    __tablename__ = "import_mapping"
    __table_args__ = (sa.UniqueConstraint("territory_id", "name", name="uq_import_mapping_territory_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    columns: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)
    created_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("user_account.id"))
