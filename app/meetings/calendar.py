"""« Mon agenda »: the professional's upcoming meetings, and a personal ICS feed behind a secret URL.

The secret is shown once; only its SHA-256 is stored (`User.calendar_token_hash`), so a database
leak does not open anyone's calendar. Regenerating replaces it; revoking clears it. The feed holds
no note and as little personal data as the appointment needs: the person's first name and
last-name initial, the meeting's place, and for a meeting by phone the number to call.

The page also shows a week (`week_view`: Monday to Sunday, Paris time) with the scheduling
warnings of each meeting (`scheduling`: clashes, hours, Sundays, public holidays).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from icalendar import Calendar, Event

from app import access
from app.accounts.models import User
from app.audit.services import record_event
from app.core.timefmt import PARIS, ZONE_NAME, paris_today, to_paris
from app.db_types import utcnow
from app.extensions import db
from app.labels import label
from app.meetings import scheduling
from app.meetings.models import Meeting, MeetingChannel, MeetingKind, MeetingStatus
from app.pathways.models import Beneficiary, Pathway
from app.transaction import unit_of_work

log = logging.getLogger(__name__)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_calendar_token(user: User, *, now: datetime | None = None) -> str:
    """A new secret for the user's feed (the previous one stops working). Returned once."""
    token = secrets.token_urlsafe(32)
    with unit_of_work():
        user.calendar_token_hash = _hash(token)
        user.calendar_token_created_at = now or utcnow()
        record_event(user, "calendar_token.issued", object_type="user", object_id=user.id, at=now)
    return token


def revoke_calendar_token(user: User, *, now: datetime | None = None) -> None:
    with unit_of_work():
        user.calendar_token_hash = None
        user.calendar_token_created_at = None
        record_event(user, "calendar_token.revoked", object_type="user", object_id=user.id, at=now)


def user_for_calendar_token(token: str) -> User | None:
    if not token or len(token) > 100:
        return None
    user = db.session.scalar(sa.select(User).where(User.calendar_token_hash == _hash(token)))
    if user is None or not user.is_active_account:
        return None
    return user


@dataclass
class AgendaItem:
    meeting_id: int
    pathway_id: int
    scheduled_at: datetime
    duration_minutes: int
    kind: MeetingKind
    channel: MeetingChannel
    location: str | None
    first_name: str
    last_name: str
    phone: str | None = None  # the person's, for a meeting by phone (the feed carries it then)
    status: MeetingStatus = MeetingStatus.PLANNED
    warnings: list[str] = field(default_factory=list)  # scheduling warnings (the week view)

    @property
    def clock(self) -> str:
        """« 14:30 », Paris time."""
        return f"{to_paris(self.scheduled_at):%H:%M}"

    @property
    def short_name(self) -> str:
        """« Sarah B. »: enough to recognise the appointment, little to leak."""
        return f"{self.first_name} {self.last_name[:1]}." if self.last_name else self.first_name


def upcoming_meetings(user: User, *, since: datetime | None = None, limit: int = 300) -> list[AgendaItem]:
    """Planned meetings organised by `user`, on records the user may still read; one query."""
    since = since or utcnow() - timedelta(hours=12)
    rows = db.session.execute(
        sa.select(
            Meeting.id,
            Meeting.pathway_id,
            Meeting.scheduled_at,
            Meeting.duration_minutes,
            Meeting.kind,
            Meeting.channel,
            Meeting.location,
            Beneficiary.first_name,
            Beneficiary.last_name,
            Beneficiary.phone,
        )
        .join(Pathway, Pathway.id == Meeting.pathway_id)
        .join(Beneficiary, Beneficiary.id == Pathway.beneficiary_id)
        .where(
            Meeting.organizer_id == user.id,  # not an access rule: the user's own agenda (access below)
            Meeting.status == MeetingStatus.PLANNED,
            Meeting.scheduled_at >= since,
            access.readable_pathways_clause(user, minimum=access.RecordAccess.SHARED),
        )
        .order_by(Meeting.scheduled_at)
        .limit(limit)
    ).all()
    return [AgendaItem(*row) for row in rows]


FEED_PAST = timedelta(days=30)  # the feed carries the last month too, so recorded meetings stay visible


def _clean(text: str) -> str:
    """Text for an ICS property: no control character (a calendar refuses the whole feed)."""
    return "".join(c for c in text if c.isprintable() or c == " ")


