"""Login, logout, password change and reset (HTML). Flask-Login and the server-side session
check are wired here, when the blueprint is registered."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user
from marshmallow import ValidationError as SchemaValidationError

from app.accounts import sessions
from app.accounts.models import User
from app.accounts.schemas import (
    EMAIL_MAX_LENGTH,
    LoginSchema,
    PasswordChangeSchema,
    PasswordResetRequestSchema,
    PasswordResetSchema,
)
from app.accounts.services import (
    InvalidResetLink,
    PasswordLoginDisabled,
    TooManyAttempts,
    change_password,
    find_password_reset,
    log_in,
    log_out,
    request_password_reset,
    reset_password,
)
from app.core.urls import safe_next
from app.db_types import utcnow
from app.errors import ValidationError
from app.extensions import login_limit, login_manager

bp = Blueprint("accounts", __name__)

BAD_CREDENTIALS = "Adresse électronique ou mot de passe incorrect."
SESSION_EXPIRED = "Votre session a expiré, reconnectez-vous."
RESET_REQUESTED = (
    "Si un compte actif correspond à cette adresse, un message vient de lui être envoyé avec un lien "
    "pour choisir un nouveau mot de passe. Le lien est valable une heure et ne sert qu'une fois."
)
PASSWORD_CHANGED = (
    "Votre mot de passe est modifié. Vos autres sessions et vos jetons d'accès à l'API sont fermés."
)
PASSWORD_RESET_DONE = "Votre mot de passe est modifié. Connectez-vous avec le nouveau mot de passe."

# Endpoints a stale session may still reach without being sent to the login page.
_NO_REDIRECT_ENDPOINTS = {"accounts.login", "accounts.forgot_password", "accounts.reset_password_form"}


@bp.record_once
def _configure_login_manager(state: object) -> None:
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Connectez-vous pour accéder à cette page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The user of a live server-side session only: revoked, unknown, idle or too old → None."""
    record = sessions.resolve_session(session.get(sessions.SESSION_KEY), user_id, now=utcnow())
    if record is None:
        g.parcours_session_ended = True
        return None
    g.parcours_session_id = record.id
    return record.user


@bp.before_app_request
def _end_stale_sessions() -> ResponseReturnValue | None:
    """A cookie whose server-side session ended is dropped, with a French message."""
    if "_user_id" not in session or request.blueprint == "assets" or request.endpoint == "static":
        return None
    if request.path.startswith("/api/"):  # Bearer tokens only there; the cookie is never read
        return None
    if current_user.is_authenticated or not g.pop("parcours_session_ended", False):
        return None
    session.clear()
    flash(SESSION_EXPIRED, "warning")
    if request.endpoint in _NO_REDIRECT_ENDPOINTS:
        return None
    target = safe_next(request.full_path.rstrip("?")) if request.method == "GET" else None
    return redirect(url_for("accounts.login", next=target))


def _form_errors(exc: SchemaValidationError) -> dict[str, list[str]]:
    return {k: v for k, v in exc.normalized_messages().items() if isinstance(v, list)}


@bp.route("/connexion", methods=["GET", "POST"])
@login_limit
def login() -> ResponseReturnValue:
    next_url = safe_next(request.values.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or url_for("core.home"))

    values = {"email": ""}
    errors: dict[str, list[str]] = {}
    failure: str | None = None
    status = 200
    headers: dict[str, str] = {}
    if request.method == "POST":
        values["email"] = request.form.get("email", "")[:EMAIL_MAX_LENGTH]
        try:
            data = LoginSchema().load(request.form.to_dict())
        except SchemaValidationError as exc:
            errors = _form_errors(exc)
            status = 422
        else:
            try:
                signed_in = log_in(
                    data["email"], data["password"], now=utcnow(),
                    ip_address=request.remote_addr, user_agent=request.user_agent.string,
                )
            except TooManyAttempts as exc:
                failure, status = exc.message, 429
                headers["Retry-After"] = str(exc.retry_after)
            except PasswordLoginDisabled as exc:
                failure, status = exc.message, 403
            else:
                if signed_in is not None:
                    session.clear()  # a fresh session for the new identity
                    login_user(signed_in.user)
                    session[sessions.SESSION_KEY] = signed_in.session_key
                    return redirect(next_url or url_for("core.home"))
                failure, status = BAD_CREDENTIALS, 422
    return (
        render_template(
            "accounts/login.html", values=values, errors=errors, failure=failure, next_url=next_url
        ),
        status,
        headers,
    )


