"""Sign-in with ProConnect, the OpenID Connect federation of public-sector professionals.

The flow (docs/proconnect.md):
1. `begin` reads the provider's discovery document (cached), draws a `state`, a `nonce` and a PKCE
   verifier (S256), and gives the authorization URL plus what the caller keeps in the Flask session
   for ONE use;
2. `complete`, on the callback, checks the `state` against that one-use record, exchanges the code
   (with the verifier), verifies the ID token (signature with the provider's JWKS, `iss`, `aud`,
   `exp`, `nonce`) and the userinfo answer (a signed JWT, `application/jwt`, same keys, same `sub`);
3. `sign_in` finds the account by `sub`, or on the first login links an existing ACTIVE account by
   its e-mail address (case-insensitive; no account is ever created here), and opens the server-side
   session exactly as the password login does (`user_session` row, `user.login` audited);
4. `logout_url` sends the browser to the provider's end_session_endpoint with `id_token_hint`.

Every failure is a `ProConnectError` with a French message, its own page; never a 500.
"""
from __future__ import annotations

import hmac
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
import sqlalchemy as sa
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.requests_client import OAuth2Session
from flask import current_app
from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet

from app.accounts import sessions, throttle
from app.accounts.models import User
from app.accounts.services import SignedIn, find_user_by_email, normalise_email
from app.audit.services import record_event
from app.errors import Conflict
from app.extensions import db
from app.transaction import unit_of_work

log = logging.getLogger(__name__)

SCOPES = "openid email given_name usual_name"  # as ProConnect names them
# Asymmetric signatures only: a token signed with the client secret (HS256) is refused.
ACCEPTED_ALGORITHMS = ("RS256", "ES256", "PS256", "RS384", "ES384", "RS512", "ES512")
HTTP_TIMEOUT = 10  # seconds, for every call to the provider
DISCOVERY_TTL = 3600  # seconds a discovery document (and its keys) is kept
PENDING_TTL = 600  # seconds a login may take at the provider
CLOCK_LEEWAY = 60  # seconds of clock difference tolerated on exp / iat
SUB_MAX_LENGTH = 255  # user_account.proconnect_sub

# Keys in the Flask session.
PENDING_KEY = "_proconnect_pending"  # state, nonce, PKCE verifier, next: popped at the callback
ID_TOKEN_KEY = "_proconnect_id_token"  # the ID token of the current login, for the logout
LOGOUT_STATE_KEY = "_proconnect_logout_state"


# --- errors ---------------------------------------------------------------------------------------------

RETRY = "Recommencez depuis la page de connexion."


