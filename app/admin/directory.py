"""« Importer des structures » and « Importer des professionnels » (issue #15): a territory's admin
uploads a CSV, XLSX or ODS file, sees a preview (nothing written), then runs it.

- The file is read by `app.imports.reader` (the people import's reader: encodings, separators,
  spreadsheets, line numbers as a spreadsheet shows them); its columns are found by their headers
  (case, accents, `*` and punctuation ignored); unknown columns are listed as ignored.
- Each row goes through the single forms' own services and schemas: `services.create_agency` /
  `update_agency` (AgencySchema) for structures, `services.invite_user` (InvitationSchema, the
  invitation mail, its audit) / `update_account` for professionals. So a row is refused for the
  same reasons, in the same French words, as the form would refuse it.
- Structures are matched by SIRET, then by exact normalised name; professionals by e-mail address.
  A matched row updates only what the file brings (an empty cell never blanks a field): importing
  the same file again changes nothing.
- The files are small (MAX_ROWS): the run is synchronous, one transaction per row (a row is all in
  or all out; the invitation mail goes once its row is committed). The rows are checked again when
  the run starts, against the data as it is then.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app import access
from app.accounts.models import Agency, AgencyKind, Role, User
from app.accounts.services import normalise_email
from app.admin import services
from app.admin.models import DirectoryImport
from app.admin.schemas import AgencySchema, InvitationSchema, clean_agency
from app.audit.services import record_event
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.imports.reader import Table, UnreadableFile, read_table
from app.pathways.search import normalise
from app.transaction import unit_of_work
from app.validation import bad_text, load

MAX_FILE_BYTES = 1024 * 1024  # hundreds of rows weigh a few tens of kilobytes
MAX_ROWS = 2000
PREVIEW_ROWS = 20
IMPORT_NOT_FOUND = "Cet import est introuvable."

AGENCIES, USERS = "agencies", "users"
SLUGS = {"structures": AGENCIES, "professionnels": USERS}  # the URL's word → kind
TITLES = {AGENCIES: "Importer des structures", USERS: "Importer des professionnels"}
TEMPLATE_NAMES = {AGENCIES: "modele-structures.csv", USERS: "modele-professionnels.csv"}


@dataclass(frozen=True)
class Column:
    field: str
    header: str  # as the template writes it (a `*` marks a required column)
    aliases: tuple[str, ...]  # normalised headers accepted

    @property
    def required(self) -> bool:
        return self.header.endswith("*")

    @property
    def label(self) -> str:
        return self.header.rstrip("*")


_EMAIL_ALIASES = ("e mail", "email", "courriel", "adresse electronique", "adresse mail", "mail")
COLUMNS: dict[str, tuple[Column, ...]] = {
    AGENCIES: (
        Column("name", "Nom*", ("nom", "nom de la structure", "structure", "raison sociale")),
        Column("kind", "Type", ("type", "type de structure")),
        Column("siret", "SIRET", ("siret", "n siret", "numero siret")),
        Column("safir_code", "Code SAFIR", ("code safir", "safir")),
        Column("address", "Adresse", ("adresse", "adresse postale")),
        Column("postal_code", "Code postal", ("code postal", "cp")),
        Column("city", "Ville", ("ville", "commune")),
        Column("email", "E-mail", _EMAIL_ALIASES),
        Column("phone", "Téléphone", ("telephone", "tel")),
    ),
    USERS: (
        Column("first_name", "Prénom*", ("prenom",)),
        Column("last_name", "Nom*", ("nom", "nom de famille")),
        Column("email", "E-mail*", _EMAIL_ALIASES),
        Column("agency", "Structure*", ("structure", "structure nom ou siret", "siret de la structure")),
        Column("role", "Rôle", ("role", "profil")),
    ),
}

_KIND_ALIASES = {
    "cd": AgencyKind.DEPARTMENTAL_COUNCIL, "departement": AgencyKind.DEPARTMENTAL_COUNCIL,
    "conseil general": AgencyKind.DEPARTMENTAL_COUNCIL, "pole emploi": AgencyKind.FRANCE_TRAVAIL,
    "ft": AgencyKind.FRANCE_TRAVAIL, "ml": AgencyKind.MISSION_LOCALE,
}
KINDS = {**{normalise(k.value): k for k in AgencyKind}, **{normalise(k.label): k for k in AgencyKind}, **_KIND_ALIASES}
# Other French words for the roles, by role code (labels, as `KINDS`: the role a row asks for).
_ROLE_ALIASES = {
    "professional": ("professionnel", "professionnelle", "referent", "referente", "referent e", "accompagnateur",
                     "accompagnatrice", "conseiller", "conseillere"),
    "manager": ("manager",),
    "admin": ("administrateur", "administratrice", "administration"),
}
ROLES = {**{normalise(r.value): r for r in Role}, **{normalise(r.label): r for r in Role},
         **{word: Role(code) for code, words in _ROLE_ALIASES.items() for word in words}}

MISSING = "champ obligatoire manquant."
KIND_REQUIRED = "champ obligatoire pour créer une structure."
POSTAL_INVALID = "le code postal compte 5 chiffres, par exemple 93000."
OTHER_TERRITORY = "un compte d'un autre territoire utilise déjà cette adresse électronique."
NAME_TAKEN = "une autre structure du territoire porte déjà ce nom."
_SPACES = re.compile(r"[\s.]+")
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")


class FileError(ValidationError):
    """The file cannot be imported as a whole (unreadable, too big, a required column missing)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="file")


