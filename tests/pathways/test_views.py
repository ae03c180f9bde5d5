"""The workspace through the test client: portfolio, record, person creation, forms' behaviour."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.barriers.models import Barrier
from app.db_types import utcnow
from app.extensions import db
from app.followup.models import AlertKind
from app.pathways.models import Beneficiary, Pathway
from tests.db_helpers import open_alert
from tests.web_helpers import csrf_token, field_error, login_as, text
from tests.world import World, build_world


@pytest.fixture
def csrf_enabled(app):
    previous = app.config["WTF_CSRF_ENABLED"]
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = previous


# --- home and portfolio ----------------------------------------------------------------------------


def test_home_redirects_professionals_to_their_portfolio(client, world: World) -> None:
    login_as(client, world.referent)
    assert client.get("/").headers["Location"] == "/portefeuille"
    login_as(client, world.admin)
    assert client.get("/").headers["Location"] == "/administration/"  # « Comptes et paramètres »


def test_portfolio_lists_my_people_with_french_alert_badges(client, world: World) -> None:
    open_alert(world.pathway, AlertKind.FOLLOW_UP_OVERDUE, due_at=utcnow() - timedelta(days=3))
    db.session.commit()
    login_as(client, world.referent)
    html = text(client.get("/portefeuille"))
    assert "BENALI Sarah" in html
    assert '<p class="fr-badge fr-badge--sm fr-badge--warning">Suivi en retard</p>' in html


@pytest.mark.parametrize("query", ["benali", "BÉNALI", "sarah ben", "1234567"])
def test_portfolio_search_is_accent_insensitive_and_finds_caf_numbers(
    client, world: World, query: str
) -> None:
    login_as(client, world.referent)
    assert "BENALI Sarah" in text(client.get("/portefeuille", query_string={"q": query}))


def test_portfolio_filters_and_no_match(client, world: World) -> None:
    login_as(client, world.referent)
    assert "BENALI Sarah" in text(client.get("/portefeuille?etape=support"))
    html = text(client.get("/portefeuille?etape=intake"))
    assert "BENALI Sarah" not in html and "Aucune personne ne correspond" in html
    assert "BENALI Sarah" not in text(client.get("/portefeuille?alerte=no_referent"))


def test_partner_tab_lists_team_pathways_and_pending_referrals(client, world: World) -> None:
    from app.barriers import services as barrier_services

    barrier_services.refer_barrier(world.referent, world.barrier, agency_id=world.caf.id)
    login_as(client, world.partner)
    assert "BENALI" not in text(client.get("/portefeuille?onglet=moi"))  # not its referent
    html = text(client.get("/portefeuille?onglet=structure"))
    assert "BENALI Sarah" in html
    assert "Demandes en attente" in html and "Pas de permis" in html and "Répondre" in html


def test_partner_without_consent_sees_only_existence_and_referent(client) -> None:
    from app.barriers import services as barrier_services

    world = build_world(consent=False)
    barrier_services.refer_barrier(world.referent, world.barrier, agency_id=world.caf.id)
    login_as(client, world.partner)
    html = text(client.get("/portefeuille?onglet=structure"))
    assert f"Parcours n° {world.pathway.id}" in html and "Identité masquée" in html
    assert "Benali" not in html and "BENALI" not in html and "Pas de permis" not in html
    record = client.get(f"/parcours/{world.pathway.id}")
    assert record.status_code == 200
    html = text(record)
    assert "Benali" not in html and "BENALI" not in html and "Sarah" not in html
    assert world.referent.full_name in html and "Dossier non partagé" in html


# --- the record -------------------------------------------------------------------------------------


def test_record_shows_everything_to_the_referent_and_audits_the_read(client, world: World) -> None:
    login_as(client, world.referent)
    html = text(client.get(f"/parcours/{world.pathway.id}"))
    for expected in (
        "Sarah BENALI",
        "Saisir un entretien",
        "Ajouter un frein",
        "Pas de permis",
        "Note du référent.",
        "Note FT.",
        "Point sur la recherche de logement.",
        "Visible : Référent uniquement",
        "Consentement au partage",
    ):
        assert expected in html, expected
    reads = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "pathway.read.record", AuditEvent.actor_id == world.referent.id)
    )
    assert reads == 1


def test_partner_reads_the_record_without_private_notes_nor_lead_actions(client, world: World) -> None:
    login_as(client, world.partner)
    response = client.get(f"/parcours/{world.pathway.id}?onglet=journal")
    html = text(response)
    assert response.status_code == 200
    assert "Note d'équipe." in html and "CV mis à jour." in html and "Note CAF." in html
    for hidden in ("Note du référent.", "Note FT.", "Point sur la recherche de logement."):
        assert hidden not in html
    assert "Saisir un entretien" not in html and "Ajouter un frein" not in html
    assert "Ajouter une note" in html  # partners write their own entries
    assert client.get(f"/parcours/{world.pathway.id}/entretien").status_code == 403


def test_unknown_record_is_404(client, world: World) -> None:
    login_as(client, world.referent)
    assert client.get("/parcours/999999").status_code == 404


# --- creating a person ------------------------------------------------------------------------------


def _count_people() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Beneficiary))


def test_create_person_refuses_bad_input_in_french_next_to_the_field(client, world: World) -> None:
    login_as(client, world.referent)
    before = _count_people()
    response = client.post(
        "/personnes/nouvelle",
        data={"first_name": "Léa", "last_name": "", "caf_number": "12AB", "email": "pas-une-adresse"},
    )
    html = text(response)
    assert response.status_code == 422
    assert field_error(html, "last_name") == "Ce champ est obligatoire."
    assert field_error(html, "caf_number") == "Le numéro allocataire CAF compte 7 chiffres."
    assert field_error(html, "email") == "Adresse électronique invalide."
    assert "fr-input-group--error" in html and 'id="erreurs-formulaire"' in html
    assert 'href="#champ-last_name">Nom : Ce champ est obligatoire.' in html  # summary at the top
    assert 'value="Léa"' in html and 'value="12AB"' in html  # what was typed is kept
    assert _count_people() == before  # nothing written


def test_create_person_warns_of_duplicates_then_creates_on_confirmation(client, world: World) -> None:
    login_as(client, world.colleague)
    data = {"first_name": "Sara", "last_name": "Autre", "caf_number": "1234567"}
    before = _count_people()
    html = text(client.post("/personnes/nouvelle", data=data))
    assert "Cette personne a peut-être déjà un dossier dans le territoire" in html
    assert "Sarah Benali" in html and "même numéro allocataire CAF" in html  # shared with colleague's agency
    assert "Créer quand même" in html and _count_people() == before
    response = client.post("/personnes/nouvelle", data={**data, "confirm": "1", "become_referent": "1"})
    assert response.status_code == 422 and _count_people() == before  # « Créer quand même » asks why
    response = client.post("/personnes/nouvelle", data={**data, "confirm": "1", "become_referent": "1",
                                                         "duplicate_reason": "Numéro CAF mal recopié."})
    assert response.status_code == 302
    assert _count_people() == before + 1
    pathway = db.session.scalar(sa.select(Pathway).order_by(Pathway.id.desc()).limit(1))
    assert pathway.referent_id == world.colleague.id
    assert response.headers["Location"].startswith(f"/parcours/{pathway.id}")


def test_duplicate_warning_does_not_name_people_of_unshared_records(client, world: World) -> None:
    login_as(client, world.outsider)
    html = text(
        client.post(
            "/personnes/nouvelle", data={"first_name": "X", "last_name": "Y", "caf_number": "1234567"}
        )
    )
    assert "Cette personne a peut-être déjà un dossier dans le territoire" in html
    assert "Benali" not in html and "dossier n'est pas partagé avec votre structure" in html
    assert "porté par FT Bobigny" in html


# --- forms: stale versions, CSRF, conflicts ----------------------------------------------------------


def test_stale_barrier_edit_is_refused_with_a_conflict_message(client, world: World) -> None:
    login_as(client, world.referent)
    barrier_id, seen = world.barrier.id, world.barrier.version
    form = {
        "category": "mobility",
        "title": "Permis B en cours",
        "owner_agency_id": str(world.ft.id),
        "status": "in_progress",
        "version": str(seen),
    }
    assert client.post(f"/freins/{barrier_id}/modifier", data=form).status_code == 302
    response = client.post(
        f"/freins/{barrier_id}/modifier", data={**form, "title": "Écrasement", "version": str(seen)}
    )
    html = text(response)
    assert response.status_code == 409
    assert "modifiées par quelqu'un d'autre pendant votre saisie" in html
    assert 'value="Écrasement"' in html  # the typed value is kept
    db.session.expire_all()
    assert db.session.get(Barrier, barrier_id).title == "Permis B en cours"


def test_conflict_is_shown_on_the_form(client, world: World) -> None:
    login_as(client, world.referent)
    response = client.post(f"/parcours/{world.pathway.id}/consentement", data={"method": "oral"})
    assert response.status_code == 409
    assert "Un consentement est déjà enregistré pour ce parcours." in text(response)


@pytest.mark.usefixtures("csrf_enabled")
def test_csrf_token_is_required(client, world: World) -> None:
    token = csrf_token(client, "/connexion")
    from tests.factories import PASSWORD

    client.post("/connexion", data={"email": world.referent.email, "password": PASSWORD, "csrf_token": token})
    url = f"/parcours/{world.pathway.id}/journal"
    forged = client.post(url, data={"body": "Sans jeton", "visibility": "team"})
    assert forged.status_code == 400
    assert "Le formulaire a expiré" in text(forged)
    token = csrf_token(client, url)
    assert (
        client.post(url, data={"body": "Avec jeton", "visibility": "team", "csrf_token": token}).status_code
        == 302
    )


def test_journal_entry_and_team_actions(client, world: World) -> None:
    login_as(client, world.referent)
    response = client.post(f"/parcours/{world.pathway.id}/journal", data={"body": "", "visibility": "team"})
    assert response.status_code == 422
    assert field_error(text(response), "body") == "Ce champ est obligatoire."
    response = client.post(
        f"/parcours/{world.pathway.id}/journal",
        data={"body": "Appel CAF fait.", "visibility": "team"},
        follow_redirects=True,
    )
    assert "La note est ajoutée au journal." in text(response) and "Appel CAF fait." in text(response)
    response = client.post(
        f"/parcours/{world.pathway.id}/equipe", data={"agency_id": str(world.ccas.id)}, follow_redirects=True
    )
    assert "La structure rejoint l'équipe de suivi." in text(response)


def test_hand_over_and_close(client, world: World) -> None:
    login_as(client, world.referent)
    url = f"/parcours/{world.pathway.id}/referent"
    assert world.colleague.full_name in text(client.get(url))
    response = client.post(
        url,
        data={
            "user_id": str(world.colleague.id),
            "note": "Dossier CAF en cours.",
            "version": str(world.pathway.version),
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Pathway, world.pathway.id).referent_id == world.colleague.id
    response = client.post(f"/parcours/{world.pathway.id}/cloture", data={"reason": ""})
    assert (
        response.status_code == 422 and field_error(text(response), "reason") == "Ce champ est obligatoire."
    )
    response = client.post(f"/parcours/{world.pathway.id}/cloture", data={"reason": "moved_away"})
    assert response.status_code == 302
