"""What a write changes in the follow-up state, brought up to date in the write's own transaction.

Every ORM flush notes the pathways whose follow-up inputs it wrote; just before the session
commits, `before_commit`
1. locks those pathway rows (`summary.lock`, id order);
2. re-evaluates the follow-up rules for the pathways whose *rule inputs* changed — a scan of just
   those pathways at the current time (`scan.evaluate_pathways`): the alert whose cause the write
   removed (meeting held, barrier lifted, referent named) is resolved, the late situation it
   created is raised, before the response leaves;
3. refreshes their follow-up summary (`app.followup.summary`), which counts the alerts of step 2.
A service that writes with a Core statement instead of the ORM calls `touch(session, ids)`.
A rollback forgets everything noted: a refused write changes no alert.

The rule inputs are derived from the rules (`RULE_INPUTS` must cover `rules.tables_read` of every
rule; `install` refuses to start otherwise), so a new rule reading a new table cannot be forgotten.

Listening on the session keeps the features unaware of it: a meeting service does not import the
follow-up package, and no write can forget the evaluation or the refresh.

Why racing the scan is safe (PostgreSQL, READ COMMITTED; a write never takes the scan's advisory
lock, so a write is never held up by a 10-second scan it does not touch):
- Raising twice is impossible: the partial unique index `uq_alert_one_unresolved` and
  ON CONFLICT DO NOTHING keep one unresolved alert per (pathway, kind, subject), whoever inserts
  first; resolving skips alerts already resolved, so it is idempotent.
- No deadlock: the write and the scan both lock the pathway rows (id order, FOR NO KEY UPDATE)
  before writing these pathways' alerts or summary — the write at its first flush of an alert
  (`_lock_before_alert_writes`) and in `before_commit`, the scan for the pathways of its
  difference before applying it. Whoever locks a pathway first finishes with it before the other
  touches its alerts.
- Summaries are exact: each side computes them in a statement that starts after its locks were
  granted, so it sees what the other committed.
- Alerts: the scan evaluates from a snapshot taken before it locks. A write that committed in
  between may see the scan re-apply that older view to its pathway (e.g. re-raise the alert the
  write resolved). That pathway's rows were written after the scan started, so the next scan
  (incremental: `updated_at` after the previous start) re-examines and repairs it, and so does
  the next write of that pathway — the same bound as before this module existed, for this race only.
- Incremental bookkeeping stays right: the write-time evaluation writes only alerts (never
  `scan_state`), and the rows the write changed carry a new `updated_at`, so the next
  incremental scan re-examines these pathways anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.accounts.models import Territory
from app.barriers.models import Barrier, Referral
from app.db_types import utcnow
from app.followup import scan, summary
from app.followup.models import Alert
from app.followup.rules import RULES, tables_read
from app.meetings.models import Meeting
from app.pathways.models import Consent, Contract, Pathway, PathwayMember

_TOUCHED = "parcours.followup.touched_pathways"  # summary to refresh
_EVALUATE = "parcours.followup.evaluate_pathways"  # rules to re-evaluate (inputs written)
_REFERRALS = "parcours.followup.touched_barriers"  # referrals written: their barriers' pathways
_LOCKED = "parcours.followup.locked_pathways"  # locked in this transaction already

# The tables the rules read, and how an ORM object of each names its pathway (a referral names
# its barrier: the pathway is looked up at commit).
RULE_INPUTS: dict[type, Callable[[Any], int | None]] = {
    Pathway: lambda obj: obj.id,
    Meeting: lambda obj: obj.pathway_id,
    Barrier: lambda obj: obj.pathway_id,
    Contract: lambda obj: obj.pathway_id,
    Referral: lambda obj: None,
}
# The instant writes are evaluated at: the wall clock (a test replaying a history sets its own).
clock: Callable[[], datetime] = utcnow

# The rows the summary reads besides the rule inputs: alerts (the rules' output, not input); a team
# member (added: gets the copy of the order) and a consent (given or withdrawn: whether each member
# agency reads the record, copied onto the memberships).
_SUMMARY_ONLY = (Alert, PathwayMember, Consent)


def uncovered_rule_tables() -> set[str]:
    """Tables some rule reads that `RULE_INPUTS` does not list (must be empty)."""
    read = set().union(*(tables_read(rule) for rule in RULES.values()))
    return read - {model.__table__.name for model in RULE_INPUTS}


def touch(session: Session, pathway_ids: Iterable[int]) -> None:
    """Note pathways written outside the ORM: re-evaluated and refreshed when the session commits."""
    ids = set(pathway_ids)
    session.info.setdefault(_TOUCHED, set()).update(ids)
    session.info.setdefault(_EVALUATE, set()).update(ids)


def _lock_before_alert_writes(session: Session, _context: Any, _instances: Any) -> None:
    """Before a flush writes alerts, lock their pathways (the order the scan takes: pathway, then
    alerts — see the module docstring)."""
    ids = {
        obj.pathway_id
        for obj in (*session.new, *session.dirty, *session.deleted)
        if isinstance(obj, Alert) and obj.pathway_id is not None
    }
    locked = session.info.setdefault(_LOCKED, set())
    if ids - locked:
        summary.lock(session.connection(), ids - locked)
        locked.update(ids)


def _collect(session: Session, _context: Any) -> None:
    info = session.info
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Referral):
            if obj.barrier_id is not None:
                info.setdefault(_REFERRALS, set()).add(obj.barrier_id)
            continue
        pathway_of = RULE_INPUTS.get(type(obj))
        if pathway_of is not None:
            pathway_id = pathway_of(obj)
            if pathway_id is not None:
                info.setdefault(_EVALUATE, set()).add(pathway_id)
                info.setdefault(_TOUCHED, set()).add(pathway_id)
        elif isinstance(obj, _SUMMARY_ONLY) and obj.pathway_id is not None:
            info.setdefault(_TOUCHED, set()).add(obj.pathway_id)


def _before_commit(session: Session) -> None:
    # `before_commit` runs before the commit's own flush: flush first, so that changes still
    # pending (a service that did not flush) are noted too. A no-op when nothing is pending.
    session.flush()
    info = session.info
    if not (info.get(_TOUCHED) or info.get(_EVALUATE) or info.get(_REFERRALS)):
        info.pop(_LOCKED, None)
        return
    conn = session.connection()
    evaluate = info.pop(_EVALUATE, set())
    barrier_ids = info.pop(_REFERRALS, set())
    if barrier_ids:
        of_barriers = sa.select(Barrier.pathway_id).where(Barrier.id.in_(sorted(barrier_ids)))
        evaluate |= set(conn.execute(of_barriers).scalars())
    ids = info.pop(_TOUCHED, set()) | evaluate
    info.pop(_LOCKED, None)
    if not ids:
        return
    summary.lock(conn, ids)
    if evaluate and not info.get(scan.SCANNING):  # a scan evaluates at its own `now`
        scan.evaluate_pathways(conn, _territories_of(session, conn, evaluate), sorted(evaluate), clock())
    summary.refresh(conn, ids)


def _territories_of(session: Session, conn: sa.Connection, pathway_ids: set[int]) -> list[Territory]:
    territory_ids = conn.execute(
        sa.select(Pathway.territory_id).where(Pathway.id.in_(sorted(pathway_ids))).distinct()
    ).scalars()
    # `session.get`: the identity map usually has them (the write checked access through them).
    return [t for t in (session.get(Territory, tid) for tid in sorted(territory_ids)) if t is not None]


def _forget(session: Session, *_args: Any) -> None:
    for key in (_TOUCHED, _EVALUATE, _REFERRALS, _LOCKED):
        session.info.pop(key, None)


def install() -> None:
    """Listen on every session (idempotent; called once by the application factory)."""
    uncovered = uncovered_rule_tables()
    if uncovered:
        raise RuntimeError(f"follow-up rules read {sorted(uncovered)}: add them to live.RULE_INPUTS")
    if not sa.event.contains(Session, "after_flush", _collect):
        sa.event.listen(Session, "before_flush", _lock_before_alert_writes)
        sa.event.listen(Session, "after_flush", _collect)
        sa.event.listen(Session, "before_commit", _before_commit)
        sa.event.listen(Session, "after_rollback", _forget)
