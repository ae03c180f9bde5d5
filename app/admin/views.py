"""« Comptes et paramètres »: the pages of a territory's admin (HTML), and the invitation link.

Every page but the invitation's asks `access.can_administer` (else 404, as for a page that does
not exist) and reads only the admin's own territory; objects of another territory are not found.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, logout_user

from app import access
from app.accounts.models import AgencyKind, Role
from app.accounts.schemas import PasswordResetSchema
from app.admin import directory, queries, services
from app.admin.schemas import (
    DAY_SETTINGS,
    MONTH_SETTINGS,
    AgencySchema,
    DirectoryUploadSchema,
    InvitationSchema,
    SearchSchema,
    TerritorySettingsSchema,
)
from app.core.csvexport import csv_response
from app.core.webforms import CONTROL_FIELDS, FormPage
from app.db_types import utcnow
from app.errors import Conflict, NotFound, ValidationError
from app.labels import choices
from app.validation import form_data, load, page_number

bp = Blueprint("admin", __name__, url_prefix="/administration")
public_bp = Blueprint("invitations", __name__)

MAIL_FAILED = (
    "Le message n'a pas pu être envoyé (serveur de messagerie indisponible) : renvoyez l'invitation "
    "depuis la liste des professionnels."
)


def _admin() -> Any:
    """The current admin, or 404 for anyone else (the page does not exist for them)."""
    user = current_user._get_current_object()
    if not access.can_administer(user):
        raise NotFound("Cette page est introuvable.")
    return user


def _payload() -> dict[str, Any]:
    data = form_data(request.form)
    for key in CONTROL_FIELDS:
        data.pop(key, None)
    return data


def _search() -> str | None:
    return load(SearchSchema(), {"q": request.args.get("q")})["q"]


def invitation_link(token: str) -> str:
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base + url_for("invitations.accept", token=token)
    return url_for("invitations.accept", token=token, _external=True)


# --- home ----------------------------------------------------------------------------------------------

@bp.get("/")
@login_required
def home() -> ResponseReturnValue:
    """« Comptes et paramètres »: the counts of the territory and its latest changes."""
    admin = _admin()
    return render_template(
        "admin/home.html", counts=queries.counts(admin, now=utcnow()),
        changes=queries.recent_changes(admin), action_labels=queries.ACTION_LABELS,
    )


# --- structures ----------------------------------------------------------------------------------------

def _agency_or_404(admin: Any, agency_id: int) -> Any:
    agency = queries.get_agency(admin, agency_id)
    if agency is None:
        raise NotFound(services.AGENCY_NOT_FOUND)
    return agency


@bp.get("/structures")
@login_required
def agencies() -> ResponseReturnValue:
    admin = _admin()
    q = _search()
    pager = queries.agencies_page(admin, q=q, page=page_number(request.args))
    return render_template("admin/agencies.html", pager=pager, q=q or "")


def _agency_defaults(agency: Any) -> dict[str, Any]:
    return {name: (getattr(agency, name).value if name == "kind" else getattr(agency, name))
            for name in AgencySchema.LABELS}


@bp.route("/structures/nouvelle", methods=["GET", "POST"])
@login_required
def create_agency() -> ResponseReturnValue:
    admin = _admin()
    form = FormPage({}, schema=AgencySchema())
    if form.submitted and form.run(lambda: services.create_agency(admin, _payload(), now=utcnow())):
        flash(f"La structure « {form.result.name} » est créée.", "success")
        return redirect(url_for("admin.agencies"))
    return render_template("admin/agency_form.html", form=form, agency=None,
                           kinds=choices(AgencyKind)), form.status


@bp.route("/structures/<id:agency_id>/modifier", methods=["GET", "POST"])
@login_required
def edit_agency(agency_id: int) -> ResponseReturnValue:
    admin = _admin()
    agency = _agency_or_404(admin, agency_id)
    form = FormPage(_agency_defaults(agency), schema=AgencySchema())
    if form.submitted and form.run(lambda: services.update_agency(
        admin, agency, _payload(), expected_version=form.expected_version, now=utcnow()
    )):
        flash(f"La structure « {agency.name} » est modifiée." if form.result
              else "Aucune modification : rien n'a été enregistré.", "success" if form.result else "info")
        return redirect(url_for("admin.agencies"))
    return render_template("admin/agency_form.html", form=form, agency=agency,
                           kinds=choices(AgencyKind)), form.status


@bp.post("/structures/<id:agency_id>/desactiver")
@login_required
def deactivate_agency(agency_id: int) -> ResponseReturnValue:
    admin = _admin()
    agency = _agency_or_404(admin, agency_id)
    services.set_agency_active(admin, agency, False, now=utcnow())
    flash(f"La structure « {agency.name} » est désactivée : ses parcours restent consultables, "
          "mais personne ne peut plus la rejoindre.", "success")
    return redirect(url_for("admin.agencies", q=request.args.get("q") or None))


@bp.post("/structures/<id:agency_id>/reactiver")
@login_required
def reactivate_agency(agency_id: int) -> ResponseReturnValue:
    admin = _admin()
    agency = _agency_or_404(admin, agency_id)
    services.set_agency_active(admin, agency, True, now=utcnow())
    flash(f"La structure « {agency.name} » est réactivée.", "success")
    return redirect(url_for("admin.agencies", q=request.args.get("q") or None))


# --- professionals -------------------------------------------------------------------------------------

def _user_or_404(admin: Any, user_id: int) -> Any:
    user = queries.get_user(admin, user_id)
    if user is None:
        raise NotFound(services.USER_NOT_FOUND)
    return user


@bp.get("/professionnels")
@login_required
def users() -> ResponseReturnValue:
    admin = _admin()
    q = _search()
    pager = queries.users_page(admin, q=q, page=page_number(request.args), now=utcnow())
    return render_template("admin/users.html", pager=pager, q=q or "")


@bp.route("/professionnels/inviter", methods=["GET", "POST"])
@login_required
def invite() -> ResponseReturnValue:
    admin = _admin()
    default_role = Role.PROFESSIONAL.value  # not an access rule: the form's preselected choice
    form = FormPage({"role": default_role}, schema=InvitationSchema())
    if form.submitted and form.run(
        lambda: services.invite_user(admin, _payload(), now=utcnow(), link_for=invitation_link)
    ):
        invited = form.result
        flash(f"Le compte de {invited.user.full_name} est créé ; l'invitation est envoyée à "
              f"{invited.user.email} (lien valable {services.INVITATION_TTL.days} jours).", "success")
        if not invited.mailed:
            flash(MAIL_FAILED, "warning")
        return redirect(url_for("admin.users"))
    agencies = queries.active_agencies(admin)
    return render_template("admin/invite.html", form=form, roles=choices(Role),
                           agencies=[(str(a.id), f"{a.name} ({a.kind.label})") for a in agencies]), form.status


def _account_action(user_id: int, action: Any, done: str) -> ResponseReturnValue:
    admin = _admin()
    user = _user_or_404(admin, user_id)
    try:
        result = action(admin, user)
    except Conflict as exc:
        flash(exc.message, "error")
    else:
        if result is False or result is None:
            flash("Rien à changer : ce compte était déjà dans cet état.", "info")
        else:
            flash(done.format(name=user.full_name, email=user.email), "success")
            if getattr(result, "mailed", True) is False:
                flash(MAIL_FAILED, "warning")
    return redirect(url_for("admin.users", q=request.args.get("q") or None))


@bp.post("/professionnels/<id:user_id>/renvoyer-invitation")
@login_required
def resend(user_id: int) -> ResponseReturnValue:
    return _account_action(
        user_id,
        lambda admin, user: services.resend_invitation(admin, user, now=utcnow(), link_for=invitation_link),
        "Une nouvelle invitation est envoyée à {email} ; le lien précédent ne fonctionne plus.",
    )


@bp.post("/professionnels/<id:user_id>/desactiver")
@login_required
def deactivate(user_id: int) -> ResponseReturnValue:
    return _account_action(
        user_id,
        lambda admin, user: services.deactivate_account(admin, user, now=utcnow()),
        "Le compte de {name} est désactivé : ses sessions et ses jetons d'accès à l'API sont fermés.",
    )


@bp.post("/professionnels/<id:user_id>/reactiver")
@login_required
def reactivate(user_id: int) -> ResponseReturnValue:
    return _account_action(
        user_id,
        lambda admin, user: services.reactivate_account(admin, user, now=utcnow()),
        "Le compte de {name} est réactivé.",
    )


# --- imports of structures and professionals (app/admin/directory.py) ----------------------------------

IMPORT_KINDS = "<any(structures, professionnels):slug>"


@bp.route(f"/importer/{IMPORT_KINDS}", methods=["GET", "POST"])
@login_required
def directory_upload(slug: str) -> ResponseReturnValue:
    """« Importer des structures » / « Importer des professionnels »: the upload, and recent files."""
    admin = _admin()
    kind = directory.SLUGS[slug]
    form = FormPage({}, schema=DirectoryUploadSchema())
    if form.submitted:
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            form.fail(ValidationError("Choisissez un fichier.", field="file"))
        elif form.run(lambda: directory.create_import(
            admin, kind, filename=upload.filename, content=upload.read(directory.MAX_FILE_BYTES + 1),
        )):
            return redirect(url_for("admin.directory_show", import_id=form.result.id))
    return render_template(
        "admin/directory_upload.html", form=form, kind=kind, slug=slug, title=directory.TITLES[kind],
        columns=directory.COLUMNS[kind], imports=directory.recent_imports(admin, kind),
        max_rows=directory.MAX_ROWS,
    ), form.status


@bp.get(f"/importer/{IMPORT_KINDS}/modele.csv")
@login_required
def directory_template(slug: str) -> ResponseReturnValue:
    """The file to fill in: the header line of the import (a `*` marks a required column)."""
    _admin()
    kind = directory.SLUGS[slug]
    return csv_response(directory.TEMPLATE_NAMES[kind], directory.template_header(kind), [])


def _slug(kind: str) -> str:
    return next(slug for slug, k in directory.SLUGS.items() if k == kind)


@bp.get("/importer/fichier/<id:import_id>")
@login_required
def directory_show(import_id: int) -> ResponseReturnValue:
    """The preview (nothing written yet) or, once run, the result and its rejected rows."""
    admin = _admin()
    job = directory.get_import(admin, import_id)
    context = {"job": job, "title": directory.TITLES[job.kind], "slug": _slug(job.kind)}
    if job.status == "preview":
        return render_template("admin/directory_preview.html", preview=directory.preview(admin, job), **context)
    return render_template("admin/directory_result.html", **context)


@bp.post("/importer/fichier/<id:import_id>/lancer")
@login_required
def directory_run(import_id: int) -> ResponseReturnValue:
    """« Lancer l'import »: every row checked again and written (a file already run is not run twice)."""
    admin = _admin()
    job = directory.get_import(admin, import_id)
    if job.status == "preview":
        directory.run(admin, job, now=utcnow(), link_for=invitation_link)
        if job.mail_failed_count:
            flash(f"{job.mail_failed_count} invitation(s) n'ont pas pu être envoyées (serveur de messagerie "
                  "indisponible) : renvoyez-les depuis la liste des professionnels.", "warning")
    return redirect(url_for("admin.directory_show", import_id=job.id))


