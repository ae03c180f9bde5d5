"""Reads of alerts: « Mes alertes », the API's alert lists, the managers' overdue follow-ups."""
from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app import access
from app.accounts.models import User
from app.barriers.models import Barrier, Referral, ReferralStatus
from app.core.pages import after_clause
from app.core.timefmt import paris_date
from app.extensions import db
from app.followup.models import Alert, AlertKind, AlertStatus, ScanState
from app.pathways.models import Beneficiary, Pathway

# The follow-up kinds a manager sees as « suivis en retard ».
OVERDUE_KINDS = (
    AlertKind.FOLLOW_UP_OVERDUE,
    AlertKind.MEETING_UNRECORDED,
    AlertKind.MISSED_NOT_RESCHEDULED,
    AlertKind.CHECKIN_OVERDUE,
)


def open_alerts_query(actor: User) -> sa.Select:
    """Unresolved alerts of the pathways the actor may read, most overdue first."""
    return (
        sa.select(Alert)
        .join(Pathway, Pathway.id == Alert.pathway_id)
        .where(Alert.status != AlertStatus.RESOLVED,
               access.readable_pathways_clause(actor, minimum=access.RecordAccess.SHARED))
        .order_by(Alert.due_at, Alert.id)
    )


# « Mes alertes » shows this many at most (the most overdue first): a page costs what it shows.
MY_ALERTS_LIMIT = 200
# « Mes alertes » reads a partner's pending requests by batches of at least this many (oldest first):
# most old requests are late, so one batch is the rule, two when some pathways were closed.
REQUEST_BATCH = 2 * MY_ALERTS_LIMIT


@dataclass
class Action:
    """The next thing to do about an alert: a link (endpoint and its arguments) and its French label."""

    label: str
    endpoint: str
    args: dict[str, object]


@dataclass
class AlertRow:
    alert: Alert
    person: Beneficiary | None  # None: the actor may only know the pathway exists (no consent)
    days_overdue: int  # Paris calendar days since the deadline (0 on its day)
    action: Action | None
    as_partner: bool  # a request sent to the actor's agency, not a person she is the referent of


def _subject_id(alert: Alert, prefix: str) -> int | None:
    head, _, tail = alert.subject_key.partition(":")
    return int(tail) if head == prefix and tail.isdigit() else None


def next_action(alert: Alert, *, as_partner: bool = False) -> Action | None:
    """What to do about an alert, per kind, as a link to the page that does it."""
    pathway = {"pathway_id": alert.pathway_id}
    record = "pathways.record"
    kind = alert.kind
    if kind == AlertKind.REFERRAL_UNANSWERED:
        referral_id = _subject_id(alert, "referral")
        if as_partner and referral_id is not None:
            return Action("Répondre à la demande", "barriers.answer_referral", {"referral_id": referral_id})
        return Action("Voir l'orientation", record, {**pathway, "onglet": "freins"})
    if kind == AlertKind.FOLLOW_UP_OVERDUE:
        return Action("Planifier un rendez-vous", "meetings.plan_meeting", pathway)
    if kind in (AlertKind.MEETING_UNRECORDED, AlertKind.CHECKIN_OVERDUE):
        return Action("Renseigner le rendez-vous", record, {**pathway, "onglet": "rendez-vous"})
    if kind == AlertKind.MISSED_NOT_RESCHEDULED:
        return Action("Replanifier un rendez-vous", "meetings.plan_meeting", pathway)
    if kind == AlertKind.BARRIER_OVERDUE:
        barrier_id = _subject_id(alert, "barrier")
        if barrier_id is not None:
            return Action("Mettre à jour le frein", "barriers.update_barrier", {"barrier_id": barrier_id})
        return Action("Voir les freins", record, {**pathway, "onglet": "freins"})
    if kind == AlertKind.NO_REFERENT:
        return Action("Nommer un référent", "pathways.hand_over", pathway)
    if kind == AlertKind.ORIENTATION_LATE:
        return Action("Orienter", "pathways.orient", pathway)
    if kind in (AlertKind.CONTRACT_LATE, AlertKind.CONTRACT_ENDING):
        return Action("Saisir le contrat d'engagement", "pathways.record_contract", pathway)
    if kind == AlertKind.CLOSURE_PROPOSED:
        return Action("Clôturer le parcours", "pathways.close", pathway)
    return None


