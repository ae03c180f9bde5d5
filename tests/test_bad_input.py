"""Bad input anywhere answers 4xx in French naming the field, writes nothing, never a 500 (DESIGN
§3.8): control characters in every text field of every HTML form and API payload, dates out of
their bounds, page parameters, ids that cannot exist. Real HTTP through the test client, on the
test database (run it on PostgreSQL too: NUL bytes and integer overflow only fail there).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from marshmallow import fields, validate

from app.api.core import OPERATIONS
from app.barriers import services as barrier_services
from app.barriers.models import Barrier, Referral
from app.barriers.schemas import (
    BarrierSchema,
    BarrierUpdateSchema,
    ReferralAnswerSchema,
    ReferralSchema,
)
from app.core.converters import IdConverter
from app.db_types import utcnow
from app.extensions import db
from app.meetings import calendar
from app.meetings import services as meeting_services
from app.meetings.models import Meeting
from app.meetings.schemas import CancelMeetingSchema, LogMeetingSchema, PlanMeetingSchema
from app.pathways.models import Beneficiary, Consent, Contract, Entry, Pathway, ReferentAssignment
from app.pathways.schemas import (
    AssignReferentSchema,
    BeneficiarySchema,
    CloseSchema,
    ContractSchema,
    EmploymentSchema,
    EntrySchema,
    OrientSchema,
)
from app.validation import BAD_TEXT, MAX_ID, BaseSchema, date_bounds
from tests.web_helpers import field_error, login_as, text
from tests.world import World

NUL = "Dupont\x00 ; DROP"
CONTROL = "Ligne\x1bsuite"  # ESC: a control character that is not NUL
OUT_OF_RANGE_IDS = ["0", str(MAX_ID + 1), str(2**63), "99999999999999999999999", "-1", "abc", "1e3", "%C2%B2"]


def _snapshot(world: World) -> tuple:
    """What a refused write must leave as it was."""
    counts = tuple(
        db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Beneficiary, Pathway, Entry, Meeting, Barrier, Referral, ReferentAssignment, Contract, Consent)
    )
    db.session.expire_all()
    versions = (
        db.session.get(Pathway, world.pathway.id).version,
        db.session.get(Beneficiary, world.pathway.beneficiary_id).version,
        db.session.get(Barrier, world.barrier.id).version,
    )
    return counts, versions


def _text_fields(schema_cls: type[BaseSchema]) -> list[str]:
    """Every free-text field of a schema (strings without a choice list)."""
    return [
        name
        for name, field in schema_cls().fields.items()
        if isinstance(field, fields.String)
        and not any(isinstance(v, validate.OneOf) for v in field.validators)
    ]


@pytest.fixture
def planned(world: World) -> Meeting:
    return meeting_services.plan_meeting(
        world.referent, world.pathway, scheduled_at=utcnow() + timedelta(days=7)
    )


@pytest.fixture
def referral(world: World) -> Referral:
    return barrier_services.refer_barrier(world.referent, world.barrier, agency_id=world.ccas.id)


# --- control characters in HTML forms ------------------------------------------------------------

# (form, the schema it posts, who fills it)
FORMS = [
    ("/personnes/nouvelle", BeneficiarySchema, "referent"),
    ("/parcours/{p}/orientation", OrientSchema, "referent"),
    ("/parcours/{p}/referent", AssignReferentSchema, "referent"),
    ("/parcours/{p}/contrat", ContractSchema, "referent"),
    ("/parcours/{p}/journal", EntrySchema, "referent"),
    ("/parcours/{p}/emploi", EmploymentSchema, "referent"),
    ("/parcours/{p}/cloture", CloseSchema, "referent"),
    ("/parcours/{p}/entretien", LogMeetingSchema, "referent"),
    ("/parcours/{p}/rendez-vous/nouveau", PlanMeetingSchema, "referent"),
    ("/rendez-vous/{planned}/annuler", CancelMeetingSchema, "referent"),
    ("/parcours/{p}/freins/nouveau", BarrierSchema, "referent"),
    ("/freins/{b}/modifier", BarrierUpdateSchema, "referent"),
    ("/freins/{b}/orienter", ReferralSchema, "referent"),
    ("/orientations/{referral}/reponse", ReferralAnswerSchema, "outsider"),  # the CCAS, asked
]
FORM_FIELDS = [(url, schema, user, name) for url, schema, user in FORMS for name in _text_fields(schema)]


def _url(template: str, world: World, request: pytest.FixtureRequest) -> str:
    ids = {"p": world.pathway.id, "b": world.barrier.id}
    if "{planned}" in template:
        ids["planned"] = request.getfixturevalue("planned").id
    if "{referral}" in template:
        ids["referral"] = request.getfixturevalue("referral").id
    return template.format(**ids)


def test_every_form_text_field_is_covered() -> None:
    assert len(FORM_FIELDS) >= 25
    assert {name for *_, name in FORM_FIELDS} >= {
        "first_name", "last_name", "address", "city", "note", "body", "employer", "job_title", "notes",
        "location", "reason", "title", "description", "message", "comment",
    }


@pytest.mark.parametrize("value", [NUL, CONTROL], ids=["nul", "escape"])
@pytest.mark.parametrize(
    "template, schema, user, name", FORM_FIELDS, ids=[f"{f[0]}:{f[3]}" for f in FORM_FIELDS]
)
def test_control_characters_in_a_form_field_are_refused_next_to_it(
    client, world: World, request, template, schema, user, name, value
) -> None:
    url = _url(template, world, request)
    login_as(client, getattr(world, user))
    before = _snapshot(world)
    response = client.post(url, data={name: value, "version": "1"})
    assert response.status_code == 422, (url, name, response.status_code)
    assert field_error(text(response), name) == BAD_TEXT
    assert _snapshot(world) == before


@pytest.mark.parametrize(
    "template, name",
    [("/parcours/{p}/journal", "body"), ("/parcours/{p}/entretien", "notes"), ("/freins/{b}/modifier", "description")],
)
def test_multi_line_notes_keep_tabs_and_line_breaks(client, world: World, request, template, name) -> None:
    url = _url(template, world, request)
    login_as(client, world.referent)
    response = client.post(url, data={name: "Ligne 1\r\n\tLigne 2"})
    assert field_error(text(response), name) is None


def test_control_characters_in_the_pilotage_reassignment_are_refused(client, world: World) -> None:
    login_as(client, world.manager_ft)
    before = _snapshot(world)
    response = client.post(
        f"/pilotage/parcours/{world.pathway.id}/referent",
        data={"referent_id": str(world.colleague.id), "note": NUL},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert BAD_TEXT in text(response)
    assert _snapshot(world) == before


@pytest.mark.parametrize("referent_id", ["abc", str(2**63), "²", "0"])
def test_pilotage_reassignment_to_an_impossible_id_is_refused(client, world: World, referent_id) -> None:
    login_as(client, world.manager_ft)
    response = client.post(
        f"/pilotage/parcours/{world.pathway.id}/referent", data={"referent_id": referent_id}, follow_redirects=True
    )
    assert response.status_code == 200
    assert "Identifiant invalide." in text(response) or "Nombre entier attendu." in text(response)


@pytest.mark.parametrize("query", [f"structure={2**63}", "referent=²", f"referent={2**63}", "structure=-1"])
def test_pilotage_filters_ignore_impossible_ids(client, world: World, query) -> None:
    login_as(client, world.manager_ft)
    assert client.get(f"/pilotage?{query}").status_code == 200
    assert client.get(f"/pilotage/listes/portefeuilles?{query}").status_code == 200


def test_login_form_with_control_characters_is_refused(client, world: World) -> None:
    response = client.post("/connexion", data={"email": "referent@ft.test\x00", "password": "x\x00"})
    assert response.status_code == 422


# --- control characters in API payloads ------------------------------------------------------------


def _api_text_fields() -> list[tuple[str, str, str]]:
    """(method, path, field) for every string field of every payload (emails included)."""
    found: list[tuple[str, str, str]] = []
    for op in OPERATIONS:
        for schema_cls in op.body if isinstance(op.body, list) else [op.body] if op.body else []:
            for name, field in schema_cls().fields.items():
                if isinstance(field, fields.String) and (op.method, op.path, name) not in found:
                    found.append((op.method, op.path, name))
    return found


def test_every_api_string_field_refuses_control_characters(api, world: World, planned) -> None:
    """Each string field of each payload, alone with a NUL: 422 naming it, nothing written."""
    ids = {
        "pathway_id": world.pathway.id,
        "beneficiary_id": world.pathway.beneficiary_id,
        "meeting_id": planned.id,
        "barrier_id": world.barrier.id,
        "agency_id": world.caf.id,
    }
    cases = _api_text_fields()
    assert len(cases) >= 30
    before = _snapshot(world)
    for method, path, name in cases:
        url = re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)
        for value in (NUL, CONTROL):
            response = api(world.referent)._call(method.upper(), url, json={name: value}, version=1)
            assert response.status_code == 422, (method, path, name, response.get_json())
            assert response.mimetype == "application/problem+json"
            assert name in response.get_json()["errors"], (method, path, name, response.get_json())
    assert _snapshot(world) == before


def test_api_query_strings_refuse_control_characters(api, world: World) -> None:
    response = api(world.referent).get("/beneficiaries?q=Ben%00ali")
    assert response.status_code == 422 and "q" in response.get_json()["errors"]


def test_api_body_sent_as_another_type_is_415(api, world: World) -> None:
    response = api(world.referent)._call(
        "POST", f"/pathways/{world.pathway.id}/entries", data='{"body": "x"}', content_type="text/plain"
    )
    assert response.status_code == 415 and response.mimetype == "application/problem+json"


# --- dates out of bounds ---------------------------------------------------------------------------

BAD_DATES = ["0001-01-01", "1899-12-31", "9999-12-31"]
BAD_DATETIMES = ["0001-01-01T10:00", "1989-12-31T10:00", "9999-12-31T23:30"]


DATETIME_FIELDS = [
    ("/parcours/{p}/rendez-vous/nouveau", "scheduled_at"),
    ("/parcours/{p}/entretien", "held_at"),
    ("/parcours/{p}/entretien", "next_at"),
    ("/parcours/{p}/journal", "occurred_at"),
    ("/parcours/{p}/orientation", "oriented_at"),
    ("/parcours/{p}/consentement", "given_at"),
]
DATE_FIELDS = [
    ("/parcours/{p}/contrat", "signed_on"),
    ("/parcours/{p}/contrat", "starts_on"),
    ("/parcours/{p}/contrat", "ends_on"),
    ("/parcours/{p}/emploi", "started_on"),
    ("/parcours/{p}/freins/nouveau", "due_on"),
    ("/freins/{b}/modifier", "due_on"),
]
FORM_DATES_OUT_OF_BOUNDS = [
    *[(t, n, v) for t, n in DATETIME_FIELDS for v in BAD_DATETIMES],
    *[(t, n, v) for t, n in DATE_FIELDS for v in BAD_DATES],
]


@pytest.mark.parametrize("template, name, value", FORM_DATES_OUT_OF_BOUNDS)
def test_form_dates_out_of_bounds_are_refused(client, world: World, request, template, name, value) -> None:
    """Dates and datetimes of every form, out of their kind's bounds: 422 next to the field."""
    login_as(client, world.referent)
    before = _snapshot(world)
    response = client.post(_url(template, world, request), data={name: value})
    assert response.status_code == 422
    assert field_error(text(response), name).startswith("Date hors limites")
    assert _snapshot(world) == before