# --- the columns ---------------------------------------------------------------------------------

@dataclass
class Layout:
    positions: dict[str, int]  # field → column index
    ignored: list[str]  # the file's headers that are not imported


def resolve(kind: str, headers: list[str]) -> Layout:
    columns = COLUMNS[kind]
    positions: dict[str, int] = {}
    ignored: list[str] = []
    for index, header in enumerate(headers):
        key = normalise(header)
        found = next((c for c in columns if key in c.aliases and c.field not in positions), None)
        if found is None:
            if header:
                ignored.append(header)
        else:
            positions[found.field] = index
    missing = [c.header for c in columns if c.required and c.field not in positions]
    if missing:
        names = ", ".join(f"« {m} »" for m in missing)
        raise FileError(
            f"Colonne{'s' if len(missing) > 1 else ''} obligatoire{'s' if len(missing) > 1 else ''} absente"
            f"{'s' if len(missing) > 1 else ''} : {names}. Téléchargez le modèle pour voir les colonnes attendues."
        )
    return Layout(positions, ignored)


# --- one row -------------------------------------------------------------------------------------

@dataclass
class CheckedRow:
    line: int
    cells: list[str]
    errors: list[str] = field(default_factory=list)  # « Colonne : motif » (the result, the errors file)
    cell_errors: dict[int, str] = field(default_factory=dict)  # column index → motif (the preview)
    row_errors: list[str] = field(default_factory=list)  # the row's as a whole (duplicates)
    action: str = ""  # "create", "update", "unchanged", "reject"
    payload: dict[str, Any] = field(default_factory=dict)  # for the service
    target: Any = None  # the structure or account updated

    def reject(self, message: str) -> None:
        self.errors.append(message)
        self.row_errors.append(message)


class _Checker:
    """Checks the rows of one file in order: it remembers the file's earlier rows (duplicates)."""

    schema: Any = None
    fields: dict[str, str] = {}  # schema field → file field

    def __init__(self, actor: User, layout: Layout, headers: list[str]) -> None:
        self.actor = actor
        self.layout = layout
        self.headers = headers
        self.seen: dict[Any, int] = {}

    def raw(self, cells: list[str]) -> dict[str, str]:
        values = {}
        for name, index in self.layout.positions.items():
            value = cells[index] if index < len(cells) else ""
            values[name] = _LINE_BREAKS.sub(" ", value).strip()
        return values

    def error(self, checked: CheckedRow, name: str, message: str) -> None:
        index = self.layout.positions.get(name)
        column = self.headers[index].rstrip("*").strip() if index is not None else name
        checked.errors.append(f"{column} : {message}")
        if index is not None:
            checked.cell_errors.setdefault(index, message)

    def schema_errors(self, checked: CheckedRow, exc: ValidationError | Conflict) -> None:
        if not exc.errors:
            checked.reject(exc.message)
            return
        for key, messages in exc.errors.items():
            message = messages[0] if isinstance(messages, list) and messages else str(messages)
            name = self.fields.get(str(key), str(key))
            if name in self.layout.positions:
                self.error(checked, name, str(message))
            else:
                checked.reject(str(message))

    def duplicate(self, checked: CheckedRow, keys: list[Any], what: str) -> bool:
        for key in keys:
            line = self.seen.get(key)
            if line is not None:
                checked.reject(f"Ligne en double : {what} que la ligne {line}.")
                return True
        for key in keys:
            self.seen[key] = checked.line
        return False

    def missing(self, checked: CheckedRow, raw: dict[str, str]) -> None:
        for column in COLUMNS[self.kind]:
            if column.required and not raw.get(column.field):
                self.error(checked, column.field, MISSING)

    kind = ""


