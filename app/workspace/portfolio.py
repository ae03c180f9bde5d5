"""« Mon portefeuille »: the people a professional follows, most urgent first — a read model that
combines pathways, meetings, barriers and alerts, hence its place above the features."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from app import access
from app.accounts.models import Agency, User
from app.core.pages import Page, after_clause
from app.extensions import db
from app.followup.models import Alert, AlertKind, AlertStatus
from app.pathways.models import (
    Beneficiary,
    Pathway,
    PathwayMember,
    Stage,
)
from app.pathways.search import search_clause

# Made once (see app/workspace/timeline.py).
_REFERENT = aliased(User, name="referent")

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


# Lists longer than this are counted up to here only (« plus de 500 ») : a page costs what it
# shows, and nobody pages through five hundred people — they search or filter.
COUNT_CAP = 500


def _conditions(actor: User, filters: CaseloadFilters) -> list[sa.ColumnElement[bool]]:
    """The list's filters, apart from access (which `caseload` adds per segment)."""
    conditions: list[sa.ColumnElement[bool]] = []
    if filters.scope == "mine":
        conditions.append(Pathway.referent_id == actor.id)  # not an access rule: the tab (access: _segments)
    elif filters.scope == "agency":
        conditions.append(Pathway.lead_agency_id == actor.agency_id)  # not an access rule: the tab (access: _segments)
    if filters.referent_id:
        conditions.append(Pathway.referent_id == filters.referent_id)
    if filters.agency_id:
        conditions.append(Pathway.lead_agency_id == filters.agency_id)
    # Searching by name or number is reading identity, filtering by stage or alerts is reading
    # the record: only among records the user may read (never a partner without consent, who
    # would learn who has a pathway, or in which state).
    if filters.q:
        # The territory is implied by the pathway's, but named, it lets the number indexes serve.
        conditions += [access.territory_clause(actor, Beneficiary.territory_id), search_clause(filters.q)]
    if filters.stage:
        conditions.append(Pathway.stage == filters.stage)
    if filters.alert:
        conditions.append(sa.exists().where(
            Alert.pathway_id == Pathway.id, Alert.kind == filters.alert, Alert.status != AlertStatus.RESOLVED
        ))
    if filters.only_alerts:
        # "Has an unresolved alert", as the urgency indexes can read it (a deadline exists exactly
        # when an alert does: app/followup/summary.py).
        conditions.append(Pathway.first_alert_due_at.is_not(None))
    return conditions


@dataclass
class _Segments:
    """Access of a list's two segments, and where their order is read from."""

    readable: sa.ColumnElement[bool]  # the records the actor may read
    hidden: sa.ColumnElement[bool] | None  # those the actor may only know exist (None: none can be listed)
    via_members: bool  # the team list: rows walked from the agency's memberships

    @property
    def order(self) -> Any:
        """The table whose copy of the caseload order (and open state) the list reads."""
        return PathwayMember if self.via_members else Pathway


def _segments(actor: User, filters: CaseloadFilters) -> _Segments:
    if filters.scope == "team":
        segments = _Segments(
            access.team_membership_clause(actor, minimum=access.RecordAccess.SHARED),
            access.team_existence_only_clause(actor),
            via_members=True,
        )
    else:
        readable = access.readable_pathways_clause(actor, minimum=access.RecordAccess.SHARED)
        hidden = sa.and_(access.readable_pathways_clause(actor), sa.not_(readable)) if filters.scope == "all" else None
        segments = _Segments(readable, hidden, via_members=False)
    if _filters_read_the_record(filters):
        segments.hidden = None  # filters on identity or state never select existence-only rows
    return segments


def _filters_read_the_record(filters: CaseloadFilters) -> bool:
    return bool(filters.q or filters.stage or filters.alert or filters.only_alerts)


def _base(segments: _Segments, columns: list[Any]) -> sa.Select:
    query = sa.select(*columns)
    if segments.via_members:
        return query.select_from(PathwayMember).join(Pathway, Pathway.id == PathwayMember.pathway_id)
    return query.select_from(Pathway)


def _capped_count(segments: _Segments, *where: sa.ColumnElement[bool], by_name: bool = False,
                  cap: int | None = None) -> int:
    """How many pathways match, counted up to `cap` + 1 (an index walk of that length at most).

    Over `pathway` (and the memberships for the team list) alone: the rows query only adds inner
    joins along foreign keys, which keep every row; a search by name (`by_name`) reads `beneficiary`."""
    query = _base(segments, [Pathway.id]).where(*where)
    if by_name:
        query = query.join(Beneficiary, Beneficiary.id == Pathway.beneficiary_id)
    limited = query.limit((COUNT_CAP if cap is None else cap) + 1).subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(limited)) or 0


