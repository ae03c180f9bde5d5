"""The journal of a record: entries, meetings, barrier changes and handovers the reader may see,
merged newest first — a read model across features, hence its place above them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from app import access
from app.accounts.models import Agency, User
from app.audit.models import AuditEvent
from app.extensions import db
from app.labels import label
from app.meetings.models import Meeting, MeetingStatus
from app.pathways.models import (
    Entry,
    Pathway,
    ReferentAssignment,
    Visibility,
)

# --- timeline (the merged journal of a record) -------------------------------------------------------


@dataclass
class TimelineItem:
    kind: str  # "entry", "meeting", "barrier", "referent"
    at: datetime
    title: str
    body: str | None
    author: str | None
    agency: str | None
    visibility: Visibility
    object_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


def timeline(actor: User, pathway: Pathway, *, limit: int = 200) -> list[TimelineItem]:
    """Entries, meetings, barrier changes and referent changes the actor may see, newest first.

    Four queries, each limited, whatever the size of the record. The caller has checked that the
    actor may read the record; notes the actor may not see are not even selected.
    """

    if not access.can_read_record(actor, pathway):
        return []
    author = aliased(User)
    agency = aliased(Agency)
    items: list[TimelineItem] = []

    entries = db.session.execute(
        sa.select(Entry, author, agency)
        .join(Pathway, Pathway.id == Entry.pathway_id)
        .join(author, author.id == Entry.author_id)
        .join(agency, agency.id == Entry.author_agency_id)
        .where(Entry.pathway_id == pathway.id, access.visible_entries_clause(actor))
        .order_by(Entry.occurred_at.desc())
        .limit(limit)
    ).all()
    for entry, who, where in entries:
        items.append(
            TimelineItem(
                "entry",
                entry.occurred_at,
                label(entry.kind),
                entry.body,
                who.full_name,
                where.name,
                entry.visibility,
                entry.id,
            )
        )

    notes = sa.case((access.visible_meeting_notes_clause(actor), Meeting.notes), else_=None)
    meetings = db.session.execute(
        sa.select(
            Meeting.id,
            Meeting.scheduled_at,
            Meeting.status,
            Meeting.kind,
            Meeting.channel,
            Meeting.notes_visibility,
            notes.label("notes"),
            author,
            agency,
        )
        .join(Pathway, Pathway.id == Meeting.pathway_id)
        .join(author, author.id == sa.func.coalesce(Meeting.recorded_by_id, Meeting.organizer_id))
        .join(agency, agency.id == Meeting.agency_id)
        .where(Meeting.pathway_id == pathway.id, Meeting.status != MeetingStatus.PLANNED)
        .order_by(Meeting.scheduled_at.desc())
        .limit(limit)
    ).all()
    for mid, at, status, kind, channel, visibility, text, who, where in meetings:
        items.append(
            TimelineItem(
                "meeting",
                at,
                f"{label(kind)} — {label(status)}",
                text,
                who.full_name,
                where.name,
                visibility if text else Visibility.TEAM,
                mid,
                {"status": status.value, "channel": channel.value},
            )
        )

    events = db.session.execute(
        sa.select(AuditEvent, author, agency)
        .outerjoin(author, author.id == AuditEvent.actor_id)
        .outerjoin(agency, agency.id == AuditEvent.actor_agency_id)
        .where(
            AuditEvent.pathway_id == pathway.id,
            sa.or_(AuditEvent.action.startswith("barrier."), AuditEvent.action.startswith("referral.")),
        )
        .order_by(AuditEvent.occurred_at.desc())
        .limit(limit)
    ).all()
    titles = {
        "barrier.added": "Frein ajouté",
        "barrier.updated": "Frein mis à jour",
        "referral.sent": "Frein orienté vers un partenaire",
        "referral.accepted": "Orientation acceptée",
        "referral.declined": "Orientation déclinée",
        "referral.done": "Orientation réalisée",
    }
    for event, who, where in events:
        items.append(
            TimelineItem(
                "barrier",
                event.occurred_at,
                titles.get(event.action, event.action),
                None,
                who.full_name if who else "Parcours",
                where.name if where else None,
                Visibility.TEAM,
                event.object_id,
                dict(event.details or {}),
            )
        )

    previous = aliased(User)
    assignments = db.session.execute(
        sa.select(ReferentAssignment, author, agency, previous)
        .join(author, author.id == ReferentAssignment.user_id)
        .join(agency, agency.id == ReferentAssignment.agency_id)
        .outerjoin(previous, previous.id == ReferentAssignment.assigned_by_id)
        .where(ReferentAssignment.pathway_id == pathway.id)
        .order_by(ReferentAssignment.started_at.desc())
        .limit(limit)
    ).all()
    full = access.record_access(actor, pathway) == access.RecordAccess.FULL
    for assignment, who, where, by in assignments:
        items.append(
            TimelineItem(
                "referent",
                assignment.started_at,
                f"Référent : {who.full_name}",
                assignment.note if full else None,  # handover notes stay within the referent's agency
                by.full_name if by else None,
                where.name,
                Visibility.TEAM if not full else Visibility.AGENCY,
                assignment.id,
                {"referent_id": who.id},
            )
        )

    items.sort(key=lambda item: item.at, reverse=True)
    return items[:limit]
