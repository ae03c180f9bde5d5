"""Login and logout (HTML). Flask-Login is wired here, when the blueprint is registered."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user
from marshmallow import ValidationError as SchemaValidationError

from app.accounts.models import User
from app.accounts.schemas import LoginSchema
from app.accounts.services import authenticate
from app.db_types import utcnow
from app.extensions import db, limiter, login_manager, login_rate_limit, rate_limit_disabled

bp = Blueprint("accounts", __name__)

BAD_CREDENTIALS = "Adresse électronique ou mot de passe incorrect."


@bp.record_once
def _configure_login_manager(state: object) -> None:
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Connectez-vous pour accéder à cette page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    try:
        return db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site ("/x?y"), else None: no open redirect."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


@bp.route("/connexion", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, methods=["POST"], exempt_when=rate_limit_disabled)
def login() -> ResponseReturnValue:
    next_url = safe_next(request.values.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or url_for("core.home"))

    values = {"email": ""}
    errors: dict[str, list[str]] = {}
    failure: str | None = None
    if request.method == "POST":
        values["email"] = request.form.get("email", "")[:254]
        try:
            data = LoginSchema().load(request.form.to_dict())
        except SchemaValidationError as exc:
            errors = {k: v for k, v in exc.normalized_messages().items() if isinstance(v, list)}
        else:
            user = authenticate(data["email"], data["password"], now=utcnow())
            if user is not None:
                session.clear()  # a fresh session for the new identity
                login_user(user)
                return redirect(next_url or url_for("core.home"))
            failure = BAD_CREDENTIALS
    status = 422 if (errors or failure) else 200
    return (
        render_template(
            "accounts/login.html", values=values, errors=errors, failure=failure, next_url=next_url
        ),
        status,
    )


@bp.post("/deconnexion")
def logout() -> ResponseReturnValue:
    logout_user()
    session.clear()
    flash("Vous êtes déconnecté·e.", "success")
    return redirect(url_for("accounts.login"))

