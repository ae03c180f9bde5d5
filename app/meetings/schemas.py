"""marshmallow load schemas for meetings (the same for form posts and API payloads)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from marshmallow.experimental.context import Context

from app import access
from app.meetings.models import Meeting, MeetingChannel, MeetingKind, MeetingStatus
from app.pathways.models import Visibility
from app.validation import BaseSchema, id_field

RECORDABLE = [MeetingStatus.HELD.value, MeetingStatus.MISSED.value]


class PlanMeetingSchema(BaseSchema):
    LABELS = {
        "scheduled_at": "Date et heure",
        "channel": "Modalité",
        "duration_minutes": "Durée en minutes",
        "location": "Lieu",
    }
    HINTS = {
        "scheduled_at": "Heure de Paris.",
        "location": "Par exemple : agence, salle, adresse du partenaire.",
    }

    scheduled_at = fields.AwareDateTime(required=True, default_timezone=None)
    channel = fields.Enum(MeetingChannel, by_value=True, load_default=MeetingChannel.IN_PERSON)
    duration_minutes = fields.Integer(load_default=45, validate=validate.Range(5, 480, error="Entre 5 et 480 minutes."))
    location = fields.String(allow_none=True, validate=validate.Length(max=255))


class LogMeetingSchema(BaseSchema):
    """« Saisir un entretien »: held or missed, notes with their visibility, and the next one."""
    LABELS = {
        "status": "Déroulement",
        "held_at": "Date et heure de l'entretien",
        "channel": "Modalité",
        "notes": "Compte rendu",
        "notes_visibility": "Qui peut lire ce compte rendu ?",
        "next_at": "Date et heure du prochain rendez-vous",
        "next_channel": "Modalité du prochain rendez-vous",
        "meeting_id": "Cet entretien est-il le rendez-vous prévu ?",
    }
    HINTS = {
        "held_at": "Heure de Paris.",
        "notes": "Faits, démarches engagées, décisions prises avec la personne.",
        "notes_visibility": (
            "Les partenaires de l'équipe ne voient que la date et le statut, sauf si vous choisissez "
            "« Équipe de suivi »."
        ),
        "next_at": "Facultatif, mais un suivi sans rendez-vous planifié finit en alerte.",
    }


    status = fields.String(
        required=True, validate=validate.OneOf(RECORDABLE, error="Indiquez « honoré » ou « absent ».")
    )
    held_at = fields.AwareDateTime(required=True)
    channel = fields.Enum(MeetingChannel, by_value=True, load_default=MeetingChannel.IN_PERSON)
    notes = fields.String(allow_none=True, validate=validate.Length(max=10000), metadata={"multiline": True})
    notes_visibility = fields.Enum(Visibility, by_value=True, load_default=Visibility.AGENCY)
    next_at = fields.AwareDateTime(allow_none=True)
    next_channel = fields.Enum(MeetingChannel, by_value=True, allow_none=True)
    meeting_id = id_field(allow_none=True, metadata={
        "description": "The planned meeting of the pathway this one is (it is then recorded); "
                       "without it, one planned the same day, or a new meeting."})


class RecordMeetingSchema(BaseSchema):
    status = fields.String(
        required=True, validate=validate.OneOf(RECORDABLE, error="Indiquez « honoré » ou « absent ».")
    )
    notes = fields.String(allow_none=True, validate=validate.Length(max=10000), metadata={"multiline": True})
    notes_visibility = fields.Enum(Visibility, by_value=True, load_default=Visibility.AGENCY)
    held_at = fields.AwareDateTime(allow_none=True)


class UpdateMeetingSchema(BaseSchema):
    """API PATCH: status (held / missed / cancelled), notes, time."""

    status = fields.String(
        validate=validate.OneOf([*RECORDABLE, MeetingStatus.CANCELLED.value], error="Statut invalide.")
    )
    notes = fields.String(allow_none=True, validate=validate.Length(max=10000), metadata={"multiline": True})
    notes_visibility = fields.Enum(Visibility, by_value=True)
    scheduled_at = fields.AwareDateTime()
    cancellation_reason = fields.String(allow_none=True, validate=validate.Length(max=255))

    openapi_constraints = {"minProperties": 1}  # `_something`, for the OpenAPI document

    @validates_schema
    def _something(self, data: dict, **_: object) -> None:
        if not data:
            raise ValidationError("Aucune modification demandée.")


class RescheduleMeetingSchema(BaseSchema):
    """« Déplacer le rendez-vous »: the new time of a planned meeting."""

    LABELS = {"scheduled_at": "Nouvelle date et heure"}
    HINTS = {"scheduled_at": "Heure de Paris."}

    scheduled_at = fields.AwareDateTime(required=True, default_timezone=None)


class QuickRecordSchema(BaseSchema):
    """« À renseigner »: present, absent or cancelled, in one click from the meetings tab."""

    LABELS = {"status": "Déroulement"}

    status = fields.String(
        required=True,
        validate=validate.OneOf([*RECORDABLE, MeetingStatus.CANCELLED.value],
                                error="Indiquez « Présent », « Absent » ou « Annulé »."),
    )


class CancelMeetingSchema(BaseSchema):
    LABELS = {
        "reason": "Motif de l'annulation",
    }

    reason = fields.String(allow_none=True, validate=validate.Length(max=255))


# --- API: dump schemas -----------------------------------------------------------------------------


class MeetingOutSchema(Schema):
    """A meeting. `notes` are null unless the reader may see them (`access.can_see_meeting_notes`);
    pass {"user": reader} in `Context`, and optionally {"visible_notes": ids} computed in one query."""

    id = fields.Integer()
    pathway_id = fields.Integer()
    kind = fields.Enum(MeetingKind, by_value=True)
    status = fields.Enum(MeetingStatus, by_value=True)
    scheduled_at = fields.DateTime()
    duration_minutes = fields.Integer()
    channel = fields.Enum(MeetingChannel, by_value=True)
    location = fields.String(allow_none=True)
    notes = fields.Method("_notes", metadata={"type": "string", "nullable": True})
    notes_visibility = fields.Enum(Visibility, by_value=True)
    organizer_id = fields.Integer()
    agency_id = fields.Integer()
    recorded_at = fields.DateTime(allow_none=True)
    recorded_by_id = fields.Integer(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    cancellation_reason = fields.String(allow_none=True)
    version = fields.Integer()

    def _notes(self, meeting: Meeting) -> str | None:

        context = Context.get({})
        if "visible_notes" in context:
            visible = meeting.id in context["visible_notes"]
        else:
            visible = access.can_see_meeting_notes(context.get("user"), meeting, meeting.pathway)
        return meeting.notes if visible else None
