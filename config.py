"""Configuration, read from environment variables when the app is created (never frozen at import).

Development gets safe defaults so `make run` works on a bare machine; production refuses to
start when a secret is missing (`ProductionConfig.validate`).
"""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"
DEV_SECRET_KEY = "dev-only-secret-key-change-me"
BRAND_KINDS = ("etat", "operateur")  # a State service, or another operator (neutral header)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL (a CSP source)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def normalise_database_url(url: str) -> str:
    # Heroku-style URLs still say postgres://, which SQLAlchemy 2 no longer accepts.
    if url.startswith("postgres://"):
        return "postgresql://" + url[len("postgres://"):]
    return url


class Config:
    """Settings common to every environment. Instantiate to read the environment."""

    ENV_NAME = "base"
    DEBUG = False
    TESTING = False

    def __init__(self) -> None:
        env = os.environ
        self.SECRET_KEY = env.get("SECRET_KEY", DEV_SECRET_KEY)
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(
            env.get("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'parcours.db'}")
        )
        # hide_parameters: a database error's message never carries the values of its statement
        # (names, notes) into a log line or an error report.
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}
        self.SQLALCHEMY_RECORD_QUERIES = False
        # A PostgreSQL streaming replica for the read-only pages and API reads (app/core/replica.py,
        # docs/OPERATIONS.md); unset: every read on DATABASE_URL.
        self.DATABASE_REPLICA_URL = normalise_database_url(env.get("DATABASE_REPLICA_URL", ""))

        # Session cookie: never readable from JavaScript, not sent on cross-site posts.
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.PERMANENT_SESSION_LIFETIME = env_int("SESSION_LIFETIME_MINUTES", 8 * 60) * 60
        # Server-side sessions (app/accounts/sessions.py): each login is a `user_session` row,
        # revoked at logout, password change or deactivation; it also ends after
        # SESSION_LIFETIME_MINUTES (absolute) or SESSION_IDLE_MINUTES without a request (idle).
        self.SESSION_LIFETIME_MINUTES = env_int("SESSION_LIFETIME_MINUTES", 8 * 60)
        self.SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 30)

        # Passwords: reset links (« Mot de passe oublié ? ») expire after this many minutes.
        self.PASSWORD_RESET_TTL_MINUTES = env_int("PASSWORD_RESET_TTL_MINUTES", 60)
        # Links in e-mails are built on this address when set (e.g. https://parcours.example.fr),
        # never on the Host header a client sent; without it, on the request's own address.
        self.PUBLIC_BASE_URL = env.get("PUBLIC_BASE_URL", "").rstrip("/")

        # ProConnect (app/accounts/proconnect.py, docs/proconnect.md): the « S'identifier avec
        # ProConnect » button is offered only when all three are set. The discovery document's origin
        # is also allowed as a form target (CSP form-action): the button and the logout post there
        # through a redirect.
        self.PROCONNECT_CLIENT_ID = env.get("PROCONNECT_CLIENT_ID", "")
        self.PROCONNECT_CLIENT_SECRET = env.get("PROCONNECT_CLIENT_SECRET", "")
        self.PROCONNECT_DISCOVERY_URL = env.get("PROCONNECT_DISCOVERY_URL", "").strip()
        discovery = self.PROCONNECT_DISCOVERY_URL
        self.CSP_FORM_ACTION_ORIGINS = [origin_of(discovery)] if discovery else []

        # HTTP: largest request body accepted (413 beyond), HSTS (production only), and how many
        # reverse proxies in front of the app may be trusted for X-Forwarded-For/-Proto (0: none).
        self.MAX_CONTENT_LENGTH = env_int("MAX_CONTENT_LENGTH", 2 * 1024 * 1024)
        self.HSTS_SECONDS = env_int("HSTS_SECONDS", 0)
        self.TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 0)

        self.WTF_CSRF_ENABLED = True
        self.WTF_CSRF_TIME_LIMIT = None  # a form left open during a long interview must still post

        # No time zone nor locale here: Paris time and French dates are constants of app/core/timefmt.py.

        # Follow-up scheduler (app/followup).
        self.SCHEDULER_IN_PROCESS = env_bool("SCHEDULER_IN_PROCESS", False)
        self.SCHEDULER_INTERVAL_MINUTES = env_int("SCHEDULER_INTERVAL_MINUTES", 15)
        # Imports (app/imports): a launched import runs in a thread of the web process, started
        # after the request committed; inline (within the request) for the tests.
        self.IMPORTS_RUN_INLINE = env_bool("IMPORTS_RUN_INLINE", False)
        # A file of at least this many rows is checked in a second process while the import
        # writes (two cores used instead of one); a smaller one in a thread.
        self.IMPORTS_CHECK_PROCESS_ROWS = env_int("IMPORTS_CHECK_PROCESS_ROWS", 20_000)
        # Exports (app/workspace/exports.py): a list longer than EXPORT_SYNC_LIMIT rows is exported
        # in the background by the scheduler (« Mes exports »); inline, in the request, for the tests.
        self.EXPORT_SYNC_LIMIT = env_int("EXPORT_SYNC_LIMIT", 500)
        self.EXPORTS_RUN_INLINE = env_bool("EXPORTS_RUN_INLINE", False)

        # Mail (daily digest). Without MAIL_SERVER, mails are written to MAIL_OUTBOX_DIR as .eml.
        self.MAIL_SERVER = env.get("MAIL_SERVER", "")
        self.MAIL_PORT = env_int("MAIL_PORT", 25)
        self.MAIL_USERNAME = env.get("MAIL_USERNAME", "")
        self.MAIL_PASSWORD = env.get("MAIL_PASSWORD", "")
        self.MAIL_USE_TLS = env_bool("MAIL_USE_TLS", False)
        self.MAIL_FROM = env.get("MAIL_FROM", "Parcours <ne-pas-repondre@parcours.localhost>")
        self.MAIL_OUTBOX_DIR = env.get("MAIL_OUTBOX_DIR", str(INSTANCE_DIR / "outbox"))

        # Observability (app/core/observability.py): logs as JSON lines or text on stderr; metrics at
        # /metrics for a bearer of METRICS_TOKEN (unset: no such route); the scheduler process
        # serves its own on 127.0.0.1:SCHEDULER_METRICS_PORT (0: not served); Sentry when SENTRY_DSN.
        self.LOG_FORMAT = env.get("LOG_FORMAT", "json" if self.ENV_NAME == "production" else "text")
        self.LOG_LEVEL = env.get("LOG_LEVEL", "INFO").upper()
        self.METRICS_TOKEN = env.get("METRICS_TOKEN", "")
        self.SCHEDULER_METRICS_PORT = env_int("SCHEDULER_METRICS_PORT", 0)
        self.SENTRY_DSN = env.get("SENTRY_DSN", "")
        self.SENTRY_TRACES_SAMPLE_RATE = float(env.get("SENTRY_TRACES_SAMPLE_RATE", "0") or 0)

        # Front-end assets: the DSFR npm package, served locally (never from a CDN).
        self.DSFR_DIST_DIR = env.get(
            "DSFR_DIST_DIR", str(BASE_DIR / "node_modules" / "@gouvfr" / "dsfr" / "dist")
        )
        # The API docs page (swagger-ui-dist npm package), served locally too.
        self.SWAGGER_UI_DIST_DIR = env.get(
            "SWAGGER_UI_DIST_DIR", str(BASE_DIR / "node_modules" / "swagger-ui-dist")
        )

        # JSON API (/api/v1): Bearer tokens' lifetime; rate limit of login and token creation
        # (Flask-Limiter syntax, per client address, one budget shared by both doors).
        self.API_TOKEN_TTL_HOURS = env_int("API_TOKEN_TTL_HOURS", 12)
        self.LOGIN_RATE_LIMIT = env.get("LOGIN_RATE_LIMIT", "10 per minute")
        self.RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
        # Where the counters live: memory:// is per process; production sets redis://…, so that
        # every gunicorn worker (and every server) shares them.
        # REDIS_URL, when set, is the default.
        self.RATELIMIT_STORAGE_URI = env.get("RATELIMIT_STORAGE_URI") or env.get("REDIS_URL") or "memory://"
        self.RATELIMIT_KEY_PREFIX = env.get("RATELIMIT_KEY_PREFIX", "parcours")
        self.RATELIMIT_HEADERS_ENABLED = True
        # Per-account throttle, shared by the web login and POST /api/v1/tokens (and the
        # password-reset form): after ACCOUNT_THROTTLE_FAILURES failed attempts on one e-mail
        # address within ACCOUNT_THROTTLE_MINUTES, that address is refused until the oldest
        # failure is that old. Stored in RATELIMIT_STORAGE_URI.
        self.ACCOUNT_THROTTLE_ENABLED = env_bool("ACCOUNT_THROTTLE_ENABLED", True)
        self.ACCOUNT_THROTTLE_FAILURES = env_int("ACCOUNT_THROTTLE_FAILURES", 5)
        self.ACCOUNT_THROTTLE_MINUTES = env_int("ACCOUNT_THROTTLE_MINUTES", 15)
        self.PASSWORD_RESET_RATE_LIMIT = env.get("PASSWORD_RESET_RATE_LIMIT", "3 per hour")

        # Who runs this Parcours, for the header and the legal pages (« Mentions légales »,
        # « Données personnelles », « Accessibilité »). The Marianne block (« République
        # Française ») is reserved for State services: BRAND_KIND=etat shows it; the default,
        # « operateur », shows a neutral header with OPERATOR_NAME (a conseil départemental runs
        # Parcours for its territory: it is the honest default of the demo). The other values are
        # printed as given on the legal pages; the defaults say « à compléter ».
        self.BRAND_KIND = env.get("BRAND_KIND", "operateur").strip().lower()
        self.OPERATOR_NAME = env.get("OPERATOR_NAME", "Département de démonstration")
        self.OPERATOR_ADDRESS = env.get("OPERATOR_ADDRESS", "adresse de l'hôtel du département à compléter")
        self.PUBLICATION_DIRECTOR = env.get(
            "PUBLICATION_DIRECTOR", "le président ou la présidente du conseil départemental (nom à compléter)"
        )
        self.HOSTING_PROVIDER = env.get("HOSTING_PROVIDER", "hébergeur à compléter (raison sociale, adresse, téléphone)")  # noqa: E501
        self.DPO_CONTACT = env.get("DPO_CONTACT", "délégué à la protection des données du département (adresse à compléter)")  # noqa: E501
        self.ACCESSIBILITY_CONTACT = env.get(
            "ACCESSIBILITY_CONTACT", "référent accessibilité du département (adresse à compléter)"
        )

    def validate(self) -> None:
        """Refuse to start when misconfigured (production adds its own checks)."""
        if self.BRAND_KIND not in BRAND_KINDS:
            raise RuntimeError(f"BRAND_KIND must be one of {', '.join(BRAND_KINDS)}, not {self.BRAND_KIND!r}.")


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    DEBUG = True


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True

    def __init__(self) -> None:
        super().__init__()
        self.SECRET_KEY = "testing-secret-key"
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(
            os.environ.get("TEST_DATABASE_URL", "sqlite://")
        )
        self.DATABASE_REPLICA_URL = ""  # the replica tests set their own (tests/core/test_replica.py)
        self.WTF_CSRF_ENABLED = False  # tests of CSRF turn it back on explicitly
        self.RATELIMIT_ENABLED = False  # the test of the 429 turns it back on explicitly
        self.ACCOUNT_THROTTLE_ENABLED = False  # so is the per-account throttle, in its own tests
        self.IMPORTS_RUN_INLINE = True  # one connection per test: no second thread on it
        self.EXPORTS_RUN_INLINE = True  # no scheduler in the tests: the request builds the file


