"""The shared record in a real browser: a referent's day, a partner's answer, an outsider's 404,
and axe-core on every main page of the workspace."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app.accounts.models import AgencyKind, User
from app.extensions import db
from app.pathways import services as pathway_services
from app.pathways.models import ConsentMethod, Orientation
from tests.web_helpers import local_input_in

pytestmark = [pytest.mark.browser, pytest.mark.no_rollback]


@pytest.fixture(scope="module")
def scene(live_server):
    territory = live_server.create_territory()
    ft = live_server.create_agency(territory, name="France Travail Pantin", kind=AgencyKind.FRANCE_TRAVAIL)
    caf = live_server.create_agency(territory, name="CAF de la Seine", kind=AgencyKind.CAF)
    ccas = live_server.create_agency(territory, name="CCAS de Bondy", kind=AgencyKind.CCAS)
    referent = live_server.create_user(first_name="Nadia", last_name="Colin", agency_id=ft)
    partner = live_server.create_user(first_name="Paul", last_name="Girard", agency_id=caf)
    outsider = live_server.create_user(first_name="Léon", last_name="Petit", agency_id=ccas)
    with live_server.app_context():
        actor = db.session.get(User, referent.id)
        pathway = pathway_services.create_beneficiary(
            actor, {"first_name": "Émilie", "last_name": "Léger", "caf_number": "7654321"}, referent=actor
        )
        pathway_services.orient(actor, pathway, Orientation.PROFESSIONAL)
        pathway_services.add_team_agency(actor, pathway, caf)
        pathway_services.record_consent(actor, pathway, method=ConsentMethod.WRITTEN)
        pathway_id = pathway.id
    return {
        "referent": referent,
        "partner": partner,
        "outsider": outsider,
        "pathway_id": pathway_id,
        "caf": caf,
    }


def test_referent_logs_a_meeting_adds_and_refers_a_barrier(
    browser_page, scene, login, assert_accessible
) -> None:
    page = browser_page
    login(page, scene["referent"].email, scene["referent"].password)
    assert page.url.endswith("/portefeuille")
    assert_accessible(page)

    page.get_by_label("Rechercher une personne").fill("emilie leger")  # without accents
    page.get_by_role("button", name="Filtrer").click()
    page.get_by_role("link", name="LÉGER Émilie").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Émilie LÉGER"
    for tab in ("Synthèse", "Freins", "Rendez-vous", "Journal", "Équipe"):
        page.get_by_role("tab", name=tab).click()
        page.wait_for_selector(".fr-tabs__panel--selected")
        assert_accessible(page)

    page.get_by_role("link", name="Saisir un entretien").click()
    assert "droit d'accès" in page.locator("main").inner_text()
    assert_accessible(page)
    page.locator("label", has_text="L'entretien a eu lieu").click()
    page.locator("#champ-held_at").fill(local_input_in(-timedelta(hours=1)))
    page.locator("#champ-notes").fill("Point confidentiel sur la situation familiale.")
    page.locator("label", has_text="Référent uniquement").click()
    page.locator("#champ-next_at").fill(local_input_in(timedelta(days=14)))
    page.get_by_role("button", name="Enregistrer l'entretien").click()
    assert (
        "L'entretien est enregistré. Le prochain rendez-vous est planifié."
        in page.locator(".fr-alert").first.inner_text()
    )

    page.get_by_role("link", name="Ajouter un frein").click()
    page.locator("#champ-category").select_option("mobility")
    page.locator("#champ-title").fill("Pas de véhicule")
    page.get_by_role("button", name="Ajouter le frein").click()
    assert "Le frein est ajouté." in page.locator("main").inner_text()
    page.get_by_role("link", name="Orienter vers un partenaire").click()
    page.locator("#champ-agency_id").select_option(label="CAF de la Seine")
    page.locator("#champ-message").fill("Aide à la mobilité ?")
    page.get_by_role("button", name="Envoyer la demande").click()
    assert "Le frein est orienté" in page.locator("main").inner_text()

    page.goto("/agenda")
    assert "Émilie Léger" in page.locator("main").inner_text()
    assert_accessible(page)
    page.goto("/personnes/nouvelle")
    page.get_by_role("button", name="Créer le dossier").click()  # empty: errors next to the fields
    assert "Ce champ est obligatoire." in page.locator("#champ-last_name-erreur").inner_text()
    assert_accessible(page)


def test_partner_reads_without_private_notes_and_accepts(
    browser_page, scene, login, assert_accessible
) -> None:
    page = browser_page
    login(page, scene["partner"].email, scene["partner"].password)
    page.goto("/portefeuille?onglet=structure")
    main = page.locator("main").inner_text()
    assert "Demandes en attente" in main and "Pas de véhicule" in main
    assert_accessible(page)
    page.get_by_role("link", name="LÉGER Émilie").first.click()
    page.get_by_role("tab", name="Journal").click()
    body = page.locator("main").inner_text()
    assert "Point confidentiel" not in body
    assert "Saisir un entretien" not in body

    page.goto("/portefeuille?onglet=structure")
    page.get_by_role("link", name=re.compile("^Répondre")).first.click()
    page.locator("label", has_text="Nous acceptons la demande").click()
    page.get_by_role("button", name="Envoyer la réponse").click()
    assert "Votre réponse est transmise au référent." in page.locator("main").inner_text()
    page.get_by_role("tab", name="Freins").click()
    assert "Acceptée" in page.locator("#panneau-freins").inner_html()


def test_outsider_gets_the_404_page(browser_page, scene, login) -> None:
    page = browser_page
    login(page, scene["outsider"].email, scene["outsider"].password)
    response = page.goto(f"/parcours/{scene['pathway_id']}")
    assert response.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "Introuvable"
    assert "Ce dossier est introuvable." in page.locator("main").inner_text()
    assert "Léger" not in page.locator("main").inner_text()
