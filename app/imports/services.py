"""Importing people from a spreadsheet: validate every row, match the people already on file, then
write in bulk, one bounded transaction per batch, with the job's progress committed in each.

Pipeline (`run_job`; `preview` is the same without writing):
1. read the file (`reader.read_table`) and resolve the mapping against its headers;
2. load the territory's look-ups once: agencies by name, professionals by e-mail, and the people
   already on file by CAF number, France Travail id and (normalised name, birth date);
3. for each row, `_check_row`: the identity through `ImportRowSchema` (the same rules as the
   « Nouvelle personne » form), dates in the three French spellings, Oui/Non, the structures and
   accompagnateurs of the territory, the duplicates within the file; then `_classify`: a new person,
   a person to update (only the fields the file brings, never blanking one) or unchanged;
4. every `batch_size` rows, one transaction writes the batch with Core statements (executemany,
   INSERT … RETURNING for the ids), its audit events, the job's progress and its rejected rows;
   the follow-up state of the new pathways is evaluated and refreshed by the commit hook of
   `app.followup.live` (`live.touch`). A row is all in or all out: a row with any error writes
   nothing, and a failed batch rolls back whole (the job stops, resumable from its last batch).

Resuming (`run_job` on a job stopped midway) re-reads the file and replays the rows already done
without writing, so the duplicates within the file are still seen; it writes from `rows_done` on.
"""
from __future__ import annotations

import copyreg
import csv
import io
import json
import multiprocessing
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import defusedcsv.csv as safe_csv
import sqlalchemy as sa
from flask import current_app, has_app_context
from marshmallow import ValidationError as SchemaError
from marshmallow.utils import missing as marshmallow_missing

from app import access
from app.accounts.models import Agency, AgencyKind, Territory, User
from app.audit.models import AuditEvent
from app.audit.services import record_event
from app.db_types import utcnow
from app.errors import NotFound, ValidationError
from app.extensions import db
from app.followup import live
from app.imports import mapping as mapping_mod
from app.imports.mapping import FIELD_NAMES, RIGHT_FIELDS, MappingError, ResolvedMapping
from app.imports.models import ImportJob, ImportMapping, ImportRejection, ImportStatus
from app.imports.reader import Row, Table, UnreadableFile, read_table
from app.imports.schemas import ImportRowSchema
from app.pathways.models import Beneficiary, Pathway, PathwayMember, ReferentAssignment, Stage
from app.pathways.schemas import RIGHTS
from app.pathways.search import normalise, search_key
from app.transaction import unit_of_work
from app.validation import bad_text

BATCH_SIZE = 1000  # rows per transaction
PREVIEW_ROWS = 20
# The preview runs inside the web request: beyond this many rows it counts the first ones only (and
# says so), so that the page answers within a worker's timeout; the run checks every row.
PREVIEW_CHECK_LIMIT = 20_000
MAX_FILE_BYTES = 50 * 1024 * 1024

IDENTITY = ("first_name", "last_name", "birth_date", "phone", "email", "address", "postal_code", "city",
            "caf_number", "france_travail_id")
_SCHEMA_FIELD = {"address": "address"}  # schema field → mapping field, where they differ
_DATE_FORMATS = (
    re.compile(r"^(?P<d>\d{1,2})/(?P<m>\d{1,2})/(?P<y>\d{4})$"),
    re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})$"),
    re.compile(r"^(?P<d>\d{1,2})-(?P<m>\d{1,2})-(?P<y>\d{4})$"),
)
_YES = frozenset({"oui", "o", "yes", "y", "vrai", "true", "1", "x"})
_NO = frozenset({"non", "n", "no", "faux", "false", "0"})
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")
_LIST_SPLIT = re.compile(r"\s*[,;]\s*")


class ImportFileError(ValidationError):
    """Unreadable file or mapping (the CLI exits 2; the page says why)."""


# --- presets and saved mappings ----------------------------------------------------------------

def mapping_for(territory_id: int, preset: str) -> dict[str, str]:
    """The {field: header} mapping of a preset name (`carnet-de-bord` or `custom:NAME`)."""
    if preset == mapping_mod.CARNET_DE_BORD:
        return dict(mapping_mod.CARNET_DE_BORD_MAPPING)
    if preset.startswith(mapping_mod.CUSTOM_PREFIX):
        name = preset[len(mapping_mod.CUSTOM_PREFIX):]
        saved = db.session.scalar(sa.select(ImportMapping).where(
            ImportMapping.territory_id == territory_id, ImportMapping.name == name))
        if saved is None:
            raise ImportFileError(f"Aucune correspondance nommée « {name} » dans ce territoire.", field="preset")
        return dict(saved.columns)
    raise ImportFileError(f"Format inconnu : « {preset} » (carnet-de-bord ou custom:NOM).", field="preset")


def saved_mappings(territory_id: int) -> list[ImportMapping]:
    return list(db.session.scalars(
        sa.select(ImportMapping).where(ImportMapping.territory_id == territory_id).order_by(ImportMapping.name)))


