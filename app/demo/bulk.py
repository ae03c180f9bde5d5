"""Bulk insertion for the demo data: tuples in a fixed column order, pre-assigned ids, COPY.

Rows are buffered per table as tuples whose values follow `COLUMNS[table]` (building a dict per row
cost a tenth of the generator's time at 1 M people), and written in foreign-key order (parents
first) every `chunk_rows` rows, through the caller's session connection, so the whole seeding is
one transaction (a test's SAVEPOINT, or the command's own transaction). Primary keys are assigned
here: on PostgreSQL the range starts after both `max(id)` and the table's sequence, and the
sequences are moved past the last id at the end so later ORM inserts never collide.

On PostgreSQL the rows go through `COPY … FROM STDIN (FORMAT csv)` on the same connection, from a
background thread, so that generating the next chunk (Python) overlaps with the server storing the
previous one. Only one COPY runs at a time and the main thread never touches the connection
meanwhile. Elsewhere (SQLite) it is a plain executemany of dicts.
Values must not be empty strings (CSV would read them as NULL): the generator never produces any.

Large loads on PostgreSQL (`deferred_checks=True`): see `BulkWriter.defer_checks`.
"""
from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.extensions import db
from app.followup import steering

# Parents before children (foreign keys are checked row by row on PostgreSQL and SQLite).
TABLE_ORDER = (
    "territory",
    "agency",
    "user_account",
    "beneficiary",
    "pathway",
    "referent_assignment",
    "pathway_member",
    "consent",
    "contract",
    "entry",
    "meeting",
    "barrier",
    "referral",
)

# The order of the values in the generator's tuples, table by table.
COLUMNS: dict[str, tuple[str, ...]] = {
    "territory": (
        "id", "code", "name", "cadence_professional_days", "cadence_socio_professional_days",
        "cadence_social_days", "grace_days", "reschedule_days", "no_referent_days",
        "orientation_delay_days", "contract_delay_days", "contract_ending_days", "referral_answer_days",
        "checkin_months", "retention_months", "audit_retention_months", "created_at", "updated_at",
        "version",
    ),
    "agency": ("id", "territory_id", "name", "kind", "email", "phone", "is_active", "created_at",
               "updated_at", "version"),
    "user_account": (
        "id", "territory_id", "agency_id", "email", "password_hash", "first_name", "last_name",
        "job_title", "role", "is_active_account", "last_login_at", "created_at", "updated_at", "version",
    ),
    "beneficiary": (
        "id", "territory_id", "first_name", "last_name", "birth_name", "birth_date", "email", "phone",
        "address", "postal_code", "city", "caf_number", "france_travail_id", "rights", "search_name",
        "anonymised_at", "created_at", "updated_at", "version",
    ),
    "pathway": (
        "id", "territory_id", "beneficiary_id", "lead_agency_id", "referent_id", "stage", "orientation",
        "oriented_at", "started_at", "closed_at", "closure_reason", "closure_note",
        "employment_started_on", "employment_contract_type", "employer", "job_title", "created_at",
        "updated_at", "version",
        # the follow-up summary, computed by the generator (no alert yet: their two columns default)
        "next_meeting_at", "last_held_at", "open_barrier_count",
    ),
    "referent_assignment": ("id", "territory_id", "pathway_id", "user_id", "agency_id", "assigned_by_id",
                            "started_at", "ended_at", "note"),
    "pathway_member": ("id", "territory_id", "pathway_id", "agency_id", "added_at", "added_by_id",
                       "removed_at", "removed_by_id", "pathway_open", "pathway_shared", "next_meeting_at"),
    "consent": ("id", "territory_id", "pathway_id", "given_at", "method", "recorded_by_id",
                "withdrawn_at", "withdrawn_by_id"),
    "contract": ("id", "territory_id", "pathway_id", "kind", "signed_on", "starts_on", "ends_on",
                 "recorded_by_id", "created_at", "updated_at", "version"),
    "entry": ("id", "territory_id", "pathway_id", "author_id", "author_agency_id", "kind", "visibility",
              "body", "occurred_at", "created_at", "version"),
    "meeting": (
        "id", "territory_id", "pathway_id", "organizer_id", "agency_id", "kind", "scheduled_at",
        "duration_minutes", "channel", "location", "status", "notes", "notes_visibility", "recorded_at",
        "recorded_by_id", "cancelled_at", "cancellation_reason", "created_at", "updated_at", "version",
    ),
    "barrier": (
        "id", "territory_id", "pathway_id", "category", "title", "description", "owner_agency_id",
        "due_on", "status", "lifted_at", "created_by_id", "created_at", "updated_at", "version",
    ),
    "referral": (
        "id", "territory_id", "barrier_id", "agency_id", "status", "message", "sent_at", "sent_by_id",
        "answered_at", "answered_by_id", "decline_reason", "answer_comment", "created_at", "updated_at",
        "version",
    ),
}


