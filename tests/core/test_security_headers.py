"""HTTP hardening: no caching of personal answers, HSTS in production, no Server header, a bounded
request size (413), and ProxyFix only behind trusted proxies."""
from __future__ import annotations

from html import unescape

import pytest
import sqlalchemy as sa
from werkzeug.middleware.proxy_fix import ProxyFix

import config
from app import create_app, register_proxy_fix
from app.accounts.models import UserSession
from app.accounts.tokens import issue_token
from app.extensions import db
from tests.factories import PASSWORD


@pytest.fixture
def bearer():
    def make(user) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(user).token}"}

    return make


def assert_no_store(response) -> None:
    assert response.headers.get("Cache-Control") == "no-store", response.headers.get("Cache-Control")
    assert response.headers.get("Pragma") == "no-cache"


# --- Cache-Control ----------------------------------------------------------------------------------


def test_a_record_page_is_not_cached(client, login_as, world) -> None:
    login_as(world.referent)
    response = client.get(f"/parcours/{world.pathway.id}")
    assert response.status_code == 200
    assert_no_store(response)


def test_an_api_identity_read_is_not_cached(client, world, bearer) -> None:
    person = world.pathway.beneficiary
    response = client.get(f"/api/v1/beneficiaries/{person.id}", headers=bearer(world.referent))
    assert response.status_code == 200
    assert_no_store(response)


def test_token_answers_are_not_cached(client, world) -> None:
    created = client.post("/api/v1/tokens", json={"email": world.referent.email, "password": PASSWORD})
    assert created.status_code == 201
    assert_no_store(created)
    refused = client.post("/api/v1/tokens", json={"email": world.referent.email, "password": "mauvais"})
    assert refused.status_code == 401
    assert_no_store(refused)


def test_the_login_page_and_errors_are_not_cached_either(client) -> None:
    assert_no_store(client.get("/connexion"))
    assert_no_store(client.get("/api/v1/inconnu"))


def test_static_assets_keep_their_long_caching(client, login_as, world) -> None:
    login_as(world.referent)  # even when a logged-in browser asks
    response = client.get("/static/dsfr/dsfr.min.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers["Cache-Control"]
    assert "public" in response.headers["Cache-Control"] and "max-age=31536000" in response.headers["Cache-Control"]
    assert "Pragma" not in response.headers


# --- HSTS, Server -----------------------------------------------------------------------------------------


def test_hsts_is_sent_when_configured(app, client, monkeypatch) -> None:
    assert "Strict-Transport-Security" not in client.get("/connexion").headers  # not in development/tests
    monkeypatch.setitem(app.config, "HSTS_SECONDS", 31536000)
    for path in ("/connexion", "/api/v1/inconnu"):
        assert client.get(path).headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_production_turns_hsts_on_by_default(monkeypatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "k" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://parcours@db/parcours")
    monkeypatch.delenv("HSTS_SECONDS", raising=False)
    assert config.load_config("production").HSTS_SECONDS == 31536000
    assert config.load_config("development").HSTS_SECONDS == 0


def test_no_server_header_from_the_application(client) -> None:
    for path in ("/connexion", "/api/v1/openapi.json", "/static/dsfr/dsfr.min.css"):
        headers = client.get(path).headers
        assert "Server" not in headers
        assert not any("werkzeug" in value.lower() for _, value in headers.items())


def test_gunicorn_names_itself_without_a_version() -> None:
    """gunicorn writes its own `Server: gunicorn` header; it must not carry a version number."""
    import gunicorn

    assert gunicorn.SERVER == "gunicorn"


# --- MAX_CONTENT_LENGTH ---------------------------------------------------------------------------------


def test_request_size_is_bounded_by_default(app) -> None:
    assert app.config["MAX_CONTENT_LENGTH"] == 2 * 1024 * 1024


def test_a_too_large_api_body_is_a_413_problem(client, world, bearer) -> None:
    body = b'{"email": "' + b"a" * (2 * 1024 * 1024 + 10) + b'", "password": "x"}'
    response = client.post("/api/v1/tokens", data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 413 and problem["title"] == "Contenu trop volumineux"
    authenticated = client.post(
        f"/api/v1/pathways/{world.pathway.id}/meetings", data=body, content_type="application/json",
        headers=bearer(world.referent),
    )
    assert authenticated.status_code == 413 and authenticated.mimetype == "application/problem+json"


def test_a_too_large_form_is_a_french_413_page(client) -> None:
    response = client.post("/connexion", data={"email": "a@exemple.fr", "password": "x" * (2 * 1024 * 1024 + 10)})
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    html = unescape(response.get_data(as_text=True))
    assert "Contenu trop volumineux" in html and '<html lang="fr">' in html


# --- ProxyFix -----------------------------------------------------------------------------------------------


def test_proxy_fix_is_applied_only_with_trusted_proxies() -> None:
    assert not isinstance(create_app("testing").wsgi_app, ProxyFix)
    assert isinstance(create_app("testing", overrides={"TRUSTED_PROXIES": 1}).wsgi_app, ProxyFix)
    assert config.load_config("development").TRUSTED_PROXIES == 0


FORWARDED = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}


def _log_in_and_subscribe(client, user) -> tuple[str, str | None]:
    """Log in and ask for the ICS feed address (built with url_for(_external=True))."""
    client.post("/deconnexion", headers=FORWARDED)
    login = client.post("/connexion", data={"email": user.email, "password": PASSWORD}, headers=FORWARDED)
    assert login.status_code == 302
    page = client.post("/agenda/abonnement", headers=FORWARDED)
    assert page.status_code == 200
    html = unescape(page.get_data(as_text=True))
    start = html.index('id="adresse-abonnement"')
    url = html[start:].split('value="', 1)[1].split('"', 1)[0]
    db.session.expire_all()
    ip = db.session.scalar(
        sa.select(UserSession.ip_address).where(UserSession.user_id == user.id).order_by(UserSession.id.desc())
    )
    return url, ip


def test_forwarded_headers_are_ignored_without_trusted_proxies(client, world) -> None:
    url, ip = _log_in_and_subscribe(client, world.referent)
    assert url.startswith("http://localhost/")
    assert ip == "127.0.0.1"


def test_behind_one_trusted_proxy_the_client_address_and_scheme_come_from_it(app, client, world, monkeypatch) -> None:
    monkeypatch.setattr(app, "wsgi_app", app.wsgi_app)  # restored after the test
    monkeypatch.setitem(app.config, "TRUSTED_PROXIES", 1)
    register_proxy_fix(app)
    url, ip = _log_in_and_subscribe(client, world.referent)
    assert url.startswith("https://localhost/")
    assert ip == "203.0.113.7"


@pytest.mark.parametrize("path", ["/connexion", "/api/v1/inconnu"])
def test_baseline_headers_stay(client, path) -> None:
    headers = client.get(path).headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
