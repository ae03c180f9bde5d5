"""HTML form handling shared by the workspace views: parse with a schema, call one service, and
turn a refused write into French messages next to the fields.

A view builds a `FormPage`, calls `submit(schema, action)` on POST and, when it returns False,
re-renders its template with `form` (the typed values, the errors by field, the summary message)
and `form.status` (422 invalid input, 409 conflict or stale version). NotFound and Forbidden are
not caught: the error handlers answer them with the 404 / 403 pages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from flask import request
from marshmallow import Schema, validate

from app.core.timefmt import input_datetime
from app.errors import Conflict, ValidationError
from app.extensions import db
from app.validation import form_data, load

# Form keys that are not schema fields: the CSRF and single-use form tokens, the version seen, confirmations,
# the page to go back to (« retour »).
CONTROL_FIELDS = ("csrf_token", "form_token", "version", "confirm", "retour")


def _messages(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [m for v in value.values() for m in _messages(v)]
    if isinstance(value, Iterable):
        return [m for v in value for m in _messages(v)]
    return [str(value)]


def local_input(value: datetime | None) -> str:
    """An aware datetime as the value of an `<input type="datetime-local">`, Paris time."""
    return input_datetime(value)


class FormPage:
    """What a form page shows: values (typed, or defaults), errors by field, a summary message."""

    def __init__(self, defaults: dict[str, Any] | None = None, *, schema: Schema | None = None) -> None:
        self.schema = schema  # its LABELS and HINTS name the fields on the page and in refusals
        self.values: dict[str, Any] = {k: v for k, v in (defaults or {}).items()}
        self.errors: dict[str, list[str]] = {}
        self.message: str | None = None
        self.status = 200
        self.result: Any = None
        if request.method == "POST":
            for key in request.form.keys():
                if key != "csrf_token":
                    values = request.form.getlist(key)
                    self.values[key] = values if len(values) > 1 else values[0]

    @property
    def submitted(self) -> bool:
        return request.method == "POST"

    @property
    def expected_version(self) -> int | None:
        try:
            return int(request.form["version"])
        except (KeyError, ValueError):
            return None

    def label(self, name: str) -> str:
        """The field's French label, from the schema (its name when the schema has none)."""
        labels = getattr(self.schema, "LABELS", {})
        return labels.get(name, name)

    def hint(self, name: str) -> str | None:
        return getattr(self.schema, "HINTS", {}).get(name)

    def max_length(self, name: str) -> int | None:
        """The schema's longest accepted text for the field (its `validate.Length(max=…)`), so the
        page can say it before a refusal (« 500 caractères maximum ») and set `maxlength`."""
        field = getattr(self.schema, "fields", {}).get(name)
        validators = getattr(field, "validators", None) or ()
        limits = [v.max for v in validators if isinstance(v, validate.Length) and v.max is not None]
        return min(limits) if limits else None

    def get(self, name: str, default: Any = None) -> Any:
        value = self.values.get(name)
        return default if value is None else value

    def parse(
        self,
        schema: Schema,
        *,
        datetime_fields: tuple[str, ...] = (),
        list_fields: tuple[str, ...] = (),
        extra: tuple[str, ...] = (),
    ) -> dict[str, Any] | None:
        """The form validated by `schema` (control fields and `extra` left out), or None."""
        self.schema = self.schema or schema
        data = form_data(request.form, datetime_fields=datetime_fields, list_fields=list_fields)
        for key in (*CONTROL_FIELDS, *extra):
            data.pop(key, None)
        try:
            return load(schema, data)
        except ValidationError as exc:
            self.fail(exc)
            return None

    def submit(
        self,
        schema: Schema,
        action: Callable[[dict[str, Any]], Any],
        *,
        datetime_fields: tuple[str, ...] = (),
        list_fields: tuple[str, ...] = (),
        extra: tuple[str, ...] = (),
    ) -> bool:
        """Validate, then run `action(data)` (one service call). False if anything was refused."""
        data = self.parse(schema, datetime_fields=datetime_fields, list_fields=list_fields, extra=extra)
        if data is None:
            return False
        return self.run(lambda: action(data))

    def run(self, action: Callable[[], Any]) -> bool:
        try:
            self.result = action()
        except (ValidationError, Conflict) as exc:
            self.fail(exc)
            return False
        return True

    def errors_text(self) -> str:
        """The refusal in one sentence, each message after its field's French name (for a flash)."""
        parts = [f"{self.label(name)} : {message}" for name, messages in self.errors.items()
                 for message in messages]
        return " ".join(parts) or self.message or ""

    def fail(self, exc: ValidationError | Conflict) -> None:
        db.session.rollback()  # nothing half-written (the service already rolled back its own)
        self.errors = {str(k): _messages(v) for k, v in (exc.errors or {}).items()}
        if isinstance(exc, Conflict):
            self.status = 409
            self.message = exc.message
        else:
            self.status = 422
            self.message = "Le formulaire contient des erreurs : corrigez les champs signalés."
            if not self.errors:
                self.message = exc.message
