"""What the operators see: a request id, one log line per request, metrics, liveness and readiness.

- **Request id**: every request gets one (the reverse proxy's `X-Request-Id` when it is a plain
  token, else a new one); it is sent back in the `X-Request-Id` header, shown on error pages
  (« Référence de l'erreur ») and carried by every log line written during the request.
- **Logs**: JSON lines in production (`LOG_FORMAT=json`), readable text in development; one line
  per request with its id, the user's id, the route *template* (`/parcours/<id:pathway_id>`, never
  the path nor the query string, which may hold a searched name), the status and the duration —
  split into the time spent waiting on the database (`db_ms`, `db_statements`) and the CPU time of
  the request's own thread (`cpu_ms`): what an operator needs to tell a slow query from a slow page.
  Never a person's identity nor a note: log calls name objects by id, and the engine is built with
  `hide_parameters` so that a database error's message carries no value (`tests/core/
  test_observability.py` runs a whole scenario and scans every line).
- **Metrics** (Prometheus text format) at `/metrics`, for a scraper holding `METRICS_TOKEN` (no
  token configured: the route answers 404): request latency histograms by route and status, and
  what the scheduler process observes (scan duration, alerts raised and resolved) when it runs in
  this process. Under gunicorn, set `PROMETHEUS_MULTIPROC_DIR` so that every worker's counts are
  summed; the scheduler process serves its own on `SCHEDULER_METRICS_PORT`.
- **Liveness** `/sante` (the process answers; no database: a database outage must not get every
  worker restarted) and **readiness** `/sante/pret` (the database answers and its schema is at the
  migrations' head: a load balancer sends no traffic to a worker that would fail).
- **Sentry**, only when `SENTRY_DSN` is set: no request body, cookies, headers or query string,
  no local variables of frames, users by id only.
"""
from __future__ import annotations

import hmac
import logging
import os
import re
import sys
import time
import uuid
from functools import cache
from pathlib import Path
from typing import Any

import prometheus_client
import sqlalchemy as sa
from flask import Blueprint, Flask, Response, abort, current_app, g, has_request_context, jsonify, request
from flask.typing import ResponseReturnValue
from prometheus_client import CollectorRegistry, Counter, Histogram
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db

REQUEST_ID_HEADER = "X-Request-Id"
_ACCEPTED_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")

request_log = logging.getLogger("parcours.request")
log = logging.getLogger(__name__)

bp = Blueprint("observability", __name__)

