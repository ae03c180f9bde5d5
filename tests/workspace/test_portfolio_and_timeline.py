"""Caseload and timeline read models: right rows, right order, bounded query counts."""

from __future__ import annotations

from datetime import timedelta

from app import access
from app.extensions import db
from app.followup.models import AlertKind
from app.followup.scan import scan_follow_ups
from app.meetings import services as meetings
from app.meetings.models import MeetingStatus
from app.pathways import services
from app.pathways.models import Orientation, Stage, Visibility
from app.workspace.portfolio import CaseloadFilters, caseload
from app.workspace.timeline import timeline
from tests.queries import assert_num_queries
from tests.world import T0, World


def _people(referent, n: int, start=T0):
    for i in range(n):
        pathway = services.create_beneficiary(
            referent, {"first_name": f"Élise{i}", "last_name": f"Durand{i:03d}"}, referent=referent, now=start
        )
        if i % 3 == 0:
            services.orient(referent, pathway, Orientation.SOCIAL, now=start)
        if i % 4 == 0:
            meetings.log_meeting(
                referent,
                pathway,
                status=MeetingStatus.HELD,
                held_at=start + timedelta(days=1),
                next_at=start + timedelta(days=40),
                now=start + timedelta(days=1),
            )


def test_search_ignores_accents_and_case_and_finds_ids(world: World) -> None:
    services.create_beneficiary(
        world.referent,
        {"first_name": "Hélène", "last_name": "Lefèvre-Ségur", "france_travail_id": "1234567A"},
        referent=world.referent,
        now=T0,
    )
    for q in ("helene lefevre", "LEFÈVRE", "segur", "1234567a"):
        names = [r.beneficiary.last_name for r in caseload(world.referent, CaseloadFilters(q=q)).items]
        assert names == ["Lefèvre-Ségur"], q
    assert [r.beneficiary.first_name for r in caseload(world.referent, CaseloadFilters(q="1234567")).items] == ["Sarah"]


def test_most_urgent_first(world: World) -> None:
    _people(world.referent, 6)
    scan_follow_ups(T0 + timedelta(days=60))
    rows = caseload(world.referent, CaseloadFilters()).items
    with_alerts = [r for r in rows if r.alert_count]
    assert rows[: len(with_alerts)] == with_alerts
    dues = [r.first_due_at for r in with_alerts]
    assert dues == sorted(dues)
    assert all(r.alert_kinds for r in with_alerts)


def test_filters_and_scopes(world: World) -> None:
    _people(world.referent, 5)
    assert all(
        r.pathway.stage == Stage.SUPPORT for r in caseload(world.referent, CaseloadFilters(stage=Stage.SUPPORT)).items
    )
    # The CAF partner: nothing as referent, the pathway through the team tab.
    assert caseload(world.partner, CaseloadFilters(scope="mine")).total == 0
    team = caseload(world.partner, CaseloadFilters(scope="team")).items
    assert [r.pathway.id for r in team] == [world.pathway.id] and team[0].access == access.RecordAccess.SHARED
    # Outsiders and other territories: nothing at all.
    for user in (world.outsider, world.stranger, world.admin):
        assert caseload(user, CaseloadFilters(scope="all")).total == 0
    scan_follow_ups(T0 + timedelta(days=90))
    alerted = caseload(world.referent, CaseloadFilters(alert=AlertKind.ORIENTATION_LATE)).items
    assert alerted and all(AlertKind.ORIENTATION_LATE in r.alert_kinds for r in alerted)


def test_partner_without_consent_sees_the_row_as_existence_only(world: World) -> None:
    services.withdraw_consent(world.referent, world.pathway)
    (row,) = caseload(world.partner, CaseloadFilters(scope="team")).items
    assert row.access == access.RecordAccess.EXISTENCE
    # …and cannot learn who it is by searching a name or a number.
    for q in ("Benali", "Sarah", "1234567"):
        assert caseload(world.partner, CaseloadFilters(scope="team", q=q)).total == 0
    assert caseload(world.referent, CaseloadFilters(q="Benali")).total == 1


def test_rights_are_kept_at_creation(world: World) -> None:
    pathway = services.create_beneficiary(
        world.referent, {"first_name": "Ana", "last_name": "Diaz", "rights": ["rsa"]}, referent=world.referent, now=T0
    )
    assert pathway.beneficiary.rights == ["rsa"]


def test_caseload_query_count_does_not_grow(world: World) -> None:
    def measure() -> None:
        db.session.expire_all()
        # The same for 10 and 60 pathways (six times as many), on SQLite and PostgreSQL:
        # 1 the user (expired above: reloaded by id)
        # 2 the caseload's count (pagination)
        # 3 the page of pathways, with person, lead agency and referent (JOINs: no lazy load below)
        # 4 the unresolved alerts of the pathways on the page (one IN)
        # 5 which of them the user may read in full (one IN through the access filter)
        with assert_num_queries(5):
            page = caseload(world.referent, CaseloadFilters(), per_page=300)
            [
                (r.referent.full_name if r.referent else "", r.lead_agency.name, r.beneficiary.full_name)
                for r in page.items
            ]

    _people(world.referent, 9)
    measure()
    _people(world.referent, 50)
    assert caseload(world.referent, CaseloadFilters(), per_page=300).total == 60
    measure()


def test_timeline_merges_and_hides_what_the_user_may_not_see(world: World) -> None:
    services.assign_referent(
        world.referent, world.pathway, world.colleague, note="Passage de relais", now=T0 + timedelta(days=11)
    )
    referent_items = timeline(world.referent, world.pathway)
    partner_items = timeline(world.partner, world.pathway)
    kinds = {i.kind for i in referent_items}
    assert kinds == {"entry", "meeting", "barrier", "referent"}
    assert [i.at for i in referent_items] == sorted((i.at for i in referent_items), reverse=True)
    partner_text = " ".join(i.body or "" for i in partner_items)
    assert "Note du référent" not in partner_text and "Note FT" not in partner_text
    assert "Point sur la recherche de logement" not in partner_text  # agency-only meeting notes
    assert "CV mis à jour" in partner_text and "Note d'équipe" in partner_text
    assert "Passage de relais" not in partner_text
    assert timeline(world.outsider, world.pathway) == []
    assert any(i.visibility == Visibility.REFERENT for i in referent_items)


def test_timeline_query_count_does_not_grow(world: World) -> None:
    def add(n: int) -> None:
        for i in range(n):
            services.add_entry(
                world.referent, world.pathway, body=f"Note {i}", visibility=Visibility.TEAM, now=T0 + timedelta(days=10)
            )

    def measure() -> None:
        db.session.expire_all()
        # The same for 10 and 300 entries, on SQLite and PostgreSQL:
        # 1-2 the user and the pathway (expired above: reloaded by id)
        # 3 the journal entries the user may read, with their authors
        # 4 the meetings (cancelled left out), with who recorded them and their agencies
        # 5 the record's activity from the audit log, with actors and agencies
        # 6 the referent history, with who assigned each referent
        with assert_num_queries(6):
            timeline(world.referent, world.pathway, limit=1000)

    add(10)
    measure()
    add(290)
    assert len(timeline(world.referent, world.pathway, limit=1000)) >= 300
    measure()
