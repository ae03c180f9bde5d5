"""Steering counters: the counts of « Pilotage », kept by the database itself as the data changes.

`steering_count` holds, per territory × lead agency × referent (0: none), the number of
- open pathways by stage (metric "stage"),
- unresolved alerts of open pathways by kind (metric "alert"),
- open or in-progress barriers of open pathways by category (metric "barrier").
« Pilotage » sums a few hundred of these rows instead of recounting a territory's pathways, alerts
and barriers on every request (11.8 s at 1 M pathways before).

Why triggers, not the services: alerts are written by the set-based scan (INSERT … SELECT and
UPDATE … WHERE id IN of millions of rows), pathways and barriers by the services, the demo seeder's
COPY and the benchmarks' SQL. A trigger sees every writer, so the counters cannot drift when a new
code path writes. On PostgreSQL the triggers are per statement with transition tables: one
aggregated upsert per statement, whatever its number of rows, in key order (no deadlock between
two writers of the same rows). The pathway trigger is per row but fires only when a counted
column is in the UPDATE's SET list and changed (`AFTER UPDATE OF … WHEN`): the frequent updates
of other pathway columns cost nothing. On SQLite (small data) the triggers are per row.

Alerts and barriers are counted under their pathway's *current* agency and referent: a handover
moves them between counter rows (the pathway trigger recounts that pathway's alerts and barriers,
through their indexes). So that a handover and a concurrent alert write never use each other's
stale view of the pathway, they serialise on a per-territory advisory lock: alert and barrier
writers take it shared (no wait among themselves), a change of agency, referent or closure takes
it exclusive (PostgreSQL only; SQLite writers are serialised anyway).

**Rollups for wide scopes.** A territory of 1 M pathways has ~25 000 referents, so ~280 000
counter rows: summing them per request cost « Pilotage » 300 ms. Triggers on `steering_count`
itself append what each statement changed, already summed at two levels, to `steering_delta`
(per agency and key, the unassigned apart: `referent_id` 0 or `ASSIGNED`; per referent and
metric, all keys: `key` = `ALL_KEYS`); `compact` (the scheduler, after each scan) moves the deltas
into `steering_rollup`, whose rows are only ever written by it. Writers only append (no row
shared by two writers, no lock wait, no deadlock); a reader sums the rollup and the deltas not
yet compacted, which is exact at any moment of its snapshot.

This module is SQL only (no models): `app/followup/models.py` installs the triggers with the
table, the migration with the same functions, and `rebuild_counters` / `check_counters` use the
same definition of what is counted (`SOURCE_SQL`).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

TABLE = "steering_count"
STAGE, ALERT, BARRIER = "stage", "alert", "barrier"
# Two-integer advisory lock (key, territory_id): another lock space than the one-bigint locks of
# app/transaction.py, so no collision with the scan's or the digest's lock.
LOCK_KEY = 0x50415246
UNRESOLVED = "status <> 'resolved'"
BARRIER_OPEN = "status IN ('open', 'in_progress')"
_KEY = "territory_id, agency_id, referent_id, metric, key"
_UPSERT = f"ON CONFLICT ({_KEY}) DO UPDATE SET n = {TABLE}.n + excluded.n"

# What the counters must equal: one recount, used by the rebuild, the check and the tests.
SOURCE_SQL = f"""
SELECT territory_id, agency_id, referent_id, metric, key, sum(n) AS n FROM (
  SELECT p.territory_id, p.lead_agency_id AS agency_id, coalesce(p.referent_id, 0) AS referent_id,
         '{STAGE}' AS metric, p.stage AS key, count(*) AS n
  FROM pathway p WHERE p.closed_at IS NULL AND {{where}}
  GROUP BY p.territory_id, p.lead_agency_id, coalesce(p.referent_id, 0), p.stage
  UNION ALL
  SELECT p.territory_id, p.lead_agency_id, coalesce(p.referent_id, 0), '{ALERT}', a.kind, count(*)
  FROM alert a JOIN pathway p ON p.id = a.pathway_id
  WHERE p.closed_at IS NULL AND a.{UNRESOLVED} AND {{where}}
  GROUP BY p.territory_id, p.lead_agency_id, coalesce(p.referent_id, 0), a.kind
  UNION ALL
  SELECT p.territory_id, p.lead_agency_id, coalesce(p.referent_id, 0), '{BARRIER}', b.category, count(*)
  FROM barrier b JOIN pathway p ON p.id = b.pathway_id
  WHERE p.closed_at IS NULL AND b.{BARRIER_OPEN} AND {{where}}
  GROUP BY p.territory_id, p.lead_agency_id, coalesce(p.referent_id, 0), b.category
) counted GROUP BY territory_id, agency_id, referent_id, metric, key
"""


def _source(territory_id: int | None) -> str:
    return SOURCE_SQL.format(where="p.territory_id = :territory_id" if territory_id is not None else "true")


# --- PostgreSQL: statement triggers with transition tables ------------------------------------------

_PG_LOCK_SHARED = f"""
  PERFORM pg_advisory_xact_lock_shared({LOCK_KEY}, t.territory_id)
  FROM (SELECT DISTINCT territory_id FROM {{rows}} ORDER BY territory_id) t;"""


def _pg_child_delta(table: str, key: str, counted: str, metric: str) -> str:
    """Body of the statement trigger of `alert` or `barrier`: the counted rows that appeared
    (+1) or disappeared (−1) in this statement, per pathway, then per counter row."""
    insert_rows = f"SELECT pathway_id, {key} AS key, 1 AS n FROM new_rows WHERE {counted}"
    delete_rows = f"SELECT pathway_id, {key} AS key, -1 AS n FROM old_rows WHERE {counted}"
    branches = {
        "INSERT": (insert_rows, "new_rows"),
        "DELETE": (delete_rows, "old_rows"),
        "UPDATE": (f"{insert_rows} UNION ALL {delete_rows}", "new_rows"),
    }
    parts = []
    for op, (rows, lock_rows) in branches.items():
        parts.append(f"""
  {"IF" if op == "INSERT" else "ELSIF"} TG_OP = '{op}' THEN{_PG_LOCK_SHARED.format(rows=lock_rows)}
    INSERT INTO {TABLE} ({_KEY}, n)
    SELECT p.territory_id, p.lead_agency_id, coalesce(p.referent_id, 0), '{metric}', d.key, sum(d.n)
    FROM (SELECT pathway_id, key, sum(n) AS n FROM ({rows}) changed
          GROUP BY pathway_id, key HAVING sum(n) <> 0) d
    JOIN pathway p ON p.id = d.pathway_id
    WHERE p.closed_at IS NULL
    GROUP BY p.territory_id, p.lead_agency_id, coalesce(p.referent_id, 0), d.key
    HAVING sum(d.n) <> 0
    ORDER BY 1, 2, 3, 4, 5
    {_UPSERT};""")
    return f"""