REQUEST_SECONDS = Histogram(
    "parcours_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template, method and status",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SCAN_SECONDS = Histogram(
    "parcours_scan_duration_seconds",
    "Duration of a follow-up scan (full or incremental)",
    ["full"],
    buckets=(0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0),
)
ALERTS_RAISED = Counter("parcours_alerts_raised_total", "Alerts raised by the follow-up scans")
ALERTS_RESOLVED = Counter("parcours_alerts_resolved_total", "Alerts resolved by the follow-up scans")


def init_app(app: Flask) -> None:
    configure_logging(app)
    init_sentry(app)
    _listen_to_statements()
    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.register_blueprint(bp)


# --- request id and the request log line --------------------------------------------------------


def request_id() -> str | None:
    """The current request's id (None outside a request)."""
    if not has_request_context():
        return None
    if "request_id" not in g:
        offered = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = offered if _ACCEPTED_REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex
    return g.request_id


def _start_request() -> None:
    g.request_started = time.perf_counter()
    g.request_cpu_started = time.thread_time()
    g.db_seconds, g.db_statements = 0.0, 0
    request_id()


@cache
def _listen_to_statements() -> None:
    """Time every statement of a request (the request's line says how much was the database's).
    Two clock reads per statement; outside a request (scheduler, CLI) nothing is kept."""

    @sa.event.listens_for(sa.engine.Engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: Any, parameters: Any, context: Any, executemany: bool) -> None:
        if has_request_context():
            conn.info["parcours_statement_started"] = time.perf_counter()

    @sa.event.listens_for(sa.engine.Engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: Any, parameters: Any, context: Any, executemany: bool) -> None:
        started = conn.info.pop("parcours_statement_started", None)
        if started is not None and has_request_context() and "db_seconds" in g:
            g.db_seconds += time.perf_counter() - started
            g.db_statements += 1


def _finish_request(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = request_id() or ""
    started = g.get("request_started")
    if started is None:  # a request that failed before its first hook
        return response
    seconds = time.perf_counter() - started
    route = request.url_rule.rule if request.url_rule is not None else "<non trouvée>"
    REQUEST_SECONDS.labels(request.method, route, str(response.status_code)).observe(seconds)
    request_log.info(
        "%s %s %s %.1f ms",
        request.method,
        route,
        response.status_code,
        seconds * 1000,
        extra={
            "event": "request",
            "method": request.method,
            "route": route,
            "status": response.status_code,
            "duration_ms": round(seconds * 1000, 1),
            "db_ms": round(g.get("db_seconds", 0.0) * 1000, 1),
            "db_statements": g.get("db_statements", 0),
            "cpu_ms": round((time.thread_time() - g.get("request_cpu_started", time.thread_time())) * 1000, 1),
            "user_id": _user_id(),
            "request_id": request_id(),
        },
    )
    return response


def _user_id() -> int | None:
    """The signed-in user's id when the request loaded it (never loads it only to log it)."""
    # Only a mapped user has an identity (the anonymous user is not one); after a commit the
    # instance is expired, its identity is still known without reloading it.
    state = sa.inspect(g.get("_login_user"), raiseerr=False)
    return state.identity[0] if state is not None and state.identity else None


# --- logging ------------------------------------------------------------------------------------


class _RequestContextFilter(logging.Filter):
    """Adds the request id (and the user id once known) to every record written during a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id()
        return True


def configure_logging(app: Flask) -> None:
    """One handler on the root logger, to stderr (gunicorn and systemd collect it): JSON lines or
    text as `LOG_FORMAT` says, at `LOG_LEVEL`. Tests keep pytest's own capture (no handler)."""
    if app.testing or app.config.get("LOG_FORMAT") == "none":
        return
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_parcours", False):
            root.removeHandler(handler)  # an app built twice in one process (CLI) logs once
    handler = logging.StreamHandler(sys.stderr)
    handler._parcours = True  # type: ignore[attr-defined]
    handler.addFilter(_RequestContextFilter())
    handler.setFormatter(formatter(app.config.get("LOG_FORMAT", "text")))
    root.addHandler(handler)
    root.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    # Our own line per request replaces werkzeug's (which prints the path and its query string).
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def describe_database_error(exc: BaseException) -> str:
    """A database error without its data: PostgreSQL's message quotes the failing row (« Failing
    row contains (…, Dupont, …) », « Key (email)=(…) already exists »), which `hide_parameters`
    does not hide. Keep the error's class, its SQLSTATE and the constraint, which locate the fault."""
    original = getattr(exc, "orig", None) or exc
    parts = [f"{type(original).__module__}.{type(original).__name__}"]
    code = getattr(original, "pgcode", None) or getattr(original, "sqlite_errorname", None)
    if code:
        parts.append(f"code {code}")
    diag = getattr(original, "diag", None)
    for label, attribute in (("table", "table_name"), ("colonne", "column_name"), ("contrainte", "constraint_name")):
        value = getattr(diag, attribute, None) if diag is not None else None
        if value:
            parts.append(f"{label} {value}")
    return ", ".join(parts) + " (détail masqué : il peut citer des données)"


def _is_database_error(exc: BaseException | None) -> bool:
    if exc is None:
        return False
    if isinstance(exc, sa.exc.DBAPIError):
        return True
    module = type(exc).__module__ or ""
    return module.startswith(("psycopg2", "sqlite3"))


def _format_exception(exc_info: Any) -> str | None:
    """The traceback of a database error with its message replaced (None: format it as usual)."""
    import traceback  # only for faults

    _type, value, tb = exc_info
    if not _is_database_error(value):
        return None
    lines = ["Traceback (most recent call last):\n", *traceback.format_tb(tb)]
    lines.append(f"{type(value).__module__}.{type(value).__name__}: {describe_database_error(value)}")
    return "".join(lines)


class _TextFormatter(logging.Formatter):
    def formatException(self, ei: Any) -> str:  # noqa: N802 (logging's name)
        return _format_exception(ei) or super().formatException(ei)


class _JsonFormatter(JsonFormatter):
    def formatException(self, ei: Any) -> str:  # noqa: N802 (logging's name)
        return _format_exception(ei) or super().formatException(ei)


def formatter(kind: str) -> logging.Formatter:
    """The production formatters; a database error's message is never written (see above)."""
    if kind == "json":
        return _JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            timestamp=False,
            json_ensure_ascii=False,
        )
    return _TextFormatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s",
                          defaults={"request_id": "-"})


# --- metrics ------------------------------------------------------------------------------------


