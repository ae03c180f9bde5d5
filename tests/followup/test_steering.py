"""Steering counters (app/followup/steering.py): exact after every kind of write, and « Pilotage »'s
figures equal the lists behind them.

After each write below, two checks: the counters equal a recount of the data (`check_counters`),
and every figure of the dashboard — each tile (also the sum of its breakdown), each cell of a
breakdown, each total — equals the number of rows of the list it links to, for the whole territory,
one agency, and one referent.
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.accounts.models import Role, User
from app.barriers import services as barrier_services
from app.barriers.models import Barrier, BarrierCategory, BarrierStatus, Referral
from app.extensions import db
from app.followup import pilotage, steering
from app.followup.models import Alert, AlertKind, AlertStatus, SteeringCount, SteeringDelta, SteeringRollup
from app.followup.scan import scan_follow_ups
from app.meetings.models import MeetingKind
from app.pathways import services as pathway_services
from app.pathways.models import ClosureReason, Pathway, Stage
from tests.factories import AlertFactory, BarrierFactory, MeetingFactory, PathwayFactory, UserFactory
from tests.world import T0, World

NOW = T0 + timedelta(days=120)


def _differences() -> list[steering.Difference]:
    db.session.flush()
    return steering.check_counters(db.session.connection())


def _scopes(world: World) -> list[pilotage.Scope]:
    """The whole territory, one agency seen by the CD and by its own manager, two referents."""
    return [
        pilotage.Scope(world.manager_cd),
        pilotage.Scope(world.manager_cd, agency_id=world.cd.id),
        pilotage.Scope(world.manager_ft),
        pilotage.Scope(world.manager_cd, referent_id=world.referent.id),
        pilotage.Scope(world.manager_ft, referent_id=world.colleague.id),
    ]


def assert_figures_equal_lists(scope: pilotage.Scope) -> None:
    """Every number of the page equals the length of the list it links to (each list < 500 rows).

    A breakdown's non-zero cells are checked against their filtered list; with the sum equal to the
    unfiltered list, the cells shown as zero are then zero in the lists too."""
    board = pilotage.dashboard(scope, NOW)
    alerts = pilotage.alert_list(scope)
    assert len(alerts) < 500 and sum(board.overdue_totals.values()) == len(alerts)
    for kind, count in board.overdue_totals.items():
        assert count == len(pilotage.alert_list(scope, kind=kind)), kind
    late = sum(board.overdue_totals.get(k, 0) for k in pilotage.FOLLOW_UP_KINDS)
    assert late == len(pilotage.alert_list(scope, follow_ups_only=True))
    for referent_id, by_kind in board.overdue.items():
        in_list = [row for row in alerts if row.pathway.referent_id == referent_id]
        assert sum(by_kind.values()) == len(in_list)
        for kind, count in by_kind.items():
            assert count == sum(1 for row in in_list if row.kind == kind)

    caseload = pilotage.caseload_list(scope)
    assert sum(board.stage_totals.values()) == len(caseload)
    if not board.caseload_hidden:
        assert sum(row["total"] for row in board.caseloads.values()) == len(caseload)
    assert board.without_referent == len(pilotage.caseload_list(scope, without_referent=True))
    for referent_id, counts in board.caseloads.items():
        rows = [row for row in caseload if row.pathway.referent_id == referent_id]
        assert counts["total"] == len(rows) == sum(v for k, v in counts.items() if k != "total")
        for stage in Stage:
            assert counts.get(stage.value, 0) == sum(1 for row in rows if row.pathway.stage == stage)

    assert board.checkins_due == len(pilotage.checkin_list(scope, NOW))
    assert sum(board.barriers_by_category.values()) == len(pilotage.barrier_list(scope))
    for category, count in board.barriers_by_category.items():
        assert count == len(pilotage.barrier_list(scope, category=category)), category

    # Each tile: the sum of its breakdown, and the rows of the list it links to.
    tiles = {tile.list_name: tile for tile in board.tiles()}
    for tile in tiles.values():
        if tile.breakdown is not None:
            assert tile.total == sum(part.n for part in tile.breakdown), tile.title
    assert tiles["suivis-en-retard"].total == late
    assert tiles["sans-referent"].total == board.without_referent
    assert tiles["points-emploi"].total == board.checkins_due
    assert tiles["freins"].total == sum(board.barriers_by_category.values())


def assert_exact(world: World) -> None:
    """Counters and rollup exact, the figures equal the lists — with the deltas pending, then compacted."""
    assert _differences() == []
    for scope in _scopes(world):
        assert_figures_equal_lists(scope)
    steering.compact(db.session.connection())
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SteeringDelta)) == 0
    assert _differences() == []
    for scope in _scopes(world)[:3]:  # the wide scopes, read from the rollup
        assert_figures_equal_lists(scope)


@pytest.fixture
def generated(world: World) -> World:
    """The world plus ~60 pathways over three agencies and five referents (some without), at every
    stage, some closed, with barriers of every status and follow-up meetings; then a first scan."""
    rng = random.Random(11)
    cd_referent = UserFactory(agency=world.cd, email="referente@cd.test")
    referents = [world.referent, world.colleague, cd_referent, UserFactory(agency=world.cd), None]
    for i in range(60):
        referent = rng.choice(referents)
        traits = rng.choice([{}, {"oriented": True}, {"employed": True}, {"closed": True}])
        pathway = PathwayFactory(
            referent=referent,
            lead_agency=referent.agency if referent else rng.choice([world.ft, world.cd]),
            started_at=NOW - timedelta(days=rng.randint(10, 500)),
            **traits,
        )
        for _ in range(rng.randint(0, 3)):
            status = rng.choice(list(BarrierStatus))
            BarrierFactory(
                pathway=pathway,
                category=rng.choice(list(BarrierCategory)),
                status=status,
                lifted_at=NOW - timedelta(days=1) if status == BarrierStatus.LIFTED else None,
                due_on=(NOW - timedelta(days=rng.randint(-20, 40))).date(),
            )
        if traits.get("employed"):
            MeetingFactory(pathway=pathway, kind=MeetingKind.CHECKIN,
                           scheduled_at=NOW + timedelta(days=rng.randint(-10, 50)))
        if i % 4 == 0:
            MeetingFactory(pathway=pathway, held=True, scheduled_at=NOW - timedelta(days=rng.randint(1, 90)))
    scan_follow_ups(NOW)
    return world


def _open_alerted_pathway(world: World) -> Pathway:
    return db.session.scalar(
        sa.select(Pathway)
        .join(Alert, Alert.pathway_id == Pathway.id)
        .where(Pathway.territory_id == world.territory.id, Pathway.closed_at.is_(None),
               Pathway.referent_id == world.referent.id, Alert.status != AlertStatus.RESOLVED)
        .order_by(Pathway.id)
        .limit(1)
    )


def test_a_generated_world_is_counted_exactly(generated: World) -> None:
    counted = db.session.scalar(sa.select(sa.func.sum(SteeringCount.n)).where(SteeringCount.metric == steering.ALERT))
    assert counted and counted > 20  # the scan raised alerts, and the triggers counted them
    assert_exact(generated)


def test_the_scan_raising_and_resolving_alerts_keeps_the_counters(generated: World) -> None:
    # A day later, and again a month later: deadlines pass, alerts are raised and others resolved.
    first = scan_follow_ups(NOW + timedelta(days=1))
    assert_exact(generated)
    for barrier in db.session.scalars(sa.select(Barrier).where(Barrier.status == BarrierStatus.OPEN).limit(5)):
        barrier.due_on = None  # no longer overdue: the next scan resolves its alert (an UPDATE … WHERE id IN)
    later = scan_follow_ups(NOW + timedelta(days=40), full=True)
    assert first.raised + later.raised > 0 and later.resolved > 0
    assert_exact(generated)


def test_acknowledging_an_alert_changes_no_figure(generated: World) -> None:
    before = pilotage.dashboard(pilotage.Scope(generated.manager_cd), NOW).overdue_totals
    alert = db.session.scalar(sa.select(Alert).where(Alert.status == AlertStatus.OPEN).limit(1))
    alert.status = AlertStatus.ACKNOWLEDGED
    assert_exact(generated)
    assert pilotage.dashboard(pilotage.Scope(generated.manager_cd), NOW).overdue_totals == before


def test_a_handover_moves_the_alerts_and_barriers_of_the_pathway(generated: World) -> None:
    pathway = _open_alerted_pathway(generated)
    BarrierFactory(pathway=pathway, category=BarrierCategory.HEALTH)
    pathway_services.assign_referent(generated.manager_ft, pathway, generated.colleague, now=NOW)  # same agency
    assert_exact(generated)
    cd_referent = db.session.scalar(
        sa.select(User).where(User.agency_id == generated.cd.id, User.role == Role.PROFESSIONAL).limit(1)
    )
    pathway_services.assign_referent(generated.manager_cd, pathway, cd_referent, now=NOW)  # another agency
    assert_exact(generated)
    board = pilotage.dashboard(pilotage.Scope(generated.manager_cd, referent_id=cd_referent.id), NOW)
    assert board.barriers_by_category.get(BarrierCategory.HEALTH)


def test_stage_changes_and_closures_keep_the_counters(generated: World) -> None:
    pathway = _open_alerted_pathway(generated)
    pathway_services.set_stage(generated.referent, pathway, Stage.DIAGNOSIS)
    assert_exact(generated)
    pathway_services.close_pathway(generated.referent, pathway, reason=ClosureReason.MOVED_AWAY, now=NOW)
    assert_exact(generated)
    # A closed pathway counts nowhere, even with alerts or barriers left unresolved by a bulk write.
    AlertFactory(pathway=pathway, kind=AlertKind.NO_REFERENT)
    BarrierFactory(pathway=pathway)
    assert_exact(generated)


def test_barriers_opened_lifted_and_recategorised_keep_the_counters(generated: World) -> None:
    pathway = _open_alerted_pathway(generated)
    barrier = barrier_services.add_barrier(
        generated.referent, pathway, category=BarrierCategory.HOUSING, title="Logement", now=NOW
    )
    assert_exact(generated)
    barrier_services.update_barrier(generated.referent, barrier, {"category": BarrierCategory.DIGITAL}, now=NOW)
    assert_exact(generated)
    barrier_services.update_barrier(generated.referent, barrier, {"status": BarrierStatus.IN_PROGRESS}, now=NOW)
    assert_exact(generated)
    barrier_services.update_barrier(generated.referent, barrier, {"status": BarrierStatus.LIFTED}, now=NOW)
    assert_exact(generated)


def test_set_based_writes_and_deletes_keep_the_counters(generated: World) -> None:
    """Core statements of many rows, as the scan, the seeder and the purges write."""
    territory = generated.territory.id
    db.session.execute(sa.update(Pathway).where(Pathway.territory_id == territory).values(updated_at=NOW))
    db.session.execute(
        sa.update(Pathway)
        .where(Pathway.territory_id == territory, Pathway.stage == Stage.INTAKE, Pathway.referent_id.is_not(None))
        .values(stage=Stage.DIAGNOSIS)
    )
    db.session.execute(
        sa.update(Barrier).where(Barrier.territory_id == territory, Barrier.status == BarrierStatus.IN_PROGRESS)
        .values(status=BarrierStatus.OPEN)
    )
    assert_exact(generated)
    # A pathway deleted with its rows (as when a demo territory is deleted), children first.
    pathway = PathwayFactory(referent=generated.referent, lead_agency=generated.ft)
    AlertFactory(pathway=pathway)
    BarrierFactory(pathway=pathway)
    assert_exact(generated)
    ids = sa.select(Barrier.id).where(Barrier.pathway_id == pathway.id)
    db.session.execute(sa.delete(Referral).where(Referral.barrier_id.in_(ids)))
    db.session.execute(sa.delete(Alert).where(Alert.pathway_id == pathway.id))
    db.session.execute(sa.delete(Barrier).where(Barrier.pathway_id == pathway.id))
    db.session.execute(sa.delete(Pathway).where(Pathway.id == pathway.id))
    db.session.expunge_all()
    assert_exact(generated)


def test_rebuild_recounts_from_the_data(generated: World) -> None:
    connection = db.session.connection()
    connection.execute(sa.update(SteeringCount).values(n=SteeringCount.n + 3))
    assert _differences()
    steering.rebuild_counters(connection, generated.territory.id)
    assert _differences() == []


@pytest.mark.parametrize(
    "trigger", ["steering_alert_insert", "steering_alert_update", "steering_barrier_update", "steering_pathway_update"]
)
def test_without_one_trigger_the_counters_drift(generated: World, dialect: str, trigger: str) -> None:
    """The check is sharp: with any one trigger gone, a write of its kind leaves a difference."""
    connection = db.session.connection()
    table = trigger.split("_")[1]
    connection.exec_driver_sql(f"DROP TRIGGER {trigger}" + (f" ON {table}" if dialect == "postgresql" else ""))
    pathway = _open_alerted_pathway(generated)
    if trigger == "steering_alert_insert":
        scan_follow_ups(NOW + timedelta(days=60), full=True)
    elif trigger == "steering_alert_update":
        db.session.execute(sa.update(Alert).where(Alert.pathway_id == pathway.id)
                           .values(status=AlertStatus.RESOLVED, resolved_at=NOW))
    elif trigger == "steering_barrier_update":
        BarrierFactory(pathway=pathway)
        db.session.execute(sa.update(Barrier).where(Barrier.pathway_id == pathway.id)
                           .values(status=BarrierStatus.ABANDONED))
    else:
        pathway_services.assign_referent(generated.manager_ft, pathway, generated.colleague, now=NOW)
    assert _differences()


def test_the_rollup_follows_the_counters_and_a_drift_is_seen_and_repaired(generated: World, dialect: str) -> None:
    """The wide scopes read `steering_rollup` plus the deltas: the counters' own triggers append
    every change; a rollup row changed by hand is reported by the check and repaired by the rebuild."""
    connection = db.session.connection()
    steering.compact(connection)
    rollup = {tuple(row[:5]): row[5] for row in connection.execute(sa.select(SteeringRollup.__table__))}
    totals = {k: n for k, n in rollup.items() if k[1] in (0, steering.ASSIGNED)}
    # The per-agency rows sum to the counters of the territory, key by key.
    counted = dict(connection.execute(
        sa.select(SteeringCount.metric + ":" + SteeringCount.key, sa.func.sum(SteeringCount.n))
        .group_by(SteeringCount.metric, SteeringCount.key)).all())
    summed: dict[str, int] = {}
    for (_t, _r, _a, metric, key), n in totals.items():
        summed[f"{metric}:{key}"] = summed.get(f"{metric}:{key}", 0) + n
    assert {k: v for k, v in summed.items() if v} == {k: v for k, v in counted.items() if v}
    # A handover: the deltas carry it before any compaction.
    pathway = _open_alerted_pathway(generated)
    pathway_services.assign_referent(generated.manager_ft, pathway, generated.colleague, now=NOW)
    db.session.flush()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SteeringDelta)) > 0
    assert_exact(generated)
    connection.execute(sa.update(SteeringRollup).where(SteeringRollup.referent_id == steering.ASSIGNED)
                       .values(n=SteeringRollup.n + 2))
    drifted = _differences()
    assert drifted and all(d.referent_id == steering.ASSIGNED for d in drifted)
    steering.rebuild_counters(connection, generated.territory.id)
    assert _differences() == []
    # Without the counters' update trigger, a change of a counter leaves the rollup behind.
    on_table = " ON steering_count" if dialect == "postgresql" else ""
    connection.exec_driver_sql(f"DROP TRIGGER steering_count_update{on_table}")
    db.session.execute(sa.update(Alert).where(Alert.pathway_id == pathway.id)
                       .values(status=AlertStatus.RESOLVED, resolved_at=NOW))
    assert _differences()


def test_the_check_command_reports_and_repairs(app, generated: World) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["scheduler", "check-steering-counts"])
    assert result.exit_code == 0 and "exact" in result.output, result.output
    db.session.execute(sa.update(SteeringCount).where(SteeringCount.metric == steering.BARRIER).values(n=7))
    result = runner.invoke(args=["scheduler", "check-steering-counts"])
    assert result.exit_code == 1 and "differ" in result.output
    result = runner.invoke(args=["scheduler", "check-steering-counts", "--repair"])
    assert result.exit_code == 0 and "rebuilt" in result.output
    assert _differences() == []


def test_the_referent_tables_show_the_busiest_referents_and_count_the_others(generated: World, monkeypatch) -> None:
    """A territory may have thousands of referents: each table shows the REFERENT_ROWS busiest, the
    totals and the lists still count everyone, and the page says how many are not shown."""
    scope = pilotage.Scope(generated.manager_cd)
    full = pilotage.dashboard(scope, NOW)
    named_alerts = {rid: by_kind for rid, by_kind in full.overdue.items() if rid is not None}
    named_caseloads = {rid: counts for rid, counts in full.caseloads.items() if rid is not None}
    assert len(named_alerts) > 1 and len(named_caseloads) > 1
    assert full.overdue_hidden == full.caseload_hidden == 0

    monkeypatch.setattr(pilotage, "REFERENT_ROWS", 1)
    board = pilotage.dashboard(scope, NOW)
    assert board.overdue_totals == full.overdue_totals
    assert board.stage_totals == full.stage_totals
    assert board.barriers_by_category == full.barriers_by_category
    assert board.without_referent == full.without_referent
    assert board.overdue.get(None) == full.overdue.get(None)  # « Sans référent » stays
    shown = [rid for rid in board.overdue if rid is not None]
    assert len(shown) == 1
    assert board.overdue[shown[0]] == named_alerts[shown[0]]
    assert sum(named_alerts[shown[0]].values()) == max(sum(v.values()) for v in named_alerts.values())
    assert board.overdue_hidden == len(named_alerts) - 1
    (largest,) = [rid for rid in board.caseloads if rid is not None]
    assert dict(board.caseloads[largest]) == dict(named_caseloads[largest])
    assert named_caseloads[largest]["total"] == max(c["total"] for c in named_caseloads.values())
    assert board.caseload_hidden == len(named_caseloads) - 1
    assert_figures_equal_lists(scope)


def test_pilotage_says_which_referents_it_does_not_show(client, login_as, generated: World, monkeypatch) -> None:
    monkeypatch.setattr(pilotage, "REFERENT_ROWS", 1)
    login_as(generated.manager_cd)
    page = client.get("/pilotage").get_data(as_text=True)
    assert "Le tableau montre les 1 référents qui ont le plus d'alertes" in page
    assert "plus grands portefeuilles" in page


def test_a_large_scope_filters_referents_by_name(client, login_as, generated: World, monkeypatch) -> None:
    """Beyond REFERENT_CHOICES referents, the filter is a search by name, within the manager's scope."""
    login_as(generated.manager_cd)
    assert 'name="referent_nom"' not in client.get("/pilotage").get_data(as_text=True)
    monkeypatch.setattr(pilotage, "REFERENT_CHOICES", 1)
    page = client.get("/pilotage").get_data(as_text=True)
    assert 'name="referent_nom"' in page and 'id="filtre-referent"' not in page
    referent = generated.referent
    # One match, whatever the case and accents: straight to that referent's figures.
    answer = client.get("/pilotage", query_string={"referent_nom": referent.last_name.upper()})
    if answer.status_code == 200:  # several people share the name: a list to choose from
        assert f"referent={referent.id}" in answer.get_data(as_text=True)
    else:
        assert answer.status_code == 302 and f"referent={referent.id}" in answer.headers["Location"]
    # Someone of another territory is never found, never named.
    stranger = generated.stranger
    answer = client.get("/pilotage", query_string={"referent_nom": f"{stranger.first_name} {stranger.last_name}"})
    assert answer.status_code == 200
    text = answer.get_data(as_text=True)
    assert "Aucun référent ne correspond" in text and f"referent={stranger.id}" not in text


