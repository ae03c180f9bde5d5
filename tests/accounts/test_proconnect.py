"""ProConnect sign-in, end to end, against OpenID providers running on 127.0.0.1 in this process.

- `mock_provider`: oidc-provider-mock (a real Authlib authorization server) on a free port; its
  userinfo endpoint is made to answer as ProConnect does, a signed JWT (`application/jwt`).
- `fake_provider`: our own tiny provider on pytest-httpserver, with RSA keys made here, which signs
  whatever ID token a test wants (tampered, wrong audience, expired…) and checks PKCE.

Nothing reaches the internet: every URL is http://127.0.0.1:<port>.
"""
from __future__ import annotations

import base64
import hashlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import flask
import pytest
import requests
import sqlalchemy as sa
import werkzeug.serving
from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from oidc_provider_mock import app as mock_app
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from app.accounts import proconnect
from app.accounts.models import User
from app.accounts.services import deactivate_user
from app.accounts.sessions import SESSION_KEY
from app.accounts.throttle import EXTENSION as THROTTLE
from app.audit.models import AuditEvent
from app.db_types import utcnow
from app.extensions import db
from config import load_config

# oidc-provider-mock calls Authlib's older server API; those warnings are the mock's, not ours.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:authlib")

CLIENT_ID = "parcours-test-client"
CLIENT_SECRET = "parcours-test-secret"
CALLBACK = "/connexion/proconnect/retour"


# --- configuration -------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _forget_discovery() -> Iterator[None]:
    proconnect.forget_provider()
    yield
    proconnect.forget_provider()


@pytest.fixture
def configure(app: Flask) -> Iterator[Any]:
    """`configure(discovery_url)`: ProConnect on for this test, restored afterwards."""
    names = ("PROCONNECT_CLIENT_ID", "PROCONNECT_CLIENT_SECRET", "PROCONNECT_DISCOVERY_URL", "CSP_FORM_ACTION_ORIGINS")
    saved = {name: app.config.get(name) for name in names}

    def _configure(discovery_url: str) -> None:
        parts = urlsplit(discovery_url)
        app.config.update(
            PROCONNECT_CLIENT_ID=CLIENT_ID,
            PROCONNECT_CLIENT_SECRET=CLIENT_SECRET,
            PROCONNECT_DISCOVERY_URL=discovery_url,
            CSP_FORM_ACTION_ORIGINS=[f"{parts.scheme}://{parts.netloc}"],
        )

    yield _configure
    app.config.update(saved)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- oidc-provider-mock, answering userinfo as ProConnect does -----------------------------------------


@dataclass
class MockProvider:
    base: str

    @property
    def discovery(self) -> str:
        return self.base + "/.well-known/openid-configuration"

    def set_user(self, sub: str, **claims: str) -> None:
        response = requests.put(f"{self.base}/users/{sub}", json=claims, timeout=5)
        assert response.status_code == 204, response.text

    def authorize(self, location: str, sub: str) -> str:
        """What a person does at the provider: choose the identity `sub`; the callback URL back."""
        assert location.startswith(self.base + "/oauth2/authorize?"), location
        response = requests.post(location, data={"sub": sub}, allow_redirects=False, timeout=5)
        assert response.status_code == 302, response.text[:500]
        return response.headers["Location"]


def _signed_userinfo(mock: flask.Flask) -> None:
    endpoint = "oidc-provider-mock.userinfo"
    plain = mock.view_functions[endpoint]

    def userinfo() -> Any:
        answer = mock.make_response(plain())
        if answer.status_code != 200:
            return answer
        claims = answer.get_json()
        claims.update(iss=flask.request.host_url.rstrip("/"), aud=CLIENT_ID)
        key = RSAKey.import_key(flask.g.oidc_provider_mock_storage.jwk.as_dict(is_private=True))
        header = {"alg": "RS256", **({"kid": key.kid} if key.kid else {})}
        return flask.Response(jwt.encode(header, claims, key), mimetype="application/jwt")

    mock.view_functions[endpoint] = userinfo