@bp.post("/deconnexion")
def logout() -> ResponseReturnValue:
    log_out(session.get(sessions.SESSION_KEY), now=utcnow())
    logout_user()
    session.clear()
    flash("Vous êtes déconnecté·e.", "success")
    return redirect(url_for("accounts.login"))


# --- « Mon mot de passe » ------------------------------------------------------------------------------


@bp.route("/compte/mot-de-passe", methods=["GET", "POST"])
@login_required
def password_change() -> ResponseReturnValue:
    errors: dict[str, list[str]] = {}
    failure: str | None = None
    status = 200
    if request.method == "POST":
        try:
            data = PasswordChangeSchema().load(request.form.to_dict())
            change_password(
                current_user._get_current_object(),
                current_password=data.get("current_password"),
                password=data.get("password"),
                confirmation=data.get("password_confirmation"),
                now=utcnow(),
                keep_session_key=session.get(sessions.SESSION_KEY),
            )
        except SchemaValidationError as exc:
            errors, status = _form_errors(exc), 422
        except ValidationError as exc:
            errors, status = exc.errors, 422
        except TooManyAttempts as exc:
            failure, status = exc.message, 429
        else:
            flash(PASSWORD_CHANGED, "success")
            return redirect(url_for("accounts.password_change"))
    return render_template("accounts/password_change.html", errors=errors, failure=failure), status


# --- « Mot de passe oublié ? » ---------------------------------------------------------------------------


def _reset_link(token: str) -> str:
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base + url_for("accounts.reset_password_form", token=token)
    return url_for("accounts.reset_password_form", token=token, _external=True)


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
def forgot_password() -> ResponseReturnValue:
    values = {"email": ""}
    errors: dict[str, list[str]] = {}
    failure: str | None = None
    status = 200
    if request.method == "POST":
        values["email"] = request.form.get("email", "")[:EMAIL_MAX_LENGTH]
        try:
            data = PasswordResetRequestSchema().load(request.form.to_dict())
            request_password_reset(
                data["email"], client=request.remote_addr or "", now=utcnow(), link_for=_reset_link
            )
        except SchemaValidationError as exc:
            errors, status = _form_errors(exc), 422
        except TooManyAttempts as exc:
            failure, status = exc.message, 429
        else:
            flash(RESET_REQUESTED, "info")
            return redirect(url_for("accounts.login"))
    return (
        render_template("accounts/password_forgot.html", values=values, errors=errors, failure=failure),
        status,
    )


@bp.route("/mot-de-passe-oublie/<token>", methods=["GET", "POST"])
def reset_password_form(token: str) -> ResponseReturnValue:
    if len(token) > 200 or find_password_reset(token, now=utcnow()) is None:
        return render_template("accounts/password_reset_invalid.html"), 400
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        try:
            data = PasswordResetSchema().load(request.form.to_dict())
            reset_password(
                token, password=data.get("password"), confirmation=data.get("password_confirmation"),
                now=utcnow(),
            )
        except SchemaValidationError as exc:
            errors, status = _form_errors(exc), 422
        except ValidationError as exc:
            errors, status = exc.errors, 422
        except InvalidResetLink:
            return render_template("accounts/password_reset_invalid.html"), 400
        else:
            if current_user.is_authenticated:  # whoever was logged in here is out too
                logout_user()
            session.clear()
            flash(PASSWORD_RESET_DONE, "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/password_reset.html", token=token, errors=errors), status

