"""The API's plumbing: the blueprint, declared operations, Bearer authentication, request parsing,
ETag / If-Match, pagination with RFC 8288 `Link` headers.

Routes stay thin: parse (`json_body`, `query_args`, `if_match`), call one service, answer
(`respond`, `respond_page`). Errors are raised as `app.errors.DomainError`s (or werkzeug HTTP
errors) and answered as problem+json by `app.core.errorhandlers`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, g, jsonify, request
from marshmallow import Schema
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

from app.accounts.models import User
from app.accounts.tokens import resolve_token
from app.core.pages import Page
from app.errors import DomainError, StaleVersion, ValidationError
from app.validation import (
    BAD_TEXT,
    MAX_ID,
    MAX_PER_PAGE,
    BaseSchema,
    PageQuerySchema,
    bad_text,
    id_field,
    load,
)

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# `app.core.converters.IdConverter`: digits; 0 and ids beyond MAX_ID answer 404 (never 405).
ID_CONVERTER = "id"
__all__ = ["MAX_ID", "MAX_PER_PAGE", "PageQuerySchema", "id_field"]


class MalformedRequestError(DomainError):
    status = 400
    title = "Requête invalide"


class UnsupportedMediaTypeError(DomainError):
    status = 415
    title = "Type de contenu non pris en charge"


class PreconditionRequiredError(DomainError):
    status = 428
    title = "Précondition requise"

    def __init__(self) -> None:
        super().__init__(
            "Ajoutez l'en-tête If-Match avec la version (ETag) de l'objet lue en dernier, "
            "pour ne pas écraser la modification de quelqu'un d'autre."
        )


# --- declared operations (the source of the OpenAPI document) -----------------------------------


@dataclass
class Operation:
    method: str
    path: str  # OpenAPI style, under /api/v1: "/pathways/{pathway_id}"
    endpoint: str
    summary: str
    tag: str
    body: Any = None  # a Schema class, or a list of Schema classes (oneOf)
    query: type[Schema] | None = None
    response: type[Schema] | None = None
    paginated: bool = False
    status: int = 200
    errors: tuple[int, ...] = ()
    etag: bool = False
    if_match: str = ""  # "required", "optional" or ""
    location: bool = False
    public: bool = False
    description: str = ""
    extra_responses: dict[int, dict[str, Any]] = field(default_factory=dict)


OPERATIONS: list[Operation] = []
_PATH_PARAM = re.compile(r"\{(\w+)\}")


def operation(
    method: str,
    path: str,
    *,
    summary: str,
    tag: str,
    body: Any = None,
    query: type[Schema] | None = None,
    response: type[Schema] | None = None,
    paginated: bool = False,
    status: int = 200,
    errors: Sequence[int] = (),
    etag: bool = False,
    if_match: str = "",
    location: bool = False,
    public: bool = False,
    description: str = "",
) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Declare an API route: registered on the blueprint and described in the OpenAPI document."""

    def decorator(fn: Callable[..., Response]) -> Callable[..., Response]:
        @wraps(fn)
        def view(**kwargs: Any) -> Response:
            if not public:
                g.api_user = authenticated_user()
            return fn(**kwargs)

        rule = _PATH_PARAM.sub(lambda m: f"<{ID_CONVERTER}:{m.group(1)}>", path)
        bp.add_url_rule(rule, endpoint=fn.__name__, view_func=view, methods=[method])
        OPERATIONS.append(
            Operation(
                method=method.lower(),
                path=path,
                endpoint=fn.__name__,
                summary=summary,
                tag=tag,
                body=body,
                query=query,
                response=response,
                paginated=paginated,
                status=status,
                errors=tuple(errors),
                etag=etag,
                if_match=if_match,
                location=location,
                public=public,
                description=description or (fn.__doc__ or "").strip(),
            )
        )
        return view

    return decorator


# --- authentication --------------------------------------------------------------------------------


def unauthorized(error: str | None = None) -> Unauthorized:
    params = {"realm": "parcours"}
    if error:
        params["error"] = error
    return Unauthorized(www_authenticate=WWWAuthenticate("Bearer", params))


def bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def authenticated_user() -> User:
    """The user of the request's Bearer token. The session cookie is never accepted here."""

    token = bearer_token()
    if token is None:
        raise unauthorized()
    resolved = resolve_token(token)
    if resolved is None:
        raise unauthorized("invalid_token")
    g.api_token = resolved
    return resolved.user