@pytest.fixture
def mock_provider(configure: Any) -> Iterator[MockProvider]:
    mock = mock_app(require_nonce=True)
    _signed_userinfo(mock)
    server = werkzeug.serving.make_server("127.0.0.1", 0, mock, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    provider = MockProvider(base=f"http://127.0.0.1:{server.server_port}")
    configure(provider.discovery)
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()


# --- our own provider: signs what a test asks for ------------------------------------------------------


@dataclass
class FakeProvider:
    server: HTTPServer
    key: RSAKey
    other_key: RSAKey  # not in the JWKS: a token signed with it is forged
    authorizations: list[dict[str, str]] = field(default_factory=list)
    id_token_claims: dict[str, Any] = field(default_factory=dict)  # overrides, per test
    id_token_key: RSAKey | None = None
    userinfo_claims: dict[str, Any] = field(default_factory=dict)
    userinfo_key: RSAKey | None = None
    userinfo_as_json: bool = False
    token_requests: list[dict[str, str]] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    @property
    def discovery(self) -> str:
        return self.issuer + "/.well-known/openid-configuration"

    def sign(self, claims: dict[str, Any], key: RSAKey | None = None) -> str:
        key = key or self.key
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)

    def identity(self, sub: str, email: str) -> None:
        self.id_token_claims.setdefault("sub", sub)
        self.userinfo_claims.update(sub=sub, email=email, given_name="Claire", usual_name="Martin")

    # handlers

    def _discovery(self, request: Request) -> Response:
        document = {
            "issuer": self.issuer,
            "authorization_endpoint": self.issuer + "/api/v2/authorize",
            "token_endpoint": self.issuer + "/api/v2/token",
            "userinfo_endpoint": self.issuer + "/api/v2/userinfo",
            "jwks_uri": self.issuer + "/api/v2/jwks",
            "end_session_endpoint": self.issuer + "/api/v2/session/end",
            "id_token_signing_alg_values_supported": ["RS256", "HS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
        }
        return Response(json.dumps(document), content_type="application/json")

    def _jwks(self, request: Request) -> Response:
        return Response(json.dumps(KeySet([self.key]).as_dict(private=False)), content_type="application/json")

    def _token(self, request: Request) -> Response:
        form = request.form.to_dict()
        self.token_requests.append(form)
        authorization = self.authorizations[-1]
        challenge = base64.urlsafe_b64encode(
            hashlib.sha256(form.get("code_verifier", "").encode()).digest()
        ).rstrip(b"=").decode()
        if (
            form.get("code") != "the-code"
            or challenge != authorization["code_challenge"]
            or form.get("client_id") != CLIENT_ID
            or form.get("client_secret") != CLIENT_SECRET
        ):
            return Response(json.dumps({"error": "invalid_grant"}), status=400, content_type="application/json")
        now = int(time.time())
        claims = {
            "iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 60,
            "nonce": authorization["nonce"], "acr": "eidas1",
            **self.id_token_claims,
        }
        claims = {name: value for name, value in claims.items() if value is not None}
        body = {
            "access_token": "the-access-token", "token_type": "Bearer", "expires_in": 60,
            "id_token": self.sign(claims, self.id_token_key),
        }
        return Response(json.dumps(body), content_type="application/json")

    def _userinfo(self, request: Request) -> Response:
        if request.headers.get("Authorization") != "Bearer the-access-token":
            return Response("", status=401)
        claims = {"iss": self.issuer, "aud": CLIENT_ID, **self.userinfo_claims}
        if self.userinfo_as_json:
            return Response(json.dumps(claims), content_type="application/json")
        return Response(self.sign(claims, self.userinfo_key), content_type="application/jwt; charset=utf-8")

    def install(self) -> None:
        self.server.expect_request("/.well-known/openid-configuration").respond_with_handler(self._discovery)
        self.server.expect_request("/api/v2/jwks").respond_with_handler(self._jwks)
        self.server.expect_request("/api/v2/token", method="POST").respond_with_handler(self._token)
        self.server.expect_request("/api/v2/userinfo").respond_with_handler(self._userinfo)

    def authorize(self, location: str, **params: str) -> str:
        """The provider's answer to an authorization request: the callback path with code and state."""
        query = {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}
        self.authorizations.append(query)
        answer = {"code": "the-code", "state": query["state"], **params}
        return CALLBACK + "?" + urlencode({k: v for k, v in answer.items() if v is not None})


@pytest.fixture
def fake_provider(configure: Any) -> Iterator[FakeProvider]:
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    provider = FakeProvider(
        server=server,
        key=RSAKey.generate_key(2048, parameters={"kid": "cle-1", "alg": "RS256", "use": "sig"}),
        other_key=RSAKey.generate_key(2048, parameters={"kid": "cle-1", "alg": "RS256", "use": "sig"}),
    )
    provider.install()
    configure(provider.discovery)
    try:
        yield provider
    finally:
        if server.is_running():
            server.stop()


# --- helpers -------------------------------------------------------------------------------------------


def start(client: FlaskClient, **form: str) -> str:
    response = client.post("/connexion/proconnect", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    return response.headers["Location"]


def local(url: str) -> str:
    """Our callback URL as the test client opens it (path and query)."""
    parts = urlsplit(url)
    assert parts.path == CALLBACK, url
    return f"{parts.path}?{parts.query}"


def page(response: Any) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'").replace("&amp;", "&")


def logged_in_as(client: FlaskClient) -> str | None:
    with client.session_transaction() as session:
        return session.get("_user_id")


@pytest.fixture
def claire(make_user) -> User:
    return make_user(email="claire.martin@exemple.fr", first_name="Claire", last_name="Martin")


# --- the login page ------------------------------------------------------------------------------------


def test_no_button_and_no_route_when_not_configured(client: FlaskClient) -> None:
    html = page(client.get("/connexion"))
    assert "ProConnect" not in html
    assert client.post("/connexion/proconnect").status_code == 404
    assert client.get(CALLBACK + "?state=x&code=y").status_code == 404


def test_button_shown_when_configured_and_csp_allows_the_provider(
    client: FlaskClient, fake_provider: FakeProvider
) -> None:
    response = client.get("/connexion")
    html = page(response)
    assert '<button class="fr-connect fr-connect--proconnect" type="submit">' in html
    assert "S’identifier avec</span>" in html and '<span class="fr-connect__brand">ProConnect</span>' in html
    assert ">Qu’est-ce que ProConnect ?</a>" in html
    assert 'action="/connexion/proconnect"' in html
    csp = response.headers["Content-Security-Policy"]
    assert f"form-action 'self' {fake_provider.issuer};" in csp


# --- the whole flow, through oidc-provider-mock --------------------------------------------------------


def test_happy_flow_links_by_email_then_by_sub_and_logs_out_at_the_provider(
    client: FlaskClient, mock_provider: MockProvider, claire: User
) -> None:
    mock_provider.set_user("sub-claire", email="Claire.Martin@Exemple.fr", given_name="Claire", usual_name="Martin")

    location = start(client, next="/agenda")
    query = parse_qs(urlsplit(location).query)
    assert query["scope"] == ["openid email given_name usual_name"]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["client_id"] == [CLIENT_ID] and query["nonce"] and query["state"]
    assert query["redirect_uri"] == ["http://localhost" + CALLBACK]

    callback = mock_provider.authorize(location, "sub-claire")
    response = client.get(local(callback))
    assert response.status_code == 302, page(response)[:800]
    assert response.headers["Location"] == "/agenda"
    assert logged_in_as(client) == str(claire.id)
    db.session.refresh(claire)
    assert claire.proconnect_sub == "sub-claire"
    assert claire.last_login_at is not None
    assert client.get("/agenda").status_code == 200  # a protected page works

    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.object_id == claire.id, AuditEvent.object_type == "user")
    ).all()
    assert "user.proconnect_linked" in actions and "user.login" in actions
    login_event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "user.login", AuditEvent.object_id == claire.id)
    )
    assert login_event.details == {"method": "proconnect"}

    # Logout: the local session ends, then the provider's, with id_token_hint, state and the way back.
    with client.session_transaction() as session:
        id_token = session[proconnect.ID_TOKEN_KEY]
        assert session[SESSION_KEY]
    response = client.post("/deconnexion")
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == mock_provider.base + "/oauth2/end_session"
    params = {name: values[0] for name, values in parse_qs(target.query).items()}
    assert params["id_token_hint"] == id_token
    assert params["post_logout_redirect_uri"] == "http://localhost/deconnexion/proconnect"
    assert logged_in_as(client) is None
    assert client.get("/agenda").status_code == 302  # the server-side session is revoked
    back = client.get("/deconnexion/proconnect?" + urlencode({"state": params["state"]}))
    assert back.status_code == 302 and back.headers["Location"] == "/connexion"
    assert "Vous êtes déconnecté·e." in page(client.get("/connexion"))

    # Second login: found by sub, even though the e-mail changed at ProConnect.
    mock_provider.set_user("sub-claire", email="claire.nouvelle@exemple.fr")
    callback = mock_provider.authorize(start(client), "sub-claire")
    response = client.get(local(callback))
    assert response.status_code == 302, page(response)[:800]
    assert logged_in_as(client) == str(claire.id)