CREATE OR REPLACE FUNCTION steering_{table}_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN{"".join(parts)}
  END IF;
  RETURN NULL;
END $$"""


_PG_PATHWAY_ROWS = f"""
CREATE OR REPLACE FUNCTION steering_pathway_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO {TABLE} ({_KEY}, n)
  SELECT territory_id, lead_agency_id, coalesce(referent_id, 0), '{STAGE}', stage,
         CASE WHEN TG_OP = 'INSERT' THEN count(*) ELSE -count(*) END
  FROM changed_rows WHERE closed_at IS NULL
  GROUP BY territory_id, lead_agency_id, coalesce(referent_id, 0), stage
  ORDER BY 1, 2, 3, 4, 5
  {_UPSERT};
  RETURN NULL;
END $$"""

# A pathway whose agency, referent or open state changes carries its alerts and barriers along.
_PG_PATHWAY_MOVED = f"""
CREATE OR REPLACE FUNCTION steering_pathway_moved() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  carries boolean := OLD.territory_id <> NEW.territory_id OR OLD.lead_agency_id <> NEW.lead_agency_id
    OR OLD.referent_id IS DISTINCT FROM NEW.referent_id OR (OLD.closed_at IS NULL) <> (NEW.closed_at IS NULL);
BEGIN
  IF carries THEN  -- wait for the alert and barrier writers of these territories (see the module)
    PERFORM pg_advisory_xact_lock({LOCK_KEY}, t)
    FROM (SELECT DISTINCT t FROM unnest(ARRAY[OLD.territory_id, NEW.territory_id]) t ORDER BY t) s;
  END IF;
  INSERT INTO {TABLE} ({_KEY}, n)
  WITH side (territory_id, agency_id, referent_id, stage, n) AS (
    SELECT OLD.territory_id, OLD.lead_agency_id, coalesce(OLD.referent_id, 0), OLD.stage::text, -1
    WHERE OLD.closed_at IS NULL
    UNION ALL
    SELECT NEW.territory_id, NEW.lead_agency_id, coalesce(NEW.referent_id, 0), NEW.stage::text, 1
    WHERE NEW.closed_at IS NULL
  )
  SELECT territory_id, agency_id, referent_id, metric, key, sum(n) FROM (
    SELECT territory_id, agency_id, referent_id, '{STAGE}' AS metric, stage AS key, n FROM side
    UNION ALL
    SELECT s.territory_id, s.agency_id, s.referent_id, '{ALERT}', a.kind, s.n
    FROM side s JOIN alert a ON a.pathway_id = NEW.id AND a.{UNRESOLVED} WHERE carries
    UNION ALL
    SELECT s.territory_id, s.agency_id, s.referent_id, '{BARRIER}', b.category, s.n
    FROM side s JOIN barrier b ON b.pathway_id = NEW.id AND b.{BARRIER_OPEN} WHERE carries
  ) moved
  GROUP BY territory_id, agency_id, referent_id, metric, key HAVING sum(n) <> 0
  ORDER BY 1, 2, 3, 4, 5
  {_UPSERT};
  RETURN NULL;