def caseload(actor: User, filters: CaseloadFilters, *, page: int = 1, per_page: int = 25) -> Page:
    """People the actor follows, most urgent first: with alerts (oldest deadline first), then by the
    nearest deadline (the earliest planned meeting), then by record number (the oldest first) —
    an order read whole from an index, so the database stops after the page's rows.

    The order reads the follow-up summary kept on `pathway` (app/followup/summary.py; copied onto
    the team memberships for « suivis par ma structure ») and is served by the urgency indexes, so
    a page costs its rows, not the size of the caseload: the count stops at COUNT_CAP, and pages
    beyond it are empty.

    Pathways the actor may only know exist (a partner without consent) must not be told apart by
    their state: they come after every readable one, by number, whatever their deadlines or names,
    and no filter on identity or state ever selects them.
    """
    page = max(1, page)
    per_page = max(1, min(per_page, 200))
    offset = (page - 1) * per_page
    conditions = _conditions(actor, filters)
    segments = _segments(actor, filters)
    order = segments.order
    referent = _REFERENT

    readable = [segments.readable]
    if not filters.include_closed:
        readable.append(PathwayMember.pathway_open if segments.via_members else Pathway.closed_at.is_(None))
    readable_total = _capped_count(segments, *conditions, *readable, by_name=bool(filters.q))
    hidden_total = 0
    if segments.hidden is not None and readable_total <= COUNT_CAP:  # else the total is already capped
        hidden_total = _capped_count(segments, *conditions, segments.hidden, cap=COUNT_CAP - readable_total)
    total = min(readable_total + hidden_total, COUNT_CAP + 1)

    def rows_query(*where: sa.ColumnElement[bool]) -> sa.Select:
        return (
            _base(segments, [Pathway, Beneficiary, referent, Agency])
            .join(Beneficiary, Beneficiary.id == Pathway.beneficiary_id)
            .join(Agency, Agency.id == Pathway.lead_agency_id)
            .outerjoin(referent, referent.id == Pathway.referent_id)
            .where(*conditions, *where)
        )

    rows: list[Any] = []
    wanted = max(0, min(per_page, COUNT_CAP - offset))  # never past what was counted
    if offset < min(readable_total, COUNT_CAP):
        rows += db.session.execute(
            rows_query(*readable)
            .order_by(
                order.first_alert_due_at.asc().nulls_last(),
                order.next_meeting_at.asc().nulls_last(),
                order.pathway_id if segments.via_members else Pathway.id,
            )
            .limit(wanted)
            .offset(offset)
        ).all()
    if segments.hidden is not None and len(rows) < wanted:
        hidden_offset = max(0, offset - readable_total)
        by_number = PathwayMember.pathway_id if segments.via_members else Pathway.id
        rows += db.session.execute(
            rows_query(segments.hidden).order_by(by_number).limit(wanted - len(rows)).offset(hidden_offset)
        ).all()
    items = _caseload_rows(actor, rows)
    return Page(items=items, total=min(total, COUNT_CAP), page=page, per_page=per_page,
                more=total > COUNT_CAP)


def caseload_batches(actor: User, filters: CaseloadFilters, *, batch: int = 500) -> Iterator[list[CaseloadRow]]:
    """The whole list `caseload` pages through (no cap), in its order, `batch` rows at a time: each
    batch is the same ordered query read on from the last row of the one before (keyset), so memory
    holds one batch. Only the records the actor may read: those she may only know exist (listed
    last by `caseload`) are never exported."""
    conditions = _conditions(actor, filters)
    segments = _segments(actor, filters)
    order = segments.order
    referent = _REFERENT
    where = [*conditions, segments.readable]
    if not filters.include_closed:
        where.append(PathwayMember.pathway_open if segments.via_members else Pathway.closed_at.is_(None))
    by_number = PathwayMember.pathway_id if segments.via_members else Pathway.id
    keys = (order.first_alert_due_at, order.next_meeting_at, by_number)
    query = (
        _base(segments, [Pathway, Beneficiary, referent, Agency, *keys])
        .join(Beneficiary, Beneficiary.id == Pathway.beneficiary_id)
        .join(Agency, Agency.id == Pathway.lead_agency_id)
        .outerjoin(referent, referent.id == Pathway.referent_id)
        .where(*where)
        .order_by(keys[0].asc().nulls_last(), keys[1].asc().nulls_last(), by_number)
    )
    last: tuple | None = None
    while True:
        step = query if last is None else query.where(after_clause(keys, last))
        rows = db.session.execute(step.limit(batch)).all()
        if not rows:
            return
        last = tuple(rows[-1][4:])
        yield [row for row in _caseload_rows(actor, [tuple(r[:4]) for r in rows])
               if row.access >= access.RecordAccess.SHARED]
        if len(rows) < batch:
            return


def _caseload_rows(actor: User, rows: list[Any]) -> list[CaseloadRow]:
    """(pathway, beneficiary, referent, agency) rows as the list shows them (what a row may tell
    depends on the actor's access to it)."""
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
    items = []
    for p, b, r, a in rows:
        readable_row = levels[p.id] >= access.RecordAccess.SHARED
        items.append(
            CaseloadRow(
                pathway=p,
                beneficiary=b,
                referent=r,
                lead_agency=a,
                access=levels[p.id],
                last_held_at=p.last_held_at if readable_row else None,
                next_meeting_at=p.next_meeting_at if readable_row else None,
                open_barriers=p.open_barrier_count if readable_row else 0,
                alert_count=p.open_alert_count if readable_row else 0,
                first_due_at=p.first_alert_due_at if readable_row else None,
                alert_kinds=kinds[p.id] if readable_row else [],
            )
        )
    return items