def _agency_values(agency: Agency) -> dict[str, Any]:
    return {"name": agency.name, "kind": agency.kind.value, "siret": agency.siret, "safir_code": agency.safir_code,
            "address": agency.address, "email": agency.email, "phone": agency.phone}


class AgencyChecker(_Checker):
    kind = AGENCIES
    fields = {"name": "name", "kind": "kind", "siret": "siret", "safir_code": "safir_code", "address": "address",
              "email": "email", "phone": "phone"}

    def __init__(self, actor: User, layout: Layout, headers: list[str]) -> None:
        super().__init__(actor, layout, headers)
        agencies = list(db.session.scalars(
            sa.select(Agency).where(access.administered_clause(actor, Agency.territory_id)).order_by(Agency.id)))
        self.by_siret = {a.siret: a for a in agencies if a.siret}
        self.by_name: dict[str, Agency] = {}
        for agency in agencies:
            self.by_name.setdefault(normalise(agency.name), agency)

    def check(self, line: int, cells: list[str]) -> CheckedRow:
        checked = CheckedRow(line=line, cells=cells)
        raw = self.raw(cells)
        self.missing(checked, raw)
        siret = _SPACES.sub("", raw.get("siret", ""))
        kind = None
        if raw.get("kind"):
            kind = KINDS.get(normalise(raw["kind"]))
            if kind is None:
                labels = ", ".join(k.label for k in AgencyKind)
                self.error(checked, "kind", f"type inconnu « {raw['kind']} » (types acceptés : {labels}).")
        postal = raw.get("postal_code", "")
        if postal.isdigit() and len(postal) == 4:
            postal = postal.zfill(5)  # 01000 read as a number
        if postal and not (postal.isdigit() and len(postal) == 5):
            self.error(checked, "postal_code", POSTAL_INVALID)
        town = " ".join(part for part in (postal, raw.get("city", "")) if part)
        address = ", ".join(part for part in (raw.get("address", ""), town) if part)
        if checked.errors:
            checked.action = "reject"
            return checked
        name = raw["name"]
        match = self.by_siret.get(siret) if siret else None
        by_siret = match is not None
        if match is None:
            match = self.by_name.get(normalise(name))
        keys: list[Any] = [("name", normalise(name))] + ([("siret", siret)] if siret else [])
        if match is not None:
            keys.append(("id", match.id))
        if self.duplicate(checked, keys, "même structure"):
            checked.action = "reject"
            return checked
        brought = {"name": name if by_siret or match is None else None, "kind": kind.value if kind else None,
                   "siret": siret or None, "safir_code": raw.get("safir_code") or None, "address": address or None,
                   "email": raw.get("email") or None, "phone": raw.get("phone") or None}
        if match is None:
            if kind is None:
                self.error(checked, "kind", KIND_REQUIRED)
            payload = {k: v for k, v in brought.items() if v is not None}
        else:
            payload = {**_agency_values(match), **{k: v for k, v in brought.items() if v is not None}}
            other = self.by_name.get(normalise(payload["name"]))
            if other is not None and other.id != match.id:
                self.error(checked, "name", NAME_TAKEN)
        if not checked.errors:
            try:
                data = clean_agency(load(AgencySchema(), payload))
            except ValidationError as exc:
                self.schema_errors(checked, exc)
            else:
                if match is None:
                    checked.action = "create"
                elif any(getattr(match, k) != v for k, v in data.items()):
                    checked.action = "update"
                else:
                    checked.action = "unchanged"
        checked.payload, checked.target = payload, match
        if checked.errors:
            checked.action = "reject"
        return checked

    def created(self, agency: Agency) -> None:
        if agency.siret:
            self.by_siret.setdefault(agency.siret, agency)
        self.by_name.setdefault(normalise(agency.name), agency)


