"""Finding 11 (open redirect): « Vu » on an alert and the Pilotage reassignment only send the user
back to a path of this site (`app.core.urls.safe_next`)."""
from __future__ import annotations

import pytest

from app.followup.models import AlertKind
from tests.db_helpers import open_alert
from tests.factories import UserFactory
from tests.web_helpers import login_as
from tests.world import World

EVIL = ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "\x01/x"]


@pytest.mark.parametrize("target", EVIL)
def test_alert_acknowledgement_never_redirects_off_site(client, world: World, target: str) -> None:
    alert = open_alert(world.pathway, AlertKind.FOLLOW_UP_OVERDUE)
    login_as(client, world.referent)
    response = client.post(f"/alertes/{alert.id}/vue", data={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/alertes"


@pytest.mark.parametrize("target", EVIL)
def test_pilotage_reassignment_never_redirects_off_site(client, world: World, target: str) -> None:
    successor = UserFactory(agency=world.ft, email="successeur@ft.test")
    login_as(client, world.manager_ft)
    response = client.post(f"/pilotage/parcours/{world.pathway.id}/referent",
                           data={"referent_id": successor.id, "next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/pilotage"


def test_a_path_of_the_site_is_kept(client, world: World) -> None:
    successor = UserFactory(agency=world.ft, email="successeur@ft.test")
    login_as(client, world.manager_ft)
    response = client.post(f"/pilotage/parcours/{world.pathway.id}/referent",
                           data={"referent_id": successor.id, "next": "/pilotage/listes/portefeuilles?x=1"})
    assert response.headers["Location"] == "/pilotage/listes/portefeuilles?x=1"
