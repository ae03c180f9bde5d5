"""Finding 6: every read that shows a person is audited — searches and lists (web and API), the
action forms that show identity, the barrier form, alerts, the agenda and its ICS feed. Who, when,
what, and which pathways were shown; never a note, never the text typed in a search box."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.db_types import utcnow
from app.extensions import db
from app.meetings import calendar
from app.meetings import services as meetings
from tests.web_helpers import login_as
from tests.world import World


def _events(user, action: str) -> list[AuditEvent]:
    return list(db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.actor_id == user.id, AuditEvent.action == action)
        .order_by(AuditEvent.id)
    ))


def test_a_web_search_is_audited_with_the_people_it_showed(client, world: World) -> None:
    login_as(client, world.referent)
    assert client.get("/portefeuille?q=benali").status_code == 200
    [event] = _events(world.referent, "pathway.search")
    assert event.details["pathway_ids"] == [world.pathway.id]
    assert event.details["filters"] == ["q"]
    assert "benali" not in str(event.details).lower()


def test_the_portfolio_list_is_audited(client, world: World) -> None:
    login_as(client, world.referent)
    client.get("/portefeuille")
    [event] = _events(world.referent, "pathway.list")
    assert event.details["pathway_ids"] == [world.pathway.id] and event.details["list"] == "portfolio.moi"


def test_an_api_search_is_audited(api, world: World) -> None:
    assert api(world.referent).get("/beneficiaries?q=benali").status_code == 200
    [event] = _events(world.referent, "pathway.search")
    assert event.details["pathway_ids"] == [world.pathway.id] and event.details["list"] == "api.beneficiaries"


def test_action_forms_and_the_barrier_form_are_audited(client, world: World) -> None:
    login_as(client, world.referent)
    assert client.get(f"/parcours/{world.pathway.id}/orientation").status_code == 200
    assert client.get(f"/freins/{world.barrier.id}/modifier").status_code == 200
    assert client.get(f"/parcours/{world.pathway.id}/entretien").status_code == 200
    actions = {e.action for e in db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.actor_id == world.referent.id, AuditEvent.pathway_id == world.pathway.id))}
    assert {"pathway.read.form.pathways.orient", "pathway.read.form.barriers.update_barrier",
            "pathway.read.form.meetings.log_meeting"} <= actions


def test_api_alert_lists_are_audited(api, world: World) -> None:
    assert api(world.referent).get("/alerts").status_code == 200
    [event] = _events(world.referent, "alert.list")
    assert event.details["list"] == "api.alerts"


def test_the_agenda_and_each_ics_fetch_are_audited(client, world: World) -> None:
    meetings.plan_meeting(world.referent, world.pathway, scheduled_at=utcnow() + timedelta(days=2))
    token = calendar.issue_calendar_token(world.referent)
    assert client.get(f"/agenda/{token}.ics").status_code == 200
    assert client.get(f"/agenda/{token}.ics").status_code == 200
    fetches = _events(world.referent, "meeting.list")
    assert [e.details["list"] for e in fetches] == ["ics", "ics"]
    assert fetches[0].details["pathway_ids"] == [world.pathway.id]
    login_as(client, world.referent)
    client.get("/agenda")
    assert _events(world.referent, "meeting.list")[-1].details["list"] == "agenda"


def test_the_pending_requests_of_the_portfolio_are_audited_too(client, world: World) -> None:
    from app.barriers import services as barriers

    barriers.refer_barrier(world.referent, world.barrier, agency_id=world.ccas.id)  # CCAS: not in the team before
    login_as(client, world.outsider)
    client.get("/portefeuille")
    [event] = _events(world.outsider, "pathway.list")
    assert world.pathway.id in event.details["pathway_ids"]
