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
from app.barriers.models import Barrier, DeclineReason, Referral
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

# Aliases made once: an `aliased()` built per call copies every column of its table (and the
# statement's cache key changes with it), a cost each record page paid a dozen times.
_AUTHOR, _AUTHOR_AGENCY, _PARTNER = aliased(User, name="author"), aliased(Agency, name="author_agency"), \
    aliased(Agency, name="partner")
_BARRIER, _REFERRED = aliased(Barrier, name="event_barrier"), aliased(Barrier, name="referred_barrier")
_ASSIGNER = aliased(User, name="assigner")


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

    Four queries, each limited, whatever the size of the record. Notes the actor may not see are
    not even selected.
    """
    if not access.can_read_record(actor, pathway):
        return []
    items = [
        *_entries(actor, pathway, limit),
        *_meetings(actor, pathway, limit),
        *_barrier_events(pathway, limit),
        *_handovers(actor, pathway, limit),
    ]
    items.sort(key=lambda item: item.at, reverse=True)
    return items[:limit]


def _entries(actor: User, pathway: Pathway, limit: int) -> list[TimelineItem]:
    author, agency = _AUTHOR, _AUTHOR_AGENCY
    rows = db.session.execute(
        sa.select(Entry, author, agency)
        .join(Pathway, Pathway.id == Entry.pathway_id)
        .join(author, author.id == Entry.author_id)
        .join(agency, agency.id == Entry.author_agency_id)
        .where(Entry.pathway_id == pathway.id, access.visible_entries_clause(actor))
        .order_by(Entry.occurred_at.desc())
        .limit(limit)
    ).all()
    return [
        TimelineItem("entry", entry.occurred_at, label(entry.note_type) if entry.note_type else label(entry.kind),
                     entry.body, who.full_name, where.name, entry.visibility, entry.id,
                     {"note_type": entry.note_type.value if entry.note_type else None,
                      "edited_at": entry.edited_at.isoformat() if entry.edited_at else None,
                      "entry_kind": entry.kind.value, "author_id": entry.author_id})
        for entry, who, where in rows
    ]


def _meetings(actor: User, pathway: Pathway, limit: int) -> list[TimelineItem]:
    """Meetings held, missed or cancelled; their notes only where the actor may read them."""
    author, agency = _AUTHOR, _AUTHOR_AGENCY
    notes = sa.case((access.visible_meeting_notes_clause(actor), Meeting.notes), else_=None)
    rows = db.session.execute(
        sa.select(
            Meeting.id, Meeting.scheduled_at, Meeting.status, Meeting.kind, Meeting.channel,
            Meeting.notes_visibility, notes.label("notes"), author, agency,
        )
        .join(Pathway, Pathway.id == Meeting.pathway_id)
        .join(author, author.id == sa.func.coalesce(Meeting.recorded_by_id, Meeting.organizer_id))
        .join(agency, agency.id == Meeting.agency_id)
        .where(Meeting.pathway_id == pathway.id, Meeting.status != MeetingStatus.PLANNED)
        .order_by(Meeting.scheduled_at.desc())
        .limit(limit)
    ).all()
    return [
        TimelineItem("meeting", at, f"{label(kind)} — {label(status)}", text, who.full_name, where.name,
                     visibility if text else Visibility.TEAM, mid, {"status": status.value, "channel": channel.value})
        for mid, at, status, kind, channel, visibility, text, who, where in rows
    ]


BARRIER_EVENT_TITLES = {
    "barrier.added": "Frein ajouté",
    "barrier.updated": "Frein mis à jour",
    "referral.sent": "Frein orienté vers un partenaire",
    "referral.accepted": "Orientation acceptée",
    "referral.declined": "Orientation déclinée",
    "referral.done": "Orientation réalisée",
}


def _barrier_events(pathway: Pathway, limit: int) -> list[TimelineItem]:
    """Changes of barriers and referrals, from the audit trail (facts only, visible to the team),
    with the barrier's title and, for a referral, the partner asked, its answer, reason and comment
    (the referral's own columns: the team reads them on the barrier card too)."""
    author, agency, partner = _AUTHOR, _AUTHOR_AGENCY, _PARTNER
    barrier, referred = _BARRIER, _REFERRED
    rows = db.session.execute(
        sa.select(AuditEvent, author, agency, Referral, partner.name, sa.func.coalesce(barrier.title, referred.title))
        .outerjoin(author, author.id == AuditEvent.actor_id)
        .outerjoin(agency, agency.id == AuditEvent.actor_agency_id)
        .outerjoin(barrier, sa.and_(AuditEvent.object_type == "barrier", barrier.id == AuditEvent.object_id))
        .outerjoin(Referral, sa.and_(AuditEvent.object_type == "referral", Referral.id == AuditEvent.object_id))
        .outerjoin(referred, referred.id == Referral.barrier_id)
        .outerjoin(partner, partner.id == Referral.agency_id)
        .where(
            AuditEvent.pathway_id == pathway.id,
            sa.or_(AuditEvent.action.startswith("barrier."), AuditEvent.action.startswith("referral.")),
        )
        .order_by(AuditEvent.occurred_at.desc())
        .limit(limit)
    ).all()
    return [
        TimelineItem("barrier", event.occurred_at, BARRIER_EVENT_TITLES.get(event.action, event.action),
                     _barrier_event_body(event, referral, partner_name, title),
                     who.full_name if who else "Parcours", where.name if where else None, Visibility.TEAM,
                     event.object_id, dict(event.details or {}))
        for event, who, where, referral, partner_name, title in rows
    ]


def _barrier_event_body(event: AuditEvent, referral: Referral | None, partner: str | None,
                        title: str | None) -> str | None:
    """What happened, in French: « Pas de permis » orienté vers CAF 93 ; refusé : motif, commentaire."""
    subject = f"« {title} »" if title else "Le frein"
    if referral is None:
        return subject if title else None
    if event.action == "referral.sent":
        text = f"{subject} orienté vers {partner}."
        return text + (f" Demande : « {referral.message} »" if referral.message else "")
    if event.action == "referral.accepted":
        text = f"{partner} accepte la demande pour {subject}."
    elif event.action == "referral.declined":
        reason = (event.details or {}).get("decline_reason")
        text = f"{partner} décline la demande pour {subject}"
        text += f" — motif : {label(DeclineReason(reason))}." if reason else "."
    elif event.action == "referral.done":
        return f"{partner} a réalisé l'orientation pour {subject}."
    else:
        return subject
    return text + (f" Commentaire : « {referral.answer_comment} »" if referral.answer_comment else "")


def _handovers(actor: User, pathway: Pathway, limit: int) -> list[TimelineItem]:
    """Referent changes; the handover note only for those who may read it."""
    author, agency, by = _AUTHOR, _AUTHOR_AGENCY, _ASSIGNER
    rows = db.session.execute(
        sa.select(ReferentAssignment, author, agency, by)
        .join(author, author.id == ReferentAssignment.user_id)
        .join(agency, agency.id == ReferentAssignment.agency_id)
        .outerjoin(by, by.id == ReferentAssignment.assigned_by_id)
        .where(ReferentAssignment.pathway_id == pathway.id)
        .order_by(ReferentAssignment.started_at.desc())
        .limit(limit)
    ).all()
    notes = access.can_read_handover_notes(actor, pathway)
    return [
        TimelineItem("referent", assignment.started_at, f"Référent : {who.full_name}",
                     assignment.note if notes else None, assigner.full_name if assigner else None, where.name,
                     Visibility.AGENCY if notes else Visibility.TEAM, assignment.id, {"referent_id": who.id})
        for assignment, who, where, assigner in rows
    ]
