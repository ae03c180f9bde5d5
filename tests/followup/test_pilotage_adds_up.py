"""« Pilotage » adds up and says what it shows (issue 13, point 8): tiles equal their breakdown and
their list, the barriers CSV, « Filtré : … », the manager's landing page, and reassignment with a
required handover note, the new referent told, eligible referents with their caseload."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.barriers import services as barrier_services
from app.barriers.models import BarrierCategory
from app.db_types import utcnow
from app.extensions import db
from app.followup import pilotage
from app.followup.scan import scan_follow_ups
from app.notifications.services import send_pending_notifications
from app.pathways import services
from app.pathways.models import Pathway, ReferentAssignment
from tests.factories import UserFactory
from tests.web_helpers import field_error, login_as, text
from tests.world import T0, World

NOW = T0 + timedelta(days=120)


@pytest.fixture
def outbox(app, tmp_path: Path):
    previous = app.config["MAIL_OUTBOX_DIR"], app.config.get("MAIL_SERVER")
    app.config["MAIL_OUTBOX_DIR"], app.config["MAIL_SERVER"] = str(tmp_path), ""
    yield tmp_path
    app.config["MAIL_OUTBOX_DIR"], app.config["MAIL_SERVER"] = previous


def _lists(scope: pilotage.Scope) -> dict[str, object]:
    return {
        "suivis-en-retard": lambda f: pilotage.alert_list(scope, follow_ups_only=True),
        "alertes": lambda f: pilotage.alert_list(scope, kind=f and f.get("type") and pilotage.AlertKind(f["type"])),
        "sans-referent": lambda f: pilotage.caseload_list(scope, without_referent=True),
        "points-emploi": lambda f: pilotage.checkin_list(scope, NOW),
        "freins": lambda f: pilotage.barrier_list(
            scope, category=f and f.get("categorie") and BarrierCategory(f["categorie"])),
    }


def assert_tiles_add_up(scope: pilotage.Scope) -> None:
    """Each tile: its number = the sum of its breakdown = the rows of its list; each cell of a
    breakdown that links = the rows of its filtered list."""
    lists = _lists(scope)
    for tile in pilotage.dashboard(scope, NOW).tiles():
        assert tile.total == len(lists[tile.list_name](None)), tile.title
        if tile.breakdown is not None:
            assert tile.total == sum(part.n for part in tile.breakdown), tile.title
            for part in tile.breakdown:
                if part.filters:
                    assert part.n == len(lists[tile.breakdown_list](part.filters)), (tile.title, part.what)


@pytest.fixture
def busy(world: World) -> World:
    """Late pathways with and without referent, open barriers of two categories, then a scan."""
    for i in range(3):
        services.create_beneficiary(world.referent, {"first_name": f"P{i}", "last_name": "Retard"},
                                    referent=world.referent if i else None, now=NOW - timedelta(days=80))
    barrier_services.add_barrier(world.referent, world.pathway, category=BarrierCategory.HOUSING,
                                 title="Loyer", due_on=date(2026, 3, 1), now=NOW - timedelta(days=60))
    scan_follow_ups(NOW)
    return world


def test_every_tile_equals_its_breakdown_and_its_list(busy: World) -> None:
    for scope in (pilotage.Scope(busy.manager_cd), pilotage.Scope(busy.manager_ft),
                  pilotage.Scope(busy.manager_cd, referent_id=busy.referent.id)):
        assert_tiles_add_up(scope)
    tiles = {tile.list_name: tile for tile in pilotage.dashboard(pilotage.Scope(busy.manager_cd), NOW).tiles()}
    assert tiles["freins"].total == 2 and len(tiles["freins"].breakdown) == 2
    assert tiles["sans-referent"].total == 1 and tiles["suivis-en-retard"].total >= 1


def test_the_page_shows_the_breakdown_under_each_tile(client, busy: World) -> None:
    login_as(client, busy.manager_cd)
    html = text(client.get("/pilotage"))
    tile = html[html.index('id="tuile-freins"'):]
    tile = tile[:tile.index("</ul>")]
    assert "Logement : 1" in tile and "Mobilité : 1" in tile and "/pilotage/listes/freins?categorie=housing" in tile


def test_the_barriers_csv_has_category_status_due_date_and_owner(client, busy: World) -> None:
    login_as(client, busy.manager_cd)
    body = client.get("/pilotage/listes/freins.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body[1:]), delimiter=";"))
    assert rows[0] == ["Parcours", "Nom", "Prénom", "Étape", "Référent", "Structure référente",
                       "Frein", "Catégorie", "Statut", "Échéance", "Structure porteuse"]
    housing = next(row for row in rows[1:] if row[6] == "Loyer")
    assert housing[7:] == ["Logement", "À traiter", "01/03/2026", "FT Bobigny"]


def test_a_filtered_view_says_so_and_can_be_cleared(client, busy: World) -> None:
    login_as(client, busy.manager_cd)
    html = text(client.get(f"/pilotage?structure={busy.ft.id}&referent={busy.referent.id}"))
    assert f"Filtré : structure FT Bobigny, référent {busy.referent.full_name}." in html
    assert '<a href="/pilotage">Retirer les filtres</a>' in html
    assert "Filtré :" not in text(client.get("/pilotage"))
    html = text(client.get("/pilotage/listes/alertes?type=orientation_late"))
    assert "Filtré : Orientation en retard." in html and 'href="/pilotage/listes/alertes">Retirer' in html


def test_alert_lists_show_days_overdue_and_the_next_action(client, busy: World) -> None:
    login_as(client, busy.manager_cd)
    html = text(client.get("/pilotage/listes/alertes?type=no_referent"))
    orphan = db.session.scalar(sa.select(Pathway).where(Pathway.referent_id.is_(None)))
    assert f'href="/parcours/{orphan.id}/referent">Nommer un référent' in html
    assert re.search(r"\d+ jours de retard</span>", html)
    login_as(client, busy.manager_ft)  # the lead agency's manager acts on its own pathways
    html = text(client.get("/pilotage/listes/alertes?type=orientation_late"))
    assert "/orientation\">Orienter" in html


def test_the_manager_lands_on_pilotage(client, world: World) -> None:
    login_as(client, world.manager_ft)
    assert client.get("/").headers["Location"] == "/pilotage"
    login_as(client, world.partner)
    assert client.get("/").headers["Location"] == "/portefeuille"


def test_a_handover_needs_its_note_then_tells_the_new_referent(client, world: World, outbox: Path) -> None:
    login_as(client, world.referent)
    url = f"/parcours/{world.pathway.id}/referent"
    response = client.post(url, data={"user_id": str(world.colleague.id), "note": "  ",
                                      "version": world.pathway.version})
    assert response.status_code == 422
    assert field_error(text(response), "note").startswith("La note de passation est obligatoire")
    db.session.refresh(world.pathway)
    assert world.pathway.referent_id == world.referent.id and not list(outbox.glob("*.eml"))

    response = client.post(url, data={"user_id": str(world.colleague.id), "note": "RDV CAF le 12.",
                                      "version": world.pathway.version})
    assert response.status_code == 302
    db.session.refresh(world.pathway)
    assert world.pathway.referent_id == world.colleague.id
    assert db.session.scalar(sa.select(ReferentAssignment.note).where(
        ReferentAssignment.pathway_id == world.pathway.id, ReferentAssignment.ended_at.is_(None))) == "RDV CAF le 12."
    assert not list(outbox.glob("*.eml"))  # recorded in the handover's transaction, sent by the job
    send_pending_notifications(utcnow())
    messages = {str(m["To"]): m for m in (email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                                          for p in outbox.glob("*.eml"))}
    told = messages["collegue@ft.test"]
    body = told.get_body(("plain",)).get_content()
    html = told.get_body(("html",)).get_content()
    assert "vous est confié" in told["Subject"] and "RDV CAF" not in body and "RDV CAF" not in html
    assert "La note de passation vous attend" in body


def test_naming_a_first_referent_needs_no_note(client, world: World) -> None:
    orphan = services.create_beneficiary(world.referent, {"first_name": "Léa", "last_name": "Sans"}, now=NOW)
    login_as(client, world.referent)
    response = client.post(f"/parcours/{orphan.id}/referent",
                           data={"user_id": str(world.colleague.id), "version": orphan.version})
    assert response.status_code == 302


def test_pilotage_reassignment_without_a_note_changes_nothing(client, world: World) -> None:
    login_as(client, world.manager_cd)
    response = client.post(f"/pilotage/parcours/{world.pathway.id}/referent",
                           data={"referent_id": str(world.colleague.id)}, follow_redirects=True)
    assert "La note de passation est obligatoire" in text(response)
    db.session.refresh(world.pathway)
    assert world.pathway.referent_id == world.referent.id


def test_the_picker_lists_eligible_referents_with_their_caseload(client, world: World) -> None:
    UserFactory(agency=world.ft, first_name="Inès", last_name="Partie", is_active_account=False)
    login_as(client, world.manager_cd)
    html = text(client.get(f"/parcours/{world.pathway.id}/referent?retour=/pilotage/listes/alertes"))
    picker = html[html.index('name="user_id"'):]
    picker = picker[:picker.index("</select>")]
    assert f"{world.colleague.first_name} {world.colleague.last_name} — FT Bobigny (aucun parcours suivi)" in picker
    assert f"{world.referent.first_name} {world.referent.last_name}" not in picker  # the current referent
    assert "Partie" not in picker  # inactive
    assert f"{world.manager_cd.first_name} {world.manager_cd.last_name} —" not in picker  # never to oneself
    assert 'name="retour" value="/pilotage/listes/alertes"' in html
    response = client.post(f"/parcours/{world.pathway.id}/referent",
                           data={"user_id": str(world.colleague.id), "note": "Relais.",
                                 "retour": "/pilotage/listes/alertes", "version": world.pathway.version})
    assert response.status_code == 302, text(response)[text(response).find("fr-alert"):][:800]
    assert response.headers["Location"] == "/pilotage/listes/alertes"
    counts = pilotage.caseload_counts([world.colleague.id, world.referent.id])
    assert counts == {world.colleague.id: 1, world.referent.id: 0}
