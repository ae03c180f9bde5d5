"""URL converters shared by the HTML routes and the API.

`<id:pathway_id>` matches digits and answers 404 for any value that cannot be an object's id (0,
or beyond PostgreSQL's INTEGER): werkzeug's `int(min=1, max=…)` refuses them as "no match", which
turns into a 405 when the same path has a rule for another method, and `int` without `max` lets
2**63 reach the database, which raises. Non-digits ("abc", "-1") match no rule: 404 as well.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.exceptions import NotFound
from werkzeug.routing import BaseConverter

from app.validation import MAX_ID


class IdConverter(BaseConverter):
    regex = r"\d+"
    part_isolating = True

    def to_python(self, value: str) -> int:
        # Called only once the rule and its method matched: NotFound here is the answer, never 405.
        if len(value) > len(str(MAX_ID)) or not 1 <= int(value) <= MAX_ID:
            raise NotFound()
        return int(value)

    def to_url(self, value: object) -> str:
        return str(int(value))  # type: ignore[call-overload]


def init_app(app: Flask) -> None:
    """Before any blueprint is registered: rules look their converters up when they are added."""
    app.url_map.converters["id"] = IdConverter
