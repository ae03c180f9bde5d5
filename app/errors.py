"""Domain errors raised by services, and how the web answers them.

Services never see a request; they raise these. Views turn them into a French message next to the
field; the API turns them into problem+json (RFC 9457).
"""
from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule of the domain refused the operation. `message` is French, shown to the user."""

    status = 400
    title = "Opération refusée"

    def __init__(self, message: str, *, field: str | None = None, errors: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.errors = errors or ({field: [message]} if field else {})


class ValidationError(DomainError):
    """Invalid input; `errors` maps each field to its reasons."""

    status = 422
    title = "Données invalides"


class NotFound(DomainError):
    """Absent, or not visible to this user: the two are never told apart (DESIGN §3.2)."""

    status = 404
    title = "Introuvable"

    def __init__(self, message: str = "Ce dossier est introuvable.", **kwargs: Any):
        super().__init__(message, **kwargs)


class Forbidden(DomainError):
    """The user may see the object but not do this to it."""

    status = 403
    title = "Action non autorisée"


class Conflict(DomainError):
    """The change clashes with the current state: a second open pathway, a stale version…"""

    status = 409
    title = "Conflit"


class StaleVersion(Conflict):
    def __init__(self, message: str | None = None, **kwargs: Any):
        super().__init__(
            message
            or "Ces informations ont été modifiées par quelqu'un d'autre pendant votre saisie. "
            "Rechargez la page pour voir la dernière version, puis refaites votre modification.",
            **kwargs,
        )
