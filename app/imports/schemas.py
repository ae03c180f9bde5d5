"""marshmallow schemas of the import: one row of the file (identity), the upload form, a mapping."""
from __future__ import annotations

from marshmallow import fields, validate

from app.imports.mapping import FIELD_NAMES, LABELS
from app.pathways.schemas import BeneficiarySchema
from app.validation import BaseSchema


class ImportRowSchema(BeneficiarySchema):
    """The identity part of a row, checked exactly as the « Nouvelle personne » form checks it."""

    LABELS = {**BeneficiarySchema.LABELS}
    birth_date = fields.Date(required=True, metadata={"dates": "birth"})


class UploadFormSchema(BaseSchema):
    """« Importer des personnes »: the preset or saved mapping (the file comes as an upload)."""

    LABELS = {"preset": "Format du fichier", "file": "Fichier"}
    HINTS = {"file": "CSV (séparateur ; ou ,), XLSX ou ODS ; la première ligne porte les noms des colonnes."}

    preset = fields.String(required=True, validate=validate.Length(min=1, max=80))


class MappingFormSchema(BaseSchema):
    """« Nouvelle correspondance »: a name, and the file's column for each field."""

    LABELS = {"name": "Nom de la correspondance", **LABELS}
    HINTS = {"name": "Par exemple « Extraction SOLIS » ; 60 caractères au plus."}

    name = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=60, error="Entre 1 et 60 caractères."),
                  validate.Regexp(r"^[\w .'()-]+$", error="Lettres, chiffres, espaces et . ' ( ) - seulement.")],
    )


for _name in FIELD_NAMES:
    MappingFormSchema._declared_fields[_name] = fields.String(
        allow_none=True, validate=validate.Length(max=255, error="255 caractères au plus.")
    )
