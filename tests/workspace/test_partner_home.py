"""The partner's home (issue 13, point 2): « Qui suivons-nous, et quelles demandes attendent notre
réponse ? » — her agency's pending requests first (count, days waiting, « Répondre »), then the
people it follows; never an empty « dont je suis le référent » list first."""

from __future__ import annotations

from datetime import timedelta

from app.barriers import services as barrier_services
from app.barriers.models import BarrierCategory
from app.db_types import utcnow
from app.pathways import services
from tests.web_helpers import login_as, text
from tests.world import World


def test_the_partner_lands_on_her_agencys_requests_then_its_people(client, world: World) -> None:
    referral = barrier_services.refer_barrier(world.referent, world.barrier, agency_id=world.caf.id,
                                              now=utcnow() - timedelta(days=12))
    login_as(client, world.partner)
    html = text(client.get("/portefeuille"))
    assert "Qui suivons-nous, et quelles demandes attendent notre réponse ?" in html
    assert "Demandes en attente (1)" in html and "12 jours" in html
    assert f'href="/orientations/{referral.id}/reponse"' in html
    requests, people = html.index("Demandes en attente (1)"), html.index("Personnes suivies par ma structure")
    assert requests < people < html.index("BENALI Sarah")
    assert "Personnes dont je suis le référent" not in html


def test_the_partner_can_still_open_her_own_list(client, world: World) -> None:
    login_as(client, world.partner)
    html = text(client.get("/portefeuille?onglet=moi"))
    assert "Personnes dont je suis le référent" in html and "BENALI" not in html


def test_a_referent_starts_on_her_people_and_is_told_of_pending_requests(client, world: World) -> None:
    other = services.create_beneficiary(world.outsider, {"first_name": "Yanis", "last_name": "Roux"},
                                        referent=world.outsider)
    barrier = barrier_services.add_barrier(world.outsider, other, category=BarrierCategory.HOUSING, title="Loyer")
    barrier_services.refer_barrier(world.outsider, barrier, agency_id=world.ft.id)
    login_as(client, world.referent)
    html = text(client.get("/portefeuille"))
    assert "Personnes dont je suis le référent" in html and "BENALI Sarah" in html
    assert "1 demande d'orientation attend la réponse de votre structure." in html
    assert 'href="/portefeuille?onglet=structure">Voir les demandes en attente' in html
