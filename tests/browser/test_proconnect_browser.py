"""ProConnect in a real browser: the button under our CSP (form-action lets the redirect through),
the provider's page, back logged in, then the logout at the provider and back.

The provider is oidc-provider-mock on 127.0.0.1 (its userinfo signed as ProConnect's, as in
tests/accounts/test_proconnect.py). The browser may reach 127.0.0.1 only: every other request (the
mock's pages link a stylesheet on a CDN) is aborted, so nothing reaches the internet.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import werkzeug.serving
from oidc_provider_mock import app as mock_app

from app.accounts import proconnect
from tests.accounts.test_proconnect import CLIENT_ID, CLIENT_SECRET, _signed_userinfo

pytestmark = [
    pytest.mark.browser,
    pytest.mark.no_rollback,
    pytest.mark.filterwarnings("ignore::DeprecationWarning:authlib"),
]


@pytest.fixture
def provider_url(live_server: Any) -> Iterator[str]:
    mock = mock_app(require_nonce=True)
    _signed_userinfo(mock)
    server = werkzeug.serving.make_server("127.0.0.1", 0, mock, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    config = live_server.app.config
    names = ("PROCONNECT_CLIENT_ID", "PROCONNECT_CLIENT_SECRET", "PROCONNECT_DISCOVERY_URL", "CSP_FORM_ACTION_ORIGINS")
    saved = {name: config.get(name) for name in names}
    config.update(
        PROCONNECT_CLIENT_ID=CLIENT_ID,
        PROCONNECT_CLIENT_SECRET=CLIENT_SECRET,
        PROCONNECT_DISCOVERY_URL=base + "/.well-known/openid-configuration",
        CSP_FORM_ACTION_ORIGINS=[base],
    )
    with live_server.app.app_context():
        proconnect.forget_provider()
    try:
        yield base
    finally:
        config.update(saved)
        proconnect.forget_provider()
        server.shutdown()
        server.server_close()


def _loopback_only(page: Any) -> None:
    page.context.route(
        "**/*",
        lambda route: route.continue_()
        if urlsplit(route.request.url).hostname == "127.0.0.1"
        else route.abort(),
    )


def test_proconnect_login_and_logout(browser_page, live_server, provider_url: str, assert_accessible) -> None:
    user = live_server.create_user(email="ines.morel@exemple.fr", first_name="Inès", last_name="Morel")
    response = requests.put(
        f"{provider_url}/users/sub-ines", json={"email": user.email, "usual_name": "Morel"}, timeout=5
    )
    assert response.status_code == 204
    page = browser_page
    _loopback_only(page)

    page.goto("/connexion")
    button = page.get_by_role("button", name="S’identifier avec ProConnect")
    assert button.is_visible()
    link = page.get_by_role("link", name="Qu’est-ce que ProConnect ?")
    assert link.get_attribute("href") == "https://www.proconnect.gouv.fr/"
    assert_accessible(page)

    button.click()  # a form posted to us, redirected to the provider: form-action must allow it
    page.wait_for_url(lambda url: url.startswith(f"{provider_url}/oauth2/authorize?"))
    page.locator("input[name=sub]").fill("sub-ines")
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(lambda url: url.startswith(live_server.url) and "/proconnect/" not in url)
    page.wait_for_load_state()
    assert "/connexion" not in page.url, page.content()[:1000]
    assert "Bonjour Inès" in page.content()

    page.get_by_role("button", name="Se déconnecter").first.click()
    page.wait_for_url(lambda url: url.startswith(f"{provider_url}/oauth2/end_session?"))
    assert "id_token_hint=" in page.url
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(f"{live_server.url}/connexion")
    assert "Vous êtes déconnecté·e." in page.content()
