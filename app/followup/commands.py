"""`flask scheduler run` (the scheduler process) and `flask scheduler scan [--now ISO]`."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import click
from flask import current_app
from flask.cli import AppGroup

from app.core.observability import start_metrics_server
from app.core.timefmt import ZONE_NAME
from app.followup import steering
from app.followup.digest import send_daily_digest
from app.followup.scan import open_alerts_by_kind, scan_follow_ups
from app.followup.scheduler import blocking_scheduler
from app.transaction import unit_of_work
from app.workspace.retention import apply_retention

scheduler_cli = AppGroup("scheduler", help="Follow-up scheduler: alerts and daily digest.")


def _parse_now(value: str | None) -> datetime:
    if not value:
        return datetime.now(timezone.utc)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            "expected an ISO 8601 date-time, e.g. 2026-03-01T08:00:00+01:00", param_hint="--now"
        ) from None
    if parsed.tzinfo is None:
        raise click.BadParameter("give a time zone offset, e.g. 2026-03-01T08:00:00+01:00", param_hint="--now")
    return parsed


@scheduler_cli.command("run")
def run_command() -> None:
    """Run the scheduler in this process (production: one or more of these, never in gunicorn)."""

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    port = int(app.config.get("SCHEDULER_METRICS_PORT") or 0)
    if port:
        start_metrics_server(port)  # scan durations, alerts raised/resolved: this process's own
        click.echo(f"Metrics on http://127.0.0.1:{port}/metrics")
    click.echo(
        f"Scheduler started: scan every {app.config['SCHEDULER_INTERVAL_MINUTES']} min, "
        f"digest at 07:30 {ZONE_NAME} (failed mails retried every half hour until 19:30). Ctrl-C to stop."
    )
    try:
        blocking_scheduler(app).start()
    except (KeyboardInterrupt, SystemExit):
        click.echo("Scheduler stopped.")


@scheduler_cli.command("scan")
@click.option("--now", "now_text", help="Scan as of this ISO 8601 date-time (default: now).")
def scan_command(now_text: str | None) -> None:
    """Run one follow-up scan by hand."""

    result = scan_follow_ups(_parse_now(now_text))
    click.echo(str(result))
    for kind, count in sorted(open_alerts_by_kind().items()):
        click.echo(f"  {kind.value}: {count} open")


@scheduler_cli.command("digest")
@click.option("--now", "now_text", help="As of this ISO 8601 date-time (default: now).")
def digest_command(now_text: str | None) -> None:
    """Send today's digest to whoever has not had it yet (a second run the same day sends nothing new)."""

    result = send_daily_digest(_parse_now(now_text))
    if result.skipped:
        click.echo(str(result))
        return
    click.echo(f"{result.sent} digest(s) sent, {result.failed} failed (tried again at the next run).")


@scheduler_cli.command("retention")
@click.option("--now", "now_text", help="As of this ISO 8601 date-time (default: now).")
def retention_command(now_text: str | None) -> None:
    """Anonymise expired records, purge expired audit events and mail copies now (normally daily at 03:00)."""

    result = apply_retention(_parse_now(now_text))
    if result.skipped:
        click.echo("Retention skipped: another process is applying it.")
        return
    click.echo(
        f"{result.anonymised_people} record(s) anonymised, {result.purged_audit_events} audit event(s) purged, "
        f"{result.purged_mail_copies} mail copie(s) purged."
    )


@scheduler_cli.command("check-steering-counts")
@click.option("--territory", "territory_id", type=int, help="Only this territory (default: all).")
@click.option("--repair", is_flag=True, help="Recount the counters from the data when they differ.")
def check_steering_counts_command(territory_id: int | None, repair: bool) -> None:
    """Compare « Pilotage »'s counters with a recount of the data (exit 1 if they differ, unless repaired)."""

    with unit_of_work() as session:
        conn = session.connection()
        differences = steering.check_counters(conn, territory_id)
        for d in differences[:50]:
            click.echo(f"  territory {d.territory_id} agency {d.agency_id} referent {d.referent_id} "
                       f"{d.metric}:{d.key}: counted {d.counted}, actual {d.actual}")
        if not differences:
            click.echo("Steering counters are exact.")
            return
        click.echo(f"{len(differences)} counter(s) differ.")
        if repair:
            rows = steering.rebuild_counters(conn, territory_id)
            click.echo(f"Counters rebuilt ({rows} rows).")
            return
    raise SystemExit(1)
