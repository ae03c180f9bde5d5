"""JSON API of the audit trail of a record (thin)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response

from app import access
from app.api.core import PageQuerySchema, current_user, operation, paginate, query_args, respond_page
from app.audit.models import AuditEvent
from app.audit.schemas import AuditEventOutSchema
from app.audit.services import record_read


class AuditQuerySchema(PageQuerySchema):
    pass


@operation(
    "GET",
    "/pathways/{pathway_id}/audit",
    summary="Traçabilité du dossier",
    tag="Traçabilité",
    query=AuditQuerySchema,
    response=AuditEventOutSchema,
    paginated=True,
    errors=(403,),
)
def list_audit_events(pathway_id: int) -> Response:
    """Who read or changed the record, newest first: for the referent's agency and the managers
    steering it. Reading the trail is itself logged."""
    user = current_user()
    pathway = access.get_pathway_or_404(user, pathway_id, minimum=access.RecordAccess.EXISTENCE)
    access.require(
        access.can_read_audit(user, pathway),
        user,
        pathway,
        "La traçabilité de ce dossier est réservée à la structure du référent et aux responsables.",
    )
    args = query_args(AuditQuerySchema())
    stmt = (
        sa.select(AuditEvent)
        .where(AuditEvent.pathway_id == pathway.id)
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    )
    items, total = paginate(stmt, args["page"], args["per_page"])
    record_read(user, pathway, what="audit")
    return respond_page(
        AuditEventOutSchema(many=True).dump(items), total=total, page=args["page"], per_page=args["per_page"]
    )
