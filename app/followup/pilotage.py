"""Read models of « Pilotage »: what a manager needs to see which follow-ups are late, and where.

Alerts, caseloads and open barriers are summed from counters kept by the database
(`steering_count`, app/followup/steering.py): the page never recounts a territory. The figures that
depend on the time (check-ins of the next 30 days; the 12-month legal indicators, on a page of their
own) are counted per request through indexes bounded by their window. Each figure has the list behind it
(`alert_list`, `caseload_list`…), also exported as CSV; tests/followup/test_steering.py checks that
every figure equals the length of its list.
"""

from __future__ import annotations

import heapq
import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlalchemy.sql.visitors import replacement_traverse

from app import access
from app.accounts.models import Agency, User
from app.barriers.models import Barrier, BarrierCategory, BarrierStatus
from app.core.pages import after_clause
from app.extensions import db
from app.followup import steering
from app.followup.models import Alert, AlertKind, AlertStatus, SteeringCount, SteeringDelta, SteeringRollup
from app.followup.sqltime import add_days, date_start_utc
from app.meetings.models import Meeting, MeetingKind, MeetingStatus
from app.pathways.models import Beneficiary, Contract, Pathway, Stage
from app.pathways.search import normalise

# Made once (see app/workspace/timeline.py).
_REFERENT, _OWNER = aliased(User, name="referent"), aliased(Agency, name="owner_agency")

FOLLOW_UP_KINDS = (
    AlertKind.FOLLOW_UP_OVERDUE,
    AlertKind.MEETING_UNRECORDED,
    AlertKind.MISSED_NOT_RESCHEDULED,
    AlertKind.CHECKIN_OVERDUE,
)


@dataclass
class Scope:
    manager: User
    agency_id: int | None = None
    referent_id: int | None = None

    def pathways(self) -> sa.ColumnElement[bool]:
        clause = sa.and_(
            access.steering_pathways_clause(self.manager, agency_id=self.agency_id), Pathway.closed_at.is_(None)
        )
        if self.referent_id is not None:
            clause = sa.and_(clause, Pathway.referent_id == self.referent_id)
        return clause


@dataclass
class Indicator:
    label: str
    numerator: int
    denominator: int

    @property
    def percent(self) -> int | None:
        return round(100 * self.numerator / self.denominator) if self.denominator else None


@dataclass
class Part:
    """One cell of a tile's breakdown: what (a kind, a stage, a category), how many, and the filter of
    its list (None: the tile's list has no such filter)."""

    what: object
    n: int
    filters: dict[str, str] | None


@dataclass
class Tile:
    title: str
    total: int
    list_name: str
    breakdown: list[Part] | None  # None: a single number (no breakdown)
    breakdown_list: str | None = None  # the list the breakdown's cells link to
    more: bool = False  # `total` is a cap: the list holds more (« plus de N »)


# The per-referent tables show this many referents at most (the most alerts, the largest
# caseloads): a territory may have thousands of referents, and the page costs what it shows.
REFERENT_ROWS = 50
# The check-ins tile counts up to its list's length (the lists behind the figures stop at 500).
CHECKIN_CAP = 500
# The referent filter is a list up to this many referents in scope, a search by name beyond.
REFERENT_CHOICES = 300


