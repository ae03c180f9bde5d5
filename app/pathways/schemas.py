"""marshmallow schemas for people and pathways: one load schema per write (forms and API alike)."""
from __future__ import annotations

import re
from datetime import date

from marshmallow import ValidationError, fields, validate, validates, validates_schema

from app.pathways.models import (
    ClosureReason,
    ConsentMethod,
    ContractKind,
    EmploymentContractType,
    Orientation,
    Visibility,
)
from app.validation import BaseSchema

RIGHTS = ("rsa", "ass", "aah", "are", "prime_activite", "css", "apl", "other")
_CAF = re.compile(r"^\d{7}$")
_FT = re.compile(r"^[0-9]{7}[A-Z0-9]$")
_POSTAL = re.compile(r"^\d{5}$")
_PHONE = re.compile(r"^\+?[0-9 .()-]{8,20}$")


def _trimmed(length: int, *, required: bool = False) -> fields.String:
    return fields.String(
        required=required,
        allow_none=not required,
        validate=validate.Length(min=1 if required else 0, max=length,
                                 error=f"Entre 1 et {length} caractères." if required else f"{length} caractères au plus."),
    )


class BeneficiarySchema(BaseSchema):
    first_name = _trimmed(80, required=True)
    last_name = _trimmed(80, required=True)
    birth_name = _trimmed(80)
    birth_date = fields.Date(allow_none=True)
    email = fields.Email(allow_none=True)
    phone = fields.String(allow_none=True, validate=validate.Regexp(_PHONE, error="Numéro de téléphone invalide."))
    address = _trimmed(255)
    postal_code = fields.String(allow_none=True, validate=validate.Regexp(_POSTAL, error="Code postal à 5 chiffres."))
    city = _trimmed(120)
    caf_number = fields.String(
        allow_none=True, validate=validate.Regexp(_CAF, error="Le numéro allocataire CAF compte 7 chiffres.")
    )
    france_travail_id = fields.String(
        allow_none=True,
        validate=validate.Regexp(_FT, error="L'identifiant France Travail compte 7 chiffres suivis d'un chiffre ou d'une lettre."),
    )
    rights = fields.List(fields.String(validate=validate.OneOf(RIGHTS, error="Droit inconnu.")), load_default=list)

    @validates("birth_date")
    def _birth_date(self, value: date | None, **_: object) -> None:
        if value is None:
            return
        today = date.today()
        if value > today:
            raise ValidationError("La date de naissance ne peut pas être dans le futur.")
        if value.year < today.year - 110:
            raise ValidationError("Date de naissance invraisemblable.")


class BeneficiaryUpdateSchema(BeneficiarySchema):
    first_name = _trimmed(80)
    last_name = _trimmed(80)
    rights = fields.List(fields.String(validate=validate.OneOf(RIGHTS, error="Droit inconnu.")))


class OrientSchema(BaseSchema):
    orientation = fields.Enum(Orientation, by_value=True, required=True)
    oriented_at = fields.AwareDateTime(allow_none=True)
    note = fields.String(allow_none=True, validate=validate.Length(max=2000))


class AssignReferentSchema(BaseSchema):
    user_id = fields.Integer(required=True, strict=False)
    note = fields.String(allow_none=True, validate=validate.Length(max=4000))


class TeamMemberSchema(BaseSchema):
    agency_id = fields.Integer(required=True)


class ConsentSchema(BaseSchema):
    method = fields.Enum(ConsentMethod, by_value=True, required=True)
    given_at = fields.AwareDateTime(allow_none=True)


class ContractSchema(BaseSchema):
    kind = fields.Enum(ContractKind, by_value=True, required=True)
    signed_on = fields.Date(required=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(allow_none=True)

    @validates_schema
    def _dates(self, data: dict, **_: object) -> None:
        if data.get("ends_on") and data.get("starts_on") and data["ends_on"] < data["starts_on"]:
            raise ValidationError("La fin du contrat doit suivre son début.", field_name="ends_on")


class EntrySchema(BaseSchema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=10000, error="Entre 1 et 10 000 caractères."))
    visibility = fields.Enum(Visibility, by_value=True, required=True)
    occurred_at = fields.AwareDateTime(allow_none=True)


class EmploymentSchema(BaseSchema):
    started_on = fields.Date(required=True)
    contract_type = fields.Enum(EmploymentContractType, by_value=True, required=True)
    employer = fields.String(required=True, validate=validate.Length(min=1, max=160))
    job_title = fields.String(allow_none=True, validate=validate.Length(max=160))


class CloseSchema(BaseSchema):
    reason = fields.Enum(ClosureReason, by_value=True, required=True)
    note = fields.String(allow_none=True, validate=validate.Length(max=4000))
