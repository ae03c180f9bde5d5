"""« Mon compte »: what a professional manages of their own account — their web sessions (close
one, or all of them: « Se déconnecter partout »), their API tokens (revoke), with the password,
the calendar feed and ProConnect shown where they are managed. Reads and writes go through
`access.can_manage_own_credential`: another user's session or token is « not found »."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from app import access
from app.accounts import sessions
from app.accounts.models import ApiToken, User, UserSession
from app.audit.services import record_event
from app.errors import NotFound
from app.extensions import db
from app.transaction import unit_of_work

LIST_LIMIT = 50  # the most recent: more would be a sign of a leak, which « tout fermer » answers


@dataclass
class SessionRow:
    record: UserSession
    current: bool


def live_sessions(user: User, *, now: datetime, current_key: object) -> list[SessionRow]:
    """The user's open web sessions, the most recently used first (expired ones are left out)."""
    current_hash = sessions.hash_key(current_key) if isinstance(current_key, str) and current_key else None
    rows = db.session.scalars(
        sa.select(UserSession)
        .where(access.own_credentials_clause(user, UserSession.user_id), UserSession.revoked_at.is_(None))
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
        .limit(LIST_LIMIT)
    )
    return [SessionRow(r, r.key_hash == current_hash) for r in rows if sessions.is_live(r, now)]


def live_tokens(user: User, *, now: datetime) -> list[ApiToken]:
    return list(db.session.scalars(
        sa.select(ApiToken)
        .where(access.own_credentials_clause(user, ApiToken.user_id), ApiToken.revoked_at.is_(None),
               ApiToken.expires_at > now)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        .limit(LIST_LIMIT)
    ))


def close_session(user: User, session_id: int, *, now: datetime) -> None:
    record = db.session.get(UserSession, session_id)
    if not access.can_manage_own_credential(user, record) or record.revoked_at is not None:
        raise NotFound("Cette session n'existe pas ou est déjà fermée.")
    with unit_of_work():
        record.revoked_at = now
        record_event(user, "user.session_closed", object_type="user_session", object_id=record.id, at=now)


def close_everywhere(user: User, *, now: datetime) -> dict[str, int]:
    """Every session of the user, this one included, and every API token: « Se déconnecter partout »."""
    with unit_of_work():
        revoked = sessions.revoke_credentials(user, now=now)
        record_event(user, "user.logged_out_everywhere", object_type="user", object_id=user.id, at=now,
                     details=revoked)
    return revoked


def revoke_token(user: User, token_id: int, *, now: datetime) -> None:
    record = db.session.get(ApiToken, token_id)
    if not access.can_manage_own_credential(user, record) or record.revoked_at is not None:
        raise NotFound("Ce jeton n'existe pas ou est déjà révoqué.")
    with unit_of_work():
        record.revoked_at = now
        record_event(user, "api_token.revoked", object_type="api_token", object_id=record.id, at=now)
