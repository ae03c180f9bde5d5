"""Exports of lists (« Mon portefeuille », the « Pilotage » lists) as CSV and XLSX: the columns,
shared by the downloads built in the request and those built in the background (« Mes exports »).

A list longer than what a request exports at once (EXPORT_SYNC_LIMIT, the lists' own cap of 500)
is exported in the background: `queue_export` records an `ExportJob` with the page's filters; the
scheduler (`run_pending_exports`, every minute) claims it — one runner per job, whichever process
(`FOR UPDATE SKIP LOCKED`, then a conditional UPDATE) — re-checks that its requester still may
(`access.can_build_export`), reads the whole list in batches of the page's own queries (keyset:
`caseload_batches`, `pilotage.list_rows(after=…)`, same access clauses, no cap) and stores the file
in pieces (`ExportFile`). The link works for 48 h; then `purge_expired_exports` deletes the pieces.
Queuing and each download are audited; the download names the pathways the file holds.
"""
from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app import access
from app.accounts.models import User
from app.audit.services import record_event, record_shown
from app.barriers.models import BarrierCategory
from app.core import csvexport, timefmt, xlsxexport
from app.errors import NotFound, ValidationError
from app.exports.models import ExportFile, ExportJob, ExportStatus
from app.extensions import db
from app.followup import pilotage
from app.followup.models import AlertKind
from app.labels import label
from app.pathways.models import Stage
from app.transaction import unit_of_work
from app.workspace.portfolio import CaseloadFilters, CaseloadRow, caseload_batches

log = logging.getLogger("parcours.exports")

FORMATS = ("csv", "xlsx")
LINK_LIFETIME = timedelta(hours=48)
BATCH = 500  # rows read per query while building
CHUNK = 1 << 20  # bytes per stored piece of a file
CLAIM_TIMEOUT = timedelta(minutes=30)  # a job « en préparation » for longer was left by a dead process
KEEP_FOR = timedelta(days=30)  # lines of « Mes exports » are kept that long (without their file once expired)
MIMETYPES = {"csv": "text/csv; charset=utf-8", "xlsx": xlsxexport.MIMETYPE}

# --- the columns -----------------------------------------------------------------------------------

PORTFOLIO_HEADER = ["Parcours", "Nom", "Prénom", "Date de naissance", "Étape", "Orientation", "Référent",
                    "Structure référente", "Dernier entretien", "Prochain rendez-vous", "Freins ouverts",
                    "Alertes", "Première échéance"]
PILOTAGE_HEADER = ["Parcours", "Nom", "Prénom", "Étape", "Référent", "Structure", "Type", "Échéance", "Détail"]
BARRIER_HEADER = ["Parcours", "Nom", "Prénom", "Étape", "Référent", "Structure référente",
                  "Frein", "Catégorie", "Statut", "Échéance", "Structure porteuse"]


def portfolio_line(row: CaseloadRow) -> list[Any]:
    return [
        row.pathway.id, row.beneficiary.last_name, row.beneficiary.first_name, row.beneficiary.birth_date,
        row.pathway.stage, row.pathway.orientation, row.referent.full_name if row.referent else "",
        row.lead_agency.name, row.last_held_at, row.next_meeting_at, row.open_barriers,
        ", ".join(label(kind) for kind in row.alert_kinds), timefmt.paris_date(row.first_due_at),
    ]


def pilotage_header(name: str) -> list[str]:
    return BARRIER_HEADER if name == "freins" else PILOTAGE_HEADER


def pilotage_line(name: str, row: pilotage.ListRow) -> list[Any]:
    referent = row.referent.full_name if row.referent else ""
    person = [row.pathway.id, row.beneficiary.last_name, row.beneficiary.first_name, row.pathway.stage, referent,
              row.agency.name]
    if name == "freins":
        return [*person, row.detail, row.category, row.status, row.due_on, row.owner]  # a day, never shifted
    return [*person, row.kind, timefmt.paris_date(row.due_at), row.detail]  # the day, as on the page


# --- the parameters of a list, as the page had them --------------------------------------------------

PORTFOLIO_KINDS = {"moi": "portfolio.moi", "structure": "portfolio.structure"}


