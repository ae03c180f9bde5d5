"""marshmallow load schemas for barriers and referrals (forms and API alike)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.barriers.models import BarrierCategory, BarrierStatus, DeclineReason, ReferralStatus
from app.validation import BaseSchema, id_field


class BarrierSchema(BaseSchema):
    LABELS = {
        "category": "Thème",
        "title": "Intitulé",
        "description": "Description",
        "owner_agency_id": "Structure qui porte le frein",
        "due_on": "Échéance",
    }
    HINTS = {
        "title": "En quelques mots, par exemple : « Pas de permis de conduire ».",
    }

    category = fields.Enum(BarrierCategory, by_value=True, required=True)
    title = fields.String(required=True, validate=validate.Length(min=1, max=160, error="Entre 1 et 160 caractères."))
    description = fields.String(allow_none=True, validate=validate.Length(max=4000), metadata={"multiline": True})
    owner_agency_id = id_field(allow_none=True)
    due_on = fields.Date(allow_none=True)


class BarrierUpdateSchema(BaseSchema):
    LABELS = {
        "status": "Statut",
        "category": "Thème",
        "title": "Intitulé",
        "description": "Description",
        "owner_agency_id": "Structure qui porte le frein",
        "due_on": "Échéance",
    }

    category = fields.Enum(BarrierCategory, by_value=True)
    title = fields.String(validate=validate.Length(min=1, max=160, error="Entre 1 et 160 caractères."))
    description = fields.String(allow_none=True, validate=validate.Length(max=4000), metadata={"multiline": True})
    owner_agency_id = id_field()
    due_on = fields.Date(allow_none=True)
    status = fields.Enum(BarrierStatus, by_value=True)

    openapi_constraints = {"minProperties": 1}  # `_something`, for the OpenAPI document

    @validates_schema
    def _something(self, data: dict, **_: object) -> None:
        if not data:
            raise ValidationError("Aucune modification demandée.")


class ReferralSchema(BaseSchema):
    LABELS = {
        "agency_id": "Structure partenaire",
        "message": "Message pour le partenaire",
    }
    HINTS = {
        "message": "Ce qui est attendu du partenaire. La personne peut lire ce message (droit d'accès).",
    }

    agency_id = id_field(required=True)
    message = fields.String(allow_none=True, validate=validate.Length(max=4000), metadata={"multiline": True})


class ReferralAnswerSchema(BaseSchema):
    LABELS = {
        "accept": "Votre réponse",
        "decline_reason": "Motif du refus",
        "comment": "Commentaire pour le référent",
    }
    HINTS = {
        "decline_reason": "Obligatoire en cas de refus.",
    }

    accept = fields.Boolean(required=True)
    decline_reason = fields.Enum(DeclineReason, by_value=True, allow_none=True)
    comment = fields.String(allow_none=True, validate=validate.Length(max=4000), metadata={"multiline": True})

    # `_reason_when_declined`, for the OpenAPI document: accepted, or declined with a reason.
    openapi_constraints = {
        "anyOf": [
            {"properties": {"accept": {"enum": [True]}}},
            {"required": ["decline_reason"], "properties": {"decline_reason": {"type": "string"}}},
        ]
    }

    @validates_schema
    def _reason_when_declined(self, data: dict, **_: object) -> None:
        if data.get("accept") is False and not data.get("decline_reason"):
            raise ValidationError("Indiquez le motif du refus.", field_name="decline_reason")


# --- API: dump schemas -----------------------------------------------------------------------------


class ReferralOutSchema(Schema):
    id = fields.Integer()
    barrier_id = fields.Integer()
    agency_id = fields.Integer()
    status = fields.Enum(ReferralStatus, by_value=True)
    message = fields.String(allow_none=True)
    sent_at = fields.DateTime()
    sent_by_id = fields.Integer()
    answered_at = fields.DateTime(allow_none=True)
    decline_reason = fields.Enum(DeclineReason, by_value=True, allow_none=True)
    answer_comment = fields.String(allow_none=True)
    version = fields.Integer()


class BarrierOutSchema(Schema):
    id = fields.Integer()
    pathway_id = fields.Integer()
    category = fields.Enum(BarrierCategory, by_value=True)
    title = fields.String()
    description = fields.String(allow_none=True)
    owner_agency_id = fields.Integer()
    due_on = fields.Date(allow_none=True)
    status = fields.Enum(BarrierStatus, by_value=True)
    lifted_at = fields.DateTime(allow_none=True)
    created_by_id = fields.Integer()
    referrals = fields.Nested(ReferralOutSchema, many=True)
    version = fields.Integer()
