"""marshmallow schemas of the follow-up feature (API answers)."""

from __future__ import annotations

from marshmallow import Schema, fields

from app.followup.models import AlertKind, AlertStatus


class AlertOutSchema(Schema):
    id = fields.Integer()
    pathway_id = fields.Integer()
    kind = fields.Enum(AlertKind, by_value=True)
    subject_key = fields.String()
    due_at = fields.DateTime()
    status = fields.Enum(AlertStatus, by_value=True)
    raised_at = fields.DateTime()
    acknowledged_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    referent_id = fields.Integer(attribute="pathway.referent_id", allow_none=True)
    lead_agency_id = fields.Integer(attribute="pathway.lead_agency_id")
