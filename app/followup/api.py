"""JSON API of alerts and overdue follow-ups (thin). The scan itself is not an API operation."""

from __future__ import annotations

from flask import Response
from marshmallow import fields, validate

from app import access
from app.api.core import (
    PageQuerySchema,
    current_user,
    id_field,
    operation,
    query_args,
    respond,
    respond_page,
)
from app.audit.services import record_shown
from app.core.pages import COUNT_CAP, Page, paginate
from app.errors import Forbidden
from app.followup import queries
from app.followup import services as alerts
from app.followup.models import AlertKind, AlertStatus
from app.followup.schemas import AlertOutSchema
from app.transaction import unit_of_work

STATUS_FILTERS = ["unresolved", *[s.value for s in AlertStatus]]
# What « suivi en retard » means for a manager: a person not seen when they should have been.


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
    window = max(args["page"] * args["per_page"], COUNT_CAP + 1)
    stmt = queries.alerts_list(user, status=args["status"], kind=args.get("kind"), referent_id=args.get("referent_id"),
                               window=window)
    return _alerts_page(user, paginate(stmt, args["page"], args["per_page"], cap=COUNT_CAP), "api.alerts")


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
    window = max(args["page"] * args["per_page"], COUNT_CAP + 1)
    stmt = queries.overdue_followups(user, agency_id=args.get("agency_id"), referent_id=args.get("referent_id"),
                                     window=window)
    return _alerts_page(user, paginate(stmt, args["page"], args["per_page"], cap=COUNT_CAP),
                        "api.followups_overdue")


def _alerts_page(user: object, page: Page, list_name: str) -> Response:
    """Answer a page of alerts, then audit whom it showed (after the dump: the commit expires rows)."""
    dumped = AlertOutSchema(many=True).dump(page.items)
    with unit_of_work():
        record_shown(user, "alert.list", pathway_ids=[a.pathway_id for a in page.items],
                     details={"list": list_name, "page": page.page})
    return respond_page(page, dumped)
