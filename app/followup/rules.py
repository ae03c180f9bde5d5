"""The follow-up rules of DESIGN §3.4–3.5, each one set-based SELECT over every open pathway.

Every rule yields rows (territory_id, pathway_id, kind, subject_key, due_at) for the situations
that are late *now*. The scan (scan.py) turns them into alerts and resolves the alerts whose rows
have disappeared.

Deadlines are counted in Paris calendar days (`app.core.timefmt.PARIS`): "within 30 days" means the alert appears
on the first Paris day after the 30th, whatever the daylight-saving change in between. Python turns
each territory's delays into UTC instants (`RuleContext.day_threshold`); SQL only compares columns
with those instants, so the same statement runs on PostgreSQL and SQLite.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from app.accounts.models import Territory
from app.barriers.models import Barrier, BarrierStatus, Referral, ReferralStatus
from app.core.timefmt import PARIS
from app.followup.models import AlertKind
from app.followup.sqltime import add_days, date_start_utc, utc_param
from app.meetings.models import Meeting, MeetingKind, MeetingStatus
from app.pathways.models import Contract, Orientation, Pathway, Stage

ACTIVE_STAGES = (Stage.INTAKE, Stage.DIAGNOSIS, Stage.SUPPORT)


@dataclass
class RuleContext:
    now: datetime
    territories: list[Territory]
    # When set, the rules only look at these pathways: a table with a `pathway_id` column (an
    # incremental scan's `scan_scope`), or a short list of ids (a write's pathways, `live.py`:
    # a plain `IN (…)` list lets each table's pathway_id index serve, without a temporary table).
    scope: sa.FromClause | sa.BindParameter | Sequence[int] | None = None
    today: date = field(init=False)

    def __post_init__(self) -> None:
        self.today = self.now.astimezone(PARIS).date()

    def in_scope(self, pathway_id: sa.ColumnElement) -> sa.ColumnElement[bool]:
        """Restrict a table to the scoped pathways (by its own pathway_id, so its index serves)."""
        if self.scope is None:
            return sa.true()
        if isinstance(self.scope, sa.FromClause):
            return pathway_id.in_(sa.select(self.scope.c.pathway_id))
        if isinstance(self.scope, sa.BindParameter):
            return pathway_id.in_(self.scope)  # an expanding parameter, bound at execution
        return pathway_id.in_(list(self.scope))

    def day_threshold(self, days: int) -> datetime:
        """The instant a date must be before to be more than `days` Paris days ago.

        `t < day_threshold(n)`  ⟺  paris_date(t) + n < today.
        """
        day = self.today - timedelta(days=days)
        return datetime.combine(day, time(0, 0), tzinfo=PARIS)

    def before_threshold(
        self, territory_col: sa.ColumnElement, column: sa.ColumnElement, days: Callable[[Territory], int]
    ) -> sa.ColumnElement[bool]:
        """`column` is more than `days(territory)` Paris days ago, for each row's territory.

        Written as an OR of plain comparisons (not a CASE) so an index on `column` can serve it.
        """
        return sa.or_(
            *[sa.and_(territory_col == t.id, column < utc_param(self.day_threshold(days(t)))) for t in self.territories]
        )

    def days_setting(self, territory_col: sa.ColumnElement, days: Callable[[Territory], int]) -> sa.ColumnElement:
        return sa.case({t.id: sa.literal(days(t), sa.Integer) for t in self.territories}, value=territory_col)


def _subject(prefix: str, id_col: sa.ColumnElement) -> sa.ColumnElement:
    return sa.literal(prefix + ":") + sa.cast(id_col, sa.String)


def _row(
    pathway: type[Pathway] | sa.Alias, kind: AlertKind, subject: sa.ColumnElement, due_at: sa.ColumnElement
) -> list:
    return [
        pathway.territory_id.label("territory_id"),
        pathway.id.label("pathway_id"),
        sa.literal(kind.value).label("kind"),
        subject.label("subject_key"),
        due_at.label("due_at"),
    ]


def _open(ctx: RuleContext) -> sa.ColumnElement[bool]:
    clause = sa.and_(Pathway.closed_at.is_(None), Pathway.territory_id.in_([t.id for t in ctx.territories]))
    if ctx.scope is not None:
        clause = sa.and_(clause, ctx.in_scope(Pathway.id))
    return clause


def follow_up_overdue(ctx: RuleContext) -> sa.Select:
    """No meeting held within the cadence since the last held one (or the orientation, or the
    start), and none planned before that deadline. Post-employment follow-up has its own rule."""
    # One pass over the meetings: last held and first planned, per pathway (no correlated subquery).
    meetings = (
        sa.select(
            Meeting.pathway_id,
            sa.func.max(sa.case((Meeting.status == MeetingStatus.HELD, Meeting.scheduled_at))).label("last_held"),
            sa.func.min(sa.case((Meeting.status == MeetingStatus.PLANNED, Meeting.scheduled_at))).label(
                "first_planned"
            ),
        )
        .where(Meeting.status.in_([MeetingStatus.HELD, MeetingStatus.PLANNED]), ctx.in_scope(Meeting.pathway_id))
        .group_by(Meeting.pathway_id)
        .subquery("meetings")
    )
    anchor = sa.func.coalesce(meetings.c.last_held, Pathway.oriented_at, Pathway.started_at)
    pairs = [(t, o) for t in ctx.territories for o in Orientation]
    cadence = sa.case(
        *[
            (sa.and_(Pathway.territory_id == t.id, Pathway.orientation == o), sa.literal(t.cadence_days(o), sa.Integer))
            for t, o in pairs
        ],
        else_=None,
    )
    deadline = add_days(anchor, cadence)
    late = sa.or_(
        *[
            sa.and_(
                Pathway.territory_id == t.id,
                Pathway.orientation == o,
                anchor < utc_param(ctx.day_threshold(t.cadence_days(o))),
            )
            for t, o in pairs
        ]
    )
    return (
        sa.select(*_row(Pathway, AlertKind.FOLLOW_UP_OVERDUE, sa.literal(""), deadline))
        .select_from(Pathway)
        .outerjoin(meetings, meetings.c.pathway_id == Pathway.id)
        .where(
            _open(ctx),
            Pathway.stage.in_(ACTIVE_STAGES),
            Pathway.orientation.is_not(None),
            late,
            sa.or_(meetings.c.first_planned.is_(None), meetings.c.first_planned > deadline),
        )
    )


def _meeting_rule(
    ctx: RuleContext, kind: AlertKind, days: Callable[[Territory], int], *conditions: sa.ColumnElement[bool]
) -> sa.Select:
    """Meetings whose day is more than `days(territory)` Paris days past, with `conditions`."""
    due = add_days(Meeting.scheduled_at, ctx.days_setting(Meeting.territory_id, days))
    return (
        sa.select(*_row(Pathway, kind, _subject("meeting", Meeting.id), due))
        .select_from(Meeting)
        .join(Pathway, Pathway.id == Meeting.pathway_id)
        .where(
            _open(ctx),
            ctx.in_scope(Meeting.pathway_id),
            ctx.before_threshold(Meeting.territory_id, Meeting.scheduled_at, days),
            *conditions,
        )
    )


def meeting_unrecorded(ctx: RuleContext) -> sa.Select:
    """A planned follow-up meeting whose day is past by more than the grace period."""
    return _meeting_rule(
        ctx,
        AlertKind.MEETING_UNRECORDED,
        lambda t: t.grace_days,
        Meeting.status == MeetingStatus.PLANNED,
        Meeting.kind == MeetingKind.FOLLOW_UP,
    )


def missed_not_rescheduled(ctx: RuleContext) -> sa.Select:
    """A missed meeting with nothing planned or held after it within the reschedule delay."""
    later = aliased(Meeting)
    return _meeting_rule(
        ctx,
        AlertKind.MISSED_NOT_RESCHEDULED,
        lambda t: t.reschedule_days,
        Pathway.stage != Stage.EMPLOYED,
        Meeting.status == MeetingStatus.MISSED,
        ~sa.exists().where(
            later.pathway_id == Meeting.pathway_id,
            later.scheduled_at > Meeting.scheduled_at,
            later.status.in_([MeetingStatus.PLANNED, MeetingStatus.HELD, MeetingStatus.MISSED]),
        ),
    )


def barrier_overdue(ctx: RuleContext) -> sa.Select:
    """A barrier neither lifted nor abandoned after its due date (a Paris calendar date)."""
    return (
        sa.select(
            *_row(Pathway, AlertKind.BARRIER_OVERDUE, _subject("barrier", Barrier.id), date_start_utc(Barrier.due_on))
        )
        .select_from(Barrier)
        .join(Pathway, Pathway.id == Barrier.pathway_id)
        .where(
            _open(ctx),
            ctx.in_scope(Barrier.pathway_id),
            Barrier.status.in_([BarrierStatus.OPEN, BarrierStatus.IN_PROGRESS]),
            Barrier.due_on < ctx.today,
        )
    )


def no_referent(ctx: RuleContext) -> sa.Select:
    delay = ctx.days_setting(Pathway.territory_id, lambda t: t.no_referent_days)
    return sa.select(*_row(Pathway, AlertKind.NO_REFERENT, sa.literal(""), add_days(Pathway.started_at, delay))).where(
        _open(ctx),
        Pathway.stage == Stage.INTAKE,
        Pathway.referent_id.is_(None),
        ctx.before_threshold(Pathway.territory_id, Pathway.started_at, lambda t: t.no_referent_days),
    )


def orientation_late(ctx: RuleContext) -> sa.Select:
    """Not oriented 6 weeks after the start (CASF D.262-65-2, décret 2024-1244)."""
    delay = ctx.days_setting(Pathway.territory_id, lambda t: t.orientation_delay_days)
    return sa.select(
        *_row(Pathway, AlertKind.ORIENTATION_LATE, sa.literal(""), add_days(Pathway.started_at, delay))
    ).where(
        _open(ctx),
        Pathway.orientation.is_(None),
        ctx.before_threshold(Pathway.territory_id, Pathway.started_at, lambda t: t.orientation_delay_days),
    )


def contract_late(ctx: RuleContext) -> sa.Select:
    """No engagement contract 1 month after orientation (code du travail D.5411-14-1)."""
    delay = ctx.days_setting(Pathway.territory_id, lambda t: t.contract_delay_days)
    return sa.select(
        *_row(Pathway, AlertKind.CONTRACT_LATE, sa.literal(""), add_days(Pathway.oriented_at, delay))
    ).where(
        _open(ctx),
        Pathway.stage.in_(ACTIVE_STAGES),
        ctx.before_threshold(Pathway.territory_id, Pathway.oriented_at, lambda t: t.contract_delay_days),
        ~sa.exists().where(Contract.pathway_id == Pathway.id),
    )


def contract_ending(ctx: RuleContext) -> sa.Select:
    """A contract ending within the notice period (or ended) with no contract following it."""
    successor = aliased(Contract)
    horizon = sa.case(
        {t.id: sa.literal(ctx.today + timedelta(days=t.contract_ending_days), sa.Date) for t in ctx.territories},
        value=Contract.territory_id,
    )
    return (
        sa.select(
            *_row(
                Pathway, AlertKind.CONTRACT_ENDING, _subject("contract", Contract.id), date_start_utc(Contract.ends_on)
            )
        )
        .select_from(Contract)
        .join(Pathway, Pathway.id == Contract.pathway_id)
        .where(
            _open(ctx),
            ctx.in_scope(Contract.pathway_id),
            Pathway.stage.in_(ACTIVE_STAGES),
            Contract.ends_on.is_not(None),
            Contract.ends_on <= horizon,
            ~sa.exists().where(
                successor.pathway_id == Contract.pathway_id,
                successor.id != Contract.id,
                sa.or_(successor.ends_on.is_(None), successor.ends_on > Contract.ends_on),
            ),
        )
    )


def referral_unanswered(ctx: RuleContext) -> sa.Select:
    delay = ctx.days_setting(Referral.territory_id, lambda t: t.referral_answer_days)
    return (
        sa.select(
            *_row(
                Pathway,
                AlertKind.REFERRAL_UNANSWERED,
                _subject("referral", Referral.id),
                add_days(Referral.sent_at, delay),
            )
        )
        .select_from(Referral)
        .join(Barrier, Barrier.id == Referral.barrier_id)
        .join(Pathway, Pathway.id == Barrier.pathway_id)
        .where(
            _open(ctx),
            ctx.in_scope(Barrier.pathway_id),
            Referral.status == ReferralStatus.SENT,
            ctx.before_threshold(Referral.territory_id, Referral.sent_at, lambda t: t.referral_answer_days),
        )
    )


def checkin_overdue(ctx: RuleContext) -> sa.Select:
    """A post-employment check-in not held (still planned, or missed with nothing held since)."""
    later = aliased(Meeting)
    return _meeting_rule(
        ctx,
        AlertKind.CHECKIN_OVERDUE,
        lambda t: t.grace_days,
        Pathway.stage == Stage.EMPLOYED,
        Meeting.kind == MeetingKind.CHECKIN,
        Meeting.status.in_([MeetingStatus.PLANNED, MeetingStatus.MISSED]),
        ~sa.exists().where(
            later.pathway_id == Meeting.pathway_id,
            later.status == MeetingStatus.HELD,
            later.scheduled_at >= Meeting.scheduled_at,
        ),
    )


def closure_proposed(ctx: RuleContext) -> sa.Select:
    """The last check-in is held and none is left to hold: propose closing (never close silently)."""
    last_checkin = (
        sa.select(Meeting.pathway_id, sa.func.max(Meeting.scheduled_at).label("at"))
        .where(
            Meeting.kind == MeetingKind.CHECKIN,
            Meeting.status != MeetingStatus.CANCELLED,
            ctx.in_scope(Meeting.pathway_id),
        )
        .group_by(Meeting.pathway_id)
        .subquery("last_checkin")
    )
    return (
        sa.select(*_row(Pathway, AlertKind.CLOSURE_PROPOSED, sa.literal(""), last_checkin.c.at))
        .select_from(Pathway)
        .join(last_checkin, last_checkin.c.pathway_id == Pathway.id)
        .where(
            _open(ctx),
            Pathway.stage == Stage.EMPLOYED,
            ~sa.exists().where(
                Meeting.pathway_id == Pathway.id,
                Meeting.kind == MeetingKind.CHECKIN,
                Meeting.status == MeetingStatus.PLANNED,
            ),
            sa.exists().where(
                Meeting.pathway_id == Pathway.id,
                Meeting.kind == MeetingKind.CHECKIN,
                Meeting.status == MeetingStatus.HELD,
                Meeting.scheduled_at == last_checkin.c.at,
            ),
        )
    )


# --- what can change between two scans (incremental scans) --------------------------------------


def crossed(
    prev: RuleContext,
    ctx: RuleContext,
    territory_col: sa.ColumnElement,
    column: sa.ColumnElement,
    days: Callable[[Territory], list[int]],
) -> sa.ColumnElement[bool]:
    """Rows whose `column` crossed one of the rules' day thresholds between two scans: those are the
    only ones that time alone can turn into an alert."""
    windows = []
    for t in ctx.territories:
        for d in sorted(set(days(t))):
            low, high = prev.day_threshold(d), ctx.day_threshold(d)
            if low < high:
                windows.append(sa.and_(territory_col == t.id, column >= utc_param(low), column < utc_param(high)))
    return sa.or_(*windows) if windows else sa.false()


def _cadences(t: Territory) -> list[int]:
    return [t.cadence_days(o) for o in Orientation]


def changed_pathways(prev: RuleContext, ctx: RuleContext, since: datetime) -> list[sa.Select]:
    """SELECTs of the pathway ids whose alerts may differ from the previous scan's: something was
    written since `since` (wall clock), or a deadline passed between `prev.now` and `ctx.now`.
    A superset is harmless (those pathways are simply re-examined); a miss is not, so every column
    a rule compares with a threshold appears here with that rule's delays."""
    ids = [t.id for t in ctx.territories]
    since_param = utc_param(since)
    contract_windows = [
        sa.and_(
            Contract.territory_id == t.id,
            Contract.ends_on > prev.today + timedelta(days=t.contract_ending_days),
            Contract.ends_on <= ctx.today + timedelta(days=t.contract_ending_days),
        )
        for t in ctx.territories
    ]
    return [
        sa.select(Pathway.id).where(
            Pathway.territory_id.in_(ids),
            sa.or_(
                Pathway.updated_at >= since_param,
                crossed(
                    prev,
                    ctx,
                    Pathway.territory_id,
                    Pathway.started_at,
                    lambda t: [t.no_referent_days, t.orientation_delay_days, *_cadences(t)],
                ),
                crossed(
                    prev,
                    ctx,
                    Pathway.territory_id,
                    Pathway.oriented_at,
                    lambda t: [t.contract_delay_days, *_cadences(t)],
                ),
            ),
        ),
        sa.select(Meeting.pathway_id).where(
            Meeting.territory_id.in_(ids),
            sa.or_(
                Meeting.updated_at >= since_param,
                crossed(
                    prev,
                    ctx,
                    Meeting.territory_id,
                    Meeting.scheduled_at,
                    lambda t: [t.grace_days, t.reschedule_days, *_cadences(t)],
                ),
            ),
        ),
        sa.select(Barrier.pathway_id).where(
            Barrier.territory_id.in_(ids),
            sa.or_(
                Barrier.updated_at >= since_param,
                # only a barrier still open can become overdue (`ix_barrier_territory_open_due`)
                sa.and_(Barrier.status.in_([BarrierStatus.OPEN, BarrierStatus.IN_PROGRESS]),
                        Barrier.due_on >= prev.today, Barrier.due_on < ctx.today),
            ),
        ),
        sa.select(Contract.pathway_id).where(
            Contract.territory_id.in_(ids),
            sa.or_(Contract.updated_at >= since_param, *contract_windows),
        ),
        sa.select(Barrier.pathway_id)
        .join(Referral, Referral.barrier_id == Barrier.id)
        .where(
            Referral.territory_id.in_(ids),
            sa.or_(
                Referral.updated_at >= since_param,
                # only a request awaiting its answer can become late (`ix_referral_territory_pending_sent`)
                sa.and_(
                    Referral.status == ReferralStatus.SENT,
                    crossed(prev, ctx, Referral.territory_id, Referral.sent_at, lambda t: [t.referral_answer_days]),
                ),
            ),
        ),
    ]


