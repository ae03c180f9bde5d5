"""marshmallow, the one validation layer for API payloads and form posts, speaking French."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from marshmallow import RAISE, Schema, fields, pre_load
from marshmallow import ValidationError as MarshmallowValidationError

from app.errors import ValidationError

_FRENCH_MESSAGES: dict[type[fields.Field], dict[str, str]] = {
    fields.Field: {
        "required": "Ce champ est obligatoire.",
        "null": "Ce champ est obligatoire.",
        "validator_failed": "Valeur invalide.",
    },
    fields.String: {"invalid": "Texte invalide.", "invalid_utf8": "Texte invalide."},
    fields.Integer: {"invalid": "Nombre entier attendu.", "too_large": "Nombre trop grand."},
    fields.Boolean: {"invalid": "Valeur oui/non attendue."},
    fields.Date: {"invalid": "Date invalide (format attendu : AAAA-MM-JJ).", "format": "Date invalide."},
    fields.DateTime: {
        "invalid": "Date et heure invalides (format attendu : AAAA-MM-JJTHH:MM).",
        "invalid_awareness": "Date et heure invalides.",
        "format": "Date et heure invalides.",
    },
    fields.Email: {"invalid": "Adresse électronique invalide."},
    fields.Enum: {"unknown": "Choix invalide."},
    fields.List: {"invalid": "Liste attendue."},
    fields.Nested: {"type": "Objet attendu."},
}
for _field_cls, _messages in _FRENCH_MESSAGES.items():
    _field_cls.default_error_messages = {**_field_cls.default_error_messages, **_messages}

Schema.error_messages = {
    "unknown": "Champ inconnu.",
    "type": "Données invalides.",
}


class BaseSchema(Schema):
    """Unknown fields are refused; messages are French."""

    class Meta:
        unknown = RAISE

    @pre_load
    def _strip_blanks(self, data: Any, **_: Any) -> Any:
        """Trim text; a blank form field means "no value" (so required fields say so)."""
        if not isinstance(data, Mapping):
            return data
        cleaned = {}
        for key, value in data.items():
            if isinstance(value, str):
                value = value.strip() or None
            cleaned[key] = value
        return cleaned


def load(schema: Schema, data: Mapping[str, Any] | Any, **kwargs: Any) -> Any:
    """Validate `data` with `schema`, raising our `ValidationError` naming each field."""
    try:
        return schema.load(data, **kwargs)
    except MarshmallowValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        first_field = next(iter(messages), None)
        raise ValidationError(
            "Certains champs sont invalides : " + ", ".join(str(k) for k in messages) + ".",
            errors=messages,
            field=first_field if first_field != "_schema" else None,
        ) from exc


PARIS = ZoneInfo("Europe/Paris")


def form_data(form: Any, *, datetime_fields: tuple[str, ...] = (), list_fields: tuple[str, ...] = ()) -> dict[str, Any]:
    """A posted HTML form as a dict for a schema.

    `<input type="datetime-local">` sends wall-clock time without offset: the user means Paris
    time, so those fields get the Europe/Paris offset of that date (summer or winter). The API, by
    contrast, requires an explicit offset.
    """
    data: dict[str, Any] = {}
    for key in form.keys():
        if key == "csrf_token":
            continue
        data[key] = form.getlist(key) if key in list_fields else form.get(key)
    for name in datetime_fields:
        value = data.get(name)
        if isinstance(value, str) and value.strip():
            try:
                parsed = datetime.fromisoformat(value.strip())
            except ValueError:
                continue  # the schema reports it, naming the field
            if parsed.tzinfo is None:
                data[name] = parsed.replace(tzinfo=PARIS).isoformat()
    return data
