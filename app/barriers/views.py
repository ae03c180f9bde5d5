"""Barriers in the workspace (HTML): add, update (status, owner, due date), refer to a partner
agency; the partner accepts or declines with a reason from its list, then marks it done."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from app import access
from app.audit.services import record_read
from app.barriers import queries, services
from app.barriers.models import Barrier, BarrierCategory, BarrierStatus, DeclineReason, Referral
from app.barriers.schemas import BarrierSchema, BarrierUpdateSchema, ReferralAnswerSchema, ReferralSchema
from app.core.urls import record_url
from app.core.webforms import FormPage
from app.errors import Forbidden, NotFound
from app.labels import choices
from app.pathways.models import Pathway

bp = Blueprint("barriers", __name__)


def _render(template: str, form: FormPage, pathway: Pathway, **context: object) -> ResponseReturnValue:
    # The form shows who the person is: reading identity, audited like the record.
    record_read(current_user, pathway, what=f"form.{request.endpoint}")
    return render_template(
        template,
        form=form,
        pathway=pathway,
        person=pathway.beneficiary,
        categories=choices(BarrierCategory),
        **context,
    ), form.status


@bp.route("/parcours/<id:pathway_id>/freins/nouveau", methods=["GET", "POST"])
@login_required
def add_barrier(pathway_id: int) -> ResponseReturnValue:
    pathway = access.pathway_for(current_user, pathway_id, access.can_add_barrier)
    form = FormPage({"owner_agency_id": str(current_user.agency_id)}, schema=BarrierSchema())
    if form.submitted and form.submit(
        BarrierSchema(), lambda d: services.add_barrier(current_user, pathway, **d)
    ):
        flash("Le frein est ajouté.", "success")
        return redirect(record_url(pathway.id, "freins"))
    return _render("barriers/add.html", form, pathway, agencies=queries.active_agencies(pathway.territory_id))


@bp.route("/freins/<id:barrier_id>/modifier", methods=["GET", "POST"])
@login_required
def update_barrier(barrier_id: int) -> ResponseReturnValue:
    barrier, pathway = services.get_barrier_or_404(current_user, barrier_id)
    access.require(access.can_update_barrier(current_user, barrier, pathway), current_user, pathway,
                   "Seule la structure du référent ou celle qui porte ce frein peut le modifier.")
    form = FormPage(
        {
            "category": barrier.category.value,
            "title": barrier.title,
            "description": barrier.description,
            "owner_agency_id": str(barrier.owner_agency_id),
            "due_on": barrier.due_on.isoformat() if barrier.due_on else None,
            "status": barrier.status.value,
            "version": barrier.version,
        }, schema=BarrierUpdateSchema()
    )
    if form.submitted and form.submit(
        BarrierUpdateSchema(),
        lambda d: services.update_barrier(current_user, barrier, d, expected_version=form.expected_version),
    ):
        flash("Le frein est mis à jour.", "success")
        return redirect(record_url(pathway.id, "freins"))
    return _render(
        "barriers/update.html",
        form,
        pathway,
        barrier=barrier,
        statuses=choices(BarrierStatus),
        agencies=queries.active_agencies(pathway.territory_id),
    )


@bp.route("/freins/<id:barrier_id>/orienter", methods=["GET", "POST"])
@login_required
def refer_barrier(barrier_id: int) -> ResponseReturnValue:
    barrier, pathway = services.get_barrier_or_404(current_user, barrier_id)
    access.require(access.can_refer_barrier(current_user, pathway), current_user, pathway)
    form = FormPage(schema=ReferralSchema())
    if form.submitted and form.submit(
        ReferralSchema(),
        lambda d: services.refer_barrier(current_user, barrier, **d),
    ):
        flash(
            "Le frein est orienté : la structure partenaire voit la demande dans ses demandes en attente.",
            "success",
        )
        return redirect(record_url(pathway.id, "freins"))
    return _render(
        "barriers/refer.html",
        form,
        pathway,
        barrier=barrier,
        agencies=queries.active_agencies(pathway.territory_id, exclude=current_user.agency_id),
    )


def _referral_or_404(referral_id: int) -> tuple[Referral, Barrier, Pathway]:
    """The referral if the actor may know its pathway exists (else 404); only the agency asked
    answers it (else 403)."""
    referral, barrier, pathway = queries.referral_and_pathway(referral_id)
    if pathway is None or not access.can_see_pathway_exists(current_user, pathway):
        raise NotFound("Cette orientation est introuvable.")
    return referral, barrier, pathway


@bp.route("/orientations/<id:referral_id>/reponse", methods=["GET", "POST"])
@login_required
def answer_referral(referral_id: int) -> ResponseReturnValue:
    referral, barrier, pathway = _referral_or_404(referral_id)
    if not access.can_answer_referral(current_user, referral, pathway):
        raise Forbidden("Seule la structure sollicitée peut répondre à cette orientation.")
    form = FormPage({"accept": "true", "version": referral.version}, schema=ReferralAnswerSchema())
    if form.submitted and form.submit(
        ReferralAnswerSchema(),
        lambda d: services.answer_referral(
            current_user,
            referral,
            accept=d["accept"],
            decline_reason=d.get("decline_reason"),
            comment=d.get("comment"),
            expected_version=form.expected_version,
        ),
    ):
        flash(
            "Votre réponse est transmise au référent."
            if not referral.decline_reason
            else "Votre refus et son motif sont transmis au référent.",
            "success",
        )
        if access.can_read_record(current_user, pathway):
            return redirect(record_url(pathway.id, "freins"))
        return redirect(url_for("pathways.portfolio", onglet="structure"))
    shared = access.can_read_record(current_user, pathway)
    if shared:
        record_read(current_user, pathway, what="form.referral_answer")
    return render_template(
        "barriers/answer.html",
        form=form,
        referral=referral,
        pathway=pathway,
        shared=shared,
        barrier=barrier if shared else None,
        person=pathway.beneficiary if shared else None,
        reasons=choices(DeclineReason),
        sender=queries.referral_sender(referral),
    ), form.status


@bp.post("/orientations/<id:referral_id>/realisee")
@login_required
def complete_referral(referral_id: int) -> ResponseReturnValue:
    referral, _barrier, pathway = _referral_or_404(referral_id)
    services.complete_referral(current_user, referral)
    flash("L'orientation est marquée comme réalisée.", "success")
    return redirect(record_url(pathway.id, "freins"))