@dataclass
class Dashboard:
    # referent → kind → n, for the REFERENT_ROWS referents with the most alerts (None: no referent)
    overdue: dict[int | None, dict[AlertKind, int]] = field(default_factory=dict)
    overdue_totals: dict[AlertKind, int] = field(default_factory=dict)
    overdue_referents: int = 0  # referents with at least one alert, in scope (shown or not)
    # referent → stage → n, for the REFERENT_ROWS largest caseloads (None: no referent)
    caseloads: dict[int | None, dict[str, int]] = field(default_factory=dict)
    caseload_referents: int = 0  # referents with at least one open pathway, in scope
    stage_totals: dict[str, int] = field(default_factory=dict)  # every open pathway in scope, by stage
    referents: dict[int, User] = field(default_factory=dict)
    checkins_due: int = 0
    checkins_more: bool = False  # more than CHECKIN_CAP: the tile says « plus de … »
    barriers_by_category: dict[BarrierCategory, int] = field(default_factory=dict)
    without_referent: int = 0

    def overdue_rows(self) -> list[tuple[User | None, dict[AlertKind, int], int]]:
        """(referent or None, alerts by kind, total), the most loaded referent first."""
        rows = [
            (self.referents.get(rid) if rid else None, by_kind, sum(by_kind.values()))
            for rid, by_kind in self.overdue.items()
        ]
        return sorted(rows, key=lambda row: (-row[2], row[0].last_name if row[0] else ""))

    def tiles(self) -> list[Tile]:
        """The four tiles, each with its breakdown: a tile's number is the sum of its breakdown and
        the length of the list it links to (tests/followup/test_steering.py)."""
        late = [Part(kind, self.overdue_totals[kind], {"type": kind.value})
                for kind in FOLLOW_UP_KINDS if self.overdue_totals.get(kind)]
        orphans = self.caseloads.get(None, {})
        unassigned = [Part(stage, orphans[stage.value], None) for stage in STAGES_SHOWN if orphans.get(stage.value)]
        barriers = [Part(category, n, {"categorie": category.value})
                    for category, n in sorted(self.barriers_by_category.items(), key=lambda item: -item[1]) if n]
        return [
            Tile("Suivis en retard", sum(p.n for p in late), "suivis-en-retard", late, "alertes"),
            Tile("Parcours sans référent", self.without_referent, "sans-referent", unassigned),
            Tile("Points de suivi dans l'emploi à venir (30 jours)", self.checkins_due, "points-emploi", None,
                 more=self.checkins_more),
            Tile("Freins ouverts", sum(p.n for p in barriers), "freins", barriers, "freins"),
        ]

    def caseload_rows(self) -> list[tuple[User, dict[str, int]]]:
        """(referent, pathways by stage), by name; the REFERENT_ROWS largest caseloads when there are more."""
        rows = [(self.referents[rid], counts) for rid, counts in self.caseloads.items() if rid is not None]
        return sorted(rows, key=lambda row: (row[0].last_name, row[0].first_name))

    @property
    def overdue_hidden(self) -> int:
        """Referents with alerts not in the table (the totals count them)."""
        return self.overdue_referents - sum(1 for rid in self.overdue if rid is not None)

    @property
    def caseload_hidden(self) -> int:
        return self.caseload_referents - sum(1 for rid in self.caseloads if rid is not None)


def steered_pathway(scope: Scope, pathway_id: int) -> Pathway | None:
    """The pathway if the scope's manager steers it."""
    return db.session.scalar(sa.select(Pathway).where(Pathway.id == pathway_id, scope.pathways()))


def referents_in_scope(scope: Scope, *, limit: int | None = None, name: str | None = None,
                       referent_id: int | None = None) -> list[User]:
    """Professionals and managers a pathway of this scope can be given to, by name (`limit` at
    most; `name`: those whose name holds every word of it, case- and accent-insensitive)."""
    query = sa.select(User).where(access.steering_referents_clause(scope.manager, agency_id=scope.agency_id))
    if referent_id is not None:
        query = query.where(User.id == referent_id)
    query = query.order_by(User.last_name, User.first_name, User.id)
    words = normalise(name).split()[:4] if name else []
    if words and db.session.get_bind().dialect.name != "postgresql":
        # SQLite (small data sets) has no `translate`: the same match on the scope's referents in Python.
        found = [user for user in db.session.scalars(query)
                 if all(word in normalise(f"{user.first_name} {user.last_name}") for word in words)]
        return found[:limit] if limit is not None else found
    if words:
        full = sa.func.translate(sa.func.lower(User.first_name + " " + User.last_name), _ACCENTED, _PLAIN)
        for word in words:  # letters and digits only: no LIKE wildcard
            query = query.where(full.contains(word, autoescape=True))
    if limit is not None:
        query = query.limit(limit)
    return list(db.session.scalars(query))


