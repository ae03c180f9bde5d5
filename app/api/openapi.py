"""The OpenAPI 3 document, built with apispec from the declared operations and their marshmallow
schemas. Every status code a route may answer is listed (problem+json for 4xx), so the document can
be fuzzed (tests/api/test_schemathesis.py)."""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields

from app.api.core import MAX_ID, OPERATIONS, Operation

PROBLEM_JSON = "application/problem+json"

ERROR_DESCRIPTIONS = {
    400: "Corps de requête mal formé (pas du JSON, ou pas un objet).",
    401: "Jeton absent, invalide, expiré ou révoqué.",
    403: "Action non autorisée sur un objet visible.",
    404: "Introuvable, ou invisible pour l'appelant (jamais distingués).",
    409: "Conflit avec l'état actuel (version périmée — If-Match —, parcours déjà ouvert…).",
    422: "Données invalides : `errors` nomme chaque champ ou paramètre et la raison.",
    428: "En-tête If-Match absent.",
    429: "Trop de tentatives.",
}


class ProblemSchema(Schema):
    """RFC 9457 problem details, in French."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict(metadata={"description": "Champ ou paramètre → raisons."})


def _error_codes(op: Operation) -> list[int]:
    codes = set(op.errors) | {401}
    if op.path.count("{"):
        codes.add(404)
    if op.query is not None or op.body is not None:
        codes.add(422)
    if op.body is not None:
        codes |= {400, 409}
    if op.if_match:
        codes.add(409)
    if op.if_match == "required":
        codes.add(428)
    if op.method in ("post", "patch", "delete"):
        codes |= {403, 409}
    return sorted(codes)


def _parameters(op: Operation) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    for name in _path_names(op.path):
        params.append(
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
            }
        )
    if op.query is not None:
        params.append({"in": "query", "schema": op.query})
    if op.if_match:
        params.append(
            {
                "name": "If-Match",
                "in": "header",
                "required": op.if_match == "required",
                "description": 'La version lue en dernier (ETag), par exemple "3".',
                "schema": {"type": "string"},
            }
        )
    return params


def _path_names(path: str) -> list[str]:
    import re

    return re.findall(r"\{(\w+)\}", path)


def _success(op: Operation) -> dict[str, Any]:
    if op.status == 204:
        return {"description": "Fait."}
    if op.paginated:
        schema: Any = {
            "type": "object",
            "required": ["items", "total", "page", "per_page"],
            "properties": {
                "items": {"type": "array", "items": op.response},
                "total": {"type": "integer"},
                "page": {"type": "integer"},
                "per_page": {"type": "integer"},
            },
        }
    else:
        schema = op.response
    response: dict[str, Any] = {"description": "Succès.", "content": {"application/json": {"schema": schema}}}
    headers: dict[str, Any] = {}
    if op.paginated:
        headers["Link"] = {"description": "RFC 8288: first, last, prev, next.", "schema": {"type": "string"}}
    if op.etag:
        headers["ETag"] = {
            "description": "La version de l'objet, à renvoyer dans If-Match.",
            "schema": {"type": "string"},
        }
    if op.location:
        headers["Location"] = {"description": "L'adresse de l'objet créé.", "schema": {"type": "string"}}
    if headers:
        response["headers"] = headers
    return response


def _request_body(op: Operation) -> dict[str, Any]:
    if isinstance(op.body, list):
        schema: Any = {"oneOf": list(op.body)}
    else:
        schema = op.body
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def build_spec(*, server_url: str = "/api/v1") -> dict[str, Any]:
    spec = APISpec(
        title="Parcours — API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={
            "description": "Le dossier partagé du parcours d'insertion. Authentification : "
            "`POST /tokens`, puis `Authorization: Bearer <jeton>`. Erreurs : "
            "application/problem+json (RFC 9457), messages en français."
        },
        servers=[{"url": server_url}],
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Problem", schema=ProblemSchema)
    problem_ref = {"$ref": "#/components/schemas/Problem"}

    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        responses: dict[str, Any] = {str(op.status): _success(op)}
        for code in _error_codes(op):
            response: dict[str, Any] = {
                "description": ERROR_DESCRIPTIONS[code],
                "content": {PROBLEM_JSON: {"schema": problem_ref}},
            }
            if code == 401:
                response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}, "required": True}}
            responses[str(code)] = response
        operation: dict[str, Any] = {
            "operationId": op.endpoint,
            "summary": op.summary,
            "description": op.description,
            "tags": [op.tag],
            "parameters": _parameters(op),
            "responses": responses,
        }
        if op.body is not None:
            operation["requestBody"] = _request_body(op)
        if op.public:
            operation["security"] = []
        paths.setdefault(op.path, {})[op.method] = operation

    for path in sorted(paths):
        spec.path(path=path, operations=paths[path])
    document = spec.to_dict()
    document["security"] = [{"bearer": []}]
    return document
