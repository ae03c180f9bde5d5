"""Browser tests: a live Parcours server on a throwaway SQLite file, driven by Debian's chromium.

Reuse in later issues (every test module under tests/browser/ is marked `browser` and
`no_rollback` automatically):

    def test_something(live_server, browser_page, login, assert_accessible):
        user = live_server.create_user(role=Role.MANAGER)        # committed, returns a LiveUser
        login(browser_page, user.email, user.password)            # relative URLs work
        browser_page.goto("/some/page")
        assert_accessible(browser_page)                           # no serious/critical axe issue

    with live_server.app_context():                               # any other data, then commit
        db.session.add(...); db.session.commit()

`browser_page` is a fresh browser context per test (own cookies), with `base_url` set to the live
server; its teardown fails the test if the page hit a Content-Security-Policy violation or an
uncaught JavaScript error. Without chromium the tests skip, unless REQUIRE_BROWSER_TESTS=1 (CI),
which turns the skip into a failure.
"""
from __future__ import annotations

import itertools
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from app import create_app
from app.accounts.models import Agency, AgencyKind, Role, Territory, User
from app.accounts.passwords import hash_password
from app.extensions import db
from tests.browser import helpers

BROWSER_DIR = Path(__file__).parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEFAULT_PASSWORD = "mot-de-passe-navigateur-42"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if BROWSER_DIR in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.no_rollback)


def _chromium_or_skip() -> str:
    path = shutil.which("chromium")
    if path:
        return path
    reason = "chromium is not installed (apt-get install chromium); browser tests need it"
    if os.environ.get("REQUIRE_BROWSER_TESTS") == "1":
        pytest.fail(reason + " and REQUIRE_BROWSER_TESTS=1", pytrace=False)
    pytest.skip(reason)


@dataclass
class LiveUser:
    id: int
    email: str
    password: str
    first_name: str
    last_name: str
    role: Role
    agency_id: int
    territory_id: int

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass
class LiveServer:
    url: str
    app: Any
    _counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    def app_context(self) -> AbstractContextManager[Any]:
        """The live app's context: use it to read or write the live database (commit yourself)."""
        return self.app.app_context()

    def create_territory(self, **values: Any) -> int:
        n = next(self._counter)
        with self.app_context():
            territory = Territory(**{"code": f"{n % 900 + 100}"[:3], "name": f"Territoire {n}", **values})
            db.session.add(territory)
            db.session.commit()
            return territory.id

    def create_agency(self, territory_id: int | None = None, **values: Any) -> int:
        n = next(self._counter)
        territory_id = territory_id or self.create_territory()
        with self.app_context():
            agency = Agency(
                **{"territory_id": territory_id, "name": f"Structure {n}", "kind": AgencyKind.FRANCE_TRAVAIL,
                   **values}
            )
            db.session.add(agency)
            db.session.commit()
            return agency.id

    def create_user(
        self,
        *,
        email: str | None = None,
        password: str = DEFAULT_PASSWORD,
        first_name: str = "Camille",
        last_name: str = "Durand",
        role: Role = Role.PROFESSIONAL,
        agency_id: int | None = None,
        **values: Any,
    ) -> LiveUser:
        n = next(self._counter)
        agency_id = agency_id or self.create_agency()
        with self.app_context():
            agency = db.session.get(Agency, agency_id)
            user = User(
                agency_id=agency.id,
                territory_id=agency.territory_id,
                email=email or f"navigateur{n}@exemple.fr",
                password_hash=hash_password(password),
                first_name=first_name,
                last_name=last_name,
                role=role,
                **values,
            )
            db.session.add(user)
            db.session.commit()
            return LiveUser(user.id, user.email, password, first_name, last_name, role, agency.id,
                            agency.territory_id)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    return _chromium_or_skip()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, chromium_path: str) -> Iterator[LiveServer]:
    database = tmp_path_factory.mktemp("live") / "parcours.db"
    app = create_app(
        "testing",
        overrides={"SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}", "WTF_CSRF_ENABLED": True},
    )
    with app.app_context():
        db.create_all()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app)
    finally:
        server.shutdown()
        thread.join(timeout=5)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    # The CI machine may be busy (two suites side by side on two cores): assertions wait as long as
    # actions do, not Playwright's default 5 s.
    expect.set_options(timeout=15_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    context = browser.new_context(
        base_url=live_server.url, locale="fr-FR", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda msg: problems.append(f"console {msg.type}: {msg.text}")
        if "Content Security Policy" in msg.text or "Content-Security-Policy" in msg.text
        else None,
    )
    page.on("pageerror", lambda error: problems.append(f"JavaScript error: {error}"))
    try:
        yield page
    finally:
        context.close()
    assert not problems, "the page broke its Content-Security-Policy or raised:\n" + "\n".join(problems)


@pytest.fixture
def login() -> Callable[..., None]:
    """`login(page, email, password)`: log in through the form (asserts it worked)."""
    return helpers.login


@pytest.fixture
def logout() -> Callable[[Any], None]:
    return helpers.logout


@pytest.fixture
def assert_accessible() -> Callable[..., None]:
    """`assert_accessible(page)`: no axe-core violation of impact serious or critical."""
    return helpers.assert_accessible
