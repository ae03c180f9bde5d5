"""JSON API of people and pathways (thin): parse, call one service, answer. Rules live in services
and `app.access`; this module only picks what to show according to the reader's access level."""

from __future__ import annotations

from flask import Response, url_for
from marshmallow import fields, validate
from marshmallow.experimental.context import Context

from app import access
from app.accounts.models import User
from app.api.core import (
    PageQuerySchema,
    current_user,
    id_field,
    if_match,
    json_body,
    no_content,
    operation,
    query_args,
    respond,
    respond_page,
)
from app.audit.services import record_read, record_shown
from app.core.pages import Page, paginate
from app.errors import NotFound
from app.extensions import db
from app.followup.models import AlertKind
from app.pathways import queries
from app.pathways import services as pathways
from app.pathways.models import Beneficiary, Pathway, Stage
from app.pathways.schemas import (
    AssignReferentSchema,
    BeneficiaryCreateSchema,
    BeneficiaryOutSchema,
    BeneficiaryUpdateSchema,
    CaseloadItemSchema,
    CloseSchema,
    ConsentOutSchema,
    ConsentSchema,
    ContractOutSchema,
    ContractSchema,
    EmploymentSchema,
    EntryOutSchema,
    EntrySchema,
    MemberOutSchema,
    PathwayOutSchema,
    PathwayPatchSchema,
    TeamMemberSchema,
    TimelineItemSchema,
)
from app.transaction import unit_of_work
from app.workspace import portfolio
from app.workspace.timeline import timeline


class CaseloadQuerySchema(PageQuerySchema):
    q = fields.String(validate=validate.Length(max=100, error="100 caractères au plus."))
    stage = fields.Enum(Stage, by_value=True)
    referent_id = id_field()
    alert = fields.Enum(AlertKind, by_value=True)
    scope = fields.String(
        load_default="all", validate=validate.OneOf(portfolio.SCOPES, error="Choix invalide.")
    )
    include_closed = fields.Boolean(load_default=False)


class ListQuerySchema(PageQuerySchema):
    pass


# --- helpers -------------------------------------------------------------------------------------------


def _dump_pathway(
    user: User, pathway: Pathway, *, status: int = 200, location: str | None = None
) -> Response:
    level = access.record_access(user, pathway)
    only = PathwayOutSchema.EXISTENCE_FIELDS if level == access.RecordAccess.EXISTENCE else None
    with Context({"user": user}):
        return respond(
            PathwayOutSchema(only=only),
            pathway,
            status=status,
            location=location,
            version=None if only else pathway.version,
        )


def _pathway(pathway_id: int) -> Pathway:
    """The pathway if the caller may know it exists (services then refuse what is not allowed)."""
    return access.get_pathway_or_404(current_user(), pathway_id, minimum=access.RecordAccess.EXISTENCE)


def _person_and_pathway(beneficiary_id: int) -> tuple[Beneficiary, Pathway]:
    """The person, with their open pathway (else the last one), if the caller may read the record."""
    user = current_user()
    person = db.session.get(Beneficiary, beneficiary_id)
    pathway = queries.current_or_last_pathway(beneficiary_id) if person else None
    if person is None or pathway is None or not access.can_read_record(user, pathway):
        raise NotFound("Cette personne est introuvable.")
    return person, pathway


# --- people ----------------------------------------------------------------------------------------------


@operation(
    "GET",
    "/beneficiaries",
    summary="Lister les personnes suivies (portefeuille)",
    tag="Personnes",
    query=CaseloadQuerySchema,
    response=CaseloadItemSchema,
    paginated=True,
)
def list_beneficiaries() -> Response:
    """People the caller may see, most urgent first (alerts, then the nearest meeting), by default
    every pathway the caller may see (`scope=all`). Partners without the person's consent see only
    that a pathway exists and who its referent is."""
    user = current_user()
    args = query_args(CaseloadQuerySchema())
    filters = portfolio.CaseloadFilters(
        scope=args["scope"],
        q=args.get("q"),
        stage=args.get("stage"),
        alert=args.get("alert"),
        referent_id=args.get("referent_id"),
        include_closed=args["include_closed"],
    )
    page = portfolio.caseload(user, filters, page=args["page"], per_page=args["per_page"])
    full, existence = CaseloadItemSchema(), CaseloadItemSchema(only=CaseloadItemSchema.EXISTENCE_FIELDS)
    items = [
        (existence if row.access == access.RecordAccess.EXISTENCE else full).dump(row) for row in page.items
    ]
    with unit_of_work():  # after the dump: the commit expires the rows
        record_shown(user, "pathway.search" if filters.q else "pathway.list", pathway_ids=portfolio.pathway_ids(page),
                     details={"list": "api.beneficiaries", "page": page.page,
                              "filters": sorted(k for k in ("q", "stage", "alert", "referent_id") if args.get(k))})
    return respond_page(page, items)


