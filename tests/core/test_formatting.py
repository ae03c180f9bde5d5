"""The Jinja filters, and the French labels of the enums (the formatters: test_timefmt.py)."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from flask import Flask, render_template_string, url_for

from app import labels
from app.core.formatting import with_query
from app.db_types import StrEnum


def _domain_enums() -> list[type[StrEnum]]:
    """Every StrEnum of the features' models (and their subclasses), once app.models is imported."""
    import app.models  # noqa: F401

    found, todo = [], list(StrEnum.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted((c for c in found if c.__module__.startswith("app.")), key=lambda c: c.__name__)


@pytest.mark.parametrize("enum_cls", _domain_enums(), ids=lambda c: c.__name__)
def test_every_enum_member_has_a_french_label(enum_cls) -> None:
    for member in enum_cls:
        assert isinstance(member.label, str) and member.label.strip(), f"{enum_cls.__name__}.{member.name}: no label"
        assert member.label != member.value, f"{enum_cls.__name__}.{member.name}: the label is the code"
        assert labels.label(member) == member.label
        assert labels.label(member.value, enum_cls) == member.label
    assert labels.choices(enum_cls) == [(m.value, m.label) for m in enum_cls]


def test_every_enum_of_the_models_is_labelled() -> None:
    import app.models as models

    exported = {obj for obj in vars(models).values() if isinstance(obj, type) and issubclass(obj, StrEnum)}
    assert len(exported) >= 20 and exported <= set(_domain_enums())


def test_a_value_without_a_label_is_refused() -> None:
    with pytest.raises(TypeError, match="French label"):
        class Unlabelled(StrEnum):
            PLAIN = "plain"


def test_labels_import_no_model() -> None:
    """app.labels sits low: it reads the labels the enums carry, and imports no feature."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(labels.__file__).read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert {name for name in imported if name.startswith("app")} == {"app.db_types"}


def test_some_labels_read_as_the_professionals_say_them() -> None:
    from app.models import AlertKind, BarrierCategory, ContractKind, MeetingStatus, Visibility

    assert labels.label(AlertKind.FOLLOW_UP_OVERDUE) == "Suivi en retard"
    assert labels.label(BarrierCategory.LANGUAGE) == "Maîtrise du français"
    assert labels.label(MeetingStatus.MISSED) == "Absent·e"
    assert labels.label(Visibility.REFERENT) == "Référent uniquement"
    assert "CER" in labels.label(ContractKind.CER)
    assert labels.label(None) == ""
    assert labels.label("inconnu", AlertKind) == "inconnu"


def test_filters_are_registered_in_templates(app: Flask) -> None:
    from app.models import Stage

    with app.test_request_context():
        out = render_template_string(
            "{{ d|date_fr }}|{{ t|datetime_fr }}|{{ d|date_short }}|{{ s|label }}"
            "|{{ now_utc.tzinfo is not none }}",
            d=date(2026, 3, 12), t=datetime(2026, 3, 12, 13, 30, tzinfo=UTC), s=Stage.SUPPORT,
        )
    assert out == "12 mars 2026|12 mars 2026 à 14:30|12/03/2026|Accompagnement|True"


def test_a_date_at_the_end_of_time_is_still_shown(app) -> None:
    """A meeting stored at 9999-12-31 23:30 UTC (before dates were bounded) must not break a page."""
    with app.test_request_context():
        out = render_template_string("{{ t|datetime_fr }}", t=datetime(9999, 12, 31, 23, 30, tzinfo=UTC))
    assert "9999" in out


@pytest.mark.parametrize("params", [
    {},
    {"type": "orientation_late", "structure": None, "referent": 5},
    {"structure": 3, "referent": None},
    {"type": "a b&c=é", "referent": 0},
])
def test_with_query_gives_what_url_for_gives(app: Flask, params: dict) -> None:
    """A long table's links built from one `url_for` (« Pilotage »): the same as `url_for` with the
    same query arguments (their order kept, unset ones left out, values encoded)."""
    with app.test_request_context():
        base = url_for("followup.list_view", name="alertes")
        assert with_query(base, **params) == url_for("followup.list_view", name="alertes", **params)