END $$"""

_PATHWAY_COUNTED = "territory_id, lead_agency_id, referent_id, stage, closed_at"
_PATHWAY_CHANGED = (
    "OLD.territory_id <> NEW.territory_id OR OLD.lead_agency_id <> NEW.lead_agency_id "
    "OR OLD.referent_id IS DISTINCT FROM NEW.referent_id OR OLD.stage <> NEW.stage "
    "OR (OLD.closed_at IS NULL) <> (NEW.closed_at IS NULL)"
)


def _pg_statement_triggers(table: str, function: str, *, update: bool) -> list[str]:
    events = [("insert", "INSERT", "NEW TABLE AS new_rows"), ("delete", "DELETE", "OLD TABLE AS old_rows")]
    if update:
        events.append(("update", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"))
    return [
        f"CREATE TRIGGER steering_{table}_{name} AFTER {event} ON {table} REFERENCING {tables} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        for name, event, tables in events
    ]


POSTGRESQL_DDL: list[str] = [
    _pg_child_delta("alert", "kind", UNRESOLVED, ALERT),
    _pg_child_delta("barrier", "category", BARRIER_OPEN, BARRIER),
    _PG_PATHWAY_ROWS,
    _PG_PATHWAY_MOVED,
    *_pg_statement_triggers("alert", "steering_alert_changed", update=True),
    *_pg_statement_triggers("barrier", "steering_barrier_changed", update=True),
    "CREATE TRIGGER steering_pathway_insert AFTER INSERT ON pathway REFERENCING NEW TABLE AS changed_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION steering_pathway_rows()",
    "CREATE TRIGGER steering_pathway_delete AFTER DELETE ON pathway REFERENCING OLD TABLE AS changed_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION steering_pathway_rows()",
    # Per row, and only when a counted column is SET and changed: PostgreSQL refuses transition
    # tables on a trigger with a column list, and summary updates of other columns must cost nothing.
    f"CREATE TRIGGER steering_pathway_update AFTER UPDATE OF {_PATHWAY_COUNTED} ON pathway "
    f"FOR EACH ROW WHEN ({_PATHWAY_CHANGED}) EXECUTE FUNCTION steering_pathway_moved()",
]

# The triggers above, by table: a bulk loader that recounts afterwards (`rebuild_counters`) may
# disable them for its own transaction (app/demo/bulk.py).
POSTGRESQL_TRIGGERS: dict[str, list[str]] = {
    "alert": [f"steering_alert_{e}" for e in ("insert", "delete", "update")],
    "barrier": [f"steering_barrier_{e}" for e in ("insert", "delete", "update")],
    "pathway": [f"steering_pathway_{e}" for e in ("insert", "delete", "update")],
}

POSTGRESQL_DROP: list[str] = [
    *(f"DROP TRIGGER IF EXISTS steering_{t}_{e} ON {t}" for t in ("alert", "barrier", "pathway")
      for e in ("insert", "update", "delete")),
    *(f"DROP FUNCTION IF EXISTS {f}()" for f in (
        "steering_alert_changed", "steering_barrier_changed", "steering_pathway_rows", "steering_pathway_moved")),
]

# --- SQLite: row triggers ----------------------------------------------------------------------------


def _sqlite_upsert(select: str) -> str:
    # (the WHERE before ON CONFLICT is required by SQLite's parser: every select below has one)
    return f"INSERT INTO {TABLE} ({_KEY}, n) {select} {_UPSERT};"


def _sqlite_pathway_side(row: str, sign: int) -> list[str]:
    """The stage, alerts and barriers of pathway `row` (OLD or NEW), counted with `sign`."""
    dims = f"{row}.territory_id, {row}.lead_agency_id, coalesce({row}.referent_id, 0)"
    return [
        _sqlite_upsert(f"SELECT {dims}, '{STAGE}', {row}.stage, {sign} WHERE {row}.closed_at IS NULL"),
        _sqlite_upsert(
            f"SELECT {dims}, '{ALERT}', kind, {sign} * count(*) FROM alert "
            f"WHERE pathway_id = {row}.id AND {UNRESOLVED} AND {row}.closed_at IS NULL GROUP BY kind"
        ),
        _sqlite_upsert(
            f"SELECT {dims}, '{BARRIER}', category, {sign} * count(*) FROM barrier "
            f"WHERE pathway_id = {row}.id AND {BARRIER_OPEN} AND {row}.closed_at IS NULL GROUP BY category"
        ),
    ]


def _sqlite_child_side(row: str, key: str, counted: str, metric: str, sign: int) -> str:
    counted_row = counted.replace("status", f"{row}.status")
    return _sqlite_upsert(
        f"SELECT p.territory_id, p.lead_agency_id, coalesce(p.referent_id, 0), '{metric}', {row}.{key}, {sign} "
        f"FROM pathway p WHERE p.id = {row}.pathway_id AND p.closed_at IS NULL AND {counted_row}"
    )


def _sqlite_child_triggers(table: str, key: str, counted: str, metric: str) -> list[str]:
    insert = _sqlite_child_side("NEW", key, counted, metric, 1)
    delete = _sqlite_child_side("OLD", key, counted, metric, -1)
    return [
        f"CREATE TRIGGER steering_{table}_insert AFTER INSERT ON {table} BEGIN {insert} END",
        f"CREATE TRIGGER steering_{table}_delete AFTER DELETE ON {table} BEGIN {delete} END",
        f"CREATE TRIGGER steering_{table}_update AFTER UPDATE OF status, {key}, pathway_id ON {table} "
        f"BEGIN {delete} {insert} END",
    ]


SQLITE_DDL: list[str] = [
    *_sqlite_child_triggers("alert", "kind", UNRESOLVED, ALERT),
    *_sqlite_child_triggers("barrier", "category", BARRIER_OPEN, BARRIER),
    f"CREATE TRIGGER steering_pathway_insert AFTER INSERT ON pathway BEGIN "
    f"{' '.join(_sqlite_pathway_side('NEW', 1))} END",
    f"CREATE TRIGGER steering_pathway_delete AFTER DELETE ON pathway BEGIN "
    f"{' '.join(_sqlite_pathway_side('OLD', -1))} END",
    f"CREATE TRIGGER steering_pathway_update AFTER UPDATE OF {_PATHWAY_COUNTED} ON pathway "
    f"WHEN {_PATHWAY_CHANGED.replace('<>', 'IS NOT').replace('IS DISTINCT FROM', 'IS NOT')} BEGIN "
    f"{' '.join(_sqlite_pathway_side('OLD', -1) + _sqlite_pathway_side('NEW', 1))} END",
]

SQLITE_DROP: list[str] = [
    f"DROP TRIGGER IF EXISTS steering_{t}_{e}" for t in ("alert", "barrier", "pathway")
    for e in ("insert", "update", "delete")
]


def install_ddl(dialect: str) -> list[str]:
    """The statements that create the triggers (and their functions) on `dialect`."""
    return POSTGRESQL_DDL if dialect == "postgresql" else SQLITE_DDL


def drop_ddl(dialect: str) -> list[str]:
    return POSTGRESQL_DROP if dialect == "postgresql" else SQLITE_DROP


# --- rollups of the counters (wide scopes) --------------------------------------------------------------

ROLLUP, DELTA = "steering_rollup", "steering_delta"
ASSIGNED = -1  # rollup rows of an agency's pathways that have a referent (0: those without)
ALL_KEYS = "*"  # rollup rows of one referent: every key of a metric summed
_ROLLUP_KEY = "territory_id, referent_id, agency_id, metric, key"  # the rollup's primary key
_COUNT_COLUMNS = "territory_id, agency_id, referent_id, metric, key"  # the counters' (and _rollup_rows')


def _rollup_rows(changes: str) -> str:
    """The two levels of rollup rows of `changes` (rows of steering_count's shape, n signed)."""
    return f"""
  SELECT territory_id, agency_id, CASE WHEN referent_id = 0 THEN 0 ELSE {ASSIGNED} END AS referent_id,
         metric, key, sum(n) AS n
  FROM ({changes}) c GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0
  UNION ALL
  SELECT territory_id, agency_id, referent_id, metric, '{ALL_KEYS}', sum(n)
  FROM ({changes}) c WHERE referent_id <> 0 GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0"""


_PG_ROLLUP_FUNCTION = f"""
CREATE OR REPLACE FUNCTION steering_count_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO {DELTA} ({_COUNT_COLUMNS}, n){_rollup_rows(f"SELECT {_COUNT_COLUMNS}, n FROM new_rows")};
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO {DELTA} ({_COUNT_COLUMNS}, n){_rollup_rows(f"SELECT {_COUNT_COLUMNS}, -n AS n FROM old_rows")};
  ELSE
    INSERT INTO {DELTA} ({_COUNT_COLUMNS}, n){_rollup_rows(
        f"SELECT {_COUNT_COLUMNS}, n FROM new_rows UNION ALL SELECT {_COUNT_COLUMNS}, -n FROM old_rows")};
  END IF;
  RETURN NULL;
END $$"""


def _sqlite_rollup_insert(row: str, amount: str) -> str:
    dims = f"{row}.territory_id, {row}.agency_id"
    return (
        f"INSERT INTO {DELTA} ({_COUNT_COLUMNS}, n) SELECT {dims}, "
        f"CASE WHEN {row}.referent_id = 0 THEN 0 ELSE {ASSIGNED} END, {row}.metric, {row}.key, {amount} "
        f"WHERE {amount} <> 0; "
        f"INSERT INTO {DELTA} ({_COUNT_COLUMNS}, n) SELECT {dims}, {row}.referent_id, {row}.metric, '{ALL_KEYS}', "
        f"{amount} WHERE {row}.referent_id <> 0 AND {amount} <> 0;"
    )


ROLLUP_POSTGRESQL_DDL: list[str] = [
    _PG_ROLLUP_FUNCTION,
    *(
        f"CREATE TRIGGER steering_count_{name} AFTER {event} ON {TABLE} REFERENCING {tables} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION steering_count_changed()"
        for name, event, tables in (
            ("insert", "INSERT", "NEW TABLE AS new_rows"),
            ("delete", "DELETE", "OLD TABLE AS old_rows"),
            ("update", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        )
    ),
]
ROLLUP_SQLITE_DDL: list[str] = [
    f"CREATE TRIGGER steering_count_insert AFTER INSERT ON {TABLE} BEGIN {_sqlite_rollup_insert('NEW', 'NEW.n')} END",
    f"CREATE TRIGGER steering_count_delete AFTER DELETE ON {TABLE} BEGIN {_sqlite_rollup_insert('OLD', '-OLD.n')} END",
    f"CREATE TRIGGER steering_count_update AFTER UPDATE ON {TABLE} BEGIN "
    f"{_sqlite_rollup_insert('OLD', '-OLD.n')} {_sqlite_rollup_insert('NEW', 'NEW.n')} END",
]
ROLLUP_POSTGRESQL_DROP: list[str] = [
    *(f"DROP TRIGGER IF EXISTS steering_count_{e} ON {TABLE}" for e in ("insert", "update", "delete")),
    "DROP FUNCTION IF EXISTS steering_count_changed()",
]
ROLLUP_SQLITE_DROP: list[str] = [f"DROP TRIGGER IF EXISTS steering_count_{e}" for e in ("insert", "update", "delete")]


def rollup_install_ddl(dialect: str) -> list[str]:
    return ROLLUP_POSTGRESQL_DDL if dialect == "postgresql" else ROLLUP_SQLITE_DDL


def rollup_drop_ddl(dialect: str) -> list[str]:
    return ROLLUP_POSTGRESQL_DROP if dialect == "postgresql" else ROLLUP_SQLITE_DROP


def compact(conn: sa.Connection) -> int:
    """Move the appended deltas into `steering_rollup` (one transaction: each delta is counted in
    exactly one of the two tables at any moment). Returns the number of deltas moved. Deltas of
    transactions not committed yet are not visible here and stay for the next compaction; two
    compactions at once wait for each other on the deltas' rows and apply rollup rows in key order."""
    upsert = f"ON CONFLICT ({_ROLLUP_KEY}) DO UPDATE SET n = {ROLLUP}.n + excluded.n"
    if conn.dialect.name == "postgresql":
        result = conn.execute(sa.text(
            f"WITH moved AS (DELETE FROM {DELTA} RETURNING {_ROLLUP_KEY}, n), "
            f"summed AS (SELECT {_ROLLUP_KEY}, sum(n) AS n, count(*) AS deltas FROM moved GROUP BY 1, 2, 3, 4, 5), "
            f"written AS (INSERT INTO {ROLLUP} ({_ROLLUP_KEY}, n) SELECT {_ROLLUP_KEY}, n FROM summed "
            f"ORDER BY 1, 2, 3, 4, 5 {upsert}) "
            f"SELECT coalesce(sum(deltas), 0) FROM summed"
        ))
        return int(result.scalar() or 0)
    last = conn.execute(sa.text(f"SELECT max(id) FROM {DELTA}")).scalar()
    if last is None:
        return 0
    conn.execute(sa.text(
        f"INSERT INTO {ROLLUP} ({_ROLLUP_KEY}, n) SELECT {_ROLLUP_KEY}, sum(n) FROM {DELTA} WHERE id <= :last "
        f"GROUP BY 1, 2, 3, 4, 5 {upsert}"
    ), {"last": last})
    return conn.execute(sa.text(f"DELETE FROM {DELTA} WHERE id <= :last"), {"last": last}).rowcount or 0


def rebuild_rollup(conn: sa.Connection, territory_id: int | None) -> None:
    """The rollup recounted from `steering_count` (its deltas dropped): a repair of the rollup."""
    params = {"territory_id": territory_id}
    where = "territory_id = :territory_id" if territory_id is not None else "true"
    conn.execute(sa.text(f"DELETE FROM {DELTA} WHERE {where}"), params)
    conn.execute(sa.text(f"DELETE FROM {ROLLUP} WHERE {where}"), params)
    conn.execute(sa.text(
        f"INSERT INTO {ROLLUP} ({_COUNT_COLUMNS}, n) SELECT * FROM ("
        f"{_rollup_rows(f'SELECT {_COUNT_COLUMNS}, n FROM {TABLE} WHERE {where}')}) r WHERE true"
    ), params)


def _rollup_differences(conn: sa.Connection, territory_id: int | None) -> list[Difference]:
    """Rollup rows (plus pending deltas) that differ from `steering_count` summed at their level."""
    where = "territory_id = :territory_id" if territory_id is not None else "true"
    counted = (
        f"SELECT {_ROLLUP_KEY}, sum(n) AS n FROM (SELECT {_ROLLUP_KEY}, n FROM {ROLLUP} WHERE {where} "
        f"UNION ALL SELECT {_ROLLUP_KEY}, n FROM {DELTA} WHERE {where}) u GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0"
    )
    actual = _rollup_rows(f"SELECT {_COUNT_COLUMNS}, n FROM {TABLE} WHERE {where}")
    return _differences(conn, counted, actual, _ROLLUP_KEY, territory_id)


def _differences(
    conn: sa.Connection, counted: str, actual: str, key: str, territory_id: int | None
) -> list[Difference]:
    """The rows of `counted` and `actual` (SELECTs of the five dimensions and `n`) that differ."""
    rows = conn.execute(
        sa.text(
            f"SELECT coalesce(c.territory_id, s.territory_id), coalesce(c.agency_id, s.agency_id), "
            f"coalesce(c.referent_id, s.referent_id), coalesce(c.metric, s.metric), coalesce(c.key, s.key), "
            f"coalesce(c.n, 0), coalesce(s.n, 0) "
            f"FROM ({counted}) c FULL OUTER JOIN ({actual}) s USING ({key}) "
            f"WHERE coalesce(c.n, 0) <> coalesce(s.n, 0) ORDER BY 1, 2, 3, 4, 5"
        ),
        {"territory_id": territory_id},
    )
    return [Difference(*row) for row in rows]


# --- repair and check ----------------------------------------------------------------------------------


def rebuild_counters(conn: sa.Connection, territory_id: int | None = None, *, rollup: bool = True) -> int:
    """Recount from the data (after a bulk load with the triggers disabled, or as a repair), and
    the rollup from the counters (`rollup=False`: only for migration 0010, before the rollup
    existed). Returns the number of counter rows written. Takes the territories' exclusive steering
    lock on PostgreSQL, so no writer changes the counts meanwhile."""
    params = {"territory_id": territory_id}
    where = "territory_id = :territory_id" if territory_id is not None else "true"
    if conn.dialect.name == "postgresql":
        territories = "id = :territory_id" if territory_id is not None else "true"
        conn.execute(
            sa.text(f"SELECT pg_advisory_xact_lock({LOCK_KEY}, id) FROM (SELECT id FROM territory "
                    f"WHERE {territories} ORDER BY id) t"),
            params,
        )
    conn.execute(sa.text(f"DELETE FROM {TABLE} WHERE {where}"), params)
    result = conn.execute(
        sa.text(f"INSERT INTO {TABLE} ({_KEY}, n) SELECT * FROM ({_source(territory_id)}) s WHERE true"), params
    )
    if rollup:
        rebuild_rollup(conn, territory_id)
    return result.rowcount or 0


@dataclass(frozen=True)
class Difference:
    territory_id: int
    agency_id: int
    referent_id: int
    metric: str
    key: str
    counted: int  # in steering_count (a rollup row: in steering_rollup plus its pending deltas)
    actual: int  # recounted from the data (a rollup row: steering_count summed at its level)


def check_counters(conn: sa.Connection, territory_id: int | None = None) -> list[Difference]:
    """The counter rows that differ from a recount, then the rollup rows that differ from the
    counters (empty when both are exact)."""
    where = "territory_id = :territory_id" if territory_id is not None else "true"
    counted = f"SELECT * FROM {TABLE} WHERE {where} AND n <> 0"
    return _differences(conn, counted, _source(territory_id), _KEY, territory_id) + _rollup_differences(
        conn, territory_id
    )
