"""« Importer des structures » in a real browser: the admin uploads the test file
of tests/data/admin, reads the preview (counts and each rejected line), runs it and reads the result
with its errors file link. Every page passes axe."""
from __future__ import annotations

from pathlib import Path

import pytest

from app.accounts.models import AgencyKind, Role

pytestmark = [pytest.mark.browser, pytest.mark.no_rollback]

DATA = Path(__file__).resolve().parent.parent / "data" / "admin"


def test_an_admin_imports_a_file_of_structures(browser_page, live_server, login, assert_accessible) -> None:
    territory_id = live_server.create_territory(name="Territoire de l'import")
    council = live_server.create_agency(territory_id, name="Conseil départemental",
                                        kind=AgencyKind.DEPARTMENTAL_COUNCIL)
    live_server.create_agency(territory_id, name="France Travail Bobigny", kind=AgencyKind.FRANCE_TRAVAIL)
    admin = live_server.create_user(agency_id=council, role=Role.ADMIN, first_name="Alice", last_name="Admin")
    page = browser_page

    login(page, admin.email, admin.password)
    page.wait_for_url("**/administration/")
    page.get_by_role("link", name="Importer des structures").first.click()
    page.wait_for_url("**/administration/importer/structures")
    assert page.get_by_role("heading", level=1).inner_text() == "Importer des structures"
    assert page.get_by_role("link", name="Télécharger le modèle").is_visible()
    assert_accessible(page)

    page.get_by_label("Fichier").set_input_files(str(DATA / "structures.csv"))
    page.get_by_role("button", name="Voir l'aperçu").click()
    page.wait_for_url("**/administration/importer/fichier/*")
    assert page.get_by_role("heading", level=1).inner_text() == "Aperçu de l'import"
    assert page.locator("#compte-create").inner_text() == "3"
    assert page.locator("#compte-reject").inner_text() == "8"
    assert "Ligne 7 : Type : type inconnu « Entreprise »" in page.locator("#rejets").inner_text()
    assert_accessible(page)

    page.get_by_role("button", name="Lancer l'import").click()
    page.wait_for_url("**/administration/importer/fichier/*")
    assert page.get_by_role("heading", level=1).inner_text() == "Résultat de l'import"
    assert "Import terminé le" in page.locator("main").inner_text()
    assert page.locator("#compte-create").inner_text() == "3"
    assert page.locator("#compte-update").inner_text() == "1"
    assert page.get_by_role("link", name="Télécharger les lignes rejetées").is_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Voir les structures").click()
    page.wait_for_url("**/administration/structures")
    assert page.get_by_role("cell", name="73282932000074").is_visible()