def save_mapping(actor: User | None, territory: Territory, name: str, columns: dict[str, str]) -> ImportMapping:
    """Save (or replace) the territory's custom mapping `name`."""
    if actor is not None:
        _require_import(actor, territory)
    try:
        cleaned = mapping_mod.validate_custom(columns)
    except MappingError as exc:
        raise ValidationError(str(exc), field="_schema") from exc
    with unit_of_work() as session:
        saved = session.scalar(sa.select(ImportMapping).where(
            ImportMapping.territory_id == territory.id, ImportMapping.name == name))
        if saved is None:
            saved = ImportMapping(territory_id=territory.id, name=name, created_by_id=actor.id if actor else None)
            session.add(saved)
        saved.columns = cleaned
        session.flush()
        record_event(actor, "import.mapping_saved", object_type="import_mapping", object_id=saved.id,
                     territory_id=territory.id, details={"name": name, "fields": sorted(cleaned)})
    return saved


def _require_import(actor: User, territory: Territory) -> None:
    if not access.can_import_into(actor, territory):
        raise NotFound()


# --- what the territory already holds ------------------------------------------------------------

@dataclass(frozen=True)
class Professional:
    """A professional named in the file, as plain values (no ORM object reloaded after each commit)."""

    id: int
    agency_id: int
    email: str
    may_be_referent: bool


@dataclass
class Lookups:
    territory_id: int
    agencies: dict[str, int]  # normalised name → id (active agencies)
    users: dict[str, Professional]  # lower-case e-mail → active account
    by_caf: dict[str, int]
    by_ft: dict[str, int]
    by_name: dict[tuple[str, date | None], list[int]]
    default_agency_id: int | None  # leads the pathways of rows that name no structure

    @classmethod
    def load(cls, territory_id: int, default_agency_id: int | None) -> Lookups:
        conn = db.session.connection()
        agencies = {normalise(name): aid for aid, name in conn.execute(
            sa.select(Agency.id, Agency.name).where(Agency.territory_id == territory_id, Agency.is_active))}
        users = {u.email.lower(): Professional(u.id, u.agency_id, u.email, access.can_be_referent(u))
                 for u in db.session.scalars(
                     sa.select(User).where(User.territory_id == territory_id, User.is_active_account))}
        if default_agency_id is None:
            default_agency_id = conn.execute(
                sa.select(Agency.id).where(Agency.territory_id == territory_id, Agency.is_active,
                                           Agency.kind == AgencyKind.DEPARTMENTAL_COUNCIL).order_by(Agency.id).limit(1)
            ).scalar()
        lookups = cls(territory_id, agencies, users, {}, {}, {}, default_agency_id)
        people = conn.execute(sa.select(
            Beneficiary.id, Beneficiary.last_name, Beneficiary.first_name, Beneficiary.birth_date,
            Beneficiary.caf_number, Beneficiary.france_travail_id,
        ).where(Beneficiary.territory_id == territory_id, Beneficiary.anonymised_at.is_(None)))
        for pid, last, first, born, caf, ft in people:
            lookups.remember(pid, last, first, born, caf, ft)
        return lookups

    def remember(self, pid: int, last: str, first: str, born: date | None, caf: str | None, ft: str | None) -> None:
        if caf:
            self.by_caf.setdefault(caf, pid)
        if ft:
            self.by_ft.setdefault(ft, pid)
        same = self.by_name.setdefault((search_key(last, first), born), [])
        if pid not in same:
            same.append(pid)


# --- one row -----------------------------------------------------------------------------------

@dataclass
class CheckedRow:
    line: int
    cells: list[str]
    errors: list[str] = field(default_factory=list)
    cell_errors: dict[int, str] = field(default_factory=dict)  # column index → message (preview)
    row_errors: list[str] = field(default_factory=list)  # errors of the row as a whole (duplicates)
    data: dict[str, Any] = field(default_factory=dict)  # identity fields the file brings
    rights: dict[str, bool] = field(default_factory=dict)  # right code → held (Oui) or not (Non)
    lead_agency_id: int | None = None
    referent: Professional | None = None
    team_agency_ids: list[int] = field(default_factory=list)
    external_id: str = ""
    match_id: int | None = None
    action: str = ""  # "create", "update", "unchanged", "reject"
    changes: dict[str, Any] = field(default_factory=dict)  # for "update": column → new value


def _parse_date(text: str) -> date | str:
    """A date in one of the three French spellings, or the French reason it is not one."""
    for pattern in _DATE_FORMATS:
        found = pattern.match(text)
        if found:
            try:
                return date(int(found["y"]), int(found["m"]), int(found["d"]))
            except ValueError:
                return f"date impossible « {text} » (ce jour n'existe pas)"
    return f"date illisible « {text} » (formats acceptés : JJ/MM/AAAA, AAAA-MM-JJ ou JJ-MM-AAAA)"


