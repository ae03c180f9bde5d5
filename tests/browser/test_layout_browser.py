"""Every main page, as each kind of user, at a laptop's width (1366 px) and a phone's (390 px): no page
scrolls sideways (RGAA 10.11 reflow; wide tables stack or scroll inside a focusable region) and axe
finds nothing serious or critical. Then printing a record (every tab, no button) and a refused form
(focus on the error summary, errors in the order of the fields).

The pages are those of the demo data (`flask seed-demo`, 40 people, alerts from a scan), served by a
server of this module only, so that real-looking tables (long names, many alert columns) are seen."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from werkzeug.serving import make_server

from app import create_app
from app.accounts.models import User
from app.barriers.models import Referral, ReferralStatus
from app.db_types import utcnow
from app.demo.generator.seeder import DemoSeeder
from app.extensions import db
from app.followup.scan import scan_follow_ups
from tests.browser.helpers import BLOCKING_IMPACTS, _axe, format_violations

PASSWORD = "parcours-demo"
WIDTHS = (1366, 390)
REFERENT = "referente.cd@demo.parcours.fr"
MANAGER = "responsable.cd@demo.parcours.fr"
ADMIN = "admin@demo.parcours.fr"
RECORD = re.compile(r"/parcours/\d+")
RECORD_TABS = ("synthese", "freins", "rendez-vous", "journal", "equipe")

# What overflows the viewport outside any scroll region: the elements to blame in a failure.
_OVERFLOW = """() => {
  const doc = document.documentElement, width = doc.clientWidth, culprits = [];
  const clipped = (el) => { for (let p = el.parentElement; p; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX; if (o !== 'visible') return true; } return false; };
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width && r.right > width + 1 && !clipped(el)) culprits.push(
      el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + '.' + [...el.classList].join('.')
      + ' → ' + Math.round(r.right));
  }
  return {scroll: Math.max(doc.scrollWidth, document.body.scrollWidth), width, culprits: culprits.slice(0, 6)};
}"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, chromium_path: str) -> Iterator[dict[str, str]]:
    database = tmp_path_factory.mktemp("demo") / "demo.db"
    app = create_app(
        "testing", overrides={"SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}", "WTF_CSRF_ENABLED": True}
    )
    with app.app_context():
        db.create_all()
        now = utcnow()
        DemoSeeder(db.session, people=40, seed=2026, now=now).run()
        db.session.commit()
        scan_follow_ups(now, full=True)
        # a demo partner whose agency has a referral to answer (« Répondre »)
        partner = db.session.scalars(
            sa.select(User.email).join(Referral, Referral.agency_id == User.agency_id)
            .where(Referral.status == ReferralStatus.SENT, User.email.like("partenaire.%@demo.parcours.fr"))
            .order_by(User.email)
        ).first()
        assert partner, "the demo data has no referral waiting for a partner"
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="demo-server", daemon=True)
    thread.start()
    try:
        yield {"url": f"http://127.0.0.1:{server.server_port}", "partner": partner}
    finally:
        server.shutdown()
        thread.join(timeout=5)
        with app.app_context():
            db.engine.dispose()


