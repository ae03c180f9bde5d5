"""`scan_follow_ups(now)`: raise the alerts of every rule, resolve those whose cause is gone.

Set-based: each rule is one INSERT … SELECT into a temporary table of candidates; one FULL JOIN
of the candidates with the unresolved alerts then gives the difference, applied in two statements:
- resolve: unresolved alerts with no matching candidate (meeting held, barrier lifted…);
- raise: candidates with no unresolved alert yet.
Idempotent: a second scan with the same data writes nothing; the partial unique index
`uq_alert_one_unresolved` (plus ON CONFLICT DO NOTHING) keeps it so even when two scans race.

A territory's first scan (no unresolved alert at all) skips the comparison: the candidates go
straight into the difference, and are inserted in the unique index's order.

The scan also refreshes the alert columns of the summary (`summary.refresh_alerts_selected`) of
the pathways whose alerts it changed, in the same transaction. No deadlock with the writes, which
refresh through row locks (`live.py`): both lock the pathway rows first — in id order, FOR NO KEY
UPDATE, the scan in one statement over the pathways of its difference — and only then write
those pathways' alerts and summaries. A lock cycle would need one side to hold an alert or
summary row of a pathway whose row lock the other holds, which this order excludes. (A write that
edits several pathways in separate flushes could still lock them out of id order; PostgreSQL
would then abort one side after `deadlock_timeout`, and the scan is retried 15 minutes later.)

`evaluate_pathways` is the same evaluation for the few pathways of a write, in its transaction.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from app.accounts.models import Territory
from app.db_types import UTCDateTime, utcnow
from app.extensions import db
from app.followup import summary
from app.followup.models import Alert, AlertKind, AlertStatus, ScanState
from app.followup.rules import RULES, RuleContext, changed_pathways
from app.pathways.models import Pathway
from app.transaction import SCAN_LOCK_KEY, try_advisory_xact_lock, unit_of_work

# Rows written this long before the previous scan started are re-examined too: a transaction that
# wrote before that scan but committed after its snapshot must not be missed.
CHANGE_MARGIN = timedelta(minutes=10)
# A full scan at least this often, whatever happened: the safety net of incremental scans.
FULL_SCAN_EVERY = timedelta(hours=24)

# Set in the session's `info` while a scan's transaction runs (read by `live.py`).
SCANNING = "parcours.followup.scanning"

# A scan that raised or resolved this many alerts refreshes the planner's statistics (PostgreSQL).
ANALYZE_AFTER_CHANGES = 20_000

# Above this share of pathways to re-examine, a full scan is cheaper than a scoped one.
INCREMENTAL_MAX_SHARE = 0.3
# Up to this many pathways to re-examine, a scoped scan without asking (no count of the territory).
INCREMENTAL_ALWAYS = 5_000

_scope = sa.Table("scan_scope", sa.MetaData(), sa.Column("pathway_id", sa.Integer))
_CREATE_SCOPE = "CREATE TEMPORARY TABLE IF NOT EXISTS scan_scope (pathway_id INTEGER NOT NULL)"

_candidates = sa.Table(
    "alert_candidate",
    sa.MetaData(),  # not part of the application schema: a per-connection temporary table
    sa.Column("territory_id", sa.Integer),
    sa.Column("pathway_id", sa.Integer),
    sa.Column("kind", sa.String(40)),
    sa.Column("subject_key", sa.String(40)),
    sa.Column("due_at", sa.DateTime(timezone=True)),
)

_diff = sa.Table(
    "alert_diff",
    sa.MetaData(),
    sa.Column("alert_id", sa.Integer),  # set: an alert to resolve; NULL: a candidate to raise
    sa.Column("territory_id", sa.Integer),
    sa.Column("pathway_id", sa.Integer),
    sa.Column("kind", sa.String(40)),
    sa.Column("subject_key", sa.String(40)),
    sa.Column("due_at", sa.DateTime(timezone=True)),
)

_CREATE_DIFF = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS alert_diff (alert_id INTEGER, territory_id INTEGER, pathway_id INTEGER, "
    "kind VARCHAR(40), subject_key VARCHAR(40), due_at TIMESTAMP WITH TIME ZONE)"
)

_CREATE = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS alert_candidate ("
    "territory_id INTEGER NOT NULL, pathway_id INTEGER NOT NULL, kind VARCHAR(40) NOT NULL, "
    "subject_key VARCHAR(40) NOT NULL, due_at TIMESTAMP WITH TIME ZONE)"
)


@dataclass
class ScanResult:
    now: datetime
    raised: int = 0
    resolved: int = 0
    skipped: bool = False  # another process was scanning: this one did nothing
    full: bool = True  # every open pathway examined (False: only those that may have changed)
    examined: int | None = None  # pathways examined by an incremental scan

    def __str__(self) -> str:
        if self.skipped:
            return f"scan at {self.now.isoformat()}: skipped, another scan is running"
        mode = "full" if self.full else f"incremental, {self.examined} pathways examined"
        return f"scan at {self.now.isoformat()} ({mode}): {self.raised} raised, {self.resolved} resolved"


def _plan(
    session: sa.orm.Session, territories: list[Territory], now: datetime, started: datetime, force_full: bool
) -> tuple[list[Territory], list[tuple[Territory, ScanState]]]:
    """Which territories need a full scan, and which can be scanned incrementally (with their state)."""
    states = {
        s.territory_id: s
        for s in session.scalars(sa.select(ScanState).where(ScanState.territory_id.in_([t.id for t in territories])))
    }
    full, incremental = [], []
    for territory in territories:
        state = states.get(territory.id)
        if (
            force_full
            or state is None
            or state.settings_version != territory.version
            or now < state.last_now
            or started - state.last_full_at >= FULL_SCAN_EVERY
        ):
            full.append(territory)
        else:
            incremental.append((territory, state))
    return full, incremental


def _save_states(
    session: sa.orm.Session, territories: list[Territory], full: list[Territory], now: datetime, started: datetime
) -> None:
    full_ids = {t.id for t in full}
    for territory in territories:
        state = session.get(ScanState, territory.id)
        if state is None:
            state = ScanState(territory_id=territory.id, last_full_at=started)
            session.add(state)
        state.last_now = now
        state.last_started_at = started
        state.settings_version = territory.version
        if territory.id in full_ids:
            state.last_full_at = started


def scan_follow_ups(now: datetime, *, territory_ids: list[int] | None = None, full: bool = False) -> ScanResult:
    """Bring the alerts in line with the rules as of `now` (aware datetime), in one transaction.

    Incremental by default: after a first full scan, a territory's next scans only re-examine the
    pathways with a row written since, or with a deadline passed since (`rules.changed_pathways`).
    A full scan happens on the first run, when the territory's settings change, when `now` goes
    back in time, at least daily, or with `full=True`.
    """
    if now.tzinfo is None:
        raise ValueError("scan_follow_ups needs an aware datetime")
    result = ScanResult(now=now)
    started = utcnow()
    try:
        return _scan(now, territory_ids, full, result, started)
    finally:
        db.session.info.pop(SCANNING, None)


def _scan(
    now: datetime, territory_ids: list[int] | None, full: bool, result: ScanResult, started: datetime
) -> ScanResult:
    with unit_of_work() as session:
        # This transaction evaluates the rules at the scan's `now`: the write-time evaluation of
        # `live.py` must not redo it at the wall clock's when it commits.
        session.info[SCANNING] = True
        # On PostgreSQL, only one scan at a time across every process (released at commit).
        if not try_advisory_xact_lock(session, SCAN_LOCK_KEY):
            result.skipped = True
            return result
        territories = _territories(session, territory_ids)
        if not territories:
            return result
        full_territories, incremental = _plan(session, territories, now, started, full)
        conn = session.connection()
        if conn.dialect.name == "postgresql":
            # Hash joins and aggregates over every open pathway stay in memory for this transaction.
            conn.exec_driver_sql("SET LOCAL work_mem = '128MB'")
            # Parallel workers are off on the web's connections (app/__init__.py); a scan's joins
            # over a territory's pathways use them.
            conn.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 2")
        scope = None
        if incremental:
            scope, full_territories = _decide_scope(conn, result, territories, full_territories, incremental, now)
        if result.full or result.examined:
            ctx = RuleContext(now=now, territories=territories, scope=scope)
            apply_rules(conn, ctx, result, first=scope is None and not _has_unresolved(conn, territories))
        if scope is not None:
            conn.execute(_scope.delete())
        if conn.dialect.name == "postgresql" and result.raised + result.resolved >= ANALYZE_AFTER_CHANGES:
            # A territory's first scan writes an alert per pathway or more: fresh statistics at once,
            # not at autovacuum's next pass (until then « Mes alertes » planned for an empty table).
            for table in ("alert", "pathway", "pathway_member"):
                conn.exec_driver_sql(f"ANALYZE {table}")
        _save_states(session, territories, full_territories, now, started)
    return result


def evaluate_pathways(
    conn: sa.Connection, territories: list[Territory], pathway_ids: list[int], now: datetime
) -> ScanResult:
    """The scan of just these pathways at `now`, in the caller's transaction: what a write runs
    (`live.py`) so that the alerts its change raises or removes are right when it commits.

    Same statements as a scan scoped to these ids (an `IN (…)` list: each rule reads its table
    through its pathway_id index), without the scan's advisory lock and without ANALYZE. The
    caller has locked the pathway rows (`summary.lock`) before, so that two writes of the same
    pathway evaluate one after the other."""
    result = ScanResult(now=now, full=False, examined=len(pathway_ids))
    if pathway_ids and territories:
        ctx = RuleContext(now=now, territories=territories, scope=_SCOPE_IDS)
        apply_rules(conn, ctx, result, lock=False, params={"scope_ids": sorted(pathway_ids)})
    return result


def _has_unresolved(conn: sa.Connection, territories: list[Territory]) -> bool:
    """Whether these territories have any unresolved alert (no: a first scan, nothing to compare)."""
    return (
        conn.execute(
            sa.select(Alert.id)
            .where(
                Alert.territory_id.in_([t.id for t in territories]),
                Alert.status.in_([AlertStatus.OPEN.value, AlertStatus.ACKNOWLEDGED.value]),
            )
            .limit(1)
        ).first()
        is not None
    )


def _territories(session: sa.orm.Session, territory_ids: list[int] | None) -> list[Territory]:
    query = sa.select(Territory).order_by(Territory.id)
    if territory_ids is not None:
        query = query.where(Territory.id.in_(territory_ids))
    return list(session.scalars(query))


def _decide_scope(
    conn: sa.Connection,
    result: ScanResult,
    territories: list[Territory],
    full_territories: list[Territory],
    incremental: list[tuple[Territory, ScanState]],
    now: datetime,
) -> tuple[sa.Table | None, list[Territory]]:
    """Fill `scan_scope` with the pathways to re-examine; returns the scope (None: scan everything)
    and the territories whose scan counts as full."""
    result.full = False
    conn.exec_driver_sql(_CREATE_SCOPE)
    conn.execute(_scope.delete())
    for territory, state in incremental:
        prev = RuleContext(now=state.last_now, territories=[territory])
        current = RuleContext(now=now, territories=[territory])
        for select in changed_pathways(prev, current, state.last_started_at - CHANGE_MARGIN):
            conn.execute(_scope.insert().from_select(["pathway_id"], select))
    if full_territories:
        conn.execute(
            _scope.insert().from_select(
                ["pathway_id"],
                sa.select(Pathway.id).where(Pathway.territory_id.in_([t.id for t in full_territories])),
            )
        )
    result.examined = conn.execute(sa.select(sa.func.count(sa.distinct(_scope.c.pathway_id)))).scalar()
    # A few thousand pathways are always cheaper to scope than a full scan: the territories' count
    # (a read of every pathway id) is only needed beyond.
    total = 0 if result.examined <= INCREMENTAL_ALWAYS else conn.execute(
        sa.select(sa.func.count(Pathway.id)).where(Pathway.territory_id.in_([t.id for t in territories]))
    ).scalar()
    if result.examined > INCREMENTAL_ALWAYS and result.examined > INCREMENTAL_MAX_SHARE * total:
        # So much may have changed that a full scan is cheaper than a scoped one.
        result.full, result.examined = True, None
        return None, territories
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE scan_scope")
    return _scope, full_territories


def apply_rules(
    conn: sa.Connection,
    ctx: RuleContext,
    result: ScanResult,
    *,
    first: bool = False,
    lock: bool = True,
    params: dict | None = None,
) -> None:
    """Evaluate every rule over `ctx`'s pathways and bring their alerts in line, then their summary.

    `first`: the territories have no unresolved alert at all (a territory's first scan), so every
    candidate is new: they go straight into `alert_diff`, with no comparison. `lock`: lock the
    pathway rows whose alerts change before writing them (the scan; a write has locked its own).
    `params`: values of the statements' bound parameters (a write's `scope_ids`); given, the
    statements come from a cache."""
    statements = _live_statements(ctx) if params is not None else _statements(ctx, first)
    params = {**(params or {}), "now": ctx.now}
    conn.exec_driver_sql(_CREATE_DIFF)
    conn.execute(_diff.delete())
    if not first:
        conn.exec_driver_sql(_CREATE)
        conn.execute(_candidates.delete())
    conn.execute(statements.candidates, params)
    if statements.diff is not None:
        if conn.dialect.name == "postgresql" and ctx.scope is None:
            conn.exec_driver_sql("ANALYZE alert_candidate")  # temporary tables get no autovacuum stats
        conn.execute(statements.diff, params)
    if lock:
        summary.lock_selected(conn, _CHANGED)
    if not first:
        result.resolved += conn.execute(_resolve_statement(), params).rowcount or 0
    result.raised += conn.execute(_raise_statement(conn.dialect.name), params).rowcount or 0
    if result.raised or result.resolved:
        summary.refresh_alerts_selected(conn, _CHANGED)
    conn.execute(_diff.delete())
    if not first:
        conn.execute(_candidates.delete())


_CANDIDATE_COLUMNS = ["territory_id", "pathway_id", "kind", "subject_key", "due_at"]
# The pathways whose alerts the difference changes.
_CHANGED = sa.select(_diff.c.pathway_id)
# The ids of a write-time evaluation, bound at execution (one cached statement for any ids).
_SCOPE_IDS = sa.bindparam("scope_ids", expanding=True, type_=sa.Integer)


@dataclass(frozen=True)
class _Statements:
    candidates: sa.Executable  # every rule's rows into `alert_candidate` (into `alert_diff` if first)
    diff: sa.Executable | None  # candidates vs unresolved alerts into `alert_diff`


def _statements(ctx: RuleContext, first: bool) -> _Statements:
    """Every rule's candidates (the alerts that should be unresolved) in one INSERT … SELECT of a
    UNION ALL (one round trip for a write's few pathways); then the difference."""
    union = sa.union_all(*[rule(ctx) for rule in RULES.values()])
    if first:
        return _Statements(_diff.insert().from_select(_CANDIDATE_COLUMNS, union), None)
    return _Statements(_candidates.insert().from_select(_CANDIDATE_COLUMNS, union), _diff_statement(ctx))


_LIVE_CACHE: dict[tuple, _Statements] = {}


def _live_statements(ctx: RuleContext) -> _Statements:
    """The write-time statements, built once per (territories' settings, Paris day): building the
    eleven rules in Python costs more than running them for a few pathways. Every instant a rule
    compares with derives from `ctx.today` and the settings, never from the time of day."""
    key = (ctx.today, tuple((t.id, _settings(t)) for t in ctx.territories))
    statements = _LIVE_CACHE.get(key)
    if statements is None:
        if len(_LIVE_CACHE) > 256:
            _LIVE_CACHE.clear()
        statements = _LIVE_CACHE[key] = _statements(ctx, first=False)
    return statements


def _settings(t: Territory) -> tuple:
    return (
        t.cadence_professional_days,
        t.cadence_socio_professional_days,
        t.cadence_social_days,
        t.grace_days,
        t.reschedule_days,
        t.no_referent_days,
        t.orientation_delay_days,
        t.contract_delay_days,
        t.contract_ending_days,
        t.referral_answer_days,
    )


def _diff_statement(ctx: RuleContext) -> sa.Executable:
    """Into `alert_diff`: the candidates without an unresolved alert (to raise) and the unresolved
    alerts without a candidate (to resolve), found in one pass (a FULL JOIN)."""
    in_scope = sa.and_(Alert.territory_id.in_([t.id for t in ctx.territories]), ctx.in_scope(Alert.pathway_id))
    if isinstance(ctx.scope, sa.BindParameter):
        # By pathway only: with the territory too, PostgreSQL may walk the territory's index.
        return _diff_by_lookups(ctx.in_scope(Alert.pathway_id))
    unresolved = (
        sa.select(Alert.id, Alert.pathway_id, Alert.kind, Alert.subject_key)
        .where(in_scope, Alert.status != AlertStatus.RESOLVED)
        .subquery("unresolved")
    )
    return _diff.insert().from_select(
        ["alert_id", "territory_id", "pathway_id", "kind", "subject_key", "due_at"],
        sa.select(
            unresolved.c.id,
            _candidates.c.territory_id,
            # A resolve has no candidate: its pathway is the alert's (the summary needs it).
            sa.func.coalesce(_candidates.c.pathway_id, unresolved.c.pathway_id),
            _candidates.c.kind,
            _candidates.c.subject_key,
            _candidates.c.due_at,
        )
        .select_from(_candidates)
        .join(
            unresolved,
            sa.and_(
                unresolved.c.pathway_id == _candidates.c.pathway_id,
                unresolved.c.kind == _candidates.c.kind,
                unresolved.c.subject_key == _candidates.c.subject_key,
            ),
            full=True,
        )
        .where(sa.or_(unresolved.c.id.is_(None), _candidates.c.pathway_id.is_(None))),
    )


def _diff_by_lookups(in_scope: sa.ColumnElement[bool]) -> sa.Executable:
    """The difference for a write's few pathways: two anti-joins, each an index lookup per row
    (`uq_alert_one_unresolved`), where a FULL JOIN would be a hash join over the `alert` table
    (0.5 s at 1 M pathways, against a millisecond)."""
    key = sa.and_(
        Alert.pathway_id == _candidates.c.pathway_id,
        Alert.kind == _candidates.c.kind,
        Alert.subject_key == _candidates.c.subject_key,
    )
    unresolved = sa.and_(in_scope, Alert.status != AlertStatus.RESOLVED)
    to_raise = sa.select(
        sa.null(),
        _candidates.c.territory_id,
        _candidates.c.pathway_id,
        _candidates.c.kind,
        _candidates.c.subject_key,
        _candidates.c.due_at,
    ).where(~sa.exists().where(key, Alert.status != AlertStatus.RESOLVED))
    to_resolve = sa.select(
        Alert.id, sa.null(), Alert.pathway_id, sa.null(), sa.null(), sa.null()
    ).where(unresolved, ~sa.exists().where(key))
    return _diff.insert().from_select(
        ["alert_id", "territory_id", "pathway_id", "kind", "subject_key", "due_at"], sa.union_all(to_raise, to_resolve)
    )


@functools.cache
def _resolve_statement() -> sa.Executable:
    """Resolve the alerts whose cause is gone. Idempotent under races: alerts someone resolved
    meanwhile are skipped."""
    return (
        sa.update(Alert.__table__)
        .where(
            Alert.id.in_(sa.select(_diff.c.alert_id).where(_diff.c.alert_id.is_not(None))),
            Alert.status != AlertStatus.RESOLVED.value,
        )
        .values(status=AlertStatus.RESOLVED.value, resolved_at=sa.bindparam("now", type_=UTCDateTime()))
    )


@functools.cache
def _raise_statement(dialect: str) -> sa.Executable:
    """Raise the new alerts. Idempotent under races: keys someone raised meanwhile are skipped
    (`uq_alert_one_unresolved`, ON CONFLICT DO NOTHING)."""
    new_rows = (
        sa.select(
            _diff.c.territory_id,
            _diff.c.pathway_id,
            _diff.c.kind,
            _diff.c.subject_key,
            _diff.c.due_at,
            sa.literal(AlertStatus.OPEN.value),
            sa.bindparam("now", type_=UTCDateTime()),
        )
        .where(_diff.c.alert_id.is_(None))  # (SQLite also needs this WHERE before ON CONFLICT)
        # In the unique index's order: each index page is written once, not once per alert.
        .order_by(_diff.c.pathway_id, _diff.c.kind, _diff.c.subject_key)
    )
    insert_module = postgresql if dialect == "postgresql" else sqlite
    return (
        insert_module.insert(Alert.__table__)
        .from_select(["territory_id", "pathway_id", "kind", "subject_key", "due_at", "status", "raised_at"], new_rows)
        .on_conflict_do_nothing()
    )


def open_alerts_by_kind(territory_ids: list[int] | None = None) -> Counter:
    """Unresolved alerts by kind (the CLI's summary after a scan by hand; the scheduler's scans do
    not pay for this count of every unresolved alert of the territory)."""
    query = sa.select(Alert.kind, sa.func.count()).where(Alert.status != AlertStatus.RESOLVED).group_by(Alert.kind)
    if territory_ids is not None:
        query = query.where(Alert.territory_id.in_(territory_ids))
    return Counter({AlertKind(kind): count for kind, count in db.session.execute(query)})