def test_a_scan_that_changes_many_alerts_refreshes_the_statistics(world: World, dialect: str, monkeypatch) -> None:
    """Right after a territory's first scan the planner must know `alert` is no longer empty (on a
    machine whose autovacuum has not passed yet, « Mes alertes » read the whole table at 1 M)."""
    if dialect != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's")
    from app.followup import scan as scan_module

    for i in range(12):
        PathwayFactory(referent=None, lead_agency=world.cd, started_at=NOW - timedelta(days=100 + i))
    db.session.flush()

    def statistics() -> tuple[float, int]:
        return (db.session.scalar(sa.text("SELECT reltuples FROM pg_class WHERE relname = 'alert'")),
                db.session.scalar(sa.text("SELECT count(*) FROM alert")))

    monkeypatch.setattr(scan_module, "ANALYZE_AFTER_CHANGES", 10**9)
    scan_follow_ups(NOW)
    estimated, counted = statistics()
    assert counted >= 12 and estimated != counted  # not analysed: the estimate is stale
    PathwayFactory(referent=None, lead_agency=world.cd, started_at=NOW - timedelta(days=90))
    monkeypatch.setattr(scan_module, "ANALYZE_AFTER_CHANGES", 1)
    result = scan_follow_ups(NOW + timedelta(days=1), full=True)
    assert result.raised >= 1
    estimated, counted = statistics()
    assert estimated == counted