RULES: dict[AlertKind, Callable[[RuleContext], sa.Select]] = {
    AlertKind.FOLLOW_UP_OVERDUE: follow_up_overdue,
    AlertKind.MEETING_UNRECORDED: meeting_unrecorded,
    AlertKind.MISSED_NOT_RESCHEDULED: missed_not_rescheduled,
    AlertKind.BARRIER_OVERDUE: barrier_overdue,
    AlertKind.NO_REFERENT: no_referent,
    AlertKind.ORIENTATION_LATE: orientation_late,
    AlertKind.CONTRACT_LATE: contract_late,
    AlertKind.CONTRACT_ENDING: contract_ending,
    AlertKind.REFERRAL_UNANSWERED: referral_unanswered,
    AlertKind.CHECKIN_OVERDUE: checkin_overdue,
    AlertKind.CLOSURE_PROPOSED: closure_proposed,
}


def tables_read(rule: Callable[[RuleContext], sa.Select]) -> set[str]:
    """The tables a rule's statement reads (aliases resolved), for the write-time evaluation's
    list of inputs (`live.py` checks it covers every rule: a new rule cannot be forgotten)."""
    ctx = RuleContext(now=datetime(2026, 1, 1, tzinfo=PARIS), territories=[_sample_territory()], scope=[0])
    names: set[str] = set()
    for element in sa.sql.visitors.iterate(rule(ctx)):
        if isinstance(element, sa.Table):
            names.add(element.name)
    return names


def _sample_territory() -> Territory:
    """Any settings will do: only the shape of the statements matters to `tables_read`."""
    return Territory(
        id=0,
        cadence_professional_days=30,
        cadence_socio_professional_days=30,
        cadence_social_days=60,
        grace_days=2,
        reschedule_days=7,
        no_referent_days=30,
        orientation_delay_days=42,
        contract_delay_days=30,
        contract_ending_days=30,
        referral_answer_days=10,
    )
