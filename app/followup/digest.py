"""The daily digest: each referent receives the list of their open alerts, most overdue first.

Sent by SMTP when MAIL_SERVER is set; otherwise (development) written to MAIL_OUTBOX_DIR as .eml.
Holds names and kinds of alerts only, never note content.
"""
from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from itertools import groupby
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.dates import format_date
from flask import current_app

from app.accounts.models import User
from app.core.mail import deliver
from app.extensions import db
from app.followup.models import Alert, AlertStatus
from app.labels import label
from app.pathways.models import Beneficiary, Pathway

PARIS = ZoneInfo("Europe/Paris")


def _digest_rows(now: datetime) -> list[tuple[User, Alert, Beneficiary]]:
    query = (
        sa.select(User, Alert, Beneficiary)
        .join(Pathway, Pathway.referent_id == User.id)
        .join(Alert, Alert.pathway_id == Pathway.id)
        .join(Beneficiary, Beneficiary.id == Pathway.beneficiary_id)
        .where(Alert.status != AlertStatus.RESOLVED, Pathway.closed_at.is_(None), User.is_active_account.is_(True))
        .order_by(User.id, Alert.due_at, Alert.id)
    )
    return list(db.session.execute(query).tuples())


def build_digest(user: User, items: list[tuple[Alert, Beneficiary]], now: datetime) -> EmailMessage:
    today = format_date(now.astimezone(PARIS).date(), format="full", locale="fr_FR")
    lines = [
        f"Bonjour {user.first_name},",
        "",
        f"Voici les suivis qui demandent votre attention ce {today} "
        f"({len(items)} alerte{'s' if len(items) > 1 else ''}), les plus en retard d'abord :",
        "",
    ]
    for alert, person in items:
        due = format_date(alert.due_at.astimezone(PARIS).date(), format="d MMMM yyyy", locale="fr_FR")
        ack = " (déjà vue)" if alert.status == AlertStatus.ACKNOWLEDGED else ""
        lines.append(f"- {person.first_name} {person.last_name} : {label(alert.kind)}, échéance le {due}{ack}")
    lines += ["", "Retrouvez-les dans Parcours, rubrique « Mes alertes ».", "", "— Parcours"]
    message = EmailMessage()
    message["Subject"] = f"Parcours — {len(items)} suivi{'s' if len(items) > 1 else ''} à reprendre"
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = user.email
    message.set_content("\n".join(lines))
    return message


def send_daily_digest(now: datetime) -> int:
    """Send one digest per referent with open alerts; return how many were sent."""
    sent = 0
    for user, rows in groupby(_digest_rows(now), key=lambda row: row[0]):
        items = [(alert, person) for _, alert, person in rows]
        deliver(build_digest(user, items, now))
        sent += 1
    return sent
