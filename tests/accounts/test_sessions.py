"""Server-side sessions: a login is a `user_session` row, checked on every request, revocable.

Every test goes through real HTTP (Flask's test client) on the real test database; time travels
with time-machine (the session check reads the clock through `utcnow()`).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from html import unescape

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask

from app.accounts.models import ApiToken, UserSession
from app.accounts.services import deactivate_user
from app.accounts.sessions import SESSION_KEY, hash_key
from app.accounts.tokens import issue_token, resolve_token
from app.accounts.views import SESSION_EXPIRED
from app.audit.models import AuditEvent
from app.extensions import db
from tests.conftest import IsolatedClient
from tests.factories import PASSWORD


@pytest.fixture
def user(make_user):
    return make_user(email="sandrine.morel@exemple.fr", first_name="Sandrine", last_name="Morel")


def log_in(client, user) -> None:
    response = client.post("/connexion", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


def sessions_of(user) -> list[UserSession]:
    db.session.expire_all()
    stmt = sa.select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.id)
    return list(db.session.scalars(stmt))


def assert_sent_to_login_with_expiry_message(client, path: str = "/portefeuille") -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/connexion")
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert SESSION_EXPIRED in unescape(page.get_data(as_text=True))


def other_client(app: Flask):
    app.test_client_class = IsolatedClient
    return app.test_client()


def test_login_opens_a_server_side_session_stored_hashed(client, user) -> None:
    log_in(client, user)
    with client.session_transaction() as cookie:
        key = cookie[SESSION_KEY]
    [record] = sessions_of(user)
    assert record.key_hash == hash_key(key) and key not in record.key_hash  # only the digest is kept
    assert record.revoked_at is None
    assert record.ip_address == "127.0.0.1"
    assert client.get("/portefeuille").status_code == 200


def test_a_cookie_copied_before_logout_no_longer_works(app, client, user) -> None:
    log_in(client, user)
    assert client.get("/portefeuille").status_code == 200
    stolen = client.get_cookie("session").value  # what an attacker copied from the browser

    assert client.post("/deconnexion").status_code == 302

    attacker = other_client(app)
    attacker.set_cookie("session", stolen)
    assert_sent_to_login_with_expiry_message(attacker)
    assert attacker.get("/portefeuille").status_code == 302  # and the cookie was dropped for good
    [record] = sessions_of(user)
    assert record.revoked_at is not None  # revoked server-side, at logout


def test_an_unknown_session_key_is_logged_out(client, user) -> None:
    log_in(client, user)
    with client.session_transaction() as cookie:
        cookie[SESSION_KEY] = "une-cle-inventee"
    assert_sent_to_login_with_expiry_message(client)


def test_a_cookie_without_server_side_session_is_logged_out(client, user) -> None:
    """A cookie signed before this change (only Flask-Login's keys) opens nothing any more."""
    log_in(client, user)
    with client.session_transaction() as cookie:
        del cookie[SESSION_KEY]
    assert_sent_to_login_with_expiry_message(client)


def test_idle_sessions_expire_after_the_idle_timeout(app, client, user) -> None:
    assert app.config.get("SESSION_IDLE_MINUTES", 30) == 30  # the default
    start = datetime.now(timezone.utc)
    with time_machine.travel(start, tick=False):
        log_in(client, user)
    with time_machine.travel(start + timedelta(minutes=29), tick=False):
        assert client.get("/portefeuille").status_code == 200  # activity resets the idle clock
    with time_machine.travel(start + timedelta(minutes=58), tick=False):
        assert client.get("/portefeuille").status_code == 200
    with time_machine.travel(start + timedelta(minutes=58 + 31), tick=False):
        assert_sent_to_login_with_expiry_message(client)


def test_last_seen_is_written_at_most_once_a_minute(client, user) -> None:
    start = datetime.now(timezone.utc)
    with time_machine.travel(start, tick=False):
        log_in(client, user)
    with time_machine.travel(start + timedelta(seconds=50), tick=False):
        assert client.get("/portefeuille").status_code == 200
    [record] = sessions_of(user)
    assert record.last_seen_at == record.created_at  # no write within the minute
    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        assert client.get("/portefeuille").status_code == 200
    [record] = sessions_of(user)
    assert record.last_seen_at - record.created_at == timedelta(minutes=2)


def test_sessions_end_after_the_absolute_lifetime_even_when_active(app, client, user, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "SESSION_LIFETIME_MINUTES", 60)
    start = datetime.now(timezone.utc)
    with time_machine.travel(start, tick=False):
        log_in(client, user)
    for minutes in (20, 40, 59):
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            assert client.get("/portefeuille").status_code == 200
    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        assert_sent_to_login_with_expiry_message(client)


def test_the_default_absolute_lifetime_is_eight_hours(app, client, user) -> None:
    assert app.config.get("SESSION_LIFETIME_MINUTES", 8 * 60) == 8 * 60
    start = datetime.now(timezone.utc)
    with time_machine.travel(start, tick=False):
        log_in(client, user)
    for minutes in range(25, 8 * 60, 25):  # always active, never idle
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            assert client.get("/portefeuille").status_code == 200, minutes
    with time_machine.travel(start + timedelta(minutes=8 * 60 + 1), tick=False):
        assert_sent_to_login_with_expiry_message(client)


def test_deactivating_an_account_ends_its_sessions_and_api_tokens(app, client, user, now) -> None:
    log_in(client, user)
    token = issue_token(user).token
    assert client.get("/api/v1/beneficiaries", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    revoked = deactivate_user(user, now=datetime.now(timezone.utc))
    assert revoked == {"sessions": 1, "api_tokens": 1}
    assert all(s.revoked_at is not None for s in sessions_of(user))
    assert db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == user.id)).revoked_at is not None
    assert client.get("/api/v1/beneficiaries", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert_sent_to_login_with_expiry_message(client)
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.deactivated"))
    assert event is not None and event.object_id == user.id


def test_an_account_deactivated_behind_the_services_back_is_logged_out_too(client, user) -> None:
    log_in(client, user)
    user.is_active_account = False
    db.session.commit()
    assert_sent_to_login_with_expiry_message(client)


def test_deactivate_command_revokes_sessions_and_tokens(runner, client, user) -> None:
    log_in(client, user)
    token = issue_token(user).token
    result = runner.invoke(args=["users", "deactivate", "--email", user.email.upper()])
    assert result.exit_code == 0, result.output
    assert "1 session(s) et 1 jeton(s)" in result.output
    db.session.expire_all()
    assert user.is_active_account is False
    assert resolve_token(token) is None
    assert_sent_to_login_with_expiry_message(client)


def test_logout_of_one_browser_leaves_the_others_open(app, client, user) -> None:
    log_in(client, user)
    laptop = other_client(app)
    log_in(laptop, user)
    assert len(sessions_of(user)) == 2
    client.post("/deconnexion")
    assert laptop.get("/portefeuille").status_code == 200
    assert client.get("/portefeuille").status_code == 302


def test_the_api_never_reads_the_session_cookie(client, user) -> None:
    log_in(client, user)
    assert client.get("/api/v1/beneficiaries").status_code == 401
