"""marshmallow, the one validation layer for API payloads and form posts, speaking French."""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, ClassVar

from marshmallow import EXCLUDE, RAISE, Schema, fields, pre_load, validate, validates_schema
from marshmallow import ValidationError as MarshmallowValidationError

from app.core.timefmt import PARIS, paris_today, short_date
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
    fields.Time: {"invalid": "Heure invalide (format attendu : HH:MM).", "format": "Heure invalide."},
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


# --- what a stored value may be (DESIGN §3.8: bad input is a 4xx naming the field, never a 500) ---

MAX_ID = 2_147_483_647  # PostgreSQL INTEGER: larger ids cannot exist, and would not even bind

BAD_TEXT = "Caractères non autorisés (caractères de contrôle)."
# Control characters have no place in what people type; PostgreSQL cannot even store NUL. Multi-line
# notes (fields with `metadata={"multiline": True}`, the textareas) keep tab and line breaks.
MULTILINE_ALLOWED = frozenset("\t\n\r")


# Exactly the categories Cc (U+0000–U+001F, U+007F–U+009F) and Cs (surrogates), as one regex: an
# import checks millions of cells, and a regex scan costs a fraction of a category look-up per char.
_CONTROL_OR_SURROGATE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def bad_text(value: str, *, multiline: bool = False) -> bool:
    """True if `value` holds a control character (or a lone surrogate, which cannot be stored)."""
    if _CONTROL_OR_SURROGATE.search(value) is None:
        return False
    allowed = MULTILINE_ALLOWED if multiline else frozenset()
    return any(found.group() not in allowed for found in _CONTROL_OR_SURROGATE.finditer(value))


def _bad_value(value: Any, *, multiline: bool) -> bool:
    if isinstance(value, str):
        return bad_text(value, multiline=multiline)
    if isinstance(value, Mapping):
        return any(_bad_value(k, multiline=False) or _bad_value(v, multiline=multiline) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_bad_value(v, multiline=multiline) for v in value)
    return False


# Date bounds, by kind of date (`metadata={"dates": kind}` on a Date / DateTime field; "event" by
# default). The same for forms and API, since both load the same schema, and the OpenAPI document
# states them (a year pattern). Beyond them a date is a typing mistake, and some (year 1, year
# 9999) cannot even be shifted to UTC or given a duration.
#   birth: 1900-01-01 .. today (a person's birth date: never in the future)
#   event: 1990-01-01 .. 31 December, five years from now (meetings, decisions, consents,
#          contracts, notes, employment, due dates: the life of a pathway, planned ahead)
# A date-time is judged by the date it is written with (its own offset).
DATE_KINDS = ("birth", "event")
EARLIEST = {"birth": date(1900, 1, 1), "event": date(1990, 1, 1)}
EVENT_YEARS_AHEAD = 5


def date_bounds(kind: str, *, today: date | None = None) -> tuple[date, date]:
    """The first and last date a field of this kind accepts."""
    if kind not in DATE_KINDS:
        raise ValueError(f"unknown kind of date: {kind!r}")
    today = today or paris_today()
    if kind == "birth":
        return EARLIEST["birth"], today
    return EARLIEST["event"], date(today.year + EVENT_YEARS_AHEAD, 12, 31)


def _date_error(kind: str, value: date | datetime, earliest: date, latest: date) -> str:
    if kind == "birth":
        if _day(value) > latest:
            return "La date de naissance ne peut pas être dans le futur."
        return f"Date de naissance invraisemblable : au plus tôt le {short_date(earliest)}."
    return f"Date hors limites : entre le {short_date(earliest)} et le {short_date(latest)}."


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _out_of_bounds(value: date | datetime, earliest: date, latest: date) -> bool:
    return not earliest <= _day(value) <= latest


