"""« Mon portefeuille » and Pilotage lists exported as CSV and XLSX (issue 15, « Exports »): the
list the page shows, French headers, Paris dates, no formula, nothing the reader may not see,
audited with the pathways exported."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import timedelta
from html import unescape

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.core import xlsxexport
from app.extensions import db
from app.labels import label
from app.meetings import services as meeting_services
from app.pathways import services as pathway_services
from app.pathways.views import EXPORT_HEADER
from tests.web_helpers import login_as, xlsx_rows
from tests.world import T0, World, build_world


def _csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))


def test_the_referent_exports_her_caseload_in_both_formats(client, world: World) -> None:
    meeting_services.plan_meeting(world.referent, world.pathway, scheduled_at=T0 + timedelta(days=400),
                                  now=T0 + timedelta(days=11))
    login_as(client, world.referent)
    rows = _csv_rows(client.get("/portefeuille/export.csv"))
    assert rows[0] == EXPORT_HEADER
    (line,) = rows[1:]
    assert line[:3] == [str(world.pathway.id), "Benali", "Sarah"]
    assert line[4] == label(world.pathway.stage)  # French labels
    assert line[5] == "Professionnelle"
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d", line[9])  # the next meeting, Paris time
    response = client.get("/portefeuille/export.xlsx")
    assert response.mimetype == xlsxexport.MIMETYPE
    assert response.headers["Content-Disposition"].startswith('attachment; filename="portefeuille-moi-')
    sheet = xlsx_rows(response.get_data())
    assert sheet[0] == EXPORT_HEADER
    assert sheet[1][1:3] == ["Benali", "Sarah"]


def test_hostile_names_stay_text_in_both_formats(client, world: World) -> None:
    pathway_services.create_beneficiary(world.referent, {"first_name": '=HYPERLINK("http://x")',
                                                         "last_name": "+cmd|' /C calc'!A0"}, referent=world.referent)
    login_as(client, world.referent)
    csv_cells = [cell for row in _csv_rows(client.get("/portefeuille/export.csv")) for cell in row]
    assert "'+cmd\\|' /C calc'!A0" in csv_cells  # defusedcsv: a quote first, the pipe escaped
    assert "'=HYPERLINK(\"http://x\")" in csv_cells
    data = client.get("/portefeuille/export.xlsx").get_data()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet  # no formula cell at all
    assert '=HYPERLINK("http://x")' in unescape(sheet)


def test_the_export_follows_the_tab_and_the_search(client, world: World) -> None:
    login_as(client, world.partner)
    rows = _csv_rows(client.get("/portefeuille/export.csv?onglet=structure&q=benali"))
    assert [row[1] for row in rows[1:]] == ["Benali"]
    assert _csv_rows(client.get("/portefeuille/export.csv?onglet=structure&q=martin"))[1:] == []


@pytest.mark.parametrize("who", ["outsider", "stranger"])
def test_nobody_outside_the_shared_record_exports_it(client, world: World, who: str) -> None:
    login_as(client, getattr(world, who))
    assert _csv_rows(client.get("/portefeuille/export.csv?onglet=structure"))[1:] == []
    assert xlsx_rows(client.get("/portefeuille/export.xlsx?onglet=structure").get_data())[1:] == []


def test_existence_only_pathways_are_left_out(client) -> None:
    world = build_world(consent=False)
    login_as(client, world.partner)  # in the team, without the person's consent
    assert _csv_rows(client.get("/portefeuille/export.csv?onglet=structure"))[1:] == []


def test_an_export_is_audited_with_the_pathways_it_holds(client, world: World) -> None:
    login_as(client, world.referent)
    client.get("/portefeuille/export.xlsx?q=benali")
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "pathway.list.export")).one()
    assert event.details == {"list": "portfolio.moi", "format": "xlsx", "filters": ["q"], "count": 1,
                             "pathway_ids": [world.pathway.id]}


def test_pilotage_lists_export_as_xlsx(client, world: World) -> None:
    login_as(client, world.manager_cd)
    response = client.get("/pilotage/listes/portefeuilles.xlsx")
    assert response.status_code == 200 and response.mimetype == xlsxexport.MIMETYPE
    sheet = xlsx_rows(response.get_data())
    assert sheet[0][:3] == ["Parcours", "Nom", "Prénom"]
    assert any(row[1:3] == ["Benali", "Sarah"] for row in sheet[1:])
    login_as(client, world.referent)  # not a steering manager
    assert client.get("/pilotage/listes/portefeuilles.xlsx").status_code == 403
