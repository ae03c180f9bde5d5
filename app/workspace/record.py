"""Read model of the record page (« dossier partagé »): everything its tabs show, in a fixed
number of queries whatever the size of the record, and nothing the reader may not see.

Meetings are selected column by column without their notes (notes appear, when visible, in the
journal built by `queries.timeline`, which filters them in SQL); handover notes only reach the lead
agency; a reader with EXISTENCE access gets only the referent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased, joinedload, selectinload

from app import access
from app.accounts.models import Agency, User
from app.barriers.models import Barrier, BarrierStatus, Referral
from app.extensions import db
from app.followup.models import Alert, AlertKind, AlertStatus
from app.meetings.models import Meeting, MeetingStatus
from app.pathways.models import (
    Consent,
    Contract,
    Entry,
    EntryVersion,
    Pathway,
    PathwayMember,
    ReferentAssignment,
    TeamJoinRequest,
)
from app.pathways.queries import pending_join_requests
from app.workspace.timeline import TimelineItem, timeline

# Made once (see app/workspace/timeline.py).
_ORGANIZER, _MEETING_AGENCY = aliased(User, name="organizer"), aliased(Agency, name="meeting_agency")


@dataclass
class MeetingRow:
    id: int
    scheduled_at: datetime
    duration_minutes: int
    status: MeetingStatus
    kind: Any
    channel: Any
    location: str | None
    version: int
    organizer: str
    agency: str


@dataclass
class RecordView:
    pathway: Pathway
    level: access.RecordAccess
    referent: User | None
    lead_agency: Agency
    can_manage: bool = False
    can_contribute: bool = False
    can_assign: bool = False
    alert_kinds: list[AlertKind] = field(default_factory=list)
    consent: Consent | None = None
    consents: list[Consent] = field(default_factory=list)
    contracts: list[Contract] = field(default_factory=list)
    assignments: list[ReferentAssignment] = field(default_factory=list)
    members: list[PathwayMember] = field(default_factory=list)
    barriers_by_status: dict[BarrierStatus, list[Barrier]] = field(default_factory=dict)
    upcoming: list[MeetingRow] = field(default_factory=list)
    past: list[MeetingRow] = field(default_factory=list)
    journal: list[TimelineItem] = field(default_factory=list)
    team_candidates: list[Agency] = field(default_factory=list)
    join_requests: list[TeamJoinRequest] = field(default_factory=list)
    correctable_entries: set[int] = field(default_factory=set)  # « Corriger » offered on these notes
    entry_history: dict[int, list[EntryVersion]] = field(default_factory=dict)  # previous versions

    @property
    def next_meeting(self) -> MeetingRow | None:
        return self.upcoming[0] if self.upcoming else None

    @property
    def is_full(self) -> bool:
        return self.level == access.RecordAccess.FULL


def load_record(actor: User, pathway: Pathway, *, limit: int = 200) -> RecordView:
    level = access.record_access(actor, pathway)
    referent = db.session.get(User, pathway.referent_id) if pathway.referent_id else None
    lead_agency = db.session.get(Agency, pathway.lead_agency_id)
    view = RecordView(pathway=pathway, level=level, referent=referent, lead_agency=lead_agency)
    if level < access.RecordAccess.SHARED:
        return view  # EXISTENCE: that the pathway exists and who the referent is (DESIGN §3.3)

    view.can_manage = access.can_manage_pathway(actor, pathway)
    view.can_contribute = access.can_contribute(actor, pathway)
    view.can_assign = access.can_assign_referent(actor, pathway)
    _ = pathway.beneficiary  # identity (SHARED and FULL)

    for kind in db.session.scalars(
        sa.select(Alert.kind)
        .where(Alert.pathway_id == pathway.id, Alert.status != AlertStatus.RESOLVED)
        .order_by(Alert.due_at)
    ):
        if kind not in view.alert_kinds:
            view.alert_kinds.append(kind)

    view.consents = list(
        db.session.scalars(
            sa.select(Consent)
            .where(Consent.pathway_id == pathway.id)
            .order_by(Consent.given_at.desc())
            .limit(20)
        )
    )
    view.consent = next((c for c in view.consents if c.withdrawn_at is None), None)
    view.contracts = list(
        db.session.scalars(
            sa.select(Contract)
            .where(Contract.pathway_id == pathway.id)
            .order_by(Contract.starts_on.desc())
            .limit(50)
        )
    )
    view.assignments = list(
        db.session.scalars(
            sa.select(ReferentAssignment)
            .options(joinedload(ReferentAssignment.user), joinedload(ReferentAssignment.agency))
            .where(ReferentAssignment.pathway_id == pathway.id)
            .order_by(ReferentAssignment.started_at.desc())
            .limit(50)
        ).unique()
    )
    view.members = list(
        db.session.scalars(
            sa.select(PathwayMember)
            .options(joinedload(PathwayMember.agency))
            .where(PathwayMember.pathway_id == pathway.id, PathwayMember.removed_at.is_(None))
            .order_by(PathwayMember.added_at)
        ).unique()
    )

    barriers = (
        db.session.scalars(
            sa.select(Barrier)
            .options(
                joinedload(Barrier.owner_agency), selectinload(Barrier.referrals).joinedload(Referral.agency)
            )
            .where(Barrier.pathway_id == pathway.id)
            .order_by(Barrier.due_on.is_(None), Barrier.due_on, Barrier.id)
            .limit(limit)
        )
        .unique()
        .all()
    )
    view.barriers_by_status = {status: [] for status in BarrierStatus}
    for barrier in barriers:
        view.barriers_by_status[barrier.status].append(barrier)

    organizer, agency = _ORGANIZER, _MEETING_AGENCY
    rows = db.session.execute(
        sa.select(
            Meeting.id,
            Meeting.scheduled_at,
            Meeting.duration_minutes,
            Meeting.status,
            Meeting.kind,
            Meeting.channel,
            Meeting.location,
            Meeting.version,
            organizer.first_name,
            organizer.last_name,
            agency.name,
        )
        .join(organizer, organizer.id == Meeting.organizer_id)
        .join(agency, agency.id == Meeting.agency_id)
        .where(Meeting.pathway_id == pathway.id)
        .order_by(Meeting.scheduled_at.desc())
        .limit(limit)
    ).all()
    for mid, at, duration, status, kind, channel, location, version, first, last, agency_name in rows:
        row = MeetingRow(
            mid, at, duration, status, kind, channel, location, version, f"{first} {last}", agency_name
        )
        (view.upcoming if status == MeetingStatus.PLANNED else view.past).append(row)
    view.upcoming.sort(key=lambda m: m.scheduled_at)

    view.journal = timeline(actor, pathway, limit=limit)
    _entry_corrections(actor, view)
    view.join_requests = pending_join_requests(actor, pathway)
    if view.can_manage:
        member_ids = {m.agency_id for m in view.members} | {pathway.lead_agency_id}
        view.team_candidates = [
            a
            for a in db.session.scalars(
                sa.select(Agency)
                .where(Agency.territory_id == pathway.territory_id, Agency.is_active)
                .order_by(Agency.name)
            )
            if a.id not in member_ids
        ]
    return view


def _entry_corrections(actor: User, view: RecordView) -> None:
    """Which notes of the journal the reader may correct, and the previous versions of the corrected
    ones the reader may see (one query, only when a note was corrected)."""
    notes = [item for item in view.journal if item.kind == "entry"]
    view.correctable_entries = access.correctable_entry_ids(actor, view.pathway, [
        (item.object_id, item.details["entry_kind"], item.details["author_id"], item.visibility) for item in notes
    ])
    edited = [item.object_id for item in notes if item.details.get("edited_at")]
    if not edited:
        return
    for version in db.session.scalars(
        sa.select(EntryVersion)
        .join(Entry, Entry.id == EntryVersion.entry_id)
        .join(Pathway, Pathway.id == Entry.pathway_id)
        .where(EntryVersion.entry_id.in_(edited), access.visible_entry_versions_clause(actor))
        .order_by(EntryVersion.entry_id, EntryVersion.version.desc())
    ):
        view.entry_history.setdefault(version.entry_id, []).append(version)