def _json_encoder(positions: list[int]) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    """Rewrite the JSON values of a row as JSON text (COPY reads text), caching equal values."""
    cache: dict[str, str] = {}

    def encode(row: tuple[Any, ...]) -> tuple[Any, ...]:
        values = list(row)
        for i in positions:
            value = values[i]
            if value is not None:
                text = repr(value)
                encoded = cache.get(text)
                if encoded is None:
                    encoded = cache[text] = json.dumps(value, ensure_ascii=False)
                values[i] = encoded
        return tuple(values)

    return encode


class BulkWriter:
    def __init__(self, session: Session, chunk_rows: int = 20_000, background: bool = True,
                 deferred_checks: bool = False) -> None:
        self.session = session
        self.background = background
        self.chunk_rows = chunk_rows
        self.dialect = session.get_bind().dialect.name
        self.deferred_checks = deferred_checks and self.dialect == "postgresql"
        self.tables = {name: db.metadata.tables[name] for name in TABLE_ORDER}
        for name, columns in COLUMNS.items():
            missing = [c for c in columns if c not in self.tables[name].c]
            if missing:
                raise KeyError(f"{name}.{missing[0]}: no such column")
        self.statements = {name: sa.insert(table) for name, table in self.tables.items()}
        self.copy_sql = {
            name: f'COPY "{name}" (' + ", ".join(f'"{c}"' for c in COLUMNS[name]) + ") FROM STDIN (FORMAT csv)"
            for name in TABLE_ORDER
        }
        self.json_encoders = {}
        for name in TABLE_ORDER:
            positions = [i for i, c in enumerate(COLUMNS[name]) if isinstance(self.tables[name].c[c].type, sa.JSON)]
            if positions:
                self.json_encoders[name] = _json_encoder(positions)
        self.buffers: dict[str, list[tuple[Any, ...]]] = {name: [] for name in TABLE_ORDER}
        # `add` is called ~20 M times at 1 M people: one bound `list.append` per table, no method call.
        self.append: dict[str, Callable[[tuple[Any, ...]], None]] = {
            name: rows.append for name, rows in self.buffers.items()}
        self.counts: dict[str, int] = dict.fromkeys(TABLE_ORDER, 0)
        self.next_ids: dict[str, int] = {}
        self.sequences: dict[str, str] = {}
        self._worker: threading.Thread | None = None
        self._error: BaseException | None = None
        self._next_analyze = 1
        self._deferred: list[str] = []  # statements that restore what `defer_checks` dropped

    def reserve_ids(self) -> None:
        """Start every table's id range after the largest id in use (and its sequence, on PG)."""
        conn = self.session.connection()
        for name, table in self.tables.items():
            start = conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one()
            if self.dialect == "postgresql":
                seq = conn.execute(
                    sa.text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": name}
                ).scalar()
                if seq:
                    self.sequences[name] = seq
                    # `seq` comes from the server (a quoted, schema-qualified identifier).
                    last, called = conn.execute(
                        sa.text(f"SELECT last_value, is_called FROM {seq}")  # noqa: S608
                    ).one()
                    start = max(start, last if called else last - 1)
            self.next_ids[name] = int(start) + 1
        if self.deferred_checks:
            self.defer_checks()

    def defer_checks(self) -> None:
        """Drop the loaded tables' foreign keys and secondary indexes, to rebuild them in `finish`.

        Checked row by row, the ~45 foreign keys cost more than everything else at 1 M people
        (≈ 20 M rows × 2–5 index probes); one validating join per key at the end, and one sorted
        build per index, cost a fraction of it. This happens only inside the seeder's own
        transaction, with definitions read from the catalog (so indexes added by later migrations are
        included) and restored by the same statements the schema has: if anything fails, the
        rollback puts everything back; if it succeeds, every key is validated over the whole table
        (`ADD CONSTRAINT … FOREIGN KEY` checks every row) and every unique index is rebuilt (which
        checks uniqueness), so the committed data are held to exactly the same rules. Primary keys
        and unique constraints (targets of foreign keys) and CHECK constraints stay in place. The
        steering counters' triggers are disabled meanwhile (re-enabled before the commit; the
        counters are recounted by `after_bulk_load`).
        The cost: the tables are locked (ACCESS EXCLUSIVE) until the commit, which a demo seeding
        in a single transaction already implies for any reader that cares about consistency.
        """
        conn = self.session.connection()
        names = list(TABLE_ORDER)
        foreign_keys = conn.execute(sa.text(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid = ANY(CAST(:tables AS regclass[])) ORDER BY conrelid, conname"
        ), {"tables": names}).all()
        indexes = conn.execute(sa.text(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid = ANY(CAST(:tables AS regclass[])) AND NOT i.indisprimary "
            # Partial and expression indexes stay: their definition does not survive a round trip
            # through pg_get_indexdef word for word (tests/demo/test_bulk_load.py).
            "AND i.indpred IS NULL AND i.indexprs IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) "
            "ORDER BY i.indrelid, i.indexrelid"
        ), {"tables": names}).all()
        # The steering counters' statement triggers join each COPY's rows to `pathway`, whose
        # statistics are those of an empty table until the end (no ANALYZE while the checks are
        # deferred): a nested loop over the growing table per batch, quadratic (a 1 M load never
        # finished). `after_bulk_load` recounts the counters from the rows, so they are off here.
        steering_triggers = [name for table, triggers in steering.POSTGRESQL_TRIGGERS.items()
                             if table in names for name in triggers]
        triggers = conn.execute(sa.text(
            "SELECT tgrelid::regclass::text, tgname FROM pg_trigger "
            "WHERE tgrelid = ANY(CAST(:tables AS regclass[])) AND tgname = ANY(:names) ORDER BY 1, 2"
        ), {"tables": names, "names": steering_triggers}).all()
        for table, name in triggers:
            conn.execute(sa.text(f'ALTER TABLE {table} DISABLE TRIGGER "{name}"'))
        for table, name, _definition in foreign_keys:
            conn.execute(sa.text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
        for index, _definition in indexes:
            conn.execute(sa.text(f"DROP INDEX {index}"))
        self._deferred = [definition for _index, definition in indexes] + [
            f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
            for table, name, definition in foreign_keys
        ] + [f'ALTER TABLE {table} ENABLE TRIGGER "{name}"' for table, name in triggers]

    def _restore_checks(self) -> None:
        """Rebuild the indexes, then re-add (and so validate) the foreign keys dropped above."""
        if not self._deferred:
            return
        conn = self.session.connection()
        conn.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
        for table in TABLE_ORDER:
            conn.execute(sa.text(f'ANALYZE "{table}"'))  # plans of the validating joins
        for statement in self._deferred:
            conn.execute(sa.text(statement))
        self._deferred = []

    def new_id(self, table: str) -> int:
        value = self.next_ids[table]
        self.next_ids[table] = value + 1
        return value

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        self.buffers[table].append(row)

    def pending(self) -> int:
        return sum(map(len, self.buffers.values()))

    def maybe_flush(self) -> None:
        pending = self.pending()
        # Small first chunks on PostgreSQL, so that statistics can be refreshed early (see below).
        if pending >= self.chunk_rows or (
            self.dialect == "postgresql" and not self.deferred_checks and pending >= 2_000
            and sum(self.counts.values()) < 10_000
        ):
            self.flush()

    def _analyze_if_grown(self) -> None:
        """Refresh the planner's statistics when the tables have grown tenfold (PostgreSQL).

        Foreign-key checks run a cached query per row whose plan follows the statistics: on
        freshly created or truncated tables the planner believes them empty and may scan, say, all
        the territory's rows through `territory_id` for each new row (quadratic). ANALYZE inside
        the transaction counts its own new rows and invalidates those plans. Not needed while the
        foreign keys are deferred.
        """
        if self.deferred_checks:
            return
        written = sum(self.counts.values())
        if written < self._next_analyze:
            return
        conn = self.session.connection()
        for name in TABLE_ORDER:
            conn.execute(sa.text(f'ANALYZE "{name}"'))
        self._next_analyze = max(written * 10, 10_000)

    def flush(self) -> None:
        if self.dialect == "postgresql":
            batches = []
            for name in TABLE_ORDER:
                rows = self.buffers[name]
                if rows:
                    batches.append(self._csv_batch(name, rows))
                    self.counts[name] += len(rows)
                    rows.clear()
            self.wait()  # the previous batch must be in before this one (foreign keys)
            self._analyze_if_grown()
            if batches:
                dbapi_connection = self.session.connection().connection.dbapi_connection
                if not self.background:
                    self._copy_batches(dbapi_connection, batches)
                    self.wait()
                    return
                self._worker = threading.Thread(
                    target=self._copy_batches, args=(dbapi_connection, batches), daemon=True
                )
                self._worker.start()
        else:
            for name in TABLE_ORDER:
                rows = self.buffers[name]
                if rows:
                    columns = COLUMNS[name]
                    self.session.execute(self.statements[name], [dict(zip(columns, row, strict=True)) for row in rows])
                    self.counts[name] += len(rows)
                    rows.clear()

    def _csv_batch(self, name: str, rows: list[tuple[Any, ...]]) -> tuple[str, bytes]:
        encoder = self.json_encoders.get(name)
        if encoder is not None:
            rows = list(map(encoder, rows))
        buffer = io.StringIO()
        # csv writes None as an unquoted empty field, which COPY reads as NULL.
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        return self.copy_sql[name], buffer.getvalue().encode("utf-8")

    def _copy_batches(self, dbapi_connection: Any, batches: list[tuple[str, bytes]]) -> None:
        try:
            cursor = dbapi_connection.cursor()
            try:
                for sql, payload in batches:
                    cursor.copy_expert(sql, io.BytesIO(payload), size=1 << 20)
            finally:
                cursor.close()
        except BaseException as exc:  # handed over to the main thread by wait()
            self._error = exc

    def wait(self) -> None:
        """Wait for the COPY in flight, if any, and raise its error in this thread."""
        if self._worker is not None:
            self._worker.join()
            self._worker = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def abort(self) -> None:
        """After a failure: let the COPY in flight end (so a rollback can follow), ignore its error."""
        if self._worker is not None:
            self._worker.join()
            self._worker = None
        self._error = None

    def finish(self) -> None:
        """Write what is left, restore deferred checks, move the PostgreSQL sequences past the ids."""
        self.flush()
        self.wait()
        if self.dialect != "postgresql":
            return
        self._restore_checks()
        conn = self.session.connection()
        for name, seq in self.sequences.items():
            last_used = self.next_ids[name] - 1
            if self.counts[name] and last_used > 0:
                conn.execute(
                    sa.text(
                        "SELECT setval(CAST(:seq AS regclass), "
                        "GREATEST(:value, (SELECT last_value FROM " + seq + ")))"
                    ),
                    {"seq": seq, "value": last_used},
                )
