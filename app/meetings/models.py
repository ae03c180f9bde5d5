"""Appointments (rendez-vous) of a pathway, including post-employment check-ins."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db_types import StrEnum, TerritoryScoped, Timestamped, UTCDateTime, Versioned, enum_column
from app.extensions import db
from app.pathways.models import Visibility

if TYPE_CHECKING:
    from app.accounts.models import Agency, User
    from app.pathways.models import Pathway


class MeetingStatus(StrEnum):
    PLANNED = "planned", "Prévu"
    HELD = "held", "Réalisé"
    MISSED = "missed", "Absent·e"  # the person did not come
    CANCELLED = "cancelled", "Annulé"


class MeetingChannel(StrEnum):
    IN_PERSON = "in_person", "En présentiel"
    PHONE = "phone", "Par téléphone"
    VIDEO = "video", "En visioconférence"


class MeetingKind(StrEnum):
    FOLLOW_UP = "follow_up", "Entretien de suivi"
    CHECKIN = "checkin", "Point de suivi dans l'emploi"  # at +1, +3 and +6 months


class Meeting(TerritoryScoped, Timestamped, Versioned, db.Model):
    __tablename__ = "meeting"
    __table_args__ = (
        sa.Index("ix_meeting_pathway_status_time", "pathway_id", "status", "scheduled_at"),
        sa.Index("ix_meeting_organizer_time", "organizer_id", "scheduled_at"),
        sa.CheckConstraint(
            "duration_minutes BETWEEN 5 AND 480", name="duration_range"
        ),
        sa.CheckConstraint(
            "(status IN ('held', 'missed')) = (recorded_at IS NOT NULL)",
            name="recorded_when_held_or_missed",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pathway_id: Mapped[int] = mapped_column(sa.ForeignKey("pathway.id"))
    organizer_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"))  # the organizer's agency
    kind: Mapped[MeetingKind] = mapped_column(
        enum_column(MeetingKind, "meeting_kind"), default=MeetingKind.FOLLOW_UP
    )
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_minutes: Mapped[int] = mapped_column(default=45, server_default="45")
    channel: Mapped[MeetingChannel] = mapped_column(
        enum_column(MeetingChannel, "meeting_channel"), default=MeetingChannel.IN_PERSON
    )
    location: Mapped[Optional[str]] = mapped_column(sa.String(255))
    status: Mapped[MeetingStatus] = mapped_column(
        enum_column(MeetingStatus, "meeting_status"), default=MeetingStatus.PLANNED
    )
    # Notes are written when the meeting is recorded; partners see them only if `team`.
    notes: Mapped[Optional[str]] = mapped_column(sa.Text)
    notes_visibility: Mapped[Visibility] = mapped_column(
        enum_column(Visibility, "meeting_notes_visibility"), default=Visibility.AGENCY
    )
    recorded_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    recorded_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("user_account.id"))
    cancelled_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    cancellation_reason: Mapped[Optional[str]] = mapped_column(sa.String(255))

    pathway: Mapped[Pathway] = relationship(foreign_keys=[pathway_id])
    organizer: Mapped[User] = relationship(foreign_keys=[organizer_id])
    agency: Mapped[Agency] = relationship(foreign_keys=[agency_id])