def count_referents_in_scope(scope: Scope, *, cap: int) -> int:
    """How many referents `referents_in_scope` would list, counted up to `cap` (ids only: whether
    the filter is a list or a search, without loading hundreds of accounts to decide)."""
    ids = sa.select(User.id).where(access.steering_referents_clause(scope.manager, agency_id=scope.agency_id))
    return db.session.scalar(sa.select(sa.func.count()).select_from(ids.limit(cap).subquery())) or 0


# Lower-case accented letters and separators → what `normalise` makes of them (PostgreSQL `translate`).
_ACCENTED, _PLAIN = "àâäáãåçéèêëíìîïñóòôöõúùûüýÿœæ-'’", "aaaaaaceeeeiiiinooooouuuuyyoa   "


def describe(scope: Scope) -> list[str]:
    """The scope's filters in French (« structure CAF 93 », « référent Claire Martin »), from the
    scope already checked (an agency outside it was dropped); a name only within the territory."""
    parts = []
    if scope.agency_id is not None:
        agency = db.session.get(Agency, scope.agency_id)
        parts.append(f"structure {agency.name}" if agency else "structure")
    if scope.referent_id is not None:
        referent = db.session.get(User, scope.referent_id)
        parts.append(f"référent {referent.full_name}" if access.in_territory(scope.manager, referent) else "référent")
    return parts


def caseload_counts(user_ids: list[int]) -> dict[int, int]:
    """Open pathways each user is the referent of, for the referent pickers: summed from the
    steering counters (a few rows per referent, kept exact by triggers), one query whatever the
    caseloads. Only counts: the caller chose the users (eligible referents)."""
    if not user_ids:
        return {}
    rows = db.session.execute(
        sa.select(SteeringCount.referent_id, sa.func.sum(SteeringCount.n))
        .where(SteeringCount.metric == steering.STAGE, SteeringCount.referent_id.in_(user_ids))
        .group_by(SteeringCount.referent_id)
    )
    counts = {user_id: 0 for user_id in user_ids}
    counts.update({referent_id: int(n) for referent_id, n in rows})
    return counts


def agencies_in_scope(manager: User) -> list[Agency]:
    query = sa.select(Agency).where(access.steering_agencies_clause(manager)).order_by(Agency.name)
    return list(db.session.scalars(query))


def _on_counters(clause: sa.ColumnElement[bool], columns: sa.ColumnCollection | None = None) -> sa.ColumnElement[bool]:
    """The steering scope of app/access.py, moved from `pathway` onto the counters' dimensions
    (`columns`: those of the rollup's rows; default `steering_count`'s).

    The access rule stays written once, in access.py; if it ever steered by a pathway column the
    counters do not have, this raises rather than counting the wrong pathways."""
    table = columns if columns is not None else SteeringCount.__table__.c
    dimensions = {"territory_id": table.territory_id, "lead_agency_id": table.agency_id}

    def replace(element: object) -> object:
        if isinstance(element, sa.Column) and element.table is Pathway.__table__:
            if element.name not in dimensions:
                raise ValueError(f"steering by pathway.{element.name}: not a dimension of steering_count")
            return dimensions[element.name]
        return None

    return replacement_traverse(clause, {}, replace)


def _rolled_up() -> sa.Subquery:
    """The rollup's rows and the deltas not compacted yet: together, the exact sums."""
    def rows(model: type) -> sa.Select:
        t = model.__table__
        return sa.select(t.c.territory_id, t.c.agency_id, t.c.referent_id, t.c.metric, t.c.key, t.c.n)

    return sa.union_all(rows(SteeringRollup), rows(SteeringDelta)).subquery("rolled_up")


