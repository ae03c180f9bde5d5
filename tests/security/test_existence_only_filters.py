"""Finding 4: a partner who may only know that a pathway exists (no consent on file) learns nothing
more by filtering: stage, alert and closure filters never tell such pathways apart."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app.followup.models import AlertKind
from app.pathways import services as pathways
from app.pathways.models import ClosureReason, Stage
from app.workspace.portfolio import CaseloadFilters, caseload
from tests.db_helpers import open_alert
from tests.web_helpers import login_as
from tests.world import T0, World, build_world

NOW = T0 + timedelta(days=12)


@pytest.fixture
def no_consent() -> World:
    return build_world(consent=False)


def _ids(user, **filters) -> list[int]:
    return [row.pathway.id for row in caseload(user, CaseloadFilters(scope="all", **filters)).items]


def test_stage_filters_do_not_reveal_the_stage(no_consent: World) -> None:
    w = no_consent
    stage = w.pathway.stage
    other = next(s for s in (Stage.INTAKE, Stage.DIAGNOSIS, Stage.SUPPORT) if s != stage)
    assert _ids(w.partner) == [w.pathway.id]  # she knows it exists
    assert _ids(w.partner, stage=stage) == _ids(w.partner, stage=other) == []
    assert _ids(w.referent, stage=stage) == [w.pathway.id]  # the lead agency still filters


def test_alert_filters_do_not_reveal_alerts(no_consent: World) -> None:
    w = no_consent
    open_alert(w.pathway, AlertKind.FOLLOW_UP_OVERDUE, due_at=NOW)
    assert _ids(w.partner, alert=AlertKind.FOLLOW_UP_OVERDUE) == []
    assert _ids(w.partner, alert=AlertKind.BARRIER_OVERDUE) == []
    assert _ids(w.partner, only_alerts=True) == []
    assert _ids(w.referent, alert=AlertKind.FOLLOW_UP_OVERDUE) == [w.pathway.id]


def test_closing_does_not_make_the_pathway_disappear_for_her(no_consent: World) -> None:
    w = no_consent
    pathways.close_pathway(w.referent, w.pathway, reason=ClosureReason.MOVED_AWAY, now=NOW)
    assert _ids(w.partner) == _ids(w.partner, include_closed=True) == [w.pathway.id]
    assert _ids(w.referent) == []  # the lead agency's default list hides closed pathways


def test_the_api_and_the_portfolio_filter_the_same_way(api, client, no_consent: World) -> None:
    w = no_consent
    stage = w.pathway.stage.value
    listed = api(w.partner).get(f"/beneficiaries?stage={stage}").get_json()
    assert listed["items"] == []
    unfiltered = api(w.partner).get("/beneficiaries").get_json()
    assert [item["pathway_id"] for item in unfiltered["items"]] == [w.pathway.id]
    login_as(client, w.partner)
    page = client.get(f"/portefeuille?onglet=structure&etape={stage}").get_data(as_text=True)
    assert f"Parcours n° {w.pathway.id}" not in page
    page = client.get("/portefeuille?onglet=structure").get_data(as_text=True)
    assert f"Parcours n° {w.pathway.id}" in page
