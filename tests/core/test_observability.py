"""What the operators see (issue 12, point 3): the request id, one log line per request and nothing
personal in any log line, the metrics behind their token, liveness and readiness, Sentry scrubbed."""

from __future__ import annotations

import gzip
import json
import logging
import os
import re
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import prometheus_client
import pytest
import sqlalchemy as sa
from flask import Flask

from app.core import observability
from app.extensions import db
from app.pathways.models import Entry
from tests.web_helpers import login_as, text
from tests.world import World

ROOT = Path(__file__).resolve().parents[2]


# --- request id ---------------------------------------------------------------------------------


def test_every_answer_carries_a_request_id_and_a_proxy_id_is_kept_when_it_is_a_plain_token(client) -> None:
    first, second = client.get("/connexion"), client.get("/connexion")
    ids = [first.headers["X-Request-Id"], second.headers["X-Request-Id"]]
    assert all(len(i) == 32 for i in ids) and ids[0] != ids[1]
    kept = client.get("/connexion", headers={"X-Request-Id": "proxy-1234abcd"})
    assert kept.headers["X-Request-Id"] == "proxy-1234abcd"
    # A header that could forge log lines or carry text is replaced, never echoed.
    for offered in ("abc", "x" * 65, "id avec espaces", "id;Set-Cookie=a", "<script>alert(1)</script>"):
        answer = client.get("/connexion", headers={"X-Request-Id": offered})
        assert answer.headers["X-Request-Id"] != offered and len(answer.headers["X-Request-Id"]) == 32


def test_error_pages_and_problems_show_the_request_id(client, world: World, api) -> None:
    login_as(client, world.referent)
    page = client.get("/parcours/999999")
    assert page.status_code == 404
    assert page.headers["X-Request-Id"] in text(page)  # « Référence de l'erreur »
    problem = api(world.referent).get("/pathways/999999")
    assert problem.status_code == 404 and problem.mimetype == "application/problem+json"
    assert problem.get_json()["request_id"] == problem.headers["X-Request-Id"]


# --- logs ---------------------------------------------------------------------------------------


def test_one_line_per_request_with_route_template_status_duration_and_user(client, world: World, caplog) -> None:
    login_as(client, world.referent)
    with caplog.at_level(logging.INFO, logger="parcours.request"):
        response = client.get(f"/parcours/{world.pathway.id}?onglet=journal")
    lines = [r for r in caplog.records if r.name == "parcours.request"]
    assert len(lines) == 1
    line = lines[0]
    assert (line.method, line.route, line.status) == ("GET", "/parcours/<id:pathway_id>", 200)
    assert line.user_id == world.referent.id and line.duration_ms >= 0
    # The record reads several tables: the line says how many statements and how long they took.
    assert line.db_statements >= 5 and 0 < line.db_ms <= line.duration_ms
    assert 0 < line.cpu_ms
    assert line.request_id == response.headers["X-Request-Id"]
    assert re.fullmatch(r"GET /parcours/<id:pathway_id> 200 [0-9.]+ ms", line.getMessage())  # no path, no query


def test_json_lines_carry_the_request_fields() -> None:
    record = logging.LogRecord("parcours.request", logging.INFO, __file__, 1, "GET %s %s", ("/sante", 200), None)
    record.request_id, record.route, record.status, record.user_id = "abc12345", "/sante", 200, 7
    line = json.loads(observability.formatter("json").format(record))
    assert line["logger"] == "parcours.request" and line["level"] == "INFO"
    assert (line["request_id"], line["route"], line["status"], line["user_id"]) == ("abc12345", "/sante", 200, 7)
    assert line["message"] == "GET /sante 200"


SECRET_NAME, SECRET_NOTE = "Zéphyrine", "Violences conjugales signalées le 3 mars"


