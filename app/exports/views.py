"""« Mes exports » (HTML, thin): queue the full export of a list, list one's exports, download one."""
from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from app.barriers.models import BarrierCategory
from app.core import timefmt
from app.core.errorhandlers import error_response
from app.db_types import utcnow
from app.exports.models import ExportJob, ExportStatus
from app.followup.models import AlertKind
from app.pathways.models import Stage
from app.validation import parse_id
from app.workspace import exports

bp = Blueprint("exports", __name__)


def _enum(enum_cls, name: str):  # type: ignore[no-untyped-def]
    try:
        return enum_cls(request.form.get(name, "")) if request.form.get(name) else None
    except ValueError:
        return None  # as the pages do: an unknown filter is no filter


def _start(job: ExportJob) -> None:
    """Built by the scheduler's next run (within the minute); inline in the tests."""
    if current_app.config.get("EXPORTS_RUN_INLINE"):
        exports.run_export(job.id, now=utcnow())


def _queued() -> ResponseReturnValue:
    flash("L'export complet est en préparation : il apparaît ci-dessous, prêt en général en quelques minutes.",
          "success")
    return redirect(url_for(".index"))


@bp.post("/exports/portefeuille")
@login_required
def queue_portfolio() -> ResponseReturnValue:
    """The full export of « Mon portefeuille », with the tab, search and filters the page had."""
    tab = "structure" if request.form.get("onglet") == "structure" else "moi"
    q = (request.form.get("q") or "").strip()[:100] or None
    parameters = exports.portfolio_parameters(q, _enum(Stage, "etape"), _enum(AlertKind, "alerte"))
    job = exports.queue_export(current_user, exports.PORTFOLIO_KINDS[tab], parameters,
                               request.form.get("format", ""), now=utcnow())
    _start(job)
    return _queued()


@bp.post("/exports/pilotage/<name>")
@login_required
def queue_pilotage(name: str) -> ResponseReturnValue:
    """The full export of a « Pilotage » list, with the page's filters (checked again when built)."""
    parameters = exports.pilotage_parameters(parse_id(request.form.get("structure", "")),
                                             parse_id(request.form.get("referent", "")),
                                             _enum(AlertKind, "type"), _enum(BarrierCategory, "categorie"))
    job = exports.queue_export(current_user, f"pilotage.{name}", parameters, request.form.get("format", ""),
                               now=utcnow())
    _start(job)
    return _queued()


@bp.get("/exports")
@login_required
def index() -> ResponseReturnValue:
    now = utcnow()
    jobs = exports.my_exports(current_user, now=now)
    rows = [(job, exports.describe(job), exports.is_expired(job, now)) for job in jobs]
    return render_template("exports/index.html", rows=rows, until=timefmt.weekday_datetime,
                           running=any(job.status in (ExportStatus.PENDING, ExportStatus.RUNNING) for job in jobs))


@bp.get("/exports/<id:export_id>/fichier")
@login_required
def download(export_id: int) -> ResponseReturnValue:
    """The file, to its requester only (404 to anyone else); 410 once the 48 h are past."""
    job = exports.get_export_or_404(current_user, export_id)
    now = utcnow()
    if exports.is_expired(job, now):
        return error_response(410, "Lien expiré",
                              "Ce lien de téléchargement a expiré : un export reste disponible 48 heures. "
                              "Demandez un nouvel export depuis la liste.")
    if job.status != ExportStatus.DONE:
        flash("Cet export n'est pas encore prêt." if job.status != ExportStatus.FAILED
              else "Cet export a échoué : demandez-le à nouveau depuis la liste.", "error")
        return redirect(url_for(".index"))
    filename, mimetype, pieces = job.filename, exports.MIMETYPES[job.format], exports.piece_ids(job)
    exports.record_download(current_user, job, now=now)
    return Response(stream_with_context(exports.read_pieces(pieces)), mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})