def current_user() -> User:
    return g.api_user


# --- request parsing ---------------------------------------------------------------------------------


def _check_text(data: dict[str, Any]) -> None:
    """Control characters, for the schemas outside `BaseSchema` (which checks its own fields):
    the token request of `app.accounts.schemas`. Refused before anything reaches the database."""
    errors: dict[str, list[str]] = {}

    def walk(value: Any) -> bool:
        if isinstance(value, str):
            return bad_text(value, multiline=True)
        if isinstance(value, dict):
            return any(walk(k) or walk(v) for k, v in value.items())
        if isinstance(value, list):
            return any(walk(v) for v in value)
        return False

    for key, value in data.items():
        if walk(key) or walk(value):
            errors[key if not bad_text(key) else "_schema"] = [BAD_TEXT]
    if errors:
        raise ValidationError("Certains champs contiennent des caractères non autorisés.", errors=errors)


def json_object() -> dict[str, Any]:
    """The request body as a JSON object: 415 if not sent as JSON, 400 if not a JSON object."""
    raw = request.get_data(cache=True)
    if raw and not request.is_json:
        raise UnsupportedMediaTypeError("Envoyez le corps de la requête en JSON (Content-Type: application/json).")
    try:
        data = json.loads(raw) if raw else None
    except (ValueError, RecursionError):
        raise MalformedRequestError("Le corps de la requête doit être un document JSON valide.") from None
    if not isinstance(data, dict):
        raise MalformedRequestError("Le corps de la requête doit être un objet JSON.")
    return data


def json_body(schema: Schema) -> dict[str, Any]:
    """The request body validated by `schema`: 400 if not a JSON object, 422 naming each field."""
    data = json_object()
    if not isinstance(schema, BaseSchema):
        _check_text(data)
    return load(schema, data)


def query_args(schema: Schema) -> dict[str, Any]:
    """The query string validated by `schema`: 422 naming each bad parameter."""
    data = request.args.to_dict(flat=True)
    if not isinstance(schema, BaseSchema):
        _check_text(data)
    return load(schema, data)


_IF_MATCH = re.compile(r'^(?:W/)?"?([0-9]{1,9})"?$')


def if_match(*, required: bool = True) -> int | None:
    """The version the client last read (If-Match), for `expected_version`; 428 when missing."""
    header = (request.headers.get("If-Match") or "").strip()
    if not header:
        if required:
            raise PreconditionRequiredError()
        return None
    match = _IF_MATCH.match(header)
    if match is None:
        raise StaleVersion()  # cannot be the current version
    return int(match.group(1))


# --- answers -------------------------------------------------------------------------------------------


def etag_of(version: int) -> str:
    return f'"{version}"'


def respond(
    schema: Schema,
    obj: Any,
    *,
    status: int = 200,
    version: int | None = None,
    location: str | None = None,
) -> Response:
    response = jsonify(schema.dump(obj))
    response.status_code = status
    if version is not None:
        response.headers["ETag"] = etag_of(version)
    if location:
        response.headers["Location"] = location
    return response


def no_content() -> Response:
    return Response(status=204)


def _link_header(total: int, page: int, per_page: int) -> str:
    last = max(1, -(-total // per_page))
    args = request.args.to_dict(flat=True)

    def url(number: int) -> str:
        return request.base_url + "?" + urlencode({**args, "page": number, "per_page": per_page})

    links = [(url(1), "first"), (url(last), "last")]
    if page > 1:
        links.append((url(min(page - 1, last)), "prev"))
    if page < last:
        links.append((url(page + 1), "next"))
    return ", ".join(f'<{target}>; rel="{rel}"' for target, rel in links)


def respond_page(page: Page, items: Iterable[dict[str, Any]]) -> Response:
    """A page of already dumped items: {items, total, total_is_exact, page, per_page} and RFC 8288 links.

    `total_is_exact` is false when the count stopped at a cap (the list holds more than `total`)."""
    response = jsonify({"items": list(items), "total": page.total, "total_is_exact": not page.more,
                        "page": page.page, "per_page": page.per_page})
    response.headers["Link"] = _link_header(page.total, page.page, page.per_page)
    return response


