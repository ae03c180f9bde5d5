"""« Comptes et paramètres » in a real browser: an admin creates a structure and invites a
professional; the invitation mail is in the outbox; the professional chooses a password from the
link and logs in; the admin deactivates them and their open session stops working; the admin
changes a cadence and finds it in « Historique des paramètres ». Every page passes axe."""
from __future__ import annotations

import re
from email import message_from_bytes
from email.policy import default as default_policy

import pytest

from app.accounts.models import AgencyKind, Role

pytestmark = [pytest.mark.browser, pytest.mark.no_rollback]

NEW_PASSWORD = "girafe-parapluie-tournesol-41"


def _invitation_link(outbox) -> str:
    [path] = sorted(outbox.glob("*.eml"))
    mail = message_from_bytes(path.read_bytes(), policy=default_policy)
    assert mail["To"] == "nina.roux@exemple.fr"
    assert mail["Subject"] == "Parcours : votre invitation"
    match = re.search(r"https?://\S+(/invitation/[\w-]+)", mail.get_body(("plain",)).get_content())
    assert match
    return match.group(1)


def test_an_admin_runs_the_territory(browser, browser_page, live_server, login, assert_accessible,
                                     tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(live_server.app.config, "MAIL_OUTBOX_DIR", str(tmp_path))
    monkeypatch.setitem(live_server.app.config, "MAIL_SERVER", "")
    territory_id = live_server.create_territory(name="Territoire de l'admin")
    council = live_server.create_agency(territory_id, name="Conseil départemental",
                                        kind=AgencyKind.DEPARTMENTAL_COUNCIL)
    admin = live_server.create_user(agency_id=council, role=Role.ADMIN, first_name="Alice", last_name="Admin")
    page = browser_page

    login(page, admin.email, admin.password)
    page.wait_for_url("**/administration/")
    assert page.get_by_role("heading", level=1).inner_text() == "Comptes et paramètres"
    assert_accessible(page)

    # a structure
    page.get_by_role("link", name="Créer une structure").first.click()
    page.get_by_label("Nom de la structure").fill("Mission locale de Bondy")
    page.get_by_label("Type de structure").select_option("mission_locale")
    page.get_by_label("SIRET").fill("73282932000075")  # a wrong key first
    page.get_by_role("button", name="Créer la structure").click()
    assert "Le SIRET compte 14 chiffres" in page.get_by_role("alert").inner_text()
    assert_accessible(page)
    page.get_by_label("SIRET").fill("73282932000074")
    page.get_by_role("button", name="Créer la structure").click()
    page.wait_for_url("**/administration/structures")
    assert "La structure « Mission locale de Bondy » est créée." in page.locator("main").inner_text()
    assert page.get_by_role("cell", name="73282932000074").is_visible()
    assert_accessible(page)

    # an invitation
    page.get_by_role("link", name="Professionnels", exact=True).click()
    page.get_by_role("link", name="Inviter un·e professionnel·le").click()
    page.locator("#champ-first_name").fill("Nina")
    page.locator("#champ-last_name").fill("Roux")
    page.get_by_label("Adresse électronique").fill("Nina.Roux@exemple.fr")
    page.locator("#champ-agency_id").select_option(label="Mission locale de Bondy (Mission locale)")
    page.locator("#champ-role").select_option("professional")
    assert_accessible(page)
    page.get_by_role("button", name="Envoyer l'invitation").click()
    page.wait_for_url("**/administration/professionnels")
    main = page.locator("main").inner_text()
    assert "l'invitation est envoyée à nina.roux@exemple.fr" in main and "invitation envoyée" in main.lower()
    assert_accessible(page)
    link = _invitation_link(tmp_path)

    # the professional, in their own browser, chooses a password and logs in
    context = browser.new_context(base_url=live_server.url, locale="fr-FR")
    try:
        nina = context.new_page()
        nina.goto(link)
        assert "Bienvenue sur Parcours" in nina.locator("main").inner_text()
        assert_accessible(nina)
        nina.locator("#champ-password").fill(NEW_PASSWORD)
        nina.locator("#champ-password_confirmation").fill(NEW_PASSWORD)
        nina.get_by_role("button", name="Enregistrer mon mot de passe").click()
        nina.wait_for_url("**/connexion")
        assert "Votre mot de passe est enregistré" in nina.locator("main").inner_text()
        login(nina, "nina.roux@exemple.fr", NEW_PASSWORD)
        nina.wait_for_url("**/portefeuille")

        # the admin deactivates her: her open session stops working
        page.reload()
        page.get_by_role("button", name="Désactiver le compte de Nina Roux").click()
        assert "Le compte de Nina Roux est désactivé" in page.locator("main").inner_text()
        nina.goto("/portefeuille")
        nina.wait_for_url("**/connexion**")
        assert "Votre session a expiré" in nina.locator("main").inner_text()
    finally:
        context.close()

    # a cadence, and its history
    page.get_by_role("link", name="Paramètres du territoire", exact=True).first.click()
    assert_accessible(page)
    page.get_by_label("Fréquence de suivi — orientation sociale").fill("45")
    page.get_by_role("button", name="Enregistrer les paramètres").click()
    page.wait_for_url("**/administration/parametres")
    assert "Les paramètres sont enregistrés" in page.locator("main").inner_text()
    history = page.locator("#historique-parametres").inner_text()
    assert "Fréquence de suivi — orientation sociale : 60 jours → 45 jours" in history
    assert "Alice Admin" in history
    assert_accessible(page)
