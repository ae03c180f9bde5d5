"""The referral loop closes on screen (issue 13, point 3): the referent's message where the partner
answers; the answer, its reason and comment on the barrier card and in the record's journal."""

from __future__ import annotations

from app.barriers import services as barrier_services
from app.workspace.timeline import timeline
from tests.web_helpers import login_as, text
from tests.world import World, build_world


def _refer(world: World):
    return barrier_services.refer_barrier(
        world.referent, world.barrier, agency_id=world.caf.id, message="Peut-elle entrer dans l'aide au permis ?"
    )


def test_the_partner_reads_the_referents_message_where_she_answers(client, world: World) -> None:
    referral = _refer(world)
    login_as(client, world.partner)
    html = text(client.get(f"/orientations/{referral.id}/reponse"))
    assert "Message du référent" in html and "« Peut-elle entrer dans l'aide au permis ? »" in html
    assert f"par {world.referent.full_name} (FT Bobigny)" in html


def test_without_consent_the_message_stays_hidden(client) -> None:
    world = build_world(consent=False)
    referral = _refer(world)
    login_as(client, world.partner)
    html = text(client.get(f"/orientations/{referral.id}/reponse"))
    assert "aide au permis" not in html and "Pas de permis" not in html
    assert "le détail de la demande est masqué" in html


def test_the_answer_reason_and_comment_reach_the_card_and_the_journal(client, world: World) -> None:
    referral = _refer(world)
    login_as(client, world.partner)
    response = client.post(
        f"/orientations/{referral.id}/reponse",
        data={"accept": "false", "decline_reason": "no_capacity", "comment": "Liste d'attente de 4 mois.",
              "version": referral.version},
    )
    assert response.status_code == 302
    login_as(client, world.referent)
    html = text(client.get(f"/parcours/{world.pathway.id}?onglet=freins"))
    card = html[html.index(f'id="orientation-{referral.id}"'):]
    card = card[:card.index("</div>")]
    assert "Refusée" in card and "Motif du refus : Pas de place ou délai trop long" in card
    assert "Réponse de CAF 93 : « Liste d'attente de 4 mois. »" in card
    assert "Demande : « Peut-elle entrer dans l'aide au permis ? »" in card
    journal = html[html.index('id="journal"'):]
    assert ("CAF 93 décline la demande pour « Pas de permis » — motif : Pas de place ou délai trop long. "
            "Commentaire : « Liste d'attente de 4 mois. »") in journal
    assert "« Pas de permis » orienté vers CAF 93. Demande : « Peut-elle entrer dans l'aide au permis ? »" in journal


def test_acceptance_and_completion_are_told_in_the_timeline(world: World) -> None:
    referral = _refer(world)
    barrier_services.answer_referral(world.partner, referral, accept=True, comment="Rendez-vous le 12.")
    barrier_services.complete_referral(world.partner, referral)
    bodies = [item.body for item in timeline(world.referent, world.pathway) if item.kind == "barrier"]
    assert "CAF 93 a réalisé l'orientation pour « Pas de permis »." in bodies
    assert "CAF 93 accepte la demande pour « Pas de permis ». Commentaire : « Rendez-vous le 12. »" in bodies
    assert "« Pas de permis »" in bodies  # the barrier's own creation names it
