"""Exports built in the background (« Mes exports », issue #15) over real HTTP and a real database:
a list longer than EXPORT_SYNC_LIMIT offers the full export; the job builds a CSV / XLSX with
exactly the list's rows (batches of the page's own queries, keyset), French headers, formula-safe
cells, Paris dates; only its requester downloads it, for 48 h (then 410, and the purge deletes the
file); two runners never build one twice; access is checked again when the file is built."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.core.timefmt import weekday_datetime
from app.db_types import utcnow
from app.exports.models import ExportFile, ExportJob, ExportStatus
from app.extensions import db
from app.followup import pilotage
from app.followup.scan import scan_follow_ups
from app.pathways import services
from app.pathways.models import Beneficiary, Pathway
from app.workspace import exports
from app.workspace.portfolio import CaseloadFilters, caseload
from tests.web_helpers import xlsx_rows
from tests.world import World

NOW = datetime.now(timezone.utc)
HOSTILE = '=HYPERLINK("http://x")'
LIMIT = 3


@pytest.fixture
def small(app, monkeypatch):
    """A sync limit of 3 rows, batches of 2 (so that the keyset walk crosses several batches)."""
    monkeypatch.setitem(app.config, "EXPORT_SYNC_LIMIT", LIMIT)
    monkeypatch.setattr(exports, "BATCH", 2)


@pytest.fixture
def later(app, monkeypatch):
    """Queued by the request, built by the scheduler (as in production)."""
    monkeypatch.setitem(app.config, "EXPORTS_RUN_INLINE", False)


@pytest.fixture
def many(world: World) -> list[Pathway]:
    """Eight more people followed by the referent: some late (alerts: a deadline), some not (none),
    one whose name a spreadsheet would run as a formula."""
    created = []
    for i in range(8):
        pathway = services.create_beneficiary(
            world.referent, {"first_name": f"Prénom{i}", "last_name": f"Nom{i}"}, referent=world.referent,
            now=NOW - timedelta(days=100 if i % 2 else 1),
        )
        created.append(pathway)
    db.session.get(Beneficiary, created[3].beneficiary_id).last_name = HOSTILE
    db.session.flush()
    scan_follow_ups(NOW)
    return created


def _csv(data: bytes) -> list[list[str]]:
    text = data.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def _jobs() -> list[ExportJob]:
    return list(db.session.scalars(sa.select(ExportJob).order_by(ExportJob.id)))


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def _caseload_ids(user, scope: str = "mine") -> list[int]:
    page = caseload(user, CaseloadFilters(scope=scope), per_page=200)
    return [row.pathway.id for row in page.items if row.access >= 2]


def test_a_caseload_above_the_limit_is_exported_whole_in_the_background(
    client, login_as, world: World, many, small, later
) -> None:
    login_as(world.referent)
    page = client.get("/portefeuille")
    html = page.get_data(as_text=True).replace("&#39;", "'")
    assert "Cette liste compte plus de 3 lignes : l'export complet est préparé en arrière-plan" in html
    assert len(_csv(client.get("/portefeuille/export.csv").get_data())) == 1 + LIMIT  # the request: 3 rows

    response = client.post("/exports/portefeuille", data={"format": "csv", "onglet": "moi"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/exports")
    (job,) = _jobs()
    assert (job.status, job.kind, job.format) == (ExportStatus.PENDING, "portfolio.moi", "csv")
    assert "En préparation" in client.get("/exports").get_data(as_text=True)

    assert exports.run_pending_exports(NOW) == {"built": 1, "failed": 0}
    db.session.refresh(job)
    assert job.status == ExportStatus.DONE and job.expires_at == NOW + timedelta(hours=48)
    listing = client.get("/exports").get_data(as_text=True).replace("&#39;", "'")
    assert f"disponible jusqu'au {weekday_datetime(NOW + timedelta(hours=48))}" in listing

    download = client.get(f"/exports/{job.id}/fichier")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    rows = _csv(download.get_data())
    assert rows[0] == exports.PORTFOLIO_HEADER and rows[0][1:3] == ["Nom", "Prénom"]
    expected = _caseload_ids(world.referent)
    assert len(expected) == 9 and [int(row[0]) for row in rows[1:]] == expected  # every row, in the page's order
    assert job.row_count == 9
    (hostile,) = [row for row in rows if row[0] == str(many[3].id)]
    assert hostile[1] == "'" + HOSTILE  # shown as text, never run
    assert all(not value.startswith(("=", "+", "@")) for row in rows for value in row)


def test_a_pilotage_list_in_xlsx_holds_exactly_the_list(client, login_as, world: World, many, small) -> None:
    login_as(world.manager_cd)
    page = client.get("/pilotage/listes/portefeuilles").get_data(as_text=True).replace("&#39;", "'")
    assert "l'export complet est préparé en arrière-plan" in page
    response = client.post("/exports/pilotage/portefeuilles", data={"format": "xlsx"})  # built inline (tests)
    assert response.status_code == 302
    (job,) = _jobs()
    assert job.status == ExportStatus.DONE
    download = client.get(f"/exports/{job.id}/fichier")
    assert download.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    rows = xlsx_rows(download.get_data())
    assert rows[0] == exports.PILOTAGE_HEADER
    expected = [row.pathway.id for row in pilotage.caseload_list(pilotage.Scope(world.manager_cd), limit=1000)]
    assert len(expected) == 9 and [int(float(row[0])) for row in rows[1:]] == expected
    assert HOSTILE in [row[1] for row in rows]  # a string cell: no formula in the workbook
    assert b"<f>" not in download.get_data()


def test_a_filtered_pilotage_list_keeps_its_filters(client, login_as, world: World, many, small) -> None:
    login_as(world.manager_cd)
    client.post("/exports/pilotage/alertes", data={"format": "csv", "type": "follow_up_overdue"})
    (job,) = _jobs()
    rows = _csv(client.get(f"/exports/{job.id}/fichier").get_data())
    kind = pilotage.AlertKind.FOLLOW_UP_OVERDUE
    expected = pilotage.alert_list(pilotage.Scope(world.manager_cd), kind=kind, limit=1000)
    assert expected and [int(row[0]) for row in rows[1:]] == [row.pathway.id for row in expected]
    assert {row[6] for row in rows[1:]} == {"Suivi en retard"} or len({row[6] for row in rows[1:]}) == 1


@pytest.mark.parametrize("who", ["colleague", "outsider", "stranger", "manager_ft"])
def test_only_the_requester_downloads(client, login_as, world: World, many, who: str) -> None:
    login_as(world.referent)
    client.post("/exports/portefeuille", data={"format": "csv"})
    (job,) = _jobs()
    assert client.get(f"/exports/{job.id}/fichier").status_code == 200
    login_as(getattr(world, who))
    response = client.get(f"/exports/{job.id}/fichier")
    assert response.status_code == 404
    assert "Nom1" not in response.get_data(as_text=True)
    assert f"/exports/{job.id}/fichier" not in client.get("/exports").get_data(as_text=True)


def test_after_48_hours_the_link_answers_410_and_the_purge_deletes_the_file(
    client, login_as, world: World, many, later
) -> None:
    login_as(world.referent)
    client.post("/exports/portefeuille", data={"format": "xlsx"})
    (job,) = _jobs()
    built_at = utcnow() - timedelta(hours=48, minutes=1)
    exports.run_pending_exports(built_at)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ExportFile).where(ExportFile.job_id == job.id))
    response = client.get(f"/exports/{job.id}/fichier")
    assert response.status_code == 410
    assert "Ce lien de téléchargement a expiré" in response.get_data(as_text=True)

    assert exports.purge_expired_exports(utcnow())["expired"] == 1
    db.session.refresh(job)
    assert job.status == ExportStatus.EXPIRED
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ExportFile)) == 0
    assert client.get(f"/exports/{job.id}/fichier").status_code == 410
    assert "Lien expiré" in client.get("/exports").get_data(as_text=True)


def test_two_runners_build_an_export_once(client, login_as, world: World, many, later) -> None:
    login_as(world.referent)
    client.post("/exports/portefeuille", data={"format": "csv"})
    (job,) = _jobs()
    assert exports.claim(job.id, NOW) is True
    assert exports.claim(job.id, NOW) is False  # the second runner: not its job
    assert exports.run_pending_exports(NOW) == {"built": 0, "failed": 0}
    exports.build_export(job.id, now=NOW)
    assert exports.run_pending_exports(NOW + timedelta(hours=1)) == {"built": 0, "failed": 0}
    assert len(_events("export.built")) == 1
    # A runner that died with the job « en préparation »: taken again after the claim timeout.
    other = exports.queue_export(world.referent, "portfolio.moi", {}, "csv", now=NOW)
    assert exports.claim(other.id, NOW)
    assert exports.run_pending_exports(NOW + exports.CLAIM_TIMEOUT + timedelta(minutes=1))["built"] == 1


@pytest.mark.parametrize("change", ["deactivated", "moved"])
def test_access_is_checked_again_when_the_file_is_built(
    client, login_as, world: World, many, later, change: str
) -> None:
    login_as(world.colleague)  # a colleague of the referent (her own caseload is empty), « ma structure »
    client.post("/exports/portefeuille", data={"format": "csv", "onglet": "structure"})
    (job,) = _jobs()
    if change == "deactivated":
        world.colleague.is_active_account = False
    else:
        world.colleague.agency_id = world.ccas.id
    db.session.flush()
    assert exports.run_pending_exports(NOW) == {"built": 0, "failed": 1}
    db.session.refresh(job)
    assert job.status == ExportStatus.FAILED and "Export annulé" in job.error
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ExportFile)) == 0


def test_existence_only_pathways_are_left_out(client, login_as, world: World, many) -> None:
    services.withdraw_consent(world.referent, world.pathway, now=NOW)
    login_as(world.partner)
    assert world.pathway.id in [row.pathway.id for row in caseload(world.partner, CaseloadFilters(scope="team")).items]
    client.post("/exports/portefeuille", data={"format": "csv", "onglet": "structure"})
    (job,) = _jobs()
    assert job.status == ExportStatus.DONE and job.row_count == 0
    rows = _csv(client.get(f"/exports/{job.id}/fichier").get_data())
    assert rows == [exports.PORTFOLIO_HEADER]


def test_queuing_and_downloading_are_audited(client, login_as, world: World, many) -> None:
    login_as(world.referent)
    client.post("/exports/portefeuille", data={"format": "csv", "q": "Nom", "etape": "intake"})
    (job,) = _jobs()
    (queued,) = _events("export.queued")
    assert queued.actor_id == world.referent.id and queued.object_id == job.id
    assert queued.details["filters"] == ["etape", "q"] and "Nom" not in str(queued.details)  # names, not the text
    assert job.parameters["q"] is True  # the typed text is kept only until the file is built
    before = len(_events("pathway.list.export"))
    rows = _csv(client.get(f"/exports/{job.id}/fichier").get_data())
    (shown,) = _events("pathway.list.export")[before:]
    assert shown.actor_id == world.referent.id
    assert shown.details["pathway_ids"] == sorted(int(row[0]) for row in rows[1:])
    assert shown.details["format"] == "csv" and shown.details["export_job"] == job.id


def test_bad_input_is_refused_in_french_and_nothing_is_queued(client, login_as, world: World) -> None:
    login_as(world.referent)
    response = client.post("/exports/portefeuille", data={"format": "pdf"})
    assert response.status_code == 422
    assert "Format d'export inconnu" in response.get_data(as_text=True).replace("&#39;", "'")
    assert client.post("/exports/pilotage/inconnue", data={"format": "csv"}).status_code == 404
    assert client.post("/exports/pilotage/portefeuilles", data={"format": "csv"}).status_code == 404  # not a manager
    assert _jobs() == []
