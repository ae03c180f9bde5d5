"""« Mes alertes » you can act on: days overdue, the next action as a link, a partner's unanswered
requests, and when the alerts were computed (issue 13, points 2, 4 and 10)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from app.barriers import services as barrier_services
from app.extensions import db
from app.followup import queries
from app.followup.models import Alert, AlertKind, AlertStatus
from app.followup.scan import scan_follow_ups
from app.pathways.models import Pathway
from tests.world import World, build_world

NOW = datetime.now(timezone.utc)


def _alerts(client) -> str:
    """The table of « Mes alertes » (not the filter's options, which name every kind)."""
    page = client.get("/alertes").get_data(as_text=True)
    return page[page.index("<tbody>"):page.index("</tbody>")]


def _unanswered(world: World, agency_id: int, *, days: int = 15):
    """A referral sent `days` ago to `agency_id`, and the scan run now."""
    referral = barrier_services.refer_barrier(
        world.referent, world.barrier, agency_id=agency_id, message="Aide au permis ?",
        now=NOW - timedelta(days=days),
    )
    scan_follow_ups(NOW)
    return referral


def test_partner_sees_unanswered_request_with_its_age_and_the_answer_link(client, login_as, world: World) -> None:
    referral = _unanswered(world, world.caf.id)
    login_as(world.partner)
    page = _alerts(client)
    assert "Orientation de frein sans réponse" in page
    assert "Sarah Benali" in page  # consent on file: the person is named
    assert f'href="/orientations/{referral.id}/reponse"' in page and "Répondre à la demande" in page
    assert "5 jours" in page  # 15 days ago, a 10-day delay: 5 days overdue
    assert "Marquer comme vue" not in page  # the lead agency acknowledges, not the partner


def test_referent_sees_the_same_alert_with_a_link_to_the_record(client, login_as, world: World) -> None:
    _unanswered(world, world.caf.id)
    login_as(world.referent)
    page = _alerts(client)
    assert "Orientation de frein sans réponse" in page
    assert f'href="/parcours/{world.pathway.id}?onglet=freins"' in page and "Voir l&#39;orientation" in page


def test_other_agencies_do_not_see_a_request_sent_elsewhere(client, login_as, world: World) -> None:
    _unanswered(world, world.ccas.id)  # sent to the CCAS, not to the CAF
    login_as(world.partner)
    assert "Orientation de frein sans réponse" not in _alerts(client)
    login_as(world.stranger)
    assert "Orientation de frein sans réponse" not in _alerts(client)
    login_as(world.outsider)  # the CCAS was asked: it sees it (existence is enough to be asked)
    assert "Orientation de frein sans réponse" in _alerts(client)


def test_an_answered_request_leaves_the_partners_alerts(client, login_as, world: World) -> None:
    referral = _unanswered(world, world.caf.id)
    barrier_services.answer_referral(world.partner, referral, accept=True)
    login_as(world.partner)
    assert "Orientation de frein sans réponse" not in _alerts(client)


def test_without_consent_the_partner_sees_the_request_not_the_person(client, login_as) -> None:
    world = build_world(consent=False)
    referral = _unanswered(world, world.caf.id)
    rows = queries.my_alerts(world.partner, now=NOW)
    assert [row.as_partner for row in rows] == [True] and rows[0].person is None
    login_as(world.partner)
    page = _alerts(client)
    assert "Benali" not in page and f"Parcours n° {world.pathway.id}" in page
    assert f"/orientations/{referral.id}/reponse" in page


def test_every_kind_has_a_next_action() -> None:
    for kind in AlertKind:
        alert = Alert(pathway_id=7, kind=kind, subject_key="", due_at=NOW)
        action = queries.next_action(alert)
        assert action is not None and action.label, kind
    barrier = Alert(pathway_id=7, kind=AlertKind.BARRIER_OVERDUE, subject_key="barrier:12", due_at=NOW)
    assert queries.next_action(barrier).args == {"barrier_id": 12}
    overdue = Alert(pathway_id=7, kind=AlertKind.FOLLOW_UP_OVERDUE, subject_key="", due_at=NOW)
    assert queries.next_action(overdue).label == "Planifier un rendez-vous"


def test_days_overdue_counts_paris_days() -> None:
    alert = Alert(pathway_id=1, kind=AlertKind.NO_REFERENT, due_at=datetime(2026, 3, 1, 23, 30, tzinfo=timezone.utc))
    # 00:30 in Paris on 2 March: due that day
    assert queries.days_overdue(alert, datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)) == 0
    assert queries.days_overdue(alert, datetime(2026, 3, 5, 8, 0, tzinfo=timezone.utc)) == 3


def test_pages_say_when_alerts_were_computed(client, login_as, world: World) -> None:
    login_as(world.referent)
    assert "pas encore été calculées" in client.get("/alertes").get_data(as_text=True)
    at = datetime(2026, 12, 2, 7, 15, tzinfo=timezone.utc)  # 08:15 in Paris
    scan_follow_ups(at)
    assert "Alertes calculées le 2 décembre 2026 à 08:15" in client.get("/alertes").get_data(as_text=True)
    assert "Alertes calculées le 2 décembre 2026 à 08:15" in client.get("/portefeuille").get_data(as_text=True)
    login_as(world.manager_cd)
    assert "Alertes calculées le 2 décembre 2026 à 08:15" in client.get("/pilotage").get_data(as_text=True)


def test_my_alerts_is_bounded(world: World) -> None:
    _unanswered(world, world.caf.id)
    assert len(queries.my_alerts(world.referent, now=NOW, limit=1)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Alert).join(Pathway).where(
        Alert.status != AlertStatus.RESOLVED)) > 1


def test_a_partners_late_requests_are_found_across_batches_oldest_first(world: World, monkeypatch) -> None:
    """The requests sent to the agency are walked oldest first in batches; a pending request without
    an alert (its pathway closed, or not late yet) is skipped, and the walk goes on to the next
    batch until `limit` late ones are found, in deadline order."""
    from tests.factories import BarrierFactory, PathwayFactory, ReferralFactory

    monkeypatch.setattr(queries, "REQUEST_BATCH", 1)  # batches of `limit` requests
    expected: list[str] = []
    closed = PathwayFactory(referent=world.partner, lead_agency=world.caf, closed=True)  # the CAF leads it
    for days, on_closed in ((40, True), (30, False), (28, True), (25, False), (22, True), (20, False),
                            (15, False), (3, False)):  # 3 days: not late (10-day delay)
        if on_closed:
            ReferralFactory(barrier=BarrierFactory(pathway=closed), agency=world.caf,
                            sent_at=NOW - timedelta(days=days))
            continue
        referral = barrier_services.refer_barrier(world.referent, BarrierFactory(pathway=world.pathway),
                                                  agency_id=world.caf.id, message="Aide ?",
                                                  now=NOW - timedelta(days=days))
        if days > 10:
            expected.append(f"referral:{referral.id}")
    scan_follow_ups(NOW)
    for limit in (1, 2, 3, 4, 10):
        rows = queries.my_alerts(world.partner, now=NOW, limit=limit)
        assert [row.alert.subject_key for row in rows] == expected[:limit], limit
        assert [row.alert.due_at for row in rows] == sorted(row.alert.due_at for row in rows)
