"""Records you can correct (issue 13, point 9): the person's identity, contact and rights; a journal
note corrected by its author (a new version, the history kept and shown), its visibility narrowed
but never widened by someone else; note types, shown and filterable on the record."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.errors import Forbidden, NotFound, StaleVersion, ValidationError
from app.extensions import db
from app.pathways import services as pathways
from app.pathways.models import Beneficiary, EntryVersion, NoteType, Visibility
from tests.web_helpers import field_error, login_as, text
from tests.world import World

# --- identity, contact and rights ------------------------------------------------------------------


def test_edit_identity_contact_and_rights(client, world: World) -> None:
    person = world.pathway.beneficiary
    login_as(client, world.colleague)
    page = text(client.get(f"/parcours/{world.pathway.id}/identite"))
    assert "Modifier l'identité et les coordonnées" in page and 'value="Benali"' in page
    response = client.post(f"/parcours/{world.pathway.id}/identite", data={
        "version": person.version, "last_name": "Benali", "first_name": "Sarah", "caf_number": "1234567",
        "phone": "06 11 22 33 44", "city": "Pantin", "rights": ["rsa", "css"],
    }, follow_redirects=True)
    html = text(response)
    assert "L'identité et les coordonnées sont mises à jour." in html
    assert "06 11 22 33 44" in html and "Revenu de solidarité active (RSA), Complémentaire santé solidaire" in html
    db.session.refresh(person)
    assert person.rights == ["rsa", "css"] and person.city == "Pantin"
    # No box ticked: no right any more; a field emptied (as a browser posts it) is cleared.
    client.post(f"/parcours/{world.pathway.id}/identite", data={
        "version": person.version, "last_name": "Benali", "first_name": "Sarah", "phone": ""})
    db.session.refresh(person)
    assert person.rights == [] and person.phone is None


def test_identity_form_refuses_bad_input_and_a_stale_page(client, world: World) -> None:
    person = world.pathway.beneficiary
    login_as(client, world.referent)
    response = client.post(f"/parcours/{world.pathway.id}/identite", data={
        "version": person.version, "last_name": "", "first_name": "Sarah", "postal_code": "93"})
    html = text(response)
    assert response.status_code == 422
    assert field_error(html, "last_name") and field_error(html, "postal_code") == "Code postal à 5 chiffres."
    stale = person.version
    pathways.update_beneficiary(world.colleague, person.id, {"city": "Bondy"}, expected_version=stale)
    response = client.post(f"/parcours/{world.pathway.id}/identite", data={
        "version": stale, "last_name": "Benali", "first_name": "Sara"})
    assert response.status_code == 409
    assert "modifiées par quelqu'un d'autre pendant votre saisie" in text(response)
    db.session.refresh(person)
    assert person.first_name == "Sarah" and person.city == "Bondy"


def test_only_the_lead_agency_edits_identity(client, world: World) -> None:
    login_as(client, world.partner)
    assert client.get(f"/parcours/{world.pathway.id}/identite").status_code == 403
    assert "Modifier l'identité" not in text(client.get(f"/parcours/{world.pathway.id}"))


# --- journal notes: corrections, versions, visibility ---------------------------------------------


def test_the_author_corrects_a_note_and_the_history_is_kept(client, world: World) -> None:
    entry = world.entry_agency  # « Note FT. », by the referent, visible to France Travail
    login_as(client, world.referent)
    response = client.post(f"/journal/{entry.id}/corriger", data={
        "version": entry.version, "body": "Note FT corrigée.", "note_type": "call", "visibility": "agency",
    }, follow_redirects=True)
    html = text(response)
    assert "La note est corrigée" in html
    assert "Note FT corrigée." in html and "modifié" in html
    assert "Versions précédentes (1)" in html and "Note FT." in html
    db.session.refresh(entry)
    assert entry.note_type == NoteType.CALL and entry.edited_at is not None
    [old] = db.session.scalars(sa.select(EntryVersion).where(EntryVersion.entry_id == entry.id)).all()
    assert old.body == "Note FT." and old.version == 1 and old.visibility == Visibility.AGENCY
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "entry.edited"))
    assert event.details == {"fields": ["body", "note_type"]}  # never the text


def test_only_the_author_corrects_the_text(world: World) -> None:
    with pytest.raises(Forbidden):
        pathways.edit_entry(world.colleague, world.entry_agency, {"body": "Réécrit par un collègue."})
    with pytest.raises(NotFound):  # a note the partner cannot read: nothing to correct
        pathways.get_entry_or_404(world.partner, world.entry_agency.id)
    with pytest.raises(Forbidden):
        pathways.edit_entry(world.partner, world.entry_team, {"body": "Réécrit par la CAF."})


def test_visibility_is_narrowed_by_the_lead_agency_but_widened_only_by_the_author(world: World) -> None:
    entry = world.entry_team  # by the referent, visible to the team
    pathways.edit_entry(world.colleague, entry, {"visibility": Visibility.AGENCY})  # narrowing: allowed
    assert entry.visibility == Visibility.AGENCY
    with pytest.raises(ValidationError) as refused:
        pathways.edit_entry(world.colleague, entry, {"visibility": Visibility.TEAM})
    assert refused.value.errors == {"visibility": ["Seul l'auteur de la note peut l'ouvrir à plus de lecteurs."]}
    pathways.edit_entry(world.referent, entry, {"visibility": Visibility.TEAM})  # its author widens it
    assert entry.visibility == Visibility.TEAM
    with pytest.raises(ValidationError):  # a partner never writes for the referent only
        pathways.edit_entry(world.partner, world.entry_partner, {"visibility": Visibility.REFERENT})


def test_a_version_is_never_shown_to_readers_the_note_was_opened_to_later(client, world: World) -> None:
    entry = world.entry_agency
    pathways.edit_entry(world.referent, entry, {"body": "Texte pour l'équipe.", "visibility": Visibility.TEAM})
    login_as(client, world.partner)
    html = text(client.get(f"/parcours/{world.pathway.id}?onglet=journal"))
    assert "Texte pour l'équipe." in html and "modifié" in html
    assert "Note FT." not in html and "Versions précédentes" not in html
    login_as(client, world.colleague)
    assert "Note FT." in text(client.get(f"/parcours/{world.pathway.id}?onglet=journal"))


def test_a_stale_correction_is_a_conflict(world: World) -> None:
    entry = world.entry_agency
    stale = entry.version
    pathways.edit_entry(world.referent, entry, {"body": "Première correction."}, expected_version=stale)
    with pytest.raises(StaleVersion):
        pathways.edit_entry(world.referent, entry, {"body": "Seconde correction."}, expected_version=stale)
    assert entry.body == "Première correction."


def test_the_correct_link_is_offered_to_whoever_may_correct(client, world: World) -> None:
    login_as(client, world.partner)
    html = text(client.get(f"/parcours/{world.pathway.id}?onglet=journal"))
    assert f"/journal/{world.entry_partner.id}/corriger" in html  # the partner's own note
    assert f"/journal/{world.entry_team.id}/corriger" not in html
    login_as(client, world.colleague)  # the lead agency may narrow the referent's team note
    html = text(client.get(f"/parcours/{world.pathway.id}?onglet=journal"))
    assert f"/journal/{world.entry_team.id}/corriger" in html
    page = text(client.get(f"/journal/{world.entry_team.id}/corriger"))
    assert "vous pouvez seulement restreindre" in page and 'name="body"' not in page


# --- note types ------------------------------------------------------------------------------------


def test_note_types_are_written_shown_and_filtered(client, world: World) -> None:
    login_as(client, world.referent)
    client.post(f"/parcours/{world.pathway.id}/journal", data={
        "body": "Appel à la personne.", "visibility": "team", "note_type": "call"})
    client.post(f"/parcours/{world.pathway.id}/journal", data={
        "body": "Dossier FSL déposé.", "visibility": "team", "note_type": "step"})
    html = text(client.get(f"/parcours/{world.pathway.id}?onglet=journal"))
    assert "Appel à la personne." in html and "Dossier FSL déposé." in html
    assert '<h3 class="fr-h6 fr-mb-1v">Appel</h3>' in html and '<h3 class="fr-h6 fr-mb-1v">Démarche</h3>' in html
    filtered = text(client.get(f"/parcours/{world.pathway.id}?onglet=journal&type=call"))
    assert "Appel à la personne." in filtered and "Dossier FSL déposé." not in filtered
    assert "Journal filtré : notes de type « Appel » (1)" in filtered
    assert "CV mis à jour." not in filtered  # meetings are not notes


def test_a_note_type_is_checked(world: World, api) -> None:
    response = api(world.referent).post(f"/pathways/{world.pathway.id}/entries",
                                        json={"body": "x", "visibility": "team", "note_type": "rumeur"})
    assert response.status_code == 422 and "note_type" in response.get_json()["errors"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Beneficiary)) >= 1
