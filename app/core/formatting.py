"""Jinja filters for dates and labels in French, and a `now_utc` context value.

Times are stored in UTC (DESIGN §3.7) and shown in the configured time zone (Europe/Paris).
"""
from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from flask import Flask, current_app

from app.db_types import utcnow
from app.labels import label


def _locale() -> str:
    return current_app.config.get("LOCALE", "fr_FR")


def _local_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("TIMEZONE", "Europe/Paris"))


def to_local(value: datetime) -> datetime:
    """An aware UTC datetime in the display zone; a naive one is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(_local_zone())
    except OverflowError:  # 9999-12-31 late in UTC has no Paris time: shown as the UTC wall clock
        return value


def _long_date(value: date) -> str:
    text = format_date(value, format="d MMMM y", locale=_locale())
    # French writes the first of the month as an ordinal: « 1er août ».
    return "1er" + text[1:] if value.day == 1 and _locale().startswith("fr") else text


def date_fr(value: date | datetime | None) -> str:
    """« 12 mars 2026 », « 1er avril 2026 »."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_local(value).date()
    return _long_date(value)


def datetime_fr(value: datetime | None) -> str:
    """« 12 mars 2026 à 14:30 », in Europe/Paris."""
    if value is None:
        return ""
    local = to_local(value)
    return f"{_long_date(local.date())} à {format_time(local.time(), format='HH:mm', locale=_locale())}"


def date_short(value: date | datetime | None) -> str:
    """« 12/03/2026 »."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_local(value).date()
    return format_date(value, format="dd/MM/y", locale=_locale())


def age(birth_date: date | None, today: date | None = None) -> int | None:
    """Age in full years on `today` (default: today in the display zone)."""
    if birth_date is None:
        return None
    if today is None:
        today = utcnow().astimezone(_local_zone()).date()
    years = today.year - birth_date.year
    if (today.month, today.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def init_app(app: Flask) -> None:
    app.add_template_filter(date_fr, "date_fr")
    app.add_template_filter(datetime_fr, "datetime_fr")
    app.add_template_filter(date_short, "date_short")
    app.add_template_filter(age, "age")
    app.add_template_filter(label, "label")

    @app.context_processor
    def _inject_now() -> dict[str, datetime]:
        return {"now_utc": utcnow()}
