"""« Pilotage » and « Mes alertes » in chromium: real pages, charts drawn, no serious axe violation."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from app.accounts.models import AgencyKind, Role, User
from app.extensions import db
from app.followup.scan import scan_follow_ups
from app.pathways import services


def test_manager_sees_overdue_follow_ups_and_referent_sees_alerts(
    live_server, browser_page, login, logout, assert_accessible
) -> None:
    agency_id = live_server.create_agency(kind=AgencyKind.DEPARTMENTAL_COUNCIL, name="CD de test")
    with live_server.app_context():
        territory_id = db.session.get(User, live_server.create_user(agency_id=agency_id).id).territory_id
    referent = live_server.create_user(agency_id=agency_id, first_name="Claire", last_name="Martin")
    manager = live_server.create_user(agency_id=agency_id, role=Role.MANAGER, first_name="Isabelle", last_name="Moreau")
    now = datetime.now(timezone.utc)
    with live_server.app_context():
        actor = db.session.get(User, referent.id)
        for i, name in enumerate(["Sarah Benali", "Thibault Morel", "Inès Garnier"]):
            first, last = name.split()
            services.create_beneficiary(
                actor, {"first_name": first, "last_name": last}, referent=actor, now=now - timedelta(days=60 + i)
            )
        scan_follow_ups(now, territory_ids=[territory_id])
        db.session.remove()

    login(browser_page, manager.email, manager.password)
    browser_page.goto("/pilotage")
    assert browser_page.get_by_role("heading", name="Pilotage").is_visible()
    assert browser_page.get_by_text("Claire Martin").first.is_visible()
    assert browser_page.locator("canvas.parcours-chart").count() >= 1
    browser_page.wait_for_function(
        "() => !!window.Chart && Chart.getChart(document.querySelector('canvas.parcours-chart'))"
    )
    assert_accessible(browser_page)
    browser_page.get_by_role("link", name="Suivis en retard").click()
    browser_page.wait_for_load_state()
    assert "/pilotage/listes/suivis-en-retard" in browser_page.url
    browser_page.goto("/pilotage/listes/alertes")
    assert browser_page.get_by_role("link", name="Sarah Benali").is_visible()
    assert_accessible(browser_page)
    logout(browser_page)

    login(browser_page, referent.email, referent.password)
    browser_page.goto("/alertes")
    assert browser_page.get_by_text("Thibault Morel").first.is_visible()
    assert_accessible(browser_page)
    browser_page.get_by_role("button", name="Marquer comme vue").first.click()
    browser_page.wait_for_load_state()
    assert browser_page.locator(".fr-alert").get_by_text("Alerte marquée comme vue").is_visible()