@pytest.mark.parametrize(
    "value, message",
    [
        ("0001-01-01", "Date de naissance invraisemblable"),
        ("1899-12-31", "Date de naissance invraisemblable"),
        ("tomorrow", "La date de naissance ne peut pas être dans le futur."),
        ("9999-12-31", "La date de naissance ne peut pas être dans le futur."),
    ],
)
def test_birth_dates_are_between_1900_and_today(client, api, world: World, value, message) -> None:
    login_as(client, world.referent)
    before = _snapshot(world)
    if value == "tomorrow":  # computed when the test runs, not when it is collected
        value = (date_bounds("birth")[1] + timedelta(days=1)).isoformat()
    person = {"first_name": "Léa", "last_name": "Roux", "birth_date": value}
    response = client.post("/personnes/nouvelle", data=person)
    assert response.status_code == 422
    assert field_error(text(response), "birth_date").startswith(message)
    answer = api(world.referent).post("/beneficiaries", json=person)
    assert answer.status_code == 422 and answer.get_json()["errors"]["birth_date"][0].startswith(message)
    assert _snapshot(world) == before


def test_bounds_are_inclusive(client, world: World) -> None:
    login_as(client, world.referent)
    response = client.post(
        "/personnes/nouvelle", data={"first_name": "Léa", "last_name": "Roux", "birth_date": "1900-01-01"}
    )
    assert response.status_code == 302
    last = date_bounds("event")[1]
    response = client.post(
        f"/parcours/{world.pathway.id}/freins/nouveau",
        data={"category": "housing", "title": "Logement", "due_on": last.isoformat()},
    )
    assert response.status_code == 302


