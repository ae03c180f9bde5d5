"""Reads from a PostgreSQL streaming replica (DATABASE_REPLICA_URL), writes on the primary.

Without DATABASE_REPLICA_URL nothing here runs: `init_app` returns at once, the session's
`get_bind` goes straight to Flask-SQLAlchemy's, and `after_primary_commit` returns at once.

With it:
- the GET requests of `REPLICA_ENDPOINTS` (read-only pages and API reads) read from the replica;
  everything else, and inside these requests every unit of work (the audit events they write,
  `last_seen_at`) and every flush, goes to the primary, and so does the check of the login session
  and of the API token (`primary_reads()`: a revocation is seen at once);
- read-your-writes: each commit of a unit of work during a web request that is not a GET (a GET
  writes only what it does not show: its audit event, `last_seen_at`) stores the primary's WAL
  position (`pg_current_wal_lsn()`) in the user's Flask session; the replica is used only when it
  has replayed that far (`pg_last_wal_replay_lsn()`). An API client sends no cookie: for its reads
  the position is the primary's current one (one short query), so it sees every committed write;
- a replica that is down, not streaming or behind → the primary, logged once at each change,
  retried after RETRY_SECONDS; never a 500.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, g, has_request_context, request, session
from flask_sqlalchemy.session import Session as FlaskSQLAlchemySession
from sqlalchemy.sql.dml import UpdateBase

log = logging.getLogger("parcours.replica")

EXTENSION = "parcours_replica"
# In the SQLAlchemy session's `info` for the current request: the replica engine to read from.
READ_FROM_KEY = "parcours.read_from_replica"
# The unit of work's depth key (app.transaction): inside a unit of work, everything is on the primary.
_UOW_DEPTH_KEY = "parcours.unit_of_work_depth"
_PRIMARY_ONLY_KEY = "parcours.primary_only"
# The Flask session key holding the primary's WAL position after the user's last write.
LSN_KEY = "_parcours_lsn"
RETRY_SECONDS = 5.0

# The read-only GET endpoints served from the replica (a declarative list: a test checks each exists).
REPLICA_ENDPOINTS = frozenset({
    "pathways.portfolio",
    "pathways.record",
    "followup.my_alerts",
    "followup.dashboard",
    "followup.indicators",
    "followup.list_view",
    "meetings.agenda",
    "api.list_beneficiaries",
    "api.get_beneficiary",
    "api.get_pathway",
    "api.get_timeline",
    "api.list_entries",
    "api.list_barriers",
    "api.list_meetings",
    "api.list_alerts",
    "api.list_overdue_followups",
})

# The replica serves when it is a standby, streaming from the primary, and has replayed `lsn`.
_STATE_SQL = sa.text(
    "SELECT pg_is_in_recovery()"
    " AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming'),"
    " CAST(:lsn AS pg_lsn) IS NULL OR pg_last_wal_replay_lsn() >= CAST(:lsn AS pg_lsn)"
)


class RoutingSession(FlaskSQLAlchemySession):
    """Flask-SQLAlchemy's session, reading from the replica when the request chose it."""

    def get_bind(self, mapper: Any = None, clause: Any = None, bind: Any = None, **kwargs: Any) -> Any:
        replica = self.info.get(READ_FROM_KEY)
        if (
            replica is not None
            and bind is None
            and not self._flushing
            and not self.info.get(_UOW_DEPTH_KEY)
            and not self.info.get(_PRIMARY_ONLY_KEY)
            and not isinstance(clause, UpdateBase)
        ):
            return replica
        return super().get_bind(mapper, clause=clause, bind=bind, **kwargs)


