"""The referent and partner workspace (HTML): « Mon portefeuille », the shared record, creating a
person, and the actions on a pathway. Each view parses with a schema, calls one service, renders.
"""

from __future__ import annotations

import logging
from typing import Any

from anyascii import anyascii
from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from marshmallow import fields
from werkzeug.utils import secure_filename

from app import access
from app.audit.services import record_read, record_shown
from app.barriers.queries import pending_referrals
from app.core import csvexport, xlsxexport
from app.core.timefmt import long_date, paris_date
from app.core.urls import record_url, safe_next
from app.core.webforms import FormPage, local_input
from app.db_types import utcnow
from app.extensions import db
from app.followup.models import AlertKind
from app.followup.pilotage import caseload_counts
from app.followup.queries import alerts_computed_at
from app.labels import choices
from app.meetings.queries import planned_checkins
from app.pathways import queries, services
from app.pathways.models import (
    ClosureReason,
    ConsentMethod,
    ContractKind,
    EmploymentContractType,
    JoinRequestStatus,
    NoteType,
    Orientation,
    Pathway,
    Stage,
    Visibility,
)
from app.pathways.schemas import (
    RIGHT_LABELS,
    RIGHTS,
    AssignReferentSchema,
    CloseSchema,
    ConsentSchema,
    ContractSchema,
    EmploymentSchema,
    EntryEditSchema,
    EntrySchema,
    IdentityFormSchema,
    JoinAnswerSchema,
    JoinRequestSchema,
    OrientSchema,
    PersonFormSchema,
    TeamMemberSchema,
)
from app.transaction import unit_of_work
from app.validation import BaseSchema
from app.validation import page_number as parse_page
from app.workspace import exports
from app.workspace.portfolio import COUNT_CAP, CaseloadFilters, caseload, pathway_ids
from app.workspace.record import load_record
from app.workspace.record_pdf import record_pdf

log = logging.getLogger(__name__)
bp = Blueprint("pathways", __name__)

PER_PAGE = 25
TABS = ("synthese", "freins", "rendez-vous", "journal", "equipe")


class StageSchema(BaseSchema):
    """Web-only load schema for « Changer d'étape » (kept here: schemas.py belongs to the API work).
    The service refuses `employed` and `closed`, which have their own forms."""
    LABELS = {
        "stage": "Étape du parcours",
    }
    HINTS = {
        "stage": "Le retour à l'emploi et la clôture ont leur propre formulaire.",
    }


    stage = fields.Enum(Stage, by_value=True, required=True)


def _enum_arg(enum_cls: Any, name: str) -> Any:
    try:
        return enum_cls(request.args.get(name, ""))
    except ValueError:
        return None


# --- « Mon portefeuille » ------------------------------------------------------------------------


def _portfolio_args() -> tuple[str | None, str, str | None, Stage | None, AlertKind | None]:
    asked = request.args.get("onglet")
    tab = "structure" if asked == "structure" else "moi"
    q = (request.args.get("q") or "").strip()[:100] or None
    return asked, tab, q, _enum_arg(Stage, "etape"), _enum_arg(AlertKind, "alerte")


@bp.get("/portefeuille")
@login_required
def portfolio() -> ResponseReturnValue:
    asked, tab, q, stage, alert = _portfolio_args()
    page_number = parse_page(request.args)  # 422 naming `page` unless 1..100 000
    filters = CaseloadFilters(scope="team" if tab == "structure" else "mine", q=q, stage=stage, alert=alert)
    page = caseload(current_user, filters, page=page_number, per_page=PER_PAGE)
    if asked is None and not (q or stage or alert) and page.total == 0:
        # Referent of nobody (a partner): never an empty « dont je suis le référent » list first,
        # but her agency's pending requests and the people it follows.
        tab = "structure"
        filters = CaseloadFilters(scope="team", q=q, stage=stage, alert=alert)
        page = caseload(current_user, filters, page=page_number, per_page=PER_PAGE)
    pending = pending_referrals(current_user, now=utcnow())
    export_limit = min(current_app.config["EXPORT_SYNC_LIMIT"], COUNT_CAP)  # longer: « Mes exports »

    args = {
        "onglet": tab,
        "q": q,
        "etape": stage.value if stage else None,
        "alerte": alert.value if alert else None,
    }
    html = render_template(
        "pathways/portfolio.html",
        page=page,
        nav=page,
        tab=tab,
        pending=pending,
        filters=filters,
        args={k: v for k, v in args.items() if v},
        stage_choices=choices(Stage),
        alert_choices=choices(AlertKind),
        alerts_computed_at=alerts_computed_at(current_user.territory_id),
        export_limit=export_limit if page.more or page.total > export_limit else None,
    )
    # Audited once the page is built (the commit expires what the template reads).
    with unit_of_work():
        shown = pathway_ids(page) + [referral.pathway_id for referral in pending]  # the pending requests too
        record_shown(current_user, "pathway.search" if q else "pathway.list", pathway_ids=shown,
                     details={"list": f"portfolio.{tab}", "page": page.page,
                              "filters": [k for k, v in (("q", q), ("stage", stage), ("alert", alert)) if v]})
    return html


