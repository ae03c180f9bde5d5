"""The OpenAPI document is a contract: it changes only on purpose.

The document is compared with the committed copy `tests/api/openapi.snapshot.json`, built at a
fixed date (date bounds follow the year). After a deliberate change of the API, rewrite the copy:
`UPDATE_OPENAPI_SNAPSHOT=1 make test-sqlite PYTEST_ARGS=tests/api/test_openapi_snapshot.py`,
and review its diff like code.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import time_machine

from app.api.openapi import build_spec

SNAPSHOT = Path(__file__).with_name("openapi.snapshot.json")


def _document(app) -> str:
    with time_machine.travel("2026-06-15 10:00 +00:00", tick=False), app.test_request_context():
        return json.dumps(build_spec(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_the_openapi_document_is_the_committed_one(app) -> None:
    document = _document(app)
    if os.environ.get("UPDATE_OPENAPI_SNAPSHOT") == "1":
        SNAPSHOT.write_text(document, encoding="utf-8")
    assert document == SNAPSHOT.read_text(encoding="utf-8"), (
        "the API contract changed: if on purpose, rewrite tests/api/openapi.snapshot.json (see this module)"
    )