def test_account_without_password_completes_its_first_login(
    client: FlaskClient, mock_provider: MockProvider, make_user
) -> None:
    """An invited account (no password chosen yet) signs in through ProConnect: no hash is read."""
    invited = make_user(email="invitee@exemple.fr", password_hash="")
    mock_provider.set_user("sub-invitee", email="invitee@exemple.fr")
    response = client.get(local(mock_provider.authorize(start(client), "sub-invitee")))
    assert response.status_code == 302, page(response)[:800]
    assert logged_in_as(client) == str(invited.id)


def test_unknown_email_is_refused_in_french(client: FlaskClient, mock_provider: MockProvider) -> None:
    mock_provider.set_user("sub-inconnu", email="inconnu@exemple.fr")
    response = client.get(local(mock_provider.authorize(start(client), "sub-inconnu")))
    assert response.status_code == 403
    html = page(response)
    assert "Aucun compte Parcours actif ne correspond à l'adresse inconnu@exemple.fr" in html
    assert "n'ouvre pas de compte" in html
    assert logged_in_as(client) is None
    assert db.session.scalar(sa.select(User).where(User.email == "inconnu@exemple.fr")) is None


def test_deactivated_account_is_refused(client: FlaskClient, mock_provider: MockProvider, claire: User) -> None:
    deactivate_user(claire, now=utcnow())
    mock_provider.set_user("sub-claire", email=claire.email)
    response = client.get(local(mock_provider.authorize(start(client), "sub-claire")))
    assert response.status_code == 403
    assert "Votre compte Parcours est désactivé" in page(response)
    assert logged_in_as(client) is None
    db.session.refresh(claire)
    assert claire.proconnect_sub is None  # not linked either


