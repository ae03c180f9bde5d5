"""« Pilotage » on PostgreSQL: no query of the page or of its lists reads a whole large table.

A few thousand pathways with alerts, meetings, barriers and contracts, ANALYZEd; then the plan of
every statement `dashboard()` and the lists issue, for the whole territory and for one agency, must
not hold a sequential scan of `pathway`, `alert`, `meeting`, `barrier` or `contract`: each is
answered by the counters or by an index bounded by its window or its LIMIT.

The plans are taken with `enable_seqscan = off`: at a few thousand rows, reading a quarter of a
small table (the 12-month window) is rightly cheaper in one sequential pass, so the planner's choice
there proves nothing; with sequential scans priced out, a Seq Scan still shows exactly when no
index can serve the query — the defect that makes a page cost the table at 1 M rows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.followup import pilotage
from app.followup.scan import scan_follow_ups
from tests.world import T0, World

NOW = T0 + timedelta(days=30)
LARGE_TABLES = ("pathway", "alert", "meeting", "barrier", "contract")
# An index scan can still walk a whole table (every pathway of the territory, then a probe): for the
# territory's figures bounded by a window, the plan must use the index that bounds them.
BOUNDING_INDEXES = {
    "meeting.kind =": "ix_meeting_planned_checkin_time",
    "pathway.started_at >=": "ix_pathway_territory_started",
    "pathway.oriented_at >=": "ix_pathway_territory_oriented",
}

SEED = """
INSERT INTO beneficiary (territory_id, first_name, last_name, search_name, rights, created_at, updated_at, version)
SELECT :t, 'Prénom' || i, 'Plan' || i, 'plan' || i, '[]', :now, :now, 1 FROM generate_series(1, :n) i;
INSERT INTO pathway (territory_id, beneficiary_id, lead_agency_id, referent_id, stage, orientation, oriented_at,
  started_at, created_at, updated_at, version)
SELECT :t, b.id, CASE WHEN b.id % 3 = 0 THEN :cd ELSE :ft END,
  CASE WHEN b.id % 3 = 0 THEN NULL WHEN b.id % 2 = 0 THEN :r1 ELSE :r2 END,
  CASE WHEN b.id % 4 = 0 THEN 'intake' ELSE 'support' END,
  CASE WHEN b.id % 4 = 0 THEN NULL ELSE 'professional' END,
  CASE WHEN b.id % 4 = 0 THEN NULL ELSE :now - (b.id % 1800) * interval '1 day' + interval '20 days' END,
  :now - (b.id % 1800) * interval '1 day', :now, :now, 1
FROM beneficiary b WHERE b.territory_id = :t AND b.last_name LIKE 'Plan%';
INSERT INTO meeting (territory_id, pathway_id, organizer_id, agency_id, kind, scheduled_at, duration_minutes, channel,
  status, notes_visibility, recorded_at, created_at, updated_at, version)
SELECT :t, p.id, :r1, :ft, 'follow_up', :now - (p.id % 90) * interval '1 day', 45, 'in_person', 'held', 'agency',
  :now - (p.id % 90) * interval '1 day', :now, :now, 1
FROM pathway p WHERE p.territory_id = :t;
INSERT INTO meeting (territory_id, pathway_id, organizer_id, agency_id, kind, scheduled_at, duration_minutes, channel,
  status, notes_visibility, created_at, updated_at, version)
SELECT :t, p.id, :r1, :ft, 'checkin', :now + (p.id % 400) * interval '1 day', 30, 'phone', 'planned', 'agency',
  :now, :now, 1
FROM pathway p WHERE p.territory_id = :t AND p.id % 5 = 0;
INSERT INTO barrier (territory_id, pathway_id, category, title, owner_agency_id, due_on, status, lifted_at,
  created_by_id, created_at, updated_at, version)
SELECT :t, p.id, (ARRAY['housing','mobility','health','digital'])[1 + p.id % 4], 'Frein', p.lead_agency_id,
  (:now + (p.id % 90 - 30) * interval '1 day')::date,
  (ARRAY['open','in_progress','lifted','abandoned'])[1 + p.id % 4], CASE WHEN p.id % 4 = 2 THEN :now END,
  :r1, :now, :now, 1
FROM pathway p WHERE p.territory_id = :t;
INSERT INTO contract (territory_id, pathway_id, kind, signed_on, starts_on, ends_on, recorded_by_id, created_at,
  updated_at, version)
SELECT :t, p.id, 'cer', (p.oriented_at + interval '10 days')::date, (p.oriented_at + interval '10 days')::date,
  NULL, :r1, :now, :now, 1
FROM pathway p WHERE p.territory_id = :t AND p.oriented_at IS NOT NULL AND p.id % 3 <> 0
"""


@pytest.fixture
def thousands(world: World, dialect: str) -> World:
    if dialect != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    params = {"t": world.territory.id, "now": NOW, "n": 4000, "cd": world.cd.id, "ft": world.ft.id,
              "r1": world.referent.id, "r2": world.colleague.id}
    for statement in SEED.split(";\n"):
        db.session.execute(sa.text(statement), params)
    scan_follow_ups(NOW)
    db.session.execute(sa.text("ANALYZE " + ", ".join(LARGE_TABLES) + ", steering_count"))
    return world


def _plans(call: Callable[[], object]) -> list[tuple[str, str]]:
    statements: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):  # type: ignore[no-untyped-def]
        statements.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        call()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)
    cursor = db.session.connection().connection.cursor()
    cursor.execute("SET LOCAL enable_seqscan = off")
    plans = []
    for statement, parameters in statements:
        cursor.execute("EXPLAIN " + statement, parameters)
        plans.append((statement, "\n".join(row[0] for row in cursor.fetchall())))
    return plans


@pytest.mark.parametrize("who", ["manager_cd", "manager_ft"])
def test_no_query_of_pilotage_reads_a_whole_table(thousands: World, who: str) -> None:
    scope = pilotage.Scope(getattr(thousands, who))
    calls = {
        "dashboard": lambda: pilotage.dashboard(scope, NOW),
        "alert_list": lambda: pilotage.alert_list(scope),
        "follow-ups": lambda: pilotage.alert_list(scope, follow_ups_only=True),
        "caseload_list": lambda: pilotage.caseload_list(scope),
        "checkin_list": lambda: pilotage.checkin_list(scope, NOW),
        "barrier_list": lambda: pilotage.barrier_list(scope),
    }
    for name, call in calls.items():
        for statement, plan in _plans(call):
            scanned = [t for t in LARGE_TABLES if f"Seq Scan on {t} " in plan + " "]
            assert not scanned, f"{name}: {statement}\n{plan}"
            if who == "manager_cd":
                for condition, index in BOUNDING_INDEXES.items():
                    assert condition not in statement or index in plan, f"{name}: {statement}\n{plan}"
