"""Screenshots of « Mon portefeuille » and of the shared record, for the README.

Usage (a seeded demo database, e.g. `flask seed-demo`, served at BASE_URL):
    .venv/bin/python scripts/screenshots.py [BASE_URL]
Without BASE_URL, the script seeds a throwaway SQLite demo database and serves it itself.
Saves PNGs in docs/screenshots/ (chromium via Playwright): the desktop pages at 1366 px
(portefeuille, dossier, dossier-freins, dossier-rendez-vous, alertes, partenaire, pilotage,
accessibilite) and the same pages on a 390 px phone (mobile-*.png), as the README shows them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
EMAIL, PASSWORD = "referente.cd@demo.parcours.fr", "parcours-demo"
MANAGER_EMAIL = "responsable.cd@demo.parcours.fr"


def _serve_demo() -> str:
    sys.path.insert(0, str(ROOT))
    database = Path(tempfile.mkdtemp()) / "demo.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "FLASK_APP": "wsgi.py"}
    flask = str(ROOT / ".venv" / "bin" / "flask")
    subprocess.run([flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([flask, "seed-demo", "--no-progress", "--people", "300"], cwd=ROOT, env=env, check=True)
    subprocess.run([flask, "scheduler", "scan"], cwd=ROOT, env=env, check=True)  # alerts, as the scheduler would
    os.environ["DATABASE_URL"] = env["DATABASE_URL"]
    from werkzeug.serving import make_server

    from app import create_app

    app = create_app(
        overrides={"SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"], "SCHEDULER_IN_PROCESS": False}
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}"


DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
PHONE_MAX_HEIGHT = 2400  # a phone screenshot shows the first screens, not a 10 000 px ribbon
PARTNERS = ("partenaire.ccas@demo.parcours.fr", "partenaire.asso@demo.parcours.fr", "partenaire.caf@demo.parcours.fr")


def _login(page, email: str) -> None:
    page.goto("/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.locator("#champ-password").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state()


def _shot(page, name: str, *, phone: bool = False, full_page: bool = True) -> None:
    path = str(OUT / f"{name}.png")
    if phone:
        height = min(page.evaluate("() => document.documentElement.scrollHeight"), PHONE_MAX_HEIGHT)
        page.screenshot(path=path, full_page=True, clip={"x": 0, "y": 0, "width": PHONE["width"], "height": height})
    else:
        page.screenshot(path=path, full_page=full_page)
    print(f"  {name}.png")


def main() -> None:
    from playwright.sync_api import sync_playwright

    base = sys.argv[1] if len(sys.argv) > 1 else _serve_demo()
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])

        def session(email: str, viewport: dict[str, int]):
            context = browser.new_context(base_url=base, locale="fr-FR", viewport=viewport)
            page = context.new_page()
            _login(page, email)
            return context, page

        # The referent: desktop, then phone.
        context, page = session(EMAIL, DESKTOP)
        page.goto("/portefeuille")
        _shot(page, "portefeuille")
        record = page.locator("#portefeuille tbody a[href^='/parcours/']").first.get_attribute("href").split("?")[0]
        page.goto(record)
        _shot(page, "dossier")
        page.get_by_role("tab", name="Freins").click()
        _shot(page, "dossier-freins")
        page.get_by_role("tab", name="Rendez-vous").click()
        _shot(page, "dossier-rendez-vous")
        page.goto("/alertes")
        _shot(page, "alertes", full_page=False)
        page.goto("/accessibilite")
        _shot(page, "accessibilite", full_page=False)
        context.close()
        context, page = session(EMAIL, PHONE)
        page.goto("/portefeuille")
        _shot(page, "mobile-portefeuille", phone=True)
        page.goto(record + "?onglet=rendez-vous")
        _shot(page, "mobile-dossier-rendez-vous", phone=True)
        context.close()

        # A partner with requests to answer (« Répondre »).
        for partner in PARTNERS:
            context, page = session(partner, DESKTOP)
            page.goto("/portefeuille?onglet=structure")
            if page.locator("a[href$='/reponse']").count():
                _shot(page, "partenaire")
                page.set_viewport_size(PHONE)
                _shot(page, "mobile-partenaire", phone=True)
                context.close()
                break
            context.close()

        # The manager: « Pilotage ».
        context, page = session(MANAGER_EMAIL, DESKTOP)
        page.goto("/pilotage")
        page.wait_for_function("() => !!window.Chart")
        _shot(page, "pilotage")
        page.set_viewport_size(PHONE)
        page.goto("/pilotage")
        _shot(page, "mobile-pilotage", phone=True)
        context.close()
        browser.close()
    print(f"Screenshots saved in {OUT}")


if __name__ == "__main__":
    main()
