"""Login, in a real browser: DSFR loads under our CSP, keyboard-only login, errors, logout, axe."""
from __future__ import annotations

import pytest

from app.accounts.models import Role

pytestmark = [pytest.mark.browser, pytest.mark.no_rollback]


def test_login_page_loads_dsfr_under_the_csp(browser_page, live_server) -> None:
    statuses: dict[str, int] = {}
    browser_page.on("response", lambda r: statuses.__setitem__(r.url.split("?")[0], r.status))
    browser_page.goto("/connexion")
    browser_page.wait_for_load_state("networkidle")

    assert statuses.get(f"{live_server.url}/static/dsfr/dsfr.min.css") == 200
    assert statuses.get(f"{live_server.url}/static/dsfr/dsfr.module.min.js") == 200
    # The stylesheet applied: DSFR's primary button is « bleu France » (#000091).
    button = browser_page.get_by_role("button", name="Se connecter")
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(0, 0, 145)"
    # The script ran (DSFR marks the document once started): no inline script was needed.
    browser_page.wait_for_selector("html[data-fr-js='true']", state="attached")
    assert browser_page.title() == "Connexion — Parcours"


def test_keyboard_only_login(browser_page, live_server) -> None:
    user = live_server.create_user(first_name="Inès", last_name="Morel")
    page = browser_page
    page.goto("/connexion")
    for _ in range(20):  # skip links, header link… then the email field
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "champ-email":
            break
    else:
        pytest.fail("the email field cannot be reached with Tab")
    page.keyboard.type(user.email)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "champ-password"
    page.keyboard.type(user.password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/portefeuille")  # a professional's home
    assert "Bonjour Inès" in page.locator("main").inner_text()


def test_first_tab_reaches_the_skip_link(browser_page) -> None:
    browser_page.goto("/connexion")
    browser_page.keyboard.press("Tab")
    assert browser_page.evaluate("document.activeElement.textContent.trim()") == "Aller au contenu"
    browser_page.keyboard.press("Enter")
    assert browser_page.evaluate("location.hash") == "#contenu"


def test_wrong_password_shows_the_french_error(browser_page, live_server, login) -> None:
    user = live_server.create_user()
    login(browser_page, user.email, "pas-le-bon-mot-de-passe", expect_success=False)
    alert = browser_page.get_by_role("alert")
    assert "Adresse électronique ou mot de passe incorrect." in alert.inner_text()
    assert browser_page.get_by_label("Adresse électronique").input_value() == user.email
    assert browser_page.locator("#champ-password").input_value() == ""
    assert browser_page.title().startswith("Erreur")


def test_login_then_logout(browser_page, live_server, login, logout) -> None:
    user = live_server.create_user(first_name="Marc", last_name="Lefèvre", role=Role.MANAGER)
    login(browser_page, user.email, user.password)
    assert browser_page.url.endswith("/pilotage")  # a manager's home (issue 13)
    assert browser_page.get_by_role("heading", name="Pilotage", exact=True).is_visible()
    assert browser_page.get_by_role("link", name="Marc Lefèvre").is_visible()

    logout(browser_page)
    assert "Vous êtes déconnecté·e." in browser_page.locator("main").inner_text()
    browser_page.goto("/")
    assert browser_page.url.endswith("/connexion")


def test_login_and_home_pages_are_accessible(browser_page, live_server, login, assert_accessible) -> None:
    browser_page.goto("/connexion")
    assert_accessible(browser_page)

    login(browser_page, "inconnu@exemple.fr", "x", expect_success=False)  # the page with its errors
    assert_accessible(browser_page)

    browser_page.get_by_label("Adresse électronique").fill("")
    browser_page.get_by_role("button", name="Se connecter").click()
    browser_page.wait_for_load_state()
    assert "Saisissez votre adresse électronique." in browser_page.locator("main").inner_text()
    assert_accessible(browser_page)

    user = live_server.create_user()
    login(browser_page, user.email, user.password)
    assert_accessible(browser_page)

    browser_page.goto("/une-page-qui-n-existe-pas")
    assert_accessible(browser_page)