@contextmanager
def signed_in(browser: Any, base_url: str, email: str | None) -> Iterator[Any]:
    """One browser context for one user (None: anonymous); fails on a CSP violation or a JS error."""
    context = browser.new_context(base_url=base_url, locale="fr-FR", viewport={"width": WIDTHS[0], "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.on("pageerror", lambda error: problems.append(f"JavaScript error: {error}"))
    try:
        if email:
            page.goto("/connexion")
            page.get_by_label("Adresse électronique").fill(email)
            page.locator("#champ-password").fill(PASSWORD)
            page.get_by_role("button", name="Se connecter").click()
            page.wait_for_load_state()
            assert "/connexion" not in page.url, f"login failed for {email}"
        yield page
    finally:
        context.close()
    assert not problems, "\n".join(problems)


def assert_fits(page: Any, width: int) -> None:
    """The page does not scroll sideways; on a laptop, no table even scrolls inside its region (every
    column, « Alertes », « Annuler », « Répondre », is on screen)."""
    scroll, client, tables = page.evaluate(
        "() => [Math.max(document.documentElement.scrollWidth, document.body.scrollWidth),"
        " document.documentElement.clientWidth,"
        " [...document.querySelectorAll('.fr-table__container')].filter((c) => c.offsetParent"
        "   && c.scrollWidth > c.clientWidth + 1).map((c) => c.getAttribute('aria-label'))]")
    if width >= 1366:
        assert not tables, f"{page.url}: at {width} px these tables scroll inside their region: {tables}"
    if scroll <= client:
        return
    result = page.evaluate(_OVERFLOW)  # only to name the culprits
    assert result["scroll"] <= result["width"], (
        f"{page.url} scrolls sideways at {width} px: {result['scroll']} px wide; overflowing: {result['culprits']}"
    )


def assert_axe(page: Any, context: str | None = None) -> None:
    """No serious or critical axe-core violation (as helpers.assert_accessible), on the whole page or
    on `context` (a CSS selector); axe is injected once per document, not at every check."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(_axe.axe_script)
    results = page.evaluate("(context) => axe.run(context || document, {resultTypes: ['violations']})", context)
    violations = [v for v in results["violations"] if v.get("impact") in BLOCKING_IMPACTS]
    assert not violations, f"{page.url} {context or ''}:\n{format_violations(violations)}"


def check_pages(page: Any, paths: list[str], *, axe: tuple[str, ...] = ()) -> list[str]:
    """Each page at each width fits the viewport; those in `axe` (each kind of page once) pass axe.
    A record (`/parcours/<id>`) is checked tab by tab: each panel fits and passes axe."""
    seen = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for path in paths:
            response = page.goto(path)
            assert response is not None and response.status == 200, f"{path} answered {response and response.status}"
            assert_fits(page, width)
            if path in axe:
                assert_axe(page)
            if RECORD.fullmatch(path):
                for tab in RECORD_TABS:
                    page.locator(f"#onglet-{tab}").click()
                    expect(page.locator(f"#panneau-{tab}")).to_have_class(re.compile("fr-tabs__panel--selected"))
                    assert_fits(page, width)
                    assert_axe(page, f"#panneau-{tab}")
                    seen.append(f"{width} {path} {tab}")
            seen.append(f"{width} {path}")
    return seen


def first_href(page: Any, path: str, selector: str) -> str:
    page.goto(path)
    return page.locator(selector).first.get_attribute("href").split("?")[0]


def test_no_main_page_scrolls_sideways_and_axe_passes_for_each_role(browser, demo) -> None:
    seen: list[str] = []
    with signed_in(browser, demo["url"], REFERENT) as page:
        record = first_href(page, "/portefeuille", "#portefeuille tbody a[href^='/parcours/']")
        paths = ["/portefeuille", "/alertes", "/agenda", record, f"{record}/entretien", "/compte"]
        seen += check_pages(page, paths, axe=tuple(paths))
    with signed_in(browser, demo["url"], demo["partner"]) as page:
        answer = first_href(page, "/portefeuille?onglet=structure", "a[href$='/reponse']")
        shared = first_href(page, "/portefeuille?onglet=structure", "#portefeuille tbody a[href^='/parcours/']")
        paths = ["/portefeuille", "/portefeuille?onglet=structure", "/alertes", answer, shared]
        seen += check_pages(page, paths, axe=tuple(paths))
    with signed_in(browser, demo["url"], MANAGER) as page:
        paths = ["/pilotage", "/pilotage/listes/alertes", "/portefeuille"]
        seen += check_pages(page, paths, axe=tuple(paths))
    with signed_in(browser, demo["url"], ADMIN) as page:
        admin_pages = ["/", "/administration/structures", "/administration/professionnels",
                       "/administration/parametres"]
        seen += check_pages(page, admin_pages, axe=tuple(admin_pages))
    with signed_in(browser, demo["url"], None) as page:  # the footer's public pages share one layout
        paths = ["/connexion", "/mentions-legales", "/donnees-personnelles", "/gestion-des-cookies", "/accessibilite"]
        seen += check_pages(page, paths, axe=tuple(paths))  # axe on every page, at both widths
    assert len(seen) == 2 * (23 + 2 * len(RECORD_TABS))


def test_wide_tables_scroll_in_a_focusable_region_and_stack_on_a_phone(browser, demo) -> None:
    with signed_in(browser, demo["url"], MANAGER) as page:
        page.goto("/pilotage")
        region = page.get_by_role("region", name="Alertes en cours par référent")
        assert region.get_attribute("tabindex") == "0"
        page.set_viewport_size({"width": 390, "height": 900})
        first_cell = region.locator("tbody tr").first.locator("td").nth(0)
        assert first_cell.get_attribute("data-label")  # the column's header, shown before the value
        assert page.evaluate("(el) => getComputedStyle(el).display", first_cell.element_handle()) == "block"
        # the column headers leave the screen, not the accessibility tree
        assert region.locator("thead").bounding_box()["width"] <= 1


def test_printing_a_record_prints_every_tab_and_no_button(browser, demo) -> None:
    with signed_in(browser, demo["url"], REFERENT) as page:
        record = first_href(page, "/portefeuille", "#portefeuille tbody a[href^='/parcours/']")
        page.goto(record)
        hidden = page.locator(".fr-tabs__panel:not(.fr-tabs__panel--selected)")
        assert hidden.count() == 4 and not hidden.first.is_visible()
        page.emulate_media(media="print")
        for panel in page.locator(".fr-tabs__panel").all():
            assert panel.is_visible(), f"{panel.get_attribute('id')} is not printed"
            box = panel.bounding_box()
            assert box and box["height"] > 0 and box["x"] >= 0
        assert page.locator("#panneau-rendez-vous").get_attribute("data-print-title") == "Rendez-vous"
        for selector in ("main .fr-btn", "main button", "main form", ".fr-header__tools", "nav", ".fr-footer",
                         ".fr-tabs__list"):
            visible = [el for el in page.locator(selector).all() if el.is_visible()]
            assert not visible, f"{selector} is printed"
        page.emulate_media(media="screen")
        expect(hidden.first).to_be_hidden()


def test_a_refused_form_focuses_its_error_summary_listing_errors_in_field_order(browser, demo) -> None:
    with signed_in(browser, demo["url"], REFERENT) as page:
        record = first_href(page, "/portefeuille", "#portefeuille tbody a[href^='/parcours/']")
        page.goto(f"{record}/rendez-vous/nouveau")
        page.locator("#champ-scheduled_at").fill("")                   # required: refused
        page.locator("#champ-duration_minutes").fill("2")                # too short: refused
        page.locator("main button[type=submit]").click()
        page.wait_for_load_state()
        summary = page.locator("#erreurs-formulaire")
        assert summary.is_visible()
        assert page.evaluate("() => document.activeElement && document.activeElement.id") == "erreurs-formulaire"
        targets = summary.locator("li a").evaluate_all("(links) => links.map((a) => a.getAttribute('href'))")
        assert len(targets) >= 2, targets
        order = page.evaluate(
            "(ids) => ids.map((id) => [...document.querySelectorAll('input, select, textarea, fieldset')]"
            ".findIndex((el) => '#' + el.id === id))", targets)
        assert -1 not in order and order == sorted(order), f"summary order {targets} is not the form's"
        text = page.locator("main").inner_text()
        assert not re.search(r"\d{4}-\d{2}-\d{2}", text), "an ISO date is shown"
