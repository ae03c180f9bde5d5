"""Login, logout, password change and reset (HTML). Flask-Login and the server-side session
check are wired here, when the blueprint is registered."""
from __future__ import annotations

import secrets

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user
from marshmallow import ValidationError as SchemaValidationError

from app.accounts import account, proconnect, sessions
from app.accounts.models import User
from app.accounts.schemas import (
    EMAIL_MAX_LENGTH,
    LoginSchema,
    PasswordChangeSchema,
    PasswordResetRequestSchema,
    PasswordResetSchema,
    ProConnectCallbackSchema,
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
from app.notifications.models import NotificationEvent
from app.notifications.schemas import DIGEST_LABELS, NotificationPreferencesSchema
from app.notifications.services import muted_events, update_preferences
from app.validation import load

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
            "accounts/login.html", values=values, errors=errors, failure=failure, next_url=next_url,
            proconnect_enabled=proconnect.is_configured(),
        ),
        status,
        headers,
    )


LOGGED_OUT = "Vous êtes déconnecté·e."


@bp.post("/deconnexion")
def logout() -> ResponseReturnValue:
    id_token = session.get(proconnect.ID_TOKEN_KEY)
    log_out(session.get(sessions.SESSION_KEY), now=utcnow())
    logout_user()
    session.clear()
    if isinstance(id_token, str) and proconnect.is_configured():
        # Came through ProConnect: end the session there too, then back to /deconnexion/proconnect.
        state = secrets.token_urlsafe(32)
        target = proconnect.logout_url(
            id_token=id_token, state=state, post_logout_redirect_uri=_external("accounts.proconnect_logged_out")
        )
        if target:
            session[proconnect.LOGOUT_STATE_KEY] = state
            return redirect(target)
    flash(LOGGED_OUT, "success")
    return redirect(url_for("accounts.login"))


# --- ProConnect ------------------------------------------------------------------------------------------


def _external(endpoint: str) -> str:
    """An absolute URL of ours, on PUBLIC_BASE_URL when set (the one registered at ProConnect)."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base + url_for(endpoint)
    return url_for(endpoint, _external=True)


def _proconnect_failure(error: proconnect.ProConnectError) -> ResponseReturnValue:
    current_app.logger.info("ProConnect login refused: %s", error.kind)
    page = render_template("accounts/proconnect_error.html", title=error.title, message=error.message)
    return page, error.status


@bp.post("/connexion/proconnect")
@login_limit
def proconnect_login() -> ResponseReturnValue:
    """The « S'identifier avec ProConnect » button: off to the provider, with a one-use state."""
    if not proconnect.is_configured():
        abort(404)
    next_url = safe_next(request.form.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or url_for("core.home"))
    try:
        target, pending = proconnect.begin(
            redirect_uri=_external("accounts.proconnect_callback"), next_url=next_url
        )
    except proconnect.ProConnectError as error:
        return _proconnect_failure(error)
    session[proconnect.PENDING_KEY] = pending
    return redirect(target)


@bp.get("/connexion/proconnect/retour")
def proconnect_callback() -> ResponseReturnValue:
    """Where ProConnect sends the browser back: verify everything, then log in as /connexion does."""
    if not proconnect.is_configured():
        abort(404)
    pending = session.pop(proconnect.PENDING_KEY, None)  # one use, whatever happens next
    try:
        args = ProConnectCallbackSchema().load(request.args.to_dict())
    except SchemaValidationError as exc:
        message = next(iter(_form_errors(exc).values()), [proconnect.NO_CODE])[0]
        return _proconnect_failure(proconnect.ProConnectError(message, kind="bad_callback"))
    try:
        identity = proconnect.complete(pending, args, redirect_uri=_external("accounts.proconnect_callback"))
        signed_in = proconnect.sign_in(
            identity, now=utcnow(), ip_address=request.remote_addr, user_agent=request.user_agent.string
        )
    except proconnect.ProConnectError as error:
        return _proconnect_failure(error)
    next_url = safe_next(pending.get("next")) if isinstance(pending, dict) else None
    session.clear()  # a fresh session for the new identity
    login_user(signed_in.user)
    session[sessions.SESSION_KEY] = signed_in.session_key
    session[proconnect.ID_TOKEN_KEY] = identity.id_token
    return redirect(next_url or url_for("core.home"))


@bp.get("/deconnexion/proconnect")
def proconnect_logged_out() -> ResponseReturnValue:
    """Back from ProConnect's end_session_endpoint: the local session was already closed."""
    expected = session.pop(proconnect.LOGOUT_STATE_KEY, None)
    if isinstance(expected, str) and proconnect.same(request.args.get("state", "")[:200], expected):
        flash(LOGGED_OUT, "success")
    else:  # not our state: say only what is certain
        flash("Vous êtes déconnecté·e de Parcours ; la déconnexion de ProConnect n'a pas été confirmée.", "info")
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



# --- « Mon compte » ------------------------------------------------------------------------------


def _account_page(errors: dict | None = None, status: int = 200) -> ResponseReturnValue:
    now = utcnow()
    page = render_template(
        "accounts/account.html",
        user=current_user,
        sessions_open=account.live_sessions(current_user, now=now, current_key=session.get(sessions.SESSION_KEY)),
        tokens=account.live_tokens(current_user, now=now),
        proconnect_enabled=proconnect.is_configured(),
        digest_choices=DIGEST_LABELS,
        notification_events=[e for e in NotificationEvent if e != NotificationEvent.ALERT_RAISED],
        muted=muted_events(current_user),
        notification_errors=errors or {},
    )
    return page, status


@bp.get("/compte")
@login_required
def my_account() -> ResponseReturnValue:
    return _account_page()


@bp.post("/compte/notifications")
@login_required
def my_notifications() -> ResponseReturnValue:
    """« Mes notifications »: the daily digest and the messages received; only one's own account."""
    form = {"alert_digest": request.form.get("alert_digest"), "events": request.form.getlist("events")}
    try:
        data = load(NotificationPreferencesSchema(), form)
    except ValidationError as exc:
        return _account_page(exc.errors, 422)
    update_preferences(current_user._get_current_object(), data, now=utcnow())
    flash("Vos préférences de notification sont enregistrées.", "success")
    return redirect(url_for("accounts.my_account"))


@bp.post("/compte/sessions/<id:session_id>/fermer")
@login_required
def close_my_session(session_id: int) -> ResponseReturnValue:
    account.close_session(current_user, session_id, now=utcnow())
    flash("La session est fermée : l'appareil qui l'utilisait devra se reconnecter.", "success")
    return redirect(url_for("accounts.my_account"))


@bp.post("/compte/deconnexion-partout")
@login_required
def log_out_everywhere() -> ResponseReturnValue:
    revoked = account.close_everywhere(current_user, now=utcnow())
    logout_user()
    session.clear()
    flash(f"Vous êtes déconnecté·e partout : {revoked['sessions']} session(s) fermée(s), "
          f"{revoked['api_tokens']} jeton(s) d'API révoqué(s).", "success")
    return redirect(url_for("accounts.login"))


@bp.post("/compte/jetons/<id:token_id>/revoquer")
@login_required
def revoke_my_token(token_id: int) -> ResponseReturnValue:
    account.revoke_token(current_user, token_id, now=utcnow())
    flash("Le jeton d'API est révoqué : les programmes qui l'utilisaient n'ont plus accès.", "success")
    return redirect(url_for("accounts.my_account"))
