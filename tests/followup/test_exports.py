"""« Pilotage » CSV exports and lists, and « Mes alertes », over real HTTP: inert cells, Paris dates,
and one audit event per page or export naming the pathways shown."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.core.csvexport import cell, neutralise, to_csv
from app.core.timefmt import paris_date
from app.extensions import db
from app.followup.scan import scan_follow_ups
from app.pathways import services
from app.pathways.models import Beneficiary, Pathway
from tests.queries import assert_num_queries
from tests.world import World

NOW = datetime.now(timezone.utc)
HOSTILE_NAMES = ['=HYPERLINK("http://x")', "+cmd", "@SUM(1)", "-2+3", "\t=1+1", "\r=1+1", " =1+1", "|calc", "%0A"]
TRIGGERS = ("=", "+", "-", "@", "|", "%", "\t", "\r", " ")


def _rows(response) -> list[list[str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")  # UTF-8 BOM: spreadsheets read the accents
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def _person(pathway: Pathway) -> Beneficiary:
    return db.session.get(Beneficiary, pathway.beneficiary_id)


@pytest.fixture
def hostile(world: World) -> list[Pathway]:
    """People whose names a spreadsheet would run as formulas (imported or legacy data: written
    straight to the database, whatever the forms accept)."""
    created = []
    for i, name in enumerate(HOSTILE_NAMES):
        pathway = services.create_beneficiary(
            world.referent, {"first_name": f"Prénom{i}", "last_name": f"Nom{i}"}, referent=world.referent,
            now=NOW - timedelta(days=100),
        )
        person = _person(pathway)
        person.last_name, person.first_name = name, name
        created.append(pathway)
    db.session.flush()
    return created


def test_csv_cells_never_start_a_formula(client, login_as, world: World, hostile: list[Pathway]) -> None:
    login_as(world.manager_cd)
    response = client.get("/pilotage/listes/portefeuilles.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = _rows(response)
    assert rows[0] == ["Parcours", "Nom", "Prénom", "Étape", "Référent", "Structure", "Type", "Échéance", "Détail"]
    by_id = {row[0]: row for row in rows[1:]}
    for pathway, name in zip(hostile, HOSTILE_NAMES, strict=True):
        row = by_id[str(pathway.id)]
        assert row[1] == row[2] and row[1].startswith("'"), row  # shown as text by the spreadsheet
        assert row[1].lstrip("'").replace("\\|", "|") == name
    for row in rows[1:]:
        for value in row:
            assert not value.startswith(TRIGGERS), row


def test_csv_dates_are_paris_days_in_french_format(client, login_as, world: World) -> None:
    # 23:30 UTC on 9 March is 00:30 on 10 March in Paris: the page says 10 March, so must the file.
    started = datetime(2026, 3, 9, 23, 30, tzinfo=timezone.utc)
    pathway = services.create_beneficiary(world.referent, {"first_name": "Léa", "last_name": "Nuit"},
                                          referent=world.referent, now=started)
    login_as(world.manager_cd)
    response = client.get("/pilotage/listes/portefeuilles.csv")
    (row,) = [r for r in _rows(response) if r[0] == str(pathway.id)]
    assert row[7] == "10/03/2026"
    assert "10 mars 2026" in client.get("/pilotage/listes/portefeuilles").get_data(as_text=True)
    assert response.headers["Content-Disposition"].startswith('attachment; filename="parcours-portefeuilles-')


def test_csv_helper_formats_and_neutralises() -> None:
    assert cell(datetime(2026, 7, 1, 22, 5, tzinfo=timezone.utc)) == "02/07/2026 00:05"  # CEST
    assert cell(datetime(2026, 1, 1, 22, 5, tzinfo=timezone.utc)) == "01/01/2026 23:05"  # CET
    assert cell(date(2026, 3, 9)) == "09/03/2026"
    assert paris_date(datetime(2026, 3, 9, 23, 30, tzinfo=timezone.utc)) == date(2026, 3, 10)
    assert cell(None) == "" and cell(42) == 42
    assert neutralise("Benali") == "Benali" and neutralise("\t=cmd") == "'\t=cmd" and neutralise(" @x") == "' @x"
    document = to_csv(["a", "b"], [["=1+1", "-2"], ["-2+3", "Dupont; Martin"]])
    assert document == "\ufeffa;b\r\n'=1+1;-2\r\n'-2+3;\"Dupont; Martin\"\r\n"  # a plain number stays a number


# --- audit: who was shown which pathways ----------------------------------------------------------------


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


@pytest.fixture
def alerted(world: World) -> World:
    services.create_beneficiary(world.referent, {"first_name": "Thibault", "last_name": "Roux"},
                                referent=world.referent, now=NOW - timedelta(days=100))
    scan_follow_ups(NOW)
    return world


@pytest.mark.parametrize(("path", "action"), [
    ("/pilotage/listes/portefeuilles", "pilotage.list.read"),
    ("/pilotage/listes/portefeuilles.csv", "pilotage.list.export"),
])
def test_a_pilotage_list_or_export_is_audited_with_the_pathways_shown(
    client, login_as, alerted: World, path: str, action: str
) -> None:
    login_as(alerted.manager_ft)
    assert _events(action) == []
    response = client.get(path)
    assert response.status_code == 200
    shown = sorted(
        db.session.scalars(sa.select(Pathway.id).where(Pathway.lead_agency_id == alerted.ft.id,
                                                       Pathway.closed_at.is_(None)))
    )
    assert len(shown) == 2
    (event,) = _events(action)
    assert event.actor_id == alerted.manager_ft.id and event.actor_agency_id == alerted.ft.id
    assert event.territory_id == alerted.territory.id and event.occurred_at is not None
    assert event.details["pathway_ids"] == shown and event.details["count"] == 2
    assert event.details["list"] == "portefeuilles"
    assert "Roux" not in str(event.details) and "Benali" not in str(event.details)


def test_a_filtered_alert_list_records_its_filter_names_and_only_the_pathways_shown(
    client, login_as, alerted: World
) -> None:
    login_as(alerted.manager_cd)
    roux = db.session.scalar(sa.select(Pathway.id).join(Beneficiary).where(Beneficiary.last_name == "Roux"))
    response = client.get(f"/pilotage/listes/alertes.csv?type=orientation_late&referent={alerted.referent.id}")
    assert response.status_code == 200
    assert {r[0] for r in _rows(response)[1:]} == {str(roux)}
    (event,) = _events("pilotage.list.export")
    assert event.details["pathway_ids"] == [roux]
    assert event.details["filters"] == {"type": "orientation_late", "structure": None,
                                        "referent": alerted.referent.id}


def test_my_alerts_page_is_audited_with_the_pathways_shown(client, login_as, alerted: World) -> None:
    login_as(alerted.referent)
    page = client.get("/alertes")
    assert page.status_code == 200 and "Thibault Roux" in page.get_data(as_text=True)
    roux = db.session.scalar(sa.select(Pathway.id).join(Beneficiary).where(Beneficiary.last_name == "Roux"))
    (event,) = _events("alerts.list.read")
    assert event.actor_id == alerted.referent.id
    assert roux in event.details["pathway_ids"]
    assert set(event.details["pathway_ids"]) <= {alerted.pathway.id, roux}


def test_a_refused_list_writes_no_event(client, login_as, alerted: World) -> None:
    login_as(alerted.referent)
    assert client.get("/pilotage/listes/portefeuilles.csv").status_code == 403
    login_as(alerted.manager_cd)
    assert client.get("/pilotage/listes/inconnue").status_code == 404
    assert _events("pilotage.list.read") == _events("pilotage.list.export") == []


def test_a_list_page_costs_the_same_whatever_its_length(client, login_as, world: World) -> None:
    """The audit commit comes after rendering: it must not expire the rows one by one."""
    login_as(world.manager_cd)

    def add(n: int) -> None:
        for i in range(n):
            services.create_beneficiary(world.referent, {"first_name": f"P{i}", "last_name": "Nom"},
                                        referent=world.referent, now=NOW - timedelta(days=3))

    def measure() -> None:
        # The same for 3 and 15 pathways, on SQLite and PostgreSQL:
        # 1 the user and their session (Flask-Login's loader, one JOIN)
        # 2 the manager's agency
        # 3 the list's open pathways, with person, lead agency and referent (JOINs)
        # 4 INSERT the audit event of the read (or of the export)
        # (« Confier à… » links to the hand-over page, which lists the eligible referents)
        with assert_num_queries(4):
            assert client.get("/pilotage/listes/portefeuilles").status_code == 200
        with assert_num_queries(4):
            assert client.get("/pilotage/listes/portefeuilles.csv").status_code == 200

    add(3)
    measure()
    add(12)
    measure()
