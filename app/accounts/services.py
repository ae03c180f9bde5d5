"""Accounts operations: log in and out, create and deactivate an account, change or reset a
password. One transaction each."""
from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

import sqlalchemy as sa
from flask import current_app
from marshmallow import ValidationError as SchemaValidationError
from marshmallow import validate

from app.accounts import sessions, throttle
from app.accounts.models import Agency, PasswordReset, Role, User
from app.accounts.passwords import (
    DUMMY_HASH,
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)
from app.accounts.schemas import EMAIL_MAX_LENGTH, INVALID_EMAIL
from app.audit.services import record_event
from app.core.mail import deliver
from app.errors import Conflict, DomainError, Forbidden, ValidationError
from app.extensions import db
from app.transaction import unit_of_work

log = logging.getLogger(__name__)

_email_validator = validate.Email(error=INVALID_EMAIL)

DUPLICATE_EMAIL = "Un compte existe déjà avec cette adresse électronique."
PASSWORD_LOGIN_DISABLED = (
    "La connexion par mot de passe n'est pas autorisée sur votre territoire : utilisez le mode de "
    "connexion indiqué par votre administrateur·rice."
)
TOO_MANY_ATTEMPTS = (
    "Trop de tentatives de connexion pour ce compte. Patientez quelques minutes avant de réessayer, "
    "ou utilisez « Mot de passe oublié ? »."
)


def normalise_email(email: str | None) -> str:
    return (email or "").strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == normalise_email(email)))


class TooManyAttempts(DomainError):
    """Too many failed passwords for one e-mail address (whether or not it has an account)."""

    status = 429
    title = "Trop de tentatives"

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message or TOO_MANY_ATTEMPTS)
        self.retry_after = retry_after


class PasswordLoginDisabled(DomainError):
    """The right password, but the account's territory does not allow password logins (said only
    once the password is verified, so it tells nothing about which addresses have an account)."""

    status = 403
    title = "Connexion par mot de passe désactivée"

    def __init__(self) -> None:
        super().__init__(PASSWORD_LOGIN_DISABLED)


def _refuse_if_throttled(email: str) -> None:
    refusal = throttle.login_refusal(email)
    if refusal is not None:
        raise TooManyAttempts(refusal.retry_after)


def _verify_credentials(email: str, password: str, now: datetime) -> User | None:
    """The user, or None; adds the audit event to the current transaction (the caller commits)."""
    user = find_user_by_email(email) if email else None
    if user is None:
        verify_password(DUMMY_HASH, password or "")
        return None
    if not verify_password(user.password_hash, password or ""):
        record_event(user, "user.login_failed", object_type="user", object_id=user.id, at=now)
        return None
    if not user.is_active_account:
        return None
    if not user.territory.password_login_allowed:
        raise PasswordLoginDisabled()
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    record_event(user, "user.login", object_type="user", object_id=user.id, at=now)
    return user


def _count_attempt(email: str, user: User | None) -> None:
    if user is None:
        throttle.record_login_failure(email)
    else:
        throttle.clear_login_failures(email)


def authenticate(email: str, password: str, now: datetime) -> User | None:
    """The user these credentials belong to, or None — without telling why (one transaction).

    An unknown email still costs one Argon2 verification (against DUMMY_HASH), so response time
    does not reveal which addresses have an account. Inactive accounts are refused after the
    verification, for the same reason. Raises TooManyAttempts while the address cools down after
    too many failures (counted per address, shared by the web login and the API).
    """
    email = normalise_email(email)
    _refuse_if_throttled(email)
    with unit_of_work():
        user = _verify_credentials(email, password, now)
    _count_attempt(email, user)
    return user


@dataclass
class SignedIn:
    user: User
    session_key: str  # goes in the session cookie; only its SHA-256 is stored


def log_in(
    email: str, password: str, *, now: datetime, ip_address: str | None = None, user_agent: str | None = None
) -> SignedIn | None:
    """Web login: check the credentials and open a server-side session, in one transaction."""
    email = normalise_email(email)
    _refuse_if_throttled(email)
    key = None
    with unit_of_work():
        user = _verify_credentials(email, password, now)
        if user is not None:
            key = sessions.add_session(user, now=now, ip_address=ip_address, user_agent=user_agent)
    _count_attempt(email, user)
    if user is None or key is None:
        return None
    return SignedIn(user=user, session_key=key)


def log_out(session_key: object, *, now: datetime) -> None:
    """Revoke the server-side session: a copy of the cookie no longer opens anything."""
    with unit_of_work():
        sessions.revoke_session_key(session_key, now=now)


def _user_inputs(email: str, first_name: str = "", last_name: str = "") -> list[str]:
    return [email, first_name, last_name]


def check_new_password(password: str | None, *, user_inputs: list[str], field: str = "password") -> None:
    problem = password_problem(password, user_inputs)
    if problem:
        raise ValidationError(problem, field=field)