class RowChecker:
    """Checks the rows of one file in order (it remembers the file's earlier rows: duplicates)."""

    def __init__(self, resolved: ResolvedMapping, headers: list[str], lookups: Lookups) -> None:
        self.positions = resolved.positions
        self.headers = headers
        self.lookups = lookups
        self.schema = ImportRowSchema()
        self.seen_external: dict[str, int] = {}
        self.seen_people: dict[Any, int] = {}  # a person's id or key → the line that brought it

    def _cell(self, row: Row, name: str) -> str:
        index = self.positions.get(name)
        return row.cells[index].strip() if index is not None and index < len(row.cells) else ""

    def _column(self, name: str) -> str:
        index = self.positions.get(name)
        return self.headers[index].rstrip("*").strip() if index is not None else mapping_mod.LABELS[name]

    def _error(self, checked: CheckedRow, name: str, message: str) -> None:
        checked.errors.append(f"{self._column(name)} : {message}")
        index = self.positions.get(name)
        if index is not None:
            checked.cell_errors.setdefault(index, message)

    def _row_error(self, checked: CheckedRow, message: str) -> None:
        checked.errors.append(message)
        checked.row_errors.append(message)

    def check(self, row: Row) -> CheckedRow:
        checked = CheckedRow(line=row.line, cells=row.cells)
        raw = {name: self._cell(row, name) for name in FIELD_NAMES}
        for name, value in raw.items():
            if "\n" in value or "\r" in value:  # a quoted line break: one line in Parcours
                raw[name] = _LINE_BREAKS.sub(", " if name in ("address", "address_extra") else " ", value)
        for name in mapping_mod.REQUIRED:
            if not raw[name]:
                self._error(checked, name, "champ obligatoire manquant.")
        checked.external_id = raw["external_id"]
        identity: dict[str, Any] = {}
        for name in ("first_name", "last_name", "phone", "email", "postal_code", "city",
                     "caf_number", "france_travail_id"):
            if raw[name]:
                identity[name] = raw[name]
        if identity.get("postal_code", "").isdigit() and len(identity["postal_code"]) == 4:
            identity["postal_code"] = identity["postal_code"].zfill(5)  # 01000 read as a number
        if "france_travail_id" in identity:
            identity["france_travail_id"] = identity["france_travail_id"].upper()
        address = ", ".join(part for part in (raw["address"], raw["address_extra"]) if part)
        if address:
            identity["address"] = address
        if raw["birth_date"]:
            born = _parse_date(raw["birth_date"])
            if isinstance(born, str):
                self._error(checked, "birth_date", born + ".")
            else:
                identity["birth_date"] = born.isoformat()
        if raw["first_name"] and raw["last_name"] and "birth_date" in identity:
            try:
                checked.data = self.schema.load(identity)
            except SchemaError as exc:
                for key, messages in exc.messages_dict.items():
                    name = "address" if key == "address" else key
                    message = messages[0] if isinstance(messages, list) else str(messages)
                    self._error(checked, name if name in self.positions else "first_name", message)
        for name, code in RIGHT_FIELDS.items():
            value = raw[name].lower()
            if not value:
                continue
            if value in _YES:
                checked.rights[code] = True
            elif value in _NO:
                checked.rights[code] = False
            else:
                self._error(checked, name, f"« {raw[name]} » n'est ni Oui ni Non.")
        self._check_people(checked, raw)
        if not checked.errors:
            self._check_duplicate(checked)
        return checked

    def _check_people(self, checked: CheckedRow, raw: dict[str, str]) -> None:
        agencies: list[int] = []
        text = raw["agencies"]
        if text:
            names = [text] if normalise(text) in self.lookups.agencies else _LIST_SPLIT.split(text)
            for name in filter(None, names):
                agency_id = self.lookups.agencies.get(normalise(name))
                if agency_id is None:
                    self._error(checked, "agencies", f"structure inconnue dans ce territoire : « {name} ».")
                elif agency_id not in agencies:
                    agencies.append(agency_id)
        professionals: list[Professional] = []
        for email in filter(None, _LIST_SPLIT.split(raw["professionals"])):
            user = self.lookups.users.get(email.lower())
            if user is None:
                self._error(checked, "professionals", f"professionnel inconnu dans ce territoire : « {email} ».")
            elif user not in professionals:
                professionals.append(user)
        if professionals:
            referent = professionals[0]
            if not referent.may_be_referent:
                self._error(checked, "professionals", f"« {referent.email} » ne peut pas être référent.")
            elif agencies and referent.agency_id not in agencies:
                self._error(checked, "professionals",
                            f"le référent « {referent.email} » n'appartient à aucune des structures indiquées.")
            checked.referent = referent
            checked.lead_agency_id = referent.agency_id
        elif agencies:
            checked.lead_agency_id = agencies[0]
        else:
            checked.lead_agency_id = self.lookups.default_agency_id
            if checked.lead_agency_id is None:
                self._error(checked, "agencies", "aucune structure indiquée pour porter le parcours.")
        team = [*agencies, *(u.agency_id for u in professionals[1:])]
        checked.team_agency_ids = sorted({a for a in team if a != checked.lead_agency_id})

    def _check_duplicate(self, checked: CheckedRow) -> None:
        first = self.seen_external.get(checked.external_id)
        if first is not None:
            self._row_error(checked, f"Ligne en double : même identifiant « {checked.external_id} » "
                                     f"que la ligne {first}.")
            return
        data = checked.data
        lookups = self.lookups
        match: int | None = None
        if data.get("caf_number"):
            match = lookups.by_caf.get(data["caf_number"])
        if match is None and data.get("france_travail_id"):
            match = lookups.by_ft.get(data["france_travail_id"])
        name_key = (search_key(data["last_name"], data["first_name"]), data["birth_date"])
        if match is None:
            candidates = lookups.by_name.get(name_key, [])
            if len(candidates) > 1:
                self._row_error(checked,
                    "Plusieurs personnes du territoire portent ce nom et cette date de naissance : "
                    "indiquez leur numéro allocataire CAF ou leur identifiant France Travail.")
                return
            match = candidates[0] if candidates else None
        # The row's own keys, and its match's: a later row naming the same person by any of them is
        # a duplicate (without consulting the look-ups, which the rows written so far do not update).
        keys: list[Any] = [("id", match)] if match is not None else []
        keys += [k for k in (("caf", data.get("caf_number")), ("ft", data.get("france_travail_id"))) if k[1]]
        keys.append(("name", name_key))
        for key in keys:
            line = self.seen_people.get(key)
            if line is not None:
                self._row_error(checked, f"Ligne en double : même personne que la ligne {line}.")
                return
        self.seen_external[checked.external_id] = checked.line
        for key in keys:
            self.seen_people[key] = checked.line
        checked.match_id = match


