"""JSON API of the audit trail of a record (thin)."""

from __future__ import annotations

from flask import Response

from app import access
from app.api.core import PageQuerySchema, current_user, operation, query_args, respond_page
from app.audit.queries import audit_trail_of
from app.audit.schemas import AuditEventOutSchema
from app.audit.services import record_read
from app.core.pages import paginate


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
    page = paginate(audit_trail_of(pathway), args["page"], args["per_page"])
    record_read(user, pathway, what="audit")
    return respond_page(page, AuditEventOutSchema(many=True).dump(page.items))
