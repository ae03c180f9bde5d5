"""Two gunicorn instances, one PostgreSQL database, one Redis: nothing that matters is per process.

Two real servers on two free ports (as two machines behind a load balancer would be): the login
rate limit (per client address) and the per-account throttle are counted across both, and a
session closed through one is refused by the other at once. Needs PostgreSQL (TEST_DATABASE_URL,
a scratch database of its own is made) and Redis (TEST_REDIS_URL, default db 6); skipped without
Redis, unless REQUIRE_REDIS=1 (CI).
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from app import create_app
from app.accounts.services import TOO_MANY_ATTEMPTS
from app.extensions import db

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/6")
SECRET = "two-instances-" + "x" * 40  # one SECRET_KEY for both: a cookie of one is valid on the other
LOGIN_BUDGET = 8  # LOGIN_RATE_LIMIT per client address
ACCOUNT_FAILURES = 3  # ACCOUNT_THROTTLE_FAILURES

pytestmark = [
    pytest.mark.no_rollback,
    pytest.mark.postgres_only,
    pytest.mark.skipif(not PG_URL.startswith("postgresql"), reason="needs PostgreSQL (TEST_DATABASE_URL)"),
]


def _require_redis() -> None:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "no Redis here"
        if os.environ.get("REQUIRE_REDIS") == "1":
            raise
        pytest.skip(f"Redis does not answer at {REDIS_URL}: {exc}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Pair:
    a: str  # base URLs
    b: str
    database_url: str
    emails: list[str]


def _seed(url: str, people: int) -> list[str]:
    from tests.factories import UserFactory

    app = create_app("testing", overrides={"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.create_all()
        users = [UserFactory() for _ in range(people)]
        emails = [u.email for u in users]
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return emails


def _wait_up(base: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn at {base} exited: {process.stderr.read().decode()[-2000:]}")
        try:
            if requests.get(f"{base}/sante", timeout=5).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or still booting
            pass
        time.sleep(0.2)
    raise AssertionError(f"gunicorn at {base} did not answer")


@pytest.fixture
def pair() -> Iterator[Pair]:
    _require_redis()
    name = f"parcours_two_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    processes: list[subprocess.Popen] = []
    try:
        emails = _seed(url, 4)
        env = {
            **os.environ,
            "PARCOURS_ENV": "development",
            "DATABASE_URL": url,
            "SECRET_KEY": SECRET,
            "RATELIMIT_STORAGE_URI": REDIS_URL,
            "RATELIMIT_KEY_PREFIX": f"parcours-two-{uuid.uuid4().hex[:8]}",  # this run's counters only
            "LOGIN_RATE_LIMIT": f"{LOGIN_BUDGET} per minute",
            "ACCOUNT_THROTTLE_FAILURES": str(ACCOUNT_FAILURES),
            "SCHEDULER_IN_PROCESS": "0",
            "LOG_LEVEL": "WARNING",
        }
        env.pop("DATABASE_REPLICA_URL", None)
        bases = []
        for _ in range(2):
            port = _free_port()
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            ))
            bases.append(f"http://127.0.0.1:{port}")
        for base, process in zip(bases, processes, strict=True):
            _wait_up(base, process)
        yield Pair(bases[0], bases[1], url, emails)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
            if process.stderr:
                process.stderr.close()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _csrf(http: requests.Session, url: str) -> str:
    html = http.get(url, timeout=10).text
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def _login(http: requests.Session, base: str, email: str, password: str) -> requests.Response:
    token = _csrf(http, f"{base}/connexion")
    return http.post(f"{base}/connexion", data={"csrf_token": token, "email": email, "password": password},
                     allow_redirects=False, timeout=10)


def _account_page(http: requests.Session, base: str) -> requests.Response:
    return http.get(f"{base}/compte", allow_redirects=False, timeout=10)


def test_login_limits_are_counted_across_both_instances(pair: Pair) -> None:
    from tests.factories import PASSWORD

    http = requests.Session()
    victim = pair.emails[0]
    # Per account: failures on A, then on B, reach the threshold; both refuse even the right password.
    assert _login(http, pair.a, victim, "mauvais").status_code == 422
    assert _login(http, pair.b, victim, "mauvais").status_code == 422
    assert _login(http, pair.a, victim, "mauvais").status_code == 422
    for base in (pair.a, pair.b):
        refused = _login(http, base, victim, PASSWORD)
        assert refused.status_code == 429, base
        assert TOO_MANY_ATTEMPTS in unescape(refused.text), base
    # Another account still logs in: the throttle is per account (a 6th POST from this address).
    assert _login(requests.Session(), pair.b, pair.emails[1], PASSWORD).status_code == 302
    # Per client address: LOGIN_BUDGET posts in all, spread over A and B, then both refuse.
    sent = 6
    while sent < LOGIN_BUDGET:
        base = pair.a if sent % 2 else pair.b
        assert _login(http, base, f"personne{sent}@exemple.fr", "mauvais").status_code == 422
        sent += 1
    for base in (pair.a, pair.b):
        refused = _login(http, base, pair.emails[2], PASSWORD)
        assert refused.status_code == 429, base
        assert TOO_MANY_ATTEMPTS not in unescape(refused.text)  # the per-address limit, not the account's


def _session_ids(url: str, email: str) -> list[int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.scalars(
                sa.text("SELECT s.id FROM user_session s JOIN user_account u ON u.id = s.user_id "
                        "WHERE u.email = :e AND s.revoked_at IS NULL ORDER BY s.id"), {"e": email}))
    finally:
        engine.dispose()


def test_a_session_closed_on_one_instance_is_refused_by_the_other_at_once(pair: Pair) -> None:
    from tests.factories import PASSWORD

    email = pair.emails[3]
    on_a, on_b = requests.Session(), requests.Session()
    assert _login(on_a, pair.a, email, PASSWORD).status_code == 302
    assert _login(on_b, pair.b, email, PASSWORD).status_code == 302
    assert _account_page(on_a, pair.b).status_code == 200  # one database, one key: A's cookie works on B
    assert _account_page(on_b, pair.b).status_code == 200
    first, second = _session_ids(pair.database_url, email)

    # « Mon compte » on A: close the other device's session (the one opened on B).
    token = _csrf(on_a, f"{pair.a}/compte")
    closed = on_a.post(f"{pair.a}/compte/sessions/{second}/fermer", data={"csrf_token": token},
                       allow_redirects=False, timeout=10)
    assert closed.status_code == 302
    refused = _account_page(on_b, pair.b)
    assert refused.status_code == 302 and "/connexion" in refused.headers["Location"]
    assert _account_page(on_a, pair.b).status_code == 200  # A's own session is still open

    # « Se déconnecter partout » on B: A's session is refused by A at once.
    assert _login(on_b, pair.b, email, PASSWORD).status_code == 302
    token = _csrf(on_b, f"{pair.b}/compte")
    out = on_b.post(f"{pair.b}/compte/deconnexion-partout", data={"csrf_token": token},
                    allow_redirects=False, timeout=10)
    assert out.status_code == 302
    refused = _account_page(on_a, pair.a)
    assert refused.status_code == 302 and "/connexion" in refused.headers["Location"]
    assert _session_ids(pair.database_url, email) == []
    assert first != second
