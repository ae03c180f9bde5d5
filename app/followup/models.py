"""Alerts raised by the follow-up scan (DESIGN §3.4–3.6)."""
from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.barriers.models import Barrier, Referral
from app.db_types import StrEnum, TerritoryScoped, UTCDateTime, enum_column, utcnow
from app.extensions import db
from app.followup import steering
from app.meetings.models import Meeting
from app.pathways.models import Contract as _Contract
from app.pathways.models import Pathway as _Pathway

if TYPE_CHECKING:
    from app.pathways.models import Pathway


class AlertKind(StrEnum):
    FOLLOW_UP_OVERDUE = "follow_up_overdue", "Suivi en retard"
    MEETING_UNRECORDED = "meeting_unrecorded", "Rendez-vous non renseigné"
    MISSED_NOT_RESCHEDULED = "missed_not_rescheduled", "Absence non replanifiée"
    BARRIER_OVERDUE = "barrier_overdue", "Frein en retard"
    NO_REFERENT = "no_referent", "Sans référent"
    ORIENTATION_LATE = "orientation_late", "Orientation en retard"
    CONTRACT_LATE = "contract_late", "Contrat en retard"
    CONTRACT_ENDING = "contract_ending", "Contrat arrivant à échéance"
    REFERRAL_UNANSWERED = "referral_unanswered", "Orientation de frein sans réponse"
    CHECKIN_OVERDUE = "checkin_overdue", "Point de suivi dans l'emploi en retard"
    CLOSURE_PROPOSED = "closure_proposed", "Clôture proposée"


class AlertStatus(StrEnum):
    OPEN = "open", "Ouverte"
    ACKNOWLEDGED = "acknowledged", "Prise en compte"  # seen by the referent; stays until its cause is gone
    RESOLVED = "resolved", "Résolue"


class Alert(TerritoryScoped, db.Model):
    __tablename__ = "alert"
    __table_args__ = (
        # Idempotence (DESIGN §3.6): one unresolved alert per (pathway, kind, subject).
        sa.Index(
            "uq_alert_one_unresolved",
            "pathway_id",
            "kind",
            "subject_key",
            unique=True,
            postgresql_where=sa.text("status <> 'resolved'"),
            sqlite_where=sa.text("status <> 'resolved'"),
        ),
        sa.Index("ix_alert_territory_status_due", "territory_id", "status", "due_at"),
        sa.CheckConstraint(
            "(status = 'resolved') = (resolved_at IS NOT NULL)", name="resolved_is_dated"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No single-column indexes: `ix_alert_territory_status_due` serves territory lists and
    # `uq_alert_one_unresolved` serves a pathway's current alerts. Every index slows the scan's
    # inserts (a first scan of a large territory writes millions of alerts).
    territory_id: Mapped[int] = mapped_column(sa.ForeignKey("territory.id", ondelete="RESTRICT"))
    pathway_id: Mapped[int] = mapped_column(sa.ForeignKey("pathway.id"))
    kind: Mapped[AlertKind] = mapped_column(enum_column(AlertKind, "alert_kind"))
    # What the alert is about within the pathway: "" for the pathway itself, "meeting:12",
    # "barrier:7", "contract:3", "referral:5"…
    subject_key: Mapped[str] = mapped_column(sa.String(40), default="", server_default="")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())  # when the deadline passed
    status: Mapped[AlertStatus] = mapped_column(
        enum_column(AlertStatus, "alert_status"), default=AlertStatus.OPEN
    )
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    acknowledged_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    acknowledged_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("user_account.id"))
    resolved_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())

    pathway: Mapped[Pathway] = relationship(foreign_keys=[pathway_id])


class ScanState(db.Model):
    """Where the last scan of a territory stopped, so the next one can re-examine only what changed.

    `last_now` is the instant the rules were evaluated for; `last_started_at` the wall-clock start
    of that scan (rows written since then, minus a margin, are re-examined); `settings_version`
    the territory's version then (a change of settings forces a full scan).
    """

    __tablename__ = "scan_state"

    territory_id: Mapped[int] = mapped_column(sa.ForeignKey("territory.id", ondelete="CASCADE"), primary_key=True)
    last_now: Mapped[datetime] = mapped_column(UTCDateTime())
    last_started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_full_at: Mapped[datetime] = mapped_column(UTCDateTime())
    settings_version: Mapped[int] = mapped_column()


class DeliveryStatus(StrEnum):
    PENDING = "pending", "À envoyer"  # owed, not tried yet
    SENDING = "sending", "En cours d'envoi"  # claimed by a run, mail being handed to the server
    SENT = "sent", "Envoyé"
    FAILED = "failed", "Échec de l'envoi"  # refused or server down: the next run of the day tries again
    CANCELLED = "cancelled", "Annulé"  # no open alert left by the time it could be sent


class DigestDelivery(db.Model):
    """The daily digest owed to one referent for one Paris day, and what became of it.

    One row per (user, day) — the unique constraint is what makes the digest once-only, however many
    runs or processes. No personal data of the people followed: the mail is rebuilt from the open
    alerts when it is sent; `last_error` holds an exception class, never its message.
    """

    __tablename__ = "digest_delivery"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "digest_date"),
        sa.Index("ix_digest_delivery_date_status", "digest_date", "status"),
        sa.CheckConstraint("(status = 'sent') = (sent_at IS NOT NULL)", name="sent_is_dated"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    digest_date: Mapped[date] = mapped_column(sa.Date())  # the Paris calendar day it is for
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus, "digest_delivery_status"), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())  # last attempt's start
    sent_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    last_error: Mapped[Optional[str]] = mapped_column(sa.String(80))


