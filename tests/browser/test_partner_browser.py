"""The partner's day in chromium (issue 13, points 2, 3 and 10): she lands on her agency's pending
requests, answers one after reading the referent's message, finds her late requests in « Mes
alertes »; the referent then reads the answer on the barrier card and in the journal. axe on each."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from app.accounts.models import AgencyKind, User
from app.barriers import services as barrier_services
from app.barriers.models import BarrierCategory
from app.extensions import db
from app.followup.scan import scan_follow_ups
from app.pathways import services
from app.pathways.models import ConsentMethod, Orientation


def test_partner_answers_a_request_and_the_referent_reads_the_answer(
    live_server, browser_page, login, logout, assert_accessible
) -> None:
    territory = live_server.create_territory()
    ft = live_server.create_agency(territory, name="France Travail Aubervilliers", kind=AgencyKind.FRANCE_TRAVAIL)
    caf = live_server.create_agency(territory, name="CAF Saint-Denis", kind=AgencyKind.CAF)
    referent = live_server.create_user(first_name="Nora", last_name="Haddad", agency_id=ft)
    partner = live_server.create_user(first_name="Hugo", last_name="Lambert", agency_id=caf)
    now = datetime.now(timezone.utc)
    with live_server.app_context():
        actor = db.session.get(User, referent.id)
        pathway = services.create_beneficiary(actor, {"first_name": "Lina", "last_name": "Morin"}, referent=actor,
                                               now=now - timedelta(days=30))
        services.orient(actor, pathway, Orientation.PROFESSIONAL, now=now - timedelta(days=29))
        services.add_team_agency(actor, pathway, caf, now=now - timedelta(days=29))
        services.record_consent(actor, pathway, method=ConsentMethod.WRITTEN, now=now - timedelta(days=29))
        late = barrier_services.add_barrier(actor, pathway, category=BarrierCategory.HOUSING, title="Dossier APL",
                                            now=now - timedelta(days=20))
        fresh = barrier_services.add_barrier(actor, pathway, category=BarrierCategory.MOBILITY, title="Aide au permis",
                                             now=now - timedelta(days=20))
        late_referral = barrier_services.refer_barrier(actor, late, agency_id=caf, message="Dossier APL bloqué ?",
                                                       now=now - timedelta(days=14))
        barrier_services.refer_barrier(actor, fresh, agency_id=caf, message="Éligible à l'aide au permis ?",
                                       now=now - timedelta(days=2))
        scan_follow_ups(now, territory_ids=[territory])
        pathway_id, late_id = pathway.id, late_referral.id
        db.session.remove()

    # She lands on « Suivis par ma structure »: the requests first, then the people.
    login(browser_page, partner.email, partner.password)
    browser_page.goto("/")
    browser_page.wait_for_load_state()
    assert browser_page.get_by_role("heading", name="Demandes en attente (2)").is_visible()
    requests = browser_page.locator("table").first
    assert requests.get_by_text("14 jours").is_visible() and requests.get_by_text("2 jours").is_visible()
    assert browser_page.get_by_role("heading", name="Personnes suivies par ma structure").is_visible()
    assert_accessible(browser_page)

    # « Mes alertes »: the request past the 10-day delay, with the link to answer it.
    browser_page.goto("/alertes")
    row = browser_page.locator("tbody tr", has_text="Orientation de frein sans réponse")
    assert row.count() == 1 and row.get_by_text("4 jours").is_visible()
    assert_accessible(browser_page)
    row.get_by_role("link", name="Répondre à la demande").click()
    browser_page.wait_for_load_state()
    assert f"/orientations/{late_id}/reponse" in browser_page.url
    assert browser_page.get_by_text("« Dossier APL bloqué ? »").is_visible()
    assert_accessible(browser_page)

    browser_page.get_by_text("Nous déclinons la demande").click()
    browser_page.get_by_label("Motif du refus").select_option("already_followed")
    browser_page.get_by_label("Commentaire pour le référent").fill("Suivie par la CAF de Paris depuis mars.")
    browser_page.get_by_role("button", name="Envoyer la réponse").click()
    browser_page.wait_for_load_state()
    flash = browser_page.locator(".fr-alert")
    assert flash.get_by_text("Votre refus et son motif sont transmis au référent.").is_visible()
    logout(browser_page)

    # The referent reads the answer, its reason and comment on the card and in the journal.
    login(browser_page, referent.email, referent.password)
    browser_page.goto(f"/parcours/{pathway_id}?onglet=freins")
    card = browser_page.locator(f"#orientation-{late_id}")
    assert card.get_by_text("Refusée").is_visible()
    assert card.get_by_text("Motif du refus : Déjà accompagné·e par ailleurs").is_visible()
    assert card.get_by_text("« Suivie par la CAF de Paris depuis mars. »").is_visible()
    assert_accessible(browser_page)
    browser_page.goto(f"/parcours/{pathway_id}?onglet=journal")
    journal = browser_page.locator("#journal")
    assert journal.get_by_text("CAF Saint-Denis décline la demande pour « Dossier APL »", exact=False).is_visible()
    assert_accessible(browser_page)