EXPORT_HEADER = exports.PORTFOLIO_HEADER


@bp.get("/portefeuille/export.csv", defaults={"fmt": "csv"}, endpoint="portfolio_csv")
@bp.get("/portefeuille/export.xlsx", defaults={"fmt": "xlsx"}, endpoint="portfolio_xlsx")
@login_required
def portfolio_export(fmt: str) -> ResponseReturnValue:
    """The list as « Mon portefeuille » shows it (same tab, search and filters), every page of it up
    to the count's cap (and EXPORT_SYNC_LIMIT), for a spreadsheet; longer, the page offers the full
    export in the background (app/workspace/exports.py). Pathways the user may only know exist are left out."""
    _asked, tab, q, stage, alert = _portfolio_args()
    filters = CaseloadFilters(scope="team" if tab == "structure" else "mine", q=q, stage=stage, alert=alert)
    limit = current_app.config["EXPORT_SYNC_LIMIT"]
    rows = []
    number = 1
    while len(rows) < limit:
        page = caseload(current_user, filters, page=number, per_page=100)
        rows += [row for row in page.items if row.access >= access.RecordAccess.SHARED]
        if not page.has_next:
            break
        number += 1
    rows = rows[:limit]
    lines = [exports.portfolio_line(row) for row in rows]
    filename = f"portefeuille-{'structure' if tab == 'structure' else 'moi'}-{paris_date(utcnow()).isoformat()}.{fmt}"
    with unit_of_work():
        record_shown(current_user, "pathway.list.export", pathway_ids=[row.pathway.id for row in rows],
                     details={"list": f"portfolio.{tab}", "format": fmt,
                              "filters": [k for k, v in (("q", q), ("stage", stage), ("alert", alert)) if v]})
        if fmt == "xlsx":
            return xlsxexport.xlsx_response(filename, EXPORT_HEADER, lines, sheet="Portefeuille")
        return csvexport.csv_response(filename, EXPORT_HEADER, lines)


# --- the record ----------------------------------------------------------------------------------


@bp.get("/parcours/<id:pathway_id>")
@login_required
def record(pathway_id: int) -> ResponseReturnValue:
    pathway = access.get_pathway_or_404(current_user, pathway_id, minimum=access.RecordAccess.EXISTENCE)
    shared = access.record_access(current_user, pathway) >= access.RecordAccess.SHARED
    # One transaction: the read is audited, the record read and the page built, then the commit —
    # no page without its audit event, and nothing expired (then reloaded) by an early commit.
    with unit_of_work():
        record_read(current_user, pathway, what="record" if shared else "existence")
        view = load_record(current_user, pathway)
        if view.level < access.RecordAccess.SHARED:
            return render_template("pathways/existence.html", view=view)
        tab = request.args.get("onglet") if request.args.get("onglet") in TABS else "synthese"
        note_type = _enum_arg(NoteType, "type")
        if note_type is not None:  # « Journal » filtered by note type (events and meetings are not notes)
            view.journal = [item for item in view.journal if item.details.get("note_type") == note_type.value]
        return render_template(
            "pathways/record.html",
            view=view,
            pathway=view.pathway,
            person=view.pathway.beneficiary,
            tab=tab,
            tabs=TABS,
            now=utcnow(),
            visibility_choices=choices(Visibility),
            note_types=choices(NoteType),
            note_type=note_type,
            right_labels=RIGHT_LABELS,
        )


