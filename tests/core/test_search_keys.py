"""Search keys keep every letter (anyascii), so « Łukasz » is found by « lukasz » and « Straße » by
« strasse »; `flask rekey-search-names` rebuilds the keys stored before (app/pathways/search.py)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.pathways.models import Beneficiary
from app.pathways.search import normalise, rekey_search_names, search_key
from tests.web_helpers import login_as, text
from tests.world import World


@pytest.mark.parametrize(
    "name, key",
    [
        ("Łukasz", "lukasz"),
        ("Straße", "strasse"),
        ("Émilie  D'Aubigné-Ségur", "emilie d aubigne segur"),
        ("Œuvray", "oeuvray"),
        ("Ærø", "aero"),
        ("Nguyễn", "nguyen"),
        ("Дмитрий", "dmitriy"),
        ("Øre Åsa", "ore asa"),
    ],
)
def test_no_letter_is_lost(name: str, key: str) -> None:
    assert normalise(name) == key


def test_a_key_fits_its_column_whatever_the_names() -> None:
    # One character may transliterate to many (« ﷽ » → 28 letters): the key still fits VARCHAR(255).
    assert len(search_key("﷽" * 80, "﷽" * 80, "﷽" * 80)) <= 255


@pytest.fixture
def polish_and_german(client, world: World) -> None:
    login_as(client, world.referent)
    person = {"first_name": "Łukasz", "last_name": "Straße", "become_referent": "1"}  # in « my » caseload
    response = client.post("/personnes/nouvelle", data=person)
    assert response.status_code == 302
    client.get(response.headers["Location"])  # shows (and so clears) the « dossier créé » message


@pytest.mark.parametrize("query", ["lukasz", "Łukasz", "LUKASZ", "strasse", "straße", "STRASSE lukasz"])
def test_portfolio_finds_them_accent_insensitively(client, world: World, polish_and_german, query) -> None:
    assert "Łukasz" in text(client.get("/portefeuille", query_string={"q": query}))
    assert "Łukasz" not in text(client.get("/portefeuille", query_string={"q": "kowalski"}))


@pytest.mark.parametrize("query", ["lukasz", "strasse"])
def test_api_finds_them_too(api, world: World, polish_and_german, query) -> None:
    found = api(world.referent).get(f"/beneficiaries?q={query}").get_json()["items"]
    assert [(i["beneficiary"]["first_name"], i["beneficiary"]["last_name"]) for i in found] == [("Łukasz", "Straße")]


def test_rekeying_repairs_keys_written_before(runner, api, world: World, polish_and_german) -> None:
    person = db.session.scalar(sa.select(Beneficiary).where(Beneficiary.first_name == "Łukasz"))
    version = person.version
    anonymised = Beneficiary(territory_id=world.territory.id, first_name="Personne", last_name="anonymisée")
    anonymised.search_name = ""
    db.session.add(anonymised)
    # The key the previous normalisation wrote: letters dropped.
    db.session.execute(sa.update(Beneficiary).where(Beneficiary.id == person.id).values(search_name="stra e ukasz"))
    db.session.commit()
    # (searched by « strasse »: « lukasz » is one letter from the damaged « ukasz », which the
    # typo-tolerant search finds on PostgreSQL)
    assert api(world.referent).get("/beneficiaries?q=strasse").get_json()["items"] == []

    result = runner.invoke(args=["rekey-search-names", "--batch-size", "1"])
    assert result.exit_code == 0, result.output
    assert "1 clé(s) de recherche reconstruite(s)." in result.output

    db.session.expire_all()
    assert db.session.get(Beneficiary, person.id).search_name == "strasse lukasz"
    assert db.session.get(Beneficiary, person.id).version == version  # not a change of the person
    assert db.session.get(Beneficiary, anonymised.id).search_name == ""  # anonymised: stays unfindable
    assert len(api(world.referent).get("/beneficiaries?q=strasse").get_json()["items"]) == 1
    assert rekey_search_names() == 0  # nothing left to do
