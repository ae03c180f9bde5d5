"""marshmallow schemas for people and pathways: one load schema per write (forms and API alike)."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from marshmallow.experimental.context import Context

from app import access
from app.accounts.models import AgencyKind
from app.followup.models import AlertKind
from app.pathways.models import (
    Beneficiary,
    ClosureReason,
    ConsentMethod,
    ContractKind,
    EmploymentContractType,
    EntryKind,
    NoteType,
    Orientation,
    Pathway,
    Stage,
    Visibility,
)
from app.validation import BaseSchema, id_field

RIGHTS = ("rsa", "ass", "aah", "are", "prime_activite", "css", "apl", "other")
_CAF = re.compile(r"^\d{7}$")
_FT = re.compile(r"^[0-9]{7}[A-Z0-9]$")
_POSTAL = re.compile(r"^\d{5}$")
_PHONE = re.compile(r"^\+?[0-9 .()-]{8,20}$")


def _trimmed(length: int, *, required: bool = False) -> fields.String:
    return fields.String(
        required=required,
        allow_none=not required,
        validate=validate.Length(
            min=1 if required else 0,
            max=length,
            error=f"Entre 1 et {length} caractères." if required else f"{length} caractères au plus.",
        ),
    )


class BeneficiarySchema(BaseSchema):
    LABELS = {
        "last_name": "Nom",
        "first_name": "Prénom",
        "birth_name": "Nom de naissance",
        "birth_date": "Date de naissance",
        "caf_number": "Numéro allocataire CAF",
        "france_travail_id": "Identifiant France Travail",
        "phone": "Téléphone",
        "email": "Adresse électronique",
        "address": "Adresse",
        "postal_code": "Code postal",
        "city": "Commune",
    }
    HINTS = {
        "birth_name": "S'il diffère du nom d'usage.",
        "caf_number": "7 chiffres.",
        "france_travail_id": "7 chiffres suivis d'un chiffre ou d'une lettre.",
        "email": "Format attendu : nom@domaine.fr",
    }

    first_name = _trimmed(80, required=True)
    last_name = _trimmed(80, required=True)
    birth_name = _trimmed(80)
    birth_date = fields.Date(allow_none=True, metadata={"dates": "birth"})  # 1900..today (app.validation)
    email = fields.Email(allow_none=True, validate=validate.Length(max=254, error="254 caractères au plus."))
    phone = fields.String(allow_none=True, validate=validate.Regexp(_PHONE, error="Numéro de téléphone invalide."))
    address = _trimmed(255)
    postal_code = fields.String(allow_none=True, validate=validate.Regexp(_POSTAL, error="Code postal à 5 chiffres."))
    city = _trimmed(120)
    caf_number = fields.String(
        allow_none=True, validate=validate.Regexp(_CAF, error="Le numéro allocataire CAF compte 7 chiffres.")
    )
    france_travail_id = fields.String(
        allow_none=True,
        validate=validate.Regexp(
            _FT, error="L'identifiant France Travail compte 7 chiffres suivis d'un chiffre ou d'une lettre."
        ),
    )
    rights = fields.List(fields.String(validate=validate.OneOf(RIGHTS, error="Droit inconnu.")), load_default=list)


class PersonFormSchema(BeneficiarySchema):
    """« Nouvelle personne » (web): the person, and why it is another one when the duplicate check
    found a likely match (« Créer quand même »)."""

    LABELS = {**BeneficiarySchema.LABELS, "duplicate_reason": "Pourquoi s'agit-il d'une autre personne ?"}
    HINTS = {**BeneficiarySchema.HINTS,
             "duplicate_reason": "Obligatoire pour créer quand même un dossier ; 500 caractères au plus."}

    duplicate_reason = fields.String(
        allow_none=True, validate=validate.Length(max=500, error="500 caractères au plus."),
        metadata={"multiline": True},
    )


class BeneficiaryUpdateSchema(BeneficiarySchema):
    LABELS = {**BeneficiarySchema.LABELS, "rights": "Droits et prestations"}
    HINTS = {**BeneficiarySchema.HINTS}

    first_name = _trimmed(80)
    last_name = _trimmed(80)
    rights = fields.List(fields.String(validate=validate.OneOf(RIGHTS, error="Droit inconnu.")))


class IdentityFormSchema(BeneficiarySchema):
    """« Modifier l'identité et les coordonnées » (web): every field at once, rights as boxes."""

    LABELS = {**BeneficiarySchema.LABELS, "rights": "Droits et prestations"}
    HINTS = {**BeneficiarySchema.HINTS}


