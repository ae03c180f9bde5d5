"""What a write changes in the follow-up state, brought up to date in the write's own transaction.

Every ORM flush notes the pathways whose meetings, barriers or alerts it wrote; just before the
session commits, `before_commit` refreshes their follow-up summary (`app.followup.summary`). A
service that writes with a Core statement instead of the ORM calls `touch(session, ids)`.

Listening on the session keeps the features unaware of it: a meeting service does not import the
follow-up package, and no write can forget the refresh.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.barriers.models import Barrier
from app.followup import summary
from app.followup.models import Alert
from app.meetings.models import Meeting
from app.pathways.models import Consent, Pathway, PathwayMember

_TOUCHED = "parcours.followup.touched_pathways"
# Rows whose writes change a pathway's summary (or its copy on the team members): meetings,
# barriers and alerts; a pathway itself (closed, reopened, led elsewhere); a team member (added:
# gets the copy); a consent (given or withdrawn: who reads the record).
_SOURCES = (Meeting, Barrier, Alert, PathwayMember, Consent)


def touch(session: Session, pathway_ids: Iterable[int]) -> None:
    """Note pathways written outside the ORM: they are refreshed when the session commits."""
    session.info.setdefault(_TOUCHED, set()).update(pathway_ids)


def _collect(session: Session, _context: Any) -> None:
    touched: set[int] | None = None
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, _SOURCES):
            pathway_id = obj.pathway_id
        elif isinstance(obj, Pathway):
            pathway_id = obj.id
        else:
            continue
        if pathway_id is not None:
            if touched is None:
                touched = session.info.setdefault(_TOUCHED, set())
            touched.add(pathway_id)


def _refresh(session: Session) -> None:
    # `before_commit` runs before the commit's own flush: flush the pending changes first, so
    # `_collect` sees them (a change not yet flushed would otherwise commit unrefreshed).
    if session.new or session.dirty or session.deleted:
        session.flush()
    ids = session.info.pop(_TOUCHED, set())
    if ids:
        summary.refresh(session.connection(), ids)


def _forget(session: Session, *_args: Any) -> None:
    session.info.pop(_TOUCHED, None)


def install() -> None:
    """Listen on every session (idempotent; called once by the application factory)."""
    if not sa.event.contains(Session, "after_flush", _collect):
        sa.event.listen(Session, "after_flush", _collect)
        sa.event.listen(Session, "before_commit", _refresh)
        sa.event.listen(Session, "after_rollback", _forget)