def portfolio_parameters(q: str | None, stage: Stage | None, alert: AlertKind | None) -> dict[str, Any]:
    return {"q": q, "etape": stage.value if stage else None, "alerte": alert.value if alert else None}


def pilotage_parameters(agency_id: int | None, referent_id: int | None, kind: AlertKind | None,
                        category: BarrierCategory | None) -> dict[str, Any]:
    return {"structure": agency_id, "referent": referent_id, "type": kind.value if kind else None,
            "categorie": category.value if category else None}


def _filter_names(parameters: dict[str, Any]) -> list[str]:
    """The filters set, by name (never the text typed in a search box: the audit's rule)."""
    return sorted(name for name, value in parameters.items() if value not in (None, ""))


def describe(job: ExportJob) -> str:
    """« Mon portefeuille (suivis par ma structure) », « Pilotage : Freins ouverts »…"""
    if job.kind == "portfolio.structure":
        return "Mon portefeuille (suivis par ma structure)"
    if job.kind.startswith("portfolio."):
        return "Mon portefeuille (dont je suis le référent)"
    return f"Pilotage : {pilotage.LISTS.get(job.kind.split('.', 1)[1], 'liste')}"


def _filename(kind: str, fmt: str, now: datetime) -> str:
    day = timefmt.paris_date(now).isoformat()
    if kind.startswith("portfolio."):
        return f"portefeuille-{kind.split('.', 1)[1]}-{day}-complet.{fmt}"
    return f"parcours-{kind.split('.', 1)[1]}-{day}-complet.{fmt}"


# --- queuing ------------------------------------------------------------------------------------------

def queue_export(actor: User, kind: str, parameters: dict[str, Any], fmt: str, *, now: datetime) -> ExportJob:
    """« Préparer l'export complet »: a pending job, built later by the scheduler; audited."""
    known = kind in PORTFOLIO_KINDS.values() or (kind.startswith("pilotage.") and kind[9:] in pilotage.LISTS)
    if not known or not access.can_queue_export(actor, kind):
        raise NotFound()
    if fmt not in FORMATS:
        raise ValidationError("Format d'export inconnu : choisissez CSV ou XLSX.", field="format")
    with unit_of_work() as session:
        job = ExportJob(territory_id=actor.territory_id, requested_by_id=actor.id, agency_id=actor.agency_id,
                        kind=kind, parameters=parameters, format=fmt, status=ExportStatus.PENDING,
                        filename=_filename(kind, fmt, now), created_at=now)
        session.add(job)
        session.flush()
        record_event(actor, "export.queued", object_type="export_job", object_id=job.id, at=now,
                     details={"list": kind, "format": fmt, "filters": _filter_names(parameters)})
    return job


# --- building (the scheduler) ---------------------------------------------------------------------

