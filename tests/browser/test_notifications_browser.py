"""« Mes notifications » on « Mon compte », in a browser: a professional turns off the daily digest and
one kind of message, sees the confirmation and their choices kept; axe finds nothing serious."""
from __future__ import annotations

from app.accounts.models import User
from app.extensions import db


def test_a_professional_sets_their_notifications(live_server, browser_page, login, assert_accessible) -> None:
    user = live_server.create_user(email="notifications@exemple.fr")
    page = browser_page
    login(page, user.email, user.password)
    page.goto("/compte")
    section = page.get_by_role("region", name="Mes notifications")
    assert_accessible(page)
    # DSFR draws the radio and the checkbox on their labels: a person clicks the label.
    section.locator("label", has_text="Jamais").click()
    section.locator("label", has_text="Une structure demande à rejoindre l'équipe").click()
    section.get_by_role("button", name="Enregistrer mes préférences").click()
    page.wait_for_load_state()
    assert "Vos préférences de notification sont enregistrées." in page.content()
    assert page.get_by_label("Jamais").is_checked()
    assert not page.get_by_label("Une structure demande à rejoindre l'équipe d'un de mes parcours").is_checked()
    assert page.get_by_label("Un parcours m'est confié").is_checked()
    with live_server.app_context():
        saved = db.session.get(User, user.id)
        assert (saved.alert_digest, saved.muted_notifications) == ("none", "team.join_requested")
