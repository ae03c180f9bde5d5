"""Per-account throttle of password guessing, shared by the web login and POST /api/v1/tokens.

The suite's app has it off (TestingConfig); `throttle_on` turns it on for one test with the
defaults (5 failures in 15 minutes) and forgets every counter afterwards.
"""
from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta, timezone
from html import unescape

import pytest
import time_machine

from app import create_app
from app.accounts import throttle
from app.accounts.services import TOO_MANY_ATTEMPTS
from app.accounts.throttle import EXTENSION, Throttle, login_refusal
from tests.factories import PASSWORD

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/5")


@pytest.fixture
def throttle_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "ACCOUNT_THROTTLE_ENABLED", True)
    app.extensions[EXTENSION].reset()
    yield
    app.extensions[EXTENSION].reset()


@pytest.fixture
def user(make_user):
    return make_user(email="karim.benali@exemple.fr")


def web_login(client, email, password):
    return client.post("/connexion", data={"email": email, "password": password})


def api_login(client, email, password):
    return client.post("/api/v1/tokens", json={"email": email, "password": password})


def assert_web_refused(response) -> None:
    assert response.status_code == 429
    assert response.mimetype == "text/html"
    html = unescape(response.get_data(as_text=True))
    assert TOO_MANY_ATTEMPTS in html
    assert 'name="email"' in html  # the login page, with its message, not a bare error page
    assert int(response.headers["Retry-After"]) > 0


def assert_api_refused(response) -> None:
    assert response.status_code == 429
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == 429 and body["detail"] == TOO_MANY_ATTEMPTS
    assert int(response.headers["Retry-After"]) > 0


def test_the_throttle_is_on_outside_tests() -> None:
    import config

    assert config.load_config("development").ACCOUNT_THROTTLE_ENABLED is True
    assert config.load_config("development").ACCOUNT_THROTTLE_FAILURES == 5
    assert config.load_config("development").ACCOUNT_THROTTLE_MINUTES == 15


@pytest.mark.usefixtures("throttle_on")
def test_five_web_failures_block_the_api_for_that_account_even_with_the_right_password(client, user) -> None:
    for _ in range(5):
        assert web_login(client, user.email, "mauvais-mot-de-passe").status_code == 422
    assert_api_refused(api_login(client, user.email, PASSWORD))
    assert_web_refused(web_login(client, user.email, PASSWORD))
    with client.session_transaction() as session:
        assert "_user_id" not in session


@pytest.mark.usefixtures("throttle_on")
def test_five_api_failures_block_the_web_login(client, user) -> None:
    for _ in range(5):
        assert api_login(client, " Karim.Benali@EXEMPLE.fr ", "mauvais").status_code == 401  # normalised
    assert_web_refused(web_login(client, user.email, PASSWORD))
    assert_api_refused(api_login(client, user.email, PASSWORD))


@pytest.mark.usefixtures("throttle_on")
def test_another_account_is_unaffected(client, user, make_user) -> None:
    other = make_user(email="autre.compte@exemple.fr")
    for _ in range(5):
        web_login(client, user.email, "mauvais")
    assert api_login(client, other.email, PASSWORD).status_code == 201
    assert web_login(client, other.email, PASSWORD).status_code == 302


@pytest.mark.usefixtures("throttle_on")
def test_unknown_and_known_accounts_are_throttled_alike(client, user) -> None:
    for email in (user.email, "personne@exemple.fr"):
        for _ in range(5):
            assert web_login(client, email, "mauvais").status_code == 422
    known, unknown = web_login(client, user.email, "x"), web_login(client, "personne@exemple.fr", "x")
    assert_web_refused(known)
    assert_web_refused(unknown)
    # The same page, but for the address typed back into the field.
    assert known.get_data(as_text=True).replace(user.email, "@") == unknown.get_data(as_text=True).replace(
        "personne@exemple.fr", "@"
    )
    known, unknown = api_login(client, user.email, "x"), api_login(client, "personne@exemple.fr", "x")
    known_problem, unknown_problem = known.get_json(), unknown.get_json()
    # Each answer carries its own request id (for support), nothing else differs.
    assert known_problem.pop("request_id") != unknown_problem.pop("request_id")
    assert known_problem == unknown_problem