class UserChecker(_Checker):
    kind = USERS
    fields = {"first_name": "first_name", "last_name": "last_name", "email": "email", "role": "role",
              "agency_id": "agency"}

    def __init__(self, actor: User, layout: Layout, headers: list[str], emails: set[str]) -> None:
        super().__init__(actor, layout, headers)
        agencies = list(db.session.scalars(
            sa.select(Agency).where(access.administered_clause(actor, Agency.territory_id)).order_by(Agency.id)))
        self.by_siret = {a.siret: a for a in agencies if a.siret}
        self.by_name: dict[str, Agency] = {}
        for agency in agencies:
            self.by_name.setdefault(normalise(agency.name), agency)
        # Every account named by the file, whatever its territory (one query): the e-mail is unique.
        self.accounts = {u.email: u for u in db.session.scalars(
            sa.select(User).where(sa.func.lower(User.email).in_(sorted(emails))))} if emails else {}

    def check(self, line: int, cells: list[str]) -> CheckedRow:
        checked = CheckedRow(line=line, cells=cells)
        raw = self.raw(cells)
        self.missing(checked, raw)
        email = normalise_email(raw.get("email"))
        agency = None
        if raw.get("agency"):
            siret = _SPACES.sub("", raw["agency"])
            agency = self.by_siret.get(siret) if siret.isdigit() else None
            agency = agency or self.by_name.get(normalise(raw["agency"]))
            if agency is None:
                self.error(checked, "agency", f"structure inconnue dans ce territoire : « {raw['agency']} ».")
        role = None
        if raw.get("role"):
            role = ROLES.get(normalise(raw["role"]))
            if role is None:
                labels = ", ".join(r.label for r in Role)
                self.error(checked, "role", f"rôle inconnu « {raw['role']} » (rôles acceptés : {labels}).")
        account = self.accounts.get(email) if email else None
        if account is not None and not access.can_administer_object(self.actor, account):
            self.error(checked, "email", OTHER_TERRITORY)
        if checked.errors:
            checked.action = "reject"
            return checked
        if self.duplicate(checked, [("email", email)], "même adresse électronique"):
            checked.action = "reject"
            return checked
        new_role = Role.PROFESSIONAL  # not an access rule: the invitation form's preselected role
        default_role = account.role if account is not None else new_role
        payload = {"first_name": raw["first_name"], "last_name": raw["last_name"], "email": raw["email"],
                   "role": (role or default_role).value, "agency_id": agency.id if agency else None}
        checked.payload, checked.target = payload, account
        try:
            if account is None:
                load(InvitationSchema(), payload)
                if agency is not None and not agency.is_active:
                    raise ValidationError(services.AGENCY_INACTIVE, field="agency_id")
                checked.action = "create"
            else:
                checked.action = "update" if services.account_changes(self.actor, account, payload) else "unchanged"
        except (ValidationError, Conflict) as exc:
            self.schema_errors(checked, exc)
            checked.action = "reject"
        return checked

    def created(self, account: User) -> None:
        self.accounts[account.email] = account


# --- the import ----------------------------------------------------------------------------------

def _require_admin(actor: User) -> None:
    if not access.can_administer(actor):
        raise NotFound(IMPORT_NOT_FOUND)


def display_name(filename: str) -> str:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if not bad_text(ch)).strip()
    return name[:255] or "fichier"


def read_file(kind: str, content: bytes, filename: str) -> tuple[Table, Layout]:
    if len(content) > MAX_FILE_BYTES:
        raise FileError("Le fichier dépasse 1 Mo : découpez-le.")
    try:
        table = read_table(content, filename)
    except UnreadableFile as exc:
        raise FileError(str(exc)) from exc
    if len(table.rows) > MAX_ROWS:
        raise FileError(f"Le fichier compte {len(table.rows)} lignes : {MAX_ROWS} au plus par fichier, découpez-le.")
    if not table.rows:
        raise FileError("Le fichier ne contient aucune ligne sous l'en-tête.")
    return table, resolve(kind, table.headers)


def create_import(actor: User, kind: str, *, filename: str, content: bytes) -> DirectoryImport:
    """Record an uploaded file (status « preview »): nothing of the directory is written yet."""
    _require_admin(actor)
    if kind not in COLUMNS:
        raise NotFound(IMPORT_NOT_FOUND)
    table, layout = read_file(kind, content, filename)
    with unit_of_work() as session:
        job = DirectoryImport(
            territory_id=actor.territory_id, kind=kind, created_by_id=actor.id, filename=display_name(filename),
            headers=table.headers, rows=[[r.line, *r.cells] for r in table.rows], status="preview",
            total_rows=len(table.rows), ignored_columns=layout.ignored,
        )
        session.add(job)
        session.flush()
    return job


def get_import(actor: User, import_id: int) -> DirectoryImport:
    job = db.session.get(DirectoryImport, import_id)
    if job is None or not access.can_administer_object(actor, job):
        raise NotFound(IMPORT_NOT_FOUND)
    return job


