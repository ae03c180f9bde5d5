"""Accounts operations: authenticate a professional, create an account. One transaction each."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from marshmallow import ValidationError as SchemaValidationError
from marshmallow import validate
from sqlalchemy.exc import IntegrityError

from app.accounts.models import Agency, Role, User
from app.accounts.passwords import (
    DUMMY_HASH,
    MIN_PASSWORD_LENGTH,
    hash_password,
    needs_rehash,
    verify_password,
)
from app.accounts.schemas import EMAIL_MAX_LENGTH, INVALID_EMAIL
from app.audit.services import record_event
from app.errors import Conflict, Forbidden, ValidationError
from app.extensions import db

_email_validator = validate.Email(error=INVALID_EMAIL)

DUPLICATE_EMAIL = "Un compte existe déjà avec cette adresse électronique."


def normalise_email(email: str | None) -> str:
    return (email or "").strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == normalise_email(email)))


def authenticate(email: str, password: str, now: datetime) -> User | None:
    """The user these credentials belong to, or None — without telling why.

    An unknown email still costs one Argon2 verification (against DUMMY_HASH), so response time
    does not reveal which addresses have an account. Inactive accounts are refused after the
    verification, for the same reason.
    """
    user = find_user_by_email(email) if email else None
    if user is None:
        verify_password(DUMMY_HASH, password or "")
        return None
    if not verify_password(user.password_hash, password or ""):
        record_event(user, "user.login_failed", object_type="user", object_id=user.id, at=now)
        db.session.commit()
        return None
    if not user.is_active_account:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    record_event(user, "user.login", object_type="user", object_id=user.id, at=now)
    db.session.commit()
    return user


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
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"Le mot de passe doit comporter au moins {MIN_PASSWORD_LENGTH} caractères.", field="password"
        )
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
    db.session.add(user)
    try:
        db.session.flush()  # the id, for the audit event; a concurrent duplicate fails here
        record_event(
            actor,
            "user.create",
            object_type="user",
            object_id=user.id,
            territory_id=agency.territory_id,
            details={"agency_id": agency.id, "role": role.value},
        )
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(DUPLICATE_EMAIL, field="email") from None
    return user
