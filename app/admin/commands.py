"""`flask territory …`: set up a new territory from the command line (its first admin then runs
it from the web pages of app/admin)."""
from __future__ import annotations

import click
from flask import current_app, url_for
from flask.cli import AppGroup

from app.admin.services import INVITATION_TTL, create_territory
from app.db_types import utcnow
from app.errors import DomainError

territory_cli = AppGroup("territory", help="Gérer les territoires.")


def _link(token: str) -> str:
    # No request here: the link is built on PUBLIC_BASE_URL (the address users reach), else the
    # development server's.
    base = current_app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000"
    with current_app.test_request_context(base_url=base):
        return url_for("invitations.accept", token=token, _external=True)


@territory_cli.command("create")
@click.option("--code", required=True, help="Code du département (par exemple 93 ou 2A).")
@click.option("--name", required=True, help="Nom du territoire (par exemple Seine-Saint-Denis).")
@click.option("--admin-email", required=True, help="Adresse électronique du premier administrateur·rice.")
@click.option("--admin-first-name", default="Administration", show_default=True, help="Son prénom.")
@click.option("--admin-last-name", default=None, help="Son nom (par défaut : le nom du territoire).")
@click.option("--agency-name", default=None,
              help="Sa structure, créée avec le territoire (par défaut : « Conseil départemental — NOM »).")
def create_territory_command(
    code: str, name: str, admin_email: str, admin_first_name: str, admin_last_name: str | None,
    agency_name: str | None,
) -> None:
    """Créer un territoire, son conseil départemental et son premier compte administrateur ;
    l'invitation (lien pour choisir le mot de passe) est envoyée par courriel."""
    links: list[str] = []

    def link_for(token: str) -> str:
        links.append(_link(token))
        return links[-1]

    try:
        invited = create_territory(
            code=code, name=name, admin_email=admin_email, now=utcnow(), link_for=link_for,
            admin_first_name=admin_first_name, admin_last_name=admin_last_name or name,
            agency_name=agency_name,
        )
    except DomainError as exc:
        messages = [str(m) for msgs in (exc.errors or {}).values() for m in msgs if str(m) != exc.message]
        details = " ".join(f"{field} : {msg}" for field, msgs in (exc.errors or {}).items() for msg in msgs
                           if str(msg) in messages)
        raise click.ClickException(f"{exc.message} {details}".strip()) from None
    user = invited.user
    territory = user.territory
    click.echo(f"Territoire créé : {territory.name} ({territory.code}), structure « {user.agency.name} ».")
    if invited.mailed:
        click.echo(f"Invitation envoyée à {user.email} (lien valable {INVITATION_TTL.days} jours).")
    else:
        # Nobody could resend it from the web (this is the territory's only admin): the operator
        # gets the link here, to pass on by another channel.
        click.echo(f"Le courriel n'a pas pu être envoyé à {user.email} (serveur de messagerie "
                   f"injoignable). Transmettez-lui ce lien, valable {INVITATION_TTL.days} jours : {links[-1]}",
                   err=True)