def _merged_rights(current: list[str], wanted: dict[str, bool]) -> list[str]:
    rights = [code for code in current if wanted.get(code, True)]
    rights += [code for code in RIGHTS if wanted.get(code) and code not in rights]
    return rights


def _classify(checked: CheckedRow, existing: dict[int, dict[str, Any]]) -> None:
    if checked.errors:
        checked.action = "reject"
        return
    if checked.match_id is None:
        checked.action = "create"
        return
    current = existing[checked.match_id]
    changes = {k: v for k, v in checked.data.items() if k in IDENTITY and v is not None and current[k] != v}
    rights = _merged_rights(current["rights"] or [], checked.rights)
    if rights != (current["rights"] or []):
        changes["rights"] = rights
    checked.changes = changes
    checked.action = "update" if changes else "unchanged"


def _existing(ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    ids = sorted(set(ids))
    if not ids:
        return {}
    columns = [getattr(Beneficiary, name) for name in (*IDENTITY, "rights", "birth_name")]
    rows = db.session.execute(sa.select(Beneficiary.id, *columns).where(Beneficiary.id.in_(ids)))
    return {row.id: row._asdict() for row in rows}


# --- the job -----------------------------------------------------------------------------------

@dataclass
class Prepared:
    table: Table
    resolved: ResolvedMapping
    lookups: Lookups


def read_file(content: bytes, filename: str) -> Table:
    try:
        return read_table(content, filename)
    except UnreadableFile as exc:
        raise ImportFileError(str(exc), field="file") from exc


def prepare(territory_id: int, table: Table, column_mapping: dict[str, str],
            *, default_agency_id: int | None = None) -> Prepared:
    """Resolve the mapping against the table; `ImportFileError` (French) if it does not fit."""
    return Prepared(table, _resolve(column_mapping, table.headers), Lookups.load(territory_id, default_agency_id))


def _resolve(column_mapping: dict[str, str], headers: list[str]) -> ResolvedMapping:
    try:
        return mapping_mod.resolve(column_mapping, headers)
    except MappingError as exc:
        raise ImportFileError(str(exc), field="preset") from exc


def _nir_positions(headers: list[str]) -> list[int]:
    return [i for i, h in enumerate(headers) if mapping_mod.header_key(h) in mapping_mod.NEVER_STORED]


def _pack(table: Table) -> bytes:
    """The rows to keep with the job, the NIR blanked (it is never stored)."""
    nir = _nir_positions(table.headers)
    rows = [[r.line, *(("" if i in nir else c) for i, c in enumerate(r.cells))] for r in table.rows]
    return zlib.compress(json.dumps(rows, ensure_ascii=False).encode("utf-8"), 3)


def _unpack(job: ImportJob) -> Table:
    rows = json.loads(zlib.decompress(job.content or b"").decode("utf-8")) if job.content else []
    return Table(headers=list(job.headers), rows=[Row(line=r[0], cells=r[1:]) for r in rows])


@dataclass
class PreviewResult:
    headers: list[str]
    rows: list[CheckedRow]  # the first rows, as read, with their cells' errors
    counts: dict[str, int]
    ignored: list[str]
    rejected: list[CheckedRow]
    checked: int  # rows counted (all of them, or the first PREVIEW_CHECK_LIMIT)
    total: int


def preview(prepared: Prepared, *, rows: int = PREVIEW_ROWS, limit: int = PREVIEW_CHECK_LIMIT) -> PreviewResult:
    """Check the rows (the first `limit`) and count what an import would do, without writing."""
    checker = RowChecker(prepared.resolved, prepared.table.headers, prepared.lookups)
    counts = dict.fromkeys(("create", "update", "unchanged", "reject"), 0)
    first: list[CheckedRow] = []
    rejected: list[CheckedRow] = []
    table_rows = prepared.table.rows[:limit]
    for start in range(0, len(table_rows), BATCH_SIZE):
        checked = [checker.check(row) for row in table_rows[start:start + BATCH_SIZE]]
        existing = _existing(c.match_id for c in checked if c.match_id is not None)
        for c in checked:
            _classify(c, existing)
            counts[c.action] += 1
            if c.action == "reject" and len(rejected) < 1000:
                rejected.append(c)
        if len(first) < rows:
            first.extend(checked[:rows - len(first)])
    return PreviewResult(prepared.table.headers, first, counts, prepared.resolved.ignored, rejected,
                         checked=len(table_rows), total=len(prepared.table.rows))


def preview_job(job: ImportJob) -> PreviewResult:
    """The preview of an uploaded job (nothing written)."""
    actor = db.session.get(User, job.created_by_id) if job.created_by_id else None
    return preview(prepare(job.territory_id, _unpack(job), job.mapping,
                           default_agency_id=actor.agency_id if actor else None))


def display_name(filename: str) -> str:
    """The file's own name, without a client's path or control characters (shown and audited)."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if not bad_text(ch)).strip()
    return name[:255] or "fichier"


def create_job(actor: User | None, territory: Territory, *, filename: str, content: bytes, preset: str,
               dry_run: bool = False, column_mapping: dict[str, str] | None = None) -> ImportJob:
    """Record an uploaded file as a job (status preview); the mapping must fit the file."""
    if actor is not None:
        _require_import(actor, territory)
    if len(content) > MAX_FILE_BYTES:
        raise ImportFileError("Le fichier dépasse 50 Mo : découpez-le.", field="file")
    column_mapping = column_mapping if column_mapping is not None else mapping_for(territory.id, preset)
    table = read_file(content, filename)
    ignored: list[str] = []
    if column_mapping:  # empty: the mapping is chosen next (the web page), from the file's headers
        ignored = _resolve(column_mapping, table.headers).ignored
    with unit_of_work() as session:
        job = ImportJob(territory_id=territory.id, created_by_id=actor.id if actor else None,
                        filename=display_name(filename), content=_pack(table), headers=table.headers, preset=preset,
                        mapping=column_mapping,
                        dry_run=dry_run, status=ImportStatus.PREVIEW, total_rows=len(table),
                        ignored_columns=ignored)
        session.add(job)
        session.flush()
        record_event(actor, "import.uploaded", object_type="import_job", object_id=job.id,
                     territory_id=territory.id,
                     details={"filename": job.filename, "preset": preset, "rows": job.total_rows})
    return job


def apply_mapping(actor: User, job: ImportJob, preset: str, column_mapping: dict[str, str]) -> ImportJob:
    """Use a (just saved) mapping for an uploaded job; it must fit the file."""
    if job.status != ImportStatus.PREVIEW:
        raise ValidationError("Cet import a déjà été lancé.", field="_schema")
    try:
        resolved = mapping_mod.resolve(column_mapping, list(job.headers))
    except MappingError as exc:
        raise ValidationError(str(exc), field="_schema") from exc
    with unit_of_work():
        job.preset, job.mapping, job.ignored_columns = preset, dict(column_mapping), resolved.ignored
    return job


def queue_job(actor: User, job: ImportJob) -> ImportJob:
    """« Lancer l'import »: the job waits for its runner (the web request returns at once)."""
    if job.status != ImportStatus.PREVIEW:
        raise ValidationError("Cet import a déjà été lancé.", field="_schema")
    with unit_of_work():
        job.status = ImportStatus.QUEUED
        record_event(actor, "import.queued", object_type="import_job", object_id=job.id,
                     territory_id=job.territory_id)
    return job


def release_job(job: ImportJob) -> ImportJob:
    """A job left « en cours » by a process that stopped (restart, crash): resumable again."""
    if job.status == ImportStatus.RUNNING:
        with unit_of_work():
            job.status, job.error = ImportStatus.FAILED, "Import interrompu : le processus s'est arrêté."
    return job


def _claim(job_id: int) -> bool:
    """Take the job for this runner (one runner per job, whichever process)."""
    with unit_of_work() as session:
        claimed = session.execute(
            sa.update(ImportJob).where(
                ImportJob.id == job_id,
                ImportJob.status.in_([ImportStatus.PREVIEW, ImportStatus.QUEUED, ImportStatus.FAILED]),
            ).values(status=ImportStatus.RUNNING, started_at=sa.func.coalesce(ImportJob.started_at, utcnow()),
                     error=None)
        ).rowcount
    return bool(claimed)


def run_job(job_id: int, *, progress: Callable[[int], None] | None = None, batch_size: int = BATCH_SIZE,
            now: datetime | None = None, stop_after: int | None = None) -> ImportJob:
    """Run (or resume) a job to its end. `progress(n)` is told each batch's row count (tqdm).

    `stop_after` (tests of resumption): stop after that many batches, as a crash would.
    """
    if not _claim(job_id):
        job = db.session.get(ImportJob, job_id)
        if job is None:
            raise NotFound()
        return job
    job = db.session.get(ImportJob, job_id)
    actor = db.session.get(User, job.created_by_id) if job.created_by_id else None
    try:
        prepared = prepare(job.territory_id, _unpack(job), job.mapping,
                           default_agency_id=actor.agency_id if actor else None)
    except ImportFileError as exc:
        with unit_of_work():
            job.status, job.error, job.finished_at = ImportStatus.FAILED, exc.message[:500], utcnow()
        return job
    writer = _BatchWriter(job, actor, prepared, now=now)
    checker = RowChecker(prepared.resolved, prepared.table.headers, prepared.lookups)
    rows = prepared.table.rows
    done_before = job.rows_done
    batches = 0
    starts = list(range(0, len(rows), batch_size))
    # The next batch is checked while this one is written. A large file is checked in a second
    # process (spawned: no fork of a threaded web worker), which gets the look-ups and the rows once
    # and sends back each batch's verdicts: checking is pure Python, and in a thread it would hold
    # the GIL against the writer, whose every round trip to the database then waits for it (the
    # two did not overlap). A small file is checked in a thread. The session stays in this thread.
    with _checking_pool(checker, rows, batch_size) as (pool, check):
        pending = check(starts[0]) if starts else None
        try:
            for index, start in enumerate(starts):
                checked = pending.result()
                pending = check(starts[index + 1]) if index + 1 < len(starts) else None
                end = start + len(checked)
                if end <= done_before:
                    continue  # written by an earlier run: replayed for the duplicates only
                checked = checked[max(0, done_before - start):]
                writer.write(checked, rows_done=end)
                if progress is not None:
                    progress(len(checked))
                batches += 1
                if stop_after is not None and batches >= stop_after and end < len(rows):
                    with unit_of_work():
                        job.status, job.error = ImportStatus.FAILED, "Import interrompu : relancez-le pour le terminer."
                    return job
        except Exception as exc:
            db.session.rollback()
            job = db.session.get(ImportJob, job_id)
            with unit_of_work():
                job.status = ImportStatus.FAILED
                line = rows[job.rows_done].line if job.rows_done < len(rows) else "?"
                job.error = f"Import interrompu à la ligne {line} ({type(exc).__name__}) : relancez-le pour reprendre."
            raise
    with unit_of_work():
        job.status, job.finished_at = ImportStatus.DONE, utcnow()
        job.content = None  # the rows were personal data needed only to run the job
        record_event(actor, "import.finished", object_type="import_job", object_id=job.id,
                     territory_id=job.territory_id,
                     details={"filename": job.filename, "dry_run": job.dry_run, "rows": job.total_rows,
                              "created": job.created_count, "updated": job.updated_count,
                              "unchanged": job.unchanged_count, "rejected": job.rejected_count})
    return job


_COPY_AS_IS = frozenset({str, int, float, type(None)})  # written by the csv module as they are (not bool)


def _the_missing() -> Any:
    return marshmallow_missing


# A checked row may hold marshmallow's `missing` (a field the file leaves out); it is compared by
# identity, so it must come back from the checking process as the same object, not a copy.
copyreg.pickle(type(marshmallow_missing), lambda _value: (_the_missing, ()))

_checker_of_process: RowChecker | None = None
_rows_of_process: list[Row] = []


def _start_checking_process(checker: RowChecker, rows: list[Row]) -> None:
    global _checker_of_process, _rows_of_process
    _checker_of_process, _rows_of_process = checker, rows


def _check_in_process(start: int, size: int) -> list[CheckedRow]:
    assert _checker_of_process is not None
    return [_checker_of_process.check(row) for row in _rows_of_process[start:start + size]]


@contextmanager
def _checking_pool(checker: RowChecker, rows: list[Row], batch_size: int) -> Iterator[tuple[Executor, Callable]]:
    """An executor of one worker that checks batches in file order (the checker remembers earlier
    rows), and the function to submit: a process for IMPORTS_CHECK_PROCESS_ROWS rows and more."""
    threshold = current_app.config.get("IMPORTS_CHECK_PROCESS_ROWS", 20_000) if has_app_context() else 20_000
    if threshold is not None and len(rows) >= threshold:
        pool: Executor = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_start_checking_process, initargs=(checker, rows))
        try:
            yield pool, lambda start: pool.submit(_check_in_process, start, batch_size)
        finally:
            pool.shutdown(cancel_futures=True)
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-check") as threads:
        yield threads, lambda start: threads.submit(
            lambda: [checker.check(row) for row in rows[start:start + batch_size]])


