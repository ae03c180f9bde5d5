"""Reads of the administration pages: lists of structures and professionals, counts, history.

Every read is scoped by `access.administered_clause` (the admin's own territory); none touches a
record's content.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased, joinedload

from app import access
from app.accounts.models import Agency, User
from app.accounts.passwords import NO_PASSWORD
from app.admin.models import Invitation
from app.audit.models import AuditEvent
from app.core.pages import Page, paginate
from app.extensions import db

PER_PAGE = 25
ADMIN_ACTIONS = (
    "agency.create", "agency.update", "agency.deactivated", "agency.reactivated",
    "user.invited", "user.invitation_resent", "user.invitation_accepted", "user.deactivated",
    "user.reactivated", "territory.settings_changed", "territory.create", "user.updated",
    "directory.imported",
)


def _like(q: str) -> str:
    escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def agencies_page(actor: User, *, q: str | None, page: int) -> Page:
    """The territory's structures, by name; `q` searches the name, SIRET and SAFIR code."""
    stmt = sa.select(Agency).where(access.administered_clause(actor, Agency.territory_id))
    if q:
        pattern = _like(q)
        stmt = stmt.where(sa.or_(
            sa.func.lower(Agency.name).like(pattern, escape="\\"),
            Agency.siret.like(pattern, escape="\\"),
            Agency.safir_code.like(pattern, escape="\\"),
        ))
    return paginate(stmt.order_by(sa.func.lower(Agency.name), Agency.id), page, PER_PAGE)


def active_agencies(actor: User) -> list[Agency]:
    """The structures a new professional may join (the invitation form's list)."""
    return list(db.session.scalars(
        sa.select(Agency)
        .where(access.administered_clause(actor, Agency.territory_id), Agency.is_active)
        .order_by(sa.func.lower(Agency.name))
    ))


def get_agency(actor: User, agency_id: int) -> Agency | None:
    agency = db.session.get(Agency, agency_id)
    return agency if access.can_administer_object(actor, agency) else None


def get_user(actor: User, user_id: int) -> User | None:
    user = db.session.get(User, user_id)
    return user if access.can_administer_object(actor, user) else None


@dataclass
class AccountRow:
    user: User
    invitation_expires_at: datetime | None  # of the open invitation, if any

    @property
    def status(self) -> str:
        if not self.user.is_active_account:
            return "inactive"
        if self.user.password_hash == NO_PASSWORD and self.user.proconnect_sub is None:  # never signed in
            return "invited" if self.invitation_expires_at is not None else "invitation_expired"
        return "active"


