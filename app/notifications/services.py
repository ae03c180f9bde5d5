"""Notifications to professionals: recorded in the write's transaction, sent later by a job.

`notify(...)` is called by the services that send or answer a referral, hand over a pathway or ask
to join a team, inside their `unit_of_work()`: the rows are committed with the write, or not at all
when it is refused. `send_pending_notifications(now)` (the scheduler, every minute, and
`flask notifications send`) sends what is due, one mail per row, each marked sent in its own
transaction right after the mail server took it; a failed mail is retried with a backoff (1, 5, 15,
60 minutes) and marked failed after `MAX_ATTEMPTS`; one failure never stops the others.

The mail (French, HTML and text) is built when it is sent from ids: the record number, the
person's first name and initial, who did what, a link on PUBLIC_BASE_URL — never a note nor a
message typed by a user.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import sqlalchemy as sa
from flask import current_app, render_template, url_for

from app.accounts.models import Role, User
from app.audit.services import record_event
from app.barriers.models import Referral, ReferralStatus
from app.core.mail import deliver
from app.extensions import db
from app.followup.models import Alert, AlertStatus
from app.labels import label
from app.notifications.models import Notification, NotificationEvent, NotificationStatus
from app.pathways.models import Pathway, ReferentAssignment, TeamJoinRequest
from app.transaction import NOTIFICATIONS_LOCK_KEY, advisory_lock, in_unit_of_work, unit_of_work

log = logging.getLogger("parcours.notifications")

# Waits before the 2nd, 3rd, 4th and 5th attempts; after the 5th failure the row is `failed`.
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(minutes=60))
MAX_ATTEMPTS = len(BACKOFF) + 1
# A row claimed by a run that died (between the claim and the outcome) is tried again after this.
CLAIM_TIMEOUT = timedelta(minutes=15)
BATCH = 200

# --- preferences ----------------------------------------------------------------------------------

def muted_events(user: User) -> set[str]:
    return {code for code in (user.muted_notifications or "").split(",") if code}


def wants(user: User, event: NotificationEvent) -> bool:
    return user.is_active_account and event.value not in muted_events(user)


def update_preferences(user: User, data: dict[str, Any], *, now: datetime) -> User:
    """« Mon compte »: alerts (`daily` digest, `immediate` mails or `none`) and the events kept on; audited (the
    choices only). A professional only ever changes their own: the caller passes `current_user`."""
    kept = set(data.get("events") or [])
    # Alerts follow the digest choice (« Dès qu'une alerte apparaît »), not a checkbox.
    muted = ",".join(event.value for event in NotificationEvent
                     if event.value not in kept and event != NotificationEvent.ALERT_RAISED)
    with unit_of_work():
        user.alert_digest = data["alert_digest"]
        user.muted_notifications = muted
        record_event(user, "user.notification_preferences_changed", object_type="user", object_id=user.id, at=now,
                     details={"alert_digest": user.alert_digest, "muted": sorted(filter(None, muted.split(",")))})
    return user


# --- recording, in the write's transaction ------------------------------------------------------------

def notify(event: NotificationEvent, recipients: Iterable[User], *, pathway: Pathway, object_id: int,
           actor: User | None, now: datetime) -> list[Notification]:
    """Add one pending row per recipient (never the actor themself, an inactive account or one
    that muted this event) to the current transaction; a key already recorded adds nothing."""
    if not in_unit_of_work():
        raise RuntimeError("notify() belongs inside the write's unit_of_work()")
    recipients = list(recipients)
    prefix = f"{event.value}:{object_id}:"
    recorded = set(db.session.scalars(  # one query, however many recipients (a whole agency)
        sa.select(Notification.key).where(Notification.key.in_([f"{prefix}{u.id}" for u in recipients if u]))
    ))
    rows = []
    seen: set[int] = set()
    for user in recipients:
        # Not the actor: one is not told of what one did oneself.
        if user is None or user.id in (seen | {getattr(actor, 'id', None)}):  # not an access rule: who is told
            continue
        seen.add(user.id)
        if not wants(user, event):
            continue
        key = f"{prefix}{user.id}"
        if key in recorded:
            continue
        rows.append({"territory_id": pathway.territory_id, "key": key, "event": event, "user_id": user.id,
                     "pathway_id": pathway.id, "object_id": object_id,
                     "actor_id": actor.id if actor is not None else None,
                     "status": NotificationStatus.PENDING, "attempts": 0, "next_attempt_at": now, "created_at": now})
    if not rows:
        return []
    # One multi-row INSERT (a whole agency may be told: 1 700 accounts in the 1 M demo's CCAS, where
    # one ORM object per row cost 0.4 s of CPU per referral).
    return list(db.session.scalars(sa.insert(Notification).returning(Notification), rows))


def referral_recipients(referral: Referral) -> list[User]:
    """Who hears of a referral sent to an agency: its active professionals and managers (any of
    them may answer it: access.can_answer_referral); never its admins, who do not work on records."""
    return list(db.session.scalars(
        sa.select(User).where(
            User.agency_id == referral.agency_id,  # not an access rule: who is told
            User.is_active_account.is_(True),
            User.role.in_([Role.PROFESSIONAL, Role.MANAGER]),  # not an access rule: who is told
        ).order_by(User.id)
    ))


# --- building the mail, when it is sent --------------------------------------------------------------

def _link(endpoint: str, **values: Any) -> str:
    """An absolute link on PUBLIC_BASE_URL (no request here: the job runs in the scheduler)."""
    base = current_app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000"
    with current_app.test_request_context(base_url=base):
        return url_for(endpoint, _external=True, **values)


def _name(user: User | None) -> str:
    return f"{user.first_name} {user.last_name}" if user is not None else "un·e professionnel·le"


def _person(pathway: Pathway) -> str:
    person = pathway.beneficiary
    return f"{person.first_name} {person.last_name[:1]}."


@dataclass
class Mail:
    subject: str
    template: str
    context: dict[str, Any]


def _compose(row: Notification) -> Mail:
    pathway = db.session.get(Pathway, row.pathway_id)
    actor = db.session.get(User, row.actor_id) if row.actor_id else None
    context: dict[str, Any] = {"pathway_id": pathway.id, "person": _person(pathway), "actor": _name(actor),
                               "actor_agency": actor.agency.name if actor is not None else ""}
    record = {"pathway_id": pathway.id}
    if row.event == NotificationEvent.REFERRAL_SENT:
        referral = db.session.get(Referral, row.object_id)
        context.update(category=label(referral.barrier.category), has_message=bool(referral.message),
                       link=_link("barriers.answer_referral", referral_id=referral.id))
        subject = f"Parcours — une orientation pour votre structure (parcours n° {pathway.id})"
    elif row.event == NotificationEvent.REFERRAL_ANSWERED:
        referral = db.session.get(Referral, row.object_id)
        context.update(category=label(referral.barrier.category), agency=referral.agency.name,
                       accepted=referral.status in (ReferralStatus.ACCEPTED, ReferralStatus.DONE),
                       reason=label(referral.decline_reason) if referral.decline_reason else None,
                       link=_link("pathways.record", onglet="freins", **record))
        subject = f"Parcours — réponse à votre orientation (parcours n° {pathway.id})"
    elif row.event in (NotificationEvent.PATHWAY_HANDED_TO, NotificationEvent.PATHWAY_TAKEN_FROM):
        assignment = db.session.get(ReferentAssignment, row.object_id)
        new_referent = db.session.get(User, assignment.user_id)
        previous = db.session.scalar(
            sa.select(ReferentAssignment).where(
                ReferentAssignment.pathway_id == pathway.id, ReferentAssignment.started_at <= assignment.started_at,
                ReferentAssignment.id != assignment.id,
            ).order_by(ReferentAssignment.started_at.desc(), ReferentAssignment.id.desc()).limit(1)
        )
        previous_user = db.session.get(User, previous.user_id) if previous is not None else None
        context.update(new_referent=_name(new_referent), new_agency=new_referent.agency.name,
                       previous=_name(previous_user) if previous_user is not None else None,
                       with_note=assignment.note is not None,
                       link=_link("pathways.record", **record))
        if row.event == NotificationEvent.PATHWAY_HANDED_TO:
            subject = f"Parcours — le parcours n° {pathway.id} vous est confié"
        else:
            subject = f"Parcours — le parcours n° {pathway.id} a changé de référent"
    elif row.event == NotificationEvent.TEAM_JOIN_REQUESTED:
        request = db.session.get(TeamJoinRequest, row.object_id)
        context.update(agency=request.agency.name, has_message=bool(request.message),
                       link=_link("pathways.record", onglet="equipe", **record))
        subject = f"Parcours — demande pour rejoindre l'équipe du parcours n° {pathway.id}"
    elif row.event == NotificationEvent.ALERT_RAISED:
        alert = db.session.get(Alert, row.object_id)
        context.update(kind=label(alert.kind), due_at=alert.due_at, resolved=alert.status == AlertStatus.RESOLVED,
                       link=_link("followup.my_alerts"), record_link=_link("pathways.record", **record))
        subject = f"Parcours — alerte « {label(alert.kind)} » (parcours n° {pathway.id})"
    else:  # pragma: no cover - every event has its mail
        raise ValueError(row.event)
    return Mail(subject, row.event.value.replace(".", "_"), context)


def build_message(row: Notification) -> EmailMessage:
    user = db.session.get(User, row.user_id)
    mail = _compose(row)
    context = {**mail.context, "first_name": user.first_name}
    message = EmailMessage()
    message["Subject"] = mail.subject
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = user.email
    message.set_content(render_template(f"notifications/{mail.template}.txt", **context))
    message.add_alternative(render_template(f"notifications/{mail.template}.html", **context), subtype="html")
    return message


# --- sending, by the job ------------------------------------------------------------------------------

@dataclass
class SendResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: bool = False

    def __str__(self) -> str:
        if self.skipped:
            return "notifications: skipped, another run is sending"
        return f"notifications: {self.sent} sent, {self.retried} to retry, {self.failed} failed"


_table = Notification.__table__


def _claim(row_id: int, now: datetime) -> int | None:
    """Take a due row for this run (a conditional UPDATE: one run only); its attempt number, or None."""
    with unit_of_work() as session:
        claimed = session.execute(
            sa.update(_table)
            .where(_table.c.id == row_id, _table.c.status == NotificationStatus.PENDING.value,
                   _table.c.next_attempt_at <= now)
            .values(attempts=_table.c.attempts + 1, next_attempt_at=now + CLAIM_TIMEOUT)
        )
        if claimed.rowcount != 1:
            return None
        return session.scalar(sa.select(_table.c.attempts).where(_table.c.id == row_id))


def _finish(row_id: int, **values: Any) -> None:
    with unit_of_work() as session:
        session.execute(sa.update(_table).where(_table.c.id == row_id).values(**values))


# Alerts raised longer ago than this are not mailed one by one any more (a professional who has just
# chosen « Dès qu'une alerte apparaît » is not sent a backlog: « Mes alertes » shows it).
IMMEDIATE_WINDOW = timedelta(hours=24)


def enqueue_immediate_alerts(now: datetime) -> int:
    """One pending row per open alert raised in the last day on a pathway whose referent chose
    « Dès qu'une alerte apparaît » — whether the scan or a write raised it. Set-based and once-only
    (the key), so every run of the job may call it; returns how many rows it added."""
    key = (sa.literal("alert.raised:", sa.String) + sa.cast(Alert.id, sa.String) + ":"
           + sa.cast(User.id, sa.String))  # `||` on both databases
    candidates = (
        sa.select(Pathway.territory_id, key.label("key"), Alert.id, User.id, Pathway.id)
        .select_from(Alert)
        .join(Pathway, Pathway.id == Alert.pathway_id)
        .join(User, User.id == Pathway.referent_id)  # not an access rule: who is told (the referent)
        .where(
            Alert.status != AlertStatus.RESOLVED, Alert.raised_at >= now - IMMEDIATE_WINDOW,
            Pathway.closed_at.is_(None), User.is_active_account.is_(True), User.alert_digest == "immediate",
            ~sa.exists().where(_table.c.key == key),
        )
    )
    rows = db.session.execute(candidates).all()
    if not rows:
        return 0
    with unit_of_work() as session:
        session.execute(sa.insert(_table), [
            {"territory_id": territory_id, "key": row_key, "event": NotificationEvent.ALERT_RAISED.value,
             "user_id": user_id, "pathway_id": pathway_id, "object_id": alert_id, "actor_id": None,
             "status": NotificationStatus.PENDING.value, "attempts": 0, "next_attempt_at": now, "created_at": now}
            for territory_id, row_key, alert_id, user_id, pathway_id in rows
        ])
    return len(rows)


def send_pending_notifications(now: datetime) -> SendResult:
    """Send every notification due at `now`; each row is marked in its own transaction."""
    if now.tzinfo is None:
        raise ValueError("the notifications job needs an aware datetime")
    result = SendResult()
    with advisory_lock(NOTIFICATIONS_LOCK_KEY) as acquired:
        if not acquired:
            result.skipped = True
            return result
        enqueue_immediate_alerts(now)
        due = db.session.scalars(
            sa.select(_table.c.id)
            .where(_table.c.status == NotificationStatus.PENDING.value, _table.c.next_attempt_at <= now)
            .order_by(_table.c.next_attempt_at, _table.c.id).limit(BATCH)
        ).all()
        for row_id in due:
            attempt = _claim(row_id, now)
            if attempt is None:
                continue
            try:
                row = db.session.get(Notification, row_id)
                user = db.session.get(User, row.user_id)
                if user is None or not user.is_active_account:
                    _finish(row_id, status=NotificationStatus.FAILED.value, last_error="InactiveAccount")
                    result.failed += 1
                    continue
                message = build_message(row)
                deliver(message)
            except Exception as exc:  # one failed mail must not stop the others
                if isinstance(exc, sa.exc.SQLAlchemyError):
                    db.session.rollback()
                error = type(exc).__name__
                if attempt >= MAX_ATTEMPTS:
                    _finish(row_id, status=NotificationStatus.FAILED.value, last_error=error)
                    result.failed += 1
                else:
                    _finish(row_id, next_attempt_at=now + BACKOFF[attempt - 1], last_error=error)
                    result.retried += 1
                log.warning("notification %s not sent (attempt %s, %s)", row_id, attempt, error)
            else:
                _finish(row_id, status=NotificationStatus.SENT.value, sent_at=now, last_error=None)
                result.sent += 1
    return result