def create_user(
    *,
    agency: Agency,
    email: str,
    first_name: str,
    last_name: str,
    role: Role | str,
    password: str,
    actor: User | None = None,
) -> User:
    """Create a professional's account in `agency` (one transaction, audited).

    Raises ValidationError (bad field), Conflict (email taken) or Forbidden (agency of another
    territory than the actor's).
    """
    email = normalise_email(email)
    first_name = (first_name or "").strip()
    last_name = (last_name or "").strip()

    if not email:
        raise ValidationError("Saisissez l'adresse électronique.", field="email")
    try:
        _email_validator(email)
    except SchemaValidationError:
        raise ValidationError(INVALID_EMAIL, field="email") from None
    if len(email) > EMAIL_MAX_LENGTH:
        raise ValidationError(INVALID_EMAIL, field="email")
    for field, value, what in (("first_name", first_name, "le prénom"), ("last_name", last_name, "le nom")):
        if not value:
            raise ValidationError(f"Saisissez {what}.", field=field)
        if len(value) > 80:
            raise ValidationError(f"{what.capitalize()} ne peut dépasser 80 caractères.", field=field)
    try:
        role = Role(role)
    except ValueError:
        raise ValidationError("Ce rôle n'existe pas.", field="role") from None
    check_new_password(password, user_inputs=_user_inputs(email, first_name, last_name))
    if not agency.is_active:
        raise ValidationError("Cette structure est désactivée.", field="agency")
    if actor is not None and actor.territory_id != agency.territory_id:
        raise Forbidden("Vous ne pouvez pas créer de compte dans une structure d'un autre territoire.")
    if find_user_by_email(email) is not None:
        raise Conflict(DUPLICATE_EMAIL, field="email")

    user = User(
        agency_id=agency.id,
        territory_id=agency.territory_id,
        email=email,
        first_name=first_name,
        last_name=last_name,
        role=role,
        password_hash=hash_password(password),
    )
    try:
        with unit_of_work() as session:
            session.add(user)
            session.flush()  # the id, for the audit event; a concurrent duplicate fails here
            record_event(
                actor,
                "user.create",
                object_type="user",
                object_id=user.id,
                territory_id=agency.territory_id,
                details={"agency_id": agency.id, "role": role.value},
            )
    except Conflict:
        raise Conflict(DUPLICATE_EMAIL, field="email") from None
    return user


# --- passwords: change, reset by e-mail ----------------------------------------------------------------

CURRENT_PASSWORD_REQUIRED = "Saisissez votre mot de passe actuel."
CURRENT_PASSWORD_WRONG = "Le mot de passe actuel est incorrect."
CONFIRMATION_REQUIRED = "Saisissez une seconde fois le nouveau mot de passe."
CONFIRMATION_MISMATCH = "La confirmation ne correspond pas au nouveau mot de passe."
SAME_PASSWORD = "Le nouveau mot de passe doit être différent de l'actuel."
RESET_LINK_INVALID = (
    "Ce lien de réinitialisation n'est plus valable : il a déjà servi, a expiré ou a été remplacé "
    "par un lien plus récent. Demandez-en un nouveau."
)