def test_a_whole_scenario_writes_no_name_no_note_no_address_in_any_log_line(
    client, world: World, api, caplog
) -> None:
    """Every logger at DEBUG, through the production JSON formatter, while a referent creates a
    person, searches her, writes a note, fails a form and hits errors, and the API reads it all."""
    formatter = observability.formatter("json")
    with caplog.at_level(logging.DEBUG):
        login_as(client, world.referent)
        created = client.post("/personnes/nouvelle", data={
            "first_name": SECRET_NAME, "last_name": "Quintal", "email": "zephyrine.quintal@exemple.fr",
            "phone": "06 12 34 56 78", "become_referent": "1",
        })
        assert created.status_code == 302, text(created)
        pathway_id = int(urlsplit(created.headers["Location"]).path.rstrip("/").split("/")[-1])
        client.get(f"/mon-portefeuille?q={SECRET_NAME}")
        client.post(f"/parcours/{pathway_id}/journal", data={"body": SECRET_NOTE, "visibility": "team"})
        client.post(f"/parcours/{pathway_id}/journal", data={"body": "", "visibility": "nope"})  # 422
        client.get(f"/parcours/{pathway_id}?onglet=journal")
        as_referent = api(world.referent)
        as_referent.get(f"/pathways/{pathway_id}/entries")
        as_referent.get(f"/beneficiaries?q={SECRET_NAME}")
        as_referent.post("/beneficiaries", json={"first_name": SECRET_NAME, "birth_date": "31/02/2000"})
        client.post("/connexion", data={"email": "zephyrine.quintal@exemple.fr", "password": SECRET_NOTE})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Entry).where(Entry.body == SECRET_NOTE)) == 1
    lines = [formatter.format(record) for record in caplog.records]
    assert any('"route": "/parcours/<id:pathway_id>/journal"' in line for line in lines)
    for secret in (SECRET_NAME, SECRET_NAME.lower(), "Quintal", SECRET_NOTE, "zephyrine", "06 12 34 56 78"):
        leaking = [line for line in lines if secret in line]
        assert not leaking, f"{secret!r} is in the logs: {leaking[:3]}"


def test_a_database_error_is_logged_without_the_data_it_quotes(dialect: str) -> None:
    """`hide_parameters` hides bound values, but PostgreSQL's own message quotes the failing row:
    the production formatters write the error's class, SQLSTATE and constraint instead."""
    try:
        with db.session.begin_nested():
            db.session.execute(sa.text("INSERT INTO agency (name) VALUES (:name)"), {"name": SECRET_NAME})
    except sa.exc.DBAPIError as exc:
        failure = exc
    else:
        pytest.fail("the insert should have failed")
    if dialect == "postgresql":
        assert SECRET_NAME in str(failure)  # what would have leaked
    record = logging.LogRecord("app", logging.ERROR, __file__, 1, "Exception on /x [POST]", (),
                               (type(failure), failure, failure.__traceback__))
    for kind in ("json", "text"):
        line = observability.formatter(kind).format(record)
        assert SECRET_NAME not in line
        assert "IntegrityError" in line and "détail masqué" in line and "Traceback" in line


# --- metrics ------------------------------------------------------------------------------------


def test_metrics_are_hidden_without_the_token(client, app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "")
    assert client.get("/metrics", headers={"Authorization": "Bearer anything"}).status_code == 404
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "s3cret-metrics-token")
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    assert client.get("/metrics", headers={"Authorization": "s3cret-metrics-token"}).status_code == 404


def test_metrics_count_requests_by_route_template_and_scans(
    client, world: World, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "s3cret-metrics-token")
    login_as(client, world.referent)
    client.get(f"/parcours/{world.pathway.id}")
    from app.followup.scheduler import _observed_scan

    def value(name: str, labels: dict[str, str] | None = None) -> float:
        return prometheus_client.REGISTRY.get_sample_value(name, labels or {}) or 0.0

    before = (value("parcours_alerts_raised_total"), value("parcours_alerts_resolved_total"))
    result = _observed_scan(datetime.now(UTC) + timedelta(days=400))
    scans = value("parcours_scan_duration_seconds_count", {"full": str(result.full).lower()})
    assert scans >= 1
    assert (value("parcours_alerts_raised_total"), value("parcours_alerts_resolved_total")) == (
        before[0] + result.raised, before[1] + result.resolved)
    answer = client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics-token"})
    assert answer.status_code == 200 and answer.mimetype == "text/plain"
    body = answer.get_data(as_text=True)
    route = 'method="GET",route="/parcours/<id:pathway_id>",status="200"'
    assert "parcours_http_request_duration_seconds_count{" + route + "}" in body
    assert f"/parcours/{world.pathway.id}" not in body  # route templates, never paths
    assert f'parcours_scan_duration_seconds_count{{full="{str(result.full).lower()}"}}' in body
    assert "parcours_alerts_raised_total" in body and "parcours_alerts_resolved_total" in body


