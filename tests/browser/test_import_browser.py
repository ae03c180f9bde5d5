"""The web import in chromium (issue 15): an admin uploads the Carnet de bord file, reads the preview
(counts, each cell's error), launches the import, follows the progress page to the result and
downloads the errors file. axe on each page."""
from __future__ import annotations

import sqlalchemy as sa

from app.accounts.models import AgencyKind, Role
from app.extensions import db
from app.pathways.models import Beneficiary
from tests.imports.conftest import DATA


def test_an_admin_imports_the_carnet_de_bord_file(live_server, browser_page, login, assert_accessible) -> None:
    territory = live_server.create_territory()
    cd = live_server.create_agency(territory, name="CD 93", kind=AgencyKind.DEPARTMENTAL_COUNCIL)
    ft = live_server.create_agency(territory, name="FT Bobigny", kind=AgencyKind.FRANCE_TRAVAIL)
    caf = live_server.create_agency(territory, name="CAF 93", kind=AgencyKind.CAF)
    live_server.create_agency(territory, name="CCAS Pantin", kind=AgencyKind.CCAS)
    live_server.create_user(email="referent@ft.test", agency_id=ft)
    live_server.create_user(email="partenaire@caf.test", agency_id=caf)
    admin = live_server.create_user(role=Role.ADMIN, agency_id=cd)
    live_server.app.config["IMPORTS_RUN_INLINE"] = False  # the real thing: a thread after the request

    login(browser_page, admin.email, admin.password)
    browser_page.goto("/")
    browser_page.get_by_role("link", name="Importer des personnes").first.click()
    assert browser_page.get_by_role("heading", name="Importer des personnes").is_visible()
    assert_accessible(browser_page)
    browser_page.set_input_files("#champ-file", str(DATA / "carnet_de_bord.csv"))
    browser_page.get_by_role("button", name="Voir l'aperçu").click()

    # The preview: nothing written yet, the counts, each cell's error.
    assert browser_page.get_by_role("heading", name="Aperçu de l'import").is_visible()
    assert browser_page.locator("#compte-created").inner_text() == "5"  # nobody on file yet in this territory
    assert browser_page.locator("#compte-rejected").inner_text() == "7"
    preview = browser_page.locator("#apercu")
    assert preview.get_by_text("date impossible « 31/02/1980 » (ce jour n'existe pas).").is_visible()
    assert preview.get_by_text("<b>Léa</b>").is_visible()  # markup shown as text
    assert browser_page.get_by_text("NIR : jamais enregistré (protection des données)").is_visible()
    assert_accessible(browser_page)
    with live_server.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Beneficiary.id)).where(
            Beneficiary.territory_id == territory)) == 0

    browser_page.get_by_role("button", name="Lancer l'import").click()
    # The progress page refreshes itself until the result shows.
    browser_page.get_by_role("heading", name="Résultat de l'import").wait_for(timeout=30_000)
    assert browser_page.locator("#compte-created").inner_text() == "5"
    assert_accessible(browser_page)
    with browser_page.expect_download() as download:
        browser_page.get_by_role("link", name="Télécharger les lignes rejetées").click()
    text = open(download.value.path(), encoding="utf-8-sig").read()
    assert "6;Date de naissance : date impossible « 31/02/1980 »" in text
    with live_server.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Beneficiary.id)).where(
            Beneficiary.territory_id == territory)) == 5
