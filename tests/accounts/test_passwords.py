"""Password policy (length, common list, zxcvbn), « Mon mot de passe » and « Mot de passe oublié ? ».

Real HTTP through Flask's test client, on the real test database; mails are the .eml files that
`app.core.mail.deliver` writes to MAIL_OUTBOX_DIR (a tmp_path here).
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email import message_from_bytes
from email.policy import default as default_policy
from html import unescape
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine

from app.accounts.models import ApiToken, PasswordReset, User, UserSession
from app.accounts.passwords import (
    PASSWORD_TOO_COMMON,
    PASSWORD_TOO_SHORT,
    PASSWORD_TOO_WEAK,
    common_passwords,
    password_problem,
    verify_password,
)
from app.accounts.services import CONFIRMATION_MISMATCH, CURRENT_PASSWORD_WRONG, create_user
from app.accounts.sessions import SESSION_KEY
from app.accounts.throttle import EXTENSION
from app.accounts.tokens import issue_token
from app.accounts.views import PASSWORD_CHANGED, RESET_REQUESTED
from app.audit.models import AuditEvent
from app.errors import ValidationError
from app.extensions import db
from tests.conftest import IsolatedClient
from tests.factories import PASSWORD
from tests.web_helpers import csrf_token, field_error

NEW_PASSWORD = "girafe-parapluie-tournesol-41"
CSRF_MESSAGE = "Le formulaire a expiré ou n'est pas valide, veuillez le renvoyer."


@pytest.fixture
def user(make_user):
    return make_user(email="claire.martin@exemple.fr", first_name="Claire", last_name="Martin")


@pytest.fixture
def outbox(app, tmp_path, monkeypatch) -> Path:
    monkeypatch.setitem(app.config, "MAIL_OUTBOX_DIR", str(tmp_path))
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    return tmp_path


@pytest.fixture
def csrf_enabled(app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)


def html(response) -> str:
    return unescape(response.get_data(as_text=True))


def second_client(app):
    app.test_client_class = IsolatedClient
    return app.test_client()


def log_in(client, email, password=PASSWORD):
    return client.post("/connexion", data={"email": email, "password": password})


# --- the policy ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("court", PASSWORD_TOO_SHORT),
        ("azertyuiop123", PASSWORD_TOO_COMMON),
        ("motdepasse2026!", PASSWORD_TOO_COMMON),  # a common one with digits and punctuation after it
        ("Soleil1234567", PASSWORD_TOO_COMMON),
        ("aaaaaaaaaaaaaaaa", PASSWORD_TOO_WEAK),
        ("abcdefghijklmnop", PASSWORD_TOO_WEAK),
        ("claire.martin2026", PASSWORD_TOO_WEAK),  # the person's own name and a year
        ("ClaireMartin!!!!", PASSWORD_TOO_WEAK),
    ],
)
def test_weak_passwords_are_refused_with_a_french_reason(password: str, message: str) -> None:
    assert password_problem(password, ["claire.martin@exemple.fr", "Claire", "Martin"]) == message


@pytest.mark.parametrize(
    "password", [NEW_PASSWORD, "un-mot-de-passe-solide", "Kz8#mQ2!vLp9x", "🔑" * 3 + "velo-orange-pluie"]
)
def test_strong_passwords_pass(password: str) -> None:
    assert password_problem(password, ["claire.martin@exemple.fr", "Claire", "Martin"]) is None


def test_the_common_list_is_a_committed_file_of_hundreds_of_passwords() -> None:
    common = common_passwords()
    assert 200 <= len(common) <= 1000
    assert {"azerty", "motdepasse", "soleil", "123456", "password"} <= common


def test_long_garbage_is_bounded_and_never_crashes() -> None:
    assert password_problem("x" * 5000) is not None
    assert password_problem("\x00" * 20) is not None
    assert password_problem("\ud800" * 20) is not None
    assert password_problem("é" * 1000) is not None


def test_create_user_refuses_a_common_password(make_agency) -> None:
    with pytest.raises(ValidationError) as excinfo:
        create_user(agency=make_agency(), email="lea@exemple.fr", first_name="Léa", last_name="Petit",
                    role="professional", password="motdepasse123")
    assert excinfo.value.field == "password"
    assert excinfo.value.message == PASSWORD_TOO_COMMON


def test_create_user_refuses_a_password_made_of_the_name(make_agency) -> None:
    with pytest.raises(ValidationError) as excinfo:
        create_user(agency=make_agency(), email="lea.petit@exemple.fr", first_name="Léa", last_name="Petit",
                    role="professional", password="lea.petit.2026")
    assert excinfo.value.field == "password"


def test_users_create_command_applies_the_policy(runner, make_agency) -> None:
    agency = make_agency()
    result = runner.invoke(
        args=["users", "create", "--email", "n@exemple.fr", "--first-name", "N", "--last-name", "B",
              "--agency", str(agency.id), "--password-stdin"],
        input="azertyuiop123\n",
    )
    assert result.exit_code != 0
    assert PASSWORD_TOO_COMMON in result.output


# --- « Mon mot de passe » -------------------------------------------------------------------------------


def change(client, current=PASSWORD, new=NEW_PASSWORD, confirmation=None):
    return client.post(
        "/compte/mot-de-passe",
        data={"current_password": current, "password": new,
              "password_confirmation": new if confirmation is None else confirmation},
    )


def test_the_change_page_needs_a_login(client) -> None:
    response = client.get("/compte/mot-de-passe")
    assert response.status_code == 302 and response.headers["Location"].startswith("/connexion")


def test_the_change_page_is_a_dsfr_form_linked_from_my_account(client, login_as, user) -> None:
    login_as(user)
    assert 'href="/compte"' in html(client.get("/portefeuille"))  # « Mon compte » in the header
    assert 'href="/compte/mot-de-passe"' in html(client.get("/compte"))
    page = client.get("/compte/mot-de-passe")
    text = html(page)
    assert page.status_code == 200
    for field in ("current_password", "password", "password_confirmation"):
        assert f'for="champ-{field}"' in text and f'name="{field}"' in text
    assert 'autocomplete="new-password"' in text
    assert 'name="csrf_token"' in text


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"current": "mauvais"}, "current_password", CURRENT_PASSWORD_WRONG),
        ({"current": ""}, "current_password", "Saisissez votre mot de passe actuel."),
        ({"new": "azerty123456"}, "password", PASSWORD_TOO_COMMON),
        ({"new": "court"}, "password", PASSWORD_TOO_SHORT),
        ({"new": "claire.martin2026"}, "password", PASSWORD_TOO_WEAK),
        ({"new": PASSWORD}, "password", "Le nouveau mot de passe doit être différent de l'actuel."),
        ({"confirmation": NEW_PASSWORD + "x"}, "password_confirmation", CONFIRMATION_MISMATCH),
    ],
)
def test_refused_changes_name_the_field_and_change_nothing(client, login_as, user, data, field, message) -> None:
    login_as(user)
    response = change(client, **data)
    assert response.status_code == 422
    assert field_error(html(response), field) == message
    db.session.expire_all()
    assert verify_password(db.session.get(User, user.id).password_hash, PASSWORD)


@pytest.mark.parametrize(
    "data",
    [{}, {"password": ["a", "b"]}, {"current_password": "x" * 5000, "password": "y" * 5000},
     {"current_password": "\x00", "password": "\x00" * 20, "password_confirmation": "\x00" * 20}],
)
def test_the_change_form_never_fails_with_garbage(client, login_as, user, data) -> None:
    login_as(user)
    assert client.post("/compte/mot-de-passe", data=data).status_code == 422


def test_a_change_keeps_this_session_and_ends_the_others_and_the_api_tokens(app, client, login_as, user) -> None:
    login_as(user)
    laptop = second_client(app)
    assert log_in(laptop, user.email).status_code == 302
    token = issue_token(user).token

    response = change(client)
    assert response.status_code == 302
    assert PASSWORD_CHANGED in html(client.get(response.headers["Location"]))

    assert client.get("/portefeuille").status_code == 200  # this browser stays logged in
    assert laptop.get("/portefeuille").status_code == 302  # the other one is out
    assert client.get("/api/v1/beneficiaries", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    db.session.expire_all()
    assert verify_password(db.session.get(User, user.id).password_hash, NEW_PASSWORD)
    assert db.session.scalar(sa.select(ApiToken.revoked_at).where(ApiToken.user_id == user.id)) is not None
    with client.session_transaction() as cookie:
        assert cookie[SESSION_KEY]
    open_sessions = db.session.scalar(
        sa.select(sa.func.count()).select_from(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    )
    assert open_sessions == 1
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.password_changed"))
    assert event is not None and event.actor_id == user.id
    assert event.details == {"sessions": 1, "api_tokens": 1}
    assert NEW_PASSWORD not in str(event.details) and PASSWORD not in str(event.details)
    client.post("/deconnexion")
    assert log_in(client, user.email, NEW_PASSWORD).status_code == 302


def test_the_change_form_checks_csrf(client, login_as, user, csrf_enabled) -> None:
    token = csrf_token(client, "/connexion")
    assert client.post("/connexion", data={"email": user.email, "password": PASSWORD,
                                           "csrf_token": token}).status_code == 302
    forged = change(client)
    assert forged.status_code == 400 and CSRF_MESSAGE in html(forged)
    token = csrf_token(client, "/compte/mot-de-passe")
    response = client.post("/compte/mot-de-passe", data={
        "csrf_token": token, "current_password": PASSWORD, "password": NEW_PASSWORD,
        "password_confirmation": NEW_PASSWORD})
    assert response.status_code == 302


# --- « Mot de passe oublié ? » ------------------------------------------------------------------------------


def mails(outbox: Path) -> list:
    return [message_from_bytes(p.read_bytes(), policy=default_policy) for p in sorted(outbox.glob("*.eml"))]


def reset_link(outbox: Path) -> str:
    [mail] = mails(outbox)
    body = mail.get_body(("plain",)).get_content()
    match = re.search(r"https?://[^\s]+/mot-de-passe-oublie/([\w-]+)", body)
    assert match, body
    return match.group(0)


def path_of(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def test_the_login_page_links_to_the_reset_form(client) -> None:
    assert 'href="/mot-de-passe-oublie"' in html(client.get("/connexion"))
    page = client.get("/mot-de-passe-oublie")
    assert page.status_code == 200
    assert 'for="champ-email"' in html(page) and 'name="csrf_token"' in html(page)


def test_the_answer_is_the_same_whether_or_not_the_account_exists(client, user, outbox) -> None:
    known = client.post("/mot-de-passe-oublie", data={"email": user.email})
    unknown = client.post("/mot-de-passe-oublie", data={"email": "personne@exemple.fr"})
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"] == "/connexion"
    assert RESET_REQUESTED in html(client.get("/connexion"))
    [mail] = mails(outbox)  # one mail only: to the account that exists
    assert mail["To"] == user.email
    assert "réinitialisation" in mail["Subject"]


def test_an_inactive_account_gets_no_mail(client, make_user, outbox) -> None:
    inactive = make_user(is_active_account=False)
    assert client.post("/mot-de-passe-oublie", data={"email": inactive.email}).status_code == 302
    assert mails(outbox) == []


def test_the_request_form_validates_the_address(client, outbox) -> None:
    response = client.post("/mot-de-passe-oublie", data={"email": "pas-une-adresse"})
    assert response.status_code == 422
    assert field_error(html(response), "email") is not None
    for data in ({}, {"email": ["a@b.fr", "c@d.fr"]}, {"email": "x" * 5000}, {"email": "\x00@exemple.fr"}):
        assert client.post("/mot-de-passe-oublie", data=data).status_code in (302, 400, 422)


def test_a_reset_link_sets_a_new_password_once_and_ends_every_session_and_token(
    app, client, user, outbox
) -> None:
    browser = second_client(app)
    assert log_in(browser, user.email).status_code == 302
    token = issue_token(user).token
    client.post("/mot-de-passe-oublie", data={"email": user.email})
    link = reset_link(outbox)
    secret = link.rsplit("/", 1)[1]
    stored = db.session.scalar(sa.select(PasswordReset).where(PasswordReset.user_id == user.id))
    assert secret not in stored.token_hash and len(stored.token_hash) == 64  # hashed
    assert stored.expires_at - stored.created_at == timedelta(hours=1)

    form = client.get(path_of(link))
    assert form.status_code == 200
    assert 'name="password"' in html(form) and 'name="password_confirmation"' in html(form)
    weak = client.post(path_of(link), data={"password": "azerty123456", "password_confirmation": "azerty123456"})
    assert weak.status_code == 422 and field_error(html(weak), "password") == PASSWORD_TOO_COMMON

    done = client.post(path_of(link), data={"password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/connexion"
    assert browser.get("/portefeuille").status_code == 302  # every session ended
    assert client.get("/api/v1/beneficiaries", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert log_in(client, user.email, PASSWORD).status_code == 422  # the old password is gone
    assert log_in(client, user.email, NEW_PASSWORD).status_code == 302
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.password_reset")) is not None

    client.post("/deconnexion")
    reused = client.post(path_of(link), data={"password": "autre-" + NEW_PASSWORD,
                                              "password_confirmation": "autre-" + NEW_PASSWORD})
    assert reused.status_code == 400
    assert "n'est plus valable" in html(reused)
    assert client.get(path_of(link)).status_code == 400


def test_a_reset_link_expires_after_an_hour(client, user, outbox) -> None:
    start = datetime.now(timezone.utc)
    with time_machine.travel(start, tick=False):
        client.post("/mot-de-passe-oublie", data={"email": user.email})
    link = path_of(reset_link(outbox))
    with time_machine.travel(start + timedelta(minutes=59), tick=False):
        assert client.get(link).status_code == 200
    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        expired = client.get(link)
        assert expired.status_code == 400 and "n'est plus valable" in html(expired)
        posted = client.post(link, data={"password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD})
        assert posted.status_code == 400
    db.session.expire_all()
    assert verify_password(db.session.get(User, user.id).password_hash, PASSWORD)


def test_a_newer_link_replaces_the_older_one(client, user, outbox) -> None:
    client.post("/mot-de-passe-oublie", data={"email": user.email})
    first = path_of(reset_link(outbox))
    for eml in outbox.glob("*.eml"):
        eml.unlink()
    client.post("/mot-de-passe-oublie", data={"email": user.email})
    second = path_of(reset_link(outbox))
    assert client.get(first).status_code == 400
    assert client.get(second).status_code == 200


@pytest.mark.parametrize("token", ["inconnu", "x" * 500, "%00", "..%2F..%2Fetc"])
def test_unknown_or_garbage_links_are_refused_in_french(client, token) -> None:
    response = client.get(f"/mot-de-passe-oublie/{token}")
    assert response.status_code in (400, 404)
    assert response.status_code != 500


def test_reset_requests_are_throttled_per_account(app, client, user, outbox, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "ACCOUNT_THROTTLE_ENABLED", True)
    app.extensions[EXTENSION].reset()
    try:
        for _ in range(3):
            assert client.post("/mot-de-passe-oublie", data={"email": user.email}).status_code == 302
        refused = client.post("/mot-de-passe-oublie", data={"email": user.email})
        assert refused.status_code == 429
        assert "Trop de demandes" in html(refused)
        assert len(mails(outbox)) == 3
        # Same answer for an address without an account, once it has had its three.
        for _ in range(3):
            client.post("/mot-de-passe-oublie", data={"email": "personne@exemple.fr"})
        assert client.post("/mot-de-passe-oublie", data={"email": "personne@exemple.fr"}).status_code == 429
    finally:
        app.extensions[EXTENSION].reset()


def test_the_reset_forms_check_csrf(client, user, outbox, csrf_enabled) -> None:
    forged = client.post("/mot-de-passe-oublie", data={"email": user.email})
    assert forged.status_code == 400 and CSRF_MESSAGE in html(forged)
    assert mails(outbox) == []
    token = csrf_token(client, "/mot-de-passe-oublie")
    assert client.post("/mot-de-passe-oublie", data={"email": user.email, "csrf_token": token}).status_code == 302
    link = path_of(reset_link(outbox))
    forged = client.post(link, data={"password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD})
    assert forged.status_code == 400 and CSRF_MESSAGE in html(forged)
    token = csrf_token(client, link)
    done = client.post(link, data={"password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD,
                                   "csrf_token": token})
    assert done.status_code == 302


def test_reset_links_use_the_public_base_url_not_the_host_header(app, client, user, outbox, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://parcours.exemple.fr")
    client.post("/mot-de-passe-oublie", data={"email": user.email}, headers={"Host": "evil.example"})
    assert reset_link(outbox).startswith("https://parcours.exemple.fr/mot-de-passe-oublie/")
