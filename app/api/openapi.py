"""The OpenAPI 3 document, built with apispec from the declared operations and their marshmallow
schemas. Every status code a route may answer is listed (problem+json for 4xx), so the document can
be fuzzed (tests/api/test_schemathesis.py)."""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields, validate

from app.api.core import MAX_ID, OPERATIONS, Operation
from app.validation import BaseSchema, date_bounds

PROBLEM_JSON = "application/problem+json"

ERROR_DESCRIPTIONS = {
    400: "Corps de requête mal formé (pas du JSON, ou pas un objet).",
    401: "Jeton absent, invalide, expiré ou révoqué.",
    403: "Action non autorisée sur un objet visible.",
    404: "Introuvable, ou invisible pour l'appelant (jamais distingués) ; aussi tout identifiant "
    "de chemin qui ne peut pas exister (0, au-delà de 2147483647).",
    409: "Conflit avec l'état actuel (version périmée — If-Match —, parcours déjà ouvert…).",
    413: "Corps de requête trop volumineux.",
    415: "Corps de requête d'un autre type que application/json.",
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
    request_id = fields.String(
        metadata={"description": "Référence de la requête (en-tête X-Request-Id), à citer à l'assistance."}
    )


def _error_codes(op: Operation) -> list[int]:
    codes = set(op.errors) | {401}
    if op.path.count("{"):
        codes.add(404)
    if op.query is not None or op.body is not None:
        codes.add(422)
    if op.body is not None:
        codes |= {400, 409, 413, 415}
    if op.if_match:
        codes.add(409)
    if op.if_match == "required":
        codes.add(428)
    if op.method in ("post", "patch", "delete") and not op.public:
        codes |= {403, 409, 422}  # services refuse with a domain error, some naming a field
    return sorted(codes)


# --- what `app.validation.BaseSchema` checks beyond the fields' own validators -----------------
# (so that the document says exactly what is accepted, and a generated client agrees)

_CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"  # tab, LF, CR stay allowed in multi-line text
_SINGLE_LINE = r"\x00-\x1f\x7f-\x9f"


def text_pattern(*, multiline: bool, blank: bool) -> str:
    """No control character (tab and line breaks allowed in multi-line text); unless `blank`, at
    least one visible character (text is trimmed, and a blank value is no value)."""
    allowed = f"[^{_CONTROL if multiline else _SINGLE_LINE}]"
    visible = rf"[^\s{_CONTROL if multiline else _SINGLE_LINE}]"
    return f"^{allowed}*$" if blank else f"^{allowed}*{visible}{allowed}*$"


def _years(first: int, last: int) -> str:
    """A regular expression matching the years `first`..`last` (4 digits)."""
    parts: list[str] = []
    year = first
    while year <= last:
        if year % 10 == 0 and year + 9 <= last:
            parts.append(rf"{year // 10}\d")
            year += 10
        else:
            parts.append(str(year))
            year += 1
    return "(?:" + "|".join(parts) + ")"


def _bounded_field(field: fields.Field) -> bool:
    schema = field.parent
    while isinstance(schema, fields.Field):  # the items of a List
        schema = schema.parent
    return isinstance(schema, BaseSchema)


def base_schema_constraints(self: Any, field: fields.Field, ret: dict[str, Any], **_: Any) -> dict[str, Any]:
    """apispec attribute function: the text and date rules of `BaseSchema` (load schemas only)."""
    if not _bounded_field(field):
        return {}
    extra: dict[str, Any] = {}
    if "enum" in field.metadata:  # a field narrower than its Enum type (PathwayPatchSchema.stage)
        extra["enum"] = field.metadata["enum"]
    if isinstance(field, (fields.Date, fields.DateTime)):
        kind = field.metadata.get("dates", "event")
        earliest, latest = date_bounds(kind)
        extra["pattern"] = f"^{_years(earliest.year, latest.year)}-"
        rule = f"du {earliest:%d/%m/%Y} au {latest:%d/%m/%Y}"
        if kind == "birth":
            rule = f"du {earliest:%d/%m/%Y} à aujourd'hui (jamais dans le futur)"
        extra["description"] = " ".join(filter(None, [ret.get("description"), f"Date {rule}."]))
    elif isinstance(field, fields.String) and not isinstance(field, fields.Email):
        if not any(isinstance(v, (validate.Regexp, validate.OneOf)) for v in field.validators):
            extra["pattern"] = text_pattern(multiline=bool(field.metadata.get("multiline")), blank=field.allow_none)
    return extra


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


def _body_schemas() -> list[type[Schema]]:
    found: list[type[Schema]] = []
    for op in OPERATIONS:
        for schema_cls in op.body if isinstance(op.body, list) else [op.body]:
            if schema_cls is not None and schema_cls not in found:
                found.append(schema_cls)
    return found


def _schema_name(schema_cls: type[Schema]) -> str:
    name = schema_cls.__name__
    return name[: -len("Schema")] if name.endswith("Schema") else name


def _path_names(path: str) -> list[str]:
    import re

    return re.findall(r"\{(\w+)\}", path)


def _success(op: Operation) -> dict[str, Any]:
    if op.status == 204:
        return {"description": "Fait."}
    if op.paginated:
        schema: Any = {
            "type": "object",
            "required": ["items", "total", "total_is_exact", "page", "per_page"],
            "properties": {
                "items": {"type": "array", "items": op.response},
                "total": {
                    "type": "integer",
                    "description": "Nombre d'éléments, compté jusqu'à un plafond (500 pour les listes de "
                    "personnes) : au-delà, `total_is_exact` est faux.",
                },
                "total_is_exact": {
                    "type": "boolean",
                    "description": "Faux quand le décompte s'est arrêté à `total` : la liste en contient davantage.",
                },
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
    marshmallow_plugin = MarshmallowPlugin()
    spec = APISpec(
        title="Parcours — API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[marshmallow_plugin],
        info={
            "description": "Le dossier partagé du parcours d'insertion. Authentification : "
            "`POST /tokens`, puis `Authorization: Bearer <jeton>`. Erreurs : "
            "application/problem+json (RFC 9457), messages en français."
        },
        servers=[{"url": server_url}],
    )
    marshmallow_plugin.converter.add_attribute_function(base_schema_constraints)
    # Rules across fields (`validates_schema`), declared next to them as `openapi_constraints`.
    for schema_cls in _body_schemas():
        constraints = getattr(schema_cls, "openapi_constraints", None)
        if constraints:
            spec.components.schema(_schema_name(schema_cls), constraints, schema=schema_cls)
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
