"""« Mon portefeuille » costs what it shows, not what the database holds.

Query counts cannot see a query whose cost grows with a table (the old caseload aggregated every
meeting of the country to show 30 people). On PostgreSQL, these tests run each query of the
caseload under EXPLAIN (ANALYZE, BUFFERS) at two sizes of the same territory — 4 000 and then
16 000 pathways, in the same proportions — and require the pages read to stay flat: a plan that scans or
hashes a whole table reads four times more at the second size.

To read the plans: SHOW_PLANS=1 (and ONLY_LIST=<part of a list's name>) with `pytest -s`.

On both databases: the order, the capped count, the existence-only segment, and the team list's
access clauses equal the generic ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from app import access
from app.extensions import db
from app.followup import summary
from app.pathways.models import Pathway, PathwayMember
from app.workspace import portfolio
from app.workspace.portfolio import CaseloadFilters, caseload
from tests.world import T0, World

pytestmark = pytest.mark.usefixtures("app")


# --- the team list's access clauses are the generic ones ----------------------------------------


@pytest.mark.parametrize("consent", [True, False])
def test_team_clauses_select_exactly_the_readable_pathways_of_the_agency_team(consent: bool) -> None:
    from tests.world import build_world  # not the fixture: both consent states

    world = build_world(consent=consent)
    member = sa.exists().where(
        PathwayMember.pathway_id == Pathway.id,
        PathwayMember.removed_at.is_(None),
    )
    for name, user in world.users().items():
        mine = sa.and_(member.where(PathwayMember.agency_id == user.agency_id))  # not an access rule: the oracle
        for minimum in (access.RecordAccess.EXISTENCE, access.RecordAccess.SHARED, access.RecordAccess.FULL):
            expected = set(db.session.scalars(
                sa.select(Pathway.id).where(access.readable_pathways_clause(user, minimum=minimum), mine)
            ))
            joined = set(db.session.scalars(
                sa.select(Pathway.id).select_from(PathwayMember).join(Pathway, Pathway.id == PathwayMember.pathway_id)
                .where(access.team_membership_clause(user, minimum=minimum))
            ))
            assert joined == expected, (name, minimum)
        only_exists = set(db.session.scalars(
            sa.select(Pathway.id).where(
                access.readable_pathways_clause(user), mine,
                sa.not_(access.readable_pathways_clause(user, minimum=access.RecordAccess.SHARED)),
            )
        ))
        joined = set(db.session.scalars(
            sa.select(Pathway.id).select_from(PathwayMember).join(Pathway, Pathway.id == PathwayMember.pathway_id)
            .where(access.team_existence_only_clause(user))
        ))
        assert joined == only_exists, name


# --- generated caseloads ------------------------------------------------------------------------


def _grow(world: World, start: int, count: int) -> None:
    """`count` more pathways led by the referent's agency (France Travail), in fixed proportions: referent of a third
    (the referent's own), the partner's agency (CAF) in the team of half, consent for half of those;
    the CCAS in the team of a quarter, none of them with consent;
    a held and a planned meeting each, an alert for one in four. Set-based, on both databases."""
    t = world.territory.id
    bind = {"t": t, "cd": world.ft.id, "caf": world.caf.id, "ccas": world.ccas.id, "ref": world.referent.id,
            "col": world.colleague.id, "now": T0, "start": start, "end": start + count - 1}
    ids = "SELECT i FROM generate_series(:start, :end) AS g(i)" if db.engine.dialect.name == "postgresql" else (
        "WITH RECURSIVE g(i) AS (SELECT :start UNION ALL SELECT i + 1 FROM g WHERE i < :end) SELECT i FROM g")
    statements = [
        "INSERT INTO beneficiary (id, territory_id, first_name, last_name, search_name, rights, created_at, "
        "updated_at, version) SELECT 100000 + i, :t, 'Prénom' || i, 'Nom' || i, 'nom' || i || ' prenom' || i, '[]', "
        ":now, :now, 1 FROM ({ids}) s",
        "INSERT INTO pathway (id, territory_id, beneficiary_id, lead_agency_id, referent_id, stage, started_at, "
        "created_at, updated_at, version, open_barrier_count, open_alert_count) SELECT 100000 + i, :t, 100000 + i, "
        ":cd, CASE WHEN i % 3 = 0 THEN :ref ELSE :col END, 'support', :now, :now, :now, 1, 0, 0 FROM ({ids}) s",
        "INSERT INTO pathway_member (territory_id, pathway_id, agency_id, added_at, pathway_open) "
        "SELECT :t, 100000 + i, :caf, :now, true FROM ({ids}) s WHERE i % 2 = 0",
        "INSERT INTO pathway_member (territory_id, pathway_id, agency_id, added_at, pathway_open) "
        "SELECT :t, 100000 + i, :ccas, :now, true FROM ({ids}) s WHERE i % 4 = 2",
        "INSERT INTO consent (territory_id, pathway_id, given_at, method, recorded_by_id) "
        "SELECT :t, 100000 + i, :now, 'written', :col FROM ({ids}) s WHERE i % 4 = 0",
        "INSERT INTO meeting (territory_id, pathway_id, organizer_id, agency_id, kind, scheduled_at, "
        "duration_minutes, channel, status, notes_visibility, recorded_at, created_at, updated_at, version) "
        "SELECT :t, 100000 + i, :col, :cd, 'follow_up', :now, 45, 'phone', 'held', 'agency', :now, :now, :now, 1 "
        "FROM ({ids}) s",
        "INSERT INTO meeting (territory_id, pathway_id, organizer_id, agency_id, kind, scheduled_at, "
        "duration_minutes, channel, status, notes_visibility, created_at, updated_at, version) "
        "SELECT :t, 100000 + i, :col, :cd, 'follow_up', :now, 45, 'phone', 'planned', 'agency', :now, :now, 1 "
        "FROM ({ids}) s",
        "INSERT INTO alert (territory_id, pathway_id, kind, subject_key, due_at, status, raised_at) "
        "SELECT :t, 100000 + i, 'follow_up_overdue', '', :now, 'open', :now FROM ({ids}) s WHERE i % 4 = 1",
    ]
    connection = db.session.connection()
    for statement in statements:
        connection.execute(sa.text(statement.format(ids=ids)), bind)
    summary.rebuild(connection, territory_id=t)  # the summaries and their copies on the members
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("ANALYZE")


def _check_columns() -> None:
    """The generator writes the columns the models have (a renamed column fails here, not later)."""
    names = {c.name for c in Pathway.__table__.c}
    assert {"open_barrier_count", "open_alert_count", "first_alert_due_at", "next_meeting_at"} <= names


@contextmanager
def _statements() -> Iterator[list[tuple[str, Any]]]:
    captured: list[tuple[str, Any]] = []

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield captured
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", before)


# At these sizes a whole table is a few hundred pages: the planner may hash or scan it where, at
# the size of a territory, it would walk an index. Plans are read as a large database would run
# them (no sequential scan, no hash join unless nothing else can answer), so the smaller size
# does not get a cheaper plan that the larger one cannot have, and a query that must read a
# whole table still does, through its index, four times more at the second size.
_LARGE_DATABASE_PLANS = ("enable_seqscan", "enable_hashjoin")


def _pages_read(statement: str, parameters: Any) -> int:
    import os

    connection = db.session.connection()
    for setting in _LARGE_DATABASE_PLANS:
        connection.exec_driver_sql(f"SET LOCAL {setting} = off")
    try:
        if os.environ.get("SHOW_PLANS"):
            text = connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            print("\n".join(text.scalars()), "\n--")
        plan = connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters)
        root = json.loads(plan.scalar()) if isinstance(plan, str) else plan.scalar()
    finally:
        for setting in _LARGE_DATABASE_PLANS:
            connection.exec_driver_sql(f"RESET {setting}")
    top = root[0]["Plan"]
    return top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0)


LISTS = {
    "referent, « mes personnes »": ("referent", CaseloadFilters(scope="mine")),
    "referent, structure": ("referent", CaseloadFilters(scope="agency")),
    "referent, only alerts": ("referent", CaseloadFilters(scope="agency", only_alerts=True)),
    "partner, « suivis par ma structure »": ("partner", CaseloadFilters(scope="team")),
    "partner without any consent, « suivis par ma structure »": ("outsider", CaseloadFilters(scope="team")),
    "CD manager, territory": ("manager_cd", CaseloadFilters(scope="all")),
}


def _cost(world: World, who: str, filters: CaseloadFilters, page: int = 1) -> list[int]:
    user = world.users()[who]
    caseload(user, filters, page=page)  # loads what the session keeps (the user's agency…)
    with _statements() as captured:
        caseload(user, filters, page=page)
    return [_pages_read(statement, parameters) for statement, parameters in captured]


def test_each_caseload_query_reads_as_many_pages_at_four_times_the_size(
    world: World, dialect: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if dialect != "postgresql":
        pytest.skip("plans and buffers are PostgreSQL's")
    # Every list is longer than the cap at both sizes: what is compared is the cost of one page
    # and of a capped count, which must not depend on how many rows lie beyond them.
    monkeypatch.setattr(portfolio, "COUNT_CAP", 100)
    _check_columns()
    _grow(world, 1, 1_500)
    import os
    lists = {k: v for k, v in LISTS.items() if os.environ.get("ONLY_LIST", "") in k}
    small = {name: _cost(world, who, filters) for name, (who, filters) in lists.items()}
    _grow(world, 4_001, 12_000)
    large = {name: _cost(world, who, filters) for name, (who, filters) in lists.items()}
    for name in lists:
        assert len(small[name]) == len(large[name]), name
        for index, (before, after) in enumerate(zip(small[name], large[name], strict=True)):
            # Flat: slack for a deeper index — never the ×4 of a plan that reads a whole table.
            assert after <= 2.5 * before + 50, f"{name}, query {index + 1}: {before} → {after} pages"


# --- the order, the cap, the segments -----------------------------------------------------------


def test_the_count_stops_at_the_cap_and_says_so(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    _grow(world, 1, 40)
    monkeypatch.setattr(portfolio, "COUNT_CAP", 30)
    page = caseload(world.colleague, CaseloadFilters(scope="agency"), per_page=25)
    assert (page.total, page.more, page.pages) == (30, True, 2)
    second = caseload(world.colleague, CaseloadFilters(scope="agency"), page=2, per_page=25)
    assert len(second.items) == 5  # up to the cap: no page beyond what was counted
    assert caseload(world.colleague, CaseloadFilters(scope="agency"), page=3, per_page=25).items == []
    monkeypatch.setattr(portfolio, "COUNT_CAP", 500)
    exact = caseload(world.colleague, CaseloadFilters(scope="agency"), per_page=25)
    assert exact.more is False and exact.total == 41  # the 40 and the world's own pathway


def test_the_most_urgent_come_first_alerts_then_next_meeting_then_number(world: World) -> None:
    _grow(world, 1, 12)
    rows = caseload(world.colleague, CaseloadFilters(scope="agency"), per_page=50).items
    keys = [(r.first_due_at is None, r.first_due_at, r.next_meeting_at is None, r.next_meeting_at, r.pathway.id)
            for r in rows]
    assert keys == sorted(keys, key=lambda k: (k[0], k[1] or T0, k[2], k[3] or T0, k[4]))
    assert rows[0].first_due_at is not None and rows[-1].first_due_at is None


def test_partner_sees_readable_team_records_first_then_existence_only_by_number(world: World) -> None:
    _grow(world, 1, 16)
    rows = caseload(world.partner, CaseloadFilters(scope="team"), per_page=100).items
    levels = [r.access for r in rows]
    first_hidden = levels.index(access.RecordAccess.EXISTENCE)
    assert all(level >= access.RecordAccess.SHARED for level in levels[:first_hidden])
    hidden = rows[first_hidden:]
    assert all(r.access == access.RecordAccess.EXISTENCE for r in hidden)
    assert [r.pathway.id for r in hidden] == sorted(r.pathway.id for r in hidden)
    # Nothing of their state leaks: no deadline, no meeting, no count.
    assert all((r.first_due_at, r.next_meeting_at, r.alert_count, r.open_barriers, r.alert_kinds)
               == (None, None, 0, 0, []) for r in hidden)
    # Paging crosses from one segment to the other without loss or repetition.
    paged = [r.pathway.id for n in (1, 2, 3, 4) for r in caseload(world.partner, CaseloadFilters(scope="team"),
                                                                   page=n, per_page=3).items]
    assert paged == [r.pathway.id for r in rows][: len(paged)] and len(paged) == min(12, len(rows))


def test_the_team_list_follows_the_pathway_when_it_changes(world: World) -> None:
    """The copy on the membership moves with the pathway: an alert raised, a pathway closed."""
    _grow(world, 1, 4)
    before = {r.pathway.id for r in caseload(world.partner, CaseloadFilters(scope="team"), per_page=100).items}
    closing = db.session.get(Pathway, 100_004)
    assert closing.id in before
    connection = db.session.connection()
    connection.execute(sa.update(Pathway.__table__).where(Pathway.__table__.c.id == closing.id).values(
        stage="closed", closed_at=T0 + timedelta(days=1), closure_reason="moved_away"))
    summary.refresh(connection, [closing.id])
    db.session.expire_all()
    after = {r.pathway.id for r in caseload(world.partner, CaseloadFilters(scope="team"), per_page=100).items}
    assert closing.id not in after and after == before - {closing.id}
    assert summary.drift(connection) == []
