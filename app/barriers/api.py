"""JSON API of barriers and their referrals to partners (thin)."""

from __future__ import annotations

from flask import Response

from app import access
from app.api.core import (
    PageQuerySchema,
    current_user,
    if_match,
    json_body,
    operation,
    query_args,
    respond,
    respond_page,
)
from app.audit.services import record_read
from app.barriers import queries
from app.barriers import services as barriers
from app.barriers.schemas import (
    BarrierOutSchema,
    BarrierSchema,
    BarrierUpdateSchema,
    ReferralAnswerSchema,
    ReferralOutSchema,
    ReferralSchema,
)
from app.core.pages import paginate
from app.errors import Conflict, NotFound


class BarrierListQuerySchema(PageQuerySchema):
    pass


@operation(
    "GET",
    "/pathways/{pathway_id}/barriers",
    summary="Freins du parcours",
    tag="Freins",
    query=BarrierListQuerySchema,
    response=BarrierOutSchema,
    paginated=True,
)
def list_barriers(pathway_id: int) -> Response:
    user = current_user()
    pathway = access.get_pathway_or_404(user, pathway_id)
    args = query_args(BarrierListQuerySchema())
    page = paginate(queries.barriers_of(pathway), args["page"], args["per_page"])
    record_read(user, pathway, what="barriers")
    return respond_page(page, BarrierOutSchema(many=True).dump(page.items))


@operation(
    "POST",
    "/pathways/{pathway_id}/barriers",
    summary="Ajouter un frein",
    tag="Freins",
    body=BarrierSchema,
    response=BarrierOutSchema,
    status=201,
    etag=True,
    errors=(403,),
)
def add_barrier(pathway_id: int) -> Response:
    user = current_user()
    pathway = access.get_pathway_or_404(user, pathway_id, minimum=access.RecordAccess.EXISTENCE)
    data = json_body(BarrierSchema())
    barrier = barriers.add_barrier(user, pathway, **data)
    return respond(BarrierOutSchema(), barrier, status=201, version=barrier.version)


@operation(
    "PATCH",
    "/barriers/{barrier_id}",
    summary="Modifier un frein (statut, échéance, porteur…)",
    tag="Freins",
    body=BarrierUpdateSchema,
    response=BarrierOutSchema,
    etag=True,
    if_match="required",
    errors=(403,),
)
def update_barrier(barrier_id: int) -> Response:
    user = current_user()
    barrier, _pathway = barriers.get_barrier_or_404(user, barrier_id)
    changes = json_body(BarrierUpdateSchema())
    barrier = barriers.update_barrier(user, barrier, changes, expected_version=if_match())
    return respond(BarrierOutSchema(), barrier, version=barrier.version)


@operation(
    "POST",
    "/barriers/{barrier_id}/referral",
    summary="Orienter le frein vers un partenaire",
    tag="Freins",
    body=ReferralSchema,
    response=ReferralOutSchema,
    status=201,
    errors=(403,),
)
def refer_barrier(barrier_id: int) -> Response:
    """The partner agency joins the team if needed, and answers with its own account."""
    user = current_user()
    barrier, _pathway = barriers.get_barrier_or_404(user, barrier_id)
    data = json_body(ReferralSchema())
    referral = barriers.refer_barrier(user, barrier, agency_id=data["agency_id"], message=data.get("message"))
    return respond(ReferralOutSchema(), referral, status=201)


@operation(
    "POST",
    "/barriers/{barrier_id}/referral/answer",
    summary="Répondre à une orientation (partenaire)",
    tag="Freins",
    body=ReferralAnswerSchema,
    response=ReferralOutSchema,
    if_match="optional",
    errors=(403,),
)
def answer_referral(barrier_id: int) -> Response:
    """The agency asked accepts, or declines with a reason. `If-Match` (optional) is the referral's
    version."""
    user = current_user()
    barrier, pathway = queries.barrier_and_pathway(barrier_id)
    if pathway is None or not access.can_see_pathway_exists(user, pathway):
        raise NotFound("Ce frein est introuvable.")
    data = json_body(ReferralAnswerSchema())
    referral = queries.referral_awaiting_answer(barrier)
    if referral is None:
        raise Conflict("Aucune orientation de ce frein n'attend de réponse.")
    referral = barriers.answer_referral(
        user,
        referral,
        accept=data["accept"],
        decline_reason=data.get("decline_reason"),
        comment=data.get("comment"),
        expected_version=if_match(required=False),
    )
    return respond(ReferralOutSchema(), referral, version=referral.version)