def _copy_value(value: Any) -> Any:
    """A value as COPY (FORMAT csv) reads it: None → NULL, JSON as text, dates in ISO 8601."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _insert(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]], *, ids: bool = False) -> list[int]:
    """Insert `rows` (dicts with the same keys) in one statement; their new ids in order if `ids`.

    PostgreSQL: `COPY … FROM STDIN` on the transaction's connection, ids drawn from the table's
    sequence beforehand (safe with concurrent writers); no parameter building per value. Elsewhere
    an executemany (`INSERT … RETURNING` for the ids). Values are never empty strings (the schema
    turns blanks into None), which CSV would read as NULL.
    """
    if not rows:
        return []
    if conn.dialect.name != "postgresql":
        if ids:
            statement = sa.insert(table).returning(table.c.id, sort_by_parameter_order=True)
            return list(conn.execute(statement, rows).scalars())
        conn.execute(sa.insert(table), rows)
        return []
    columns = list(rows[0])
    new_ids: list[int] = []
    if ids:
        new_ids = list(conn.execute(
            sa.text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
            {"table": table.name, "n": len(rows)}).scalars())
        columns = ["id", *columns]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    plain = _COPY_AS_IS
    for index, row in enumerate(rows):
        values = [v if type(v) in plain else _copy_value(v) for v in row.values()]  # most values are text
        writer.writerow([new_ids[index], *values] if ids else values)
    buffer.seek(0)
    names = ", ".join(f'"{c}"' for c in columns)
    # An empty text in a NOT NULL text column (a name made only of signs has an empty search key)
    # is an empty string, not NULL.
    texts = [f'"{c}"' for c in columns if isinstance(table.c[c].type, sa.String) and not table.c[c].nullable]
    options = f", FORCE_NOT_NULL ({', '.join(texts)})" if texts else ""
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        # Table and column names come from the metadata, not from the file.
        cursor.copy_expert(f'COPY "{table.name}" ({names}) FROM STDIN (FORMAT csv{options})',
                           buffer)
    finally:
        cursor.close()
    return new_ids


class _BatchWriter:
    """Writes one batch of checked rows in one transaction, with Core statements. The look-ups stay
    as loaded (the checker reads them meanwhile): later rows about the same people are duplicates,
    which the checker sees by itself."""

    def __init__(self, job: ImportJob, actor: User | None, prepared: Prepared, *, now: datetime | None) -> None:
        self.job = job
        self.actor = actor
        self.prepared = prepared
        self.now = now
        self.rows_at_analyze: int | None = None
        self.written = 0
        b = Beneficiary.__table__
        self.update_people = sa.update(b).where(b.c.id == sa.bindparam("b_id")).values(
            {name: sa.bindparam(f"v_{name}") for name in (*IDENTITY, "rights", "search_name")}
            | {"version": b.c.version + 1, "updated_at": sa.bindparam("v_updated_at")})

    def _analyze_if_grown(self, conn: sa.Connection, adding: int) -> None:
        """Refresh the planner's statistics of the tables this import grows (PostgreSQL).

        Foreign-key checks and the follow-up refresh run cached plans that follow the statistics:
        on a table that was small when last analysed, the planner may scan it for every new row
        (quadratic). Analysed again whenever the rows written since would double it.
        """
        if conn.dialect.name != "postgresql":
            return
        if self.rows_at_analyze is None:
            self.rows_at_analyze = conn.execute(sa.text(
                "SELECT coalesce(sum(reltuples), 0)::bigint FROM pg_class WHERE relname = 'pathway'")).scalar() or 0
        self.written += adding
        if self.written < max(self.rows_at_analyze, 1000):
            return
        for table in ("beneficiary", "pathway", "referent_assignment", "pathway_member", "audit_event"):
            conn.execute(sa.text(f'ANALYZE "{table}"'))
        self.rows_at_analyze += self.written
        self.written = 0

    def write(self, checked: list[CheckedRow], *, rows_done: int) -> None:
        job = self.job
        now = self.now or utcnow()
        existing = _existing(c.match_id for c in checked if c.match_id is not None)
        for c in checked:
            _classify(c, existing)
        created = [c for c in checked if c.action == "create"]
        updated = [c for c in checked if c.action == "update"]
        rejected = [c for c in checked if c.action == "reject"]
        with unit_of_work() as session:
            conn = session.connection()
            if not job.dry_run:
                if updated:
                    self._update(conn, updated, existing, now)
                if created:
                    self._analyze_if_grown(conn, len(created))
                    new_pathways = self._create(conn, created, now)
                    live.touch(session, new_pathways)  # alerts and follow-up summaries at commit
            if rejected:
                _insert(conn, ImportRejection.__table__, [
                    {"territory_id": job.territory_id, "job_id": job.id, "line": c.line,
                     "reasons": c.errors, "cells": c.cells} for c in rejected])
            job.rows_done = rows_done
            job.created_count += len(created)
            job.updated_count += len(updated)
            job.unchanged_count += sum(1 for c in checked if c.action == "unchanged")
            job.rejected_count += len(rejected)

    def _audit(self, conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
        actor = self.actor
        _insert(conn, AuditEvent.__table__, [
            {"territory_id": self.job.territory_id, "actor_id": actor.id if actor else None,
             "actor_agency_id": actor.agency_id if actor else None, **row} for row in rows])

    def _update(self, conn: sa.Connection, rows: list[CheckedRow], existing: dict[int, dict[str, Any]],
                now: datetime) -> None:
        params = []
        for c in rows:
            merged = {**existing[c.match_id], **c.changes}
            merged["search_name"] = search_key(merged["last_name"], merged["first_name"], merged["birth_name"])
            params.append({"b_id": c.match_id, "v_updated_at": now,
                           **{f"v_{k}": merged[k] for k in (*IDENTITY, "rights", "search_name")}})
        conn.execute(self.update_people, params)
        self._audit(conn, [{"action": "beneficiary.updated", "object_type": "beneficiary", "object_id": c.match_id,
                            "pathway_id": None, "occurred_at": now,
                            "details": {"fields": sorted(c.changes), "import_job_id": self.job.id}} for c in rows])

    def _create(self, conn: sa.Connection, rows: list[CheckedRow], now: datetime) -> list[int]:
        territory_id = self.job.territory_id
        actor_id = self.actor.id if self.actor else None
        people = []
        for c in rows:
            d = c.data
            people.append({
                "territory_id": territory_id, **{k: d.get(k) for k in IDENTITY},
                "birth_name": None, "rights": _merged_rights([], c.rights),
                "search_name": search_key(d["last_name"], d["first_name"]),
                "created_at": now, "updated_at": now, "version": 1,
            })
        person_ids = _insert(conn, Beneficiary.__table__, people, ids=True)
        pathway_ids = _insert(conn, Pathway.__table__, [
            {"territory_id": territory_id, "beneficiary_id": pid, "lead_agency_id": c.lead_agency_id,
             "referent_id": c.referent.id if c.referent else None, "stage": Stage.INTAKE.value,
             "started_at": now, "created_at": now, "updated_at": now, "version": 1,
             "open_barrier_count": 0, "open_alert_count": 0}
            for pid, c in zip(person_ids, rows, strict=True)], ids=True)
        assignments = [
            {"territory_id": territory_id, "pathway_id": pw, "user_id": c.referent.id,
             "agency_id": c.referent.agency_id, "assigned_by_id": actor_id, "started_at": now, "ended_at": None,
             "note": None}
            for pw, c in zip(pathway_ids, rows, strict=True) if c.referent is not None]
        if assignments:
            _insert(conn, ReferentAssignment.__table__, assignments)
        members = [
            {"territory_id": territory_id, "pathway_id": pw, "agency_id": agency_id, "added_at": now,
             "added_by_id": actor_id, "removed_at": None, "removed_by_id": None,
             "pathway_open": True, "pathway_shared": False}
            for pw, c in zip(pathway_ids, rows, strict=True) for agency_id in c.team_agency_ids]
        if members:
            _insert(conn, PathwayMember.__table__, members)
        self._audit(conn, [
            {"action": "beneficiary.created", "object_type": "beneficiary", "object_id": pid, "pathway_id": pw,
             "occurred_at": now, "details": {"import_job_id": self.job.id}}
            for pid, pw in zip(person_ids, pathway_ids, strict=True)])
        return pathway_ids


# --- reading a job -----------------------------------------------------------------------------

def get_job_or_404(actor: User, job_id: int) -> ImportJob:
    job = db.session.get(ImportJob, job_id)
    if job is None or not access.can_see_import(actor, job):
        raise NotFound()
    return job


def rejected_rows(job: ImportJob) -> list[ImportRejection]:
    return list(db.session.scalars(
        sa.select(ImportRejection).where(ImportRejection.job_id == job.id).order_by(ImportRejection.line)))


def errors_csv(job: ImportJob) -> str:
    """The rejected rows as the file had them, with their line and reasons (formula-safe)."""
    headers = list(job.headers)
    buffer = io.StringIO()
    writer = safe_csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(["Ligne", "Motifs du rejet", *headers])
    for rejection in rejected_rows(job):
        writer.writerow([rejection.line, " ; ".join(rejection.reasons), *rejection.cells])
    return buffer.getvalue()


def job_summary(job: ImportJob) -> dict[str, Any]:
    return {"created": job.created_count, "updated": job.updated_count, "unchanged": job.unchanged_count,
            "rejected": job.rejected_count, "ignored": job.ignored_columns}
