"""Which column of the file feeds which field: the Carnet de bord preset and custom mappings.

A mapping is `{field: header}`. Headers are compared normalised (case, accents, spaces and the
trailing `*` that marks a required column do not matter), so « prénom », « Prénom* » and
« PRENOM » are the same column.
"""
from __future__ import annotations

from dataclasses import dataclass

from app.pathways.search import normalise


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    required: bool = False


# The fields an import can fill, in the order of the mapping form.
FIELDS: tuple[Field, ...] = (
    Field("external_id", "Identifiant dans le système d'information d'origine", required=True),
    Field("first_name", "Prénom", required=True),
    Field("last_name", "Nom", required=True),
    Field("birth_date", "Date de naissance", required=True),
    Field("phone", "Téléphone"),
    Field("email", "Adresse électronique"),
    Field("address", "Adresse"),
    Field("address_extra", "Complément d'adresse"),
    Field("postal_code", "Code postal"),
    Field("city", "Commune"),
    Field("caf_number", "Numéro allocataire CAF"),
    Field("france_travail_id", "Identifiant France Travail"),
    Field("right_rsa", "Droits RSA (Oui/Non)"),
    Field("right_are", "Droits ARE (Oui/Non)"),
    Field("right_ass", "Droits ASS (Oui/Non)"),
    Field("right_prime_activite", "Prime d'activité (Oui/Non)"),
    Field("agencies", "Structures (la première porte le parcours)"),
    Field("professionals", "Accompagnateurs : adresses électroniques (le premier est le référent)"),
)
FIELD_NAMES = tuple(f.name for f in FIELDS)
REQUIRED = tuple(f.name for f in FIELDS if f.required)
LABELS = {f.name: f.label for f in FIELDS}

# Yes/no columns → the right code they set (Beneficiary.rights, app/pathways/schemas.RIGHTS).
RIGHT_FIELDS = {"right_rsa": "rsa", "right_are": "are", "right_ass": "ass", "right_prime_activite": "prime_activite"}

CARNET_DE_BORD = "carnet-de-bord"
CUSTOM_PREFIX = "custom:"

# Carnet de bord's beneficiary template, verbatim (`*`: required).
CARNET_DE_BORD_HEADERS = (
    "Identifiant dans le SI*", "Prénom*", "Nom*", "Date de naissance*", "NIR", "Lieu de naissance",
    "Téléphone", "Email", "Adresse", "Adresse (complément)", "Code postal", "Ville", "Situation",
    "Numéro allocataire CAF/MSA", "Identifiant Pôle emploi", "Droits RSA", "Droits ARE", "Droits ASS",
    "Prime d'activité", "RQTH", "Zone de mobilité", "Emploi recherché (code ROME)", "Niveau de formation",
    "Structure", "Accompagnateurs",
)
CARNET_DE_BORD_MAPPING = {
    "external_id": "Identifiant dans le SI",
    "first_name": "Prénom",
    "last_name": "Nom",
    "birth_date": "Date de naissance",
    "phone": "Téléphone",
    "email": "Email",
    "address": "Adresse",
    "address_extra": "Adresse (complément)",
    "postal_code": "Code postal",
    "city": "Ville",
    "caf_number": "Numéro allocataire CAF/MSA",
    "france_travail_id": "Identifiant Pôle emploi",
    "right_rsa": "Droits RSA",
    "right_are": "Droits ARE",
    "right_ass": "Droits ASS",
    "right_prime_activite": "Prime d'activité",
    "agencies": "Structure",
    "professionals": "Accompagnateurs",
}
# Columns read but never stored, and why (the summary lists them).
NEVER_STORED = {normalise("NIR"): "NIR : jamais enregistré (protection des données)"}


class MappingError(Exception):
    """The mapping does not fit the file (French reason)."""


def header_key(header: str) -> str:
    return normalise(header.rstrip("*"))


@dataclass
class ResolvedMapping:
    """A mapping applied to one file: each field's column index, and the columns left aside."""

    positions: dict[str, int]
    ignored: list[str]  # the file's headers not used, with the reason for the NIR


def resolve(mapping: dict[str, str], headers: list[str]) -> ResolvedMapping:
    keys = [header_key(h) for h in headers]
    positions: dict[str, int] = {}
    missing: list[str] = []
    for name in FIELD_NAMES:
        header = mapping.get(name)
        if not header:
            if name in REQUIRED:
                missing.append(LABELS[name])
            continue
        try:
            positions[name] = keys.index(header_key(header))
        except ValueError:
            if name in REQUIRED:
                missing.append(f"{LABELS[name]} (colonne « {header} »)")
    if missing:
        raise MappingError("Colonnes obligatoires absentes du fichier : " + ", ".join(missing) + ".")
    used = set(positions.values())
    ignored = []
    for index, header in enumerate(headers):
        if index in used or not header:
            continue
        name = header.rstrip("*").strip()
        ignored.append(NEVER_STORED.get(keys[index], f"{name} : pas de champ correspondant dans Parcours"))
    return ResolvedMapping(positions=positions, ignored=ignored)


def validate_custom(columns: dict[str, str]) -> dict[str, str]:
    """A custom mapping as saved: known fields only, the required ones given (French errors)."""
    unknown = set(columns) - set(FIELD_NAMES)
    if unknown:
        raise MappingError(f"Champ inconnu : {sorted(unknown)[0]}.")
    cleaned = {k: v.strip() for k, v in columns.items() if v and v.strip()}
    missing = [LABELS[name] for name in REQUIRED if name not in cleaned]
    if missing:
        raise MappingError("Choisissez une colonne pour : " + ", ".join(missing) + ".")
    if header_key("NIR") in {header_key(v) for v in cleaned.values()}:
        raise MappingError("La colonne NIR ne peut alimenter aucun champ : le NIR n'est jamais enregistré.")
    return cleaned