def _claimable(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(
        ExportJob.status == ExportStatus.PENDING,
        sa.and_(ExportJob.status == ExportStatus.RUNNING, ExportJob.started_at < now - CLAIM_TIMEOUT),
    )


def _claim_update(job_id: int, now: datetime) -> sa.Update:
    return (sa.update(ExportJob).where(ExportJob.id == job_id, _claimable(now))
            .values(status=ExportStatus.RUNNING, started_at=now).execution_options(synchronize_session=False))


def claim(job_id: int, now: datetime) -> bool:
    """Take the job for this runner: true for one runner only, whichever process."""
    with unit_of_work() as session:
        claimed = session.execute(_claim_update(job_id, now)).rowcount
    return bool(claimed)


def _next_claimed(now: datetime) -> int | None:
    """The next job to build, taken in one transaction: the row locked (another runner skips it)
    and marked `running` only if still claimable (SQLite has no row locks: the UPDATE decides)."""
    for _ in range(5):  # lost a race: the next one
        with unit_of_work() as session:
            job_id = session.scalar(
                sa.select(ExportJob.id).where(_claimable(now)).order_by(ExportJob.id).limit(1)
                .with_for_update(skip_locked=True)
            )
            if job_id is None:
                return None
            claimed = session.execute(_claim_update(job_id, now)).rowcount
        if claimed:
            return job_id
    return None


def run_pending_exports(now: datetime) -> dict[str, int]:
    """Build every pending export (the scheduler, every minute)."""
    done = failed = 0
    while (job_id := _next_claimed(now)) is not None:
        job = build_export(job_id, now=now)
        done, failed = (done + 1, failed) if job.status == ExportStatus.DONE else (done, failed + 1)
    return {"built": done, "failed": failed}


def run_export(job_id: int, *, now: datetime) -> ExportJob | None:
    """Claim then build one job (EXPORTS_RUN_INLINE: the request that queued it, in the tests)."""
    return build_export(job_id, now=now) if claim(job_id, now) else db.session.get(ExportJob, job_id)


def _fail(job_id: int, message: str, now: datetime) -> ExportJob:
    job = db.session.get(ExportJob, job_id)
    with unit_of_work():
        job.status, job.error, job.finished_at = ExportStatus.FAILED, message[:300], now
        job.parameters = {**job.parameters, "q": None} if "q" in job.parameters else job.parameters
    return job


@dataclass
class _Batch:
    lines: list[list[Any]]
    pathway_ids: list[int]


def _portfolio_batches(user: User, job: ExportJob) -> Iterator[_Batch]:
    p = job.parameters
    filters = CaseloadFilters(
        scope="team" if job.kind == "portfolio.structure" else "mine", q=p.get("q") or None,
        stage=Stage(p["etape"]) if p.get("etape") else None, alert=AlertKind(p["alerte"]) if p.get("alerte") else None,
    )
    for rows in caseload_batches(user, filters, batch=BATCH):
        yield _Batch([portfolio_line(row) for row in rows], [row.pathway.id for row in rows])


def _pilotage_batches(user: User, job: ExportJob) -> Iterator[_Batch]:
    p, name = job.parameters, job.kind.split(".", 1)[1]
    agency_id = p.get("structure")
    if agency_id is not None and agency_id not in {a.id for a in pilotage.agencies_in_scope(user)}:
        agency_id = None  # as the page does: an agency outside the scope is ignored
    scope = pilotage.Scope(user, agency_id=agency_id, referent_id=p.get("referent"))
    filters = {"kind": AlertKind(p["type"]) if p.get("type") else None,
               "category": BarrierCategory(p["categorie"]) if p.get("categorie") else None}
    after = None
    while True:
        # The check-ins « of the next 30 days » from when the page was shown.
        rows = pilotage.list_rows(name, scope, filters, job.created_at, limit=BATCH, after=after)
        if rows:
            yield _Batch([pilotage_line(name, row) for row in rows], [row.pathway.id for row in rows])
        if len(rows) < BATCH:
            return
        after = rows[-1].key


def _xlsx_pieces(header: list[str], lines: Iterable[list[Any]], sheet: str) -> Iterator[bytes]:
    handle, path = tempfile.mkstemp(suffix=".xlsx", prefix="parcours-export-")
    os.close(handle)
    try:
        xlsxexport.write_xlsx(path, header, lines, sheet=sheet)
        with open(path, "rb") as file:
            while piece := file.read(CHUNK):
                yield piece
    finally:
        os.unlink(path)


def build_export(job_id: int, *, now: datetime) -> ExportJob:
    """Build a claimed job's file, every row of the list (no cap), batch after batch."""
    job = db.session.get(ExportJob, job_id)
    user = db.session.get(User, job.requested_by_id)
    if not access.can_build_export(user, job):
        return _fail(job_id, "Export annulé : votre compte, votre structure ou vos droits ont changé "
                             "depuis la demande.", now)
    pathway_ids: list[int] = []
    count = 0

    def lines() -> Iterator[list[Any]]:
        nonlocal count
        batches = _portfolio_batches(user, job) if job.kind.startswith("portfolio.") else _pilotage_batches(user, job)
        for batch in batches:
            pathway_ids.extend(batch.pathway_ids)
            count += len(batch.lines)
            yield from batch.lines

    if job.kind.startswith("portfolio."):
        header, sheet = PORTFOLIO_HEADER, "Portefeuille"
    else:
        name = job.kind.split(".", 1)[1]
        header, sheet = pilotage_header(name), pilotage.LISTS[name]
    try:
        with unit_of_work() as session:
            session.execute(sa.delete(ExportFile).where(ExportFile.job_id == job_id))  # a run that died
            pieces = (csvexport.csv_chunks(header, lines(), size=CHUNK) if job.format == "csv"
                      else _xlsx_pieces(header, lines(), sheet))
            for seq, piece in enumerate(pieces):
                session.execute(sa.insert(ExportFile).values(job_id=job_id, seq=seq, data=piece))
            job = session.get(ExportJob, job_id)
            job.status, job.row_count, job.pathway_ids = ExportStatus.DONE, count, sorted(set(pathway_ids))
            job.finished_at, job.expires_at = now, now + LINK_LIFETIME
            if "q" in job.parameters:  # the text typed in the search box, kept only until the file is built
                job.parameters = {**job.parameters, "q": bool(job.parameters["q"]) or None}
            record_event(user, "export.built", object_type="export_job", object_id=job_id, at=now,
                         details={"list": job.kind, "format": job.format, "rows": count})
    except Exception as exc:  # the job says it failed; the scheduler goes on with the next one
        log.exception("export %s failed", job_id)
        return _fail(job_id, f"L'export n'a pas pu être préparé ({type(exc).__name__}) : demandez-le à nouveau.", now)
    return job


# --- « Mes exports », download, purge ---------------------------------------------------------------

def my_exports(user: User, *, now: datetime) -> list[ExportJob]:
    query = (sa.select(ExportJob)
             .where(access.own_exports_clause(user, ExportJob.requested_by_id, ExportJob.territory_id),
                    ExportJob.created_at >= now - KEEP_FOR)
             .order_by(ExportJob.created_at.desc(), ExportJob.id.desc()).limit(50))
    return list(db.session.scalars(query))


def get_export_or_404(user: User, job_id: int) -> ExportJob:
    job = db.session.get(ExportJob, job_id)
    if not access.can_download_export(user, job):
        raise NotFound()
    return job


def is_expired(job: ExportJob, now: datetime) -> bool:
    return job.status == ExportStatus.EXPIRED or (
        job.status == ExportStatus.DONE and job.expires_at is not None and job.expires_at <= now)


def record_download(user: User, job: ExportJob, *, now: datetime) -> None:
    """Who downloaded which pathways, in which format, with which filters (names)."""
    with unit_of_work():
        record_shown(user, "pathway.list.export", pathway_ids=job.pathway_ids, at=now,
                     details={"list": job.kind, "format": job.format, "export_job": job.id, "background": True,
                              "filters": _filter_names(job.parameters)})


def piece_ids(job: ExportJob) -> list[int]:
    """The ids of the file's pieces, in order (read before the response streams)."""
    return list(db.session.scalars(sa.select(ExportFile.id).where(ExportFile.job_id == job.id)
                                   .order_by(ExportFile.seq)))


def read_pieces(ids: list[int]) -> Iterator[bytes]:
    """The file, piece by piece (one piece in memory at a time), while the response streams."""
    for piece_id in ids:
        yield db.session.scalar(sa.select(ExportFile.data).where(ExportFile.id == piece_id))


def purge_expired_exports(now: datetime) -> dict[str, int]:
    """Delete the files whose link has expired (the scheduler, every hour); the lines stay 30 days."""
    with unit_of_work() as session:
        expired = sa.select(ExportJob.id).where(ExportJob.status == ExportStatus.DONE, ExportJob.expires_at <= now)
        pieces = session.execute(sa.delete(ExportFile).where(ExportFile.job_id.in_(expired))
                                 .execution_options(synchronize_session=False)).rowcount
        jobs = session.execute(sa.update(ExportJob).where(ExportJob.id.in_(expired.scalar_subquery()))
                               .values(status=ExportStatus.EXPIRED)
                               .execution_options(synchronize_session=False)).rowcount
        old_jobs = sa.select(ExportJob.id).where(ExportJob.created_at < now - KEEP_FOR)
        session.execute(sa.delete(ExportFile).where(ExportFile.job_id.in_(old_jobs))
                        .execution_options(synchronize_session=False))
        old = session.execute(sa.delete(ExportJob).where(ExportJob.created_at < now - KEEP_FOR)
                              .execution_options(synchronize_session=False)).rowcount
    return {"expired": jobs, "pieces_deleted": pieces, "lines_deleted": old}
