"""Parcours: the shared record of the "sans couture" insertion pathway."""
from __future__ import annotations

from typing import Any

from flask import Flask

from config import INSTANCE_DIR, Config, load_config


def create_app(config: Config | str | None = None, overrides: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=str(INSTANCE_DIR),
        template_folder="../templates",
        static_folder="static",
    )
    if config is None or isinstance(config, str):
        config = load_config(config)
    app.config.from_object(config)
    if overrides:
        app.config.update(overrides)

    register_proxy_fix(app)
    register_observability(app)
    register_extensions(app)
    register_write_hooks(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_commands(app)
    register_scheduler(app)
    return app


def register_proxy_fix(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies, take the client's address and scheme from their
    X-Forwarded-For / X-Forwarded-Proto (rate limits, session records, https URLs). With 0 (the
    default) those headers are ignored: anyone could send them."""
    trusted = int(app.config.get("TRUSTED_PROXIES") or 0)
    if trusted > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted, x_proto=trusted)  # type: ignore[method-assign]


def register_observability(app: Flask) -> None:
    # Imported when the app is built, not at the top: every feature module imports the `app`
    # package, which must not pull the whole application in with it.
    from app.core.observability import init_app

    init_app(app)


def register_extensions(app: Flask) -> None:
    # Imported when the app is built, not at the top: every feature module imports the `app`
    # package, which would otherwise run them before it exists (a cycle at start-up).
    from app import models  # noqa: F401  (every model registered on the metadata)
    from app.accounts.throttle import init_app as throttle_init_app
    from app.core import replica
    from app.extensions import csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    replica.init_app(app)  # DATABASE_REPLICA_URL: read-only pages read from a replica
    migrate.init_app(app, db, directory=str(INSTANCE_DIR.parent / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    throttle_init_app(app)
    _configure_connections(app)


# Statements run on every new database connection, by dialect:
# - SQLite ignores foreign keys unless asked, on every connection;
# - PostgreSQL's JIT compiles a plan when its estimated cost is high: hundreds of milliseconds for
#   queries that run in one (a capped count, a page read through an index). Every statement of this
#   application is short, so JIT is off (a SET, which pgbouncer in transaction mode passes through,
#   unlike a startup `options` parameter; there it reaches one server connection only, so
#   scripts/pgbouncer.sh also sets it on each server connection with `connect_query`);
# - no parallel workers for the web's statements: they are short and many run at once, so workers
#   only add their start-up (~5 ms) and take the cores from the other requests — a capped count
#   of check-ins took 30 ms with two workers under a Gather, and the whole machine's throughput
#   drops with them. The scan, one long transaction, allows them again (`SET LOCAL`).
# The same statements run on the replica's connections (DATABASE_REPLICA_URL).
_ON_CONNECT = {
    "sqlite": ("PRAGMA foreign_keys=ON",),
    "postgresql": ("SET jit = off", "SET max_parallel_workers_per_gather = 0"),
}


def _configure_connections(app: Flask) -> None:
    # Imported when the app is built, not at the top: every feature module imports the `app`
    # package, which would otherwise run them before it exists (a cycle at start-up).
    from app.core.replica import replica_of
    from app.extensions import db

    with app.app_context():
        replica = replica_of(app)
        for engine in [db.engine] + ([replica.engine] if replica else []):
            _configure_engine(engine)


def _configure_engine(engine: Any) -> None:
    import sqlalchemy as sa

    statements = _ON_CONNECT.get(engine.dialect.name, ())
    if not statements:
        return

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for statement in statements:
            cursor.execute(statement)
        cursor.close()
        if engine.dialect.name == "postgresql":
            dbapi_connection.commit()  # psycopg2 opened a transaction for the SET


def register_write_hooks(app: Flask) -> None:
    # Imported when the app is built, not at the top: every feature module imports the `app`
    # package, which would otherwise run them before it exists (a cycle at start-up).
    from app.followup import live

    live.install()  # follow-up state refreshed in each write's transaction


def register_blueprints(app: Flask) -> None:
    # Imported when the app is built, not at the top: every feature module imports the `app`
    # package, which would otherwise run them before it exists (a cycle at start-up).
    from app.accounts.views import bp as accounts_bp
    from app.admin.views import bp as admin_bp
    from app.admin.views import public_bp as invitations_bp
    from app.api import init_app as api_init_app
    from app.assets import bp as assets_bp
    from app.barriers.views import bp as barriers_bp
    from app.core import converters
    from app.core.views import bp as core_bp
    from app.exports.views import bp as exports_bp
    from app.followup.views import bp as followup_bp
    from app.imports.views import allow_file_upload
    from app.imports.views import bp as imports_bp
    from app.meetings.views import bp as meetings_bp
    from app.pathways.views import bp as pathways_bp

    converters.init_app(app)  # before the routes, which use `<id:…>`
    app.register_blueprint(assets_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(core_bp)
    app.register_blueprint(followup_bp)
    app.register_blueprint(pathways_bp)
    app.register_blueprint(meetings_bp)
    app.register_blueprint(barriers_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(invitations_bp)
    app.register_blueprint(imports_bp)
    app.register_blueprint(exports_bp)
    # Before every other hook (the CSRF check reads the body): the import upload's own size limit.
    app.before_request_funcs.setdefault(None, []).insert(0, allow_file_upload)
    api_init_app(app)  # the JSON API, /api/v1


def register_errorhandlers(app: Flask) -> None:
    # Imported when the app is built, not at the top: every feature module imports the `app`
    # package, which would otherwise run them before it exists (a cycle at start-up).
    from app.core.errorhandlers import init_app

    init_app(app)


def register_template_helpers(app: Flask) -> None:
    # Imported when the app is built, not at the top: every feature module imports the `app`
    # package, which would otherwise run them before it exists (a cycle at start-up).
    from app import access
    from app.core import idempotency
    from app.core.formatting import init_app

    init_app(app)
    idempotency.init_app(app)
    access.init_app(app)


def register_commands(app: Flask) -> None:
    # Imported when the app is built, not at the top: every feature module imports the `app`
    # package, which would otherwise run them before it exists (a cycle at start-up).
    from app.accounts.commands import users_cli
    from app.admin.commands import territory_cli
    from app.demo.commands import seed_demo_command
    from app.followup.commands import scheduler_cli
    from app.imports.commands import import_cli
    from app.notifications.commands import notifications_cli
    from app.pathways.search import rekey_search_names_command

    app.cli.add_command(users_cli)
    app.cli.add_command(territory_cli)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(scheduler_cli)
    app.cli.add_command(import_cli)
    app.cli.add_command(notifications_cli)
    app.cli.add_command(rekey_search_names_command)


def register_scheduler(app: Flask) -> None:
    # Imported when the app is built, not at the top: every feature module imports the `app`
    # package, which would otherwise run them before it exists (a cycle at start-up).
    from app.followup.scheduler import init_app

    init_app(app)
