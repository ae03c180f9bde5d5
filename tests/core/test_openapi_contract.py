"""The OpenAPI document says what the validation does (app/api/openapi.py): the rules of
`BaseSchema` (control characters, blanks, date bounds), cross-field rules, every status code."""

from __future__ import annotations

import re

import pytest

from app.api.openapi import text_pattern
from app.validation import bad_text, date_bounds

SAMPLE = [chr(c) for c in [*range(0, 0x250), 0x2028, 0x3000, 0xFEFF, 0xFFFD, 0x1F600]]


@pytest.fixture
def document(client):
    return client.get("/api/v1/openapi.json").get_json()


def _body_schema(document, name: str) -> dict:
    return document["components"]["schemas"][name]


@pytest.mark.parametrize("multiline", [False, True])
def test_text_pattern_refuses_exactly_what_the_validation_refuses(multiline: bool) -> None:
    pattern = re.compile(text_pattern(multiline=multiline, blank=True))
    for char in SAMPLE:
        assert (pattern.match(f"a{char}b") is not None) == (not bad_text(f"a{char}b", multiline=multiline)), repr(char)


def test_required_text_needs_a_visible_character() -> None:
    pattern = re.compile(text_pattern(multiline=False, blank=False))
    assert pattern.match("  Léa ")
    assert not any(pattern.match(blank) for blank in ("", "   ", "\u3000"))  # trimmed to nothing


def test_payload_fields_carry_the_base_schema_rules(document) -> None:
    person = _body_schema(document, "BeneficiaryCreate")["properties"]
    assert person["first_name"]["pattern"] == text_pattern(multiline=False, blank=False)
    assert person["city"]["pattern"] == text_pattern(multiline=False, blank=True)
    assert person["postal_code"]["pattern"] == r"^\d{5}$"  # its own rule, which already excludes controls
    entry = _body_schema(document, "Entry")["properties"]
    assert entry["body"]["pattern"] == text_pattern(multiline=True, blank=False)
    earliest, latest = date_bounds("event")
    years = re.compile(entry["occurred_at"]["pattern"])
    assert years.match(f"{earliest.year}-01-01") and years.match(f"{latest.year}-12-31")
    assert not years.match(f"{earliest.year - 1}-12-31") and not years.match(f"{latest.year + 1}-01-01")
    assert not years.match("0001-01-01") and not years.match("9999-12-31")
    birth = re.compile(person["birth_date"]["pattern"])
    this_year = date_bounds("birth")[1].year
    assert birth.match("1900-01-01") and birth.match(f"{this_year}-01-01") and not birth.match("1899-12-31")
    assert "futur" in person["birth_date"]["description"]


def test_cross_field_rules_are_in_the_document(document) -> None:
    patch = _body_schema(document, "PathwayPatch")
    assert patch["properties"]["stage"]["enum"] == ["intake", "diagnosis", "support"]
    assert {"required": ["orientation"]} in patch["anyOf"]
    assert _body_schema(document, "UpdateMeeting")["minProperties"] == 1
    assert _body_schema(document, "BarrierUpdate")["minProperties"] == 1
    assert _body_schema(document, "ReferralAnswer")["anyOf"]


def test_every_status_code_an_operation_can_answer_is_documented(document) -> None:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            label = f"{method.upper()} {path}"
            assert "401" in codes, label
            if "{" in path:
                assert "404" in codes, label
                for parameter in operation["parameters"]:
                    if parameter["in"] == "path":
                        assert parameter["schema"] == {"type": "integer", "minimum": 1, "maximum": 2147483647}
            if "requestBody" in operation:
                assert {"400", "413", "415", "422"} <= codes, label
            if method in ("post", "patch", "delete") and operation.get("security") != []:
                assert {"403", "409", "422"} <= codes, label
            if any(p["name"] == "If-Match" and p["required"] for p in operation["parameters"] if p["in"] == "header"):
                assert "428" in codes, label
    assert "429" in document["paths"]["/tokens"]["post"]["responses"]
