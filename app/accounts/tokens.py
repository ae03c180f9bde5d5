"""Bearer tokens of the JSON API: random, stored as SHA-256, expiring, revocable (one transaction each)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from app.accounts.models import ApiToken, User
from app.audit.services import record_event
from app.core.replica import primary_reads
from app.db_types import utcnow
from app.extensions import db
from app.transaction import unit_of_work

# `last_used_at` is written at most this often per token, so reads do not all become writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass
class IssuedToken:
    token: str  # shown once, never stored
    record: ApiToken


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def issue_token(user: User, *, now: datetime | None = None) -> IssuedToken:
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    ttl = timedelta(hours=int(current_app.config.get("API_TOKEN_TTL_HOURS", 12)))
    with unit_of_work() as session:
        record = ApiToken(
            territory_id=user.territory_id,
            user_id=user.id,
            token_hash=hash_token(token),
            created_at=now,
            expires_at=now + ttl,
        )
        session.add(record)
        session.flush()
        record_event(user, "api_token.created", object_type="api_token", object_id=record.id, at=now)
    return IssuedToken(token=token, record=record)


def resolve_token(token: str, *, now: datetime | None = None) -> ApiToken | None:
    """The live token (not expired, not revoked, active account) for this secret, or None."""
    now = now or utcnow()
    with primary_reads():  # a revocation is seen at once, even by an API read from a replica
        record = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
        if record is None or record.revoked_at is not None or record.expires_at <= now:
            return None
        if not record.user.is_active_account:
            return None
    if record.last_used_at is None or now - record.last_used_at >= LAST_USED_RESOLUTION:
        with unit_of_work():
            record.last_used_at = now
    return record


def revoke_token(record: ApiToken, *, now: datetime | None = None) -> None:
    now = now or utcnow()
    with unit_of_work():
        record.revoked_at = max(now, record.created_at)
        record_event(record.user, "api_token.revoked", object_type="api_token", object_id=record.id, at=now)