@pytest.mark.parametrize(
    "path, body, name",
    [
        ("/pathways/{p}/meetings", {"scheduled_at": "9999-12-31T10:00:00+01:00"}, "scheduled_at"),
        ("/pathways/{p}/meetings", {"status": "held", "held_at": "0001-01-01T10:00:00+01:00"}, "held_at"),
        ("/pathways/{p}/contracts", {"kind": "cer", "signed_on": "0001-01-01", "starts_on": "2026-01-01"}, "signed_on"),
        ("/pathways/{p}/barriers", {"category": "housing", "title": "x", "due_on": "9999-12-31"}, "due_on"),
        ("/pathways/{p}/entries", {"body": "x", "visibility": "team", "occurred_at": "0001-01-01T00:00:00-12:00"},
         "occurred_at"),
    ],
)
def test_api_dates_out_of_bounds_are_refused(api, world: World, path, body, name) -> None:
    before = _snapshot(world)
    response = api(world.referent).post(path.format(p=world.pathway.id), json=body)
    assert response.status_code == 422 and name in response.get_json()["errors"], response.get_json()
    assert response.get_json()["errors"][name][0].startswith("Date hors limites")
    assert _snapshot(world) == before


def test_moving_a_meeting_to_year_9999_is_refused(api, world: World, planned) -> None:
    response = api(world.referent).patch(
        f"/meetings/{planned.id}", json={"scheduled_at": "9999-12-31T23:30:00+00:00"}, version=planned.version
    )
    assert response.status_code == 422 and "scheduled_at" in response.get_json()["errors"]


