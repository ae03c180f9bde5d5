"""The daily digest: each referent receives the list of their open alerts, most overdue first.

Sent by SMTP when MAIL_SERVER is set; otherwise (development) written to MAIL_OUTBOX_DIR as .eml.
Holds names and kinds of alerts only, never note content. A professional who chose « Pas de
récapitulatif » (`user_account.alert_digest` other than 'daily', « Mon compte ») receives none.

Once per referent and Paris day, whatever the number of runs or scheduler processes:
- a run first records the digests owed today (`digest_delivery`, one row per user and day: the
  unique constraint makes a second run, or a second process, add nothing);
- then it sends those not sent yet, one by one, each claimed first by a conditional UPDATE (only
  one run can claim a row), then marked sent or failed in its own commit. A failed mail does not
  stop the others and is tried again by the next run of the day (`retry_digests`, every half hour),
  at most `MAX_ATTEMPTS` times; a digest still unsent at the end of its day gives way to the next
  day's, which lists the alerts still open;
- on PostgreSQL the run holds an advisory lock, so a second process skips the run altogether.
A run that dies between handing a mail to the server and recording it leaves its row `sending`;
after `CLAIM_TIMEOUT` that row is tried again (at least once: a crash at that instant is the only
way a digest can go twice).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from app.accounts.models import User
from app.core.mail import deliver
from app.core.timefmt import full_date, long_date, paris_today
from app.db_types import utcnow
from app.extensions import db
from app.followup.models import Alert, AlertStatus, DeliveryStatus, DigestDelivery
from app.labels import label
from app.pathways.models import Beneficiary, Pathway
from app.transaction import DIGEST_LOCK_KEY, advisory_lock, unit_of_work

MAX_ATTEMPTS = 5
# A claim older than this belongs to a run that died (a mail takes seconds; SMTP times out at 30 s).
CLAIM_TIMEOUT = timedelta(minutes=15)

log = logging.getLogger("parcours.digest")
_deliveries = DigestDelivery.__table__


@dataclass
class DigestResult:
    day: date
    sent: int = 0
    failed: int = 0
    cancelled: int = 0
    skipped: bool = False  # another process holds the digest lock: this run did nothing

    def __str__(self) -> str:
        if self.skipped:
            return f"digest of {self.day.isoformat()}: skipped, another run is sending"
        return f"digest of {self.day.isoformat()}: {self.sent} sent, {self.failed} failed"


def _referents_with_open_alerts() -> sa.Select:
    return (
        sa.select(User.id)
        .join(Pathway, Pathway.referent_id == User.id)
        .join(Alert, Alert.pathway_id == Pathway.id)
        .where(Alert.status != AlertStatus.RESOLVED, Pathway.closed_at.is_(None), User.is_active_account.is_(True),
               User.alert_digest == "daily")  # « Mon compte »: « Jamais », or each alert at once
        .distinct()
    )


def _items(user_id: int) -> list[tuple[Alert, Beneficiary]]:
    query = (
        sa.select(Alert, Beneficiary)
        .join(Pathway, Pathway.id == Alert.pathway_id)
        .join(Beneficiary, Beneficiary.id == Pathway.beneficiary_id)
        .where(Pathway.referent_id == user_id, Alert.status != AlertStatus.RESOLVED, Pathway.closed_at.is_(None))
        .order_by(Alert.due_at, Alert.id)
    )
    return list(db.session.execute(query).tuples())


def build_digest(user: User, items: list[tuple[Alert, Beneficiary]], now: datetime) -> EmailMessage:
    today = full_date(now)
    lines = [
        f"Bonjour {user.first_name},",
        "",
        f"Voici les suivis qui demandent votre attention ce {today} "
        f"({len(items)} alerte{'s' if len(items) > 1 else ''}), les plus en retard d'abord :",
        "",
    ]
    for alert, person in items:
        due = long_date(alert.due_at)
        ack = " (déjà vue)" if alert.status == AlertStatus.ACKNOWLEDGED else ""
        lines.append(f"- {person.first_name} {person.last_name} : {label(alert.kind)}, échéance le {due}{ack}")
    lines += ["", "Retrouvez-les dans Parcours, rubrique « Mes alertes ».", "", "— Parcours"]
    message = EmailMessage()
    message["Subject"] = f"Parcours — {len(items)} suivi{'s' if len(items) > 1 else ''} à reprendre"
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = user.email
    message.set_content("\n".join(lines))
    return message


def _record_owed(day: date) -> None:
    """One `pending` row per referent with open alerts today, unless today's row already exists."""
    with unit_of_work() as session:
        dialect = session.get_bind().dialect.name
        insert_module = postgresql if dialect == "postgresql" else sqlite
        owed = sa.select(
            User.id,
            sa.literal(day, sa.Date()),
            sa.literal(DeliveryStatus.PENDING.value),
            sa.literal(0),
            sa.literal(utcnow(), _deliveries.c.created_at.type),
        ).where(User.id.in_(_referents_with_open_alerts()))  # (SQLite needs a WHERE before ON CONFLICT)
        session.execute(
            insert_module.insert(_deliveries)
            .from_select(["user_id", "digest_date", "status", "attempts", "created_at"], owed)
            .on_conflict_do_nothing(index_elements=["user_id", "digest_date"])
        )


