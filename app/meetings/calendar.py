"""« Mon agenda »: the professional's upcoming meetings, and a personal ICS feed behind a secret URL.

The secret is shown once; only its SHA-256 is stored (`User.calendar_token_hash`), so a database
leak does not open anyone's calendar. Regenerating replaces it; revoking clears it. The feed holds
no note and as little personal data as possible: the person's first name and last-name initial.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from icalendar import Calendar, Event

from app import access
from app.accounts.models import User
from app.audit.services import record_event
from app.core.timefmt import ZONE_NAME
from app.db_types import utcnow
from app.extensions import db
from app.labels import label
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
    event.add("description", _clean(f"{label(item.channel)}. Le dossier est consultable dans Parcours."))
    return event


def feed_items(user: User, *, now: datetime | None = None) -> list[AgendaItem]:
    """The meetings an ICS feed carries: planned ones from a month ago on."""
    return upcoming_meetings(user, since=(now or utcnow()) - FEED_PAST, limit=1000)


def calendar_feed(user: User, *, now: datetime | None = None, items: list[AgendaItem] | None = None) -> bytes:
    """The ICS document of the user's planned meetings (times in UTC; no notes, no location).

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