def test_deactivated_after_linking_is_refused_by_sub(
    client: FlaskClient, mock_provider: MockProvider, claire: User
) -> None:
    claire.proconnect_sub = "sub-claire"
    db.session.flush()
    deactivate_user(claire, now=utcnow())
    mock_provider.set_user("sub-claire", email="autre@exemple.fr")
    response = client.get(local(mock_provider.authorize(start(client), "sub-claire")))
    assert response.status_code == 403
    assert "Votre compte Parcours est désactivé" in page(response)


def test_account_linked_to_another_identity_is_refused(
    client: FlaskClient, mock_provider: MockProvider, claire: User
) -> None:
    claire.proconnect_sub = "sub-ancien"
    db.session.flush()
    mock_provider.set_user("sub-nouveau", email=claire.email)
    response = client.get(local(mock_provider.authorize(start(client), "sub-nouveau")))
    assert response.status_code == 403
    assert "déjà lié à une autre identité ProConnect" in page(response)
    assert logged_in_as(client) is None


def test_access_denied_at_the_provider(client: FlaskClient, mock_provider: MockProvider) -> None:
    location = start(client)
    denied = requests.post(location, data={"action": "deny"}, allow_redirects=False, timeout=5)
    assert denied.status_code == 302
    assert "error=access_denied" in denied.headers["Location"]
    response = client.get(local(denied.headers["Location"]))
    assert response.status_code == 403
    assert "La connexion a été annulée sur ProConnect" in page(response)
    assert logged_in_as(client) is None


# --- the state: one use, this browser's ----------------------------------------------------------------


def test_replayed_state_is_refused(client: FlaskClient, fake_provider: FakeProvider, claire: User) -> None:
    fake_provider.identity("sub-claire", claire.email)
    callback = fake_provider.authorize(start(client))
    assert client.get(callback).status_code == 302
    client.post("/deconnexion")
    response = client.get(callback)  # the same answer, again
    assert response.status_code == 400
    assert "a expiré ou a déjà servi" in page(response)
    assert logged_in_as(client) is None
    assert len(fake_provider.token_requests) == 1  # the code was not even exchanged again