def _claimable(at: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(
        sa.and_(
            _deliveries.c.status.in_([DeliveryStatus.PENDING.value, DeliveryStatus.FAILED.value]),
            _deliveries.c.attempts < MAX_ATTEMPTS,
        ),
        sa.and_(_deliveries.c.status == DeliveryStatus.SENDING.value, _deliveries.c.claimed_at < at - CLAIM_TIMEOUT),
    )


def _claim(delivery_id: int) -> bool:
    """Take this delivery for this run; False when another run has it (or it is done)."""
    at = utcnow()
    with unit_of_work() as session:
        claimed = session.execute(
            sa.update(_deliveries)
            .where(_deliveries.c.id == delivery_id, _claimable(at))
            .values(status=DeliveryStatus.SENDING.value, attempts=_deliveries.c.attempts + 1, claimed_at=at)
        )
        return claimed.rowcount == 1


def _finish(delivery_id: int, status: DeliveryStatus, error: str | None = None) -> None:
    with unit_of_work() as session:
        session.execute(
            sa.update(_deliveries)
            .where(_deliveries.c.id == delivery_id)
            .values(
                status=status.value,
                sent_at=utcnow() if status == DeliveryStatus.SENT else None,
                last_error=error,
            )
        )


def _send_owed(day: date, now: datetime, result: DigestResult) -> None:
    due = db.session.execute(
        sa.select(_deliveries.c.id, _deliveries.c.user_id)
        .where(_deliveries.c.digest_date == day, _claimable(utcnow()))
        .order_by(_deliveries.c.user_id)
    ).all()
    for delivery_id, user_id in due:
        if not _claim(delivery_id):
            continue
        try:
            user = db.session.get(User, user_id)
            wanted = user is not None and user.is_active_account and user.alert_digest == "daily"
            items = _items(user_id) if wanted else []
            if not items:
                _finish(delivery_id, DeliveryStatus.CANCELLED)
                result.cancelled += 1
                continue
            deliver(build_digest(user, items, now))
        except Exception as exc:  # one failed mail must not stop the others
            if isinstance(exc, sa.exc.SQLAlchemyError):
                db.session.rollback()
            _finish(delivery_id, DeliveryStatus.FAILED, error=type(exc).__name__)
            log.warning("digest to user %s failed (%s); tried again at the next run", user_id, type(exc).__name__)
            result.failed += 1
        else:
            _finish(delivery_id, DeliveryStatus.SENT)
            result.sent += 1


def send_daily_digest(now: datetime) -> DigestResult:
    """Send today's digest (Paris day of `now`) to every referent with open alerts who has not had it."""
    return _run(now, record_owed=True)


def retry_digests(now: datetime) -> DigestResult:
    """Send today's digests still owed (failed or interrupted), without adding new ones."""
    return _run(now, record_owed=False)


def _run(now: datetime, *, record_owed: bool) -> DigestResult:
    if now.tzinfo is None:
        raise ValueError("the digest needs an aware datetime")
    day = paris_today(now)
    result = DigestResult(day=day)
    with advisory_lock(DIGEST_LOCK_KEY) as acquired:
        if not acquired:
            result.skipped = True
            return result
        if record_owed:
            _record_owed(day)
        _send_owed(day, now, result)
    return result
