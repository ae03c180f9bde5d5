"""Operations on a person's pathway. Each is one transaction, checks access and writes an audit event.

Services take the acting user and plain values (already parsed by a schema), never a request, so
views, the API, the CLI, the scheduler and tests call them alike. `now` is a parameter so tests
travel in time.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from app import access
from app.accounts.models import Agency, User
from app.audit.models import AuditEvent
from app.audit.services import record_event
from app.core.timefmt import paris_today
from app.db_types import utcnow
from app.errors import Conflict, Forbidden, NotFound, ValidationError
from app.extensions import db
from app.followup.models import Alert, AlertStatus
from app.meetings.models import Meeting, MeetingStatus
from app.meetings.services import plan_checkins
from app.notifications.models import NotificationEvent
from app.notifications.services import notify
from app.pathways.models import (
    Beneficiary,
    ClosureReason,
    Consent,
    ConsentMethod,
    Contract,
    ContractKind,
    EmploymentContractType,
    Entry,
    EntryKind,
    EntryVersion,
    JoinRequestStatus,
    NoteType,
    Orientation,
    Pathway,
    PathwayMember,
    ReferentAssignment,
    Stage,
    TeamJoinRequest,
    Visibility,
)
from app.pathways.queries import current_or_last_pathway
from app.pathways.search import neighbours, search_key, similar_people_clause
from app.transaction import check_version, unit_of_work

IDENTITY_FIELDS = (
    "first_name", "last_name", "birth_name", "birth_date", "email", "phone", "address",
    "postal_code", "city", "caf_number", "france_travail_id", "rights",
)


SELF_HANDOVER = (
    "Vous ne pouvez pas vous désigner vous-même : un collègue ou un responsable vous confie le parcours."
)


def _require_professional(actor: User) -> None:
    if not access.can_create_person(actor):
        raise Forbidden("Un compte administrateur ne gère pas de parcours.")


def _open_pathway_of(beneficiary_id: int) -> Pathway | None:
    return db.session.scalar(
        sa.select(Pathway).where(Pathway.beneficiary_id == beneficiary_id, Pathway.closed_at.is_(None))
    )


def _check_referent(actor: User, referent: User) -> None:
    if not access.in_territory(actor, referent):
        raise NotFound("Ce professionnel est introuvable.", field="referent_id")
    if not access.can_be_referent(referent):
        raise ValidationError(
            "Le référent doit être un professionnel ou un responsable actif.", field="referent_id"
        )


# --- people and pathways ---------------------------------------------------------------------

@dataclass
class DuplicateMatch:
    """What the duplicate check may tell about a person already on file (DESIGN §3.3): that a
    pathway exists and which agency leads it; the name only if the record is shared with the actor."""

    pathway: Pathway
    lead_agency: Agency
    reason: str
    readable: bool  # the actor may read the record: it is named and linked
    can_join: bool  # the actor's agency may ask to join its team
    pending_request: bool  # the actor's agency has already asked


def check_duplicates(actor: User, data: dict[str, Any], *, now: datetime | None = None) -> list[DuplicateMatch]:
    """People of the actor's territory who may be the person being created. Every check is audited:
    who asked, on which criteria (never the values), and which pathways it revealed.

    What it looks for: the same CAF number or France Travail id; a name like this one
    (`search.similar_people_clause`: accents and case ignored, « CLEMENT » for « Clément », words in
    any order, one typo per long word on PostgreSQL — on SQLite, the people born the same day,
    compared here with the same one-typo tolerance) with the same birth date, or with no birth date
    on one side (a name-only entry).

    What it may tell (DESIGN §3.3): a record the actor may read is named and linked, whatever the
    match; a record the actor may not read is told as « un parcours existe, porté par … » only for
    an exact identifier or the same name (up to accents and one typo per word) and the same birth
    date — never for a name alone, so that the check is not a way to browse the territory."""
    _require_professional(actor)
    now = now or utcnow()
    conditions, criteria = [], []
    key = search_key(data.get("last_name"), data.get("first_name"))
    birth_date = data.get("birth_date")
    if key:
        criteria.append("similar_name_and_birth_date" if birth_date else "similar_name")
        similar = similar_people_clause(data.get("last_name"), data.get("first_name"))
        undated_or_same = sa.or_(Beneficiary.birth_date.is_(None), Beneficiary.birth_date == birth_date)
        conditions.append(sa.and_(similar, undated_or_same) if birth_date else similar)
        if birth_date and db.session.get_bind().dialect.name != "postgresql":
            conditions.append(Beneficiary.birth_date == birth_date)  # typos compared below (no index needed)
    if data.get("caf_number"):
        criteria.append("caf_number")
        conditions.append(Beneficiary.caf_number == data["caf_number"])
    if data.get("france_travail_id"):
        criteria.append("france_travail_id")
        conditions.append(Beneficiary.france_travail_id == data["france_travail_id"])
    if not conditions:
        return []
    people = db.session.scalars(
        sa.select(Beneficiary)
        .where(access.territory_clause(actor, Beneficiary.territory_id), Beneficiary.anonymised_at.is_(None),
               sa.or_(*conditions))
        .order_by(Beneficiary.id)
        .limit(200)
    ).all()
    matches = []
    for person in people:
        same_name = key and same_name_but_typos(key, search_key(person.last_name, person.first_name))
        similar = key and (same_name or _words_within(key, person.search_name))
        dated = birth_date is not None and person.birth_date == birth_date
        undated = birth_date is None or person.birth_date is None
        if data.get("caf_number") and person.caf_number == data["caf_number"]:
            reason, strong = "même numéro allocataire CAF", True
        elif data.get("france_travail_id") and person.france_travail_id == data["france_travail_id"]:
            reason, strong = "même identifiant France Travail", True
        elif same_name and dated:
            reason, strong = "mêmes nom, prénom et date de naissance", True
        elif similar and dated:
            reason, strong = "nom et prénom proches, même date de naissance", False
        elif similar and undated:
            reason, strong = "nom et prénom proches, date de naissance non renseignée", False
        else:
            continue  # born another day, or a name that only looks alike on one word
        pathway = current_or_last_pathway(person.id)
        if pathway is None:
            continue
        readable = access.can_read_record(actor, pathway)
        if not (readable or strong):
            continue  # a name alone never reveals a record the actor may not read
        matches.append(DuplicateMatch(
            pathway=pathway, lead_agency=pathway.lead_agency, reason=reason, readable=readable,
            can_join=access.can_request_to_join(actor, pathway, revealed=True),
            pending_request=_pending_join_request(pathway, actor.agency_id) is not None,
        ))
        if len(matches) == 10:
            break
    with unit_of_work():
        record_event(actor, "beneficiary.duplicate_check", object_type="beneficiary", at=now,
                     territory_id=actor.territory_id,
                     details={"criteria": criteria, "pathway_ids": sorted(m.pathway.id for m in matches)})
    return matches


def same_name_but_typos(key: str, other: str) -> bool:
    """Two name keys with the same words in the same order, each equal or, from five letters on,
    one edit away (« clemant » / « clement »); accents and case are already gone from keys."""
    mine, theirs = key.split(), other.split()
    if len(mine) != len(theirs):
        return False
    return all(a == b or (len(a) >= 5 and b in neighbours(a)) for a, b in zip(mine, theirs, strict=True))


def _words_within(key: str, other_key: str) -> bool:
    """Every word of `key` is a word of `other_key` (or one edit from one, from five letters)."""
    theirs = other_key.split()
    return all(word in theirs or (len(word) >= 5 and set(neighbours(word)) & set(theirs)) for word in key.split())


def create_beneficiary(
    actor: User,
    data: dict[str, Any],
    *,
    referent: User | None = None,
    duplicate_reason: str | None = None,
    now: datetime | None = None,
) -> Pathway:
    """Create a person and their open pathway (stage intake), led by the actor's agency.

    `referent` (optional) must belong to the actor's agency; otherwise the referent is named later.
    `duplicate_reason`: why the record is created although the duplicate check found a likely
    match (« Créer quand même »); kept with the person, and the audit event says there was one.
    """
    _require_professional(actor)
    now = now or utcnow()
    unknown = set(data) - set(IDENTITY_FIELDS)
    if unknown:
        raise ValidationError("Champ inconnu.", field=sorted(unknown)[0])
    duplicate_reason = (duplicate_reason or "").strip() or None
    if duplicate_reason is not None and len(duplicate_reason) > 500:
        raise ValidationError("500 caractères au plus.", field="duplicate_reason")
    if referent is not None:
        _check_referent(actor, referent)
        if referent.agency_id != actor.agency_id:  # not an access rule: a new pathway is led by the actor's agency
            raise ValidationError(
                "À la création, le référent doit appartenir à votre structure.", field="referent_id"
            )
    with unit_of_work() as session:
        person = Beneficiary(territory_id=actor.territory_id, duplicate_reason=duplicate_reason,
                             **{"rights": [], **data})
        person.search_name = search_key(person.last_name, person.first_name, person.birth_name)
        session.add(person)
        session.flush()
        pathway = _start_pathway(actor, person, now)
        record_event(actor, "beneficiary.created", object_type="beneficiary", object_id=person.id,
                     pathway=pathway, at=now,
                     details={"despite_duplicate": True} if duplicate_reason else None)
        if referent is not None:
            _assign(actor, pathway, referent, note=None, now=now)
    return pathway


def update_beneficiary(
    actor: User, beneficiary_id: int, changes: dict[str, Any], *, expected_version: int | None
) -> Beneficiary:
    person = db.session.get(Beneficiary, beneficiary_id)
    pathway = current_or_last_pathway(person.id) if person else None
    if person is None or pathway is None or not access.can_read_record(actor, pathway):
        raise NotFound()
    access.require(access.can_edit_identity(actor, pathway), actor, pathway)
    unknown = set(changes) - set(IDENTITY_FIELDS)
    if unknown:
        raise ValidationError("Champ inconnu.", field=sorted(unknown)[0])
    with unit_of_work():
        check_version(person, expected_version)
        changed = sorted(k for k, v in changes.items() if getattr(person, k) != v)
        for key, value in changes.items():
            setattr(person, key, value)
        person.search_name = search_key(person.last_name, person.first_name, person.birth_name)
        record_event(actor, "beneficiary.updated", object_type="beneficiary", object_id=person.id,
                     pathway=pathway, details={"fields": changed})
    return person


def open_pathway(actor: User, beneficiary_id: int, *, now: datetime | None = None) -> Pathway:
    """Open a new pathway for a person whose previous one is closed (one open at a time)."""
    _require_professional(actor)
    now = now or utcnow()
    person = db.session.get(Beneficiary, beneficiary_id)
    if not access.in_territory(actor, person):
        raise NotFound()
    last = current_or_last_pathway(person.id)
    if last is not None and not access.can_see_pathway_exists(actor, last):
        raise NotFound()
    if not access.can_open_pathway(actor, last):
        raise Forbidden("Seule la structure qui portait le dernier parcours peut en ouvrir un nouveau ; "
                        "sinon, demandez à rejoindre l'équipe de suivi.")
    if _open_pathway_of(person.id) is not None:
        raise Conflict("Cette personne a déjà un parcours ouvert : clôturez-le avant d'en ouvrir un autre.")
    with unit_of_work():
        pathway = _start_pathway(actor, person, now)
    return pathway


def _start_pathway(actor: User, person: Beneficiary, now: datetime) -> Pathway:
    """A new open pathway (intake) led by the actor's agency; inside the caller's transaction."""
    pathway = Pathway(territory_id=actor.territory_id, beneficiary_id=person.id, lead_agency_id=actor.agency_id,
                      stage=Stage.INTAKE, started_at=now)
    db.session.add(pathway)
    db.session.flush()
    record_event(actor, "pathway.opened", object_type="pathway", object_id=pathway.id, pathway=pathway, at=now)
    return pathway


def _require_open(pathway: Pathway) -> None:
    if pathway.closed_at is not None:
        raise Conflict("Ce parcours est clôturé : rouvrez un parcours pour le modifier.")


def orient(
    actor: User,
    pathway: Pathway,
    orientation: Orientation,
    *,
    oriented_at: datetime | None = None,
    note: str | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Pathway:
    """Record the orientation decision. A re-orientation is kept in the journal."""
    access.require(access.can_orient(actor, pathway), actor, pathway)
    _require_open(pathway)
    now = now or utcnow()
    oriented_at = oriented_at or now
    if oriented_at > now:
        raise ValidationError("La date d'orientation ne peut pas être dans le futur.", field="oriented_at")
    if oriented_at < pathway.started_at:
        raise ValidationError(
            "La date d'orientation ne peut pas précéder le début du parcours.", field="oriented_at"
        )
    orientation = Orientation(orientation)
    with unit_of_work() as session:
        check_version(pathway, expected_version)
        previous = pathway.orientation
        pathway.orientation = orientation
        pathway.oriented_at = oriented_at
        if pathway.stage in (Stage.INTAKE, Stage.DIAGNOSIS):
            pathway.stage = Stage.SUPPORT
        if previous is not None and previous != orientation:
            session.add(Entry(
                territory_id=pathway.territory_id, pathway_id=pathway.id, author_id=actor.id,
                author_agency_id=actor.agency_id, kind=EntryKind.REORIENTATION,
                visibility=Visibility.TEAM, occurred_at=oriented_at, created_at=now,
                body=f"Réorientation : {previous.value} → {orientation.value}."
                + (f" {note}" if note else ""),
            ))
        record_event(actor, "pathway.oriented", object_type="pathway", object_id=pathway.id,
                     pathway=pathway, at=now,
                     details={"orientation": orientation.value,
                              "previous": previous.value if previous else None})
    return pathway


def set_stage(actor: User, pathway: Pathway, stage: Stage, *, expected_version: int | None = None) -> Pathway:
    """Move between intake, diagnosis and support (employment and closure have their own services)."""
    access.require(access.can_change_stage(actor, pathway), actor, pathway)
    _require_open(pathway)
    stage = Stage(stage)
    if stage not in (Stage.INTAKE, Stage.DIAGNOSIS, Stage.SUPPORT):
        raise ValidationError(
            "Utilisez « Retour à l'emploi » ou « Clôturer le parcours » pour cette étape.", field="stage"
        )
    with unit_of_work():
        check_version(pathway, expected_version)
        previous = pathway.stage
        pathway.stage = stage
        record_event(actor, "pathway.stage_changed", object_type="pathway", object_id=pathway.id,
                     pathway=pathway, details={"stage": stage.value, "previous": previous.value})
    return pathway


def _assign(actor: User, pathway: Pathway, referent: User, *, note: str | None, now: datetime) -> ReferentAssignment:
    """Close the current assignment (if any) and open the new one; inside the caller's transaction."""
    current = db.session.scalar(
        sa.select(ReferentAssignment).where(
            ReferentAssignment.pathway_id == pathway.id, ReferentAssignment.ended_at.is_(None)
        )
    )
    previous_id = pathway.referent_id
    if current is not None:
        current.ended_at = max(now, current.started_at)
        db.session.flush()  # the partial unique index allows one current assignment at a time
    assignment = ReferentAssignment(
        territory_id=pathway.territory_id, pathway_id=pathway.id, user_id=referent.id,
        agency_id=referent.agency_id, assigned_by_id=actor.id, started_at=now, note=note,
    )
    db.session.add(assignment)
    pathway.referent_id = referent.id
    pathway.lead_agency_id = referent.agency_id
    record_event(actor, "pathway.referent_assigned", object_type="pathway", object_id=pathway.id,
                 pathway=pathway, at=now,
                 details={"referent_id": referent.id, "previous_referent_id": previous_id,
                          "agency_id": referent.agency_id})
    db.session.flush()
    return assignment


