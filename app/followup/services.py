"""Alerts for people: acknowledge, list for a referent, and the daily digest."""
from __future__ import annotations

from datetime import datetime

from app import access
from app.accounts.models import User
from app.audit.services import record_event
from app.db_types import utcnow
from app.errors import Conflict, NotFound
from app.extensions import db
from app.followup.models import Alert, AlertStatus
from app.pathways.models import Pathway
from app.transaction import unit_of_work


def get_alert_or_404(actor: User, alert_id: int) -> tuple[Alert, Pathway]:
    alert = db.session.get(Alert, alert_id)
    pathway = db.session.get(Pathway, alert.pathway_id) if alert else None
    if pathway is None or not access.can_read_record(actor, pathway):
        raise NotFound("Cette alerte est introuvable.")
    return alert, pathway


def acknowledge_alert(actor: User, alert: Alert, *, now: datetime | None = None) -> Alert:
    """The referent has seen it. It stays listed until its cause is gone (the scan resolves it)."""
    pathway = db.session.get(Pathway, alert.pathway_id)
    access.require(access.can_acknowledge_alert(actor, pathway), actor, pathway)
    now = now or utcnow()
    if alert.status == AlertStatus.RESOLVED:
        raise Conflict("Cette alerte est déjà résolue.")
    if alert.status == AlertStatus.ACKNOWLEDGED:
        return alert
    with unit_of_work():
        alert.status = AlertStatus.ACKNOWLEDGED
        alert.acknowledged_at = now
        alert.acknowledged_by_id = actor.id
        record_event(actor, "alert.acknowledged", object_type="alert", object_id=alert.id, pathway=pathway,
                     at=now, details={"kind": alert.kind.value})
    return alert