@bp.get("/parcours/<id:pathway_id>/dossier.pdf")
@login_required
def record_as_pdf(pathway_id: int) -> ResponseReturnValue:
    """The shared record as a PDF to hand to the person: what this reader sees of it, no more."""
    pathway = access.get_pathway_or_404(current_user, pathway_id, minimum=access.RecordAccess.SHARED)
    now = utcnow()
    with unit_of_work():  # audited first: the commit would expire what the document reads
        record_shown(current_user, "pathway.export.pdf", pathway_ids=[pathway.id], details={"format": "pdf"})
    try:
        document = record_pdf(current_user, pathway, now=now, right_labels=RIGHT_LABELS)
    except OSError:  # WeasyPrint could not load Pango: a server set-up fault, said plainly
        log.exception("PDF export unavailable (Pango missing?)")
        flash("Le téléchargement en PDF n'est pas disponible sur ce serveur pour le moment : "
              "signalez-le à l'administrateur. Le dossier reste consultable et imprimable depuis cette page.",
              "error")
        return redirect(record_url(pathway.id))
    person = pathway.beneficiary
    name = secure_filename(anyascii(f"dossier-{person.last_name}-{person.first_name}").lower()) or "dossier"
    response = make_response(document)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}-{paris_date(now).isoformat()}.pdf"'
    return response


# --- creating a person (with the duplicate warning) ---------------------------------------------


@bp.route("/personnes/nouvelle", methods=["GET", "POST"])
@login_required
def create_person() -> ResponseReturnValue:
    form = FormPage({"become_referent": "1"}, schema=PersonFormSchema())
    matches: list[services.DuplicateMatch] = []
    if form.submitted:
        data = form.parse(PersonFormSchema(), extra=("become_referent",))
        if data is not None:
            data.pop("duplicate_reason", None)  # passed on its own below
            data.pop(
                "rights", None
            )  # not asked here; create_beneficiary sets it (and refuses a second value)
            confirmed = request.form.get("confirm") == "1"
            reason = (request.form.get("duplicate_reason") or "").strip()  # validated by the schema
            if not confirmed or not reason:
                # A deliberate, audited answer (DESIGN §3.3): a record not shared with the user is
                # told as « a pathway exists, led by … », never by name, and never for a name alone.
                matches = services.check_duplicates(current_user, data)
                if matches and confirmed:
                    form.errors = {"duplicate_reason": ["Indiquez pourquoi il s'agit d'une autre personne."]}
                    form.message = "Le formulaire contient des erreurs : corrigez les champs signalés."
                    form.status = 422
            if not matches:
                referent = current_user if request.form.get("become_referent") == "1" else None
                if form.run(lambda: services.create_beneficiary(
                    current_user, data, referent=referent, duplicate_reason=reason if confirmed else None
                )):
                    flash(f"Le dossier de {data['first_name']} {data['last_name']} est créé.", "success")
                    return redirect(record_url(form.result.id))
    return render_template("pathways/create_person.html", form=form, matches=matches), form.status


@bp.post("/parcours/<id:pathway_id>/equipe/demande")
@login_required
def request_to_join(pathway_id: int) -> ResponseReturnValue:
    """« Demander à rejoindre l'équipe de suivi », from the duplicate warning."""
    pathway = services.require_joinable(current_user, db.session.get(Pathway, pathway_id))
    form = FormPage(schema=JoinRequestSchema())
    if form.submit(JoinRequestSchema(), lambda d: services.request_to_join(current_user, pathway, **d)):
        flash(f"Votre demande est transmise à {pathway.lead_agency.name}, qui l'acceptera ou la refusera.",
              "success")
    else:
        flash(form.errors_text(), "error")
    return redirect(url_for(".portfolio"))


@bp.post("/equipe/demandes/<id:request_id>/reponse")
@login_required
def answer_join_request(request_id: int) -> ResponseReturnValue:
    join_request, pathway = services.get_join_request_or_404(current_user, request_id)
    form = FormPage(schema=JoinAnswerSchema())
    if form.submit(JoinAnswerSchema(), lambda d: services.answer_join_request(current_user, join_request, **d)):
        accepted = form.result.status == JoinRequestStatus.ACCEPTED
        flash(f"{join_request.agency.name} " + ("rejoint l'équipe de suivi." if accepted else "est informée du refus."),
              "success")
    else:
        flash(form.errors_text(), "error")
    return redirect(record_url(pathway.id, "equipe"))


