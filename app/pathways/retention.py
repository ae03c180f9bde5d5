"""Data protection over time (DESIGN §3.9, CNIL guidance for social accompaniment).

- A person's record is kept `retention_months` (default 24) after their last pathway closed, then
  anonymised: identity and contact erased, every free-text note of their pathways erased. Counts
  (stages, meetings, barriers by category) stay, for the territory's statistics.
- Audit events are kept `audit_retention_months` (default 12, at most 36), then deleted.

Both are set-based and idempotent; the scheduler runs them daily (app/followup/scheduler.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta

from app.accounts.models import Territory
from app.audit.models import AuditEvent
from app.barriers.models import Barrier, Referral
from app.extensions import db
from app.meetings.models import Meeting
from app.pathways.models import Beneficiary, Entry, Pathway, ReferentAssignment
from app.transaction import unit_of_work

ANONYMISED_TEXT = "[anonymisé]"


@dataclass
class RetentionResult:
    anonymised_people: int = 0
    purged_audit_events: int = 0


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
    """Anonymise expired records and purge expired audit events, in one transaction."""
    result = RetentionResult()
    with unit_of_work() as session:
        for territory in session.scalars(sa.select(Territory).order_by(Territory.id)):
            people = session.scalars(_expired_people(territory, now)).all()
            if people:
                result.anonymised_people += _anonymise(session, people, now)
            # Core DELETE on purpose: the ORM refuses to delete audit events (append-only in the app).
            limit = now - relativedelta(months=territory.audit_retention_months)
            table = AuditEvent.__table__
            purged = session.execute(
                sa.delete(table).where(table.c.territory_id == territory.id, table.c.occurred_at < limit)
            )
            result.purged_audit_events += purged.rowcount or 0
    return result


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
    db.session.expire_all()
    return len(people)
