"""Data protection over time (DESIGN §3.9, CNIL guidance for social accompaniment).

- A person's record is kept `retention_months` (default 24) after their last pathway closed, then
  anonymised: identity and contact erased, every free-text note of their pathways erased. Counts
  (stages, meetings, barriers by category) stay, for the territory's statistics.
- Audit events are kept `audit_retention_months` (default 12, at most 36), then deleted; so are
  the records of daily digests sent (`digest_delivery`: who got a digest which day).
- Join requests' messages and answers are erased with the record (free text).
- Copies of mails in the outbox (`MAIL_OUTBOX_DIR`, where mails go when no MAIL_SERVER is set) hold
  names: an outbox `.eml` file is deleted once older than `MAIL_OUTBOX_RETENTION_DAYS` (setting,
  default 7 days, by the file's modification time), and at once, whatever its age, when it names
  (first and last name, in either order, any case) a person anonymised by this run. The age rule
  alone already bounds every copy; the name rule makes anonymisation immediate. Mails sent by SMTP
  leave no copy here.

All are set-based and idempotent; the scheduler runs them daily (app/followup/scheduler.py), one
process at a time (PostgreSQL advisory lock; a second process skips).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from flask import current_app

from app.accounts.models import Territory, User
from app.audit.models import AuditEvent
from app.barriers.models import Barrier, Referral
from app.core.idempotency import purge_form_submissions
from app.extensions import db
from app.followup.models import DigestDelivery
from app.meetings.models import Meeting
from app.pathways.models import Beneficiary, Entry, Pathway, ReferentAssignment, TeamJoinRequest
from app.transaction import RETENTION_LOCK_KEY, try_advisory_xact_lock, unit_of_work

ANONYMISED_TEXT = "[anonymisé]"
DEFAULT_OUTBOX_RETENTION_DAYS = 7

log = logging.getLogger("parcours.retention")


@dataclass
class RetentionResult:
    anonymised_people: int = 0
    purged_audit_events: int = 0
    purged_digest_deliveries: int = 0
    purged_mail_copies: int = 0
    purged_form_tokens: int = 0  # single-use form tokens older than two days (app/core/idempotency)
    skipped: bool = False  # another process was applying retention: this one did nothing


def _expired_people(territory: Territory, now: datetime) -> sa.Select:
    """People of the territory with no open pathway, whose last pathway closed before the limit."""
    limit = now - relativedelta(months=territory.retention_months)
    return (
        sa.select(Pathway.beneficiary_id)
        .join(Beneficiary, Beneficiary.id == Pathway.beneficiary_id)
        .where(Pathway.territory_id == territory.id, Beneficiary.anonymised_at.is_(None))
        .group_by(Pathway.beneficiary_id)
        .having(sa.func.count(Pathway.id) == sa.func.count(Pathway.closed_at))  # none open
        .having(sa.func.max(Pathway.closed_at) < limit)
    )


def apply_retention(now: datetime) -> RetentionResult:
    """Anonymise expired records, purge expired audit events, digest records and mail copies, in one
    transaction (mail copies are deleted inside it: deleting a copy is never harmful, even if the
    transaction then fails)."""
    result = RetentionResult()
    with unit_of_work() as session:
        if not try_advisory_xact_lock(session, RETENTION_LOCK_KEY):
            result.skipped = True
            return result
        anonymised_names: set[str] = set()
        for territory in session.scalars(sa.select(Territory).order_by(Territory.id)):
            people = session.scalars(_expired_people(territory, now)).all()
            if people:
                anonymised_names |= _names(session, people)
                result.anonymised_people += _anonymise(session, people, now)
            # Core DELETE on purpose: the ORM refuses to delete audit events (append-only in the app).
            limit = now - relativedelta(months=territory.audit_retention_months)
            table = AuditEvent.__table__
            purged = session.execute(
                sa.delete(table).where(table.c.territory_id == territory.id, table.c.occurred_at < limit)
            )
            result.purged_audit_events += purged.rowcount or 0
            deliveries = DigestDelivery.__table__
            purged = session.execute(
                sa.delete(deliveries).where(
                    deliveries.c.user_id.in_(sa.select(User.id).where(User.territory_id == territory.id)),
                    deliveries.c.digest_date < limit.date(),
                )
            )
            result.purged_digest_deliveries += purged.rowcount or 0
        result.purged_mail_copies = purge_mail_copies(now, anonymised_names)
    result.purged_form_tokens = purge_form_submissions(now)
    return result


def _names(session: sa.orm.Session, people: list[int]) -> set[str]:
    """The names as mails write them ("Prénom Nom", and "Nom Prénom"), read before they are erased."""
    rows = session.execute(
        sa.select(Beneficiary.first_name, Beneficiary.last_name).where(Beneficiary.id.in_(people))
    )
    names = set()
    for first, last in rows:
        names |= {f"{first} {last}".casefold(), f"{last} {first}".casefold()}
    return names


def purge_mail_copies(now: datetime, names: set[str] | frozenset[str] = frozenset()) -> int:
    """Delete the outbox `.eml` files older than the setting, and those naming one of `names`."""
    outbox = current_app.config.get("MAIL_OUTBOX_DIR")
    if not outbox or not Path(outbox).is_dir():
        return 0
    days = int(current_app.config.get("MAIL_OUTBOX_RETENTION_DAYS", DEFAULT_OUTBOX_RETENTION_DAYS))
    limit = (now - timedelta(days=days)).timestamp()
    purged = 0
    for path in Path(outbox).glob("*.eml"):
        try:
            if path.stat().st_mtime < limit or (names and _mentions(path, names)):
                path.unlink(missing_ok=True)
                purged += 1
        except OSError as exc:  # a file that vanished or cannot be read: the next run tries again
            log.warning("outbox file not purged (%s)", type(exc).__name__)
    return purged


def _mentions(path: Path, names: set[str] | frozenset[str]) -> bool:
    """Whether the mail in `path` names one of `names` (subject or any text part, decoded)."""
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    texts = [str(message.get("Subject", ""))]
    texts += [part.get_content() for part in message.walk() if part.get_content_maintype() == "text"]
    text = " ".join(" ".join(t.split()) for t in texts).casefold()
    return any(name in text for name in names)


def _anonymise(session: sa.orm.Session, people: list[int], now: datetime) -> int:
    pathways = sa.select(Pathway.id).where(Pathway.beneficiary_id.in_(people)).scalar_subquery()
    barriers = sa.select(Barrier.id).where(Barrier.pathway_id.in_(pathways)).scalar_subquery()
    session.execute(
        sa.update(Beneficiary.__table__)
        .where(Beneficiary.__table__.c.id.in_(people))
        .values(
            first_name="Personne",
            last_name="anonymisée",
            birth_name=None,
            birth_date=None,
            email=None,
            phone=None,
            address=None,
            postal_code=None,
            city=None,
            caf_number=None,
            france_travail_id=None,
            rights=[],
            search_name="",
            anonymised_at=now,
        )
    )
    session.execute(
        sa.update(Pathway.__table__)
        .where(Pathway.__table__.c.id.in_(pathways))
        .values(closure_note=None, employer=None, job_title=None)
    )
    session.execute(
        sa.update(Entry.__table__).where(Entry.__table__.c.pathway_id.in_(pathways)).values(body=ANONYMISED_TEXT)
    )
    session.execute(
        sa.update(Meeting.__table__)
        .where(Meeting.__table__.c.pathway_id.in_(pathways))
        .values(notes=None, location=None, cancellation_reason=None)
    )
    session.execute(
        sa.update(ReferentAssignment.__table__)
        .where(ReferentAssignment.__table__.c.pathway_id.in_(pathways))
        .values(note=None)
    )
    session.execute(
        sa.update(Barrier.__table__)
        .where(Barrier.__table__.c.pathway_id.in_(pathways))
        .values(title=ANONYMISED_TEXT, description=None)
    )
    session.execute(
        sa.update(Referral.__table__)
        .where(Referral.__table__.c.barrier_id.in_(barriers))
        .values(message=None, answer_comment=None)
    )
    session.execute(
        sa.update(TeamJoinRequest.__table__)
        .where(TeamJoinRequest.__table__.c.pathway_id.in_(pathways))
        .values(message=None, answer_comment=None)
    )
    db.session.expire_all()
    return len(people)
