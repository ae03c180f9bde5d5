"""marshmallow schemas of the administration: structures, invitations, territory settings.

One load schema per write; each carries the French `LABELS` and `HINTS` of its fields, which the
form pages show and the refusals name.
"""
from __future__ import annotations

import re
from typing import Any

from marshmallow import ValidationError as MarshmallowValidationError
from marshmallow import fields, validate, validates, validates_schema

from app.accounts.models import AgencyKind, Role
from app.validation import BaseSchema, id_field

NAME_MAX = 160
ADDRESS_MAX = 300
PERSON_NAME_MAX = 80
EMAIL_MAX = 254
SEARCH_MAX = 100

_DIGITS = re.compile(r"[0-9]+")
_PHONE = re.compile(r"\+?[0-9][0-9 .\-()]{7,24}")
LA_POSTE_SIREN = "356000000"  # La Poste's establishments: the sum of the digits is a multiple of 5


def siret_is_valid(siret: str) -> bool:
    """14 digits passing the Luhn check (La Poste's establishments have their own rule)."""
    if len(siret) != 14 or not _DIGITS.fullmatch(siret):
        return False
    if siret.startswith(LA_POSTE_SIREN) and siret != "35600000000048":  # its head office is Luhn-valid
        return sum(int(c) for c in siret) % 5 == 0
    total = 0
    for index, char in enumerate(reversed(siret)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def _required(message: str) -> dict[str, str]:
    return {"required": message, "null": message}


def _text(max_length: int, *, required: str | None = None) -> fields.String:
    too_long = f"{max_length} caractères au plus."
    if required:
        return fields.String(
            required=True, validate=validate.Length(min=1, max=max_length, error=too_long),
            error_messages=_required(required),
        )
    return fields.String(load_default=None, allow_none=True, validate=validate.Length(max=max_length, error=too_long))


# --- structures --------------------------------------------------------------------------------------

SIRET_INVALID = (
    "Le SIRET compte 14 chiffres et sa clé de contrôle doit être juste : vérifiez-le sur l'avis de "
    "situation Insee."
)
SAFIR_INVALID = "Le code SAFIR compte 5 chiffres."
SAFIR_NOT_FT = "Le code SAFIR ne concerne que les agences France Travail : laissez ce champ vide."
PHONE_INVALID = "Saisissez un numéro de téléphone valide, par exemple 01 23 45 67 89."
EMAIL_INVALID = "Saisissez une adresse électronique valide, par exemple nom@exemple.fr."


class AgencySchema(BaseSchema):
    """Create or edit a structure of the territory."""

    LABELS = {
        "name": "Nom de la structure",
        "kind": "Type de structure",
        "siret": "SIRET",
        "safir_code": "Code SAFIR",
        "address": "Adresse",
        "email": "Adresse électronique de contact",
        "phone": "Téléphone de contact",
    }
    HINTS = {
        "siret": "14 chiffres, sans espace (facultatif).",
        "safir_code": "Agences France Travail seulement : 5 chiffres (facultatif).",
        "address": "Numéro, voie, code postal et commune (facultatif).",
        "email": "Facultatif. Format attendu : nom@exemple.fr.",
        "phone": "Facultatif. Par exemple 01 23 45 67 89.",
    }

    name = _text(NAME_MAX, required="Saisissez le nom de la structure.")
    kind = fields.Enum(
        AgencyKind, by_value=True, required=True,
        error_messages={**_required("Choisissez le type de structure."), "unknown": "Choisissez un type de la liste."},
    )
    siret = fields.String(load_default=None, allow_none=True)
    safir_code = fields.String(load_default=None, allow_none=True)
    address = _text(ADDRESS_MAX)
    email = fields.Email(
        load_default=None, allow_none=True,
        validate=validate.Length(max=EMAIL_MAX, error=EMAIL_INVALID), error_messages={"invalid": EMAIL_INVALID},
    )
    phone = fields.String(load_default=None, allow_none=True)

    @validates("siret")
    def _siret(self, value: str | None, **_: Any) -> None:
        if value is not None and not siret_is_valid(value.replace(" ", "")):
            raise MarshmallowValidationError(SIRET_INVALID)

    @validates("safir_code")
    def _safir(self, value: str | None, **_: Any) -> None:
        if value is not None and not (len(value) == 5 and _DIGITS.fullmatch(value)):
            raise MarshmallowValidationError(SAFIR_INVALID)

    @validates("phone")
    def _phone(self, value: str | None, **_: Any) -> None:
        if value is not None and (not _PHONE.fullmatch(value) or len(value) > 30):
            raise MarshmallowValidationError(PHONE_INVALID)

    @validates_schema(skip_on_field_errors=False)  # said with the other fields' errors
    def _safir_for_france_travail(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("safir_code") and data.get("kind") not in (None, AgencyKind.FRANCE_TRAVAIL):
            raise MarshmallowValidationError({"safir_code": [SAFIR_NOT_FT]})


def clean_agency(data: dict[str, Any]) -> dict[str, Any]:
    """Stored forms: the SIRET without spaces, the e-mail lower-case."""
    data = dict(data)
    if data.get("siret"):
        data["siret"] = data["siret"].replace(" ", "")
    if data.get("email"):
        data["email"] = data["email"].lower()
    return data


# --- professionals -----------------------------------------------------------------------------------

class InvitationSchema(BaseSchema):
    """Invite a professional: the account is created without a password, and a link is mailed."""

    LABELS = {
        "first_name": "Prénom",
        "last_name": "Nom",
        "email": "Adresse électronique",
        "role": "Rôle",
        "agency_id": "Structure",
    }
    HINTS = {
        "email": (
            "L'invitation y est envoyée ; c'est ensuite l'identifiant de connexion. "
            "Format attendu : nom@exemple.fr."
        ),
        "role": (
            "Un·e responsable voit le pilotage de sa structure ; un·e administrateur·rice gère les "
            "comptes et les paramètres."
        ),
    }

    first_name = _text(PERSON_NAME_MAX, required="Saisissez le prénom.")
    last_name = _text(PERSON_NAME_MAX, required="Saisissez le nom.")
    email = fields.Email(
        required=True, validate=validate.Length(max=EMAIL_MAX, error=EMAIL_INVALID),
        error_messages={**_required("Saisissez l'adresse électronique."), "invalid": EMAIL_INVALID},
    )
    role = fields.Enum(
        Role, by_value=True, required=True,
        error_messages={**_required("Choisissez le rôle."), "unknown": "Choisissez un rôle de la liste."},
    )
    agency_id = id_field(required=True, error_messages={**_required("Choisissez la structure."),
                                                         "invalid": "Choisissez une structure de la liste."})


class DirectoryUploadSchema(BaseSchema):
    """« Importer des structures / des professionnels »: the file comes as an upload."""

    LABELS = {"file": "Fichier"}
    HINTS = {"file": "CSV (séparateur ; ou ,), XLSX ou ODS ; la première ligne porte les noms des colonnes."}


class SearchSchema(BaseSchema):
    """The search box of the lists (`q`)."""

    LABELS = {"q": "Rechercher"}
    q = fields.String(load_default=None, allow_none=True,
                      validate=validate.Length(max=SEARCH_MAX, error=f"{SEARCH_MAX} caractères au plus."))


# --- territory settings ------------------------------------------------------------------------------

# name → (label, minimum, maximum, unit): the bounds are the form's, the API's and the messages'.
DAY_SETTINGS: dict[str, tuple[str, int, int]] = {
    "cadence_professional_days": ("Fréquence de suivi — orientation emploi", 1, 365),
    "cadence_socio_professional_days": ("Fréquence de suivi — orientation socio-professionnelle", 1, 365),
    "cadence_social_days": ("Fréquence de suivi — orientation sociale", 1, 365),
    "grace_days": ("Délai pour renseigner un rendez-vous passé", 0, 30),
    "reschedule_days": ("Délai pour replanifier après une absence", 1, 90),
    "no_referent_days": ("Délai pour désigner un·e référent·e", 1, 365),
    "orientation_delay_days": ("Délai d'orientation", 1, 365),
    "contract_delay_days": ("Délai de signature du contrat d'engagement", 1, 365),
    "contract_ending_days": ("Préavis de fin de contrat", 1, 365),
    "referral_answer_days": ("Délai de réponse à une orientation vers un partenaire", 1, 90),
}
MONTH_SETTINGS: dict[str, tuple[str, int, int]] = {
    "retention_months": ("Conservation des dossiers après le dernier contact", 1, 120),
    "audit_retention_months": ("Conservation de la traçabilité", 12, 36),
}
CHECKIN_LABEL = "Points de suivi dans l'emploi"
CHECKIN_MAX_MONTH = 36
CHECKIN_MAX_COUNT = 6
CHECKIN_INVALID = (
    f"Saisissez de 1 à {CHECKIN_MAX_COUNT} nombres de mois entre 1 et {CHECKIN_MAX_MONTH}, "
    "séparés par des virgules, par exemple 1, 3, 6."
)
PASSWORD_LOGIN_LABEL = "Connexion par mot de passe autorisée"

# Settings the follow-up scan reads (a change of one of them re-examines every pathway).
FOLLOWUP_SETTINGS = tuple(DAY_SETTINGS)


def _bounded_integer(minimum: int, maximum: int, unit: str) -> fields.Integer:
    message = f"Saisissez un nombre de {unit} entre {minimum} et {maximum}."
    return fields.Integer(
        required=True, strict=False, validate=validate.Range(minimum, maximum, error=message),
        error_messages={**_required(message), "invalid": message, "too_large": message},
    )


class MonthList(fields.Field):
    """« 1, 3, 6 » (a form) or [1, 3, 6] (JSON): distinct months, in increasing order."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[int]:
        if isinstance(value, str):
            parts = [p.strip() for p in re.split(r"[,;\s]+", value) if p.strip()]
        elif isinstance(value, list):
            parts = value
        else:
            raise MarshmallowValidationError(CHECKIN_INVALID)
        months: list[int] = []
        for part in parts:
            if isinstance(part, bool):
                raise MarshmallowValidationError(CHECKIN_INVALID)
            if isinstance(part, int):
                month = part
            elif isinstance(part, str) and part.isascii() and part.isdigit() and len(part) <= 3:
                month = int(part)
            else:
                raise MarshmallowValidationError(CHECKIN_INVALID)
            if not 1 <= month <= CHECKIN_MAX_MONTH:
                raise MarshmallowValidationError(CHECKIN_INVALID)
            months.append(month)
        months = sorted(set(months))
        if not 1 <= len(months) <= CHECKIN_MAX_COUNT:
            raise MarshmallowValidationError(CHECKIN_INVALID)
        return months

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


class TerritorySettingsSchema(BaseSchema):
    """Every setting of the territory in one form: cadences, delays, check-ins, retention, login."""

    LABELS = {
        **{name: label for name, (label, _lo, _hi) in DAY_SETTINGS.items()},
        **{name: label for name, (label, _lo, _hi) in MONTH_SETTINGS.items()},
        "checkin_months": CHECKIN_LABEL,
        "password_login_allowed": PASSWORD_LOGIN_LABEL,
    }
    HINTS = {
        **{name: f"En jours, de {lo} à {hi}." for name, (_l, lo, hi) in DAY_SETTINGS.items()},
        **{name: f"En mois, de {lo} à {hi}." for name, (_l, lo, hi) in MONTH_SETTINGS.items()},
        "checkin_months": "Mois après le début de l'emploi, séparés par des virgules (par exemple 1, 3, 6).",
        "password_login_allowed": (
            "Décochée, les comptes du territoire ne peuvent plus se connecter avec leur mot de passe, "
            "le vôtre compris : les sessions ouvertes restent ouvertes."
        ),
    }

    cadence_professional_days = _bounded_integer(*DAY_SETTINGS["cadence_professional_days"][1:], "jours")
    cadence_socio_professional_days = _bounded_integer(*DAY_SETTINGS["cadence_socio_professional_days"][1:], "jours")
    cadence_social_days = _bounded_integer(*DAY_SETTINGS["cadence_social_days"][1:], "jours")
    grace_days = _bounded_integer(*DAY_SETTINGS["grace_days"][1:], "jours")
    reschedule_days = _bounded_integer(*DAY_SETTINGS["reschedule_days"][1:], "jours")
    no_referent_days = _bounded_integer(*DAY_SETTINGS["no_referent_days"][1:], "jours")
    orientation_delay_days = _bounded_integer(*DAY_SETTINGS["orientation_delay_days"][1:], "jours")
    contract_delay_days = _bounded_integer(*DAY_SETTINGS["contract_delay_days"][1:], "jours")
    contract_ending_days = _bounded_integer(*DAY_SETTINGS["contract_ending_days"][1:], "jours")
    referral_answer_days = _bounded_integer(*DAY_SETTINGS["referral_answer_days"][1:], "jours")
    retention_months = _bounded_integer(*MONTH_SETTINGS["retention_months"][1:], "mois")
    audit_retention_months = _bounded_integer(*MONTH_SETTINGS["audit_retention_months"][1:], "mois")
    checkin_months = MonthList(required=True, error_messages=_required(CHECKIN_INVALID))
    password_login_allowed = fields.Boolean(
        load_default=False,  # an unticked checkbox sends nothing
        truthy={"1", "on", "true", "oui", True}, falsy={"0", "off", "false", "non", False},
    )


SETTING_NAMES = tuple(TerritorySettingsSchema.LABELS)
