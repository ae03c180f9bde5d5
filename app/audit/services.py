"""Writing the audit trail. Callers add events inside their own transaction (one commit)."""
from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.audit.models import AuditEvent
from app.db_types import utcnow
from app.extensions import db
from app.transaction import in_unit_of_work, unit_of_work

if TYPE_CHECKING:
    from app.accounts.models import User
    from app.pathways.models import Pathway


def record_event(
    actor: User | None,
    action: str,
    *,
    object_type: str,
    object_id: int | None = None,
    pathway: Pathway | None = None,
    territory_id: int | None = None,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Add an audit event to the current session (the caller commits).

    `details` must hold facts (field names, ids, statuses), never the text of a note.
    """
    if territory_id is None:
        territory_id = pathway.territory_id if pathway is not None else actor.territory_id if actor else None
    if territory_id is None:
        raise ValueError("an audit event needs a territory")
    event = AuditEvent(
        territory_id=territory_id,
        actor_id=actor.id if actor else None,
        actor_agency_id=actor.agency_id if actor else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        pathway_id=pathway.id if pathway is not None else None,
        details=details or {},
        occurred_at=at or utcnow(),
    )
    db.session.add(event)
    return event


def record_read(actor: User, pathway: Pathway, *, what: str = "record") -> None:
    """Log that `actor` opened the record of `pathway`, and commit it at once (or with the caller's
    unit of work, when called inside one: no savepoint, the event is written with the rest or not)."""
    with nullcontext() if in_unit_of_work() else unit_of_work():
        record_event(actor, f"pathway.read.{what}", object_type="pathway", object_id=pathway.id, pathway=pathway)


def record_shown(
    actor: User,
    action: str,
    *,
    pathway_ids: list[int] | tuple[int, ...] = (),
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Log that `actor` was shown the people of `pathway_ids` (a search, a list, an export, a feed).

    One event per page shown, in the caller's transaction (the caller commits): the ids of the
    pathways displayed, and facts such as filter *names* or a page number — never a note, and never
    the text typed in a search box (a name is personal data; the ids say whom it found).
    """
    ids = sorted({int(i) for i in pathway_ids})
    return record_event(
        actor, action, object_type="pathway_list", territory_id=actor.territory_id, at=at,
        details={**(details or {}), "count": len(ids), "pathway_ids": ids},
    )