class BaseSchema(Schema):
    """Unknown fields are refused; messages are French; text without control characters; dates
    within the bounds of their kind (`date_bounds`)."""

    # French labels and hints of the fields, by name: the form pages render them (`form_input`…),
    # and refusals name the field with them. Declared by each schema for its own fields.
    LABELS: ClassVar[dict[str, str]] = {}
    HINTS: ClassVar[dict[str, str]] = {}

    @classmethod
    def label_of(cls, name: str) -> str:
        return cls.LABELS.get(name, name)

    @classmethod
    def hint_of(cls, name: str) -> str | None:
        return cls.HINTS.get(name)

    class Meta:
        unknown = RAISE

    @pre_load
    def _clean_input(self, data: Any, **_: Any) -> Any:
        """Refuse control characters (naming the field), then trim text: a blank form field means
        "no value" (so required fields say so)."""
        if not isinstance(data, Mapping):
            return data
        errors: dict[str, list[str]] = {}
        cleaned = {}
        for key, value in data.items():
            field = self.fields.get(key) if isinstance(key, str) else None
            multiline = bool(field is not None and field.metadata.get("multiline"))
            if not isinstance(key, str) or bad_text(key):
                errors["_schema"] = [BAD_TEXT]
                continue
            if _bad_value(value, multiline=multiline):
                errors[key] = [BAD_TEXT]
                continue
            if isinstance(value, str):
                value = value.strip() or None
            cleaned[key] = value
        if errors:
            raise MarshmallowValidationError(errors)
        return cleaned

    @validates_schema(skip_on_field_errors=False)  # reported with the other fields' errors
    def _dates_within_bounds(self, data: dict[str, Any], **_: Any) -> None:
        errors: dict[str, list[str]] = {}
        for name, value in data.items():
            field = self.fields.get(name)
            if not isinstance(field, (fields.Date, fields.DateTime)) or not isinstance(value, (date, datetime)):
                continue
            kind = field.metadata.get("dates", "event")
            earliest, latest = date_bounds(kind)
            if _out_of_bounds(value, earliest, latest):
                errors[field.data_key or name] = [_date_error(kind, value, earliest, latest)]
        if errors:
            raise MarshmallowValidationError(errors)


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


# --- ids and page numbers in query strings (HTML and API alike) ----------------------------------

MAX_PAGE = 100_000
MAX_PER_PAGE = 100


def parse_id(value: Any) -> int | None:
    """An id typed in a query string or a form (`"12"`), or None when it cannot be one: no
    exception, and never a number that would overflow the database's INTEGER."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.isascii() and value.strip().isdigit() and len(value.strip()) <= 10:
        number = int(value.strip())
    else:
        return None
    return number if 1 <= number <= MAX_ID else None


def id_field(**kwargs: Any) -> fields.Integer:
    """An id in a payload or query string: bounded, so it always binds to an INTEGER column."""
    return fields.Integer(validate=validate.Range(1, MAX_ID, error="Identifiant invalide."), **kwargs)


class PageQuerySchema(BaseSchema):
    """`page` and `per_page`: the one parser of page parameters, for the API's lists and the HTML
    pages (`page_number`)."""

    page = fields.Integer(
        load_default=1, validate=validate.Range(1, MAX_PAGE, error="Numéro de page entre 1 et 100 000.")
    )
    per_page = fields.Integer(
        load_default=25,
        validate=validate.Range(1, MAX_PER_PAGE, error=f"Nombre d'éléments par page entre 1 et {MAX_PER_PAGE}."),
    )


def page_number(args: Mapping[str, Any]) -> int:
    """The `page` of an HTML list (other query parameters are the page's own): 422 naming `page`
    when it is not a number between 1 and MAX_PAGE."""
    schema = PageQuerySchema(only=("page",), unknown=EXCLUDE)
    return load(schema, {"page": args["page"]} if "page" in args else {})["page"]


def form_data(form: Any, *, datetime_fields: tuple[str, ...] = (), list_fields: tuple[str, ...] = ()) -> dict[str, Any]:
    """A posted HTML form as a dict for a schema.

    `<input type="datetime-local">` sends wall-clock time without offset: the user means Paris
    time, so those fields get the Paris offset of that date (summer or winter). The API, by
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