def dashboard(scope: Scope, now: datetime) -> Dashboard:
    """The figures of « Pilotage ». Alerts, caseloads and barriers are summed from `steering_count`
    (a few rows per referent, kept exact by triggers: app/followup/steering.py) by the database:
    the totals, then the REFERENT_ROWS referents of each table, then their rows; check-ins depend
    on `now` and are counted through their index. The legal indicators (a year of pathways) are
    `legal_indicators`, for their own page."""
    board = Dashboard()
    in_scope = scope.pathways()

    steering_scope = access.steering_pathways_clause(scope.manager, agency_id=scope.agency_id)
    counters = _on_counters(steering_scope)
    if scope.referent_id is not None:
        counters = sa.and_(counters, SteeringCount.referent_id == scope.referent_id)
    total = sa.func.sum(SteeringCount.n)
    # 1. The totals of the scope, and the « sans référent » row: a few dozen rows, whatever the number
    #    of referents. A whole territory or agency reads the rollup (two rows per agency and key); one
    #    referent, that referent's counters.
    if scope.referent_id is None:
        rolled = _rolled_up()
        level = rolled.c.referent_id.in_([0, steering.ASSIGNED])
        nobody = rolled.c.referent_id == 0
        totals = (
            sa.select(nobody, rolled.c.metric, rolled.c.key, sa.func.sum(rolled.c.n))
            .where(_on_counters(steering_scope, rolled.c), level)
            .group_by(nobody, rolled.c.metric, rolled.c.key)
        )
    else:
        nobody = SteeringCount.referent_id == 0
        totals = sa.select(nobody, SteeringCount.metric, SteeringCount.key, total).where(counters).group_by(
            nobody, SteeringCount.metric, SteeringCount.key
        )
    for without, metric, key, n in db.session.execute(totals):
        count = int(n)
        if not count:
            continue  # a counter back to zero (its row is kept, not deleted by the triggers)
        if metric == steering.ALERT:
            kind = AlertKind(key)
            board.overdue_totals[kind] = board.overdue_totals.get(kind, 0) + count
            if without:
                board.overdue.setdefault(None, {})[kind] = count
        elif metric == steering.STAGE:
            board.stage_totals[key] = board.stage_totals.get(key, 0) + count
            if without:
                row = board.caseloads.setdefault(None, defaultdict(int))
                row[key] += count
                row["total"] += count
        elif metric == steering.BARRIER:
            category = BarrierCategory(key)
            board.barriers_by_category[category] = board.barriers_by_category.get(category, 0) + count
    board.without_referent = board.caseloads.get(None, {}).get("total", 0)

    # 2. The referents of the two tables: the REFERENT_ROWS with the most alerts and with the
    #    largest caseloads, and how many have any (the rest are in the totals and in the lists).
    def top(metric: str) -> sa.Select:
        if scope.referent_id is None:  # a referent's whole metric is one rollup row per agency
            rolled = _rolled_up()
            n = sa.func.sum(rolled.c.n)
            per_referent = (
                sa.select(rolled.c.referent_id, n.label("n"))
                .where(_on_counters(steering_scope, rolled.c), rolled.c.referent_id > 0,
                       rolled.c.metric == metric, rolled.c.key == steering.ALL_KEYS)
                .group_by(rolled.c.referent_id)
                .having(n > 0)
                .subquery()
            )
        else:
            per_referent = (
                sa.select(SteeringCount.referent_id, total.label("n"))
                .where(counters, SteeringCount.metric == metric, SteeringCount.referent_id != 0)
                .group_by(SteeringCount.referent_id)
                .having(total > 0)
                .subquery()
            )
        ranked = (
            sa.select(sa.literal(metric).label("metric"), per_referent.c.referent_id,
                      sa.func.count().over().label("referents"))
            .order_by(per_referent.c.n.desc(), per_referent.c.referent_id)
            .limit(REFERENT_ROWS)
            .subquery()
        )
        return sa.select(ranked)

    shown: dict[str, list[int]] = {steering.ALERT: [], steering.STAGE: []}
    for metric, referent_id, referents in db.session.execute(
        sa.union_all(top(steering.ALERT), top(steering.STAGE))
    ):
        shown[metric].append(referent_id)
        if metric == steering.ALERT:
            board.overdue_referents = referents
        else:
            board.caseload_referents = referents
    ids = sorted(set(shown[steering.ALERT]) | set(shown[steering.STAGE]))
    if ids:
        for referent_id, metric, key, n in db.session.execute(
            sa.select(SteeringCount.referent_id, SteeringCount.metric, SteeringCount.key, total)
            .where(counters, SteeringCount.referent_id.in_(ids),
                   SteeringCount.metric.in_([steering.ALERT, steering.STAGE]))
            .group_by(SteeringCount.referent_id, SteeringCount.metric, SteeringCount.key)
        ):
            count = int(n)
            if not count or referent_id not in shown[metric]:
                continue
            if metric == steering.ALERT:
                board.overdue.setdefault(referent_id, {})[AlertKind(key)] = count
            else:
                row = board.caseloads.setdefault(referent_id, defaultdict(int))
                row[key] += count
                row["total"] += count
        board.referents = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(ids)))}

    # Counted up to the length of the list behind the tile (CHECKIN_CAP, « plus de … » beyond):
    # a territory of 1 M people has 40 000 check-ins a month, each joined to its pathway.
    upcoming = (
        sa.select(Meeting.id)
        .join(Pathway, Pathway.id == Meeting.pathway_id)
        .where(
            in_scope,
            Meeting.kind == MeetingKind.CHECKIN,
            Meeting.status == MeetingStatus.PLANNED,
            Meeting.scheduled_at >= now,
            Meeting.scheduled_at < now + timedelta(days=30),
        )
        .limit(CHECKIN_CAP + 1)
        .subquery()
    )
    counted = db.session.scalar(sa.select(sa.func.count()).select_from(upcoming)) or 0
    board.checkins_due, board.checkins_more = min(counted, CHECKIN_CAP), counted > CHECKIN_CAP

    return board