def _open_invitation(now: datetime) -> Any:
    return (
        sa.select(sa.func.max(Invitation.expires_at))
        .where(
            Invitation.user_id == User.id, Invitation.used_at.is_(None), Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
        .correlate(User)
        .scalar_subquery()
    )


def users_page(actor: User, *, q: str | None, page: int, now: datetime) -> Page:
    """The territory's accounts, by name, with their agency and open invitation; `q` searches
    names and e-mail addresses."""
    stmt = (
        sa.select(User, _open_invitation(now))
        .join(User.agency)
        .options(joinedload(User.agency))
        .where(access.administered_clause(actor, User.territory_id))
    )
    if q:
        pattern = _like(q)
        stmt = stmt.where(sa.or_(
            sa.func.lower(User.last_name).like(pattern, escape="\\"),
            sa.func.lower(User.first_name).like(pattern, escape="\\"),
            sa.func.lower(User.email).like(pattern, escape="\\"),
            sa.func.lower(Agency.name).like(pattern, escape="\\"),
        ))
    stmt = stmt.order_by(sa.func.lower(User.last_name), sa.func.lower(User.first_name), User.id)
    return paginate(stmt, page, PER_PAGE, scalars=False).map(lambda row: AccountRow(row[0], row[1]))


@dataclass
class Counts:
    agencies: int
    active_agencies: int
    active_users: int
    pending_invitations: int


def counts(actor: User, *, now: datetime) -> Counts:
    """The tiles of the admin's home page (three queries)."""
    agencies = db.session.execute(
        sa.select(sa.func.count(), sa.func.count().filter(Agency.is_active))
        .where(access.administered_clause(actor, Agency.territory_id))
    ).one()
    active_users = db.session.scalar(
        sa.select(sa.func.count()).select_from(User)
        .where(access.administered_clause(actor, User.territory_id), User.is_active_account,
               sa.or_(User.password_hash != NO_PASSWORD, User.proconnect_sub.is_not(None)))
    )
    pending = db.session.scalar(
        sa.select(sa.func.count(sa.distinct(Invitation.user_id)))
        .join(User, User.id == Invitation.user_id)
        .where(access.administered_clause(actor, Invitation.territory_id), User.is_active_account,
               User.proconnect_sub.is_(None),  # signed in with ProConnect: no longer waiting
               Invitation.used_at.is_(None), Invitation.revoked_at.is_(None), Invitation.expires_at > now)
    )
    return Counts(agencies[0] or 0, agencies[1] or 0, active_users or 0, pending or 0)


@dataclass
class Change:
    event: AuditEvent
    actor: User | None
    subject: str | None  # the structure's or account's name, the territory's for settings


def _changes(actor: User, actions: tuple[str, ...]) -> sa.Select:
    who = aliased(User)
    return (
        sa.select(AuditEvent, who)
        .outerjoin(who, who.id == AuditEvent.actor_id)
        .where(access.administered_clause(actor, AuditEvent.territory_id), AuditEvent.action.in_(actions))
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    )


def _with_subjects(rows: list[Any]) -> list[Change]:
    agency_ids = {r[0].object_id for r in rows if r[0].object_type == "agency" and r[0].object_id}
    user_ids = {r[0].object_id for r in rows if r[0].object_type == "user" and r[0].object_id}
    # Two queries whatever the events (an empty IN is a query too: the page's cost stays fixed).
    agencies = dict(db.session.execute(sa.select(Agency.id, Agency.name).where(Agency.id.in_(agency_ids))).all())
    users = {
        row.id: f"{row.first_name} {row.last_name}"
        for row in db.session.execute(
            sa.select(User.id, User.first_name, User.last_name).where(User.id.in_(user_ids))
        )
    }
    changes = []
    for event, who in rows:
        names = agencies if event.object_type == "agency" else users if event.object_type == "user" else {}
        subject = names.get(event.object_id)
        if event.object_type == "directory_import":
            subject = (event.details or {}).get("filename")
        changes.append(Change(event, who, subject))
    return changes


def recent_changes(actor: User, *, limit: int = 10) -> list[Change]:
    """The latest administration events of the territory (structures, accounts, settings)."""
    return _with_subjects(db.session.execute(_changes(actor, ADMIN_ACTIONS).limit(limit)).all())


def settings_history(actor: User, *, page: int) -> Page:
    """« Historique des paramètres »: every change of the territory's settings, latest first."""
    result = paginate(_changes(actor, ("territory.settings_changed",)), page, PER_PAGE, scalars=False)
    return Page(_with_subjects(result.items), result.total, result.page, result.per_page)


ACTION_LABELS = {
    "agency.create": "Structure créée",
    "agency.update": "Structure modifiée",
    "agency.deactivated": "Structure désactivée",
    "agency.reactivated": "Structure réactivée",
    "user.invited": "Professionnel·le invité·e",
    "user.invitation_resent": "Invitation renvoyée",
    "user.invitation_accepted": "Invitation acceptée",
    "user.deactivated": "Compte désactivé",
    "user.reactivated": "Compte réactivé",
    "user.updated": "Compte modifié (import)",
    "directory.imported": "Fichier importé",
    "territory.settings_changed": "Paramètres modifiés",
    "territory.create": "Territoire créé",
}