# --- actions on a pathway (one form each) --------------------------------------------------------


def _action_page(template: str, pathway: Any, form: FormPage, **context: Any) -> ResponseReturnValue:
    # An action page shows who the person is: reading identity, audited like the record.
    record_read(current_user, pathway, what=f"form.{request.endpoint}")
    return render_template(
        template, form=form, pathway=pathway, person=pathway.beneficiary, **context
    ), form.status


@bp.route("/parcours/<id:pathway_id>/orientation", methods=["GET", "POST"])
@login_required
def orient(pathway_id: int) -> ResponseReturnValue:
    pathway = access.pathway_for(current_user, pathway_id, access.can_orient)
    form = FormPage(
        {
            "orientation": pathway.orientation.value if pathway.orientation else None,
            "oriented_at": local_input(utcnow()),
        }, schema=OrientSchema()
    )
    if form.submitted and form.submit(
        OrientSchema(),
        lambda d: services.orient(
            current_user,
            pathway,
            d["orientation"],
            oriented_at=d.get("oriented_at"),
            note=d.get("note"),
            expected_version=form.expected_version,
        ),
        datetime_fields=("oriented_at",),
    ):
        flash("L'orientation est enregistrée.", "success")
        return redirect(record_url(pathway.id))
    return _action_page("pathways/orient.html", pathway, form, choices=choices(Orientation))


@bp.route("/parcours/<id:pathway_id>/etape", methods=["GET", "POST"])
@login_required
def set_stage(pathway_id: int) -> ResponseReturnValue:
    pathway = access.pathway_for(current_user, pathway_id, access.can_change_stage)
    form = FormPage({"stage": pathway.stage.value}, schema=StageSchema())
    if form.submitted and form.submit(
        StageSchema(),
        lambda d: services.set_stage(
            current_user, pathway, d["stage"], expected_version=form.expected_version
        ),
    ):
        flash("L'étape du parcours est mise à jour.", "success")
        return redirect(record_url(pathway.id))
    stages = [c for c in choices(Stage) if c[0] in (Stage.INTAKE, Stage.DIAGNOSIS, Stage.SUPPORT)]
    return _action_page("pathways/stage.html", pathway, form, choices=stages)


@bp.route("/parcours/<id:pathway_id>/referent", methods=["GET", "POST"])
@login_required
def hand_over(pathway_id: int) -> ResponseReturnValue:
    """« Changer de référent » (also « Confier à… » from « Pilotage », which passes `retour`): the
    eligible referents with their current caseload, a handover note required, both referents told."""
    pathway = access.pathway_for(current_user, pathway_id, access.can_assign_referent,
                                 "Vous ne pouvez pas changer le référent de ce parcours.")
    back = safe_next(request.values.get("retour"))
    form = FormPage(schema=AssignReferentSchema())
    if form.submitted and form.submit(
        AssignReferentSchema(),
        lambda d: services.assign_referent(
            current_user,
            pathway,
            services.get_user_in_territory(current_user, d["user_id"], field="user_id"),
            note=d.get("note"),
            require_note=True,
            expected_version=form.expected_version,
        ),
    ):
        flash("Le référent est changé ; la note de passation lui est transmise.", "success")
        return redirect(back or record_url(pathway.id, "equipe"))
    candidates = queries.handover_candidates(current_user, pathway)
    caseloads = caseload_counts([user.id for user, _agency in candidates])
    options = [
        (str(user.id), f"{user.first_name} {user.last_name} — {agency} ({_caseload(caseloads[user.id])})")
        for user, agency in candidates
    ]
    return _action_page("pathways/hand_over.html", pathway, form, choices=options, back=back,
                        note_required=pathway.referent_id is not None)


def _caseload(n: int) -> str:
    return f"{n} parcours suivi{'s' if n > 1 else ''}" if n else "aucun parcours suivi"


