"""Idempotent form posts: the same rendered form submitted twice (a double click, a resent page) is
written once.

Every workspace form carries a single-use `form_token` (`{{ form_token_field() }}`). The first post
of a token claims it (a row keyed by its SHA-256, unique in the database, so two concurrent twins
cannot both pass); a second post of the same token writes nothing and is sent where the first one
went, with a message. A form re-rendered with errors carries a fresh token, so correcting it works.
Posts without a token (API clients, tests, scripts) are not concerned.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Optional

import sqlalchemy as sa
from flask import Flask, flash, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.orm import Mapped, mapped_column

from app.core.urls import safe_next
from app.db_types import UTCDateTime, utcnow
from app.errors import Conflict
from app.extensions import db
from app.transaction import unit_of_work

FIELD = "form_token"
KEEP = timedelta(days=2)  # long enough for a page left open; purged by the retention job
ALREADY_SENT = "Ce formulaire avait déjà été envoyé : il n'a pas été enregistré une seconde fois."


class FormSubmission(db.Model):
    __tablename__ = "form_submission"
    __table_args__ = (sa.Index("ix_form_submission_submitted_at", "submitted_at"),)

    token_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    result_url: Mapped[Optional[str]] = mapped_column(sa.String(500))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def form_token_field() -> Markup:
    """The hidden single-use token of a form (none before login: those forms are not guarded)."""
    if not current_user.is_authenticated:
        return Markup("")
    return Markup('<input type="hidden" name="{}" value="{}">').format(FIELD, secrets.token_urlsafe(18))


def _claim() -> ResponseReturnValue | None:
    if request.method != "POST" or request.blueprint == "api" or not current_user.is_authenticated:
        return None
    token = request.form.get(FIELD)
    if not token or len(token) > 100:
        return None
    token_hash = _hash(token)
    previous = db.session.get(FormSubmission, token_hash)
    if previous is None:
        try:
            with unit_of_work():
                db.session.add(FormSubmission(token_hash=token_hash, user_id=current_user.id, submitted_at=utcnow()))
        except Conflict:  # its twin claimed it a moment ago
            previous = db.session.get(FormSubmission, token_hash)
        else:
            g.form_submission = token_hash
            return None
    flash(ALREADY_SENT, "info")
    back = safe_next(request.referrer and request.referrer.split(request.host, 1)[-1])
    return redirect((previous.result_url if previous else None) or back or url_for("core.home"), code=303)


def _remember_where_it_went(response):  # type: ignore[no-untyped-def]
    token_hash = g.pop("form_submission", None)
    if token_hash and response.status_code in (301, 302, 303) and response.location:
        location = safe_next(response.location)
        if location:
            with unit_of_work():
                db.session.execute(sa.update(FormSubmission).where(FormSubmission.token_hash == token_hash)
                                   .values(result_url=location[:500]))
    return response


def purge_form_submissions(now: datetime) -> int:
    """Forget the tokens older than KEEP (called by the daily retention job)."""
    with unit_of_work():
        result = db.session.execute(sa.delete(FormSubmission).where(FormSubmission.submitted_at < now - KEEP))
    return result.rowcount or 0


def init_app(app: Flask) -> None:
    app.before_request(_claim)
    app.after_request(_remember_where_it_went)
    app.jinja_env.globals["form_token_field"] = form_token_field
