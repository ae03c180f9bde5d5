"""Territories (tenancy boundary, with their follow-up settings), agencies and users."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db_types import StrEnum, TerritoryScoped, Timestamped, UTCDateTime, Versioned, enum_column
from app.extensions import db


class AgencyKind(StrEnum):
    DEPARTMENTAL_COUNCIL = "departmental_council", "Conseil départemental"
    FRANCE_TRAVAIL = "france_travail", "France Travail"
    CAF = "caf", "CAF"
    MISSION_LOCALE = "mission_locale", "Mission locale"
    CCAS = "ccas", "CCAS"
    CAP_EMPLOI = "cap_emploi", "Cap emploi"
    ASSOCIATION = "association", "Association"


class Role(StrEnum):
    PROFESSIONAL = "professional", "Professionnel·le"
    MANAGER = "manager", "Responsable"
    ADMIN = "admin", "Administrateur·rice"


class Territory(Timestamped, Versioned, db.Model):
    """A département. No data crosses it. Its settings drive the follow-up rules (DESIGN §3.4–3.5)."""

    __tablename__ = "territory"
    __table_args__ = (
        sa.CheckConstraint(
            "cadence_professional_days > 0 AND cadence_socio_professional_days > 0 "
            "AND cadence_social_days > 0",
            name="cadences_positive",
        ),
        sa.CheckConstraint(
            "grace_days >= 0 AND reschedule_days > 0 AND no_referent_days > 0 "
            "AND orientation_delay_days > 0 AND contract_delay_days > 0 "
            "AND contract_ending_days > 0 AND referral_answer_days > 0",
            name="delays_positive",
        ),
        sa.CheckConstraint("retention_months >= 1", name="retention_positive"),
        sa.CheckConstraint(
            "audit_retention_months BETWEEN 12 AND 36", name="audit_retention_range"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(3), unique=True)  # "93", "2A", "99" (demo)
    name: Mapped[str] = mapped_column(sa.String(120))

    # Follow-up cadence by orientation, in days (DESIGN §3.4).
    cadence_professional_days: Mapped[int] = mapped_column(default=30, server_default="30")
    cadence_socio_professional_days: Mapped[int] = mapped_column(default=30, server_default="30")
    cadence_social_days: Mapped[int] = mapped_column(default=60, server_default="60")
    grace_days: Mapped[int] = mapped_column(default=2, server_default="2")
    reschedule_days: Mapped[int] = mapped_column(default=7, server_default="7")
    no_referent_days: Mapped[int] = mapped_column(default=30, server_default="30")
    orientation_delay_days: Mapped[int] = mapped_column(default=42, server_default="42")
    contract_delay_days: Mapped[int] = mapped_column(default=30, server_default="30")
    contract_ending_days: Mapped[int] = mapped_column(default=30, server_default="30")
    referral_answer_days: Mapped[int] = mapped_column(default=10, server_default="10")
    # Post-employment check-ins, in months after the start of the job (DESIGN §3.5).
    checkin_months: Mapped[list[int]] = mapped_column(sa.JSON, default=lambda: [1, 3, 6])
    # Data protection (DESIGN §3.9).
    retention_months: Mapped[int] = mapped_column(default=24, server_default="24")
    audit_retention_months: Mapped[int] = mapped_column(default=12, server_default="12")
    # « Connexion par mot de passe autorisée »: when false, the password login refuses this
    # territory's accounts (they sign in another way, e.g. ProConnect). Set by the territory's admin.
    password_login_allowed: Mapped[bool] = mapped_column(default=True, server_default=sa.text("true"))

    agencies: Mapped[list[Agency]] = relationship(back_populates="territory")

    def cadence_days(self, orientation: str | None) -> int:
        return {
            "professional": self.cadence_professional_days,
            "socio_professional": self.cadence_socio_professional_days,
            "social": self.cadence_social_days,
        }.get(str(orientation) if orientation else "", self.cadence_professional_days)

    def __repr__(self) -> str:
        return f"<Territory {self.code} {self.name}>"


class Agency(TerritoryScoped, Timestamped, Versioned, db.Model):
    """A structure: conseil départemental, France Travail, CAF, mission locale, CCAS…"""

    __tablename__ = "agency"
    __table_args__ = (
        # Lets other tables reference (agency, territory) together, so a row can never point at
        # an agency of another territory.
        sa.UniqueConstraint("id", "territory_id", name="uq_agency_id_territory"),
        sa.UniqueConstraint("territory_id", "name", name="uq_agency_territory_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(160))
    kind: Mapped[AgencyKind] = mapped_column(enum_column(AgencyKind, "agency_kind"))
    email: Mapped[Optional[str]] = mapped_column(sa.String(254))
    phone: Mapped[Optional[str]] = mapped_column(sa.String(30))
    # Identification (set by the territory's admin, app/admin): SIRET (14 digits, Luhn-checked),
    # the SAFIR code of a France Travail agency (5 digits), the postal address.
    siret: Mapped[Optional[str]] = mapped_column(sa.String(14))
    safir_code: Mapped[Optional[str]] = mapped_column(sa.String(5))
    address: Mapped[Optional[str]] = mapped_column(sa.String(300))
    # A deactivated agency keeps its pathways readable, but nobody new joins it: no new account,
    # no new team membership, no new referral (the services check it).
    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.text("true"))

    territory: Mapped[Territory] = relationship(back_populates="agencies")
    users: Mapped[list[User]] = relationship(
        back_populates="agency", primaryjoin="Agency.id == foreign(User.agency_id)"
    )

    @property
    def is_departmental_council(self) -> bool:
        return self.kind == AgencyKind.DEPARTMENTAL_COUNCIL

    def __repr__(self) -> str:
        return f"<Agency {self.id} {self.name}>"


class User(UserMixin, TerritoryScoped, Timestamped, Versioned, db.Model):
    """A professional with an account, member of one agency."""

    __tablename__ = "user_account"  # "user" is reserved in PostgreSQL
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["agency_id", "territory_id"],
            ["agency.id", "agency.territory_id"],
            name="fk_user_account_agency_territory",
        ),
        sa.UniqueConstraint("id", "territory_id", name="uq_user_account_id_territory"),
        sa.UniqueConstraint("id", "agency_id", name="uq_user_account_id_agency"),
        # Professionals of a territory by name: the referent pickers and « Pilotage »'s filter read
        # the first few hundred in this order (a territory may have 25 000 accounts).
        sa.Index("ix_user_account_territory_name", "territory_id", "last_name", "first_name", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(index=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)  # stored lower-case
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    first_name: Mapped[str] = mapped_column(sa.String(80))
    last_name: Mapped[str] = mapped_column(sa.String(80))
    job_title: Mapped[Optional[str]] = mapped_column(sa.String(120))
    role: Mapped[Role] = mapped_column(enum_column(Role, "user_role"), default=Role.PROFESSIONAL)
    is_active_account: Mapped[bool] = mapped_column(default=True, server_default=sa.text("true"))
    last_login_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    # Personal ICS feed ("Mon agenda"): the secret is in the URL; only its SHA-256 is stored.
    calendar_token_hash: Mapped[Optional[str]] = mapped_column(sa.String(64), unique=True)
    calendar_token_created_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    # ProConnect's `sub` for this account: set by the first ProConnect login (linked by verified
    # e-mail), then the key the account is found by (app/accounts/proconnect.py).
    proconnect_sub: Mapped[Optional[str]] = mapped_column(sa.String(255), unique=True)
    # Mail preferences (« Mon compte »): the daily digest of alerts ("daily" or "none"), and the
    # notification events this professional turned off (codes of NotificationEvent, comma-separated).
    alert_digest: Mapped[str] = mapped_column(sa.String(10), default="daily", server_default="daily")
    muted_notifications: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")

    agency: Mapped[Agency] = relationship(
        back_populates="users", primaryjoin="foreign(User.agency_id) == Agency.id"
    )
    territory: Mapped[Territory] = relationship(foreign_keys="User.territory_id", viewonly=True)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.is_active_account

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def is_manager(self) -> bool:
        return self.role == Role.MANAGER

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"


class ApiToken(TerritoryScoped, db.Model):
    """A Bearer token of the JSON API: stored hashed (SHA-256), expiring, revocable."""

    __tablename__ = "api_token"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["user_id", "territory_id"],
            ["user_account.id", "user_account.territory_id"],
            name="fk_api_token_user_territory",
        ),
        sa.CheckConstraint("expires_at > created_at", name="expires_after_creation"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    revoked_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(primaryjoin="foreign(ApiToken.user_id) == User.id")


class UserSession(db.Model):
    """A web login: the browser's session cookie holds a random key whose SHA-256 is stored here.

    Logout, a password change or the account's deactivation set `revoked_at`, so a copied cookie
    stops working at once; a session also ends after the absolute lifetime or the idle timeout
    (`SESSION_LIFETIME_MINUTES`, `SESSION_IDLE_MINUTES`), checked on every request.
    """

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    ip_address: Mapped[Optional[str]] = mapped_column(sa.String(45))  # an IPv6 address at most
    user_agent: Mapped[Optional[str]] = mapped_column(sa.String(120))  # truncated: a hint, not a fingerprint

    user: Mapped[User] = relationship()


class PasswordReset(db.Model):
    """A « mot de passe oublié » link: single-use, expiring; only the SHA-256 of its secret is kept."""

    __tablename__ = "password_reset"
    __table_args__ = (sa.CheckConstraint("expires_at > created_at", name="expires_after_creation"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()
