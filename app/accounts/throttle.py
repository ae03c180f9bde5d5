"""Per-account throttle of password guessing, shared by every door that checks a password.

Flask-Limiter's limits are per client address; an attacker with many addresses would still get
unlimited guesses at one account. So failed attempts are also counted per normalised e-mail
address (known or not: the answer must not tell), in a moving window, and the web login and
POST /api/v1/tokens share that count. The counters live in RATELIMIT_STORAGE_URI through the
`limits` library (Flask-Limiter's own): memory:// in development and tests, redis://… in
production so that every gunicorn worker and server sees the same numbers.

If the storage fails (Redis down), the throttle logs it and falls back to a per-process memory
storage rather than refusing every login: the per-address limits still apply.
"""
from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass

from flask import Flask, current_app
from limits import RateLimitItem, RateLimitItemPerMinute, parse
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger(__name__)

EXTENSION = "parcours_throttle"


@dataclass(frozen=True)
class Refusal:
    retry_after: int  # seconds


class Throttle:
    """Counters of one app, in the storage named by its config."""

    def __init__(self, storage_uri: str, key_prefix: str = "parcours") -> None:
        options = {"key_prefix": f"{key_prefix}-limits"} if storage_uri.startswith("redis") else {}
        self.storage_uri = storage_uri
        self.storage: Storage = storage_from_string(storage_uri, **options)
        self.limiter = MovingWindowRateLimiter(self.storage)
        self._fallback = MovingWindowRateLimiter(MemoryStorage())
        self.key_prefix = key_prefix

    def _call(self, method: str, *args: object) -> object:
        try:
            return getattr(self.limiter, method)(*args)
        except Exception:  # the shared storage is down: degrade to this process's counters
            log.exception("rate-limit storage %s failed; using in-process counters", self.storage_uri)
            return getattr(self._fallback, method)(*args)

    def _ids(self, scope: str, subject: str) -> tuple[str, ...]:
        # A digest, so the storage never holds an e-mail address.
        digest = hashlib.sha256(subject.encode("utf-8", "surrogatepass")).hexdigest()
        return (self.key_prefix, scope, digest)

    def check(self, item: RateLimitItem, scope: str, subject: str) -> Refusal | None:
        """None if one more attempt is allowed, else a Refusal saying how long to wait."""
        ids = self._ids(scope, subject)
        if self._call("test", item, *ids):
            return None
        stats = self._call("get_window_stats", item, *ids)
        reset_time = getattr(stats, "reset_time", time.time() + item.get_expiry())
        return Refusal(retry_after=max(1, math.ceil(reset_time - time.time())))

    def hit(self, item: RateLimitItem, scope: str, subject: str) -> None:
        self._call("hit", item, *self._ids(scope, subject))

    def clear(self, item: RateLimitItem, scope: str, subject: str) -> None:
        self._call("clear", item, *self._ids(scope, subject))

    def reset(self) -> None:
        """Forget every counter (tests)."""
        try:
            self.storage.reset()
        except NotImplementedError:  # pragma: no cover - every storage we use supports it
            pass
        self._fallback.storage.reset()


def init_app(app: Flask) -> None:
    storage_uri = app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
    if storage_uri.startswith("memory") and app.config.get("ENV_NAME") == "production":
        log.warning(
            "RATELIMIT_STORAGE_URI is %s: each gunicorn worker counts login failures on its own; "
            "set it to redis://… so that they share the counts.", storage_uri
        )
    app.extensions[EXTENSION] = Throttle(storage_uri, app.config.get("RATELIMIT_KEY_PREFIX") or "parcours")


def current_throttle() -> Throttle:
    return current_app.extensions[EXTENSION]


# --- the two policies ------------------------------------------------------------------------------


def _login_item() -> RateLimitItem:
    config = current_app.config
    minutes = int(config.get("ACCOUNT_THROTTLE_MINUTES", 15))
    return RateLimitItemPerMinute(int(config.get("ACCOUNT_THROTTLE_FAILURES", 5)), minutes)


def _enabled() -> bool:
    return bool(current_app.config.get("ACCOUNT_THROTTLE_ENABLED", True))


def login_refusal(email: str) -> Refusal | None:
    """Whether this account is cooling down after too many failed passwords (web and API)."""
    if not _enabled() or not email:
        return None
    return current_throttle().check(_login_item(), "login-account", email)


def record_login_failure(email: str) -> None:
    if _enabled() and email:
        current_throttle().hit(_login_item(), "login-account", email)


def clear_login_failures(email: str) -> None:
    if _enabled() and email:
        current_throttle().clear(_login_item(), "login-account", email)


def reset_request_refusal(email: str, client: str) -> Refusal | None:
    """Password-reset e-mails: PASSWORD_RESET_RATE_LIMIT per account and per client address.

    Counted on every request (the form answers the same whether or not the account exists).
    """
    if not _enabled():
        return None
    throttle = current_throttle()
    item = parse(str(current_app.config.get("PASSWORD_RESET_RATE_LIMIT", "3 per hour")))
    # The address gets ten times the account's budget: several colleagues may share one.
    per_client = type(item)(item.amount * 10, item.multiples)
    for limit, scope, subject in ((item, "reset-account", email), (per_client, "reset-client", client)):
        refusal = throttle.check(limit, scope, subject or "-")
        if refusal is not None:
            return refusal
    throttle.hit(item, "reset-account", email or "-")
    throttle.hit(per_client, "reset-client", client or "-")
    return None