# --- liveness and readiness ---------------------------------------------------------------------


def test_liveness_answers_without_touching_the_database(client, count_queries) -> None:
    with count_queries() as counter:
        answer = client.get("/sante")
    assert answer.status_code == 200 and answer.get_json() == {"status": "ok"}
    assert counter.count == 0


def _set_revision(revisions: list[str]) -> None:
    connection = db.session.connection()
    connection.execute(sa.text("CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL)"))
    connection.execute(sa.text("DELETE FROM alembic_version"))
    for revision in revisions:
        connection.execute(sa.text("INSERT INTO alembic_version (version_num) VALUES (:r)"), {"r": revision})


def test_readiness_needs_the_database_at_the_migrations_head(client) -> None:
    (head,) = observability.migration_heads()
    _set_revision([head])
    ready = client.get("/sante/pret")
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "ok", "checks": {"database": "ok", "migrations": "ok"}}
    _set_revision(["0001_initial"])  # a worker newer than its database
    behind = client.get("/sante/pret")
    assert behind.status_code == 503 and behind.get_json()["checks"]["migrations"] == "behind"
    assert behind.headers["Cache-Control"] == "no-store"


def test_readiness_says_the_database_is_unreachable(tmp_path: Path) -> None:
    """A worker whose database is gone answers 503 at once (a subprocess: its own engine)."""
    script = textwrap.dedent("""
        from app import create_app
        app = create_app("testing")
        answer = app.test_client().get("/sante/pret")
        print(answer.status_code, answer.get_data(as_text=True).strip())
        print(app.test_client().get("/sante").status_code)
    """)
    env = {**os.environ, "PARCOURS_ENV": "testing",
           "TEST_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none?connect_timeout=2"}
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    status, body = run.stdout.splitlines()[0].split(" ", 1)
    assert status == "503" and json.loads(body)["checks"]["database"] == "unreachable"
    assert run.stdout.splitlines()[1] == "200"  # alive all the same


# --- Sentry -------------------------------------------------------------------------------------


def test_sentry_receives_the_fault_without_personal_data(httpserver) -> None:
    """A real Sentry client (in a subprocess: it patches Flask for good) posting to a local server."""
    httpserver.expect_request("/api/1/envelope/", method="POST").respond_with_data("{}")
    dsn = f"http://publickey@127.0.0.1:{httpserver.port}/1"
    script = textwrap.dedent(f"""
        import sentry_sdk
        from app import create_app
        app = create_app("testing")
        app.config["PROPAGATE_EXCEPTIONS"] = False

        @app.get("/boom")
        def boom():
            person = {SECRET_NAME!r}
            raise RuntimeError("panne du service " + str(len(person)))

        answer = app.test_client().get("/boom?q={SECRET_NAME}", headers={{"Cookie": "session=abc",
                                        "X-Request-Id": "req-sentry-0001"}})
        print(answer.status_code)
        sentry_sdk.flush(5)
    """)
    env = {**os.environ, "PARCOURS_ENV": "testing", "SENTRY_DSN": dsn}
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=90)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[0] == "500"
    def body(request) -> bytes:
        encoding = request.headers.get("Content-Encoding")
        if encoding == "br":
            import brotli  # sentry-sdk compresses with brotli when it is installed

            return brotli.decompress(request.get_data())
        return gzip.decompress(request.get_data()) if encoding == "gzip" else request.get_data()

    bodies = [body(request) for request, _response in httpserver.log]
    assert bodies, "Sentry received nothing"
    payload = b"\n".join(bodies).decode("utf-8", "replace")
    events = [json.loads(line) for line in payload.splitlines() if line.startswith("{") and '"exception"' in line]
    assert events, payload[:500]
    faults = [e for e in events if e["exception"]["values"][0]["type"] == "RuntimeError"]
    assert faults, [e["exception"]["values"][0] for e in events]
    event = faults[0]
    assert event["tags"]["request_id"] == "req-sentry-0001"
    assert event["request"] == {"method": "GET", "url": "http://localhost/boom"}
    assert SECRET_NAME not in payload and "session=abc" not in payload
    frames = event["exception"]["values"][0]["stacktrace"]["frames"]
    assert frames and all("vars" not in frame for frame in frames)
