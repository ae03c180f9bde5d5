"""Reads of meetings (the agenda and its feed are in `calendar.py`)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from app import access
from app.accounts.models import User
from app.extensions import db
from app.meetings.models import Meeting, MeetingKind, MeetingStatus
from app.pathways.models import Pathway


def meetings_of(pathway: Pathway) -> sa.Select:
    """Every meeting of a pathway, latest first (the caller checked access to the record)."""
    return (
        sa.select(Meeting)
        .where(Meeting.pathway_id == pathway.id)
        .order_by(Meeting.scheduled_at.desc(), Meeting.id.desc())
    )


def readable_notes(user: User, meetings: list[Meeting]) -> set[int]:
    """Ids of the meetings among `meetings` whose notes `user` may read, in one query."""
    if not meetings:
        return set()
    return set(db.session.scalars(
        sa.select(Meeting.id)
        .join(Pathway, Pathway.id == Meeting.pathway_id)
        .where(Meeting.id.in_([m.id for m in meetings]), access.visible_meeting_notes_clause(user))
    ))


def planned_checkins(pathway: Pathway) -> list[datetime]:
    """When the post-employment check-ins of a pathway are planned, soonest first."""
    return list(db.session.scalars(
        sa.select(Meeting.scheduled_at)
        .where(Meeting.pathway_id == pathway.id, Meeting.kind == MeetingKind.CHECKIN,
               Meeting.status == MeetingStatus.PLANNED)
        .order_by(Meeting.scheduled_at)
    ))