class ProductionConfig(Config):
    ENV_NAME = "production"

    def __init__(self) -> None:
        super().__init__()
        self.SESSION_COOKIE_SECURE = True
        self.REMEMBER_COOKIE_SECURE = True
        self.HSTS_SECONDS = env_int("HSTS_SECONDS", 365 * 24 * 3600)

    def validate(self) -> None:
        super().validate()
        missing = [name for name in ("SECRET_KEY", "DATABASE_URL") if not os.environ.get(name)]
        if missing:
            raise RuntimeError(
                "Missing required environment variable(s) in production: " + ", ".join(missing)
            )
        if len(self.SECRET_KEY) < 32 or self.SECRET_KEY == DEV_SECRET_KEY:
            raise RuntimeError("SECRET_KEY must be a random string of at least 32 characters.")
        proconnect = [self.PROCONNECT_CLIENT_ID, self.PROCONNECT_CLIENT_SECRET, self.PROCONNECT_DISCOVERY_URL]
        if any(proconnect) and not all(proconnect):
            raise RuntimeError(
                "ProConnect needs PROCONNECT_CLIENT_ID, PROCONNECT_CLIENT_SECRET and PROCONNECT_DISCOVERY_URL together."
            )
        if self.PROCONNECT_DISCOVERY_URL and not self.PROCONNECT_DISCOVERY_URL.startswith("https://"):
            raise RuntimeError("PROCONNECT_DISCOVERY_URL must be an https:// address in production.")


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def load_config(name: str | None = None) -> Config:
    name = name or os.environ.get("PARCOURS_ENV", "development")
    try:
        config = CONFIGS[name]()
    except KeyError:
        raise RuntimeError(f"Unknown PARCOURS_ENV {name!r}; expected one of {sorted(CONFIGS)}") from None
    config.validate()
    return config