@bp.post("/parcours/<id:pathway_id>/equipe")
@login_required
def add_team_agency(pathway_id: int) -> ResponseReturnValue:
    pathway = access.pathway_for(current_user, pathway_id, access.can_manage_team)
    form = FormPage(schema=TeamMemberSchema())
    if form.submit(
        TeamMemberSchema(), lambda d: services.add_team_agency(current_user, pathway, d["agency_id"])
    ):
        flash("La structure rejoint l'équipe de suivi.", "success")
    else:
        flash(form.errors_text(), "error")
    return redirect(record_url(pathway.id, "equipe"))


@bp.post("/parcours/<id:pathway_id>/equipe/<id:agency_id>/retirer")
@login_required
def remove_team_agency(pathway_id: int, agency_id: int) -> ResponseReturnValue:
    pathway = access.pathway_for(current_user, pathway_id, access.can_manage_team)
    services.remove_team_agency(current_user, pathway, agency_id)
    flash("La structure ne fait plus partie de l'équipe de suivi.", "success")
    return redirect(record_url(pathway.id, "equipe"))


@bp.route("/parcours/<id:pathway_id>/consentement", methods=["GET", "POST"])
@login_required
def record_consent(pathway_id: int) -> ResponseReturnValue:
    pathway = access.pathway_for(current_user, pathway_id, access.can_record_consent)
    form = FormPage({"given_at": local_input(utcnow())}, schema=ConsentSchema())
    if form.submitted and form.submit(
        ConsentSchema(),
        lambda d: services.record_consent(
            current_user, pathway, method=d["method"], given_at=d.get("given_at")
        ),
        datetime_fields=("given_at",),
    ):
        flash("Le consentement est enregistré : l'équipe de suivi accède au dossier partagé.", "success")
        return redirect(record_url(pathway.id))
    return _action_page("pathways/consent.html", pathway, form, choices=choices(ConsentMethod))


@bp.post("/parcours/<id:pathway_id>/consentement/retrait")
@login_required
def withdraw_consent(pathway_id: int) -> ResponseReturnValue:
    pathway = access.pathway_for(current_user, pathway_id, access.can_record_consent)
    services.withdraw_consent(current_user, pathway)
    flash(
        "Le retrait du consentement est enregistré : les partenaires ne voient plus que l'existence "
        "du parcours et son référent.",
        "success",
    )
    return redirect(record_url(pathway.id))


@bp.route("/parcours/<id:pathway_id>/contrat", methods=["GET", "POST"])
@login_required
def record_contract(pathway_id: int) -> ResponseReturnValue:
    pathway = access.pathway_for(current_user, pathway_id, access.can_record_contract)
    form = FormPage(schema=ContractSchema())
    if form.submitted and form.submit(
        ContractSchema(),
        lambda d: services.record_contract(current_user, pathway, **d),
    ):
        flash("Le contrat d'engagement est enregistré.", "success")
        return redirect(record_url(pathway.id))
    return _action_page("pathways/contract.html", pathway, form, choices=choices(ContractKind))


@bp.route("/parcours/<id:pathway_id>/journal", methods=["GET", "POST"])
@login_required
def add_entry(pathway_id: int) -> ResponseReturnValue:
    pathway = access.pathway_for(current_user, pathway_id, access.can_add_entry,
                                 "Vous ne pouvez pas écrire dans ce dossier.")
    form = FormPage({"visibility": Visibility.AGENCY.value}, schema=EntrySchema())
    if form.submitted and form.submit(
        EntrySchema(),
        lambda d: services.add_entry(
            current_user,
            pathway,
            body=d["body"],
            visibility=d["visibility"],
            occurred_at=d.get("occurred_at"),
            note_type=d.get("note_type"),
        ),
        datetime_fields=("occurred_at",),
    ):
        flash("La note est ajoutée au journal.", "success")
        return redirect(record_url(pathway.id, "journal"))
    return _action_page("pathways/entry.html", pathway, form, choices=choices(Visibility),
                        note_types=choices(NoteType))


