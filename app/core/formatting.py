"""Jinja filters for dates and labels in French, and a `now_utc` context value.

The filters are `app.core.timefmt`'s formatters (Paris time) and `app.labels.label`, under the
names the templates use.
"""
from __future__ import annotations

from datetime import datetime

from flask import Flask

from app.core import timefmt
from app.db_types import utcnow
from app.labels import label


def init_app(app: Flask) -> None:
    app.add_template_filter(timefmt.long_date, "date_fr")
    app.add_template_filter(timefmt.long_datetime, "datetime_fr")
    app.add_template_filter(timefmt.short_date, "date_short")
    app.add_template_filter(timefmt.age, "age")
    app.add_template_filter(label, "label")
    app.add_template_filter(thousands, "thousands")

    @app.context_processor
    def _inject_now() -> dict[str, datetime]:
        return {"now_utc": utcnow()}


def thousands(number: int) -> str:
    """12345 → « 12 345 » (French digit grouping, with a narrow no-break space)."""
    return f"{number:,}".replace(",", "\u202f")
