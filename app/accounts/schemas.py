"""marshmallow schemas of the accounts feature: the one validation layer for forms and API."""
from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, fields, pre_load, validate

EMAIL_MAX_LENGTH = 254
PASSWORD_MAX_LENGTH = 1024  # far above any real password; bounds the cost of hashing garbage

REQUIRED_EMAIL = "Saisissez votre adresse électronique."
INVALID_EMAIL = "Saisissez une adresse électronique valide, par exemple nom@exemple.fr."
REQUIRED_PASSWORD = "Saisissez votre mot de passe."


class LoginSchema(Schema):
    """The login form (and, later, a token request). Extra fields such as csrf_token are ignored."""

    class Meta:
        unknown = EXCLUDE

    email = fields.Email(
        required=True,
        validate=validate.Length(max=EMAIL_MAX_LENGTH, error=INVALID_EMAIL),
        error_messages={"required": REQUIRED_EMAIL, "null": REQUIRED_EMAIL, "invalid": INVALID_EMAIL},
    )
    password = fields.String(
        required=True,
        validate=validate.Length(min=1, max=PASSWORD_MAX_LENGTH, error=REQUIRED_PASSWORD),
        error_messages={
            "required": REQUIRED_PASSWORD,
            "null": REQUIRED_PASSWORD,
            "invalid": REQUIRED_PASSWORD,
        },
    )

    @pre_load
    def _clean(self, data: Any, **_kwargs: Any) -> Any:
        # An empty field is a missing one (so the "required" message shows); emails are trimmed
        # and compared lower-case. Passwords are taken exactly as typed.
        if not isinstance(data, dict):
            return data
        data = dict(data)
        email = data.get("email")
        if isinstance(email, str):
            email = email.strip().lower()
            if email:
                data["email"] = email
            else:
                data.pop("email")
        if data.get("password") == "":
            data.pop("password")
        return data


class TokenRequestSchema(Schema):
    """POST /api/v1/tokens. Unlike the login form, unknown fields are refused."""

    class Meta:
        unknown = RAISE

    email = fields.String(
        required=True,
        validate=validate.Length(min=1, max=EMAIL_MAX_LENGTH, error=INVALID_EMAIL),
        error_messages={"required": REQUIRED_EMAIL, "null": REQUIRED_EMAIL, "invalid": INVALID_EMAIL},
    )
    password = fields.String(
        required=True,
        validate=validate.Length(min=1, max=PASSWORD_MAX_LENGTH, error=REQUIRED_PASSWORD),
        error_messages={"required": REQUIRED_PASSWORD, "null": REQUIRED_PASSWORD, "invalid": REQUIRED_PASSWORD},
    )


def _optional_password(error: str = "Le mot de passe ne peut dépasser 1024 caractères.") -> fields.String:
    # Optional here: the service says which one is missing, with the field's own message.
    return fields.String(
        load_default=None,
        validate=validate.Length(max=PASSWORD_MAX_LENGTH, error=error),
        error_messages={"invalid": "Saisissez un mot de passe."},
    )


class PasswordChangeSchema(Schema):
    """« Mon mot de passe »: the current one, the new one twice. Extra fields are ignored."""

    class Meta:
        unknown = EXCLUDE

    current_password = _optional_password()
    password = _optional_password()
    password_confirmation = _optional_password()


class PasswordResetSchema(Schema):
    """The form behind a reset link: the new password twice."""

    class Meta:
        unknown = EXCLUDE

    password = _optional_password()
    password_confirmation = _optional_password()


class PasswordResetRequestSchema(Schema):
    """« Mot de passe oublié ? »: the e-mail address of the account."""

    class Meta:
        unknown = EXCLUDE

    email = LoginSchema._declared_fields["email"]

    @pre_load
    def _clean(self, data: Any, **_kwargs: Any) -> Any:
        return LoginSchema._clean(self, data)


class TokenOutSchema(Schema):
    token = fields.String(metadata={"description": "Shown once: send it as `Authorization: Bearer <token>`."})
    expires_at = fields.DateTime()


PROCONNECT_PARAM_MAX_LENGTH = 2048
PROCONNECT_PARAM_INVALID = "La réponse de ProConnect est illisible (paramètre « {name} » trop long ou invalide)."


def _proconnect_param(name: str) -> fields.String:
    message = PROCONNECT_PARAM_INVALID.format(name=name)
    return fields.String(
        load_default="",
        validate=validate.Length(max=PROCONNECT_PARAM_MAX_LENGTH, error=message),
        error_messages={"invalid": message, "null": message},
    )


class ProConnectCallbackSchema(Schema):
    """The query ProConnect sends the browser back with; other parameters (iss…) are ignored."""

    class Meta:
        unknown = EXCLUDE

    state = _proconnect_param("state")
    code = _proconnect_param("code")
    error = _proconnect_param("error")