RIGHT_LABELS = {
    "rsa": "Revenu de solidarité active (RSA)",
    "ass": "Allocation de solidarité spécifique (ASS)",
    "aah": "Allocation aux adultes handicapés (AAH)",
    "are": "Allocation d'aide au retour à l'emploi (ARE)",
    "prime_activite": "Prime d'activité",
    "css": "Complémentaire santé solidaire (CSS)",
    "apl": "Aide personnalisée au logement (APL)",
    "other": "Autre droit ou prestation",
}


class OrientSchema(BaseSchema):
    LABELS = {
        "orientation": "Orientation",
        "oriented_at": "Date de la décision",
        "note": "Motif (en cas de réorientation)",
    }
    HINTS = {
        "oriented_at": "Heure de Paris.",
        "note": "Une réorientation est inscrite au journal, visible de l'équipe de suivi.",
    }

    orientation = fields.Enum(Orientation, by_value=True, required=True)
    oriented_at = fields.AwareDateTime(allow_none=True)
    note = fields.String(allow_none=True, validate=validate.Length(max=2000), metadata={"multiline": True})


class AssignReferentSchema(BaseSchema):
    LABELS = {
        "user_id": "Nouveau référent",
        "note": "Note de passation",
    }
    HINTS = {
        "note": "Pour le nouveau référent : où en est la personne, ce qui est en cours, les prochaines échéances.",
    }

    user_id = id_field(required=True, strict=False)
    note = fields.String(allow_none=True, validate=validate.Length(max=4000), metadata={"multiline": True})


class TeamMemberSchema(BaseSchema):
    LABELS = {"agency_id": "Structure"}

    agency_id = id_field(required=True)


class JoinRequestSchema(BaseSchema):
    """« Demander à rejoindre l'équipe de suivi »: why the agency follows the person (optional)."""

    LABELS = {"message": "Message"}

    message = fields.String(allow_none=True, validate=validate.Length(max=500, error="500 caractères au plus."),
                            metadata={"multiline": True})


class JoinAnswerSchema(BaseSchema):
    LABELS = {"accept": "Réponse", "comment": "Commentaire"}

    accept = fields.Boolean(required=True)
    comment = fields.String(allow_none=True, validate=validate.Length(max=500, error="500 caractères au plus."),
                            metadata={"multiline": True})


class ConsentSchema(BaseSchema):
    LABELS = {
        "method": "Forme du consentement",
        "given_at": "Date du consentement",
    }
    HINTS = {
        "given_at": "Heure de Paris.",
    }

    method = fields.Enum(ConsentMethod, by_value=True, required=True)
    given_at = fields.AwareDateTime(allow_none=True)