@operation(
    "POST",
    "/beneficiaries",
    summary="Créer une personne et son parcours",
    tag="Personnes",
    body=BeneficiaryCreateSchema,
    response=BeneficiaryOutSchema,
    status=201,
    etag=True,
    location=True,
)
def create_beneficiary() -> Response:
    """The person and an open pathway (stage intake) led by the caller's agency; `referent_id`
    (optional) names a referent of the caller's agency."""
    user = current_user()
    data = json_body(BeneficiaryCreateSchema())
    referent_id = data.pop("referent_id", None)
    referent = pathways.get_user_in_territory(user, referent_id) if referent_id is not None else None
    pathway = pathways.create_beneficiary(user, data, referent=referent)
    person = db.session.get(Beneficiary, pathway.beneficiary_id)
    return respond(
        BeneficiaryOutSchema(),
        person,
        status=201,
        version=person.version,
        location=url_for("api.get_beneficiary", beneficiary_id=person.id),
    )


@operation(
    "GET",
    "/beneficiaries/{beneficiary_id}",
    summary="Identité d'une personne",
    tag="Personnes",
    response=BeneficiaryOutSchema,
    etag=True,
)
def get_beneficiary(beneficiary_id: int) -> Response:
    user = current_user()
    person, pathway = _person_and_pathway(beneficiary_id)
    record_read(user, pathway, what="identity")
    return respond(BeneficiaryOutSchema(), person, version=person.version)


@operation(
    "PATCH",
    "/beneficiaries/{beneficiary_id}",
    summary="Modifier l'identité d'une personne",
    tag="Personnes",
    body=BeneficiaryUpdateSchema,
    response=BeneficiaryOutSchema,
    etag=True,
    if_match="required",
)
def update_beneficiary(beneficiary_id: int) -> Response:
    user = current_user()
    _person_and_pathway(beneficiary_id)
    changes = json_body(BeneficiaryUpdateSchema())
    person = pathways.update_beneficiary(user, beneficiary_id, changes, expected_version=if_match())
    return respond(BeneficiaryOutSchema(), person, version=person.version)


# --- pathways --------------------------------------------------------------------------------------------


@operation(
    "GET",
    "/pathways/{pathway_id}",
    summary="Un parcours",
    tag="Parcours",
    response=PathwayOutSchema,
    etag=True,
)
def get_pathway(pathway_id: int) -> Response:
    """The pathway as the caller may see it: a partner without the person's consent gets only its
    existence and its referent (`access: existence`)."""
    user = current_user()
    pathway = _pathway(pathway_id)
    level = access.record_access(user, pathway)
    record_read(user, pathway, what="record" if level >= access.RecordAccess.SHARED else "existence")
    return _dump_pathway(user, pathway)


@operation(
    "PATCH",
    "/pathways/{pathway_id}",
    summary="Orienter le parcours ou changer d'étape",
    tag="Parcours",
    body=PathwayPatchSchema,
    response=PathwayOutSchema,
    etag=True,
    if_match="required",
    errors=(403,),
)
def update_pathway(pathway_id: int) -> Response:
    """`orientation` (with `oriented_at`, `note`) records the orientation decision; `stage` moves
    between intake, diagnosis and support. Both at once are two operations in one transaction:
    all or nothing."""
    user = current_user()
    pathway = _pathway(pathway_id)
    data = json_body(PathwayPatchSchema())
    version = if_match()
    with unit_of_work():  # each service's own unit of work becomes a SAVEPOINT of this one
        if data.get("orientation"):
            pathway = pathways.orient(
                user,
                pathway,
                data["orientation"],
                oriented_at=data.get("oriented_at"),
                note=data.get("note"),
                expected_version=version,
            )
            version = pathway.version
        if data.get("stage"):
            pathway = pathways.set_stage(user, pathway, data["stage"], expected_version=version)
    return _dump_pathway(user, pathway)


@operation(
    "POST",
    "/pathways/{pathway_id}/referent",
    summary="Nommer ou changer le référent",
    tag="Parcours",
    body=AssignReferentSchema,
    response=PathwayOutSchema,
    etag=True,
    if_match="optional",
    errors=(403,),
)
def assign_referent(pathway_id: int) -> Response:
    user = current_user()
    pathway = _pathway(pathway_id)
    data = json_body(AssignReferentSchema())
    referent = pathways.get_user_in_territory(user, data["user_id"], field="user_id")
    pathway = pathways.assign_referent(
        user, pathway, referent, note=data.get("note"), expected_version=if_match(required=False)
    )
    return _dump_pathway(user, pathway)


@operation(
    "POST",
    "/pathways/{pathway_id}/members",
    summary="Ajouter une structure à l'équipe de suivi",
    tag="Parcours",
    body=TeamMemberSchema,
    response=MemberOutSchema,
    status=201,
    errors=(403,),
)
def add_member(pathway_id: int) -> Response:
    user = current_user()
    pathway = _pathway(pathway_id)
    data = json_body(TeamMemberSchema())
    member = pathways.add_team_agency(user, pathway, data["agency_id"])
    return respond(MemberOutSchema(), member, status=201)


@operation(
    "DELETE",
    "/pathways/{pathway_id}/members/{agency_id}",
    summary="Retirer une structure de l'équipe",
    tag="Parcours",
    status=204,
    errors=(403,),
)
def remove_member(pathway_id: int, agency_id: int) -> Response:
    user = current_user()
    pathway = _pathway(pathway_id)
    pathways.remove_team_agency(user, pathway, agency_id)
    return no_content()


