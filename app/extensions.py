"""Flask extensions, created unbound and wired in `create_app`."""
from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from app.core.replica import RoutingSession

# Stable constraint names, so migrations can name what they alter or drop.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# RoutingSession: Flask-SQLAlchemy's session, which reads from DATABASE_REPLICA_URL for the
# read-only pages when set (app/core/replica.py); without it, exactly Flask-SQLAlchemy's get_bind.
db = SQLAlchemy(model_class=Base, session_options={"class_": RoutingSession})
migrate = Migrate(compare_type=True, render_as_batch=True)
login_manager = LoginManager()
csrf = CSRFProtect()
# Login and API token creation are rate-limited per client address (LOGIN_RATE_LIMIT, one budget
# shared by both doors: `login_limit`); tests disable it (RATELIMIT_ENABLED=False) except where
# they check the 429. No storage_uri here: Flask-Limiter then reads RATELIMIT_STORAGE_URI from the
# app's config (memory:// in development, redis://… in production so workers share counters).
# The client address is request.remote_addr: behind a reverse proxy, set TRUSTED_PROXIES so that
# ProxyFix makes it the real client's (app/__init__.py).
limiter = Limiter(key_func=get_remote_address)


def rate_limit_disabled() -> bool:
    """The limiter is one object shared by every app built in a process (tests build several):
    each app's own RATELIMIT_ENABLED decides, at request time."""
    from flask import current_app

    return not current_app.config.get("RATELIMIT_ENABLED", True)


def login_rate_limit() -> str:
    from flask import current_app

    return current_app.config.get("LOGIN_RATE_LIMIT", "10 per minute")


# The web login (POST) and POST /api/v1/tokens draw on the same per-address budget.
login_limit = limiter.shared_limit(
    login_rate_limit, scope="login", methods=["POST"], exempt_when=rate_limit_disabled
)
