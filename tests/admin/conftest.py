"""A territory with its admin, a professional and a manager, and another territory with its own
admin; the outbox of the development mail (`app.core.mail`) in a temporary folder."""
from __future__ import annotations

import re
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from types import SimpleNamespace

import pytest

from app.accounts.models import AgencyKind, Role
from tests.factories import AgencyFactory, TerritoryFactory, UserFactory


@pytest.fixture
def outbox(app, tmp_path, monkeypatch) -> Path:
    monkeypatch.setitem(app.config, "MAIL_OUTBOX_DIR", str(tmp_path))
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    return tmp_path


def mails(outbox: Path) -> list:
    return [message_from_bytes(p.read_bytes(), policy=default_policy) for p in sorted(outbox.glob("*.eml"))]


def invitation_path(mail) -> str:
    body = mail.get_body(("plain",)).get_content()
    match = re.search(r"https?://[^/\s]+(/invitation/[\w-]+)", body)
    assert match, body
    return match.group(1)


@pytest.fixture
def site():
    territory = TerritoryFactory(name="Seine-Saint-Denis")
    council = AgencyFactory(territory=territory, name="Conseil départemental", kind=AgencyKind.DEPARTMENTAL_COUNCIL)
    ft = AgencyFactory(territory=territory, name="France Travail Bobigny", kind=AgencyKind.FRANCE_TRAVAIL)
    admin = UserFactory(agency=council, role=Role.ADMIN, email="admin@cd93.fr", first_name="Alice", last_name="Admin")
    professional = UserFactory(agency=ft, role=Role.PROFESSIONAL, email="pro@ft93.fr")
    manager = UserFactory(agency=council, role=Role.MANAGER, email="manager@cd93.fr")
    other_territory = TerritoryFactory(name="Autre territoire")
    other_agency = AgencyFactory(territory=other_territory, name="CCAS d'ailleurs", kind=AgencyKind.CCAS)
    other_admin = UserFactory(agency=other_agency, role=Role.ADMIN, email="admin@ailleurs.fr")
    other_user = UserFactory(agency=other_agency, email="pro@ailleurs.fr")
    return SimpleNamespace(
        territory=territory, council=council, ft=ft, admin=admin, professional=professional, manager=manager,
        other_territory=other_territory, other_agency=other_agency, other_admin=other_admin, other_user=other_user,
    )
