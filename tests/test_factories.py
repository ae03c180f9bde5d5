"""Every model has a factory, and every factory and trait builds a row the database accepts."""
from __future__ import annotations

import pytest

from app.extensions import db
from tests import factories

FACTORIES = {
    f._meta.model: f
    for f in vars(factories).values()
    if isinstance(f, type) and issubclass(f, factories.BaseFactory) and not f._meta.abstract
}


def _traits(factory_class) -> list[str]:
    import factory

    return [name for name, value in factory_class._meta.parameters.items() if isinstance(value, factory.Trait)]


def test_every_model_has_a_factory() -> None:
    models = {mapper.class_ for mapper in db.Model.registry.mappers}
    assert sorted(m.__name__ for m in models - set(FACTORIES)) == []


@pytest.mark.parametrize(
    ("factory_class", "trait"),
    [(f, None) for f in FACTORIES.values()] + [(f, t) for f in FACTORIES.values() for t in _traits(f)],
    ids=lambda value: value.__name__ if isinstance(value, type) else str(value),
)
def test_the_factory_builds_a_row_the_database_accepts(factory_class, trait) -> None:
    row = factory_class(**({trait: True} if trait else {}))
    db.session.flush()
    assert db.session.get(type(row), db.inspect(row).identity) is row
