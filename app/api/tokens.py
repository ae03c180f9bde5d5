"""POST /api/v1/tokens (log in, get a Bearer token) and DELETE /api/v1/tokens/current (log out)."""

from __future__ import annotations

from flask import Response, g

from app.accounts.schemas import TokenOutSchema, TokenRequestSchema
from app.accounts.services import authenticate
from app.accounts.tokens import issue_token, revoke_token
from app.api.core import json_body, no_content, operation, respond, unauthorized
from app.db_types import utcnow
from app.extensions import login_limit


@operation(
    "POST",
    "/tokens",
    summary="Obtenir un jeton d'accès",
    tag="Authentification",
    body=TokenRequestSchema,
    response=TokenOutSchema,
    status=201,
    public=True,
    errors=(403, 429),  # 403: password login is not allowed on the account's territory
)
@login_limit
def create_token() -> Response:
    """Exchange a professional's email and password for a Bearer token (expiring; rate-limited).

    Rate-limited per client address (shared with the web login) and per account: after too many
    failed passwords for one e-mail address, that address is refused for a while (429, whatever
    the password), on the web login and here alike."""
    data = json_body(TokenRequestSchema())
    user = authenticate(data["email"], data["password"], now=utcnow())
    if user is None:
        raise unauthorized("invalid_grant")
    issued = issue_token(user)
    return respond(
        TokenOutSchema(), {"token": issued.token, "expires_at": issued.record.expires_at}, status=201
    )


@operation(
    "DELETE", "/tokens/current", summary="Révoquer le jeton utilisé", tag="Authentification", status=204
)
def revoke_current_token() -> Response:
    revoke_token(g.api_token)
    return no_content()
