"""marshmallow load schemas for meetings (the same for form posts and API payloads)."""
from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from app.meetings.models import MeetingChannel, MeetingStatus
from app.pathways.models import Visibility
from app.validation import BaseSchema

RECORDABLE = [MeetingStatus.HELD.value, MeetingStatus.MISSED.value]


class PlanMeetingSchema(BaseSchema):
    scheduled_at = fields.AwareDateTime(required=True, default_timezone=None)
    channel = fields.Enum(MeetingChannel, by_value=True, load_default=MeetingChannel.IN_PERSON)
    duration_minutes = fields.Integer(load_default=45, validate=validate.Range(5, 480, error="Entre 5 et 480 minutes."))
    location = fields.String(allow_none=True, validate=validate.Length(max=255))


class LogMeetingSchema(BaseSchema):
    """« Saisir un entretien »: held or missed, notes with their visibility, and the next one."""

    status = fields.String(required=True, validate=validate.OneOf(RECORDABLE, error="Indiquez « honoré » ou « absent »."))
    held_at = fields.AwareDateTime(required=True)
    channel = fields.Enum(MeetingChannel, by_value=True, load_default=MeetingChannel.IN_PERSON)
    notes = fields.String(allow_none=True, validate=validate.Length(max=10000))
    notes_visibility = fields.Enum(Visibility, by_value=True, load_default=Visibility.AGENCY)
    next_at = fields.AwareDateTime(allow_none=True)
    next_channel = fields.Enum(MeetingChannel, by_value=True, allow_none=True)


class RecordMeetingSchema(BaseSchema):
    status = fields.String(required=True, validate=validate.OneOf(RECORDABLE, error="Indiquez « honoré » ou « absent »."))
    notes = fields.String(allow_none=True, validate=validate.Length(max=10000))
    notes_visibility = fields.Enum(Visibility, by_value=True, load_default=Visibility.AGENCY)
    held_at = fields.AwareDateTime(allow_none=True)


class UpdateMeetingSchema(BaseSchema):
    """API PATCH: status (held / missed / cancelled), notes, time."""

    status = fields.String(validate=validate.OneOf([*RECORDABLE, MeetingStatus.CANCELLED.value], error="Statut invalide."))
    notes = fields.String(allow_none=True, validate=validate.Length(max=10000))
    notes_visibility = fields.Enum(Visibility, by_value=True)
    scheduled_at = fields.AwareDateTime()
    cancellation_reason = fields.String(allow_none=True, validate=validate.Length(max=255))

    @validates_schema
    def _something(self, data: dict, **_: object) -> None:
        if not data:
            raise ValidationError("Aucune modification demandée.")


class CancelMeetingSchema(BaseSchema):
    reason = fields.String(allow_none=True, validate=validate.Length(max=255))
