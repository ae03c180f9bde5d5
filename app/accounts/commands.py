"""`flask users …`: account administration from the command line."""
from __future__ import annotations

import sys

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from app.accounts.models import Agency, Role
from app.accounts.services import create_user, deactivate_user, find_user_by_email
from app.db_types import utcnow
from app.errors import DomainError
from app.extensions import db

users_cli = AppGroup("users", help="Gérer les comptes des professionnels.")


def _find_agency(reference: str) -> Agency:
    """An agency by id, or by exact name when that name is unique across territories."""
    reference = reference.strip()
    if reference.isdigit():
        agency = db.session.get(Agency, int(reference))
        if agency is None:
            raise click.ClickException(f"Aucune structure n'a l'identifiant {reference}.")
        return agency
    agencies = db.session.scalars(sa.select(Agency).where(Agency.name == reference)).all()
    if not agencies:
        raise click.ClickException(f"Aucune structure ne s'appelle « {reference} ».")
    if len(agencies) > 1:
        ids = ", ".join(str(a.id) for a in agencies)
        raise click.ClickException(
            f"Plusieurs structures s'appellent « {reference} » (identifiants {ids}) ; donnez l'identifiant."
        )
    return agencies[0]


@users_cli.command("create")
@click.option("--email", required=True, help="Adresse électronique (identifiant de connexion).")
@click.option("--first-name", required=True, help="Prénom.")
@click.option("--last-name", required=True, help="Nom.")
@click.option("--agency", "agency_ref", required=True, help="Structure : identifiant ou nom exact.")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default=Role.PROFESSIONAL.value,
    show_default=True,
    help="Rôle du compte.",
)
@click.option("--password-stdin", is_flag=True, help="Lire le mot de passe sur l'entrée standard.")
def create_user_command(
    email: str, first_name: str, last_name: str, agency_ref: str, role: str, password_stdin: bool
) -> None:
    """Créer un compte ; le mot de passe est demandé deux fois (ou lu sur l'entrée standard)."""
    agency = _find_agency(agency_ref)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Mot de passe", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(
            agency=agency,
            email=email,
            first_name=first_name,
            last_name=last_name,
            role=role,
            password=password,
        )
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Compte créé : {user.email} (id {user.id}, {user.role.value}, structure « {agency.name} »).")


@users_cli.command("deactivate")
@click.option("--email", required=True, help="Adresse électronique du compte à désactiver.")
def deactivate_user_command(email: str) -> None:
    """Désactiver un compte : il ne peut plus se connecter ; ses sessions et jetons sont fermés."""
    user = find_user_by_email(email)
    if user is None:
        raise click.ClickException("Aucun compte n'a cette adresse électronique.")
    revoked = deactivate_user(user, now=utcnow())
    click.echo(
        f"Compte désactivé : {user.email} ({revoked['sessions']} session(s) et "
        f"{revoked['api_tokens']} jeton(s) d'API fermés)."
    )