def assign_referent(
    actor: User,
    pathway: Pathway,
    referent: User,
    *,
    note: str | None = None,
    require_note: bool = False,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Pathway:
    """Name the referent, or hand over to a new one (history kept, with the handover note).

    The pathway follows the referent's agency (it becomes the lead agency). The previous agency
    stays in the team so the person's history is not lost to it. With `require_note` (the
    workspace's forms), a handover — not the first naming — needs its note. The new referent is told
    by e-mail (unless they did it themself), as is the previous one: their notifications are recorded
    in this transaction and sent by the notifications job (app/notifications).
    """
    access.require(access.can_assign_referent(actor, pathway), actor, pathway,
                   "Vous ne pouvez pas changer le référent de ce parcours.")
    if not access.can_assign_referent(actor, pathway, referent):
        raise ValidationError(SELF_HANDOVER, field="referent_id")
    _require_open(pathway)
    _check_referent(actor, referent)
    if referent.id == pathway.referent_id:
        raise ValidationError("Cette personne est déjà le référent du parcours.", field="referent_id")
    note = (note or "").strip() or None
    if require_note and note is None and pathway.referent_id is not None:
        raise ValidationError(
            "La note de passation est obligatoire : dites au nouveau référent où en est la personne.",
            field="note",
        )
    now = now or utcnow()
    previous_referent = db.session.get(User, pathway.referent_id) if pathway.referent_id else None
    with unit_of_work() as session:
        check_version(pathway, expected_version)
        previous_agency_id = pathway.lead_agency_id
        assignment = _assign(actor, pathway, referent, note=note, now=now)
        notify(NotificationEvent.PATHWAY_TAKEN_FROM, [previous_referent] if previous_referent else [],
               pathway=pathway, object_id=assignment.id, actor=actor, now=now)
        notify(NotificationEvent.PATHWAY_HANDED_TO, [referent], pathway=pathway, object_id=assignment.id,
               actor=actor, now=now)
        if previous_agency_id != referent.agency_id:
            # The new lead agency is no longer a mere team member; the old one becomes one.
            for member in session.scalars(sa.select(PathwayMember).where(
                PathwayMember.pathway_id == pathway.id, PathwayMember.removed_at.is_(None),
                PathwayMember.agency_id == referent.agency_id,
            )):
                member.removed_at = now
                member.removed_by_id = actor.id
            session.flush()
            session.add(PathwayMember(
                territory_id=pathway.territory_id, pathway_id=pathway.id,
                agency_id=previous_agency_id, added_at=now, added_by_id=actor.id,
            ))
    return pathway


# --- team, consent, contracts ----------------------------------------------------------------

def add_team_agency(actor: User, pathway: Pathway, agency_id: int, *, now: datetime | None = None) -> PathwayMember:
    access.require(access.can_manage_team(actor, pathway), actor, pathway)
    _require_open(pathway)
    now = now or utcnow()
    agency = db.session.get(Agency, agency_id)
    if agency is None or agency.territory_id != pathway.territory_id or not agency.is_active:
        raise ValidationError("Structure introuvable dans ce territoire.", field="agency_id")
    if agency.id == pathway.lead_agency_id:
        raise ValidationError("C'est déjà la structure du référent.", field="agency_id")
    with unit_of_work():
        member = _add_member(actor, pathway, agency.id, now=now)
    return member


def _add_member(actor: User, pathway: Pathway, agency_id: int, *, now: datetime) -> PathwayMember:
    """Inside the caller's transaction."""
    member = PathwayMember(territory_id=pathway.territory_id, pathway_id=pathway.id,
                           agency_id=agency_id, added_at=now, added_by_id=actor.id)
    db.session.add(member)
    db.session.flush()
    record_event(actor, "pathway.member_added", object_type="pathway", object_id=pathway.id,
                 pathway=pathway, at=now, details={"agency_id": agency_id})
    return member


def remove_team_agency(actor: User, pathway: Pathway, agency_id: int, *, now: datetime | None = None) -> None:
    access.require(access.can_manage_team(actor, pathway), actor, pathway)
    now = now or utcnow()
    member = db.session.scalar(sa.select(PathwayMember).where(
        PathwayMember.pathway_id == pathway.id, PathwayMember.agency_id == agency_id,
        PathwayMember.removed_at.is_(None),
    ))
    if member is None:
        raise NotFound("Cette structure ne fait pas partie de l'équipe de suivi.", field="agency_id")
    with unit_of_work():
        member.removed_at = now
        member.removed_by_id = actor.id
        record_event(actor, "pathway.member_removed", object_type="pathway", object_id=pathway.id,
                     pathway=pathway, at=now, details={"agency_id": agency_id})


def _pending_join_request(pathway: Pathway, agency_id: int) -> TeamJoinRequest | None:
    return db.session.scalar(sa.select(TeamJoinRequest).where(
        TeamJoinRequest.pathway_id == pathway.id, TeamJoinRequest.agency_id == agency_id,
        TeamJoinRequest.status == JoinRequestStatus.PENDING,
    ))


DUPLICATE_CHECK_VALIDITY = timedelta(hours=24)


def _revealed_to(actor: User, pathway: Pathway, *, now: datetime) -> bool:
    """Did a duplicate check of `actor` show this pathway lately (its audit event says so)?"""
    events = db.session.scalars(
        sa.select(AuditEvent.details).where(
            AuditEvent.actor_id == actor.id,  # not an access rule: this user's own checks
            AuditEvent.action == "beneficiary.duplicate_check",
            AuditEvent.occurred_at >= now - DUPLICATE_CHECK_VALIDITY,
        ).order_by(AuditEvent.occurred_at.desc()).limit(50)
    )
    return any(pathway.id in (details or {}).get("pathway_ids", []) for details in events)


def require_joinable(actor: User, pathway: Pathway | None, *, now: datetime | None = None) -> Pathway:
    """404 unless `actor` may ask to join this pathway's team: nothing to ask of a pathway one was
    not shown by one's own duplicate check, or already follows."""
    if pathway is None or not access.can_request_to_join(
        actor, pathway, revealed=_revealed_to(actor, pathway, now=now or utcnow())
    ):
        raise NotFound()
    return pathway


def request_to_join(
    actor: User, pathway: Pathway, *, message: str | None = None, now: datetime | None = None
) -> TeamJoinRequest:
    """« Demander à rejoindre l'équipe de suivi »: the lead agency accepts or refuses; its referent
    is told by e-mail. The asking agency sees nothing more of the record until it is accepted."""
    now = now or utcnow()
    require_joinable(actor, pathway, now=now)
    if _pending_join_request(pathway, actor.agency_id) is not None:
        raise Conflict("Votre structure a déjà demandé à rejoindre cette équipe : la réponse est attendue.")
    message = (message or "").strip() or None
    if message is not None and len(message) > 500:
        raise ValidationError("500 caractères au plus.", field="message")
    with unit_of_work() as session:
        request = TeamJoinRequest(territory_id=pathway.territory_id, pathway_id=pathway.id,
                                  agency_id=actor.agency_id, requested_by_id=actor.id, requested_at=now,
                                  message=message, status=JoinRequestStatus.PENDING)
        session.add(request)
        session.flush()
        record_event(actor, "team.join_requested", object_type="team_join_request", object_id=request.id,
                     pathway=pathway, at=now, details={"agency_id": actor.agency_id})
        if pathway.referent_id is not None:
            notify(NotificationEvent.TEAM_JOIN_REQUESTED, [db.session.get(User, pathway.referent_id)],
                   pathway=pathway, object_id=request.id, actor=actor, now=now)
    return request


def get_join_request_or_404(actor: User, request_id: int) -> tuple[TeamJoinRequest, Pathway]:
    request = db.session.get(TeamJoinRequest, request_id)
    pathway = db.session.get(Pathway, request.pathway_id) if request else None
    if pathway is None or not access.can_answer_join_request(actor, pathway):
        raise NotFound("Cette demande est introuvable.")
    return request, pathway


def answer_join_request(
    actor: User, request: TeamJoinRequest, *, accept: bool, comment: str | None = None,
    now: datetime | None = None,
) -> TeamJoinRequest:
    """Accept (the agency joins the team: it reads the record once the person's consent is on
    file) or refuse, with an optional comment; both audited."""
    pathway = db.session.get(Pathway, request.pathway_id)
    access.require(access.can_answer_join_request(actor, pathway), actor, pathway)
    if request.status != JoinRequestStatus.PENDING:
        raise Conflict("Cette demande a déjà reçu une réponse.")
    now = now or utcnow()
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > 500:
        raise ValidationError("500 caractères au plus.", field="comment")
    with unit_of_work():
        request.status = JoinRequestStatus.ACCEPTED if accept else JoinRequestStatus.REFUSED
        request.answered_by_id, request.answered_at, request.answer_comment = actor.id, now, comment
        if accept:
            _require_open(pathway)
            _add_member(actor, pathway, request.agency_id, now=now)
        record_event(actor, f"team.join_{request.status.value}", object_type="team_join_request",
                     object_id=request.id, pathway=pathway, at=now, details={"agency_id": request.agency_id})
    return request


def record_consent(
    actor: User, pathway: Pathway, *, method: ConsentMethod, given_at: datetime | None = None,
    now: datetime | None = None,
) -> Consent:
    """Record the person's agreement to share their record with the team (DESIGN §3.9)."""
    access.require(access.can_record_consent(actor, pathway), actor, pathway)
    _require_open(pathway)
    now = now or utcnow()
    given_at = given_at or now
    if given_at > now:
        raise ValidationError("La date du consentement ne peut pas être dans le futur.", field="given_at")
    if access.has_active_consent(pathway):
        raise Conflict("Un consentement est déjà enregistré pour ce parcours.")
    with unit_of_work() as session:
        consent = Consent(territory_id=pathway.territory_id, pathway_id=pathway.id, given_at=given_at,
                          method=ConsentMethod(method), recorded_by_id=actor.id)
        session.add(consent)
        session.flush()
        record_event(actor, "consent.recorded", object_type="consent", object_id=consent.id,
                     pathway=pathway, at=now, details={"method": consent.method.value})
    return consent


def withdraw_consent(actor: User, pathway: Pathway, *, now: datetime | None = None) -> Consent:
    """From now on, partners only see that the pathway exists and who the referent is."""
    access.require(access.can_record_consent(actor, pathway), actor, pathway)
    now = now or utcnow()
    consent = db.session.scalar(sa.select(Consent).where(
        Consent.pathway_id == pathway.id, Consent.withdrawn_at.is_(None)
    ))
    if consent is None:
        raise Conflict("Aucun consentement en cours pour ce parcours.")
    with unit_of_work():
        consent.withdrawn_at = max(now, consent.given_at)
        consent.withdrawn_by_id = actor.id
        record_event(actor, "consent.withdrawn", object_type="consent", object_id=consent.id,
                     pathway=pathway, at=now)
    return consent


def record_contract(
    actor: User, pathway: Pathway, *, kind: ContractKind, signed_on: date, starts_on: date,
    ends_on: date | None = None, now: datetime | None = None,
) -> Contract:
    access.require(access.can_record_contract(actor, pathway), actor, pathway)
    _require_open(pathway)
    now = now or utcnow()
    if signed_on > paris_today(now):  # the day it is in Paris, not in UTC
        raise ValidationError("La date de signature ne peut pas être dans le futur.", field="signed_on")
    if ends_on is not None and ends_on < starts_on:
        raise ValidationError("La fin du contrat doit suivre son début.", field="ends_on")
    with unit_of_work() as session:
        contract = Contract(territory_id=pathway.territory_id, pathway_id=pathway.id,
                            kind=ContractKind(kind), signed_on=signed_on, starts_on=starts_on,
                            ends_on=ends_on, recorded_by_id=actor.id)
        session.add(contract)
        session.flush()
        record_event(actor, "contract.recorded", object_type="contract", object_id=contract.id,
                     pathway=pathway, at=now, details={"kind": contract.kind.value})
    return contract


# --- journal -----------------------------------------------------------------------------------

def add_entry(
    actor: User, pathway: Pathway, *, body: str, visibility: Visibility,
    occurred_at: datetime | None = None, note_type: NoteType | None = None, now: datetime | None = None,
) -> Entry:
    """A note on the shared record. Partners may write too (their own agency's entries)."""
    access.require(access.can_add_entry(actor, pathway), actor, pathway, "Vous ne pouvez pas écrire dans ce dossier.")
    if not access.can_write_with_visibility(actor, pathway, visibility):
        raise ValidationError("Seule la structure du référent peut réserver une note au référent.", field="visibility")
    now = now or utcnow()
    body = (body or "").strip()
    if not body:
        raise ValidationError("Le texte de la note est obligatoire.", field="body")
    occurred_at = occurred_at or now
    if occurred_at > now:
        raise ValidationError("Une note ne peut pas porter sur une date future.", field="occurred_at")
    with unit_of_work() as session:
        entry = Entry(territory_id=pathway.territory_id, pathway_id=pathway.id, author_id=actor.id,
                      author_agency_id=actor.agency_id, visibility=Visibility(visibility),
                      kind=EntryKind.NOTE, note_type=NoteType(note_type) if note_type else None,
                      body=body, occurred_at=occurred_at, created_at=now)
        session.add(entry)
        session.flush()
        record_event(actor, "entry.added", object_type="entry", object_id=entry.id, pathway=pathway,
                     at=now, details={"visibility": entry.visibility.value,
                                      "note_type": entry.note_type.value if entry.note_type else None})
    return entry


def get_entry_or_404(actor: User, entry_id: int) -> tuple[Entry, Pathway]:
    """A journal entry the actor may read, and its pathway; 404 otherwise (existence never leaks)."""
    entry = db.session.get(Entry, entry_id)
    pathway = db.session.get(Pathway, entry.pathway_id) if entry else None
    if entry is None or pathway is None or not access.can_see_entry(actor, entry, pathway):
        raise NotFound("Cette note est introuvable.")
    return entry, pathway


def edit_entry(
    actor: User, entry: Entry, changes: dict[str, Any], *, expected_version: int | None = None,
    now: datetime | None = None,
) -> Entry:
    """Correct a journal note: a new version, the previous one kept (`EntryVersion`).

    Its text and type only by its author (`access.can_edit_entry`); who may read it widened only by
    its author, narrowed also by the lead agency (`access.can_set_entry_visibility`). A note
    corrected meanwhile by someone else is a conflict (the version seen is stale). The audit event
    names the fields changed, never the text."""
    pathway = db.session.get(Pathway, entry.pathway_id)
    access.require(access.can_correct_entry(actor, entry, pathway), actor, pathway,
                   "Seul l'auteur de la note peut la corriger.")
    unknown = set(changes) - {"body", "note_type", "visibility"}
    if unknown:
        raise ValidationError("Champ inconnu.", field=sorted(unknown)[0])
    now = now or utcnow()
    updates: dict[str, Any] = {}
    if "body" in changes:
        body = (changes["body"] or "").strip()
        if not body:
            raise ValidationError("Le texte de la note est obligatoire.", field="body")
        if body != entry.body:
            updates["body"] = body
    if "note_type" in changes:
        note_type = NoteType(changes["note_type"]) if changes["note_type"] else None
        if note_type != entry.note_type:
            updates["note_type"] = note_type
    if ("body" in updates or "note_type" in updates) and not access.can_edit_entry(actor, entry, pathway):
        raise Forbidden("Seul l'auteur de la note peut corriger son texte ou son type.")
    if changes.get("visibility") is not None and Visibility(changes["visibility"]) != entry.visibility:
        visibility = Visibility(changes["visibility"])
        if not access.can_write_with_visibility(actor, pathway, visibility):
            raise ValidationError("Seule la structure du référent peut réserver une note au référent.",
                                  field="visibility")
        if not access.can_set_entry_visibility(actor, entry, pathway, visibility):
            raise ValidationError("Seul l'auteur de la note peut l'ouvrir à plus de lecteurs.", field="visibility")
        updates["visibility"] = visibility
    if not updates:
        raise ValidationError("Aucune modification : la note est inchangée.", field="body")
    with unit_of_work() as session:
        check_version(entry, expected_version)
        session.add(EntryVersion(
            territory_id=entry.territory_id, entry_id=entry.id, version=entry.version, body=entry.body,
            visibility=entry.visibility, note_type=entry.note_type,
            written_at=entry.edited_at or entry.created_at, replaced_at=now, replaced_by_id=actor.id,
        ))
        previous_visibility = entry.visibility
        for name, value in updates.items():
            setattr(entry, name, value)
        entry.edited_at = now
        details: dict[str, Any] = {"fields": sorted(updates)}
        if "visibility" in updates:
            details["visibility"] = {"from": previous_visibility.value, "to": entry.visibility.value}
        record_event(actor, "entry.edited", object_type="entry", object_id=entry.id, pathway=pathway, at=now,
                     details=details)
    return entry


# --- return to work and closure ----------------------------------------------------------------

def record_employment(
    actor: User, pathway: Pathway, *, started_on: date, contract_type: EmploymentContractType,
    employer: str, job_title: str | None = None, checkin_time: time | None = None,
    expected_version: int | None = None, now: datetime | None = None,
) -> Pathway:
    """Return to work: stage `employed` and check-ins at the territory's months with the SAME
    referent (DESIGN §3.5), so the person keeps their referent after getting a job. Check-ins fall
    on working days, at `checkin_time` (Paris; 10:00 by default)."""

    access.require(access.can_record_employment(actor, pathway), actor, pathway)
    _require_open(pathway)
    now = now or utcnow()
    if pathway.referent_id is None:
        raise Conflict("Nommez d'abord un référent : c'est lui qui assure le suivi dans l'emploi.")
    if started_on < pathway.started_at.date():
        raise ValidationError("La date d'embauche précède le début du parcours.", field="started_on")
    employer = (employer or "").strip()
    if not employer:
        raise ValidationError("L'employeur est obligatoire.", field="employer")
    with unit_of_work():
        check_version(pathway, expected_version)
        pathway.stage = Stage.EMPLOYED
        pathway.employment_started_on = started_on
        pathway.employment_contract_type = EmploymentContractType(contract_type)
        pathway.employer = employer
        pathway.job_title = job_title
        plan_checkins(pathway, started_on, now=now, at=checkin_time)
        record_event(actor, "pathway.employment_recorded", object_type="pathway", object_id=pathway.id,
                     pathway=pathway, at=now,
                     details={"contract_type": pathway.employment_contract_type.value,
                              "started_on": started_on.isoformat()})
    return pathway


def close_pathway(
    actor: User, pathway: Pathway, *, reason: ClosureReason, note: str | None = None,
    expected_version: int | None = None, now: datetime | None = None,
) -> Pathway:
    """Close with a reason: planned meetings are cancelled, the referent's assignment ends, open
    alerts are resolved. The record stays readable (kept 2 years, then anonymised)."""

    access.require(access.can_close_pathway(actor, pathway), actor, pathway)
    _require_open(pathway)
    now = now or utcnow()
    try:
        reason = ClosureReason(reason)
    except ValueError:
        raise ValidationError("Motif de clôture invalide.", field="reason") from None
    with unit_of_work() as session:
        check_version(pathway, expected_version)
        pathway.stage = Stage.CLOSED
        pathway.closed_at = now
        pathway.closure_reason = reason
        pathway.closure_note = note
        for meeting in session.scalars(sa.select(Meeting).where(
            Meeting.pathway_id == pathway.id, Meeting.status == MeetingStatus.PLANNED,
            Meeting.scheduled_at > now,
        )):
            meeting.status = MeetingStatus.CANCELLED
            meeting.cancelled_at = now
            meeting.cancellation_reason = "Parcours clôturé"
        for assignment in session.scalars(sa.select(ReferentAssignment).where(
            ReferentAssignment.pathway_id == pathway.id, ReferentAssignment.ended_at.is_(None)
        )):
            assignment.ended_at = max(now, assignment.started_at)
        session.execute(
            sa.update(Alert)
            .where(Alert.pathway_id == pathway.id, Alert.status != AlertStatus.RESOLVED)
            .values(status=AlertStatus.RESOLVED, resolved_at=now)
        )
        record_event(actor, "pathway.closed", object_type="pathway", object_id=pathway.id,
                     pathway=pathway, at=now, details={"reason": reason.value})
    return pathway


def get_user_in_territory(actor: User, user_id: Any, *, field: str = "referent_id") -> User:
    try:
        user = db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        raise ValidationError("Professionnel invalide.", field=field) from None
    if not access.in_territory(actor, user):
        raise ValidationError("Professionnel introuvable dans ce territoire.", field=field)
    return user

