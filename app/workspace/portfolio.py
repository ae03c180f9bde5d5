"""« Mon portefeuille »: the people a professional follows, most urgent first — a read model that
combines pathways, meetings, barriers and alerts, hence its place above the features."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from app import access
from app.accounts.models import Agency, User
from app.barriers.models import Barrier, BarrierStatus
from app.core.pages import Page
from app.extensions import db
from app.followup.models import Alert, AlertKind, AlertStatus
from app.meetings.models import Meeting, MeetingStatus
from app.pathways.models import (
    Beneficiary,
    Pathway,
    PathwayMember,
    Stage,
)
from app.pathways.search import normalise

# --- caseload ("Mon portefeuille") ---------------------------------------------------------------

SCOPES = ("mine", "team", "agency", "all")


@dataclass
class CaseloadFilters:
    scope: str = "mine"  # mine: I am the referent; team: my agency is in the team; agency: led by my agency; all
    q: str | None = None
    stage: Stage | None = None
    alert: AlertKind | None = None
    only_alerts: bool = False
    referent_id: int | None = None
    agency_id: int | None = None
    include_closed: bool = False


@dataclass
class CaseloadRow:
    pathway: Pathway
    beneficiary: Beneficiary
    referent: User | None
    lead_agency: Agency
    access: access.RecordAccess
    last_held_at: datetime | None
    next_meeting_at: datetime | None
    open_barriers: int
    alert_count: int
    first_due_at: datetime | None
    alert_kinds: list[AlertKind] = field(default_factory=list)


def pathway_ids(page: Page) -> list[int]:
    """The pathways a caseload page shows (for the audit trail)."""
    return [row.pathway.id for row in page.items]


_DIGITS = re.compile(r"^\s*[0-9]{5,}[A-Za-z0-9]?\s*$")


def _search_clause(q: str) -> sa.ColumnElement[bool]:
    text = q.strip()
    if _DIGITS.match(text):
        ident = text.upper()
        return sa.or_(Beneficiary.caf_number == ident, Beneficiary.france_travail_id == ident)
    words = normalise(text).split()
    return sa.and_(*[Beneficiary.search_name.contains(word, autoescape=True) for word in words]) if words else sa.true()


def caseload(actor: User, filters: CaseloadFilters, *, page: int = 1, per_page: int = 25) -> Page:
    """People the actor follows, most urgent first: with alerts (oldest deadline first), then by the
    nearest upcoming deadline (next meeting), then by name. Four queries whatever the size."""
    page = max(1, page)
    per_page = max(1, min(per_page, 200))

    last_held = (
        sa.select(Meeting.pathway_id, sa.func.max(Meeting.scheduled_at).label("at"))
        .where(Meeting.status == MeetingStatus.HELD)
        .group_by(Meeting.pathway_id)
        .subquery("last_held")
    )
    next_meeting = (
        sa.select(Meeting.pathway_id, sa.func.min(Meeting.scheduled_at).label("at"))
        .where(Meeting.status == MeetingStatus.PLANNED)
        .group_by(Meeting.pathway_id)
        .subquery("next_meeting")
    )
    barriers = (
        sa.select(Barrier.pathway_id, sa.func.count().label("n"))
        .where(Barrier.status.in_([BarrierStatus.OPEN, BarrierStatus.IN_PROGRESS]))
        .group_by(Barrier.pathway_id)
        .subquery("barriers")
    )
    alerts = (
        sa.select(Alert.pathway_id, sa.func.count().label("n"), sa.func.min(Alert.due_at).label("due"))
        .where(Alert.status != AlertStatus.RESOLVED)
        .group_by(Alert.pathway_id)
        .subquery("alerts")
    )
    referent = aliased(User)

    conditions: list[sa.ColumnElement[bool]] = [access.readable_pathways_clause(actor)]
    # Pathways the actor may only know exist (a partner without consent) must not be told apart
    # by their state: filters on stage, alerts or closure never select them, and they are listed
    # last, by number, whatever their deadlines or names.
    shared = access.readable_pathways_clause(actor, minimum=access.RecordAccess.SHARED)
    if not filters.include_closed:
        conditions.append(sa.or_(Pathway.closed_at.is_(None), sa.not_(shared)))
    if filters.scope == "mine":
        conditions.append(Pathway.referent_id == actor.id)  # not an access rule: the tab (access above)
    elif filters.scope == "team":
        conditions.append(
            sa.exists().where(
                PathwayMember.pathway_id == Pathway.id,
                PathwayMember.agency_id == actor.agency_id,  # not an access rule: the tab (access above)
                PathwayMember.removed_at.is_(None),
            )
        )
    elif filters.scope == "agency":
        conditions.append(Pathway.lead_agency_id == actor.agency_id)  # not an access rule: the tab (access above)
    if filters.q:
        # Searching by name or number is reading identity: only records whose identity the user
        # may see (never a partner without consent, who would learn who has a pathway).
        conditions.append(sa.and_(shared, _search_clause(filters.q)))
    if filters.stage:
        conditions.append(sa.and_(shared, Pathway.stage == filters.stage))
    if filters.referent_id:
        conditions.append(Pathway.referent_id == filters.referent_id)
    if filters.agency_id:
        conditions.append(Pathway.lead_agency_id == filters.agency_id)
    if filters.alert:
        conditions.append(sa.and_(shared, sa.exists().where(
            Alert.pathway_id == Pathway.id, Alert.kind == filters.alert, Alert.status != AlertStatus.RESOLVED
        )))
    if filters.only_alerts:
        conditions.append(sa.and_(shared, alerts.c.n.is_not(None)))

    base = (
        sa.select(
            Pathway,
            Beneficiary,
            referent,
            Agency,
            last_held.c.at,
            next_meeting.c.at,
            sa.func.coalesce(barriers.c.n, 0),
            sa.func.coalesce(alerts.c.n, 0),
            alerts.c.due,
        )
        .join(Beneficiary, Beneficiary.id == Pathway.beneficiary_id)
        .join(Agency, Agency.id == Pathway.lead_agency_id)
        .outerjoin(referent, referent.id == Pathway.referent_id)
        .outerjoin(last_held, last_held.c.pathway_id == Pathway.id)
        .outerjoin(next_meeting, next_meeting.c.pathway_id == Pathway.id)
        .outerjoin(barriers, barriers.c.pathway_id == Pathway.id)
        .outerjoin(alerts, alerts.c.pathway_id == Pathway.id)
        .where(*conditions)
    )
    total = db.session.scalar(sa.select(sa.func.count()).select_from(base.with_only_columns(Pathway.id).subquery()))
    def if_shared(column: Any) -> Any:
        return sa.case((shared, column), else_=sa.null())

    ordered = (
        base.order_by(
            sa.case((shared, 0), else_=1),
            if_shared(alerts.c.due).is_(None),
            if_shared(alerts.c.due),
            if_shared(next_meeting.c.at).is_(None),
            if_shared(next_meeting.c.at),
            if_shared(Beneficiary.last_name),
            if_shared(Beneficiary.first_name),
            Pathway.id,
        )
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    rows = db.session.execute(ordered).all()

    ids = [row[0].id for row in rows]
    kinds: dict[int, list[AlertKind]] = defaultdict(list)
    if ids:
        for pathway_id, kind in db.session.execute(
            sa.select(Alert.pathway_id, Alert.kind)
            .where(Alert.pathway_id.in_(ids), Alert.status != AlertStatus.RESOLVED)
            .order_by(Alert.due_at)
        ):
            if kind not in kinds[pathway_id]:
                kinds[pathway_id].append(kind)
    levels = access.record_access_levels(actor, [row[0] for row in rows])
    items = [
        CaseloadRow(
            pathway=p,
            beneficiary=b,
            referent=r,
            lead_agency=a,
            access=levels[p.id],
            last_held_at=lh,
            next_meeting_at=nm,
            open_barriers=nb,
            alert_count=na,
            first_due_at=due,
            alert_kinds=kinds[p.id],
        )
        for p, b, r, a, lh, nm, nb, na, due in rows
    ]
    return Page(items=items, total=total or 0, page=page, per_page=per_page)
