"""`flask notifications send [--now ISO]`: send the notifications due now (the scheduler does it every minute)."""
from __future__ import annotations

from datetime import datetime, timezone

import click
from flask.cli import AppGroup

from app.notifications.services import send_pending_notifications

notifications_cli = AppGroup("notifications", help="Notifications aux professionnels.")


@notifications_cli.command("send")
@click.option("--now", "now_value", default=None, help="Date-heure ISO 8601 avec fuseau (par défaut : maintenant).")
def send_command(now_value: str | None) -> None:
    """Send the pending notifications that are due (retries included)."""
    now = datetime.now(timezone.utc)
    if now_value:
        try:
            now = datetime.fromisoformat(now_value)
        except ValueError:
            raise click.BadParameter("date-heure ISO 8601 attendue, par exemple 2026-03-01T08:00:00+01:00",
                                     param_hint="--now") from None
        if now.tzinfo is None:
            raise click.BadParameter("indiquez le fuseau, par exemple 2026-03-01T08:00:00+01:00", param_hint="--now")
    click.echo(str(send_pending_notifications(now)))