@bp.get("/importer/fichier/<id:import_id>/erreurs.csv")
@login_required
def directory_errors(import_id: int) -> ResponseReturnValue:
    """The rejected rows with their line and reasons (formula-safe CSV, opens in Excel)."""
    admin = _admin()
    job = directory.get_import(admin, import_id)
    header, rows = directory.errors_rows(job)
    return csv_response(f"import-{job.id}-rejets.csv", header, rows)


# --- territory settings --------------------------------------------------------------------------------

def _settings_defaults(territory: Any) -> dict[str, Any]:
    values = services.settings_of(territory)
    values["checkin_months"] = ", ".join(str(m) for m in values["checkin_months"])
    return values


@bp.route("/parametres", methods=["GET", "POST"])
@login_required
def settings() -> ResponseReturnValue:
    admin = _admin()
    territory = admin.territory
    form = FormPage(_settings_defaults(territory), schema=TerritorySettingsSchema())
    if form.submitted:
        if "password_login_allowed" not in request.form:
            form.values["password_login_allowed"] = False
        if form.run(lambda: services.update_settings(
            admin, territory, _payload(), expected_version=form.expected_version, now=utcnow()
        )):
            changes = form.result
            if changes:
                flash(f"Les paramètres sont enregistrés ({len(changes)} modifié(s)). Les alertes de suivi "
                      "seront recalculées pour tout le territoire au prochain passage du contrôle.", "success")
            else:
                flash("Aucune modification : rien n'a été enregistré.", "info")
            return redirect(url_for("admin.settings"))
    history = queries.settings_history(admin, page=page_number(request.args))
    return render_template(
        "admin/settings.html", form=form, territory=territory, history=history,
        day_settings=DAY_SETTINGS, month_settings=MONTH_SETTINGS,
        labels=TerritorySettingsSchema.LABELS,
    ), form.status


# --- the invitation link (no login) --------------------------------------------------------------------

@public_bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept(token: str) -> ResponseReturnValue:
    """The invited person chooses a password, then logs in."""
    invitation = services.find_invitation(token, now=utcnow())
    if invitation is None:
        return render_template("admin/invitation_invalid.html", message=services.INVITATION_INVALID), 400
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        try:
            data = load(PasswordResetSchema(), request.form.to_dict())
            services.accept_invitation(
                token, password=data.get("password"), confirmation=data.get("password_confirmation"), now=utcnow(),
            )
        except ValidationError as exc:
            errors, status = exc.errors, 422
        except services.InvalidInvitation as exc:
            return render_template("admin/invitation_invalid.html", message=exc.message), 400
        else:
            if current_user.is_authenticated:  # whoever was logged in on this browser is out
                logout_user()
            session.clear()
            flash("Votre mot de passe est enregistré. Connectez-vous avec votre adresse électronique "
                  "et ce mot de passe.", "success")
            return redirect(url_for("accounts.login"))
    return render_template("admin/invitation.html", invitation=invitation, token=token, errors=errors), status
