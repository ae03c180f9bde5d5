"""One transaction per service call, and database constraint violations as domain errors.

`unit_of_work()` nests (a SAVEPOINT inside, a commit only at the top): no other `commit()` in `app/`.
The PostgreSQL advisory locks of the scheduler jobs live here too, shared by every job.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app.core import replica
from app.errors import Conflict, DomainError, StaleVersion
from app.extensions import db

# Depth of nested units of work, kept in the session's `info` (one session per thread / app context).
_DEPTH_KEY = "parcours.unit_of_work_depth"

# Constraint → French message. PostgreSQL names the constraint; SQLite names the columns.
_CONSTRAINT_MESSAGES: list[tuple[tuple[str, ...], str]] = [
    (
        ("uq_pathway_one_open_per_beneficiary", "pathway.beneficiary_id"),
        "Cette personne a déjà un parcours ouvert : clôturez-le avant d'en ouvrir un autre.",
    ),
    (
        ("uq_referent_assignment_one_current", "referent_assignment.pathway_id"),
        "Ce parcours a déjà un référent : passez par le changement de référent.",
    ),
    (
        ("uq_pathway_member_active", "pathway_member.pathway_id, pathway_member.agency_id"),
        "Cette structure fait déjà partie de l'équipe de suivi.",
    ),
    (("uq_consent_one_active", "consent.pathway_id"), "Un consentement est déjà enregistré pour ce parcours."),
    (
        ("uq_referral_one_pending_per_barrier", "referral.barrier_id"),
        "Ce frein a déjà une orientation en cours vers un partenaire.",
    ),
    (("user_account_email", "user_account.email"), "Un compte existe déjà avec cette adresse électronique."),
    (
        ("uq_team_join_request_one_pending", "team_join_request.pathway_id"),
        "Votre structure a déjà demandé à rejoindre cette équipe : la réponse est attendue.",
    ),
    (
        ("fk_pathway_referent_agency",),
        "Le référent doit appartenir à la structure qui porte le parcours.",
    ),
]


def integrity_error_to_domain(exc: IntegrityError) -> DomainError:
    text = str(exc.orig)
    for needles, message in _CONSTRAINT_MESSAGES:
        if any(needle in text for needle in needles):
            return Conflict(message)
    return Conflict("Cette modification contredit l'état actuel des données ; rien n'a été enregistré.")


@contextmanager
def unit_of_work() -> Iterator[Any]:
    """One unit of work that nests (STYLE 13): the outermost commits, an inner one is a SAVEPOINT.

    - Outermost: commit on success; on any failure roll back everything and raise.
    - Inside another unit of work: a SAVEPOINT, released on success (the outermost commits);
      on failure only this block is rolled back, and the error propagates (a caller that catches
      it keeps the rest of its work).
    Database refusals become domain errors at every level: IntegrityError → `Conflict`,
    StaleDataError → `StaleVersion`. The test suite's per-test outer transaction works too: there
    the session's own "commit" releases a SAVEPOINT of the test's transaction.
    """
    session = db.session
    info = session.info
    depth = info.get(_DEPTH_KEY, 0)
    info[_DEPTH_KEY] = depth + 1
    try:
        if depth:
            with _as_domain_errors(), session.begin_nested():
                yield session
        else:
            try:
                with _as_domain_errors():
                    yield session
                    session.commit()
                replica.after_primary_commit()
            except BaseException:
                session.rollback()
                raise
    finally:
        info[_DEPTH_KEY] = depth


@contextmanager
def _as_domain_errors() -> Iterator[None]:
    try:
        yield
    except IntegrityError as exc:
        raise integrity_error_to_domain(exc) from exc
    except StaleDataError as exc:
        raise StaleVersion() from exc


def in_unit_of_work() -> bool:
    """Whether the current session is inside `unit_of_work()` (at any depth)."""
    return bool(db.session.info.get(_DEPTH_KEY, 0))


def check_version(obj: Any, expected_version: int | None) -> None:
    """Refuse a write based on an outdated view of `obj` (optimistic concurrency, DESIGN §3.8)."""
    if expected_version is not None and obj.version != expected_version:
        raise StaleVersion()


# --- PostgreSQL advisory locks of the scheduler jobs (DESIGN §4: several scheduler processes may run) ---
# Keys: "PARC" in ASCII for the scan (its historical key), then one per job.
SCAN_LOCK_KEY = 0x50415243
DIGEST_LOCK_KEY = 0x50415244
RETENTION_LOCK_KEY = 0x50415245
NOTIFICATIONS_LOCK_KEY = 0x50415246


def try_advisory_xact_lock(session: Any, key: int) -> bool:
    """Try the advisory lock `key` for the session's current transaction (released at its end).

    For a job that is one transaction (the scan). SQLite: always True (a single-process
    development database).
    """
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(session.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(key))))


@contextmanager
def advisory_lock(key: int) -> Iterator[bool]:
    """Hold the advisory lock `key` for a block that commits several times (yields whether it got it).

    For a job that commits step by step (the digest: one commit per mail). A transaction-scoped
    lock, taken in a transaction of its own on a connection of its own, kept open (idle: it holds
    no snapshot under READ COMMITTED) for the whole block, so that the session's commits cannot
    release it; released when that transaction ends at the end of the block, or by PostgreSQL when
    the process dies (its connection closes). Transaction-scoped rather than session-level, so that
    it works behind PgBouncer in transaction pooling (docs/OPERATIONS.md): a session-level lock
    could be taken on one server connection and "released" on another. SQLite: always True.
    """
    engine = db.engine
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as conn, conn.begin():
        yield bool(conn.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(key))))