def test_the_ics_feed_never_fails_whatever_the_meetings_hold(client, world: World, planned) -> None:
    """A meeting written before the bounds existed (or by hand) is left out; the others are served."""
    broken = Meeting(
        territory_id=world.territory.id,
        pathway_id=world.pathway.id,
        organizer_id=world.referent.id,
        agency_id=world.referent.agency_id,
        scheduled_at=datetime(9999, 12, 31, 23, 30, tzinfo=timezone.utc),
        duration_minutes=480,
    )
    db.session.add(broken)
    world.pathway.beneficiary.first_name = "Sarah\x1b"  # stored before control characters were refused
    db.session.commit()
    token = calendar.issue_calendar_token(world.referent)
    response = client.get(f"/agenda/{token}.ics")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert f"rendez-vous-{planned.id}@parcours" in body
    assert "\x1b" not in body and "\x00" not in body


# --- page parameters ---------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["1e20", "-1", "0", "abc", str(2**63), "100001", "1.5", "%00"])
def test_portfolio_page_out_of_range_is_a_french_422(client, world: World, page) -> None:
    login_as(client, world.referent)
    response = client.get(f"/portefeuille?page={page}")
    assert response.status_code == 422
    assert "page" in text(response)


@pytest.mark.parametrize("query", ["page=2", "page=100000", f"per_page={10**30}", "page=1&per_page=abc"])
def test_portfolio_accepts_pages_in_range(client, world: World, query) -> None:
    login_as(client, world.referent)
    assert client.get(f"/portefeuille?{query}").status_code == 200  # per_page is not the page's own


@pytest.mark.parametrize(
    "query, name",
    [("page=1e20", "page"), ("page=-1", "page"), ("page=abc", "page"), (f"per_page={10**30}", "per_page"),
     ("per_page=0", "per_page"), (f"page={2**63}", "page")],
)
@pytest.mark.parametrize("path", ["/beneficiaries", "/alerts", "/pathways/{p}/entries", "/pathways/{p}/meetings"])
def test_api_page_parameters_out_of_range_are_422(api, world: World, path, query, name) -> None:
    response = api(world.referent).get(f"{path.format(p=world.pathway.id)}?{query}")
    assert response.status_code == 422 and name in response.get_json()["errors"]


# --- ids that cannot exist -----------------------------------------------------------------------------


def _html_id_routes(app) -> list[tuple[str, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or not any(isinstance(c, IdConverter) for c in rule._converters.values()):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((method, rule.rule))
    return routes


def _with_id(rule: str, value: str, real: int) -> str:
    """The rule with its first id set to `value` and the others to a real id."""
    first = True

    def replace(match: re.Match) -> str:
        nonlocal first
        out = value if first else str(real)
        first = False
        return out

    return re.sub(r"<id:\w+>", replace, rule)


def test_every_html_id_route_answers_404_for_impossible_ids(app, client, world: World) -> None:
    routes = _html_id_routes(app)
    assert len(routes) >= 20
    login_as(client, world.manager_ft)
    for method, rule in routes:
        for value in OUT_OF_RANGE_IDS:
            response = client.open(_with_id(rule, value, world.pathway.id), method=method)
            assert response.status_code == 404, (method, rule, value, response.status_code)


def test_every_api_id_path_answers_404_for_impossible_ids(api, world: World) -> None:
    caller = api(world.referent)
    paths = [op for op in OPERATIONS if "{" in op.path]
    assert len(paths) >= 20
    for op in paths:
        for value in OUT_OF_RANGE_IDS:
            url = re.sub(r"\{\w+\}", value, op.path, count=1)
            url = re.sub(r"\{\w+\}", str(world.caf.id), url)
            response = caller._call(op.method.upper(), url, json={}, version=1)
            assert response.status_code == 404, (op.method, url, response.status_code)
            assert response.mimetype == "application/problem+json"


def test_patch_meeting_zero_is_404_not_405(api, world: World) -> None:
    assert api(world.referent).patch("/meetings/0", json={"notes": "x"}, version=1).status_code == 404
    assert api(world.referent).patch(f"/pathways/{2**31}", json={"stage": "support"}, version=1).status_code == 404
    assert api(world.referent).patch("/pathways/0", json={"stage": "support"}, version=1).status_code == 404