class ProConnectError(Exception):
    """A refused ProConnect login; `message` is for the user (French), `kind` for logs and tests."""

    kind = "error"
    status = 400
    title = "Connexion avec ProConnect impossible"

    def __init__(self, message: str, *, kind: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if kind:
            self.kind = kind
        if status:
            self.status = status


class StateError(ProConnectError):
    kind = "state"
    title = "Demande de connexion expirée"


class ProviderRefused(ProConnectError):
    kind = "provider_error"
    status = 403
    title = "Connexion refusée par ProConnect"


class InvalidToken(ProConnectError):
    kind = "invalid_token"
    title = "Réponse de ProConnect non vérifiée"


class ProviderUnreachable(ProConnectError):
    kind = "unreachable"
    status = 503
    title = "ProConnect ne répond pas"

    def __init__(self) -> None:
        super().__init__(
            "ProConnect ne répond pas pour le moment. Réessayez dans quelques minutes, ou "
            "connectez-vous avec votre adresse électronique et votre mot de passe."
        )


class AccountRefused(ProConnectError):
    status = 403
    title = "Aucun compte Parcours pour cette identité"


STATE_MISSING = (
    "Cette demande de connexion avec ProConnect a expiré ou a déjà servi : par sécurité, elle "
    "ne vaut qu'une fois. " + RETRY
)
STATE_MISMATCH = (
    "La réponse de ProConnect ne correspond pas à la demande de connexion faite depuis ce "
    "navigateur : la connexion est refusée par sécurité. " + RETRY
)
STATE_EXPIRED = "Cette demande de connexion avec ProConnect a expiré (plus de 10 minutes). " + RETRY
ACCESS_DENIED = (
    "La connexion a été annulée sur ProConnect : Parcours n'a reçu aucune identité. " + RETRY
)
PROVIDER_ERROR = "ProConnect a refusé la connexion (code « {code} »). " + RETRY
NO_CODE = "La réponse de ProConnect est incomplète (aucun code d'autorisation). " + RETRY
TOKEN_REFUSED = "ProConnect a refusé d'échanger le code d'autorisation. " + RETRY
TOKEN_PROBLEMS = {
    "signature": "la signature du jeton d'identité n'est pas celle de ProConnect",
    "iss": "le jeton d'identité n'a pas été émis par le fournisseur ProConnect configuré",
    "aud": "le jeton d'identité n'est pas destiné à Parcours",
    "exp": "le jeton d'identité a expiré",
    "nonce": "le jeton d'identité ne correspond pas à cette demande de connexion",
    "malformed": "le jeton d'identité est illisible ou incomplet",
    "userinfo": "les informations d'identité ne sont pas signées par ProConnect",
    "sub": "les informations d'identité ne concernent pas la personne connectée",
}
TOKEN_INVALID = (
    "La réponse de ProConnect n'a pas pu être vérifiée : {problem}. Par sécurité, la connexion est "
    "refusée. " + RETRY
)
NO_EMAIL = (
    "ProConnect n'a pas transmis d'adresse électronique vérifiée : Parcours ne peut pas retrouver "
    "votre compte. Connectez-vous avec votre mot de passe, ou adressez-vous à l'administrateur de "
    "Parcours de votre structure."
)
UNKNOWN_ACCOUNT = (
    "Aucun compte Parcours actif ne correspond à l'adresse {email}. Parcours n'ouvre pas de compte "
    "à la première connexion : demandez à l'administrateur de Parcours de votre structure de créer "
    "votre compte (ou de vous inviter) avec cette adresse, puis reconnectez-vous avec ProConnect."
)
DEACTIVATED_ACCOUNT = (
    "Votre compte Parcours est désactivé : la connexion est refusée. Si vous devez encore utiliser "
    "Parcours, adressez-vous à l'administrateur de Parcours de votre structure."
)
OTHER_IDENTITY = (
    "Le compte Parcours de l'adresse {email} est déjà lié à une autre identité ProConnect. "
    "Connectez-vous avec celle-ci, ou adressez-vous à l'administrateur de Parcours de votre structure."
)


def same(given: object, expected: str) -> bool:
    """Constant-time comparison of a value received with the one expected (any text, never raises)."""
    if not isinstance(given, str):
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


def _invalid(problem: str) -> InvalidToken:
    return InvalidToken(TOKEN_INVALID.format(problem=TOKEN_PROBLEMS[problem]), kind=f"invalid_{problem}")


# --- configuration and discovery ------------------------------------------------------------------------


SETTINGS = ("PROCONNECT_CLIENT_ID", "PROCONNECT_CLIENT_SECRET", "PROCONNECT_DISCOVERY_URL")


def is_configured() -> bool:
    return all(current_app.config.get(name) for name in SETTINGS)


@dataclass
class Provider:
    """What the discovery document says, and the provider's keys."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None
    algorithms: list[str]
    token_auth_method: str
    keys: KeySet
    fetched_at: float = field(default_factory=time.monotonic)


_cache: dict[str, Provider] = {}
_cache_lock = threading.Lock()


def _get_json(url: str) -> dict[str, Any]:
    try:
        response = requests.get(url, timeout=HTTP_TIMEOUT, headers={"Accept": "application/json"})
        response.raise_for_status()
        data = response.json()
    except (requests.RequestException, ValueError):
        log.warning("ProConnect: %s could not be read", url, exc_info=True)
        raise ProviderUnreachable() from None
    if not isinstance(data, dict):
        log.warning("ProConnect: %s is not a JSON object", url)
        raise ProviderUnreachable()
    return data


def _discover(url: str) -> Provider:
    doc = _get_json(url)
    required = ("issuer", "authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri")
    if any(not isinstance(doc.get(name), str) or not doc.get(name) for name in required):
        log.warning("ProConnect: the discovery document %s lacks one of %s", url, required)
        raise ProviderUnreachable()
    if not url.startswith(doc["issuer"].rstrip("/") + "/.well-known/"):  # OIDC Discovery §4.3
        log.warning("ProConnect: the issuer %s is not the one of %s", doc["issuer"], url)
        raise ProviderUnreachable()
    try:
        keys = KeySet.import_key_set(_get_json(doc["jwks_uri"]))  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError):
        log.warning("ProConnect: the JWKS at %s is not usable", doc["jwks_uri"], exc_info=True)
        raise ProviderUnreachable() from None
    offered = doc.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [alg for alg in offered if alg in ACCEPTED_ALGORITHMS] or ["RS256"]
    methods = doc.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    auth_method = "client_secret_post" if "client_secret_post" in methods else "client_secret_basic"
    return Provider(
        issuer=doc["issuer"],
        authorization_endpoint=doc["authorization_endpoint"],
        token_endpoint=doc["token_endpoint"],
        userinfo_endpoint=doc["userinfo_endpoint"],
        jwks_uri=doc["jwks_uri"],
        end_session_endpoint=doc.get("end_session_endpoint") or None,
        algorithms=algorithms,
        token_auth_method=auth_method,
        keys=keys,
    )


def provider(*, refresh: bool = False) -> Provider:
    """The provider of PROCONNECT_DISCOVERY_URL, read at most every DISCOVERY_TTL seconds."""
    url = current_app.config["PROCONNECT_DISCOVERY_URL"]
    with _cache_lock:
        cached = _cache.get(url)
    if cached is not None and not refresh and time.monotonic() - cached.fetched_at < DISCOVERY_TTL:
        return cached
    fresh = _discover(url)
    with _cache_lock:
        _cache[url] = fresh
    return fresh


def forget_provider() -> None:
    """Drop the cached discovery documents (tests; a key rotation is handled by itself)."""
    with _cache_lock:
        _cache.clear()


def _oauth_client(p: Provider, redirect_uri: str) -> OAuth2Session:
    config = current_app.config
    return OAuth2Session(
        client_id=config["PROCONNECT_CLIENT_ID"],
        client_secret=config["PROCONNECT_CLIENT_SECRET"],
        token_endpoint_auth_method=p.token_auth_method,
        scope=SCOPES,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
    )


# --- the authorization code flow -----------------------------------------------------------------------


def begin(*, redirect_uri: str, next_url: str | None) -> tuple[str, dict[str, Any]]:
    """The URL to send the browser to, and the one-use record to keep in the Flask session."""
    p = provider()
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)  # 86 characters, within RFC 7636's 43–128
    client = _oauth_client(p, redirect_uri)
    url, _ = client.create_authorization_url(
        p.authorization_endpoint, state=state, code_verifier=verifier, nonce=nonce
    )
    pending = {"state": state, "nonce": nonce, "verifier": verifier, "next": next_url, "at": int(time.time())}
    return url, pending


@dataclass(frozen=True)
class Identity:
    sub: str
    email: str | None
    email_verified: bool
    given_name: str | None
    usual_name: str | None
    id_token: str


def _key_ids(keys: KeySet) -> set[str]:
    return {key.kid for key in keys.keys if key.kid}


def _decode(token: str, p: Provider) -> jwt.Token:
    """Signature check with the provider's keys (its JWKS read again once for an unknown key id)."""
    try:
        header = jws.extract_compact(token.encode("ascii")).protected
    except (JoseError, ValueError, UnicodeError):
        raise _invalid("malformed") from None
    kid = header.get("kid")
    if kid and kid not in _key_ids(p.keys):
        p = provider(refresh=True)  # a key rotation at the provider
    try:
        return jwt.decode(token, p.keys, algorithms=p.algorithms)
    except BadSignatureError:
        raise _invalid("signature") from None
    except (JoseError, ValueError, KeyError, TypeError):
        # unknown key id, refused algorithm, unreadable payload
        raise _invalid("signature") from None


def verify_id_token(token: str, p: Provider, *, client_id: str, nonce: str) -> dict[str, Any]:
    claims = dict(_decode(token, p).claims)
    registry = jwt.JWTClaimsRegistry(
        leeway=CLOCK_LEEWAY,
        iss={"essential": True, "value": p.issuer},
        aud={"essential": True, "value": client_id},
        exp={"essential": True},
        sub={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    _validate(registry, claims)
    azp = claims.get("azp")
    if isinstance(claims.get("aud"), list) and len(claims["aud"]) > 1 and azp != client_id:
        raise _invalid("aud")
    if not isinstance(claims.get("sub"), str) or not 0 < len(claims["sub"]) <= SUB_MAX_LENGTH:
        raise _invalid("malformed")
    return claims


def _validate(registry: jwt.JWTClaimsRegistry, claims: dict[str, Any]) -> None:
    try:
        registry.validate(claims)
    except ExpiredTokenError:
        raise _invalid("exp") from None
    except (InvalidClaimError, MissingClaimError) as exc:
        claim = getattr(exc, "claim", "")
        raise _invalid(claim if claim in ("iss", "aud", "exp", "nonce") else "malformed") from None
    except (JoseError, ValueError, TypeError):
        raise _invalid("malformed") from None


def _userinfo(access_token: str, p: Provider, *, client_id: str, sub: str) -> dict[str, Any]:
    try:
        response = requests.get(
            p.userinfo_endpoint,
            timeout=HTTP_TIMEOUT,
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/jwt"},
        )
    except requests.RequestException:
        log.warning("ProConnect: the userinfo endpoint could not be reached", exc_info=True)
        raise ProviderUnreachable() from None
    if response.status_code != 200:
        log.warning("ProConnect: the userinfo endpoint answered %s", response.status_code)
        raise ProviderUnreachable() if response.status_code >= 500 else _invalid("userinfo")
    if response.headers.get("Content-Type", "").split(";")[0].strip().lower() != "application/jwt":
        raise _invalid("userinfo")
    try:
        claims = dict(_decode(response.text.strip(), p).claims)
    except InvalidToken:
        raise _invalid("userinfo") from None
    # Signed userinfo SHOULD carry iss and aud (OIDC Core §5.3.2): checked when present.
    registry = jwt.JWTClaimsRegistry(
        leeway=CLOCK_LEEWAY, iss={"value": p.issuer}, aud={"value": client_id}, sub={"essential": True}
    )
    _validate(registry, claims)
    if not same(claims.get("sub"), sub):
        raise _invalid("sub")
    return claims


def complete(pending: object, args: dict[str, str], *, redirect_uri: str) -> Identity:
    """Check the callback against the one-use record `pending` (already popped from the session)."""
    if not isinstance(pending, dict) or not isinstance(pending.get("state"), str):
        raise StateError(STATE_MISSING, kind="state_missing")
    error = args.get("error")
    if error:  # no identity comes with an error: told as is (some providers omit the state there)
        if error == "access_denied":
            raise ProviderRefused(ACCESS_DENIED, kind="access_denied")
        code = "".join(ch for ch in str(error)[:60] if ch.isalnum() or ch in "_-.")
        raise ProviderRefused(PROVIDER_ERROR.format(code=code), kind="provider_error")
    if not same(args.get("state"), pending["state"]):
        raise StateError(STATE_MISMATCH, kind="state_mismatch")
    if time.time() - float(pending.get("at") or 0) > PENDING_TTL:
        raise StateError(STATE_EXPIRED, kind="state_expired")
    code = args.get("code")
    if not code:
        raise ProConnectError(NO_CODE, kind="no_code")

    p = provider()
    client_id = current_app.config["PROCONNECT_CLIENT_ID"]
    client = _oauth_client(p, redirect_uri)
    try:
        token = client.fetch_token(
            p.token_endpoint,
            grant_type="authorization_code",
            code=code,
            code_verifier=pending.get("verifier"),
            timeout=HTTP_TIMEOUT,
        )
    except requests.RequestException:
        log.warning("ProConnect: the token endpoint could not be reached", exc_info=True)
        raise ProviderUnreachable() from None
    except (AuthlibBaseError, ValueError, KeyError) as exc:
        log.warning("ProConnect: the token endpoint refused the code: %s", exc)
        raise ProConnectError(TOKEN_REFUSED, kind="token_refused") from None
    id_token = token.get("id_token")
    access_token = token.get("access_token")
    if not isinstance(id_token, str) or not isinstance(access_token, str):
        raise _invalid("malformed")
    claims = verify_id_token(id_token, p, client_id=client_id, nonce=str(pending.get("nonce", "")))
    info = _userinfo(access_token, p, client_id=client_id, sub=claims["sub"])
    email = info.get("email") or claims.get("email")
    return Identity(
        sub=claims["sub"],
        email=normalise_email(email) if isinstance(email, str) else None,
        email_verified=info.get("email_verified", claims.get("email_verified", True)) is not False,
        given_name=info.get("given_name") if isinstance(info.get("given_name"), str) else None,
        usual_name=info.get("usual_name") if isinstance(info.get("usual_name"), str) else None,
        id_token=id_token,
    )


# --- the account ----------------------------------------------------------------------------------------


def find_user_by_sub(sub: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.proconnect_sub == sub))


def sign_in(identity: Identity, *, now: datetime, ip_address: str | None, user_agent: str | None) -> SignedIn:
    """The account of this identity, with a new server-side session (one transaction, audited).

    Found by `sub`; else, on the first login, the account of the verified e-mail address, which is
    then linked to this `sub`. No password is needed (an invited account may have none yet) and no
    account is ever created. Raises AccountRefused (unknown, deactivated, linked elsewhere).
    """
    user = find_user_by_sub(identity.sub)
    link = False
    if user is None:
        if not identity.email or not identity.email_verified:
            raise AccountRefused(NO_EMAIL, kind="no_email")
        user = find_user_by_email(identity.email)
        if user is None:
            raise AccountRefused(UNKNOWN_ACCOUNT.format(email=identity.email), kind="unknown_account")
        if user.proconnect_sub is not None:
            raise AccountRefused(OTHER_IDENTITY.format(email=identity.email), kind="other_identity")
        link = True
    if not user.is_active_account:
        raise AccountRefused(DEACTIVATED_ACCOUNT, kind="deactivated")
    try:
        key = _open_session(user, link=link, sub=identity.sub, now=now, ip_address=ip_address, user_agent=user_agent)
    except Conflict:  # the same identity linked a moment ago to another account (two first logins at once)
        raise AccountRefused(OTHER_IDENTITY.format(email=identity.email), kind="other_identity") from None
    # As after a right password: the failed attempts on this address are forgotten. A ProConnect
    # login is not refused while the address cools down: it proves the identity without a password.
    throttle.clear_login_failures(user.email)
    return SignedIn(user=user, session_key=key)


def _open_session(
    user: User, *, link: bool, sub: str, now: datetime, ip_address: str | None, user_agent: str | None
) -> str:
    with unit_of_work():
        if link:
            user.proconnect_sub = sub
            record_event(user, "user.proconnect_linked", object_type="user", object_id=user.id, at=now)
        user.last_login_at = now
        record_event(
            user, "user.login", object_type="user", object_id=user.id, at=now, details={"method": "proconnect"}
        )
        return sessions.add_session(user, now=now, ip_address=ip_address, user_agent=user_agent)


# --- logout ---------------------------------------------------------------------------------------------


def logout_url(*, id_token: str, state: str, post_logout_redirect_uri: str) -> str | None:
    """Where to end the ProConnect session too; None when the provider cannot say (logged)."""
    try:
        p = provider()
    except ProviderUnreachable:
        return None
    if not p.end_session_endpoint:
        return None
    query = urlencode(
        {"id_token_hint": id_token, "state": state, "post_logout_redirect_uri": post_logout_redirect_uri}
    )
    separator = "&" if urlsplit(p.end_session_endpoint).query else "?"
    return f"{p.end_session_endpoint}{separator}{query}"