def legal_indicators(scope: Scope, now: datetime) -> tuple[Indicator, Indicator]:
    """Décret 2024-1244 deadlines over the last 12 months, closed pathways included.

    - oriented within 6 weeks: pathways started 12 months ago or later and at least 42 days old;
    - contract within 1 month of orientation: pathways oriented in that period, at least 30 days ago.
    """
    territory = scope.manager.territory
    window = now - timedelta(days=365)
    base = access.steering_pathways_clause(scope.manager, agency_id=scope.agency_id)
    if scope.referent_id is not None:
        base = sa.and_(base, Pathway.referent_id == scope.referent_id)
    orientation_delay = territory.orientation_delay_days
    contract_delay = territory.contract_delay_days

    started = sa.and_(base, Pathway.started_at >= window, Pathway.started_at < now - timedelta(days=orientation_delay))
    oriented_in_time = sa.and_(
        Pathway.oriented_at.is_not(None),
        Pathway.oriented_at <= add_days(Pathway.started_at, sa.literal(orientation_delay)),
    )
    total, in_time = db.session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(sa.case((oriented_in_time, 1), else_=0)), 0))
        .select_from(Pathway)
        .where(started)
    ).one()

    oriented = sa.and_(base, Pathway.oriented_at >= window, Pathway.oriented_at < now - timedelta(days=contract_delay))
    # « The first contract signed within the delay » is « some contract signed within it » (a
    # contract always has a signing date): a probe per pathway of the window, where the first
    # contract of each pathway was aggregated over the whole window (1.7 s at 1 M people).
    signed_in_time = sa.exists().where(
        Contract.pathway_id == Pathway.id,
        date_start_utc(Contract.signed_on) <= add_days(Pathway.oriented_at, sa.literal(contract_delay)),
    )
    # Two counts in one statement: in a WHERE the EXISTS is a semi-join (one pass over `contract`),
    # where inside a CASE it was a probe per pathway of the window.
    c_total, c_in_time = db.session.execute(
        sa.select(
            sa.select(sa.func.count()).select_from(Pathway).where(oriented).scalar_subquery(),
            sa.select(sa.func.count()).select_from(Pathway).where(oriented, signed_in_time).scalar_subquery(),
        )
    ).one()
    return (
        Indicator("Personnes orientées dans les 6 semaines", int(in_time), int(total)),
        Indicator("Contrats signés dans le mois suivant l'orientation", int(c_in_time), int(c_total)),
    )


