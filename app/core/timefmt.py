"""Paris time and French dates: the one place that knows the users' time zone and how dates read.

Times are stored in UTC (DESIGN §3.7); the users live on Paris time. Everything that turns an
instant into a day or a wall-clock time (pages, CSV exports, e-mails, form inputs, the follow-up
rules, the scheduler) takes the zone from here, and every date a person reads is written here.

The zone and the locale are constants, not settings: Parcours is a French public service, and the
rules, the SQL thresholds and the scheduler need the zone outside any request, at import time — one
value everywhere is the point (config.py has no TIMEZONE nor LOCALE). `ZONE_NAME` is for what
wants a name (APScheduler, an ICS header), `PARIS` for Python arithmetic.

This module imports no feature and no model: anything may use it.
"""
from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time

ZONE_NAME = "Europe/Paris"
PARIS = ZoneInfo(ZONE_NAME)
LOCALE = "fr_FR"


# --- instants and days ---------------------------------------------------------------------------

def to_paris(value: datetime) -> datetime:
    """An aware datetime on Paris time; a naive one is taken as UTC.

    The very end of time (9999-12-31 late in UTC) has no Paris time: it comes back on the UTC wall
    clock rather than raising OverflowError, so a page showing it still renders."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(PARIS)
    except OverflowError:
        return value


def paris_date(value: date | datetime | None) -> date | None:
    """The Paris calendar day of an instant (a date is already a day)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return to_paris(value).date()
    return value


def paris_today(now: datetime | None = None) -> date:
    """Today in Paris (of `now` when given)."""
    return to_paris(now or datetime.now(UTC)).date()


def age(birth_date: date | None, today: date | None = None) -> int | None:
    """Age in full years on `today` (default: today in Paris)."""
    if birth_date is None:
        return None
    today = today or paris_today()
    years = today.year - birth_date.year
    if (today.month, today.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


# --- French dates ----------------------------------------------------------------------------------
# An instant is shown as its Paris day and time; a `date` is a day already and is never shifted.

def _day_month_year(day: date) -> str:
    # French writes the first of the month as an ordinal: « 1er avril », but « 2 avril ».
    text = format_date(day, format="d MMMM y", locale=LOCALE)
    return "1er" + text[1:] if day.day == 1 else text


def long_date(value: date | datetime | None) -> str:
    """« 12 mars 2026 », « 1er avril 2026 » (pages, e-mails)."""
    day = paris_date(value)
    return "" if day is None else _day_month_year(day)


def full_date(value: date | datetime | None) -> str:
    """« mercredi 1er avril 2026 »: the long date with its weekday (the digest's greeting)."""
    day = paris_date(value)
    return "" if day is None else f"{format_date(day, format='EEEE', locale=LOCALE)} {_day_month_year(day)}"


def long_datetime(value: datetime | None) -> str:
    """« 12 mars 2026 à 14:30 », « 1er avril 2026 à 09:05 », Paris time."""
    if value is None:
        return ""
    local = to_paris(value)
    return f"{_day_month_year(local.date())} à {format_time(local.time(), format='HH:mm', locale=LOCALE)}"


def weekday_datetime(value: datetime | None) -> str:
    """« mercredi 4 décembre à 14 h 05 », « mardi 1er décembre à 9 h 00 », Paris time: a near
    moment, said as one says it (« disponible jusqu'au … »)."""
    if value is None:
        return ""
    local = to_paris(value)
    day = local.date()
    text = format_date(day, format="EEEE d MMMM", locale=LOCALE)
    if day.day == 1:
        weekday, _, rest = text.partition(" ")
        text = f"{weekday} 1er{rest[1:]}"
    return f"{text} à {local.hour} h {local:%M}"


def short_date(value: date | datetime | None) -> str:
    """« 01/04/2026 » (JJ/MM/AAAA): tables, CSV cells, messages about date bounds."""
    day = paris_date(value)
    return "" if day is None else format_date(day, format="dd/MM/y", locale=LOCALE)


def short_datetime(value: datetime | None) -> str:
    """« 01/04/2026 14:30 » (JJ/MM/AAAA HH:MM, Paris time): a CSV cell."""
    if value is None:
        return ""
    local = to_paris(value)
    return f"{short_date(local.date())} {format_time(local.time(), format='HH:mm', locale=LOCALE)}"


def input_datetime(value: datetime | None) -> str:
    """« 2026-04-01T14:30 », Paris time: the value of an `<input type="datetime-local">`."""
    if value is None:
        return ""
    return to_paris(value).strftime("%Y-%m-%dT%H:%M")
