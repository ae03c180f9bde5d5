"""One transaction per service call, and database constraint violations as domain errors."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app.errors import Conflict, DomainError, StaleVersion
from app.extensions import db

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
    """Commit on success; on any failure roll back everything and raise a domain error."""
    session = db.session
    try:
        yield session
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise integrity_error_to_domain(exc) from exc
    except StaleDataError as exc:
        session.rollback()
        raise StaleVersion() from exc
    except BaseException:
        session.rollback()
        raise


def check_version(obj: Any, expected_version: int | None) -> None:
    """Refuse a write based on an outdated view of `obj` (optimistic concurrency, DESIGN §3.8)."""
    if expected_version is not None and obj.version != expected_version:
        raise StaleVersion()