class ContractSchema(BaseSchema):
    LABELS = {
        "kind": "Type de contrat",
        "signed_on": "Date de signature",
        "starts_on": "Début",
        "ends_on": "Fin",
    }

    kind = fields.Enum(ContractKind, by_value=True, required=True)
    signed_on = fields.Date(required=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(allow_none=True, metadata={"description": "Pas avant le début (`starts_on`)."})

    @validates_schema
    def _dates(self, data: dict, **_: object) -> None:
        if data.get("ends_on") and data.get("starts_on") and data["ends_on"] < data["starts_on"]:
            raise ValidationError("La fin du contrat doit suivre son début.", field_name="ends_on")


class EntrySchema(BaseSchema):
    LABELS = {
        "body": "Texte de la note",
        "note_type": "Type de note",
        "visibility": "Qui peut lire cette note ?",
        "occurred_at": "Date des faits",
    }
    HINTS = {
        "occurred_at": "Facultatif ; par défaut, maintenant (heure de Paris).",
    }

    body = fields.String(
        required=True,
        validate=validate.Length(min=1, max=10000, error="Entre 1 et 10 000 caractères."),
        metadata={"multiline": True},
    )
    note_type = fields.Enum(NoteType, by_value=True, allow_none=True, load_default=None)
    visibility = fields.Enum(Visibility, by_value=True, required=True)
    occurred_at = fields.AwareDateTime(allow_none=True)


class EntryEditSchema(BaseSchema):
    """« Corriger la note »: its author corrects the text, the type or who may read it; anyone else
    who may correct it only narrows who may read it. The version seen is sent along (409 if stale)."""

    LABELS = {
        "body": "Texte de la note",
        "note_type": "Type de note",
        "visibility": "Qui peut lire cette note ?",
    }
    HINTS = {
        "visibility": "Seul l'auteur peut ouvrir la note à plus de lecteurs ; la restreindre reste possible.",
    }

    body = fields.String(
        validate=validate.Length(min=1, max=10000, error="Entre 1 et 10 000 caractères."),
        metadata={"multiline": True},
    )
    note_type = fields.Enum(NoteType, by_value=True, allow_none=True)
    visibility = fields.Enum(Visibility, by_value=True)


class EmploymentSchema(BaseSchema):
    LABELS = {
        "started_on": "Date d'embauche",
        "contract_type": "Type de contrat",
        "employer": "Employeur",
        "job_title": "Poste",
        "checkin_time": "Heure des points de suivi dans l'emploi",
    }
    HINTS = {
        "checkin_time": "Heure de Paris, 10:00 par défaut. Un point qui tomberait un week-end ou un jour "
                        "férié est placé le jour ouvré suivant.",
    }

    started_on = fields.Date(required=True)
    contract_type = fields.Enum(EmploymentContractType, by_value=True, required=True)
    employer = fields.String(required=True, validate=validate.Length(min=1, max=160))
    job_title = fields.String(allow_none=True, validate=validate.Length(max=160))
    checkin_time = fields.Time(
        allow_none=True, load_default=None,
        metadata={"pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$", "example": "10:00"},
    )


class CloseSchema(BaseSchema):
    LABELS = {
        "reason": "Motif de clôture",
        "note": "Commentaire",
    }

    reason = fields.Enum(ClosureReason, by_value=True, required=True)
    note = fields.String(allow_none=True, validate=validate.Length(max=4000), metadata={"multiline": True})


# --- API: payloads of its own -------------------------------------------------------------------


class BeneficiaryCreateSchema(BeneficiarySchema):
    """POST /api/v1/beneficiaries: the person, and optionally the referent of the new pathway."""

    referent_id = id_field(allow_none=True)


PATCHABLE_STAGES = (Stage.INTAKE, Stage.DIAGNOSIS, Stage.SUPPORT)  # the others have their own operations


class PathwayPatchSchema(BaseSchema):
    """PATCH /api/v1/pathways/{id}: the orientation decision and/or the stage."""

    orientation = fields.Enum(Orientation, by_value=True)
    oriented_at = fields.AwareDateTime(allow_none=True)
    note = fields.String(allow_none=True, validate=validate.Length(max=2000), metadata={"multiline": True})
    stage = fields.Enum(Stage, by_value=True, metadata={"enum": [s.value for s in PATCHABLE_STAGES]})

    # `_something`, for the OpenAPI document: an orientation, or a stage alone.
    openapi_constraints = {
        "anyOf": [
            {"required": ["orientation"]},
            {"required": ["stage"], "not": {"anyOf": [{"required": ["oriented_at"]}, {"required": ["note"]}]}},
        ]
    }

    @validates_schema
    def _something(self, data: dict, **_: object) -> None:
        if not data.get("orientation") and not data.get("stage"):
            raise ValidationError("Indiquez une orientation ou une étape.", field_name="orientation")
        if ("oriented_at" in data or "note" in data) and not data.get("orientation"):
            raise ValidationError("Indiquez l'orientation décidée.", field_name="orientation")
        if data.get("stage") and data["stage"] not in PATCHABLE_STAGES:
            raise ValidationError(
                "Utilisez « Retour à l'emploi » ou « Clôturer le parcours » pour cette étape.", field_name="stage"
            )


# --- API: dump schemas, one per view of an object (DESIGN §4; templates may read them too) -------
# Access-dependent parts (notes, closure note, team) read `Context` (marshmallow.experimental):
# {"user": the reader}.


def _reader() -> Any:
    return Context.get({}).get("user")


class AgencyRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.Enum(AgencyKind, by_value=True)


class UserRefSchema(Schema):
    id = fields.Integer()
    first_name = fields.String()
    last_name = fields.String()
    agency_id = fields.Integer()


class BeneficiaryOutSchema(Schema):
    id = fields.Integer()
    first_name = fields.String()
    last_name = fields.String()
    birth_name = fields.String(allow_none=True)
    birth_date = fields.Date(allow_none=True, metadata={"dates": "birth"})  # 1900..today (app.validation)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    postal_code = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    caf_number = fields.String(allow_none=True)
    france_travail_id = fields.String(allow_none=True)
    rights = fields.List(fields.String())
    current_pathway_id = fields.Method(
        "_current_pathway_id",
        metadata={"type": "integer", "nullable": True, "description": "The open pathway, if any."},
    )
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()

    def _current_pathway_id(self, person: Beneficiary) -> int | None:
        return next((p.id for p in person.pathways if p.closed_at is None), None)


class BeneficiarySummarySchema(Schema):
    id = fields.Integer()
    first_name = fields.String()
    last_name = fields.String()
    birth_date = fields.Date(allow_none=True)


class ContractOutSchema(Schema):
    id = fields.Integer()
    kind = fields.Enum(ContractKind, by_value=True)
    signed_on = fields.Date()
    starts_on = fields.Date()
    ends_on = fields.Date(allow_none=True)


class ConsentOutSchema(Schema):
    id = fields.Integer()
    given_at = fields.DateTime()
    method = fields.Enum(ConsentMethod, by_value=True)
    withdrawn_at = fields.DateTime(allow_none=True)


class MemberOutSchema(Schema):
    agency = fields.Nested(AgencyRefSchema)
    added_at = fields.DateTime()


ACCESS_LEVELS = ["existence", "shared", "full"]


class PathwayOutSchema(Schema):
    """A pathway as its reader may see it. Readers with EXISTENCE access get only
    `PathwayOutSchema.EXISTENCE_FIELDS` (that it exists, and who the referent is)."""

    EXISTENCE_FIELDS = ("id", "access", "referent", "lead_agency")

    id = fields.Integer()
    access = fields.Method("_access", metadata={"type": "string", "enum": ACCESS_LEVELS})
    beneficiary_id = fields.Integer()
    stage = fields.Enum(Stage, by_value=True)
    orientation = fields.Enum(Orientation, by_value=True, allow_none=True)
    oriented_at = fields.DateTime(allow_none=True)
    started_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    closure_reason = fields.Enum(ClosureReason, by_value=True, allow_none=True)
    closure_note = fields.Method("_closure_note", metadata={"type": "string", "nullable": True})
    employment_started_on = fields.Date(allow_none=True)
    employment_contract_type = fields.Enum(EmploymentContractType, by_value=True, allow_none=True)
    employer = fields.String(allow_none=True)
    job_title = fields.String(allow_none=True)
    referent = fields.Nested(UserRefSchema, allow_none=True)
    lead_agency = fields.Nested(AgencyRefSchema)
    team = fields.Method("_team", metadata={"type": "array", "items": {"type": "object"}})
    consent = fields.Method("_consent", metadata={"type": "object", "nullable": True})
    contracts = fields.Nested(ContractOutSchema, many=True)
    version = fields.Integer()

    def _access(self, pathway: Pathway) -> str:

        return access.record_access(_reader(), pathway).name.lower()

    def _closure_note(self, pathway: Pathway) -> str | None:

        full = access.record_access(_reader(), pathway) == access.RecordAccess.FULL
        return pathway.closure_note if full else None  # a free text: the lead agency's

    def _team(self, pathway: Pathway) -> list[dict]:
        active = [m for m in pathway.members if m.removed_at is None]
        return MemberOutSchema(many=True).dump(sorted(active, key=lambda m: m.added_at))

    def _consent(self, pathway: Pathway) -> dict | None:
        current = next((c for c in pathway.consents if c.withdrawn_at is None), None)
        return ConsentOutSchema().dump(current) if current else None


class CaseloadItemSchema(Schema):
    """A row of the caseload (`app.pathways.queries.caseload`). EXISTENCE rows: `EXISTENCE_FIELDS`."""

    EXISTENCE_FIELDS = ("pathway_id", "access", "referent", "lead_agency")

    pathway_id = fields.Integer(attribute="pathway.id")
    access = fields.Method("_access", metadata={"type": "string", "enum": ACCESS_LEVELS})
    stage = fields.Enum(Stage, by_value=True, attribute="pathway.stage")
    orientation = fields.Enum(Orientation, by_value=True, allow_none=True, attribute="pathway.orientation")
    started_at = fields.DateTime(attribute="pathway.started_at")
    beneficiary = fields.Nested(BeneficiarySummarySchema)
    referent = fields.Nested(UserRefSchema, allow_none=True)
    lead_agency = fields.Nested(AgencyRefSchema)
    last_held_at = fields.DateTime(allow_none=True)
    next_meeting_at = fields.DateTime(allow_none=True)
    open_barriers = fields.Integer()
    alert_count = fields.Integer()
    first_due_at = fields.DateTime(allow_none=True)
    alert_kinds = fields.List(fields.Enum(AlertKind, by_value=True))

    def _access(self, row: Any) -> str:
        return row.access.name.lower()


class EntryOutSchema(Schema):
    id = fields.Integer()
    pathway_id = fields.Integer()
    kind = fields.Enum(EntryKind, by_value=True)
    note_type = fields.Enum(NoteType, by_value=True, allow_none=True)
    edited_at = fields.DateTime(allow_none=True)
    version = fields.Integer()
    visibility = fields.Enum(Visibility, by_value=True)
    body = fields.String()
    occurred_at = fields.DateTime()
    created_at = fields.DateTime()
    author = fields.Nested(UserRefSchema)
    author_agency_id = fields.Integer()


class TimelineItemSchema(Schema):
    kind = fields.String(metadata={"enum": ["entry", "meeting", "barrier", "referent"]})
    at = fields.DateTime()
    title = fields.String()
    body = fields.String(allow_none=True)
    author = fields.String(allow_none=True)
    agency = fields.String(allow_none=True)
    visibility = fields.Enum(Visibility, by_value=True)
    object_id = fields.Integer(allow_none=True)
    details = fields.Dict()