def days_overdue(alert: Alert, now: datetime) -> int:
    return max(0, (paris_date(now) - paris_date(alert.due_at)).days)


def my_alerts(actor: User, kind: AlertKind | None = None, *, now: datetime,
              limit: int = MY_ALERTS_LIMIT) -> list[AlertRow]:
    """« Mes alertes »: the unresolved alerts of the people the actor is the referent of, and the
    unanswered requests sent to her agency — most overdue first, `limit` at most.

    Two ordered walks, each stopping at `limit`: the referent's through `Pathway.referent_id`, the
    partner's from her agency's pending referrals, oldest first (`ix_referral_agency_pending_sent`), to their alert
    (`uq_alert_one_unresolved`). A partner who may only know the pathway exists (no consent) sees
    the request's age and the link to answer it — what « Demandes en attente » already tells her —
    never the person."""
    mine = open_alerts_query(actor).where(
        Pathway.referent_id == actor.id  # not an access rule: « Mes alertes » are my people's
    )
    if kind is not None:
        mine = mine.where(Alert.kind == kind)
    mine = mine.add_columns(Beneficiary).join(Beneficiary, Beneficiary.id == Pathway.beneficiary_id).limit(limit)
    rows = [AlertRow(alert, person, days_overdue(alert, now), next_action(alert), as_partner=False)
            for alert, person in db.session.execute(mine).tuples()]

    partner: list[AlertRow] = []
    if kind in (None, AlertKind.REFERRAL_UNANSWERED):
        seen = {row.alert.id for row in rows}
        partner = sorted((
            AlertRow(alert, person, days_overdue(alert, now), next_action(alert, as_partner=True), as_partner=True)
            for alert, person in _late_requests_to_answer(actor, limit) if alert.id not in seen
        ), key=lambda row: (row.alert.due_at, row.alert.id))
    merged = heapq.merge(rows, partner, key=lambda row: (row.alert.due_at, row.alert.id))
    return list(merged)[:limit]


def _late_requests_to_answer(actor: User, limit: int) -> list[tuple[Alert, Beneficiary | None]]:
    """The unresolved « demande sans réponse » alerts of the requests sent to the actor's agency,
    oldest request first, `limit` at most; the person only where the record is shared with her.

    A request's deadline is its sending date plus the territory's answer delay, so the agency's
    pending requests walked by date (`ix_referral_agency_pending_sent`) are their alerts by
    deadline. The walk goes by batches (keyset), each batch's alerts read by their subject key,
    until `limit` are found: in one statement, PostgreSQL misjudged the join to the alert's
    computed key (one row) and joined every pending request of the agency to every barrier before
    sorting (12 800 requests for the demo's CD at 1 M people: 510 ms)."""
    shared = access.readable_pathways_clause(actor, minimum=access.RecordAccess.SHARED)
    batch = max(limit, REQUEST_BATCH)
    found: list[tuple[Alert, Beneficiary | None]] = []
    after: tuple | None = None
    while len(found) < limit:
        walk = (
            sa.select(Referral.id, Referral.sent_at, Barrier.pathway_id)
            .join(Barrier, Barrier.id == Referral.barrier_id)
            .join(Pathway, Pathway.id == Barrier.pathway_id)
            .where(access.answerable_referrals_clause(actor), Referral.status == ReferralStatus.SENT)
            .order_by(Referral.sent_at, Referral.id)
            .limit(batch)
        )
        if after is not None:
            walk = walk.where(after_clause([Referral.sent_at, Referral.id], after))
        requests = db.session.execute(walk).all()
        if not requests:
            break
        keys = {f"referral:{rid}": pathway_id for rid, _sent, pathway_id in requests}
        alerts = {
            alert.subject_key: (alert, person)
            for alert, person in db.session.execute(
                sa.select(Alert, Beneficiary)
                .join(Pathway, Pathway.id == Alert.pathway_id)
                # the person only when shared: otherwise not even selected
                .outerjoin(Beneficiary, sa.and_(Beneficiary.id == Pathway.beneficiary_id, shared))
                .where(
                    Alert.pathway_id.in_(sorted(set(keys.values()))),
                    Alert.kind == AlertKind.REFERRAL_UNANSWERED,
                    Alert.status != AlertStatus.RESOLVED,
                    Alert.subject_key.in_(sorted(keys)),
                )
            ).tuples()
            if keys.get(alert.subject_key) == alert.pathway_id
        }
        found.extend(alerts[f"referral:{rid}"] for rid, _sent, _pathway in requests if f"referral:{rid}" in alerts)
        if len(requests) < batch:
            break
        after = (requests[-1].sent_at, requests[-1].id)
    return found[:limit]


