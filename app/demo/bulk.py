"""Bulk insertion for the demo data: plain dicts, pre-assigned ids, chunked Core INSERTs.

Rows are buffered per table and written in foreign-key order (parents first) every `chunk_rows`
rows, through the caller's session connection, so the whole seeding is one transaction (a test's
SAVEPOINT, or the command's own transaction). Primary keys are assigned here: on PostgreSQL the
range starts after both `max(id)` and the table's sequence, and the sequences are moved past the
last id at the end so later ORM inserts never collide.

On PostgreSQL the rows go through `COPY … FROM STDIN (FORMAT csv)` on the same connection, from a
background thread, so that generating the next chunk (Python) overlaps with the server checking the
previous one (foreign-key triggers dominate its time). Only one COPY runs at a time and the main
thread never touches the connection meanwhile. Elsewhere (SQLite) it is a plain executemany.
Values must not be empty strings (CSV would read them as NULL): the generator never produces any.
"""
from __future__ import annotations

import csv
import io
import json
import threading
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.extensions import db

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


class BulkWriter:
    def __init__(self, session: Session, chunk_rows: int = 20_000, background: bool = True) -> None:
        self.session = session
        self.background = background
        self.chunk_rows = chunk_rows
        self.dialect = session.get_bind().dialect.name
        self.tables = {name: db.metadata.tables[name] for name in TABLE_ORDER}
        self.statements = {name: sa.insert(table) for name, table in self.tables.items()}
        self.buffers: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLE_ORDER}
        self.counts: dict[str, int] = dict.fromkeys(TABLE_ORDER, 0)
        self.next_ids: dict[str, int] = {}
        self.sequences: dict[str, str] = {}
        self.pending = 0
        self._worker: threading.Thread | None = None
        self._error: BaseException | None = None
        self._next_analyze = 1

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

    def new_id(self, table: str) -> int:
        value = self.next_ids[table]
        self.next_ids[table] = value + 1
        return value

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.buffers[table].append(row)
        self.pending += 1

    def maybe_flush(self) -> None:
        # Small first chunks on PostgreSQL, so that statistics can be refreshed early (see below).
        if self.pending >= self.chunk_rows or (
            self.dialect == "postgresql" and self.pending >= 2_000 and sum(self.counts.values()) < 10_000
        ):
            self.flush()

    def _analyze_if_grown(self) -> None:
        """Refresh the planner's statistics when the tables have grown tenfold (PostgreSQL).

        Foreign-key checks run a cached query per row whose plan follows the statistics: on
        freshly created or truncated tables the planner believes them empty and may scan, say, all
        the territory's rows through `territory_id` for each new row (quadratic). ANALYZE inside
        the transaction counts its own new rows and invalidates those plans.
        """
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
                    self.buffers[name] = []
            self.wait()  # the previous batch must be in before this one (foreign keys)
            self._analyze_if_grown()
            if batches:
                dbapi_connection = self.session.connection().connection.dbapi_connection
                if not self.background:
                    self._copy_batches(dbapi_connection, batches)
                    self.wait()
                    self.pending = 0
                    return
                self._worker = threading.Thread(
                    target=self._copy_batches, args=(dbapi_connection, batches), daemon=True
                )
                self._worker.start()
        else:
            for name in TABLE_ORDER:
                rows = self.buffers[name]
                if rows:
                    self.session.execute(self.statements[name], rows)
                    self.counts[name] += len(rows)
                    self.buffers[name] = []
        self.pending = 0

    def _csv_batch(self, name: str, rows: list[dict[str, Any]]) -> tuple[str, bytes]:
        table = self.tables[name]
        columns = list(rows[0])
        for column in columns:
            if column not in table.c:
                raise KeyError(f"{name}.{column}: no such column")
        json_columns = [c for c in columns if isinstance(table.c[c].type, sa.JSON)]
        if json_columns:
            rows = [{**row, **{c: json.dumps(row[c], ensure_ascii=False) for c in json_columns}}
                    for row in rows]
        buffer = io.StringIO()
        # csv writes None as an unquoted empty field, which COPY reads as NULL.
        csv.writer(buffer, lineterminator="\n").writerows(map(itemgetter(*columns), rows))
        sql = (f'COPY "{name}" (' + ", ".join(f'"{c}"' for c in columns) + ") FROM STDIN (FORMAT csv)")
        return sql, buffer.getvalue().encode("utf-8")

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
        """Write what is left, then move the PostgreSQL sequences past the ids used."""
        self.flush()
        self.wait()
        if self.dialect != "postgresql":
            return
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