@bp.route("/journal/<id:entry_id>/corriger", methods=["GET", "POST"])
@login_required
def edit_entry(entry_id: int) -> ResponseReturnValue:
    """« Corriger la note »: a new version, the previous one kept and shown on the record."""
    entry, pathway = services.get_entry_or_404(current_user, entry_id)
    access.require(access.can_correct_entry(current_user, entry, pathway), current_user, pathway,
                   "Seul l'auteur de la note peut la corriger.")
    author = access.can_edit_entry(current_user, entry, pathway)
    form = FormPage({"body": entry.body, "visibility": entry.visibility.value,
                     "note_type": entry.note_type.value if entry.note_type else ""}, schema=EntryEditSchema())

    def correct(data: dict[str, Any]) -> Any:
        if not author:  # someone else than the author only narrows who reads it (the form shows no text)
            data = {"visibility": data.get("visibility")}
        return services.edit_entry(current_user, entry, data, expected_version=form.expected_version)

    if form.submitted and form.submit(EntryEditSchema(), correct):
        flash("La note est corrigée ; sa version précédente reste consultable au journal.", "success")
        return redirect(record_url(pathway.id, "journal", anchor=f"note-{entry.id}"))
    visibilities = [c for c in choices(Visibility)
                    if access.can_set_entry_visibility(current_user, entry, pathway, c[0]) or c[0] == entry.visibility]
    return _action_page("pathways/edit_entry.html", pathway, form, entry=entry, author=author,
                        choices=visibilities, note_types=choices(NoteType))


@bp.route("/parcours/<id:pathway_id>/identite", methods=["GET", "POST"])
@login_required
def edit_identity(pathway_id: int) -> ResponseReturnValue:
    """« Modifier l'identité et les coordonnées »: the person's identity, contact and rights."""
    pathway = access.pathway_for(current_user, pathway_id, access.can_edit_identity)
    person = pathway.beneficiary
    values = {name: getattr(person, name) for name in services.IDENTITY_FIELDS}
    values["birth_date"] = person.birth_date.isoformat() if person.birth_date else None
    form = FormPage(values, schema=IdentityFormSchema())
    if form.submitted:
        form.values.setdefault("rights", [])
        if isinstance(form.values["rights"], str):
            form.values["rights"] = [form.values["rights"]]

    def save(data: dict[str, Any]) -> Any:
        data.setdefault("rights", [])  # no box ticked: no right any more
        return services.update_beneficiary(current_user, person.id, data, expected_version=form.expected_version)

    if form.submitted and form.submit(IdentityFormSchema(), save, list_fields=("rights",)):
        flash("L'identité et les coordonnées sont mises à jour.", "success")
        return redirect(record_url(pathway.id))
    return _action_page("pathways/identity.html", pathway, form,
                        rights=[(code, RIGHT_LABELS[code]) for code in RIGHTS])


@bp.route("/parcours/<id:pathway_id>/emploi", methods=["GET", "POST"])
@login_required
def record_employment(pathway_id: int) -> ResponseReturnValue:
    pathway = access.pathway_for(current_user, pathway_id, access.can_record_employment)
    form = FormPage(schema=EmploymentSchema())
    if form.submitted and form.submit(
        EmploymentSchema(),
        lambda d: services.record_employment(
            current_user, pathway, expected_version=form.expected_version, **d
        ),
    ):
        checkins = planned_checkins(pathway)
        flash(
            "Retour à l'emploi enregistré. Points de suivi dans l'emploi prévus avec le même référent : "
            + ", ".join(long_date(at) for at in checkins)
            + ".",
            "success",
        )
        return redirect(record_url(pathway.id, "rendez-vous"))
    return _action_page("pathways/employment.html", pathway, form, choices=choices(EmploymentContractType))


@bp.route("/parcours/<id:pathway_id>/cloture", methods=["GET", "POST"])
@login_required
def close(pathway_id: int) -> ResponseReturnValue:
    pathway = access.pathway_for(current_user, pathway_id, access.can_close_pathway)
    form = FormPage(schema=CloseSchema())
    if form.submitted and form.submit(
        CloseSchema(),
        lambda d: services.close_pathway(
            current_user,
            pathway,
            reason=d["reason"],
            note=d.get("note"),
            expected_version=form.expected_version,
        ),
    ):
        flash("Le parcours est clôturé. Les rendez-vous à venir sont annulés.", "success")
        return redirect(record_url(pathway.id))
    return _action_page("pathways/close.html", pathway, form, choices=choices(ClosureReason))