def test_the_legal_indicators_count_what_the_decree_counts(generated: World) -> None:
    """Décret 2024-1244, over the last 12 months: oriented within the delay of the start; first
    contract signed within the delay of the orientation — recounted here pathway by pathway."""
    from datetime import UTC, datetime, time

    from app import access
    from app.pathways.models import Contract
    from tests.factories import ContractFactory

    rng = random.Random(5)
    everyone = list(db.session.scalars(sa.select(Pathway).where(Pathway.territory_id == generated.territory.id)))
    for pathway in everyone:
        if pathway.oriented_at is not None and rng.random() < 0.7:
            for _ in range(rng.randint(1, 2)):
                signed = (pathway.oriented_at + timedelta(days=rng.randint(-5, 60))).date()
                ContractFactory(pathway=pathway, signed_on=signed, starts_on=signed,
                                ends_on=signed + timedelta(days=180))
    db.session.flush()
    territory = generated.territory
    window = NOW - timedelta(days=365)
    checked = 0
    for scope in _scopes(generated):
        orientation, contract = pilotage.legal_indicators(scope, NOW)
        clause = access.steering_pathways_clause(scope.manager, agency_id=scope.agency_id)
        if scope.referent_id is not None:
            clause = sa.and_(clause, Pathway.referent_id == scope.referent_id)
        in_scope = list(db.session.scalars(sa.select(Pathway).where(clause)))
        started = [p for p in in_scope
                   if window <= p.started_at < NOW - timedelta(days=territory.orientation_delay_days)]
        assert orientation.denominator == len(started)
        assert orientation.numerator == sum(
            1 for p in started
            if p.oriented_at is not None
            and p.oriented_at <= p.started_at + timedelta(days=territory.orientation_delay_days))
        oriented = [p for p in in_scope if p.oriented_at is not None
                    and window <= p.oriented_at < NOW - timedelta(days=territory.contract_delay_days)]
        signed = {pid: day for pid, day in db.session.execute(
            sa.select(Contract.pathway_id, sa.func.min(Contract.signed_on)).group_by(Contract.pathway_id))}
        assert contract.denominator == len(oriented)
        assert contract.numerator == sum(
            1 for p in oriented
            if p.id in signed and datetime.combine(signed[p.id], time(0), UTC)
            <= p.oriented_at + timedelta(days=territory.contract_delay_days))
        checked += contract.numerator + contract.denominator
    assert checked, "the world has oriented pathways with contracts in the window"


