"""Importing the Carnet de bord template files of tests/data/imports (real files, real database)."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.extensions import db
from app.followup import summary
from app.imports import services
from app.imports.models import ImportJob, ImportRejection, ImportStatus
from app.pathways.models import Beneficiary, Pathway, PathwayMember, ReferentAssignment
from tests.imports.conftest import DATA

CSV_LINES = {  # line as a spreadsheet shows it → the reason (part of it)
    6: "Date de naissance : date impossible « 31/02/1980 »",
    7: "Prénom : champ obligatoire manquant.",
    8: "Structure : structure inconnue dans ce territoire : « Mission locale de Nulle Part »",
    9: "Accompagnateurs : professionnel inconnu dans ce territoire : « inconnu@nulle-part.test »",
    10: "Ligne en double : même identifiant « A1 » que la ligne 2.",
    11: "Ligne en double : même personne que la ligne 2.",
    13: "Droits ARE : « peut-être » n'est ni Oui ni Non.",
}
# In the workbooks (XLSX, ODS) the quoted line break is inside one cell: every row after it is one line up.
XLSX_LINES = {line - 1: reason for line, reason in CSV_LINES.items()}


def _import(world, name, *, actor=None, dry_run=False):
    content = (DATA / name).read_bytes()
    job = services.create_job(actor, world.territory, filename=name, content=content, preset="carnet-de-bord",
                              dry_run=dry_run)
    return services.run_job(job.id)


def _people(world):
    return {(p.first_name, p.last_name): p for p in db.session.scalars(
        sa.select(Beneficiary).where(Beneficiary.territory_id == world.territory.id))}


def _reasons(job):
    return {r.line: r.reasons for r in services.rejected_rows(job)}


@pytest.mark.parametrize(("name", "lines"), [("carnet_de_bord.csv", CSV_LINES), ("carnet_de_bord.xlsx", XLSX_LINES),
                                            ("carnet_de_bord.ods", XLSX_LINES)])
def test_the_carnet_de_bord_file_creates_updates_and_rejects_each_row_for_its_reason(world, name, lines):
    job = _import(world, name)

    assert job.status == ImportStatus.DONE
    assert (job.created_count, job.updated_count, job.unchanged_count, job.rejected_count) == (4, 1, 0, 7)
    reasons = _reasons(job)
    assert sorted(reasons) == sorted(lines)
    for line, expected in lines.items():
        assert any(expected in reason for reason in reasons[line]), (line, reasons[line])
    people = _people(world)
    amina = people[("Amina", "Diallo")]
    assert (amina.birth_date, amina.caf_number, amina.rights) == (date(1985, 3, 12), "2345678", ["rsa"])
    pathway = db.session.scalar(sa.select(Pathway).where(Pathway.beneficiary_id == amina.id))
    assert (pathway.referent_id, pathway.lead_agency_id) == (world.referent.id, world.ft.id)
    assert db.session.scalar(sa.select(ReferentAssignment.user_id).where(
        ReferentAssignment.pathway_id == pathway.id, ReferentAssignment.ended_at.is_(None))) == world.referent.id
    # A quoted line break in the address is one address; Structure: the first leads, the others join.
    martin = people[("Jean-Pierre", "Martin")]
    assert martin.address == "12 rue de la Paix, Bâtiment B, Appt 4"
    assert martin.france_travail_id == "1234567A"
    martin_pathway = db.session.scalar(sa.select(Pathway).where(Pathway.beneficiary_id == martin.id))
    assert (martin_pathway.lead_agency_id, martin_pathway.referent_id) == (world.cd.id, None)
    assert set(db.session.scalars(sa.select(PathwayMember.agency_id).where(
        PathwayMember.pathway_id == martin_pathway.id))) == {world.caf.id}
    # Markup is stored as text (Jinja escapes it on display).
    assert ("<b>Léa</b>", "Dupont<script>alert(1)</script>") in people
    eloise = people[("Éloïse", "N'Guyen")]
    assert eloise.birth_date == date(1978, 11, 5)
    assert eloise.rights == ["ass", "prime_activite"]
    # The match by CAF number brought the birth date and phone, and kept the rest.
    sarah = people[("Sarah", "Benali")]
    assert (sarah.birth_date, sarah.phone, sarah.caf_number) == (date(1988, 2, 2), "01 48 00 00 00", "1234567")
    assert sarah.id == world.pathway.beneficiary_id
    # The NIR is never stored: the summary says so, and the rejected rows keep no NIR either.
    assert any(col.startswith("NIR") for col in job.ignored_columns)
    assert any(col.startswith("RQTH") for col in job.ignored_columns)
    assert "2950593123456 78" not in repr([r.cells for r in services.rejected_rows(job)])
    assert job.content is None  # the rows are not kept after the job


def test_a_reimport_of_the_same_file_changes_nothing(world):
    _import(world, "carnet_de_bord.csv")
    before = {p.id: (p.version, p.updated_at, p.rights, p.address) for p in _people(world).values()}
    pathways = db.session.scalar(sa.select(sa.func.count(Pathway.id)))

    again = _import(world, "carnet_de_bord.csv")

    assert (again.created_count, again.updated_count, again.unchanged_count, again.rejected_count) == (0, 0, 5, 7)
    db.session.expire_all()
    assert {p.id: (p.version, p.updated_at, p.rights, p.address) for p in _people(world).values()} == before
    assert db.session.scalar(sa.select(sa.func.count(Pathway.id))) == pathways


def test_the_windows_1252_comma_separated_file_is_read(world):
    job = _import(world, "carnet_de_bord_windows.csv")

    assert (job.created_count, job.rejected_count) == (1, 2)
    assert ("Hélène", "Lefèvre") in _people(world)
    reasons = _reasons(job)
    assert "Date de naissance : date illisible « 1979/02/30 »" in reasons[3][0]
    assert reasons[4] == ["Date de naissance : champ obligatoire manquant."]


def test_a_dry_run_writes_no_person(world):
    before = db.session.scalar(sa.select(sa.func.count(Beneficiary.id)))

    job = _import(world, "carnet_de_bord.csv", dry_run=True)

    assert (job.created_count, job.updated_count, job.rejected_count) == (4, 1, 7)
    assert db.session.scalar(sa.select(sa.func.count(Beneficiary.id))) == before


def test_follow_up_summaries_are_exact_after_the_bulk_import(world):
    _import(world, "carnet_de_bord.csv")

    assert summary.drift(db.session.connection(), territory_id=world.territory.id) == []
    # Members carry the copy of their pathway's state (the team list reads it).
    member = db.session.scalar(sa.select(PathwayMember).join(Pathway).join(Beneficiary).where(
        Beneficiary.last_name == "N'Guyen"))
    assert (member.agency_id, member.pathway_open, member.pathway_shared) == (world.caf.id, True, False)


def test_the_import_is_audited_with_who_which_file_and_the_counts(world):
    job = _import(world, "carnet_de_bord.csv", actor=world.admin)

    events = {e.action: e for e in db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.object_type == "import_job", AuditEvent.object_id == job.id))}
    assert set(events) == {"import.uploaded", "import.finished"}
    finished = events["import.finished"]
    assert finished.actor_id == world.admin.id
    assert finished.details["filename"] == "carnet_de_bord.csv"
    assert (finished.details["created"], finished.details["updated"], finished.details["rejected"]) == (4, 1, 7)
    created = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.action == "beneficiary.created", AuditEvent.actor_id == world.admin.id))
    assert created == 4


def test_an_interrupted_import_resumes_where_it_stopped(world):
    content = (DATA / "carnet_de_bord.csv").read_bytes()
    job = services.create_job(None, world.territory, filename="f.csv", content=content, preset="carnet-de-bord")

    stopped = services.run_job(job.id, batch_size=4, stop_after=1)
    assert (stopped.status, stopped.rows_done, stopped.created_count) == (ImportStatus.FAILED, 4, 2)

    done = services.run_job(job.id, batch_size=4)

    assert done.status == ImportStatus.DONE
    assert (done.created_count, done.updated_count, done.rejected_count) == (4, 1, 7)
    assert db.session.scalar(sa.select(sa.func.count(ImportRejection.id)).where(ImportRejection.job_id == job.id)) == 7


def test_an_unreadable_file_or_a_mapping_that_does_not_fit_is_refused(world):
    with pytest.raises(services.ImportFileError, match="vide"):
        services.create_job(None, world.territory, filename="x.csv", content=b"", preset="carnet-de-bord")
    with pytest.raises(services.ImportFileError, match="Colonnes obligatoires absentes"):
        services.create_job(None, world.territory, filename="x.csv", content=b"Nom;Prenom\nA;B\n",
                            preset="carnet-de-bord")
    with pytest.raises(services.ImportFileError, match="illisible"):
        services.create_job(None, world.territory, filename="x.xlsx", content=b"PK\x03\x04garbage",
                            preset="carnet-de-bord")
    with pytest.raises(services.ImportFileError, match="Aucune correspondance"):
        services.create_job(None, world.territory, filename="x.csv", content=b"a\n", preset="custom:absente")
    assert db.session.scalar(sa.select(sa.func.count(ImportJob.id))) == 0


def test_a_custom_mapping_saved_for_the_territory(world):
    services.save_mapping(world.admin, world.territory, "Extraction SOLIS", {
        "external_id": "Matricule", "first_name": "Prénom usuel", "last_name": "NOM", "birth_date": "Né(e) le",
        "caf_number": "N° CAF", "agencies": "Service",
    })
    content = ("Matricule;NOM;Prénom usuel;Né(e) le;N° CAF;Service\n"
               "S1;Durand;Lucie;01/02/1990;3456789;CCAS Pantin\n").encode()

    job = services.run_job(services.create_job(world.admin, world.territory, filename="solis.csv",
                                               content=content, preset="custom:Extraction SOLIS").id)

    assert (job.created_count, job.rejected_count) == (1, 0)
    lucie = _people(world)[("Lucie", "Durand")]
    assert lucie.caf_number == "3456789"
    lead = db.session.scalar(sa.select(Pathway.lead_agency_id).where(Pathway.beneficiary_id == lucie.id))
    assert lead == world.ccas.id


def test_the_preview_of_a_large_file_counts_its_first_rows_and_says_so(world):
    content = (DATA / "carnet_de_bord.csv").read_bytes()
    job = services.create_job(None, world.territory, filename="f.csv", content=content, preset="carnet-de-bord")
    prepared = services.prepare(world.territory.id, services._unpack(job), job.mapping)

    partial = services.preview(prepared, limit=5)

    assert (partial.checked, partial.total) == (5, 12)
    assert sum(partial.counts.values()) == 5
    assert services.preview(prepared).counts == {"create": 4, "update": 1, "unchanged": 0, "reject": 7}


def test_alerts_are_raised_at_the_import_commit_for_the_pathways_it_opened(world):
    from datetime import timedelta

    from app.db_types import utcnow
    from app.followup.models import Alert, AlertKind

    content = (DATA / "carnet_de_bord.csv").read_bytes()
    job = services.create_job(None, world.territory, filename="f.csv", content=content, preset="carnet-de-bord")

    # Pathways that began 60 days ago, never oriented: past the 42-day legal delay at once.
    services.run_job(job.id, now=utcnow() - timedelta(days=60))

    opened = list(db.session.scalars(sa.select(Pathway).join(Beneficiary).where(
        Beneficiary.territory_id == world.territory.id, Pathway.id != world.pathway.id)))
    assert len(opened) == 4
    for pathway in opened:
        kinds = set(db.session.scalars(sa.select(Alert.kind).where(Alert.pathway_id == pathway.id)))
        assert AlertKind.ORIENTATION_LATE in kinds
        assert pathway.open_alert_count == len(kinds) and pathway.first_alert_due_at is not None
    assert summary.drift(db.session.connection(), territory_id=world.territory.id) == []


def test_a_name_made_only_of_signs_is_imported_with_an_empty_search_key(world):
    content = ("Identifiant dans le SI*;Prénom*;Nom*;Date de naissance*;Structure\n"
               "S1;!!;--;01/02/1990;CD 93\n").encode()
    job = services.run_job(services.create_job(None, world.territory, filename="f.csv", content=content,
                                               preset="carnet-de-bord").id)

    assert (job.created_count, job.rejected_count) == (1, 0)
    person = _people(world)[("!!", "--")]
    assert person.search_name == ""


def test_a_large_file_is_checked_in_a_second_process_with_the_same_verdicts(world, app):
    """Above IMPORTS_CHECK_PROCESS_ROWS the rows are checked in a spawned process (the writer keeps
    the GIL to itself): every count and reason is the one the thread gives."""
    app.config["IMPORTS_CHECK_PROCESS_ROWS"] = 1
    try:
        job = _import(world, "carnet_de_bord.csv")
    finally:
        app.config["IMPORTS_CHECK_PROCESS_ROWS"] = 20_000
    assert job.status == ImportStatus.DONE
    assert (job.created_count, job.updated_count, job.unchanged_count, job.rejected_count) == (4, 1, 0, 7)
    reasons = _reasons(job)
    assert sorted(reasons) == sorted(CSV_LINES)
    for line, expected in CSV_LINES.items():
        assert any(expected in reason for reason in reasons[line]), (line, reasons[line])
    amina = _people(world)[("Amina", "Diallo")]
    pathway = db.session.scalar(sa.select(Pathway).where(Pathway.beneficiary_id == amina.id))
    assert (pathway.referent_id, pathway.lead_agency_id) == (world.referent.id, world.ft.id)
