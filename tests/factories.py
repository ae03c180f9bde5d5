"""factory_boy factories and a few fixtures building consistent worlds."""
from __future__ import annotations

from datetime import date

import factory
import pytest
from factory.alchemy import SQLAlchemyModelFactory

from app.accounts.models import Agency, AgencyKind, Role, Territory, User
from app.accounts.passwords import hash_password
from app.extensions import db
from app.pathways.models import Beneficiary
from app.pathways.search import search_key

PASSWORD = "motdepasse-de-test-123"
_PASSWORD_HASH = hash_password(PASSWORD)


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731 (swapped per test)
        sqlalchemy_session_persistence = "flush"


class TerritoryFactory(BaseFactory):
    class Meta:
        model = Territory

    code = factory.Sequence(lambda n: f"{(n % 900) + 100}")  # never clashes with real codes
    name = factory.LazyAttribute(lambda o: f"Département test {o.code}")


class AgencyFactory(BaseFactory):
    class Meta:
        model = Agency

    territory = factory.SubFactory(TerritoryFactory)
    territory_id = factory.SelfAttribute("territory.id")
    name = factory.Sequence(lambda n: f"Structure {n}")
    kind = AgencyKind.FRANCE_TRAVAIL


class UserFactory(BaseFactory):
    class Meta:
        model = User
        exclude = ("agency",)

    agency = factory.SubFactory(AgencyFactory)
    agency_id = factory.SelfAttribute("agency.id")
    territory_id = factory.SelfAttribute("agency.territory_id")
    email = factory.Sequence(lambda n: f"pro{n}@exemple.fr")
    password_hash = _PASSWORD_HASH
    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    role = Role.PROFESSIONAL


class BeneficiaryFactory(BaseFactory):
    class Meta:
        model = Beneficiary

    territory_id = factory.LazyFunction(lambda: TerritoryFactory().id)
    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    birth_date = date(1985, 4, 12)
    search_name = factory.LazyAttribute(lambda o: search_key(o.last_name, o.first_name))


@pytest.fixture
def make_territory():
    return TerritoryFactory


@pytest.fixture
def make_agency():
    return AgencyFactory


@pytest.fixture
def make_user():
    return UserFactory


@pytest.fixture
def password() -> str:
    return PASSWORD
