"""« Importer des personnes » (admins and managers of the territory): upload, mapping, preview, run
in the background, progress, result and the errors file."""
from __future__ import annotations

import logging
import re
import threading

from flask import Blueprint, Flask, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from app import access
from app.core.webforms import FormPage
from app.errors import ValidationError
from app.extensions import db
from app.imports import services
from app.imports.mapping import CARNET_DE_BORD, CUSTOM_PREFIX, FIELDS
from app.imports.models import ImportJob, ImportStatus
from app.imports.schemas import MappingFormSchema, UploadFormSchema

bp = Blueprint("imports", __name__, url_prefix="/imports")

UPLOAD_ENDPOINT = "imports.index"


def allow_file_upload() -> None:
    """The upload of an import file may exceed MAX_CONTENT_LENGTH (2 Mo: every other form), up to
    the import's own limit: set before anything reads the body (the CSRF check does, first)."""
    if request.endpoint == UPLOAD_ENDPOINT and request.method == "POST":
        request.max_content_length = services.MAX_FILE_BYTES + 64 * 1024  # the file and the form's fields

log = logging.getLogger(__name__)
NEW_MAPPING = "nouvelle"


def _require_importer() -> None:
    if not access.can_import_people(current_user):
        abort(404)


def _presets() -> list[tuple[str, str]]:
    saved = [(CUSTOM_PREFIX + m.name, f"Correspondance « {m.name} »")
             for m in services.saved_mappings(current_user.territory_id)]
    return [(CARNET_DE_BORD, "Modèle Carnet de bord (colonnes du modèle, telles quelles)"), *saved,
            (NEW_MAPPING, "Autre fichier : choisir les colonnes (nouvelle correspondance)")]


@bp.route("", methods=["GET", "POST"])
@login_required
def index() -> ResponseReturnValue:
    """The upload form and the territory's recent imports."""
    _require_importer()
    form = FormPage({"preset": CARNET_DE_BORD}, schema=UploadFormSchema())
    if form.submitted:
        data = form.parse(UploadFormSchema())
        upload = request.files.get("file")
        if data is not None and (upload is None or not upload.filename):
            form.fail(ValidationError("Choisissez un fichier.", field="file"))
        elif data is not None:
            preset = data["preset"]
            content = upload.read(services.MAX_FILE_BYTES + 1)
            if form.run(lambda: services.create_job(
                current_user, current_user.territory, filename=upload.filename, content=content,
                preset=preset, column_mapping={} if preset == NEW_MAPPING else None,
            )):
                job = form.result
                if preset == NEW_MAPPING:
                    return redirect(url_for("imports.mapping", job_id=job.id))
                return redirect(url_for("imports.show", job_id=job.id))
    jobs = db.session.scalars(
        db.select(ImportJob).where(access.territory_clause(current_user, ImportJob.territory_id))
        .order_by(ImportJob.created_at.desc(), ImportJob.id.desc()).limit(20)).all()
    return render_template("imports/index.html", form=form, presets=_presets(), jobs=jobs), form.status


@bp.route("/<id:job_id>/correspondance", methods=["GET", "POST"])
@login_required
def mapping(job_id: int) -> ResponseReturnValue:
    """« Nouvelle correspondance »: the file's column for each field, saved for the territory."""
    _require_importer()
    job = services.get_job_or_404(current_user, job_id)
    if job.status != ImportStatus.PREVIEW:
        return redirect(url_for("imports.show", job_id=job.id))
    form = FormPage(dict(job.mapping), schema=MappingFormSchema())
    if form.submitted:
        def save(data: dict[str, str]) -> ImportJob:
            name = data.pop("name")
            saved = services.save_mapping(current_user, current_user.territory, name, data)
            return services.apply_mapping(current_user, job, CUSTOM_PREFIX + saved.name, saved.columns)

        if form.submit(MappingFormSchema(), save):
            return redirect(url_for("imports.show", job_id=job.id))
    options = [("", "— Aucune colonne —")] + [(h, h) for h in job.headers if h]
    return render_template("imports/mapping.html", form=form, job=job, fields=FIELDS,
                           header_options=options), form.status


@bp.route("/<id:job_id>")
@login_required
def show(job_id: int) -> ResponseReturnValue:
    """The preview (nothing written yet), the progress of a running import, or its result."""
    _require_importer()
    job = services.get_job_or_404(current_user, job_id)
    if job.status == ImportStatus.PREVIEW:
        if not job.mapping:
            return redirect(url_for("imports.mapping", job_id=job.id))
        try:
            result = services.preview_job(job)
        except services.ImportFileError as exc:
            flash(exc.message, "error")
            return redirect(url_for("imports.mapping", job_id=job.id))
        return render_template("imports/preview.html", job=job, preview=result)
    if job.status in (ImportStatus.QUEUED, ImportStatus.RUNNING):
        return render_template("imports/progress.html", job=job)
    rejected = services.rejected_rows(job)[:200]
    return render_template("imports/result.html", job=job, rejected=rejected)


@bp.route("/<id:job_id>/lancer", methods=["POST"])
@login_required
def launch(job_id: int) -> ResponseReturnValue:
    """« Lancer l'import » (or resume one that stopped): queued, then run after this request commits."""
    _require_importer()
    job = services.get_job_or_404(current_user, job_id)
    if job.status == ImportStatus.PREVIEW:
        if not job.mapping:
            return redirect(url_for("imports.mapping", job_id=job.id))
        services.queue_job(current_user, job)
    elif job.status != ImportStatus.FAILED:
        return redirect(url_for("imports.show", job_id=job.id))
    start(current_app._get_current_object(), job.id)
    return redirect(url_for("imports.show", job_id=job.id))


@bp.route("/<id:job_id>/erreurs.csv")
@login_required
def errors_file(job_id: int) -> ResponseReturnValue:
    """The rejected rows with their line and reasons (formula-safe CSV, opens in Excel)."""
    _require_importer()
    job = services.get_job_or_404(current_user, job_id)
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", job.filename) + ".erreurs.csv"  # a header-safe name
    return Response("\ufeff" + services.errors_csv(job), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def start(app: Flask, job_id: int) -> None:
    """Run the job: inline for the tests, else in a thread with its own app context and session."""
    if app.config.get("IMPORTS_RUN_INLINE"):
        services.run_job(job_id)
        return
    threading.Thread(target=_run_in_thread, args=(app, job_id), name=f"import-{job_id}", daemon=True).start()


def _run_in_thread(app: Flask, job_id: int) -> None:
    with app.app_context():
        try:
            services.run_job(job_id)
        except Exception:  # the job row says it stopped, and where; resumable from the page
            log.exception("import %s stopped", job_id)
        finally:
            db.session.remove()