# --- the lists behind the numbers -----------------------------------------------------------------


@dataclass
class ListRow:
    pathway: Pathway
    beneficiary: Beneficiary
    referent: User | None
    agency: Agency
    kind: AlertKind | None = None
    due_at: datetime | None = None
    detail: str | None = None
    subject_key: str = ""  # an alert's subject (its next action links to it)
    category: BarrierCategory | None = None  # a barrier's
    status: BarrierStatus | None = None
    due_on: date | None = None
    owner: str | None = None  # the agency carrying the barrier
    key: tuple = ()  # the row's place in its list's order (`after=` reads on from there: exports)


def _rows_query(scope: Scope) -> tuple[sa.Select, type[User]]:
    referent = _REFERENT
    query = (
        sa.select(Pathway, Beneficiary, referent, Agency)
        .join(Beneficiary, Beneficiary.id == Pathway.beneficiary_id)
        .join(Agency, Agency.id == Pathway.lead_agency_id)
        .outerjoin(referent, referent.id == Pathway.referent_id)
        .where(scope.pathways())
    )
    return query, referent


def alert_list(
    scope: Scope, *, kind: AlertKind | None = None, follow_ups_only: bool = False, limit: int = 500,
    after: tuple | None = None,
) -> list[ListRow]:
    """Unresolved alerts by due date. One query per unresolved status, each an ordered walk of
    `ix_alert_territory_status_due` that stops at `limit`, merged here: one `status <> 'resolved'`
    query would sort every unresolved alert of the territory (no index has that order).

    `after` (a row's `key`): the rows that follow it, for a list read in batches (every list here)."""
    query, _ = _rows_query(scope)
    query = query.add_columns(Alert.kind, Alert.due_at, Alert.id, Alert.subject_key).join(
        # not an access rule: the alert's own territory column, so its index serves the scope
        Alert, sa.and_(Alert.pathway_id == Pathway.id, Alert.territory_id == Pathway.territory_id)
    )
    if kind is not None:
        query = query.where(Alert.kind == kind)
    elif follow_ups_only:
        query = query.where(Alert.kind.in_(FOLLOW_UP_KINDS))
    if after is not None:
        query = query.where(after_clause((Alert.due_at, Alert.id), after))
    walks = [
        db.session.execute(query.where(Alert.status == status).order_by(Alert.due_at, Alert.id).limit(limit)).all()
        for status in AlertStatus
        if status != AlertStatus.RESOLVED
    ]
    rows = heapq.merge(*walks, key=lambda row: (row[5], row[6]))
    return [ListRow(p, b, r, a, k, due, subject_key=subject, key=(due, alert_id))
            for p, b, r, a, k, due, alert_id, subject in itertools.islice(rows, limit)]


def caseload_list(scope: Scope, *, without_referent: bool = False, limit: int = 500,
                  after: tuple | None = None) -> list[ListRow]:
    query, _ = _rows_query(scope)
    if without_referent:
        query = query.where(Pathway.referent_id.is_(None))
    if after is not None:
        query = query.where(after_clause((Pathway.started_at, Pathway.id), after))
    rows = db.session.execute(query.order_by(Pathway.started_at, Pathway.id).limit(limit)).all()
    return [ListRow(p, b, r, a, due_at=p.started_at, key=(p.started_at, p.id)) for p, b, r, a in rows]