def _event(item: AgendaItem, now: datetime) -> Event:
    start = item.scheduled_at
    minutes = min(max(item.duration_minutes or 0, 0), 24 * 60)
    try:
        end = start + timedelta(minutes=minutes)
    except OverflowError:  # 9999-12-31 23:59: no room for a duration
        end = start
    event = Event()
    event.add("uid", f"rendez-vous-{item.meeting_id}@parcours")
    event.add("dtstamp", now)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", _clean(f"{label(item.kind)} — {item.short_name}"))
    description = f"{label(item.channel)}."
    if item.channel == MeetingChannel.PHONE and item.phone:
        description += f" Téléphone : {item.phone}."  # the number to call, for a meeting by phone
    event.add("description", _clean(f"{description} Le dossier est consultable dans Parcours."))
    if item.location:
        event.add("location", _clean(item.location))
    elif item.channel == MeetingChannel.PHONE and item.phone:
        event.add("location", _clean(f"Téléphone : {item.phone}"))
    return event


def feed_items(user: User, *, now: datetime | None = None) -> list[AgendaItem]:
    """The meetings an ICS feed carries: planned ones from a month ago on."""
    return upcoming_meetings(user, since=(now or utcnow()) - FEED_PAST, limit=1000)


def calendar_feed(user: User, *, now: datetime | None = None, items: list[AgendaItem] | None = None) -> bytes:
    """The ICS document of the user's planned meetings (times in UTC; the place, and the person's
    phone for a meeting by phone; never a note).

    It never fails because of what a meeting holds: a meeting that cannot be written as an event
    is left out (and logged), the others are served — a calendar that gets an error drops the
    whole subscription."""
    now = now or utcnow()
    cal = Calendar()
    cal.add("prodid", "-//Parcours//Agenda des rendez-vous//FR")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "Parcours — mes rendez-vous")
    cal.add("x-wr-timezone", ZONE_NAME)
    for item in feed_items(user, now=now) if items is None else items:
        try:
            event = _event(item, now)
            event.to_ical()  # fails here, for this event only, rather than for the whole feed
        except Exception:
            log.exception("calendar feed: meeting %s left out", item.meeting_id)
            continue
        cal.add_component(event)
    return cal.to_ical()


DAY_NAMES = ("Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi", "Dimanche")


@dataclass
class AgendaDay:
    day: date
    name: str  # « Lundi »
    is_today: bool
    holiday: str | None
    items: list[AgendaItem]


@dataclass
class WeekView:
    monday: date
    days: list[AgendaDay]

    @property
    def previous(self) -> date:
        return self.monday - timedelta(days=7)

    @property
    def next(self) -> date:
        return self.monday + timedelta(days=7)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def items(self) -> list[AgendaItem]:
        return [item for day in self.days for item in day.items]

    @property
    def warning_count(self) -> int:
        return sum(1 for item in self.items if item.warnings)


def week_view(user: User, monday: date, *, now: datetime | None = None) -> WeekView:
    """The user's meetings (planned, held or missed; not cancelled) from `monday` to Sunday, Paris
    days, on records the user may still read, each with its scheduling warnings; one query."""
    start = datetime.combine(monday, time(0, 0), tzinfo=PARIS)
    end = datetime.combine(monday + timedelta(days=7), time(0, 0), tzinfo=PARIS)
    rows = db.session.execute(
        sa.select(
            Meeting.id, Meeting.pathway_id, Meeting.scheduled_at, Meeting.duration_minutes, Meeting.kind,
            Meeting.channel, Meeting.location, Beneficiary.first_name, Beneficiary.last_name, Beneficiary.phone,
            Meeting.status,
        )
        .join(Pathway, Pathway.id == Meeting.pathway_id)
        .join(Beneficiary, Beneficiary.id == Pathway.beneficiary_id)
        .where(
            Meeting.organizer_id == user.id,  # not an access rule: the user's own agenda (access below)
            Meeting.status != MeetingStatus.CANCELLED,
            Meeting.scheduled_at >= start,
            Meeting.scheduled_at < end,
            access.readable_pathways_clause(user, minimum=access.RecordAccess.SHARED),
        )
        .order_by(Meeting.scheduled_at)
        .limit(500)
    ).all()
    items = [AgendaItem(*row) for row in rows]
    code = user.territory.code if user.territory else None
    planned = [item for item in items if item.status == MeetingStatus.PLANNED]
    slots = {item.meeting_id: scheduling.Slot(item.meeting_id, item.pathway_id, user.id, item.scheduled_at,
                                              item.duration_minutes) for item in planned}
    for item in planned:
        item.warnings = [
            *scheduling.clash_warnings(slots[item.meeting_id], slots.values(), person=item.short_name),
            *scheduling.time_warnings(item.scheduled_at, item.duration_minutes, code),
        ]
    today = paris_today(now)
    days = []
    for offset, name in enumerate(DAY_NAMES):
        day = monday + timedelta(days=offset)
        days.append(AgendaDay(day, name, day == today, scheduling.public_holiday(day, code),
                              [item for item in items if to_paris(item.scheduled_at).date() == day]))
    return WeekView(monday, days)