@operation(
    "POST",
    "/pathways/{pathway_id}/consent",
    summary="Enregistrer le consentement de la personne",
    tag="Parcours",
    body=ConsentSchema,
    response=ConsentOutSchema,
    status=201,
    errors=(403,),
)
def record_consent(pathway_id: int) -> Response:
    user = current_user()
    pathway = _pathway(pathway_id)
    data = json_body(ConsentSchema())
    consent = pathways.record_consent(user, pathway, method=data["method"], given_at=data.get("given_at"))
    return respond(ConsentOutSchema(), consent, status=201)


@operation(
    "DELETE",
    "/pathways/{pathway_id}/consent",
    summary="Retirer le consentement",
    tag="Parcours",
    response=ConsentOutSchema,
    errors=(403, 409),
)
def withdraw_consent(pathway_id: int) -> Response:
    """From now on, partners only see that the pathway exists and who the referent is."""
    user = current_user()
    pathway = _pathway(pathway_id)
    consent = pathways.withdraw_consent(user, pathway)
    return respond(ConsentOutSchema(), consent)


@operation(
    "POST",
    "/pathways/{pathway_id}/contracts",
    summary="Enregistrer un contrat d'engagement",
    tag="Parcours",
    body=ContractSchema,
    response=ContractOutSchema,
    status=201,
    errors=(403,),
)
def record_contract(pathway_id: int) -> Response:
    user = current_user()
    pathway = _pathway(pathway_id)
    data = json_body(ContractSchema())
    contract = pathways.record_contract(user, pathway, **data)
    return respond(ContractOutSchema(), contract, status=201)


@operation(
    "POST",
    "/pathways/{pathway_id}/employment",
    summary="Enregistrer un retour à l'emploi",
    tag="Parcours",
    body=EmploymentSchema,
    response=PathwayOutSchema,
    etag=True,
    if_match="optional",
    errors=(403,),
)
def record_employment(pathway_id: int) -> Response:
    """Stage `employed`, and check-ins planned at +1, +3, +6 months with the same referent."""
    user = current_user()
    pathway = _pathway(pathway_id)
    data = json_body(EmploymentSchema())
    pathway = pathways.record_employment(user, pathway, expected_version=if_match(required=False), **data)
    return _dump_pathway(user, pathway)


@operation(
    "POST",
    "/pathways/{pathway_id}/close",
    summary="Clôturer le parcours",
    tag="Parcours",
    body=CloseSchema,
    response=PathwayOutSchema,
    etag=True,
    if_match="optional",
    errors=(403,),
)
def close_pathway(pathway_id: int) -> Response:
    user = current_user()
    pathway = _pathway(pathway_id)
    data = json_body(CloseSchema())
    pathway = pathways.close_pathway(
        user, pathway, reason=data["reason"], note=data.get("note"), expected_version=if_match(required=False)
    )
    return _dump_pathway(user, pathway)


# --- journal -------------------------------------------------------------------------------------------


@operation(
    "GET",
    "/pathways/{pathway_id}/entries",
    summary="Notes du journal visibles",
    tag="Journal",
    query=ListQuerySchema,
    response=EntryOutSchema,
    paginated=True,
)
def list_entries(pathway_id: int) -> Response:
    """The journal entries the caller may read, newest first."""
    user = current_user()
    pathway = access.get_pathway_or_404(user, pathway_id)
    args = query_args(ListQuerySchema())
    page = paginate(queries.visible_entries_of(user, pathway), args["page"], args["per_page"])
    record_read(user, pathway, what="journal")
    return respond_page(page, EntryOutSchema(many=True).dump(page.items))


@operation(
    "POST",
    "/pathways/{pathway_id}/entries",
    summary="Ajouter une note au journal",
    tag="Journal",
    body=EntrySchema,
    response=EntryOutSchema,
    status=201,
    errors=(403,),
)
def add_entry(pathway_id: int) -> Response:
    user = current_user()
    pathway = _pathway(pathway_id)
    data = json_body(EntrySchema())
    entry = pathways.add_entry(user, pathway, **data)
    return respond(EntryOutSchema(), entry, status=201)


@operation(
    "GET",
    "/pathways/{pathway_id}/timeline",
    summary="Journal fusionné du dossier",
    tag="Journal",
    query=ListQuerySchema,
    response=TimelineItemSchema,
    paginated=True,
)
def get_timeline(pathway_id: int) -> Response:
    """Entries, meetings, barrier and referent changes the caller may see, newest first."""
    user = current_user()
    pathway = access.get_pathway_or_404(user, pathway_id)
    args = query_args(ListQuerySchema())
    items = timeline(user, pathway, limit=1000)
    record_read(user, pathway, what="timeline")
    start = (args["page"] - 1) * args["per_page"]
    page = Page(items[start : start + args["per_page"]], len(items), args["page"], args["per_page"])
    return respond_page(page, TimelineItemSchema(many=True).dump(page.items))