def checkin_list(scope: Scope, now: datetime, *, limit: int = 500, after: tuple | None = None) -> list[ListRow]:
    query, _ = _rows_query(scope)
    query = (
        query.add_columns(Meeting.scheduled_at, Meeting.id)
        .join(Meeting, Meeting.pathway_id == Pathway.id)
        .where(
            Meeting.kind == MeetingKind.CHECKIN,
            Meeting.status == MeetingStatus.PLANNED,
            Meeting.scheduled_at >= now,
            Meeting.scheduled_at < now + timedelta(days=30),
        )
    )
    if after is not None:
        query = query.where(after_clause((Meeting.scheduled_at, Meeting.id), after))
    rows = db.session.execute(query.order_by(Meeting.scheduled_at, Meeting.id).limit(limit)).all()
    return [ListRow(p, b, r, a, due_at=at, key=(at, meeting_id)) for p, b, r, a, at, meeting_id in rows]


def barrier_list(scope: Scope, *, category: BarrierCategory | None = None, limit: int = 500,
                 after: tuple | None = None) -> list[ListRow]:
    query, _ = _rows_query(scope)
    owner = _OWNER
    query = (
        query.add_columns(Barrier.category, Barrier.title, Barrier.due_on, Barrier.status, owner.name, Barrier.id)
        # not an access rule: the barrier's own territory column, for `ix_barrier_territory_open_due`
        .join(Barrier, sa.and_(Barrier.pathway_id == Pathway.id, Barrier.territory_id == Pathway.territory_id))
        .join(owner, owner.id == Barrier.owner_agency_id)
        .where(Barrier.status.in_([BarrierStatus.OPEN, BarrierStatus.IN_PROGRESS]))
    )
    if category is not None:
        query = query.where(Barrier.category == category)
    if after is not None:
        query = query.where(after_clause((Barrier.due_on, Barrier.id), after))
    rows = db.session.execute(query.order_by(Barrier.due_on.asc().nulls_last(), Barrier.id).limit(limit)).all()
    return [ListRow(p, b, r, a, detail=title, category=c, status=st, due_on=due, owner=by, key=(due, barrier_id))
            for p, b, r, a, c, title, due, st, by, barrier_id in rows]


STAGES_SHOWN = (Stage.INTAKE, Stage.DIAGNOSIS, Stage.SUPPORT, Stage.EMPLOYED)

# The lists behind the figures, by the name in their address (/pilotage/listes/<name>).
LISTS = {
    "alertes": "Alertes en cours",
    "suivis-en-retard": "Suivis en retard",
    "portefeuilles": "Parcours suivis",
    "sans-referent": "Parcours sans référent",
    "points-emploi": "Points de suivi dans l'emploi des 30 prochains jours",
    "freins": "Freins ouverts",
}


def list_rows(name: str, scope: Scope, filters: dict, now: datetime, *, limit: int = 500,
              after: tuple | None = None) -> list[ListRow]:
    """List `name` (a key of LISTS) with its filters (`kind`, `category`), `limit` rows after `after`."""
    if name == "alertes":
        return alert_list(scope, kind=filters.get("kind"), limit=limit, after=after)
    if name == "suivis-en-retard":
        return alert_list(scope, follow_ups_only=True, limit=limit, after=after)
    if name == "portefeuilles":
        return caseload_list(scope, limit=limit, after=after)
    if name == "sans-referent":
        return caseload_list(scope, without_referent=True, limit=limit, after=after)
    if name == "points-emploi":
        return checkin_list(scope, now, limit=limit, after=after)
    if name == "freins":
        return barrier_list(scope, category=filters.get("category"), limit=limit, after=after)
    raise KeyError(name)