def test_the_checkins_tile_counts_up_to_its_list(generated: World, client, login_as, monkeypatch) -> None:
    """The list behind the tile stops at 500: so does the count, « plus de 500 » beyond."""
    scope = pilotage.Scope(generated.manager_cd)
    full = pilotage.dashboard(scope, NOW)
    assert full.checkins_due >= 2 and not full.checkins_more
    assert full.checkins_due == len(pilotage.checkin_list(scope, NOW))
    monkeypatch.setattr(pilotage, "CHECKIN_CAP", full.checkins_due - 1)
    capped = pilotage.dashboard(scope, NOW)
    assert capped.checkins_due == full.checkins_due - 1 and capped.checkins_more
    tile = {t.list_name: t for t in capped.tiles()}["points-emploi"]
    assert tile.more and tile.total == full.checkins_due - 1
    # The page (at the wall clock's time): the tile reads « plus de N » when capped.
    import app.followup.views as views

    monkeypatch.setattr(views, "_now", lambda: NOW)
    login_as(generated.manager_cd)
    assert f"plus de {full.checkins_due - 1}</p>" in client.get("/pilotage").get_data(as_text=True)
    monkeypatch.setattr(pilotage, "CHECKIN_CAP", full.checkins_due)
    exact = pilotage.dashboard(scope, NOW)
    assert exact.checkins_due == full.checkins_due and not exact.checkins_more
