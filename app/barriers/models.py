"""Barriers to employment (freins périphériques) as tasks, and their referrals to partners."""
from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db_types import StrEnum, TerritoryScoped, Timestamped, UTCDateTime, Versioned, enum_column, utcnow
from app.extensions import db

if TYPE_CHECKING:
    from app.accounts.models import Agency
    from app.pathways.models import Pathway


class BarrierCategory(StrEnum):
    HOUSING = "housing", "Logement"
    MOBILITY = "mobility", "Mobilité"
    HEALTH = "health", "Santé"
    FAMILY = "family", "Contraintes familiales"
    LANGUAGE = "language", "Maîtrise du français"
    DIGITAL = "digital", "Numérique"
    ADMINISTRATIVE = "administrative", "Difficultés administratives"
    FINANCIAL = "financial", "Difficultés financières"
    TRAINING = "training", "Formation"
    EMPLOYMENT = "employment", "Emploi"
    JUSTICE = "justice", "Justice"
    OTHER = "other", "Autre"


class BarrierStatus(StrEnum):
    OPEN = "open", "À traiter"
    IN_PROGRESS = "in_progress", "En cours"
    LIFTED = "lifted", "Levé"
    ABANDONED = "abandoned", "Abandonné"


class ReferralStatus(StrEnum):
    SENT = "sent", "Envoyée"
    ACCEPTED = "accepted", "Acceptée"
    DECLINED = "declined", "Refusée"
    DONE = "done", "Réalisée"


class DeclineReason(StrEnum):
    NOT_IN_SCOPE = "not_in_scope", "Hors de notre champ d'intervention"
    NO_CAPACITY = "no_capacity", "Pas de place ou délai trop long"
    ALREADY_FOLLOWED = "already_followed", "Déjà accompagné·e par ailleurs"
    CONDITIONS_NOT_MET = "conditions_not_met", "Conditions d'accès non remplies"
    PERSON_UNREACHABLE = "person_unreachable", "Personne injoignable"
    OTHER = "other", "Autre motif"


class Barrier(TerritoryScoped, Timestamped, Versioned, db.Model):
    __tablename__ = "barrier"
    __table_args__ = (
        sa.Index("ix_barrier_pathway_status", "pathway_id", "status"),
        sa.Index("ix_barrier_status_due", "status", "due_on"),
        sa.CheckConstraint(
            "(status = 'lifted') = (lifted_at IS NOT NULL)", name="lifted_is_dated"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pathway_id: Mapped[int] = mapped_column(sa.ForeignKey("pathway.id"))
    category: Mapped[BarrierCategory] = mapped_column(enum_column(BarrierCategory, "barrier_category"))
    title: Mapped[str] = mapped_column(sa.String(160))
    description: Mapped[Optional[str]] = mapped_column(sa.Text)
    owner_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"))
    due_on: Mapped[Optional[date]] = mapped_column(sa.Date)
    status: Mapped[BarrierStatus] = mapped_column(
        enum_column(BarrierStatus, "barrier_status"), default=BarrierStatus.OPEN
    )
    lifted_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))

    pathway: Mapped[Pathway] = relationship(foreign_keys=[pathway_id])
    owner_agency: Mapped[Agency] = relationship(foreign_keys=[owner_agency_id])
    referrals: Mapped[list[Referral]] = relationship(
        back_populates="barrier", order_by="Referral.sent_at"
    )

    @property
    def is_settled(self) -> bool:
        return self.status in (BarrierStatus.LIFTED, BarrierStatus.ABANDONED)


class Referral(TerritoryScoped, Timestamped, Versioned, db.Model):
    """A barrier sent to a partner agency (closed loop): sent → accepted / declined → done."""

    __tablename__ = "referral"
    __table_args__ = (
        sa.Index(
            "uq_referral_one_pending_per_barrier",
            "barrier_id",
            unique=True,
            postgresql_where=sa.text("status IN ('sent', 'accepted')"),
            sqlite_where=sa.text("status IN ('sent', 'accepted')"),
        ),
        sa.Index("ix_referral_agency_status", "agency_id", "status"),
        # A partner's pending requests, oldest first (the portfolio's « demandes »): an ordered walk
        # that stops at the page's limit, where (agency, status) sorted every pending request.
        sa.Index(
            "ix_referral_agency_pending_sent",
            "agency_id",
            "sent_at",
            postgresql_where=sa.text("status = 'sent'"),
            sqlite_where=sa.text("status = 'sent'"),
        ),
        sa.CheckConstraint(
            "status <> 'declined' OR decline_reason IS NOT NULL", name="declined_has_reason"
        ),
        sa.CheckConstraint(
            "(status = 'sent') = (answered_at IS NULL)", name="answered_is_dated"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    barrier_id: Mapped[int] = mapped_column(sa.ForeignKey("barrier.id"), index=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"))  # the partner asked
    status: Mapped[ReferralStatus] = mapped_column(
        enum_column(ReferralStatus, "referral_status"), default=ReferralStatus.SENT
    )
    message: Mapped[Optional[str]] = mapped_column(sa.Text)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    answered_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    answered_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("user_account.id"))
    decline_reason: Mapped[Optional[DeclineReason]] = mapped_column(
        enum_column(DeclineReason, "referral_decline_reason")
    )
    answer_comment: Mapped[Optional[str]] = mapped_column(sa.Text)

    barrier: Mapped[Barrier] = relationship(back_populates="referrals")
    agency: Mapped[Agency] = relationship(foreign_keys=[agency_id])
