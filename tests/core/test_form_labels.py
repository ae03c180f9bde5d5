"""Schemas own their fields' French labels: every field a form page renders by name
(`form_input(form, "…")`, `form_select`…) is a field of the page's schema, with a label there."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.barriers import schemas as barriers
from app.meetings import schemas as meetings
from app.pathways import schemas as pathways
from app.pathways.views import StageSchema

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
PAGES = {
    "pathways/create_person.html": pathways.PersonFormSchema,
    "pathways/orient.html": pathways.OrientSchema,
    "pathways/stage.html": StageSchema,
    "pathways/hand_over.html": pathways.AssignReferentSchema,
    "pathways/consent.html": pathways.ConsentSchema,
    "pathways/contract.html": pathways.ContractSchema,
    "pathways/entry.html": pathways.EntrySchema,
    "pathways/employment.html": pathways.EmploymentSchema,
    "pathways/close.html": pathways.CloseSchema,
    "meetings/log.html": meetings.LogMeetingSchema,
    "meetings/plan.html": meetings.PlanMeetingSchema,
    "meetings/cancel.html": meetings.CancelMeetingSchema,
    "barriers/add.html": barriers.BarrierSchema,
    "barriers/update.html": barriers.BarrierUpdateSchema,
    "barriers/refer.html": barriers.ReferralSchema,
    "barriers/answer.html": barriers.ReferralAnswerSchema,
}
FIELD = re.compile(r'form_(?:input|select|textarea|radios)\(form, "(\w+)"')


@pytest.mark.parametrize("template", sorted(PAGES))
def test_every_rendered_field_is_labelled_by_its_schema(template: str) -> None:
    schema = PAGES[template]
    names = FIELD.findall((TEMPLATES / template).read_text(encoding="utf-8"))
    assert names, f"{template} renders no field by name"
    for name in names:
        assert name in schema().fields, f"{template}: {name} is not a field of {schema.__name__}"
        assert schema.LABELS.get(name), f"{schema.__name__} has no French label for {name}"


def test_no_form_page_writes_a_label_itself() -> None:
    """A label written in a template drifts from the schema's: fields are rendered by name."""
    for template in PAGES:
        text = (TEMPLATES / template).read_text(encoding="utf-8")
        assert not re.search(r'\{\{\s*(input|select|textarea|radios)\(\s*"', text), template
