"""The Jinja filters, and the French labels of the enums (the formatters: test_timefmt.py)."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from flask import Flask, render_template_string

from app import labels


@pytest.mark.parametrize("enum_cls", list(labels.LABELS))
def test_every_enum_member_has_a_french_label(enum_cls) -> None:
    mapping = labels.LABELS[enum_cls]
    assert set(mapping) == set(enum_cls), f"{enum_cls.__name__}: labels missing or extra"
    for member in enum_cls:
        assert labels.label(member) == mapping[member]
        assert labels.label(member.value, enum_cls) == mapping[member]


def test_every_enum_of_the_models_is_labelled() -> None:
    import app.models as models
    from app.db_types import StrEnum

    enums = {obj for obj in vars(models).values() if isinstance(obj, type) and issubclass(obj, StrEnum)}
    assert enums - set(labels.LABELS) == set()


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
