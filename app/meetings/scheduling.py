"""Scheduling sense: what to warn about when a meeting is planned or moved, and working days.

A warning is a question to the professional (« Confirmer quand même »), never a refusal: a clash
with another planned meeting of the person or of the professional, a time outside working hours
(before 8:00 or ending after 19:00, Paris time), a Sunday or a public holiday. Public holidays come
from the maintained `holidays` package: France's, plus Alsace-Moselle's two extra days (Good Friday,
26 December) in départements 57, 67 and 68 — the territory's code tells which.

Post-employment check-ins land on working days (`next_working_day`): Monday to Friday, not a
public holiday of the territory.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays
import sqlalchemy as sa

from app.core.timefmt import PARIS, long_date, to_paris
from app.extensions import db
from app.meetings.models import Meeting, MeetingStatus

DAY_STARTS = time(8, 0)
DAY_ENDS = time(19, 0)
# The `holidays` subdivisions of France that add days to the national list: Moselle (57) and the
# Collectivité européenne d'Alsace (Bas-Rhin 67, Haut-Rhin 68).
_SUBDIVISIONS = {"57": "57", "67": "6AE", "68": "6AE"}


@lru_cache(maxsize=32)
def _calendar(territory_code: str | None, year: int) -> holidays.HolidayBase:
    subdivision = _SUBDIVISIONS.get((territory_code or "").strip())
    return holidays.country_holidays("FR", subdiv=subdivision, years=year, language="fr")


def public_holiday(day: date, territory_code: str | None) -> str | None:
    """The French name of the public holiday on `day` in this territory, or None."""
    return _calendar(territory_code, day.year).get(day)


def is_working_day(day: date, territory_code: str | None) -> bool:
    return day.weekday() < 5 and public_holiday(day, territory_code) is None


def next_working_day(day: date, territory_code: str | None) -> date:
    """`day` itself if it is a working day, else the next one (a weekend, a holiday, a bridge)."""
    while not is_working_day(day, territory_code):
        day += timedelta(days=1)
    return day


@dataclass(frozen=True)
class Slot:
    """A planned meeting as the warnings see it."""

    meeting_id: int
    pathway_id: int
    organizer_id: int
    starts_at: datetime
    minutes: int

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.minutes)

    def overlaps(self, other: Slot) -> bool:
        return self.starts_at < other.ends_at and other.starts_at < self.ends_at


def time_warnings(starts_at: datetime, minutes: int, territory_code: str | None) -> list[str]:
    """Outside working hours, on a Sunday, on a public holiday (Paris time), in French."""
    start = to_paris(starts_at)
    end = to_paris(starts_at + timedelta(minutes=minutes))
    warnings = []
    if start.time() < DAY_STARTS or end.date() > start.date() or end.time() > DAY_ENDS:
        warnings.append(f"Ce rendez-vous est hors des heures ouvrées ({start:%H:%M}–{end:%H:%M} ; "
                        f"habituellement entre {DAY_STARTS:%H:%M} et {DAY_ENDS:%H:%M}).")
    if start.weekday() == 6:
        warnings.append(f"Le {long_date(start)} est un dimanche.")
    holiday = public_holiday(start.date(), territory_code)
    if holiday:
        warnings.append(f"Le {long_date(start)} est un jour férié ({holiday}).")
    return warnings


def clash_warnings(slot: Slot, others: Iterable[Slot], *, person: str | None = None) -> list[str]:
    """Other planned meetings overlapping `slot`: the same person's, or the same professional's."""
    warnings = []
    for other in others:
        if other.meeting_id == slot.meeting_id or not slot.overlaps(other):
            continue
        when = f"{to_paris(other.starts_at):%d/%m/%Y %H:%M}"
        if other.pathway_id == slot.pathway_id:
            warnings.append(f"{person or 'La personne'} a déjà un rendez-vous prévu le {when}, "
                            "qui chevauche celui-ci.")
        elif other.organizer_id == slot.organizer_id:  # not an access rule: the same professional's diary
            warnings.append(f"Vous avez déjà un rendez-vous prévu le {when} avec une autre personne, "
                            "qui chevauche celui-ci.")
    return warnings


def _overlapping(pathway_id: int, organizer_id: int, starts_at: datetime, minutes: int) -> list[Slot]:
    """Planned meetings of the person or of the professional around that time (one query)."""
    window_start = starts_at - timedelta(hours=8)  # no meeting lasts longer (duration ≤ 480 minutes)
    window_end = starts_at + timedelta(minutes=minutes)
    rows = db.session.execute(
        sa.select(Meeting.id, Meeting.pathway_id, Meeting.organizer_id, Meeting.scheduled_at,
                  Meeting.duration_minutes)
        .where(
            sa.or_(Meeting.pathway_id == pathway_id, Meeting.organizer_id == organizer_id),
            Meeting.status == MeetingStatus.PLANNED,
            Meeting.scheduled_at > window_start,
            Meeting.scheduled_at < window_end,
        )
    ).all()
    return [Slot(*row) for row in rows]


def scheduling_warnings(
    *, pathway_id: int, organizer_id: int, starts_at: datetime, minutes: int, territory_code: str | None,
    meeting_id: int | None = None, person: str | None = None,
) -> list[str]:
    """Everything worth a second look before planning (or moving) a meeting; [] when all is well."""
    slot = Slot(meeting_id or 0, pathway_id, organizer_id, starts_at, minutes)
    return [
        *clash_warnings(slot, _overlapping(pathway_id, organizer_id, starts_at, minutes), person=person),
        *time_warnings(starts_at, minutes, territory_code),
    ]


def checkin_at(day: date, at: time, territory_code: str | None) -> datetime:
    """A check-in on `day` (moved to the next working day) at `at`, Paris time."""
    return datetime.combine(next_working_day(day, territory_code), at, tzinfo=PARIS)
