"""A pathway's follow-up summary, kept on the `pathway` row so lists never aggregate per request.

Five columns of `pathway` answer what « Mon portefeuille », the API lists and the sorting of the
caseload need — the earliest planned meeting (`next_meeting_at`, past ones included: they wait to
be recorded), the last held one (`last_held_at`), the number of open barriers and of unresolved
alerts, and the earliest deadline among those alerts (`first_alert_due_at`). Reading them costs
what a page shows; computing them per request cost a `GROUP BY` over the whole `meeting`,
`barrier` and `alert` tables (7 M meetings at 1 M people).

They are *derived*: `refresh(conn, ids)` recomputes them from the source rows (never by deltas,
so a refresh is idempotent and repairs any drift), and is called
- by every ORM write, from the session hook of `app.followup.live` (in the write's transaction);
- by the follow-up scan for the pathways whose alerts it changed;
- by `rebuild(conn)` after bulk loads (the demo seeder) and by the migration that added them.

Concurrency (PostgreSQL, READ COMMITTED): `refresh` first locks the pathway rows (in id order, so
two writers never deadlock), then computes in a *new* statement, whose snapshot sees everything
committed by a writer that held the lock before. Every writer of meetings, barriers or alerts
refreshes before committing, so the last one to commit always computes from all the rows.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from app.barriers.models import Barrier, BarrierStatus
from app.followup.models import Alert, AlertStatus
from app.meetings.models import Meeting, MeetingStatus
from app.pathways.models import Consent, Pathway, PathwayMember

OPEN_BARRIER_STATUSES = (BarrierStatus.OPEN.value, BarrierStatus.IN_PROGRESS.value)

_pathway = Pathway.__table__
_meeting = Meeting.__table__
_barrier = Barrier.__table__
_alert = Alert.__table__
_member = PathwayMember.__table__
_consent = Consent.__table__

# Above this many pathways, `refresh` takes the ids from a temporary table rather than an IN list.
_BATCH = 5_000


SUMMARY_COLUMNS = ("next_meeting_at", "last_held_at", "open_barrier_count", "open_alert_count", "first_alert_due_at")


def _update(conn: sa.Connection, computed: sa.Subquery) -> int:
    """Write the computed summaries that differ from the stored ones (unchanged rows stay untouched)."""
    return conn.execute(_update_statement(computed)).rowcount or 0


def _update_statement(computed: sa.Subquery) -> sa.Update:
    changed = sa.or_(*[_pathway.c[name].is_distinct_from(computed.c[name]) for name in SUMMARY_COLUMNS])
    return (
        sa.update(_pathway)
        .where(_pathway.c.id == computed.c.pathway_id, changed)
        # `updated_at` is the pathway's own history (incremental scans read it): a summary
        # refresh is not a change of the pathway, so it keeps its value (no `onupdate`).
        .values(updated_at=_pathway.c.updated_at, **{name: computed.c[name] for name in SUMMARY_COLUMNS})
    )


MEMBER_COPIES = {
    "pathway_open": lambda p: p.c.closed_at.is_(None),
    # The member agency reads the record (app/access.py: it leads it, or consent is given).
    "pathway_shared": lambda p: sa.or_(
        p.c.lead_agency_id == _member.c.agency_id,
        sa.exists().where(_consent.c.pathway_id == p.c.id, _consent.c.withdrawn_at.is_(None)),
    ),
    "first_alert_due_at": lambda p: p.c.first_alert_due_at,
    "next_meeting_at": lambda p: p.c.next_meeting_at,
}


def _update_members(conn: sa.Connection, where: Any) -> int:
    """Copy each pathway's open state, caseload order and whether each member agency reads it
    onto its active team members (the team list reads them from one index of the agency's rows).
    `where(p)` selects the pathways."""
    return conn.execute(_update_members_statement(where)).rowcount or 0


def _update_members_statement(where: Any) -> sa.Update:
    p = _pathway.alias("p")
    values = {name: copy(p) for name, copy in MEMBER_COPIES.items()}
    return (
        sa.update(_member)
        .where(
            _member.c.pathway_id == p.c.id,
            _member.c.removed_at.is_(None),
            where(p),
            sa.or_(*[_member.c[name].is_distinct_from(value) for name, value in values.items()]),
        )
        .values(**values)
    )


# The ids of a refresh, bound at execution: its two statements are built once (building them cost
# more Python time than running them, on every write).
_REFRESH_IDS = sa.bindparam("refresh_ids", expanding=True, type_=sa.Integer)


@functools.cache
def _refresh_statements() -> tuple[sa.Update, sa.Update]:
    p = _pathway.alias("p")
    return (
        _update_statement(_computed_for(p.c.id.in_(_REFRESH_IDS), p)),
        _update_members_statement(lambda p: p.c.id.in_(_REFRESH_IDS)),
    )


def refresh(conn: sa.Connection, pathway_ids: Iterable[int]) -> int:
    """Recompute the summary of these pathways from their rows; returns how many rows changed."""
    ids = sorted(set(pathway_ids))
    if not ids:
        return 0
    changed = 0
    for start in range(0, len(ids), _BATCH):
        chunk = ids[start : start + _BATCH]
        lock(conn, chunk)  # lock first, compute in the next statement (see the module docstring)
        pathways, members = _refresh_statements()
        changed += conn.execute(pathways, {"refresh_ids": chunk}).rowcount or 0
        conn.execute(members, {"refresh_ids": chunk})
    return changed


def lock(conn: sa.Connection, pathway_ids: Iterable[int]) -> None:
    """Lock these pathway rows (PostgreSQL), in id order: every writer of a pathway's follow-up
    state — a write's session hook and the scan — locks its pathway rows this way before it writes
    their alerts or summary, so two of them never wait for each other in a cycle.

    FOR NO KEY UPDATE: it serialises writers of the follow-up state without blocking the foreign-key
    checks (FOR KEY SHARE) of rows being inserted for these pathways (a new meeting…)."""
    ids = sorted(set(pathway_ids))
    if ids and conn.dialect.name == "postgresql":
        for start in range(0, len(ids), _BATCH):
            chunk = ids[start : start + _BATCH]
            conn.execute(_lock_by_ids(), {"refresh_ids": chunk}).all()


def lock_selected(conn: sa.Connection, pathway_ids: sa.Select) -> None:
    """`lock` for the pathways a SELECT of ids returns (the scan's changed pathways), in one
    statement: the rows are locked in id order (the sort is below the locking step)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.count()).select_from(_lock_statement(_pathway.c.id.in_(pathway_ids)).subquery()))


