"""« Mes alertes » and « Pilotage » over real HTTP."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from markupsafe import escape

from app.accounts.models import Role
from app.extensions import db
from app.followup.models import Alert, AlertKind, AlertStatus
from app.followup.scan import scan_follow_ups
from app.pathways import services
from app.pathways.models import Pathway
from tests.factories import UserFactory
from tests.queries import assert_num_queries
from tests.world import T0, World

NOW = datetime.now(timezone.utc)


@pytest.fixture
def alerted(world: World) -> World:
    """The world's pathway, plus a person waiting for orientation since long: alerts raised now."""
    services.create_beneficiary(
        world.referent,
        {"first_name": "Thibault", "last_name": "Roux"},
        referent=world.referent,
        now=NOW - timedelta(days=100),
    )
    scan_follow_ups(NOW)
    return world


def test_my_alerts_lists_my_alerts_and_acknowledges(client, login_as, alerted: World) -> None:
    login_as(alerted.referent)
    page = client.get("/alertes").get_data(as_text=True)
    assert "Thibault Roux" in page and "Orientation en retard".lower() in page.lower()
    alert = db.session.scalar(
        sa.select(Alert).where(Alert.kind == AlertKind.ORIENTATION_LATE, Alert.status != AlertStatus.RESOLVED)
    )
    response = client.post(f"/alertes/{alert.id}/vue")
    assert response.status_code == 302
    db.session.refresh(alert)
    assert alert.status == AlertStatus.ACKNOWLEDGED
    assert "Vue le" in client.get("/alertes").get_data(as_text=True)


@pytest.mark.parametrize("who", ["stranger", "outsider", "partner"])
def test_others_cannot_acknowledge(client, login_as, alerted: World, who: str) -> None:
    alert = db.session.scalar(
        sa.select(Alert).where(Alert.kind == AlertKind.ORIENTATION_LATE, Alert.status != AlertStatus.RESOLVED)
    )
    login_as(alerted.users()[who])
    assert client.post(f"/alertes/{alert.id}/vue").status_code == 404
    # The alert's record is not linked from their « Mes alertes » (a name would be flaky: the page's
    # header shows the signed-in user's own name, which the factory may draw equal to the referent's).
    assert f"/parcours/{alert.pathway_id}" not in client.get("/alertes").get_data(as_text=True) or who == "partner"
    db.session.refresh(alert)
    assert alert.status == AlertStatus.OPEN


@pytest.mark.parametrize("who", ["referent", "partner", "admin"])
def test_pilotage_is_for_managers(client, login_as, alerted: World, who: str) -> None:
    login_as(alerted.users()[who])
    assert client.get("/pilotage").status_code == 403
    assert client.get("/pilotage/indicateurs").status_code == 403
    assert client.get("/pilotage/listes/alertes.csv").status_code == 403


def test_manager_of_the_agency_sees_its_overdue_follow_ups(client, login_as, alerted: World) -> None:
    login_as(alerted.manager_ft)
    page = client.get("/pilotage").get_data(as_text=True)
    assert alerted.referent.full_name in page
    assert "Orientation en retard".lower() in page.lower()
    listing = client.get(f"/pilotage/listes/alertes?type=orientation_late&referent={alerted.referent.id}").get_data(
        as_text=True
    )
    assert "Thibault Roux" in listing


