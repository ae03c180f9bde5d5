"""« Mes exports » in chromium (issue #15): a referent whose caseload is longer than an export in the
request asks for the full export, finds it in « Mes exports » (« disponible jusqu'au … ») and
downloads it. axe on both pages."""
from __future__ import annotations

from app.accounts.models import User
from app.extensions import db
from app.pathways import services


def test_a_referent_prepares_and_downloads_the_full_export(live_server, browser_page, login, assert_accessible) -> None:
    referent = live_server.create_user(email="export@ft.test")
    with live_server.app_context():
        user = db.session.get(User, referent.id)
        for i in range(4):
            services.create_beneficiary(user, {"first_name": f"Prénom{i}", "last_name": f"Nom{i}"}, referent=user)
        db.session.commit()
    live_server.app.config["EXPORT_SYNC_LIMIT"] = 2
    try:
        login(browser_page, referent.email, referent.password)
        browser_page.goto("/portefeuille")
        assert browser_page.get_by_text(
            "Cette liste compte plus de 2 lignes : l'export complet est préparé en arrière-plan.").is_visible()
        assert_accessible(browser_page)
        browser_page.get_by_role("button", name="Préparer l'export complet en CSV").click()

        assert browser_page.get_by_role("heading", name="Mes exports").is_visible()
        assert browser_page.get_by_text("disponible jusqu'au").is_visible()
        assert_accessible(browser_page)
        with browser_page.expect_download() as download:
            browser_page.get_by_role("link", name="Télécharger").click()
        content = open(download.value.path(), encoding="utf-8-sig").read()
        assert content.count("\n") == 1 + 4 and "Nom3" in content
    finally:
        live_server.app.config["EXPORT_SYNC_LIMIT"] = 500
