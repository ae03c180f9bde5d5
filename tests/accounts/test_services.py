"""The accounts services: authenticate and create_user."""
from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from app.accounts import services
from app.accounts.models import Role, User
from app.accounts.passwords import MIN_PASSWORD_LENGTH, verify_password
from app.accounts.services import authenticate, create_user
from app.audit.models import AuditEvent
from app.errors import Conflict, Forbidden, ValidationError
from app.extensions import db

GOOD_PASSWORD = "un-mot-de-passe-solide"


def test_authenticate_returns_the_user_and_stamps_the_login(make_user, password: str, now: datetime) -> None:
    user = make_user(email="ana@exemple.fr")
    assert authenticate("ANA@exemple.fr", password, now) == user
    assert user.last_login_at == now


def test_authenticate_refuses_bad_credentials(make_user, password: str, now: datetime) -> None:
    user = make_user()
    assert authenticate(user.email, "mauvais", now) is None
    assert authenticate("inconnu@exemple.fr", password, now) is None
    assert authenticate("", password, now) is None
    assert user.last_login_at is None


def test_authenticate_refuses_inactive_accounts(make_user, password: str, now: datetime) -> None:
    user = make_user(is_active_account=False)
    assert authenticate(user.email, password, now) is None


def test_unknown_email_still_verifies_a_hash(monkeypatch, now: datetime) -> None:
    calls = []
    real = services.verify_password
    monkeypatch.setattr(services, "verify_password", lambda h, p: calls.append(h) or real(h, p))
    assert authenticate("inconnu@exemple.fr", "x", now) is None
    assert calls == [services.DUMMY_HASH]


def test_authenticate_rehashes_outdated_hashes(make_user, now: datetime) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(GOOD_PASSWORD)
    user = make_user(password_hash=weak)
    assert authenticate(user.email, GOOD_PASSWORD, now) == user
    assert user.password_hash != weak
    assert verify_password(user.password_hash, GOOD_PASSWORD)


def test_create_user_stores_an_argon2_hash_and_audits(make_agency) -> None:
    agency = make_agency()
    user = create_user(
        agency=agency, email=" Nina.Roux@Exemple.FR ", first_name="Nina", last_name="Roux",
        role="manager", password=GOOD_PASSWORD,
    )
    db.session.expire_all()
    stored = db.session.get(User, user.id)
    assert stored.email == "nina.roux@exemple.fr"
    assert stored.role == Role.MANAGER
    assert stored.territory_id == agency.territory_id
    assert stored.password_hash.startswith("$argon2id$")
    assert GOOD_PASSWORD not in stored.password_hash
    assert verify_password(stored.password_hash, GOOD_PASSWORD)
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.create"))
    assert event is not None and event.object_id == user.id


def test_create_user_refuses_a_duplicate_email_case_insensitively(make_agency, make_user) -> None:
    make_user(email="deja@exemple.fr")
    with pytest.raises(Conflict) as excinfo:
        create_user(agency=make_agency(), email="DEJA@exemple.fr", first_name="A", last_name="B",
                    role=Role.PROFESSIONAL, password=GOOD_PASSWORD)
    assert excinfo.value.field == "email"
    assert "existe déjà" in excinfo.value.message


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email": "pas-une-adresse"}, "email"),
        ({"email": ""}, "email"),
        ({"password": "x" * (MIN_PASSWORD_LENGTH - 1)}, "password"),
        ({"first_name": "  "}, "first_name"),
        ({"last_name": "x" * 81}, "last_name"),
        ({"role": "superuser"}, "role"),
    ],
)
def test_create_user_validates_fields(make_agency, changes: dict, field: str) -> None:
    kwargs = {"email": "ok@exemple.fr", "first_name": "A", "last_name": "B", "role": "professional",
              "password": GOOD_PASSWORD, **changes}
    with pytest.raises(ValidationError) as excinfo:
        create_user(agency=make_agency(), **kwargs)
    assert excinfo.value.field == field
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_create_user_refuses_an_inactive_agency(make_agency) -> None:
    with pytest.raises(ValidationError) as excinfo:
        create_user(agency=make_agency(is_active=False), email="a@exemple.fr", first_name="A",
                    last_name="B", role="professional", password=GOOD_PASSWORD)
    assert excinfo.value.field == "agency"


def test_create_user_refuses_an_actor_of_another_territory(make_agency, make_user) -> None:
    admin = make_user(role=Role.ADMIN)
    with pytest.raises(Forbidden):
        create_user(agency=make_agency(), email="a@exemple.fr", first_name="A", last_name="B",
                    role="professional", password=GOOD_PASSWORD, actor=admin)


def test_a_concurrent_duplicate_becomes_a_conflict(make_agency, make_user, monkeypatch) -> None:
    """The database's unique index is the last word: its IntegrityError never escapes."""
    make_user(email="course@exemple.fr")
    monkeypatch.setattr(services, "find_user_by_email", lambda email: None)  # lost the race
    with pytest.raises(Conflict):
        create_user(agency=make_agency(), email="course@exemple.fr", first_name="A", last_name="B",
                    role="professional", password=GOOD_PASSWORD)
