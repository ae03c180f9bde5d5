"""JSON API of alerts and overdue follow-ups (thin). The scan itself is not an API operation."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response
from marshmallow import fields, validate
from sqlalchemy.orm import selectinload

from app import access
from app.api.core import (
    PageQuerySchema,
    current_user,
    id_field,
    operation,
    paginate,
    query_args,
    respond,
    respond_page,
)
from app.audit.services import record_shown
from app.errors import Forbidden
from app.followup import services as alerts
from app.followup.models import Alert, AlertKind, AlertStatus
from app.followup.schemas import AlertOutSchema
from app.pathways.models import Pathway
from app.transaction import unit_of_work

STATUS_FILTERS = ["unresolved", *[s.value for s in AlertStatus]]
# What « suivi en retard » means for a manager: a person not seen when they should have been.
OVERDUE_KINDS = (
    AlertKind.FOLLOW_UP_OVERDUE,
    AlertKind.CHECKIN_OVERDUE,
    AlertKind.MEETING_UNRECORDED,
    AlertKind.MISSED_NOT_RESCHEDULED,
)


class AlertQuerySchema(PageQuerySchema):
    kind = fields.Enum(AlertKind, by_value=True)
    status = fields.String(
        load_default="unresolved", validate=validate.OneOf(STATUS_FILTERS, error="Choix invalide.")
    )
    referent_id = id_field()


class OverdueQuerySchema(PageQuerySchema):
    agency_id = id_field()
    referent_id = id_field()


@operation(
    "GET",
    "/alerts",
    summary="Alertes des parcours visibles",
    tag="Alertes",
    query=AlertQuerySchema,
    response=AlertOutSchema,
    paginated=True,
)
def list_alerts() -> Response:
    """Alerts of the pathways whose record the caller may read, most overdue first; by default the
    unresolved ones (`status=unresolved`)."""
    user = current_user()
    args = query_args(AlertQuerySchema())
    stmt = (
        sa.select(Alert)
        .join(Pathway, Pathway.id == Alert.pathway_id)
        .where(access.readable_pathways_clause(user, minimum=access.RecordAccess.SHARED))
        .options(selectinload(Alert.pathway))
        .order_by(Alert.due_at, Alert.id)
    )
    if args["status"] == "unresolved":
        stmt = stmt.where(Alert.status != AlertStatus.RESOLVED)
    else:
        stmt = stmt.where(Alert.status == AlertStatus(args["status"]))
    if args.get("kind"):
        stmt = stmt.where(Alert.kind == args["kind"])
    if args.get("referent_id"):
        stmt = stmt.where(Pathway.referent_id == args["referent_id"])
    items, total = paginate(stmt, args["page"], args["per_page"])
    dumped = AlertOutSchema(many=True).dump(items)
    with unit_of_work():  # after the dump: the commit expires the rows
        record_shown(user, "alert.list", pathway_ids=[a.pathway_id for a in items],
                     details={"list": "api.alerts", "page": args["page"]})
    return respond_page(dumped, total=total, page=args["page"], per_page=args["per_page"])


@operation(
    "POST",
    "/alerts/{alert_id}/acknowledge",
    summary="Prendre connaissance d'une alerte",
    tag="Alertes",
    response=AlertOutSchema,
    errors=(403, 409),
)
def acknowledge_alert(alert_id: int) -> Response:
    """The alert stays listed until its cause is gone (the scan resolves it)."""
    user = current_user()
    alert, _pathway = alerts.get_alert_or_404(user, alert_id)
    alert = alerts.acknowledge_alert(user, alert)
    return respond(AlertOutSchema(), alert)


@operation(
    "GET",
    "/followups/overdue",
    summary="Suivis en retard (responsables)",
    tag="Alertes",
    query=OverdueQuerySchema,
    response=AlertOutSchema,
    paginated=True,
    errors=(403,),
)
def list_overdue_followups() -> Response:
    """Managers only: unresolved follow-up alerts of the pathways they steer (led by their agency;
    the whole territory for a manager of the conseil départemental), oldest deadline first."""
    user = current_user()
    if not access.can_steer(user):
        raise Forbidden("Réservé aux responsables de structure.")
    args = query_args(OverdueQuerySchema())
    stmt = (
        sa.select(Alert)
        .join(Pathway, Pathway.id == Alert.pathway_id)
        .where(
            access.steering_pathways_clause(user, agency_id=args.get("agency_id")),
            Alert.status != AlertStatus.RESOLVED,
            Alert.kind.in_(OVERDUE_KINDS),
        )
        .options(selectinload(Alert.pathway))
        .order_by(Alert.due_at, Alert.id)
    )
    if args.get("referent_id"):
        stmt = stmt.where(Pathway.referent_id == args["referent_id"])
    items, total = paginate(stmt, args["page"], args["per_page"])
    dumped = AlertOutSchema(many=True).dump(items)
    with unit_of_work():  # after the dump: the commit expires the rows
        record_shown(user, "alert.list", pathway_ids=[a.pathway_id for a in items],
                     details={"list": "api.followups_overdue", "page": args["page"]})
    return respond_page(dumped, total=total, page=args["page"], per_page=args["per_page"])
