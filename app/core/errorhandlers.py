"""Error pages in French (DSFR), problem+json (RFC 9457) under /api/, and security headers
(CSP, HSTS in production, no Server header, no caching of anything but public assets).

Services raise `app.errors.DomainError`s; a view that does not handle one itself ends here, with
the error's status and French message. Unexpected exceptions roll the session back and answer a
500 that reveals nothing.
"""
from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.core import observability
from app.core.observability import request_id
from app.errors import DomainError
from app.extensions import db

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
CSRF_MESSAGE = "Le formulaire a expiré ou n'est pas valide, veuillez le renvoyer."

# status → (title, message), in French, for people.
MESSAGES: dict[int, tuple[str, str]] = {
    400: (
        "Requête invalide",
        "La demande n'a pas pu être traitée. Vérifiez les informations envoyées puis réessayez.",
    ),
    401: ("Authentification requise", "Vous devez être connecté·e pour accéder à cette ressource."),
    403: ("Accès refusé", "Vous n'avez pas les droits nécessaires pour accéder à cette page."),
    404: (
        "Page introuvable",
        "La page que vous cherchez est introuvable. Vérifiez l'adresse saisie ou revenez à l'accueil.",
    ),
    405: ("Méthode non autorisée", "Cette action n'est pas possible à cette adresse."),
    409: ("Conflit", "Cette opération entre en conflit avec l'état actuel des données."),
    413: ("Contenu trop volumineux", "Le contenu envoyé est trop volumineux."),
    422: ("Données invalides", "Certaines informations envoyées ne sont pas valides."),
    429: (
        "Trop de requêtes",
        "Vous avez effectué trop de tentatives. Patientez quelques minutes avant de réessayer.",
    ),
    503: (
        "Service momentanément indisponible",
        "La base de données ne répond pas ou refuse les écritures pour le moment : rien n'a été "
        "enregistré. Réessayez dans quelques minutes ; ce que vous aviez saisi est à saisir de nouveau.",
    ),
    500: (
        "Erreur inattendue",
        "Désolé, le service rencontre un problème. Réessayez dans quelques instants ; "
        "si le problème persiste, contactez l'administrateur de votre territoire.",
    ),
}

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "font-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def wants_problem_json() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def messages_for(status: int) -> tuple[str, str]:
    return MESSAGES.get(status, MESSAGES[500] if status >= 500 else MESSAGES[400])


def problem_response(
    status: int, title: str, detail: str, errors: dict[str, Any] | None = None
) -> Response:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    reference = request_id()
    if reference:
        body["request_id"] = reference  # an extension member (RFC 9457 §3.2): what to quote to support
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    return response


def error_response(
    status: int,
    title: str,
    detail: str,
    errors: dict[str, Any] | None = None,
    headers: list[tuple[str, str]] | None = None,
) -> Response:
    if wants_problem_json():
        response = problem_response(status, title, detail, errors)
    else:
        html = render_template(
            "errors/error.html", status=status, title=title, detail=detail, reference=request_id()
        )
        response = Response(html, status=status, mimetype="text/html")
    for name, value in headers or []:
        if name.lower() != "content-type":  # keep Allow (405), Retry-After (429)…
            response.headers[name] = value
    return response


def handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    if status >= 500:
        return handle_server_error(error)
    title, detail = messages_for(status)
    return error_response(status, title, detail, headers=error.get_headers())


def handle_csrf_error(error: CSRFError) -> Response:
    return error_response(400, "Formulaire expiré", CSRF_MESSAGE)


def handle_domain_error(error: DomainError) -> Response:
    db.session.rollback()  # a refused operation leaves nothing half-written
    retry_after = getattr(error, "retry_after", None)
    headers = [("Retry-After", str(int(retry_after)))] if retry_after else None
    return error_response(error.status, error.title, error.message, errors=error.errors or None, headers=headers)


def handle_server_error(error: Exception) -> Response:
    original = getattr(error, "original_exception", None) or error
    if not isinstance(original, HTTPException):
        log.error("Unhandled exception on %s %s", request.method, request.path, exc_info=original)
    try:
        db.session.rollback()
    except Exception:  # the database may be what failed; the page must still answer
        log.exception("rollback failed while handling an error")
    status = error.code if isinstance(error, HTTPException) and error.code else 500
    title, detail = messages_for(status)
    try:
        return error_response(status, title, detail)
    except Exception:  # rendering the page itself failed: answer plain text, never a traceback
        log.exception("error page rendering failed")
        return Response(f"{title}. {detail}", status=status, mimetype="text/plain")


# SQLSTATEs of a database that cannot take the write now, though the request was right: read-only
# (a replica promoted late, a maintenance switch), out of disk or memory, too many connections,
# shutting down. psycopg2 raises some as InternalError, the rest as OperationalError.
_UNAVAILABLE_SQLSTATES = {"25006", "53000", "53100", "53200", "53300", "57P01", "57P02", "57P03"}


def _database_unavailable(error: Exception) -> bool:
    if isinstance(error, sa.exc.OperationalError):
        return True  # connection refused or lost, disk full or read-only on SQLite…
    return getattr(getattr(error, "orig", None), "pgcode", None) in _UNAVAILABLE_SQLSTATES


def handle_database_error(error: sa.exc.DBAPIError) -> Response:
    """A database that cannot answer or take a write: a 503 that says nothing was saved (the
    transaction is rolled back: nothing is half-written), with Retry-After; any other database
    error is a fault (500)."""
    if not _database_unavailable(error):
        return handle_server_error(error)
    log.error("database unavailable on %s %s: %s", request.method, request.url_rule.rule if request.url_rule
              else "<non trouvée>", observability.describe_database_error(error))
    try:
        db.session.rollback()
    except Exception:  # the connection itself is gone
        log.warning("rollback failed: the database connection is gone")
    title, detail = messages_for(503)
    try:
        return error_response(503, title, detail, headers=[("Retry-After", "30")])
    except Exception:  # rendering needed the database (the current user…): plain text, still a 503
        return Response(f"{title}. {detail}", status=503, mimetype="text/plain", headers={"Retry-After": "30"})


def content_security_policy() -> str:
    """The policy, with the origins a form may also reach through a redirect (ProConnect's)."""
    extra = [origin for origin in current_app.config.get("CSP_FORM_ACTION_ORIGINS") or () if origin]
    if not extra:
        return CONTENT_SECURITY_POLICY
    return CONTENT_SECURITY_POLICY.replace("form-action 'self'", "form-action 'self' " + " ".join(extra))


def add_security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", content_security_policy())
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    hsts_seconds = int(current_app.config.get("HSTS_SECONDS") or 0)
    if hsts_seconds > 0:
        response.headers.setdefault("Strict-Transport-Security", f"max-age={hsts_seconds}; includeSubDomains")
    # No software name or version: the WSGI server (gunicorn: "gunicorn", no version) and the
    # reverse proxy add their own Server header; the application never sends one.
    response.headers.pop("Server", None)
    _forbid_caching(response)
    return response


def _forbid_caching(response: Response) -> None:
    """Nothing personal stays in a browser's or a proxy's cache: every answer to an authenticated
    request (session or Bearer token), every API answer (tokens included) and every page is
    `no-store`. Only responses that declared themselves public (the versioned static assets)
    keep their caching."""
    if response.cache_control.public or request.endpoint == "static":  # the same for everyone
        return
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(InternalServerError, handle_server_error)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(sa.exc.DBAPIError, handle_database_error)
    app.after_request(add_security_headers)
