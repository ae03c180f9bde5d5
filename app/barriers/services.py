"""Barriers to employment as tasks, and their referral to partner agencies (closed loop)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from app import access
from app.accounts.models import Agency, User
from app.audit.services import record_event
from app.barriers.models import (
    Barrier,
    BarrierCategory,
    BarrierStatus,
    DeclineReason,
    Referral,
    ReferralStatus,
)
from app.db_types import utcnow
from app.errors import Conflict, Forbidden, NotFound, ValidationError
from app.extensions import db
from app.followup import summary
from app.notifications.models import NotificationEvent
from app.notifications.services import notify, referral_recipients
from app.pathways.models import Pathway, PathwayMember
from app.transaction import check_version, unit_of_work

EDITABLE_FIELDS = ("category", "title", "description", "owner_agency_id", "due_on", "status")


def _agency_of_territory(territory_id: int, agency_id: Any, field: str) -> Agency:
    agency = db.session.get(Agency, agency_id) if isinstance(agency_id, int) else None
    if agency is None or agency.territory_id != territory_id or not agency.is_active:
        raise ValidationError("Structure introuvable dans ce territoire.", field=field)
    return agency


def get_barrier_or_404(actor: User, barrier_id: int) -> tuple[Barrier, Pathway]:
    barrier = db.session.get(Barrier, barrier_id)
    pathway = db.session.get(Pathway, barrier.pathway_id) if barrier else None
    if pathway is None or not access.can_read_record(actor, pathway):
        raise NotFound("Ce frein est introuvable.")
    return barrier, pathway


def add_barrier(
    actor: User,
    pathway: Pathway,
    *,
    category: BarrierCategory,
    title: str,
    description: str | None = None,
    owner_agency_id: int | None = None,
    due_on: date | None = None,
    now: datetime | None = None,
) -> Barrier:
    access.require(access.can_add_barrier(actor, pathway), actor, pathway)
    if pathway.closed_at is not None:
        raise Conflict("Ce parcours est clôturé.")
    now = now or utcnow()
    title = (title or "").strip()
    if not title:
        raise ValidationError("Décrivez le frein en quelques mots.", field="title")
    owner = _agency_of_territory(pathway.territory_id, owner_agency_id or actor.agency_id, "owner_agency_id")
    with unit_of_work() as session:
        barrier = Barrier(
            territory_id=pathway.territory_id,
            pathway_id=pathway.id,
            category=BarrierCategory(category),
            title=title,
            description=description,
            owner_agency_id=owner.id,
            due_on=due_on,
            status=BarrierStatus.OPEN,
            created_by_id=actor.id,
        )
        session.add(barrier)
        session.flush()
        record_event(
            actor,
            "barrier.added",
            object_type="barrier",
            object_id=barrier.id,
            pathway=pathway,
            at=now,
            details={"category": barrier.category.value},
        )
    return barrier


def update_barrier(
    actor: User,
    barrier: Barrier,
    changes: dict[str, Any],
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Barrier:
    """Change status, due date, owner… Lifting dates the barrier; re-opening clears that date."""
    pathway = db.session.get(Pathway, barrier.pathway_id)
    # The lead agency edits every barrier; a partner edits the barriers its agency owns.
    access.require(access.can_update_barrier(actor, barrier, pathway), actor, pathway,
                   "Seule la structure du référent ou celle qui porte ce frein peut le modifier.")
    now = now or utcnow()
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError("Champ inconnu.", field=sorted(unknown)[0])
    if "owner_agency_id" in changes:
        _agency_of_territory(pathway.territory_id, changes["owner_agency_id"], "owner_agency_id")
    if "title" in changes and not (changes["title"] or "").strip():
        raise ValidationError("Décrivez le frein en quelques mots.", field="title")
    with unit_of_work():
        check_version(barrier, expected_version)
        changed = sorted(k for k, v in changes.items() if getattr(barrier, k) != v)
        for key, value in changes.items():
            setattr(barrier, key, value)
        if "status" in changes:
            barrier.status = BarrierStatus(changes["status"])
            barrier.lifted_at = (barrier.lifted_at or now) if barrier.status == BarrierStatus.LIFTED else None
        record_event(
            actor,
            "barrier.updated",
            object_type="barrier",
            object_id=barrier.id,
            pathway=pathway,
            at=now,
            details={"fields": changed, "status": barrier.status.value},
        )
    return barrier


def refer_barrier(
    actor: User,
    barrier: Barrier,
    *,
    agency_id: int,
    message: str | None = None,
    now: datetime | None = None,
) -> Referral:
    """Send the barrier to a partner agency, which joins the team if it was not in it yet."""
    pathway = db.session.get(Pathway, barrier.pathway_id)
    access.require(access.can_refer_barrier(actor, pathway), actor, pathway)
    now = now or utcnow()
    if barrier.is_settled:
        raise Conflict("Ce frein est levé ou abandonné : il n'y a plus rien à orienter.")
    agency = _agency_of_territory(pathway.territory_id, agency_id, "agency_id")
    if agency.id == actor.agency_id:  # not an access rule: a referral goes to another agency
        raise ValidationError("Choisissez une structure partenaire, pas la vôtre.", field="agency_id")
    pending = db.session.scalar(
        sa.select(Referral).where(
            Referral.barrier_id == barrier.id,
            Referral.status.in_([ReferralStatus.SENT, ReferralStatus.ACCEPTED]),
        )
    )
    if pending is not None:
        raise Conflict("Ce frein a déjà une orientation en cours vers un partenaire.")
    with unit_of_work() as session:
        # Two referrals of one pathway to the same partner at once (two barriers, two tabs) must not
        # both find it outside the team and both add it: the second would break the active-member
        # unique index (a 409 seen under load). The pathway row is locked first, the way the
        # follow-up hook locks it before commit, so the second looks once the first is in.
        summary.lock(session.connection(), [pathway.id])
        is_member = session.scalar(
            sa.select(PathwayMember.id).where(
                PathwayMember.pathway_id == pathway.id,
                PathwayMember.agency_id == agency.id,
                PathwayMember.removed_at.is_(None),
            )
        )
        if is_member is None and agency.id != pathway.lead_agency_id:
            session.add(
                PathwayMember(
                    territory_id=pathway.territory_id,
                    pathway_id=pathway.id,
                    agency_id=agency.id,
                    added_at=now,
                    added_by_id=actor.id,
                )
            )
            record_event(
                actor,
                "pathway.member_added",
                object_type="pathway",
                object_id=pathway.id,
                pathway=pathway,
                at=now,
                details={"agency_id": agency.id, "via": "referral"},
            )
        referral = Referral(
            territory_id=pathway.territory_id,
            barrier_id=barrier.id,
            agency_id=agency.id,
            status=ReferralStatus.SENT,
            message=message,
            sent_at=now,
            sent_by_id=actor.id,
        )
        session.add(referral)
        if barrier.status == BarrierStatus.OPEN:
            barrier.status = BarrierStatus.IN_PROGRESS
        session.flush()
        record_event(
            actor,
            "referral.sent",
            object_type="referral",
            object_id=referral.id,
            pathway=pathway,
            at=now,
            details={"agency_id": agency.id, "barrier_id": barrier.id},
        )
        # The partner's professionals are told (never the message: « le message vous attend »).
        notify(NotificationEvent.REFERRAL_SENT, referral_recipients(referral), pathway=pathway,
               object_id=referral.id, actor=actor, now=now)
    return referral


def answer_referral(
    actor: User,
    referral: Referral,
    *,
    accept: bool,
    decline_reason: DeclineReason | None = None,
    comment: str | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Referral:
    """The partner agency accepts, or declines with a reason from its list."""
    barrier = db.session.get(Barrier, referral.barrier_id)
    pathway = db.session.get(Pathway, barrier.pathway_id)
    if not access.can_see_pathway_exists(actor, pathway):
        raise NotFound("Cette orientation est introuvable.")
    if not access.can_answer_referral(actor, referral, pathway):
        raise Forbidden("Seule la structure sollicitée peut répondre à cette orientation.")
    now = now or utcnow()
    if referral.status != ReferralStatus.SENT:
        raise Conflict("Cette orientation a déjà reçu une réponse.")
    if not accept and decline_reason is None:
        raise ValidationError("Indiquez le motif du refus.", field="decline_reason")
    with unit_of_work():
        check_version(referral, expected_version)
        referral.status = ReferralStatus.ACCEPTED if accept else ReferralStatus.DECLINED
        referral.decline_reason = None if accept else DeclineReason(decline_reason)
        referral.answer_comment = (comment or "").strip() or None
        referral.answered_at = now
        referral.answered_by_id = actor.id
        if accept:
            barrier.owner_agency_id = referral.agency_id
        record_event(
            actor,
            f"referral.{referral.status.value}",
            object_type="referral",
            object_id=referral.id,
            pathway=pathway,
            at=now,
            details={"decline_reason": referral.decline_reason.value if referral.decline_reason else None},
        )
        notify(NotificationEvent.REFERRAL_ANSWERED, [db.session.get(User, referral.sent_by_id)], pathway=pathway,
               object_id=referral.id, actor=actor, now=now)
    return referral


def complete_referral(actor: User, referral: Referral, *, now: datetime | None = None) -> Referral:
    """The partner has done its part (the barrier itself is lifted separately)."""
    barrier = db.session.get(Barrier, referral.barrier_id)
    pathway = db.session.get(Pathway, barrier.pathway_id)
    if not access.can_see_pathway_exists(actor, pathway):
        raise NotFound("Cette orientation est introuvable.")
    if not access.can_complete_referral(actor, referral, pathway):
        raise Forbidden("Seule la structure sollicitée ou celle du référent peut clore cette orientation.")
    if referral.status != ReferralStatus.ACCEPTED:
        raise Conflict("Seule une orientation acceptée peut être marquée comme réalisée.")
    now = now or utcnow()
    with unit_of_work():
        referral.status = ReferralStatus.DONE
        record_event(actor, "referral.done", object_type="referral", object_id=referral.id, pathway=pathway, at=now)
    return referral
