"""Screenshots of « Mon portefeuille » and of the shared record, for the README.

Usage (a seeded demo database, e.g. `flask seed-demo`, served at BASE_URL):
    .venv/bin/python scripts/screenshots.py [BASE_URL]
Without BASE_URL, the script seeds a throwaway SQLite demo database and serves it itself.
Saves docs/screenshots/portefeuille.png and docs/screenshots/dossier.png (chromium via Playwright).
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


def main() -> None:
    from playwright.sync_api import sync_playwright

    base = sys.argv[1] if len(sys.argv) > 1 else _serve_demo()
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page(base_url=base, locale="fr-FR", viewport={"width": 1280, "height": 900})
        page.goto("/connexion")
        page.get_by_label("Adresse électronique").fill(EMAIL)
        page.locator("#champ-password").fill(PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        page.goto("/portefeuille")
        page.screenshot(path=str(OUT / "portefeuille.png"), full_page=True)
        page.locator("#portefeuille tbody a").first.click()
        page.wait_for_load_state()
        page.screenshot(path=str(OUT / "dossier.png"), full_page=True)
        page.get_by_role("tab", name="Freins").click()
        page.screenshot(path=str(OUT / "dossier-freins.png"), full_page=True)
        page.goto("/alertes")
        page.screenshot(path=str(OUT / "alertes.png"), full_page=False)
        page.get_by_role("button", name="Se déconnecter").first.click()
        page.goto("/connexion")
        page.get_by_label("Adresse électronique").fill(MANAGER_EMAIL)
        page.locator("#champ-password").fill(PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        page.goto("/pilotage")
        page.wait_for_function("() => !!window.Chart")
        page.screenshot(path=str(OUT / "pilotage.png"), full_page=True)
        browser.close()
    print(f"Screenshots saved in {OUT}")


if __name__ == "__main__":
    main()
