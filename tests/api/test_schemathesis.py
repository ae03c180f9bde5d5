"""No 500, and every answer true to the OpenAPI document: schemathesis fuzzes every operation of
/api/v1/openapi.json in-process (WSGI), authenticated as the referent of a seeded world, on the
test database (SQLite, or PostgreSQL with TEST_DATABASE_URL, where NUL bytes and integer overflow
would show).

Each operation gets valid requests (positive: the document says they are valid) and invalid ones
(negative). Every answer is checked: no 5xx, a documented status code, content type and headers,
a body conforming to the document. Positive requests are also loaded with the operation's own
marshmallow schema: whatever the document calls valid, the validation must accept (only rules
about *today*, such as a birth date not in the future, cannot be written in the document).

Generated path ids are mostly mapped onto the world's real objects (and `If-Match` often onto their
current version), so the fuzzing reaches the services and not only the 404s. At least 1000
requests are sent in total (`test_enough_requests_were_generated`, run last in this module), in
about a minute on two cores.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from urllib.parse import parse_qsl, urlsplit

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.accounts.tokens import issue_token
from app.api.core import OPERATIONS
from app.barriers.models import Barrier
from app.errors import ValidationError
from app.extensions import db
from app.followup.models import Alert
from app.followup.scan import scan_follow_ups
from app.meetings.models import Meeting
from app.pathways.models import Beneficiary, Pathway
from app.validation import load
from tests.world import T0, build_world

EXAMPLES_PER_OPERATION = {GenerationMode.POSITIVE: 28, GenerationMode.NEGATIVE: 14}
MINIMUM_REQUESTS = 1000
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

STATS: Counter = Counter()
STARTED = time.monotonic()


@pytest.fixture
def fuzz_world():
    world = build_world(consent=True)
    scan_follow_ups(T0 + __import__("datetime").timedelta(days=120))  # some alerts to acknowledge
    alert_id = db.session.scalar(db.select(Alert.id).where(Alert.pathway_id == world.pathway.id).limit(1))
    token = issue_token(world.referent).token
    return world, alert_id, {"Authorization": f"Bearer {token}"}


_MODELS = {"pathway_id": Pathway, "beneficiary_id": Beneficiary, "meeting_id": Meeting, "barrier_id": Barrier}


def _real_ids(world, alert_id) -> dict[str, int | None]:
    return {
        "pathway_id": world.pathway.id,
        "beneficiary_id": world.pathway.beneficiary_id,
        "meeting_id": world.meeting_team.id,
        "barrier_id": world.barrier.id,
        "agency_id": world.caf.id,
        "alert_id": alert_id,
    }


def _declared() -> dict:
    """The declared operations by endpoint (filled when the app registers its routes)."""
    return {op.endpoint: op for op in OPERATIONS}


# Rules about today, which a JSON schema cannot state (the document says them in words).
_ABOUT_TODAY = {"La date de naissance ne peut pas être dans le futur."}


def _load_errors(schema_cls, data) -> dict | None:
    try:
        load(schema_cls(), data)
    except ValidationError as exc:
        errors = {k: v for k, v in exc.errors.items() if not (isinstance(v, list) and set(v) <= _ABOUT_TODAY)}
        return errors or None
    return None


def _assert_validation_accepts(operation, request) -> None:
    """A request the document calls valid passes the operation's marshmallow schema."""
    declared = _declared()[operation.definition.raw["operationId"]]
    if declared.query is not None:
        query: dict[str, str] = {}
        for key, value in parse_qsl(urlsplit(request.url).query, keep_blank_values=True):
            query.setdefault(key, value)  # as request.args.to_dict(flat=True)
        errors = _load_errors(declared.query, query)
        assert errors is None, f"{operation.label}: the document allows {query!r}, the validation says {errors}"
    if declared.body is not None and request.body:
        body = json.loads(request.body)
        candidates = declared.body if isinstance(declared.body, list) else [declared.body]
        errors = [_load_errors(schema_cls, body) for schema_cls in candidates]
        assert None in errors, f"{operation.label}: the document allows {body!r}, the validation says {errors}"


def _fuzz(operation, world, alert_id, stats: Counter, mode: GenerationMode) -> None:
    real = _real_ids(world, alert_id)

    @settings(
        max_examples=EXAMPLES_PER_OPERATION[mode],
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(mode))
    def run(case) -> None:
        target = None
        for name, value in list((case.path_parameters or {}).items()):
            if isinstance(value, int) and value % 5 != 0 and real.get(name):
                case.path_parameters[name] = real[name]  # 4 times out of 5: a real object
                target = target or name
        headers = {"Authorization": f"Bearer {_live_token(world)}"}
        if (
            case.headers
            and "If-Match" in case.headers
            and target in _MODELS
            and len(str(case.headers["If-Match"])) % 2
        ):
            obj = db.session.get(_MODELS[target], case.path_parameters[target])
            if obj is not None:
                headers["If-Match"] = f'"{obj.version}"'
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        if mode == GenerationMode.POSITIVE:
            _assert_validation_accepts(operation, response.request)
        stats["requests"] += 1
        stats[f"{mode.value}:{response.status_code // 100}xx"] += 1
        stats[f"{response.status_code // 100}xx"] += 1

    run()


_TOKENS: dict[int, str] = {}


def _live_token(world) -> str:
    """The referent's token, re-issued after DELETE /tokens/current revoked it."""
    from app.accounts.tokens import resolve_token

    token = _TOKENS.get(world.referent.id)
    if token is None or resolve_token(token) is None:
        token = _TOKENS[world.referent.id] = issue_token(world.referent).token
    return token


def test_api_never_fails_and_keeps_its_contract(app, fuzz_world):
    """Every operation of the document, fuzzed; any 5xx or any answer off the document fails."""
    world, alert_id, _auth = fuzz_world
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30
    assert {op.definition.raw["operationId"] for op in operations} == set(_declared())  # all of them
    for operation in operations:
        before = STATS["requests"]
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(operation, world, alert_id, STATS, mode)
        STATS[f"op:{operation.method.upper()} {operation.path}"] = STATS["requests"] - before


def test_enough_requests_were_generated():
    """Runs after the fuzzing above (pytest keeps the file's order)."""
    elapsed = time.monotonic() - STARTED
    per_operation = {k[3:]: v for k, v in STATS.items() if k.startswith("op:")}
    print(
        f"\nschemathesis: {STATS['requests']} requests over {len(per_operation)} operations "
        f"in {elapsed:.1f}s; "
        f"by mode and status class: { {k: v for k, v in STATS.items() if k.endswith('xx') and ':' in k} }"
    )
    for label, count in sorted(per_operation.items()):
        print(f"  {count:4d}  {label}")
    if STATS["requests"] == 0:
        pytest.skip("the fuzzing test was not selected in this run")
    assert STATS["5xx"] == 0
    assert STATS["requests"] >= MINIMUM_REQUESTS
