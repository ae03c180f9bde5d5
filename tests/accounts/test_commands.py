"""`flask users create`."""
from __future__ import annotations

import sqlalchemy as sa

from app.accounts.models import Role, User
from app.accounts.passwords import verify_password
from app.extensions import db

PASSWORD = "un-mot-de-passe-solide"


def invoke_create(runner, agency, email="nouveau@exemple.fr", **options):
    args = ["users", "create", "--email", email, "--first-name", "Léa", "--last-name", "Petit",
            "--agency", str(options.pop("agency_ref", agency.id)), "--role", options.pop("role", "manager")]
    if options.pop("stdin", True):
        args.append("--password-stdin")
    return runner.invoke(args=args, input=options.pop("input", PASSWORD + "\n"))


def test_users_create_creates_an_account(runner, make_agency) -> None:
    agency = make_agency()
    result = invoke_create(runner, agency)
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User).where(User.email == "nouveau@exemple.fr"))
    assert user is not None
    assert user.role == Role.MANAGER
    assert user.agency_id == agency.id
    assert verify_password(user.password_hash, PASSWORD)


def test_users_create_finds_the_agency_by_exact_name(runner, make_agency) -> None:
    agency = make_agency(name="Mission locale du Val")
    result = invoke_create(runner, agency, agency_ref="Mission locale du Val")
    assert result.exit_code == 0, result.output


def test_users_create_prompts_twice_for_the_password(runner, make_agency) -> None:
    result = invoke_create(runner, make_agency(), stdin=False, input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output


def test_users_create_refuses_a_duplicate_email(runner, make_agency, make_user) -> None:
    make_user(email="deja@exemple.fr")
    result = invoke_create(runner, make_agency(), email="Deja@exemple.fr")
    assert result.exit_code != 0
    assert "Un compte existe déjà avec cette adresse électronique." in result.output


def test_users_create_refuses_a_short_password(runner, make_agency) -> None:
    result = invoke_create(runner, make_agency(), input="court\n")
    assert result.exit_code != 0
    assert "au moins" in result.output


def test_users_create_refuses_an_unknown_agency(runner, make_agency) -> None:
    result = invoke_create(runner, make_agency(), agency_ref="999999")
    assert result.exit_code != 0
    assert "Aucune structure" in result.output
