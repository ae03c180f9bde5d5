"""Finding 5: the duplicate warning is a deliberate, audited answer, not an oracle.

Exact identifiers only; a record not shared with the user is told as « a pathway exists, led by … »;
every check is audited; « Demander à rejoindre l'équipe de suivi » only for what the check showed,
answered by the lead agency.
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.extensions import db
from app.pathways import services as pathways
from app.pathways.models import JoinRequestStatus, PathwayMember, TeamJoinRequest
from tests.web_helpers import login_as, text
from tests.world import World


def _checks(user) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.actor_id == user.id, AuditEvent.action == "beneficiary.duplicate_check")))


def _requests(world: World) -> list[TeamJoinRequest]:
    return list(db.session.scalars(sa.select(TeamJoinRequest).where(TeamJoinRequest.pathway_id == world.pathway.id)))


def test_an_unshared_match_tells_only_that_a_pathway_exists_and_who_leads_it(client, world: World) -> None:
    login_as(client, world.outsider)
    html = text(client.post("/personnes/nouvelle", data={"first_name": "X", "last_name": "Y", "caf_number": "1234567"}))
    assert "Un parcours existe, porté par FT Bobigny" in html
    assert "Benali" not in html and "Sarah" not in html
    assert "Demander à rejoindre l'équipe de suivi" in html
    [event] = _checks(world.outsider)
    assert event.details["criteria"] == ["similar_name", "caf_number"]  # the name is looked at too
    assert event.details["pathway_ids"] == [world.pathway.id]
    assert "1234567" not in str(event.details)  # the criteria, never the values


def test_names_match_exactly_not_by_prefix(world: World) -> None:
    person = pathways.create_beneficiary(world.referent, {"first_name": "Jean", "last_name": "Martin-Dupont",
                                                          "birth_date": date(1990, 5, 4)})
    assert pathways.check_duplicates(world.outsider, {"first_name": "Jean", "last_name": "Martin",
                                                      "birth_date": date(1990, 5, 4)}) == []
    found = pathways.check_duplicates(world.outsider, {"first_name": "JEAN", "last_name": "Martin Dupont",
                                                       "birth_date": date(1990, 5, 4)})
    assert [m.pathway.id for m in found] == [person.id]
    assert pathways.check_duplicates(world.outsider, {"first_name": "Jean", "last_name": "Martin-Dupont",
                                                      "birth_date": date(1990, 5, 5)}) == []
    assert len(_checks(world.outsider)) == 3  # every check is audited, even when it finds nothing


def test_a_request_to_join_only_for_a_pathway_the_check_revealed(client, world: World) -> None:
    login_as(client, world.outsider)
    response = client.post(f"/parcours/{world.pathway.id}/equipe/demande", data={"message": "Suivie au CCAS"})
    assert response.status_code == 404  # probing pathway numbers tells nothing
    assert _requests(world) == []
    client.post("/personnes/nouvelle", data={"first_name": "X", "last_name": "Y", "caf_number": "1234567"})
    response = client.post(f"/parcours/{world.pathway.id}/equipe/demande", data={"message": "Suivie au CCAS"})
    assert response.status_code == 302
    [join] = _requests(world)
    assert join.agency_id == world.ccas.id and join.status == JoinRequestStatus.PENDING
    assert join.message == "Suivie au CCAS"
    # Asking twice is refused by the database's one-pending rule, with a message, not a 500.
    client.post(f"/parcours/{world.pathway.id}/equipe/demande", data={})
    assert len(_requests(world)) == 1


def test_the_lead_agency_accepts_and_the_agency_joins_the_team(client, world: World) -> None:
    pathways.check_duplicates(world.outsider, {"caf_number": "1234567"})
    join = pathways.request_to_join(world.outsider, world.pathway, message="Aide au logement")
    # Only the lead agency sees and answers it.
    login_as(client, world.partner)
    assert client.post(f"/equipe/demandes/{join.id}/reponse", data={"accept": "1"}).status_code == 404
    login_as(client, world.colleague)
    page = text(client.get(f"/parcours/{world.pathway.id}?onglet=equipe"))
    assert "Demandes pour rejoindre l'équipe (1)" in page and "Aide au logement" in page
    assert client.post(f"/equipe/demandes/{join.id}/reponse", data={"accept": "1"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(TeamJoinRequest, join.id).status == JoinRequestStatus.ACCEPTED
    assert db.session.scalar(sa.select(PathwayMember).where(
        PathwayMember.pathway_id == world.pathway.id, PathwayMember.agency_id == world.ccas.id,
        PathwayMember.removed_at.is_(None))) is not None


def test_a_refusal_keeps_the_agency_out(world: World) -> None:
    pathways.check_duplicates(world.outsider, {"caf_number": "1234567"})
    join = pathways.request_to_join(world.outsider, world.pathway)
    pathways.answer_join_request(world.referent, join, accept=False, comment="Pas de suivi commun")
    assert join.status == JoinRequestStatus.REFUSED
    assert db.session.scalar(sa.select(PathwayMember).where(
        PathwayMember.pathway_id == world.pathway.id, PathwayMember.agency_id == world.ccas.id)) is None


def test_a_team_member_is_not_offered_to_join(world: World) -> None:
    [match] = pathways.check_duplicates(world.partner, {"caf_number": "1234567"})
    assert match.readable and not match.can_join


def test_bad_input_in_the_join_forms_writes_nothing_and_names_the_field(client, world: World) -> None:
    pathways.check_duplicates(world.outsider, {"caf_number": "1234567"})
    login_as(client, world.outsider)
    response = client.post(f"/parcours/{world.pathway.id}/equipe/demande", data={"message": "a\x00b"},
                           follow_redirects=True)
    assert "Message : " in text(response)
    assert _requests(world) == []
    join = pathways.request_to_join(world.outsider, world.pathway)
    login_as(client, world.referent)
    response = client.post(f"/equipe/demandes/{join.id}/reponse", data={"accept": "peut-être"},
                           follow_redirects=True)
    assert "Réponse : " in text(response)
    response = client.post(f"/equipe/demandes/{join.id}/reponse", data={"accept": "1", "comment": "x" * 501},
                           follow_redirects=True)
    assert "Commentaire : " in text(response)
    db.session.expire_all()
    assert db.session.get(TeamJoinRequest, join.id).status == JoinRequestStatus.PENDING