def observe_scan(result: Any, seconds: float) -> None:
    """Called by the scheduler after each scan (`ScanResult`)."""
    SCAN_SECONDS.labels("true" if getattr(result, "full", False) else "false").observe(seconds)
    ALERTS_RAISED.inc(getattr(result, "raised", 0) or 0)
    ALERTS_RESOLVED.inc(getattr(result, "resolved", 0) or 0)


def metrics_registry() -> CollectorRegistry:
    """This process's metrics, or every gunicorn worker's when PROMETHEUS_MULTIPROC_DIR is set."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess  # only meaningful in multiprocess mode

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return prometheus_client.REGISTRY


@bp.get("/metrics")
def metrics() -> ResponseReturnValue:
    token = current_app.config.get("METRICS_TOKEN") or ""
    if not token:
        abort(404)  # not configured: as if the route did not exist
    offered = request.headers.get("Authorization", "")
    if not hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
        abort(404)  # a wrong token learns nothing either
    body = prometheus_client.generate_latest(metrics_registry())
    response = Response(body, mimetype=prometheus_client.CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


def start_metrics_server(port: int) -> None:
    """For the scheduler process: its own metrics on 127.0.0.1:`port` (scraped locally)."""
    prometheus_client.start_http_server(port, addr="127.0.0.1")


# --- liveness and readiness ---------------------------------------------------------------------


@bp.get("/sante")
def liveness() -> ResponseReturnValue:
    """The process answers (for the supervisor). No database, no data."""
    response = jsonify(status="ok")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/sante/pret")
def readiness() -> ResponseReturnValue:
    """The worker can serve: the database answers and its schema is the code's (migrations at head)."""
    checks: dict[str, str] = {}
    try:
        db.session.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
        current = set(db.session.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
        checks["migrations"] = "ok" if current == migration_heads() else "behind"
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("readiness: database check failed (%s)", type(exc).__name__)
        checks.setdefault("database", "unreachable")
        checks.setdefault("migrations", "unknown")
    ready = all(value == "ok" for value in checks.values())
    response = jsonify(status="ok" if ready else "error", checks=checks)
    response.status_code = 200 if ready else 503
    response.headers["Cache-Control"] = "no-store"
    return response


@cache
def migration_heads() -> set[str]:
    """The head revision(s) of migrations/ (read once per process)."""
    from alembic.config import Config as AlembicConfig  # only the readiness check needs alembic here
    from alembic.script import ScriptDirectory

    directory = Path(__file__).resolve().parents[2] / "migrations"
    config = AlembicConfig()
    config.set_main_option("script_location", str(directory))
    return set(ScriptDirectory.from_config(config).get_heads())


# --- Sentry -------------------------------------------------------------------------------------


def init_sentry(app: Flask) -> None:
    dsn = app.config.get("SENTRY_DSN") or ""
    if not dsn:
        return
    import sentry_sdk  # only when configured

    sentry_sdk.init(
        dsn=dsn,
        environment=app.config.get("ENV_NAME", "production"),
        send_default_pii=False,
        include_local_variables=False,  # a frame's variables hold names and notes
        max_request_body_size="never",
        traces_sample_rate=app.config.get("SENTRY_TRACES_SAMPLE_RATE", 0.0),
        before_send=scrub_event,
        before_breadcrumb=_scrub_breadcrumb,
    )


def scrub_event(event: dict[str, Any], _hint: dict[str, Any]) -> dict[str, Any]:
    """Keep what locates a fault (route, request id, user id, stack), drop what could name a person."""
    req = event.get("request") or {}
    event["request"] = {"method": req.get("method"), "url": _without_query(req.get("url"))}
    user = event.get("user") or {}
    event["user"] = {"id": user.get("id")} if user.get("id") is not None else {}
    event.setdefault("tags", {})["request_id"] = request_id()
    for exception in (event.get("exception") or {}).get("values", []) or []:
        for frame in (exception.get("stacktrace") or {}).get("frames", []) or []:
            frame.pop("vars", None)
        if (exception.get("module") or "").startswith(("psycopg2", "sqlite3", "sqlalchemy")):
            exception["value"] = "détail masqué : il peut citer des données"
    event.pop("extra", None)
    return event


def _scrub_breadcrumb(crumb: dict[str, Any], _hint: dict[str, Any]) -> dict[str, Any] | None:
    if crumb.get("category") in {"query", "httplib", "subprocess"}:
        return None  # SQL with values, outgoing URLs
    return crumb


def _without_query(url: str | None) -> str | None:
    return url.split("?", 1)[0] if url else url