class SteeringCount(db.Model):
    """One number of « Pilotage », kept exact by database triggers (app/followup/steering.py).

    The dimensions are those a manager filters on (the steering scope of app/access.py is adapted
    to these columns). `referent_id` is 0 for pathways without a referent (a primary key column
    cannot be NULL), hence no foreign key on it nor on `agency_id`: counters are derived data, and
    the rebuild recreates them. The territory's foreign key cascades so that deleting a territory
    also removes the rows its children's delete triggers wrote back.
    """

    __tablename__ = "steering_count"

    territory_id: Mapped[int] = mapped_column(
        sa.ForeignKey("territory.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    agency_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    referent_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # 0: no referent
    metric: Mapped[str] = mapped_column(sa.String(10), primary_key=True)  # stage, alert, barrier
    key: Mapped[str] = mapped_column(sa.String(40), primary_key=True)  # the stage, kind or category
    n: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")

    # The rows of the referents shown by « Pilotage » and counted by the referent pickers.
    __table_args__ = (sa.Index("ix_steering_count_referent", "referent_id"),)


class SteeringRollup(db.Model):
    """The counters summed for wide scopes, written only by `steering.compact`: per agency and key
    (`referent_id` 0: no referent, `steering.ASSIGNED`: every referent), and per referent and
    metric (`key` = `steering.ALL_KEYS`). Read together with the deltas not yet compacted."""

    __tablename__ = "steering_rollup"

    # Primary key by (territory, referent) first: the totals read the few rows of referent 0 and
    # ASSIGNED, the referent tables the rows of the referents, each a range of the key.
    territory_id: Mapped[int] = mapped_column(
        sa.ForeignKey("territory.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    referent_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    agency_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    metric: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    n: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")


class SteeringDelta(db.Model):
    """What a statement changed in `steering_count`, at the rollup's levels, appended by the
    counters' own triggers (writers never update a shared row) until `steering.compact` moves it."""

    __tablename__ = "steering_delta"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True)
    territory_id: Mapped[int] = mapped_column(sa.ForeignKey("territory.id", ondelete="CASCADE"))
    agency_id: Mapped[int]
    referent_id: Mapped[int]
    metric: Mapped[str] = mapped_column(sa.String(10))
    key: Mapped[str] = mapped_column(sa.String(40))
    n: Mapped[int] = mapped_column(sa.BigInteger)


@sa.event.listens_for(db.metadata, "after_create")
def _install_steering_triggers(_metadata: sa.MetaData, connection: sa.Connection, **_kw: object) -> None:
    """`db.create_all()` (tests, `make run`) gets the same triggers as migrations 0010 and 0019."""
    for statement in steering.install_ddl(connection.dialect.name):
        connection.exec_driver_sql(statement)
    for statement in steering.rollup_install_ddl(connection.dialect.name):
        connection.exec_driver_sql(statement)


# Indexes of « Pilotage »'s figures that depend on the time and of the lists behind the figures
# (app/followup/pilotage.py), on other features' tables: declared here, next to the counters, so
# each is read with the query it serves. Each bounds its query by the rows of its window or of the
# page (LIMIT 500), whatever the size of the table.
_meeting, _pathway, _barrier = Meeting.__table__, _Pathway.__table__, Barrier.__table__
STEERING_INDEXES = (
    # check-ins of the next 30 days: the count and `checkin_list` (ordered by time)
    sa.Index(
        "ix_meeting_planned_checkin_time",
        _meeting.c.scheduled_at,
        postgresql_where=sa.text("kind = 'checkin' AND status = 'planned'"),
        sqlite_where=sa.text("kind = 'checkin' AND status = 'planned'"),
    ),
    # the orientation indicator (pathways started in the 12-month window) and `caseload_list`
    # (ordered by start); the included columns let PostgreSQL count without reading the table
    sa.Index(
        "ix_pathway_territory_started",
        _pathway.c.territory_id,
        _pathway.c.started_at,
        postgresql_include=["oriented_at", "lead_agency_id", "referent_id", "closed_at"],
    ),
    # the contract indicator (pathways oriented in the window)
    sa.Index(
        "ix_pathway_territory_oriented",
        _pathway.c.territory_id,
        _pathway.c.oriented_at,
        postgresql_include=["lead_agency_id", "referent_id"],
    ),
    # `barrier_list`: open barriers of a territory by due date, one ordered walk
    sa.Index(
        "ix_barrier_territory_open_due",
        _barrier.c.territory_id,
        _barrier.c.due_on,
        _barrier.c.id,
        postgresql_where=sa.text("status IN ('open', 'in_progress')"),
        sqlite_where=sa.text("status IN ('open', 'in_progress')"),
    ),
)


# Indexes of the incremental scan (`rules.changed_pathways`): the rows written since the previous
# scan (`updated_at`) and the rows whose compared date crossed a rule's delay since (a window of
# the dates of one territory). Without them, a scan with nothing to do read every pathway, meeting,
# barrier, contract and referral of the territory (11 M rows at 1 M people: seconds every 15 min).
_contract, _referral = _Contract.__table__, Referral.__table__
SCAN_INDEXES = (
    *(sa.Index(f"ix_{table.name}_updated_at", table.c.updated_at)
      for table in (_pathway, _meeting, _barrier, _contract, _referral)),
    sa.Index("ix_meeting_territory_time", _meeting.c.territory_id, _meeting.c.scheduled_at),
    sa.Index("ix_contract_territory_ends", _contract.c.territory_id, _contract.c.ends_on),
    # only a request still awaiting its answer can become late
    sa.Index(
        "ix_referral_territory_pending_sent",
        _referral.c.territory_id,
        _referral.c.sent_at,
        postgresql_where=sa.text("status = 'sent'"),
        sqlite_where=sa.text("status = 'sent'"),
    ),
)