def test_wrong_state_is_refused_and_spends_the_pending_one(
    client: FlaskClient, fake_provider: FakeProvider, claire: User
) -> None:
    fake_provider.identity("sub-claire", claire.email)
    callback = fake_provider.authorize(start(client), state="pas-le-bon")
    response = client.get(callback)
    assert response.status_code == 400
    assert "ne correspond pas à la demande de connexion" in page(response)
    assert fake_provider.token_requests == []
    with client.session_transaction() as session:
        assert proconnect.PENDING_KEY not in session


@pytest.mark.parametrize("state", ["%C3%A9-pas-ascii", "", "%FF%FE", "%00"])
def test_odd_states_are_refused_not_crashed(client: FlaskClient, fake_provider: FakeProvider, state: str) -> None:
    start(client)
    response = client.get(f"{CALLBACK}?state={state}&code=the-code")
    assert response.status_code == 400
    assert "ne correspond pas à la demande de connexion" in page(response)
    assert client.get(f"/deconnexion/proconnect?state={state}").status_code == 302


def test_callback_without_login_request_is_refused(client: FlaskClient, fake_provider: FakeProvider) -> None:
    response = client.get(CALLBACK + "?code=the-code&state=invente")
    assert response.status_code == 400
    assert "a expiré ou a déjà servi" in page(response)


def test_pkce_verifier_and_client_secret_post_reach_the_token_endpoint(
    client: FlaskClient, fake_provider: FakeProvider, claire: User
) -> None:
    fake_provider.identity("sub-claire", claire.email)
    assert client.get(fake_provider.authorize(start(client))).status_code == 302
    (sent,) = fake_provider.token_requests
    assert sent["grant_type"] == "authorization_code"
    assert sent["redirect_uri"] == "http://localhost" + CALLBACK
    assert 43 <= len(sent["code_verifier"]) <= 128  # the fake provider checked it against the S256 challenge
    assert logged_in_as(client) == str(claire.id)


# --- tampered or wrong tokens --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("forged_signature", "la signature du jeton d'identité n'est pas celle de ProConnect"),
        ("tampered_payload", "la signature du jeton d'identité n'est pas celle de ProConnect"),
        ("wrong_audience", "le jeton d'identité n'est pas destiné à Parcours"),
        ("wrong_issuer", "le jeton d'identité n'a pas été émis par le fournisseur ProConnect configuré"),
        ("expired", "le jeton d'identité a expiré"),
        ("wrong_nonce", "le jeton d'identité ne correspond pas à cette demande de connexion"),
        ("no_nonce", "le jeton d'identité ne correspond pas à cette demande de connexion"),
        ("hs256_with_secret", "la signature du jeton d'identité n'est pas celle de ProConnect"),
        ("userinfo_forged", "les informations d'identité ne sont pas signées par ProConnect"),
        ("userinfo_unsigned_json", "les informations d'identité ne sont pas signées par ProConnect"),
        ("userinfo_other_sub", "les informations d'identité ne concernent pas la personne connectée"),
    ],
)
def test_bad_tokens_are_refused(
    client: FlaskClient, fake_provider: FakeProvider, claire: User, case: str, message: str
) -> None:
    fake_provider.identity("sub-claire", claire.email)
    now = int(time.time())
    if case == "forged_signature":
        fake_provider.id_token_key = fake_provider.other_key  # same kid, another key
    elif case == "wrong_audience":
        fake_provider.id_token_claims["aud"] = "un-autre-service"
    elif case == "wrong_issuer":
        fake_provider.id_token_claims["iss"] = "http://127.0.0.1:9/usurpateur"
    elif case == "expired":
        fake_provider.id_token_claims.update(iat=now - 3600, exp=now - 600)
    elif case == "wrong_nonce":
        fake_provider.id_token_claims["nonce"] = "un-autre-nonce"
    elif case == "no_nonce":
        fake_provider.id_token_claims["nonce"] = None
    elif case == "userinfo_forged":
        fake_provider.userinfo_key = fake_provider.other_key
    elif case == "userinfo_unsigned_json":
        fake_provider.userinfo_as_json = True
    elif case == "userinfo_other_sub":
        fake_provider.userinfo_claims["sub"] = "sub-quelqu-un-d-autre"

    if case == "tampered_payload":
        original = fake_provider.sign

        def tampered(claims: dict[str, Any], key: RSAKey | None = None) -> str:
            header, payload, signature = original(claims, key).split(".")
            if claims.get("nonce"):  # the ID token only: its payload changed, its signature kept
                changed = {**claims, "sub": "sub-pirate"}
                payload = base64.urlsafe_b64encode(json.dumps(changed).encode()).rstrip(b"=").decode()
            return ".".join((header, payload, signature))

        fake_provider.sign = tampered  # type: ignore[method-assign]
    if case == "hs256_with_secret":
        from joserfc.jwk import OctKey

        def with_secret(claims: dict[str, Any], key: RSAKey | None = None) -> str:
            return jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(CLIENT_SECRET))

        fake_provider.sign = with_secret  # type: ignore[method-assign]

    response = client.get(fake_provider.authorize(start(client)))
    html = page(response)
    assert response.status_code == 400, html[:800]
    assert message in html
    assert "Par sécurité, la connexion est refusée" in html
    assert logged_in_as(client) is None
    db.session.refresh(claire)
    assert claire.proconnect_sub is None


