"""Bearer tokens: creation, use, expiry, revocation; no session cookie; rate limit (429); docs."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import create_app
from app.accounts.models import ApiToken
from app.accounts.tokens import hash_token
from app.extensions import db, limiter
from tests.factories import PASSWORD


def test_token_lifecycle(client, world):
    response = client.post("/api/v1/tokens", json={"email": "referent@ft.test", "password": PASSWORD})
    assert response.status_code == 201
    token = response.get_json()["token"]
    record = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    assert record is not None and record.last_used_at is None  # stored hashed, never in clear
    assert record.expires_at - record.created_at == timedelta(hours=12)
    assert response.get_json()["expires_at"].endswith("+00:00")

    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/beneficiaries", headers=headers).status_code == 200
    db.session.refresh(record)
    assert record.last_used_at is not None

    assert client.delete("/api/v1/tokens/current", headers=headers).status_code == 204
    revoked = client.get("/api/v1/beneficiaries", headers=headers)
    assert revoked.status_code == 401
    assert revoked.headers["WWW-Authenticate"].startswith("Bearer")
    assert revoked.mimetype == "application/problem+json"


def test_bad_credentials_and_bad_bodies(client, world):
    wrong = client.post("/api/v1/tokens", json={"email": "referent@ft.test", "password": "nope"})
    assert wrong.status_code == 401 and "WWW-Authenticate" in wrong.headers
    missing = client.post("/api/v1/tokens", json={"email": "referent@ft.test"})
    assert missing.status_code == 422
    assert missing.get_json()["errors"] == {"password": ["Saisissez votre mot de passe."]}
    unknown = client.post("/api/v1/tokens", json={"email": "a@b.fr", "password": "x", "admin": True})
    assert unknown.status_code == 422 and unknown.get_json()["errors"] == {"admin": ["Champ inconnu."]}
    assert (
        client.post("/api/v1/tokens", data="pas du json", content_type="application/json").status_code == 400
    )
    assert client.post("/api/v1/tokens", json=["a", "b"]).status_code == 400


def test_expired_token_is_refused(client, world, bearer):
    headers = bearer(world.referent)
    record = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == world.referent.id))
    record.created_at = record.created_at - timedelta(hours=13)
    record.expires_at = record.created_at + timedelta(hours=12)
    db.session.commit()
    response = client.get("/api/v1/beneficiaries", headers=headers)
    assert response.status_code == 401
    assert "invalid_token" in response.headers["WWW-Authenticate"]


def test_session_cookie_is_not_accepted_on_the_api(client, world):
    logged_in = client.post("/connexion", data={"email": "referent@ft.test", "password": PASSWORD})
    assert logged_in.status_code == 302
    assert "/connexion" not in client.get("/").headers.get("Location", "")  # the web session works…
    assert client.get("/api/v1/beneficiaries").status_code == 401  # …but not on the API


def test_malformed_authorization_headers(client, world):
    for value in ("", "Bearer", "Basic abc", "Bearer \u00e9t\u00e9", "Bearer " + "x" * 5000):
        assert client.get("/api/v1/beneficiaries", headers={"Authorization": value}).status_code == 401


@pytest.fixture
def limited_app():
    """A second app with the rate limit on (the suite's app has it off, see TestingConfig)."""
    was_enabled = limiter.enabled
    app = create_app("testing", overrides={"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute"})
    try:
        yield app
    finally:
        limiter.reset()
        limiter.enabled = was_enabled


def test_login_and_token_creation_are_rate_limited(limited_app):
    client = limited_app.test_client()
    # Invalid bodies are refused before any database access, and still count.
    statuses = [client.post("/api/v1/tokens", json={}).status_code for _ in range(4)]
    assert statuses == [422, 422, 422, 429]
    throttled = client.post("/api/v1/tokens", json={})
    assert throttled.mimetype == "application/problem+json"
    assert throttled.get_json()["title"] == "Trop de requêtes"
    # The web login draws on the same per-address budget: a client cannot double it by using both.
    page = client.post("/connexion", data={})
    assert page.status_code == 429
    assert page.mimetype == "text/html" and "Trop de requêtes" in page.get_data(as_text=True)
    assert client.get("/connexion").status_code == 200  # only posts count


def test_web_login_attempts_count_against_the_api_budget(limited_app):
    client = limited_app.test_client()
    web = [client.post("/connexion", data={}).status_code for _ in range(3)]
    assert web == [422, 422, 422]
    assert client.post("/api/v1/tokens", json={}).status_code == 429


def test_openapi_document_and_docs_page(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/pathways/{pathway_id}/meetings" in spec["paths"]
    patch = spec["paths"]["/pathways/{pathway_id}"]["patch"]
    assert {"200", "401", "404", "409", "422", "428"} <= set(patch["responses"])
    assert "application/problem+json" in patch["responses"]["422"]["content"]

    page = client.get("/api/v1/docs")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<script>" not in html and "cdn" not in html.lower()  # CSP 'self': external scripts only
    for asset in (
        "/api/v1/docs/assets/swagger-ui-bundle.js",
        "/api/v1/docs/assets/swagger-ui.css",
        "/api/v1/docs/init.js",
    ):
        assert asset in html
        assert client.get(asset).status_code == 200
    assert client.get("/api/v1/docs/assets/package.json").status_code == 404