def recent_imports(actor: User, kind: str, *, limit: int = 10) -> list[DirectoryImport]:
    return list(db.session.scalars(
        sa.select(DirectoryImport)
        .where(access.administered_clause(actor, DirectoryImport.territory_id), DirectoryImport.kind == kind)
        .order_by(DirectoryImport.created_at.desc(), DirectoryImport.id.desc()).limit(limit)))


def _checker(actor: User, job: DirectoryImport) -> tuple[Any, list[tuple[int, list[str]]]]:
    layout = resolve(job.kind, list(job.headers))
    rows = [(r[0], [str(c) for c in r[1:]]) for r in (job.rows or [])]
    if job.kind == AGENCIES:
        return AgencyChecker(actor, layout, list(job.headers)), rows
    index = layout.positions["email"]
    emails = {normalise_email(cells[index]) for _, cells in rows if index < len(cells) and cells[index].strip()}
    return UserChecker(actor, layout, list(job.headers), emails), rows


@dataclass
class Preview:
    headers: list[str]
    rows: list[CheckedRow]  # the first PREVIEW_ROWS, as read, with their cells' errors
    counts: dict[str, int]
    rejected: list[CheckedRow]


def preview(actor: User, job: DirectoryImport) -> Preview:
    """What the run would do, row by row, without writing anything."""
    _require_admin(actor)
    checker, rows = _checker(actor, job)
    counts = dict.fromkeys(("create", "update", "unchanged", "reject"), 0)
    checked_rows = [checker.check(line, cells) for line, cells in rows]
    for checked in checked_rows:
        counts[checked.action] += 1
    return Preview(list(job.headers), checked_rows[:PREVIEW_ROWS], counts,
                   [c for c in checked_rows if c.action == "reject"])


def run(actor: User, job: DirectoryImport, *, now: datetime, link_for: Callable[[str], str]) -> DirectoryImport:
    """Check every row again and write it (one transaction per row), then record the counts and the
    rejected rows on the job, audited (`directory.imported`). A job already run is left as it is."""
    _require_admin(actor)
    if not access.can_administer_object(actor, job):
        raise NotFound(IMPORT_NOT_FOUND)
    with unit_of_work() as session:
        claimed = session.execute(
            sa.update(DirectoryImport).where(DirectoryImport.id == job.id, DirectoryImport.status == "preview")
            .values(status="running")
        ).rowcount
    db.session.refresh(job)
    if claimed != 1:
        return job
    checker, rows = _checker(actor, job)
    counts = dict.fromkeys(("create", "update", "unchanged", "reject"), 0)
    rejections: list[dict[str, Any]] = []
    mail_failed = 0
    for line, cells in rows:
        checked = checker.check(line, cells)
        try:
            if checked.action == "create" and job.kind == AGENCIES:
                checker.created(services.create_agency(actor, checked.payload, now=now))
            elif checked.action == "update" and job.kind == AGENCIES:
                services.update_agency(actor, checked.target, checked.payload, expected_version=None, now=now)
            elif checked.action == "create":
                invited = services.invite_user(actor, checked.payload, now=now, link_for=link_for)
                checker.created(invited.user)
                mail_failed += 0 if invited.mailed else 1
            elif checked.action == "update":
                services.update_account(actor, checked.target, checked.payload, now=now)
        except (ValidationError, Conflict) as exc:  # the data changed since the check: refused as the form would
            db.session.rollback()
            checker.schema_errors(checked, exc)
            checked.action = "reject"
        counts[checked.action] += 1
        if checked.action == "reject":
            rejections.append({"line": checked.line, "reasons": checked.errors, "cells": checked.cells})
    with unit_of_work():
        job.status, job.finished_at, job.rows = "done", now, None
        job.created_count, job.updated_count = counts["create"], counts["update"]
        job.unchanged_count, job.rejected_count = counts["unchanged"], counts["reject"]
        job.rejections, job.mail_failed_count = rejections, mail_failed
        record_event(actor, "directory.imported", object_type="directory_import", object_id=job.id, at=now,
                     details={"kind": job.kind, "filename": job.filename, "rows": job.total_rows,
                              "created": job.created_count, "updated": job.updated_count,
                              "unchanged": job.unchanged_count, "rejected": job.rejected_count})
    return job


def errors_rows(job: DirectoryImport) -> tuple[list[str], list[list[Any]]]:
    """The rejected rows as the file had them, after their line and reasons (for `csv_response`)."""
    header = ["Ligne", "Motifs du rejet", *job.headers]
    return header, [[r["line"], " ; ".join(r["reasons"]), *r["cells"]] for r in job.rejections or []]


def template_header(kind: str) -> list[str]:
    return [c.header for c in COLUMNS[kind]]
