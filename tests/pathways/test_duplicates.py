"""The duplicate check of « Nouvelle personne » (issue 13, point 6): accent and case variants, typos
(PostgreSQL), name-only entries, a link to a record the user reads, « Demander à rejoindre » for
one the user does not, and « Créer quand même » with its reason kept — while a record the user
may not read is never revealed by a name alone (DESIGN §3.3)."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.extensions import db
from app.pathways import services as pathways
from app.pathways.models import Beneficiary
from tests.db_helpers import count_rows
from tests.web_helpers import field_error, login_as, text
from tests.world import World

BORN = date(1988, 4, 12)


@pytest.fixture
def clement(world: World):
    """Joël Clément, born 12 April 1988, followed by France Travail (the referent's agency)."""
    return pathways.create_beneficiary(world.referent, {"first_name": "Joël", "last_name": "Clément",
                                                        "birth_date": BORN})


@pytest.fixture
def undated(world: World):
    """Nadia Roussel, entered with her name only (no birth date)."""
    return pathways.create_beneficiary(world.referent, {"first_name": "Nadia", "last_name": "Roussel"})


def _ids(matches) -> list[int]:
    return [m.pathway.id for m in matches]


def test_accent_and_case_variants_are_caught(world: World, clement) -> None:
    for last, first in (("CLEMENT", "JOEL"), ("clément", "joël"), ("Clement", "Joel")):
        [match] = pathways.check_duplicates(world.colleague, {"last_name": last, "first_name": first,
                                                              "birth_date": BORN})
        assert match.pathway.id == clement.id and match.readable
        assert match.reason == "mêmes nom, prénom et date de naissance"


def test_a_typo_is_caught_with_the_birth_date(world: World, clement) -> None:
    """One edit in a long word (« Clemant »): compared with the people born the same day on SQLite,
    through the words index on PostgreSQL; the same answer on both."""
    [match] = pathways.check_duplicates(world.colleague, {"last_name": "Clemant", "first_name": "Joël",
                                                          "birth_date": BORN})
    assert match.pathway.id == clement.id and match.readable
    # Told to an agency that may not read the record too: same name up to a typo and same birth date.
    [hidden] = pathways.check_duplicates(world.outsider, {"last_name": "Clemant", "first_name": "Joel",
                                                          "birth_date": BORN})
    assert hidden.pathway.id == clement.id and not hidden.readable and hidden.can_join


def test_another_birth_date_is_another_person(world: World, clement) -> None:
    assert pathways.check_duplicates(world.colleague, {"last_name": "Clément", "first_name": "Joël",
                                                       "birth_date": date(1988, 4, 13)}) == []


def test_name_only_entries_are_caught_for_records_the_user_reads(world: World, clement, undated) -> None:
    # The new entry has no birth date: the similar names the user may read are shown.
    [match] = pathways.check_duplicates(world.colleague, {"last_name": "Clement", "first_name": "Joel"})
    assert match.pathway.id == clement.id and match.readable
    assert match.reason == "nom et prénom proches, date de naissance non renseignée"
    # The record on file has no birth date: caught too, whatever the birth date typed.
    [match] = pathways.check_duplicates(world.colleague, {"last_name": "ROUSSEL", "first_name": "nadia",
                                                          "birth_date": BORN})
    assert match.pathway.id == undated.id


def test_a_name_alone_never_reveals_a_record_the_user_may_not_read(world: World, clement, undated) -> None:
    assert pathways.check_duplicates(world.outsider, {"last_name": "Clément", "first_name": "Joël"}) == []
    assert pathways.check_duplicates(world.outsider, {"last_name": "Roussel", "first_name": "Nadia",
                                                      "birth_date": BORN}) == []
    # The audit says the check looked at the name, and that it revealed nothing.
    events = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.actor_id == world.outsider.id, AuditEvent.action == "beneficiary.duplicate_check")).all()
    assert [e.details["pathway_ids"] for e in events] == [[], []]
    assert events[1].details["criteria"] == ["similar_name_and_birth_date"]
    assert "Roussel" not in str(events[1].details)


def test_the_page_links_the_record_the_user_reads(client, world: World, clement) -> None:
    login_as(client, world.colleague)
    html = text(client.post("/personnes/nouvelle", data={"last_name": "CLEMENT", "first_name": "Joel",
                                                          "birth_date": BORN.isoformat()}))
    assert "Cette personne a peut-être déjà un dossier" in html
    assert f'href="/parcours/{clement.id}">Ouvrir le dossier de Joël Clément' in html
    assert 'class="fr-btn fr-btn--secondary" type="submit" name="confirm" value="1">Créer quand même' in html


def test_the_page_offers_to_join_the_team_of_a_record_the_user_does_not_read(client, world: World, clement) -> None:
    login_as(client, world.outsider)
    html = text(client.post("/personnes/nouvelle", data={"last_name": "Clément", "first_name": "Joël",
                                                          "birth_date": BORN.isoformat()}))
    assert "Un parcours existe, porté par FT Bobigny" in html
    assert "Joël" not in html.replace('value="Joël"', "") and "Demander à rejoindre l'équipe de suivi" in html


def test_create_anyway_needs_a_reason_and_keeps_it(client, world: World, clement) -> None:
    login_as(client, world.colleague)
    person = {"last_name": "Clément", "first_name": "Joël", "birth_date": BORN.isoformat()}
    before = count_rows(Beneficiary)
    response = client.post("/personnes/nouvelle", data={**person, "confirm": "1"})
    assert response.status_code == 422
    assert field_error(text(response), "duplicate_reason") == "Indiquez pourquoi il s'agit d'une autre personne."
    assert count_rows(Beneficiary) == before
    response = client.post("/personnes/nouvelle", data={**person, "confirm": "1", "duplicate_reason": "x" * 501})
    assert response.status_code == 422 and field_error(text(response), "duplicate_reason")
    response = client.post("/personnes/nouvelle", data={
        **person, "confirm": "1", "duplicate_reason": "Homonyme : autre adresse, autre numéro CAF."})
    assert response.status_code == 302
    created = db.session.scalar(sa.select(Beneficiary).order_by(Beneficiary.id.desc()).limit(1))
    assert created.id != clement.beneficiary_id
    assert created.duplicate_reason == "Homonyme : autre adresse, autre numéro CAF."
    event = db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.action == "beneficiary.created", AuditEvent.object_id == created.id))
    assert event.details == {"despite_duplicate": True}  # the fact; the words stay with the person


def test_no_match_creates_at_once(client, world: World) -> None:
    login_as(client, world.colleague)
    response = client.post("/personnes/nouvelle", data={"last_name": "Nouvel", "first_name": "Arrivant"})
    assert response.status_code == 302