def test_an_oversized_sub_is_refused(client: FlaskClient, fake_provider: FakeProvider, claire: User) -> None:
    fake_provider.identity("s" * 300, claire.email)
    fake_provider.userinfo_claims["sub"] = "s" * 300
    response = client.get(fake_provider.authorize(start(client)))
    assert response.status_code == 400
    assert "le jeton d'identité est illisible ou incomplet" in page(response)


def test_a_discovery_document_of_another_issuer_is_refused(
    client: FlaskClient, fake_provider: FakeProvider, configure: Any
) -> None:
    """OIDC Discovery §4.3: the issuer must be the one the discovery URL was built on."""
    fake_provider.server.expect_request("/ailleurs/.well-known/openid-configuration").respond_with_handler(
        fake_provider._discovery
    )
    configure(fake_provider.issuer + "/ailleurs/.well-known/openid-configuration")
    response = client.post("/connexion/proconnect")
    assert response.status_code == 503
    assert "ProConnect ne répond pas pour le moment" in page(response)


def test_token_endpoint_refusal(client: FlaskClient, fake_provider: FakeProvider, claire: User) -> None:
    fake_provider.identity("sub-claire", claire.email)
    callback = fake_provider.authorize(start(client), code="un-code-invente")
    response = client.get(callback)
    assert response.status_code == 400
    assert "ProConnect a refusé d'échanger le code d'autorisation" in page(response)


def test_other_provider_error(client: FlaskClient, fake_provider: FakeProvider) -> None:
    callback = fake_provider.authorize(start(client), code=None, error="login_required<script>")
    response = client.get(callback)
    assert response.status_code == 403
    html = page(response)
    assert "ProConnect a refusé la connexion (code « login_requiredscript »)" in html
    assert "<script>" not in response.get_data(as_text=True)


def test_key_rotation_is_followed(client: FlaskClient, fake_provider: FakeProvider, claire: User) -> None:
    fake_provider.identity("sub-claire", claire.email)
    location = start(client)  # discovery and keys cached now
    fake_provider.key = RSAKey.generate_key(2048, parameters={"kid": "cle-2", "alg": "RS256", "use": "sig"})
    response = client.get(fake_provider.authorize(location))
    assert response.status_code == 302, page(response)[:800]
    assert logged_in_as(client) == str(claire.id)


# --- the provider down ---------------------------------------------------------------------------------