def _new_password_errors(user: User, password: str | None, confirmation: str | None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    problem = password_problem(password, _user_inputs(user.email, user.first_name, user.last_name))
    if problem:
        errors["password"] = [problem]
    if not confirmation:
        errors["password_confirmation"] = [CONFIRMATION_REQUIRED]
    elif confirmation != password:
        errors["password_confirmation"] = [CONFIRMATION_MISMATCH]
    return errors


def change_password(
    user: User,
    *,
    current_password: str | None,
    password: str | None,
    confirmation: str | None,
    now: datetime,
    keep_session_key: str | None = None,
) -> dict[str, int]:
    """Replace `user`'s password after checking the current one (one transaction, audited).

    Every other session and every API token of the user is revoked; the session whose key is
    `keep_session_key` (the one asking) stays open. A wrong current password counts as a failed
    login for the per-account throttle, so a stolen session cannot be used to guess it.
    """
    _refuse_if_throttled(user.email)
    errors = _new_password_errors(user, password, confirmation)
    if not current_password:
        errors["current_password"] = [CURRENT_PASSWORD_REQUIRED]
    elif not verify_password(user.password_hash, current_password):
        throttle.record_login_failure(user.email)
        errors = {"current_password": [CURRENT_PASSWORD_WRONG]}  # say nothing about the new one yet
    elif password == current_password and "password" not in errors:
        errors["password"] = [SAME_PASSWORD]
    if errors:
        first = next(iter(errors.values()))[0]
        raise ValidationError(first, errors=errors)
    with unit_of_work():
        user.password_hash = hash_password(password or "")
        revoked = sessions.revoke_credentials(user, now=now, keep_session_key=keep_session_key)
        record_event(user, "user.password_changed", object_type="user", object_id=user.id, at=now, details=revoked)
    return revoked


def request_password_reset(email: str, *, client: str, now: datetime, link_for: Callable[[str], str]) -> None:
    """« Mot de passe oublié » : e-mail a single-use link to the account of `email`, if any.

    The caller answers the same whatever happens here (no account, inactive account, mail server
    down), so the form does not tell which addresses have an account. Throttled per address and
    per client (TooManyAttempts). Only the link's SHA-256 is stored; a new link replaces the
    previous ones.
    """
    email = normalise_email(email)
    refusal = throttle.reset_request_refusal(email, client)
    if refusal is not None:
        raise TooManyAttempts(
            refusal.retry_after,
            "Trop de demandes de réinitialisation. Patientez avant de demander un nouveau lien.",
        )
    user = find_user_by_email(email) if email else None
    if user is None or not user.is_active_account:
        return
    token = secrets.token_urlsafe(32)
    ttl = timedelta(minutes=int(current_app.config.get("PASSWORD_RESET_TTL_MINUTES", 60)))
    with unit_of_work() as session:
        session.execute(
            sa.update(PasswordReset)
            .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
            .values(used_at=now)
        )
        reset = PasswordReset(
            user_id=user.id, token_hash=sessions.hash_key(token), created_at=now, expires_at=now + ttl
        )
        session.add(reset)
        session.flush()
        record_event(user, "user.password_reset_requested", object_type="user", object_id=user.id, at=now)
    message = reset_message(user, link_for(token), ttl)
    try:
        deliver(message)
    except Exception:  # SMTP down: logged for the administrators, the answer stays the same
        log.exception("password reset mail to user %s could not be sent", user.id)


def reset_message(user: User, link: str, ttl: timedelta) -> EmailMessage:
    minutes = int(ttl.total_seconds() // 60)
    message = EmailMessage()
    message["Subject"] = "Parcours : réinitialisation de votre mot de passe"
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = user.email
    message.set_content(
        f"Bonjour {user.first_name},\n\n"
        "Une demande de réinitialisation du mot de passe de votre compte Parcours a été faite.\n"
        f"Pour choisir un nouveau mot de passe, ouvrez ce lien dans les {minutes} minutes :\n\n"
        f"{link}\n\n"
        "Le lien ne sert qu'une fois. Si vous n'êtes pas à l'origine de cette demande, ignorez ce "
        "message : votre mot de passe actuel reste valable.\n\n"
        "— Parcours\n"
    )
    return message


def find_password_reset(token: object, *, now: datetime) -> PasswordReset | None:
    """The usable reset of this link's secret (unused, unexpired, active account), else None."""
    if not isinstance(token, str) or not token or len(token) > 200:
        return None
    reset = db.session.scalar(sa.select(PasswordReset).where(PasswordReset.token_hash == sessions.hash_key(token)))
    if reset is None or reset.used_at is not None or reset.expires_at <= now:
        return None
    if not reset.user.is_active_account:
        return None
    return reset


class InvalidResetLink(DomainError):
    status = 400
    title = "Lien expiré"

    def __init__(self) -> None:
        super().__init__(RESET_LINK_INVALID)


def reset_password(token: object, *, password: str | None, confirmation: str | None, now: datetime) -> User:
    """Set a new password through a reset link (one transaction, audited); the link is spent.

    Every session and API token of the user is revoked: whoever knew the old password is out.
    """
    reset = find_password_reset(token, now=now)
    if reset is None:
        raise InvalidResetLink()
    user = reset.user
    errors = _new_password_errors(user, password, confirmation)
    if errors:
        raise ValidationError(next(iter(errors.values()))[0], errors=errors)
    with unit_of_work():
        # Spent first, and only if still unused: two concurrent posts of one link cannot both win.
        spent = db.session.execute(
            sa.update(PasswordReset)
            .where(PasswordReset.id == reset.id, PasswordReset.used_at.is_(None))
            .values(used_at=now)
        ).rowcount
        if spent != 1:
            raise InvalidResetLink()
        user.password_hash = hash_password(password or "")
        revoked = sessions.revoke_credentials(user, now=now)
        record_event(user, "user.password_reset", object_type="user", object_id=user.id, at=now, details=revoked)
    throttle.clear_login_failures(user.email)
    return user


# --- deactivation ---------------------------------------------------------------------------------------


def deactivate_user(user: User, *, now: datetime, actor: User | None = None) -> dict[str, int]:
    """Close an account: it can no longer log in, and its open sessions and API tokens end now."""
    if actor is not None and actor.territory_id != user.territory_id:
        raise Forbidden("Vous ne pouvez pas désactiver un compte d'un autre territoire.")
    with unit_of_work():
        user.is_active_account = False
        revoked = sessions.revoke_credentials(user, now=now)
        record_event(
            actor, "user.deactivated", object_type="user", object_id=user.id,
            territory_id=user.territory_id, at=now, details=revoked,
        )
    return revoked