@functools.cache
def _lock_by_ids() -> sa.Select:
    return _lock_statement(_pathway.c.id.in_(_REFRESH_IDS))


def _lock_statement(where: sa.ColumnElement[bool]) -> sa.Select:
    return sa.select(_pathway.c.id).where(where).order_by(_pathway.c.id).with_for_update(key_share=True)


def refresh_alerts_selected(conn: sa.Connection, pathway_ids: sa.Select) -> int:
    """Recompute only the alert columns (`open_alert_count`, `first_alert_due_at`) of the
    pathways a SELECT of ids returns: what a scan changes (it writes alerts, nothing else).

    One UPDATE … FROM an aggregate of their unresolved alerts grouped by pathway (a hash join
    when they are many, the partial unique index when few), writing only the rows that differ.
    The caller has locked the rows (`lock_selected`) in an earlier statement, so this one's
    snapshot sees every write committed before."""
    statement, members = _refresh_alerts_statements(pathway_ids)
    changed_rows = conn.execute(statement).rowcount or 0
    conn.execute(members)  # the team list's copy of the deadline
    return changed_rows


@functools.lru_cache(maxsize=8)
def _refresh_alerts_statements(pathway_ids: sa.Select) -> tuple[sa.Update, sa.Update]:
    """The two statements of `refresh_alerts_selected`, built once per SELECT of ids (the scan
    passes the same one each time; a clause element hashes by identity)."""
    changed = pathway_ids.distinct().subquery("changed")
    computed = (
        sa.select(
            changed.c.pathway_id,
            sa.func.count(_alert.c.id).label("open_alert_count"),
            sa.func.min(_alert.c.due_at).label("first_alert_due_at"),
        )
        .select_from(changed)
        .outerjoin(
            _alert,
            sa.and_(_alert.c.pathway_id == changed.c.pathway_id, _alert.c.status != AlertStatus.RESOLVED.value),
        )
        .group_by(changed.c.pathway_id)
        .subquery("computed")
    )
    columns = ("open_alert_count", "first_alert_due_at")
    statement = (
        sa.update(_pathway)
        .where(
            _pathway.c.id == computed.c.pathway_id,
            sa.or_(*[_pathway.c[name].is_distinct_from(computed.c[name]) for name in columns]),
        )
        .values(updated_at=_pathway.c.updated_at, **{name: computed.c[name] for name in columns})
    )
    return statement, _update_members_statement(lambda p: p.c.id.in_(pathway_ids))


