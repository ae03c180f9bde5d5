"""The footer's public pages (« Mentions légales », « Données personnelles », « Gestion des
cookies », « Accessibilité ») and the brand setting: the Marianne block is for State services only."""

from __future__ import annotations

import pytest

from app import create_app
from config import Config
from tests.web_helpers import login_as, text

LEGAL = {
    "/mentions-legales": ("Mentions légales", ["Éditeur", "Hébergement", "Directeur ou directrice de la publication"]),
    "/donnees-personnelles": ("Données personnelles", ["Finalité", "Base légale", "Durée de conservation",
                                                       "Vos droits", "délégué à la protection des données", "CNIL"]),
    "/gestion-des-cookies": ("Gestion des cookies", ["strictement nécessaire", "Pourquoi aucun bandeau",
                                                     "session"]),
    "/accessibilite": ("Accessibilité", ["non conforme", "RGAA", "Défenseur des droits", "Voies de recours"]),
}


@pytest.mark.parametrize("path", sorted(LEGAL))
def test_legal_pages_are_public_and_say_what_they_must(client, path) -> None:
    response = client.get(path)
    assert response.status_code == 200
    body = text(response)
    title, musts = LEGAL[path]
    assert f"<h1>{title}</h1>" in body
    for must in musts:
        assert must in body, f"{path} should mention « {must} »"
    assert "audit en cours" not in body  # not a status of the RGAA


def _footer(response) -> str:
    body = text(response)
    return body[body.index('id="pied-de-page"'):]


def test_footer_links_to_every_legal_page_on_public_and_signed_in_pages(client, world) -> None:
    footers = [_footer(client.get("/connexion"))]
    login_as(client, world.referent)
    footers.append(_footer(client.get("/portefeuille")))
    for footer in footers:
        for path in LEGAL:
            assert f'href="{path}"' in footer
        assert "Accessibilité : non conforme" in footer
        assert "audit en cours" not in footer


def test_accessibility_statement_names_the_configured_contact(app, client, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "ACCESSIBILITY_CONTACT", "accessibilite@departement.example.fr")
    monkeypatch.setitem(app.config, "DPO_CONTACT", "dpo@departement.example.fr")
    assert "accessibilite@departement.example.fr" in text(client.get("/accessibilite"))
    assert "dpo@departement.example.fr" in text(client.get("/donnees-personnelles"))


def test_default_brand_is_a_neutral_operator_header_without_marianne(app, client, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "OPERATOR_NAME", "Conseil départemental de l'Exemple")
    body = text(client.get("/connexion"))
    assert app.config["BRAND_KIND"] == "operateur"
    assert 'class="fr-logo"' not in body and "République<br>Française" not in body
    assert "Conseil départemental de l'Exemple" in body


def test_a_state_service_shows_the_marianne_block(app, client, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "BRAND_KIND", "etat")
    body = text(client.get("/connexion"))
    assert body.count('<p class="fr-logo">République<br>Française</p>') == 2  # header and footer


def test_an_unknown_brand_kind_refuses_to_start(monkeypatch) -> None:
    monkeypatch.setenv("BRAND_KIND", "marianne")
    with pytest.raises(RuntimeError, match="BRAND_KIND"):
        create_app("testing")
    monkeypatch.setenv("BRAND_KIND", "ETAT")
    assert Config().BRAND_KIND == "etat"
