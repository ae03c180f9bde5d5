"""The « Mes notifications » form of « Mon compte » (the one validation layer for it)."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from app.notifications.models import NotificationEvent

DIGEST_LABELS = {"daily": "Chaque matin, la liste de mes alertes",
                 "immediate": "Dès qu'une alerte apparaît, un courriel par alerte (pas de récapitulatif)",
                 "none": "Jamais"}
# The events a professional may turn off one by one (alerts follow the choice above).
EVENT_CODES = [event.value for event in NotificationEvent if event != NotificationEvent.ALERT_RAISED]
DIGEST_CHOICE = ("Récapitulatif quotidien des alertes : choisissez « Chaque matin », « Dès qu'une alerte "
                 "apparaît » ou « Jamais ».")


class NotificationPreferencesSchema(Schema):
    """`alert_digest`: the daily digest or none; `events`: the notifications kept on (a checkbox each)."""

    LABELS = {"alert_digest": "Récapitulatif quotidien des alertes", "events": "Messages à recevoir"}

    class Meta:
        unknown = EXCLUDE  # the form's CSRF and single-use tokens

    alert_digest = fields.String(
        required=True,
        validate=validate.OneOf(list(DIGEST_LABELS), error=DIGEST_CHOICE),
        error_messages={"required": DIGEST_CHOICE, "null": DIGEST_CHOICE,
                        "invalid": "Récapitulatif quotidien des alertes : choix invalide."},
    )
    events = fields.List(
        fields.String(validate=validate.OneOf(EVENT_CODES, error="Messages à recevoir : choix inconnu.")),
        load_default=list,
        error_messages={"invalid": "Messages à recevoir : choix invalide."},
    )