def rebuild(conn: sa.Connection, *, territory_id: int | None = None) -> int:
    """Recompute every pathway's summary (after a bulk load, or as a repair); returns rows changed."""
    p = _pathway.alias("p")
    where = sa.true() if territory_id is None else p.c.territory_id == territory_id
    computed = _computed_for(where, p)
    changed = _update(conn, computed)
    _update_members(conn, lambda p: sa.true() if territory_id is None else p.c.territory_id == territory_id)
    return changed


def drift(conn: sa.Connection, *, territory_id: int | None = None, limit: int = 20) -> list[int]:
    """Pathways whose stored summary (or its copy on a team member) differs from a recount
    (empty when everything is exact)."""
    p = _pathway.alias("p")
    where = sa.true() if territory_id is None else p.c.territory_id == territory_id
    computed = _computed_for(where, p)
    changed = sa.or_(*[_pathway.c[name].is_distinct_from(computed.c[name]) for name in SUMMARY_COLUMNS])
    query = (
        sa.select(_pathway.c.id)
        .where(_pathway.c.id == computed.c.pathway_id, changed)
        .order_by(_pathway.c.id)
        .limit(limit)
    )
    ids = set(conn.execute(query).scalars())
    p = _pathway.alias("p")
    members = (
        sa.select(_member.c.pathway_id)
        .where(
            _member.c.pathway_id == p.c.id,
            _member.c.removed_at.is_(None),
            sa.true() if territory_id is None else p.c.territory_id == territory_id,
            sa.or_(*[_member.c[name].is_distinct_from(copy(p)) for name, copy in MEMBER_COPIES.items()]),
        )
        .limit(limit)
    )
    ids.update(conn.execute(members).scalars())
    return sorted(ids)[:limit]


def _computed_for(where: sa.ColumnElement[bool], p: sa.Alias) -> sa.Subquery:
    """Per pathway of `p` selected by `where`, its summary computed from the source rows, each value
    read through an index (meeting by (pathway, status, time), barrier by (pathway, status), alert
    by the partial unique index of unresolved alerts)."""
    pid = p.c.id
    open_alert = sa.and_(_alert.c.pathway_id == pid, _alert.c.status != AlertStatus.RESOLVED.value)
    subquery = (
        sa.select(
            pid.label("pathway_id"),
            sa.select(sa.func.min(_meeting.c.scheduled_at))
            .where(_meeting.c.pathway_id == pid, _meeting.c.status == MeetingStatus.PLANNED.value)
            .scalar_subquery()
            .label("next_meeting_at"),
            sa.select(sa.func.max(_meeting.c.scheduled_at))
            .where(_meeting.c.pathway_id == pid, _meeting.c.status == MeetingStatus.HELD.value)
            .scalar_subquery()
            .label("last_held_at"),
            sa.select(sa.func.count())
            .select_from(_barrier)
            .where(_barrier.c.pathway_id == pid, _barrier.c.status.in_(OPEN_BARRIER_STATUSES))
            .scalar_subquery()
            .label("open_barrier_count"),
            sa.select(sa.func.count()).select_from(_alert).where(open_alert).scalar_subquery().label("open_alert_count"),
            sa.select(sa.func.min(_alert.c.due_at)).where(open_alert).scalar_subquery().label("first_alert_due_at"),
        )
        .where(where)
        .subquery("computed")
    )
    return subquery
