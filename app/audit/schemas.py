"""marshmallow schemas of the audit trail (API answers). Events hold no note content."""

from __future__ import annotations

from marshmallow import Schema, fields


class AuditEventOutSchema(Schema):
    id = fields.Integer()
    occurred_at = fields.DateTime()
    actor_id = fields.Integer(allow_none=True)
    actor_agency_id = fields.Integer(allow_none=True)
    action = fields.String()
    object_type = fields.String()
    object_id = fields.Integer(allow_none=True)
    details = fields.Dict()