def test_csv_export_of_a_list(client, login_as, alerted: World) -> None:
    login_as(alerted.manager_cd)
    response = client.get("/pilotage/listes/portefeuilles.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:3] == ["Parcours", "Nom", "Prénom"]
    assert {"Roux", "Benali"} <= {r[1] for r in rows[1:]}


def test_a_manager_of_another_territory_sees_nothing(client, login_as, alerted: World) -> None:
    from app.accounts.models import Role
    from tests.factories import UserFactory

    other_manager = UserFactory(agency=alerted.stranger.agency, role=Role.MANAGER)
    login_as(other_manager)
    page = client.get("/pilotage").get_data(as_text=True)
    assert "Thibault Roux" not in page and alerted.referent.full_name not in page
    rows = client.get("/pilotage/listes/portefeuilles.csv").get_data(as_text=True).splitlines()
    assert len(rows) == 1  # the header only
    pathway = db.session.scalar(sa.select(Pathway).limit(1))
    assert (
        client.post(f"/pilotage/parcours/{pathway.id}/referent", data={"referent_id": other_manager.id}).status_code
        == 404
    )


def test_an_agency_filter_outside_the_scope_is_ignored(client, login_as, alerted: World) -> None:
    login_as(alerted.manager_ft)
    page = client.get(f"/pilotage?structure={alerted.stranger.agency_id}").get_data(as_text=True)
    assert alerted.referent.full_name in page  # the filter was dropped, not applied to another territory


def test_reassign_from_pilotage(client, login_as, alerted: World) -> None:
    login_as(alerted.manager_cd)
    response = client.post(
        f"/pilotage/parcours/{alerted.pathway.id}/referent",
        data={"referent_id": alerted.colleague.id, "note": "Dossier à jour.", "next": "/pilotage"},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/pilotage"
    db.session.refresh(alerted.pathway)
    assert alerted.pathway.referent_id == alerted.colleague.id


def test_pilotage_query_count_does_not_grow_with_pathways(client, login_as, world: World) -> None:
    def add(n: int) -> None:
        for i in range(n):
            pathway = services.create_beneficiary(
                world.referent,
                {"first_name": f"P{i}", "last_name": "Nom"},
                referent=world.referent if i % 2 else None,
                now=T0,
            )
            if i % 3 == 0:
                services.add_entry(world.referent, pathway, body="x", visibility="team", now=T0)
        scan_follow_ups(NOW)

    login_as(world.manager_cd)

    def measure() -> None:
        # The same for 10 and 60 pathways, on SQLite and PostgreSQL:
        # 1 the user and their session (Flask-Login's loader, one JOIN)
        # 2 the manager's agency
        # 3 how many active professionals and managers are in scope, counted up to
        #   REFERENT_CHOICES + 1 (the referent filter: a list, or a search by name beyond)
        # 4 them, for the list (a small scope; a large one skips this read)
        # 5 the steering counters' totals of the scope (alerts by kind, pathways by stage, open
        #   barriers by category, and the « sans référent » row): one GROUP BY in the database
        # 6 the REFERENT_ROWS referents with the most alerts and with the largest caseloads (one UNION)
        # 7 their counters, 8 those referents (one IN each)
        # 9 check-ins of the employed due this month (a count)
        # 10 the territory's agencies (the filter's choices)
        # 11 when the alerts were last computed (the territory's scan state)
        # (the legal indicators count a year of pathways: their own page, /pilotage/indicateurs)
        with assert_num_queries(11):
            assert client.get("/pilotage").status_code == 200

    add(10)
    measure()
    add(50)
    measure()


def test_the_legal_indicators_have_their_own_page_within_the_managers_scope(client, login_as, alerted: World) -> None:
    """« Pilotage » links to them with its filters; a manager of another territory counts her own
    territory only, whatever agency id she puts in the address."""
    from app.followup import pilotage

    login_as(alerted.manager_cd)
    dashboard = client.get(f"/pilotage?structure={alerted.ft.id}").get_data(as_text=True)
    assert f"/pilotage/indicateurs?structure={alerted.ft.id}" in dashboard
    page = client.get(f"/pilotage/indicateurs?structure={alerted.ft.id}").get_data(as_text=True)
    orientation, contract = pilotage.legal_indicators(pilotage.Scope(alerted.manager_cd, agency_id=alerted.ft.id),
                                                      NOW)
    assert escape(orientation.label) in page and escape(contract.label) in page
    assert "Filtré : structure " + alerted.ft.name in page
    assert f"({orientation.numerator} sur {orientation.denominator})" in page

    outsider = UserFactory(agency=alerted.stranger.agency, role=Role.MANAGER, email="resp@ft94.test")
    login_as(outsider)
    theirs = client.get(f"/pilotage/indicateurs?structure={alerted.ft.id}")
    assert theirs.status_code == 200
    text = theirs.get_data(as_text=True)
    assert alerted.ft.name not in text and "Filtré" not in text  # another territory's agency: ignored
    mine, _ = pilotage.legal_indicators(pilotage.Scope(outsider), NOW)
    assert mine.denominator < orientation.denominator or mine.percent is None
