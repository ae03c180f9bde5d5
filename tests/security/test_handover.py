"""Finding 2: a handover never opens private notes (DESIGN §3.3).

Nobody hands a pathway to themself; `referent` notes are read by their author, and by the referent
only while the lead agency stays the author's; a handover to another agency never opens the previous
agency's `agency` or `referent` notes; every handover tells the previous referent.
"""
from __future__ import annotations

import email
import email.policy
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import access
from app.errors import DomainError, ValidationError
from app.extensions import db
from app.notifications.services import send_pending_notifications
from app.pathways import services as pathways
from app.pathways.models import Entry, Pathway
from tests.factories import UserFactory
from tests.web_helpers import login_as
from tests.world import T0, World

NOW = T0 + timedelta(days=12)


@pytest.fixture
def outbox(app, tmp_path: Path):
    previous = app.config["MAIL_OUTBOX_DIR"], app.config.get("MAIL_SERVER")
    app.config["MAIL_OUTBOX_DIR"], app.config["MAIL_SERVER"] = str(tmp_path), ""
    yield tmp_path
    app.config["MAIL_OUTBOX_DIR"], app.config["MAIL_SERVER"] = previous


def _readable_entry_ids(user, pathway: Pathway) -> set[int]:
    return set(db.session.scalars(
        sa.select(Entry.id).join(Pathway, Pathway.id == Entry.pathway_id)
        .where(Entry.pathway_id == pathway.id, access.visible_entries_clause(user))
    ))


def test_a_manager_cannot_make_himself_referent_in_the_service(world: World) -> None:
    with pytest.raises(ValidationError) as excinfo:
        pathways.assign_referent(world.manager_cd, world.pathway, world.manager_cd, now=NOW)
    assert excinfo.value.field == "referent_id"
    db.session.expire_all()
    assert db.session.get(Pathway, world.pathway.id).referent_id == world.referent.id


def test_a_manager_cannot_make_himself_referent_through_the_api(api, world: World) -> None:
    response = api(world.manager_cd).post(f"/pathways/{world.pathway.id}/referent",
                                          json={"user_id": world.manager_cd.id})
    assert response.status_code == 422
    assert "vous-même" in response.get_json()["detail"]
    db.session.expire_all()
    assert db.session.get(Pathway, world.pathway.id).referent_id == world.referent.id


def test_a_manager_cannot_make_himself_referent_through_the_forms(client, world: World) -> None:
    login_as(client, world.manager_cd)
    page = client.get(f"/parcours/{world.pathway.id}/referent")
    assert page.status_code == 200
    assert f'value="{world.manager_cd.id}"' not in page.get_data(as_text=True)
    response = client.post(f"/parcours/{world.pathway.id}/referent", data={"user_id": world.manager_cd.id})
    assert response.status_code == 422
    client.post(f"/pilotage/parcours/{world.pathway.id}/referent", data={"referent_id": world.manager_cd.id})
    db.session.expire_all()
    assert db.session.get(Pathway, world.pathway.id).referent_id == world.referent.id


def test_a_professional_takes_charge_only_of_an_unassigned_pathway_of_her_agency(world: World) -> None:
    pathway = pathways.create_beneficiary(world.colleague, {"first_name": "Inès", "last_name": "Roux"}, now=NOW)
    with pytest.raises(DomainError):  # not her agency: refused (she does not even see it)
        pathways.assign_referent(world.partner, pathway, world.partner, now=NOW)
    pathways.assign_referent(world.referent, pathway, world.referent, now=NOW)
    assert pathway.referent_id == world.referent.id
    with pytest.raises(ValidationError):  # it now has a referent: a colleague cannot take it over herself
        pathways.assign_referent(world.colleague, pathway, world.colleague, now=NOW)


def test_referent_notes_pass_to_a_new_referent_of_the_same_agency_only(world: World) -> None:
    referent_note = world.entry_referent.id
    pathways.assign_referent(world.manager_ft, world.pathway, world.colleague, now=NOW)
    assert referent_note in _readable_entry_ids(world.colleague, world.pathway)
    assert access.can_see_entry(world.colleague, world.entry_referent, world.pathway)

    other = UserFactory(agency=world.cd, email="referente@cd.test")
    pathways.assign_referent(world.manager_cd, world.pathway, other, now=NOW + timedelta(hours=1))
    readable = _readable_entry_ids(other, world.pathway)
    assert referent_note not in readable
    assert world.entry_agency.id not in readable  # the previous agency's `agency` notes stay closed
    assert world.entry_team.id in readable
    assert not access.can_see_entry(other, world.entry_referent, world.pathway)
    assert not access.can_see_meeting_notes(other, world.meeting_private, world.pathway)
    # The author still reads her own note.
    assert referent_note in _readable_entry_ids(world.referent, world.pathway)


def test_the_self_reassignment_attack_no_longer_opens_notes(world: World) -> None:
    """The probe's scenario: a CD manager takes a France Travail pathway, reads, hands it back."""
    with pytest.raises(ValidationError):
        pathways.assign_referent(world.manager_cd, world.pathway, world.manager_cd, now=NOW)
    assert world.entry_referent.id not in _readable_entry_ids(world.manager_cd, world.pathway)


def test_every_handover_tells_the_previous_referent(world: World, outbox: Path) -> None:
    pathways.assign_referent(world.manager_ft, world.pathway, world.colleague, now=NOW)
    assert list(outbox.glob("*.eml")) == []  # recorded with the handover, sent by the notifications job
    send_pending_notifications(NOW)
    messages = [email.message_from_bytes(m.read_bytes(), policy=email.policy.default) for m in outbox.glob("*.eml")]
    # the previous referent, and the new one (issue 13: the new referent is told too)
    assert sorted(str(m["To"]) for m in messages) == ["collegue@ft.test", "referent@ft.test"]
    message = next(m for m in messages if str(m["To"]) == "referent@ft.test")
    text = str(message["To"]) + message["Subject"] + message.get_body(("plain",)).get_content()
    assert "referent@ft.test" in text
    assert f"n° {world.pathway.id}" in text
    assert "Note du référent" not in text