def test_provider_unreachable_at_the_start(client: FlaskClient, configure: Any) -> None:
    configure(f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration")
    response = client.post("/connexion/proconnect")
    assert response.status_code == 503
    html = page(response)
    assert "ProConnect ne répond pas pour le moment" in html
    assert "Revenir à la page de connexion" in html


def test_provider_unreachable_at_the_callback(client: FlaskClient, fake_provider: FakeProvider, claire: User) -> None:
    fake_provider.identity("sub-claire", claire.email)
    callback = fake_provider.authorize(start(client))
    fake_provider.server.stop()
    response = client.get(callback)
    assert response.status_code == 503
    assert "ProConnect ne répond pas pour le moment" in page(response)
    assert logged_in_as(client) is None


def test_logout_without_proconnect_is_unchanged(
    client: FlaskClient, fake_provider: FakeProvider, login_as: Any, claire: User
) -> None:
    login_as(claire)
    response = client.post("/deconnexion")
    assert response.headers["Location"] == "/connexion"


def test_logout_when_provider_down_still_logs_out(
    client: FlaskClient, fake_provider: FakeProvider, claire: User
) -> None:
    fake_provider.identity("sub-claire", claire.email)
    assert client.get(fake_provider.authorize(start(client))).status_code == 302
    proconnect.forget_provider()
    fake_provider.server.stop()
    response = client.post("/deconnexion")
    assert response.status_code == 302 and response.headers["Location"] == "/connexion"
    assert logged_in_as(client) is None


def test_logout_return_with_a_wrong_state(client: FlaskClient) -> None:
    response = client.get("/deconnexion/proconnect?state=invente", follow_redirects=True)
    assert response.status_code == 200
    assert "la déconnexion de ProConnect n'a pas été confirmée" in page(response)


# --- settings ------------------------------------------------------------------------------------------


@pytest.fixture
def production_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://parcours@db/parcours")
    for name in ("PROCONNECT_CLIENT_ID", "PROCONNECT_CLIENT_SECRET", "PROCONNECT_DISCOVERY_URL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_settings_give_the_csp_origin(production_env: pytest.MonkeyPatch) -> None:
    production_env.setenv("PROCONNECT_CLIENT_ID", "id")
    production_env.setenv("PROCONNECT_CLIENT_SECRET", "secret")
    production_env.setenv("PROCONNECT_DISCOVERY_URL", "https://auth.example.fr/api/v2/.well-known/openid-configuration")
    config = load_config("production")
    assert config.CSP_FORM_ACTION_ORIGINS == ["https://auth.example.fr"]
    production_env.delenv("PROCONNECT_DISCOVERY_URL")
    assert load_config("development").CSP_FORM_ACTION_ORIGINS == []


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"PROCONNECT_CLIENT_ID": "id"}, "together"),
        (
            {"PROCONNECT_CLIENT_ID": "id", "PROCONNECT_CLIENT_SECRET": "s",
             "PROCONNECT_DISCOVERY_URL": "http://auth.example.fr/.well-known/openid-configuration"},
            "https://",
        ),
    ],
)
def test_production_refuses_half_or_plain_http_settings(
    production_env: pytest.MonkeyPatch, settings: dict[str, str], message: str
) -> None:
    for name, value in settings.items():
        production_env.setenv(name, value)
    with pytest.raises(RuntimeError, match=message):
        load_config("production")


# --- the per-account throttle --------------------------------------------------------------------------


@pytest.fixture
def throttle_on(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(app.config, "ACCOUNT_THROTTLE_ENABLED", True)
    app.extensions[THROTTLE].reset()
    yield
    app.extensions[THROTTLE].reset()


@pytest.mark.usefixtures("throttle_on")
def test_proconnect_login_while_the_password_cools_down_then_clears_it(
    client: FlaskClient, fake_provider: FakeProvider, claire: User, password: str
) -> None:
    for _ in range(5):
        client.post("/connexion", data={"email": claire.email, "password": "mauvais-mot-de-passe"})
    assert client.post("/connexion", data={"email": claire.email, "password": password}).status_code == 429

    fake_provider.identity("sub-claire", claire.email)
    assert client.get(fake_provider.authorize(start(client))).status_code == 302
    assert logged_in_as(client) == str(claire.id)

    client.post("/deconnexion")
    assert client.post("/connexion", data={"email": claire.email, "password": password}).status_code == 302


def test_an_oversized_callback_parameter_is_refused_in_french(
    client: FlaskClient, fake_provider: FakeProvider
) -> None:
    start(client)
    response = client.get(CALLBACK + "?" + urlencode({"state": "x", "code": "c" * 5000}))
    assert response.status_code == 400
    assert "La réponse de ProConnect est illisible (paramètre « code » trop long ou invalide)." in page(response)
    with client.session_transaction() as session:
        assert proconnect.PENDING_KEY not in session  # spent all the same
