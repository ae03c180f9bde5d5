"""Barriers in the workspace: add, refer, the partner's answer (accept / decline with a reason)."""

from __future__ import annotations

import sqlalchemy as sa

from app.barriers import services as barrier_services
from app.barriers.models import Barrier, Referral, ReferralStatus
from app.extensions import db
from tests.web_helpers import field_error, login_as, text
from tests.world import World


def test_add_barrier_validates_and_shows_it_on_the_board(client, world: World) -> None:
    login_as(client, world.referent)
    url = f"/parcours/{world.pathway.id}/freins/nouveau"
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Barrier))
    response = client.post(url, data={"category": "", "title": "Loyer impayé", "due_on": "31/02/2026"})
    html = text(response)
    assert response.status_code == 422
    assert field_error(html, "category") == "Ce champ est obligatoire."
    assert field_error(html, "due_on").startswith("Date invalide")
    assert 'value="Loyer impayé"' in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Barrier)) == before
    response = client.post(
        url,
        data={
            "category": "housing",
            "title": "Loyer impayé",
            "owner_agency_id": str(world.ft.id),
            "due_on": "2026-06-30",
        },
        follow_redirects=True,
    )
    html = text(response)
    assert "Le frein est ajouté." in html and "Loyer impayé" in html and "échéance le 30 juin 2026" in html


def test_refer_then_partner_declines_with_a_reason_then_accepts_another(client, world: World) -> None:
    login_as(client, world.referent)
    assert (
        client.post(
            f"/freins/{world.barrier.id}/orienter",
            data={"agency_id": str(world.caf.id), "message": "Aide au permis ?"},
        ).status_code
        == 302
    )
    referral = db.session.scalar(sa.select(Referral).where(Referral.barrier_id == world.barrier.id))
    assert client.get(f"/orientations/{referral.id}/reponse").status_code == 403  # only the agency asked

    login_as(client, world.partner)
    url = f"/orientations/{referral.id}/reponse"
    assert "Aide au permis ?" in text(client.get(url))
    response = client.post(url, data={"accept": "false", "version": str(referral.version)})
    assert response.status_code == 422
    assert "Indiquez le motif du refus." in text(response)
    response = client.post(
        url,
        data={"accept": "false", "decline_reason": "no_capacity", "version": str(referral.version)},
        follow_redirects=True,
    )
    assert "Votre refus et son motif sont transmis au référent." in text(response)
    db.session.expire_all()
    assert db.session.get(Referral, referral.id).status == ReferralStatus.DECLINED

    other = barrier_services.refer_barrier(world.referent, world.barrier, agency_id=world.caf.id)
    response = client.post(
        f"/orientations/{other.id}/reponse",
        data={"accept": "true", "version": str(other.version)},
        follow_redirects=True,
    )
    assert "Votre réponse est transmise au référent." in text(response)
    login_as(client, world.referent)
    html = text(client.get(f"/parcours/{world.pathway.id}?onglet=freins"))
    assert "Acceptée" in html and "Pas de place ou délai trop long" in html
