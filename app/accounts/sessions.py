"""Server-side web sessions: revocable, with an idle timeout and an absolute lifetime.

The signed Flask cookie alone cannot be revoked: a copy taken before logout would work until it
expires. So each login opens a `UserSession` row; the cookie carries a random key (SESSION_KEY)
whose SHA-256 only is stored, and every request checks that row (`resolve_session`).
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import contains_eager

from app.accounts.models import ApiToken, User, UserSession
from app.core.replica import primary_reads
from app.extensions import db
from app.transaction import unit_of_work

SESSION_KEY = "_parcours_sid"  # the key of the server-side session, in Flask's session cookie
# `last_seen_at` is written at most this often per session, so reads do not all become writes.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)
USER_AGENT_MAX = 120


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def add_session(user: User, *, now: datetime, ip_address: str | None, user_agent: str | None) -> str:
    """Add a new session of `user` to the current transaction (the caller commits); its key."""
    key = secrets.token_urlsafe(32)
    db.session.add(
        UserSession(
            user_id=user.id,
            key_hash=hash_key(key),
            created_at=now,
            last_seen_at=now,
            ip_address=(ip_address or "")[:45] or None,
            user_agent=(user_agent or "")[:USER_AGENT_MAX] or None,
        )
    )
    return key


def _limits() -> tuple[timedelta, timedelta]:
    config = current_app.config
    lifetime = timedelta(minutes=int(config.get("SESSION_LIFETIME_MINUTES", 8 * 60)))
    idle = timedelta(minutes=int(config.get("SESSION_IDLE_MINUTES", 30)))
    return lifetime, idle


def is_live(record: UserSession, now: datetime) -> bool:
    lifetime, idle = _limits()
    return (
        record.revoked_at is None
        and now - record.created_at < lifetime
        and now - record.last_seen_at < idle
        and record.user.is_active_account
    )


def resolve_session(key: object, user_id: object, *, now: datetime) -> UserSession | None:
    """The live session of this key for this user (one query, user included), else None.

    Refreshes `last_seen_at` when it is more than LAST_SEEN_RESOLUTION old.
    """
    if not isinstance(key, str) or not key or len(key) > 200:
        return None
    try:
        user_id = int(str(user_id))
    except (TypeError, ValueError):
        return None
    with primary_reads():  # a revocation is seen at once, even by a page read from a replica
        record = db.session.scalar(
            sa.select(UserSession)
            .join(UserSession.user)
            .options(contains_eager(UserSession.user))
            .where(UserSession.key_hash == hash_key(key), UserSession.user_id == user_id)
        )
    if record is None or not is_live(record, now):
        return None
    if now - record.last_seen_at >= LAST_SEEN_RESOLUTION:

        with unit_of_work():
            record.last_seen_at = now
    return record


def revoke_session_key(key: object, *, now: datetime) -> None:
    """Revoke the session of this key, if any and still open (adds to the current transaction)."""
    if not isinstance(key, str) or not key:
        return
    db.session.execute(
        sa.update(UserSession)
        .where(UserSession.key_hash == hash_key(key), UserSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def revoke_credentials(user: User, *, now: datetime, keep_session_key: str | None = None) -> dict[str, int]:
    """Revoke every open session (but the one kept) and every live API token of `user`.

    Adds to the current transaction (the caller commits); returns how many of each, for the audit.
    """
    sessions = sa.update(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    if keep_session_key:
        sessions = sessions.where(UserSession.key_hash != hash_key(keep_session_key))
    revoked_sessions = db.session.execute(sessions.values(revoked_at=now)).rowcount
    # The check constraint on api_token wants expires_at > created_at only; revoked_at is free.
    revoked_tokens = db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)
        .values(revoked_at=now)
    ).rowcount
    return {"sessions": int(revoked_sessions or 0), "api_tokens": int(revoked_tokens or 0)}