@pytest.mark.usefixtures("throttle_on")
def test_the_cooldown_ends_fifteen_minutes_after_the_first_failure(client, user) -> None:
    start = datetime.now(timezone.utc)
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            web_login(client, user.email, "mauvais")
    with time_machine.travel(start + timedelta(minutes=14), tick=False):
        assert_web_refused(web_login(client, user.email, PASSWORD))
    with time_machine.travel(start + timedelta(minutes=15, seconds=1), tick=False):
        assert web_login(client, user.email, PASSWORD).status_code == 302


@pytest.mark.usefixtures("throttle_on")
def test_a_successful_login_forgets_earlier_failures(client, user) -> None:
    for _ in range(4):
        web_login(client, user.email, "mauvais")
    assert api_login(client, user.email, PASSWORD).status_code == 201
    for _ in range(4):
        web_login(client, user.email, "mauvais")
    assert api_login(client, user.email, PASSWORD).status_code == 201


@pytest.mark.usefixtures("throttle_on")
def test_a_wrong_current_password_on_the_change_form_counts_too(client, login_as, user) -> None:
    login_as(user)
    for _ in range(5):
        response = client.post("/compte/mot-de-passe", data={"current_password": "mauvais", "password": "x",
                                                           "password_confirmation": "x"})
        assert response.status_code == 422
    client.post("/deconnexion")
    assert_web_refused(web_login(client, user.email, PASSWORD))


# --- shared storage --------------------------------------------------------------------------------


@pytest.fixture
def redis_url():
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "no Redis here"
        if os.environ.get("REQUIRE_REDIS") == "1":
            raise
        pytest.skip(f"Redis does not answer at {REDIS_URL}: {exc}")
    return REDIS_URL


def test_flask_limiter_uses_the_configured_storage(redis_url) -> None:
    """RATELIMIT_STORAGE_URI is honoured (it used to be hard-coded to memory://)."""
    from limits.storage import RedisStorage

    from app.extensions import limiter

    was_enabled = limiter.enabled
    try:
        create_app("testing", overrides={"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": redis_url})
        assert isinstance(limiter.storage, RedisStorage)
    finally:
        create_app("testing", overrides={"RATELIMIT_ENABLED": True})  # back to in-memory counters
        limiter.enabled = was_enabled


def test_two_app_instances_share_the_count_through_redis(app, client, monkeypatch, redis_url, user) -> None:
    """Two gunicorn workers (here: two apps) see the same failures when the storage is Redis."""
    prefix = f"parcours-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(app.config, "ACCOUNT_THROTTLE_ENABLED", True)
    monkeypatch.setitem(app.extensions, EXTENSION, Throttle(redis_url, prefix))
    worker_b = create_app(
        "testing",
        overrides={"RATELIMIT_STORAGE_URI": redis_url, "RATELIMIT_KEY_PREFIX": prefix,
                   "ACCOUNT_THROTTLE_ENABLED": True},
    )
    try:
        for _ in range(3):
            assert web_login(client, user.email, "mauvais").status_code == 422  # worker A
        with worker_b.test_request_context():
            assert login_refusal(user.email) is None
            throttle.record_login_failure(user.email)  # worker B
            throttle.record_login_failure(user.email)
            assert login_refusal(user.email) is not None
            assert login_refusal("quelqu.un.d.autre@exemple.fr") is None
        assert_web_refused(web_login(client, user.email, PASSWORD))  # worker A sees B's failures
    finally:
        app.extensions[EXTENSION].reset()
        worker_b.extensions[EXTENSION].reset()