class Replica:
    def __init__(self, app: Flask, url: str) -> None:
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options.setdefault("connect_args", {}).setdefault("connect_timeout", 2)
        self.engine = sa.create_engine(url, **options)
        self.usable = True  # as last seen (a change is logged once)
        self.retry_at = 0.0

    def mark(self, usable: bool, reason: str = "") -> None:
        if usable != self.usable:
            if usable:
                log.info("replica: back, reads of read-only pages go to it again")
            else:
                log.warning("replica: unusable (%s), reads go to the primary", reason)
        self.usable = usable
        if not usable and reason == "down":
            self.retry_at = time.monotonic() + RETRY_SECONDS

    def can_serve(self, lsn: str | None) -> bool:
        """Whether this request may read from the replica; being behind the user's last write is
        normal (not logged); being down or not streaming is logged once, at the change."""
        if time.monotonic() < self.retry_at:
            return False
        try:
            with self.engine.connect() as conn:
                streaming, replayed = conn.execute(_STATE_SQL, {"lsn": lsn}).one()
        except sa.exc.SQLAlchemyError:
            self.mark(False, "down")
            return False
        self.mark(bool(streaming), "" if streaming else "not streaming from the primary")
        return bool(streaming and replayed)


def replica_of(app: Flask) -> Replica | None:
    return app.extensions.get(EXTENSION)


def init_app(app: Flask) -> None:
    url = app.config.get("DATABASE_REPLICA_URL") or ""
    if not url:
        return
    app.extensions[EXTENSION] = Replica(app, url)
    app.before_request(_choose_database)
    app.after_request(_remember_lsn)
    app.teardown_request(_forget_choice)


def _db() -> Any:
    # Imported when used, not at the top: app.extensions imports this module (RoutingSession).
    from app.extensions import db

    return db


def _session_info() -> dict[str, Any]:
    return _db().session.info


def _primary_lsn() -> str | None:
    with _db().engine.connect() as conn:
        return conn.scalar(sa.text("SELECT pg_current_wal_lsn()::text"))


def _choose_database() -> None:
    replica = replica_of(current_app)
    info = _session_info()
    info.pop(READ_FROM_KEY, None)
    if replica is None or request.method != "GET" or request.endpoint not in REPLICA_ENDPOINTS:
        return
    if request.blueprint == "api":
        lsn = _primary_lsn()  # no cookie: every committed write must be visible
    else:
        lsn = session.get(LSN_KEY)
        lsn = lsn if isinstance(lsn, str) and len(lsn) < 40 else None
    if replica.can_serve(lsn):
        info[READ_FROM_KEY] = replica.engine


def _forget_choice(_exc: BaseException | None) -> None:
    _session_info().pop(READ_FROM_KEY, None)


def _remember_lsn(response: Any) -> Any:
    lsn = g.pop("parcours_primary_lsn", None)
    if lsn and request.blueprint != "api":
        session[LSN_KEY] = lsn
    return response


def after_primary_commit() -> None:
    """Called by the outermost unit of work after its commit: remember where the primary is."""
    if not has_request_context() or replica_of(current_app) is None:
        return
    if request.method in ("GET", "HEAD"):
        return  # what a page writes (its audit event, `last_seen_at`) is not shown back to the user
    try:
        g.parcours_primary_lsn = _primary_lsn()
    except sa.exc.SQLAlchemyError:  # committed already: the next pages read the primary's own way
        log.warning("replica: the primary's WAL position could not be read after a commit")
        g.parcours_primary_lsn = "FFFFFFFF/FFFFFFFF"


def reading_from_replica() -> bool:
    """Whether this request's plain reads go to the replica (for tests and logs)."""
    return _session_info().get(READ_FROM_KEY) is not None


@contextmanager
def primary_reads() -> Iterator[None]:
    """Reads inside this block go to the primary (login sessions, API tokens: never stale)."""
    if replica_of(current_app) is None:
        yield
        return
    info = _session_info()
    previous = info.get(_PRIMARY_ONLY_KEY)
    info[_PRIMARY_ONLY_KEY] = True
    try:
        yield
    finally:
        if previous is None:
            info.pop(_PRIMARY_ONLY_KEY, None)
        else:
            info[_PRIMARY_ONLY_KEY] = previous
