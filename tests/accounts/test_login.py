"""Login and logout over real HTTP (Flask test client) against the real test database."""
from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import pytest
import sqlalchemy as sa
from flask import Flask, g
from flask.testing import FlaskClient

from app.accounts.models import User
from app.accounts.views import BAD_CREDENTIALS
from app.audit.models import AuditEvent
from app.extensions import db

CSRF_MESSAGE = "Le formulaire a expiré ou n'est pas valide, veuillez le renvoyer."


@pytest.fixture
def user(make_user) -> User:
    return make_user(email="claire.martin@exemple.fr", first_name="Claire")


@pytest.fixture
def csrf_enabled(app: Flask) -> Iterator[None]:
    """Turns CSRF protection on (as in production) for one test, then restores the testing value."""
    previous = app.config["WTF_CSRF_ENABLED"]
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        yield
    finally:
        app.config["WTF_CSRF_ENABLED"] = previous


def csrf_token_from(client: FlaskClient, path: str = "/connexion") -> str:
    # The per-test app context (tests/conftest.py) is shared by every request of the test, so
    # Flask-WTF's per-request cache in `g` would outlive a request: drop it, as a new request would.
    g.pop("csrf_token", None)
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF token in {path}"
    return match.group(1)


def login(client: FlaskClient, email: str, password: str, **extra: str):
    return client.post("/connexion", data={"email": email, "password": password, **extra})


def test_login_page_renders_in_french(client: FlaskClient) -> None:
    response = client.get("/connexion")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="fr">' in html
    assert "Connexion — Parcours</title>" in html
    assert 'name="csrf_token"' in html
    assert 'for="champ-email"' in html and 'for="champ-password"' in html


def test_login_success_sets_session_and_redirects_home(
    client: FlaskClient, user: User, password: str
) -> None:
    response = login(client, "  Claire.Martin@EXEMPLE.fr ", password)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    with client.session_transaction() as session:
        assert session["_user_id"] == str(user.id)
    home = client.get("/", follow_redirects=True)  # professionals land on « Mon portefeuille »
    assert home.status_code == 200
    assert "Bonjour Claire" in home.get_data(as_text=True)


def test_login_records_last_login_and_audit_event(client: FlaskClient, user: User, password: str) -> None:
    login(client, user.email, password)
    db.session.refresh(user)
    assert user.last_login_at is not None
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "user.login", AuditEvent.object_id == user.id)
    ).all()
    assert len(events) == 1


def test_wrong_password_and_unknown_email_answer_identically(
    client: FlaskClient, user: User, password: str
) -> None:
    wrong_password = login(client, user.email, password + "x")
    unknown_email = login(client, "personne@exemple.fr", password)
    for response in (wrong_password, unknown_email):
        assert response.status_code == 422
        assert BAD_CREDENTIALS in response.get_data(as_text=True)
    assert wrong_password.status_code == unknown_email.status_code
    with client.session_transaction() as session:
        assert "_user_id" not in session


def test_failed_login_keeps_typed_email(client: FlaskClient, user: User) -> None:
    html = login(client, user.email, "mauvais-mot-de-passe").get_data(as_text=True)
    assert f'value="{user.email}"' in html
    assert "mauvais-mot-de-passe" not in html


def test_inactive_account_is_refused(client: FlaskClient, make_user, password: str) -> None:
    inactive = make_user(is_active_account=False)
    response = login(client, inactive.email, password)
    assert response.status_code == 422
    assert BAD_CREDENTIALS in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_empty_fields_get_french_field_errors(client: FlaskClient) -> None:
    response = login(client, "", "")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Saisissez votre adresse électronique." in html
    assert "Saisissez votre mot de passe." in html
    assert 'aria-describedby="champ-email-erreur"' in html
    assert 'id="champ-email-erreur"' in html
    assert "fr-input-group--error" in html


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "/%0a/evil.example".replace("%0a", "\n"),
    ],
)
def test_next_refuses_open_redirects(client: FlaskClient, user: User, password: str, target: str) -> None:
    response = login(client, user.email, password, next=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_next_follows_local_paths(client: FlaskClient, user: User, password: str) -> None:
    response = client.post(
        "/connexion?next=/sante%3Fa%3D1", data={"email": user.email, "password": password}
    )
    assert response.headers["Location"] == "/sante?a=1"


def test_protected_page_redirects_anonymous_to_login(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/connexion")


def test_session_cookie_is_httponly_and_samesite_lax(client: FlaskClient, user: User, password: str) -> None:
    response = login(client, user.email, password)
    cookies = [v for k, v in response.headers.items() if k == "Set-Cookie" and v.startswith("session=")]
    assert cookies, "login must set the session cookie"
    assert "HttpOnly" in cookies[0]
    assert "SameSite=Lax" in cookies[0]


def test_logout_requires_post(client: FlaskClient, user: User, password: str) -> None:
    login(client, user.email, password)
    response = client.get("/deconnexion")
    assert response.status_code == 405
    assert client.get("/portefeuille").status_code == 200  # still logged in


def test_logout_logs_out(client: FlaskClient, user: User, password: str) -> None:
    login(client, user.email, password)
    response = client.post("/deconnexion")
    assert response.status_code == 302
    assert response.headers["Location"] == "/connexion"
    assert "Vous êtes déconnecté·e." in client.get("/connexion").get_data(as_text=True)
    assert client.get("/").status_code == 302


@pytest.mark.usefixtures("csrf_enabled")
def test_login_without_csrf_token_is_refused(client: FlaskClient, user: User, password: str) -> None:
    response = login(client, user.email, password)
    assert response.status_code == 400
    assert CSRF_MESSAGE in unescape(response.get_data(as_text=True))
    with client.session_transaction() as session:
        assert "_user_id" not in session


@pytest.mark.usefixtures("csrf_enabled")
def test_logout_requires_csrf_token(client: FlaskClient, user: User, password: str) -> None:
    token = csrf_token_from(client)
    assert login(client, user.email, password, csrf_token=token).status_code == 302

    forged = client.post("/deconnexion")
    assert forged.status_code == 400
    assert CSRF_MESSAGE in unescape(forged.get_data(as_text=True))
    assert client.get("/portefeuille").status_code == 200  # a forged post does not log out

    token = csrf_token_from(client, "/portefeuille")  # the header's logout form carries the token
    assert client.post("/deconnexion", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302


def test_header_shows_name_and_logout_button_when_logged_in(
    client: FlaskClient, user: User, password: str
) -> None:
    login(client, user.email, password)
    html = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert user.full_name in html
    assert 'action="/deconnexion"' in html
    assert "Se déconnecter" in html


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"email": "a" * 5000, "password": "b" * 5000},
        {"email": "x@y", "password": "p"},
        {"email": "nul\x00@exemple.fr", "password": "p\x00"},
        {"email": "émile@exemple.fr", "password": "🔑" * 10},
        {"email": "' OR 1=1 --@exemple.fr", "password": "' OR '1'='1"},
        {"email": ["a@exemple.fr", "b@exemple.fr"], "password": ["x", "y"]},
        {"email": "<script>alert(1)</script>", "password": "x"},
    ],
)
def test_login_never_fails_with_garbage(client: FlaskClient, data: dict) -> None:
    response = client.post("/connexion", data=data)
    assert response.status_code in (400, 422)
    assert "<script>alert(1)</script>" not in response.get_data(as_text=True)


def test_garbage_next_and_query_do_not_break_the_page(client: FlaskClient) -> None:
    for query in ("?next=%00", "?next=" + "a" * 5000, "?next=/%ff", "?next[]=x"):
        assert client.get("/connexion" + query).status_code == 200
