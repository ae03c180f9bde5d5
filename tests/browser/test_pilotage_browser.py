"""« Pilotage » and « Mes alertes » in chromium: real pages, charts drawn, no serious axe violation."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from app.accounts.models import AgencyKind, Role, User
from app.barriers import services as barrier_services
from app.barriers.models import BarrierCategory
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
    assert browser_page.get_by_role("link", name="Sarah Benali", exact=True).is_visible()
    assert_accessible(browser_page)
    logout(browser_page)

    login(browser_page, referent.email, referent.password)
    browser_page.goto("/alertes")
    assert browser_page.get_by_text("Thibault Morel").first.is_visible()
    assert_accessible(browser_page)
    browser_page.get_by_role("button", name="Marquer comme vue").first.click()
    browser_page.wait_for_load_state()
    assert browser_page.locator(".fr-alert").get_by_text("Alerte marquée comme vue").is_visible()


def test_manager_lands_on_pilotage_filters_and_hands_over_with_a_note(
    live_server, browser_page, login, assert_accessible
) -> None:
    """Issue 13, points 4, 8 and 10: the landing page, when alerts were computed, tiles with their
    breakdown, « Filtré : … » and its way back, an alert list's next actions, « Confier à… » asking
    for the handover note and listing eligible referents with their caseload."""
    agency_id = live_server.create_agency(kind=AgencyKind.FRANCE_TRAVAIL, name="FT Montreuil")
    referent = live_server.create_user(agency_id=agency_id, first_name="Samia", last_name="Roux")
    colleague = live_server.create_user(agency_id=agency_id, first_name="Yves", last_name="Blanc")
    manager = live_server.create_user(agency_id=agency_id, role=Role.MANAGER, first_name="Anne", last_name="Fabre")
    now = datetime.now(timezone.utc)
    with live_server.app_context():
        actor = db.session.get(User, referent.id)
        territory_id = actor.territory_id
        for first, last in (("Jade", "Perrin"), ("Malik", "Hamon")):
            person = services.create_beneficiary(actor, {"first_name": first, "last_name": last}, referent=actor,
                                                 now=now - timedelta(days=70))
        barrier_services.add_barrier(actor, person, category=BarrierCategory.HOUSING, title="Hébergement")
        scan_follow_ups(now, territory_ids=[territory_id])
        db.session.remove()

    login(browser_page, manager.email, manager.password)
    assert browser_page.url.endswith("/pilotage")  # the manager's home
    assert browser_page.get_by_text("Alertes calculées le").is_visible()
    tile = browser_page.locator("#tuile-freins")
    assert tile.get_by_role("link", name="Logement : 1").is_visible()  # its breakdown
    assert_accessible(browser_page)

    browser_page.get_by_label("Référent", exact=True).select_option(str(referent.id))
    browser_page.get_by_role("button", name="Filtrer").click()
    browser_page.wait_for_load_state()
    notice = browser_page.locator(".parcours-filtered")
    assert notice.get_by_text("Filtré : référent Samia Roux.").is_visible()
    assert_accessible(browser_page)
    notice.get_by_role("link", name="Retirer les filtres").click()
    browser_page.wait_for_load_state()
    assert browser_page.locator(".parcours-filtered").count() == 0

    # The legal indicators count a year of pathways: their own page, one click away.
    browser_page.get_by_role("link", name="Voir les indicateurs des délais légaux").click()
    browser_page.wait_for_load_state()
    assert browser_page.get_by_role("heading", name="Indicateurs des délais légaux", level=1).is_visible()
    assert browser_page.get_by_role("heading", name="Personnes orientées dans les 6 semaines").is_visible()
    assert_accessible(browser_page)
    browser_page.get_by_role("link", name="Retour au pilotage").click()
    browser_page.wait_for_load_state()
    assert browser_page.url.endswith("/pilotage")

    browser_page.goto("/pilotage/listes/alertes?type=orientation_late")
    row = browser_page.locator("tbody tr", has_text="Jade Perrin")
    assert row.get_by_role("link", name="Orienter").is_visible() and row.get_by_text(" jours").count() == 1
    assert_accessible(browser_page)
    row.get_by_role("link", name="Confier à…").click()
    browser_page.wait_for_load_state()
    picker = browser_page.locator("#champ-user_id")
    assert "Yves Blanc — FT Montreuil (aucun parcours suivi)" in picker.inner_text()
    assert "Samia Roux" not in picker.inner_text()  # the current referent
    picker.select_option(str(colleague.id))
    browser_page.get_by_role("button", name="Confier le parcours").click()
    browser_page.wait_for_load_state()
    assert browser_page.get_by_role("alert").get_by_text("Note de passation").is_visible()
    assert_accessible(browser_page)
    browser_page.locator("#champ-note").fill("Orientation à décider : diagnostic fait le 3.")
    browser_page.get_by_role("button", name="Confier le parcours").click()
    browser_page.wait_for_load_state()
    assert "/pilotage/listes/alertes" in browser_page.url
    assert browser_page.locator(".fr-alert").get_by_text("la note de passation lui est transmise").is_visible()
