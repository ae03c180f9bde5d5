"""Error pages, problem+json under /api/, security headers, health check."""
from __future__ import annotations

from collections.abc import Iterator
from html import unescape

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.errors import Conflict, NotFound, ValidationError


@pytest.fixture(scope="module")
def error_app() -> Iterator[Flask]:
    """A second app with routes that fail on purpose (routes cannot be added to a running app)."""
    app = create_app("testing", overrides={"PROPAGATE_EXCEPTIONS": False})

    def boom():
        raise RuntimeError("secret internal detail")

    def conflict():
        raise Conflict("Cette personne a déjà un parcours ouvert.")

    def invalid():
        raise ValidationError("La date est dans le futur.", field="held_at")

    def missing():
        raise NotFound()

    for rule, view in [("/boom", boom), ("/api/v1/boom", boom), ("/conflict", conflict),
                       ("/api/v1/conflict", conflict), ("/api/v1/invalid", invalid), ("/missing", missing)]:
        app.add_url_rule(rule, endpoint=rule, view_func=view, methods=["GET", "POST"])
    yield app


@pytest.fixture
def error_client(error_app: Flask) -> FlaskClient:
    return error_app.test_client()


def test_unknown_page_is_a_french_html_404(client: FlaskClient) -> None:
    response = client.get("/cette-page-n-existe-pas")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "Page introuvable" in html
    assert "Erreur 404" in html
    assert '<html lang="fr">' in html


def test_unknown_api_path_is_problem_json(client: FlaskClient) -> None:
    response = client.get("/api/v1/inconnu")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["status"] == 404
    assert body["title"] == "Page introuvable"
    assert {"type", "title", "status", "detail"} <= set(body)


def test_method_not_allowed_keeps_allow_header(client: FlaskClient) -> None:
    response = client.get("/deconnexion")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert "Méthode non autorisée" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/connexion", "/cette-page-n-existe-pas", "/sante", "/api/v1/inconnu"])
def test_security_headers_on_every_response(client: FlaskClient, path: str) -> None:
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "style-src 'self'" in csp
    assert "img-src 'self' data:" in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"


def test_pages_have_no_inline_script_or_style(client: FlaskClient) -> None:
    html = client.get("/connexion").get_data(as_text=True)
    assert "<style" not in html
    assert " style=" not in html
    for tag in html.split("<script")[1:]:
        assert "src=" in tag.split(">")[0], "every script must be a file (CSP forbids inline scripts)"


def test_health_check(client: FlaskClient) -> None:
    response = client.get("/sante")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert "Set-Cookie" not in response.headers


def test_dsfr_assets_are_served_locally_with_long_cache(client: FlaskClient) -> None:
    response = client.get("/static/dsfr/dsfr.min.css")
    assert response.status_code == 200
    assert response.mimetype == "text/css"
    assert response.cache_control.max_age == 365 * 24 * 3600
    response.close()
    assert client.get("/static/dsfr/../package.json").status_code == 404
    assert client.get("/static/dsfr/%2e%2e/package.json").status_code == 404


def test_server_error_page_reveals_nothing(error_client: FlaskClient) -> None:
    response = error_client.get("/boom")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Erreur inattendue" in html
    assert "secret internal detail" not in html
    assert response.headers["X-Frame-Options"] == "DENY"


def test_server_error_under_api_is_problem_json(error_client: FlaskClient) -> None:
    response = error_client.get("/api/v1/boom")
    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    assert "secret" not in response.get_data(as_text=True)


def test_domain_errors_keep_their_status_and_message(error_client: FlaskClient) -> None:
    html = error_client.get("/conflict")
    assert html.status_code == 409
    assert "Cette personne a déjà un parcours ouvert." in unescape(html.get_data(as_text=True))

    api = error_client.get("/api/v1/conflict")
    assert api.status_code == 409
    assert api.get_json(force=True)["detail"] == "Cette personne a déjà un parcours ouvert."

    assert error_client.get("/missing").status_code == 404


def test_validation_errors_carry_field_details(error_client: FlaskClient) -> None:
    response = error_client.post("/api/v1/invalid")
    body = response.get_json(force=True)
    assert response.status_code == 422
    assert body["title"] == "Données invalides"
    assert body["errors"] == {"held_at": ["La date est dans le futur."]}


def test_csrf_failure_is_a_french_400(error_app: Flask, error_client: FlaskClient) -> None:
    error_app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = error_client.post("/connexion", data={"email": "a@exemple.fr", "password": "x"})
    finally:
        error_app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400
    assert "Le formulaire a expiré ou n'est pas valide, veuillez le renvoyer." in unescape(
        response.get_data(as_text=True)
    )