def alerts_computed_at(territory_id: int) -> datetime | None:
    """The instant the last follow-up scan of the territory evaluated its rules for (None before the
    first). Writes resolve and raise alerts in their own transaction (app/followup/live.py); the
    deadlines that pass with no write are caught by the scan — hence the date shown on the pages."""
    return db.session.scalar(sa.select(ScanState.last_now).where(ScanState.territory_id == territory_id))


def alerts_list(actor: User, *, status: str = "unresolved", kind: AlertKind | None = None,
                referent_id: int | None = None, window: int | None = None) -> sa.Select:
    """The API's alert list: alerts of the pathways the actor may read, most overdue first.

    `window`: the caller reads no further than this many rows (its page and its capped count), so
    each status is walked in deadline order through `ix_alert_territory_status_due` and stops
    there; the walks are merged by the outer ORDER BY (`status <> 'resolved'` would sort every
    unresolved alert of the territory, 700 000 at 1 M people, for a page of 25)."""
    conditions = [access.readable_pathways_clause(actor, minimum=access.RecordAccess.SHARED)]
    if kind:
        conditions.append(Alert.kind == kind)
    if referent_id:
        conditions.append(Pathway.referent_id == referent_id)
    statuses = [AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED] if status == "unresolved" else [AlertStatus(status)]
    return _walks(actor, conditions, statuses, window)


def overdue_followups(manager: User, *, agency_id: int | None = None, referent_id: int | None = None,
                      window: int | None = None) -> sa.Select:
    """Unresolved follow-up alerts of the pathways a manager steers, oldest deadline first
    (`window` as in `alerts_list`)."""
    conditions = [access.steering_pathways_clause(manager, agency_id=agency_id), Alert.kind.in_(OVERDUE_KINDS)]
    if referent_id:
        conditions.append(Pathway.referent_id == referent_id)
    return _walks(manager, conditions, [AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED], window)


def _walks(actor: User, conditions: list[sa.ColumnElement[bool]], statuses: list[AlertStatus],
           window: int | None) -> sa.Select:
    """Alerts (with their pathway) meeting `conditions` over Alert ⋈ Pathway, one walk per status
    in (due_at, id) order, each stopped at `window` rows, merged in that order."""
    walks = []
    for each in statuses:
        walk = (
            sa.select(Alert.id, Alert.due_at)
            .join(Pathway, Pathway.id == Alert.pathway_id)
            # An alert's territory is its pathway's (the conditions decide who reads): with it, the
            # walk follows the (territory, status, due_at) index.
            .where(
                Alert.territory_id == actor.territory_id,  # not an access rule: the index's first column
                Alert.status == each,
                *conditions,
            )
            .order_by(Alert.due_at, Alert.id)
        )
        walks.append(sa.select(walk.limit(window).subquery() if window else walk.subquery()))
    merged = (walks[0] if len(walks) == 1 else sa.union_all(*walks)).subquery("walks")
    return (
        sa.select(Alert)
        .join(merged, merged.c.id == Alert.id)
        .options(selectinload(Alert.pathway))
        .order_by(merged.c.due_at, merged.c.id)
    )
