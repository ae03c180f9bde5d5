"""Backup and restore round trip (issue #12, docs/OPERATIONS.md): pg_dump, pg_restore, same data.

    .venv/bin/python bench/backup.py                 # 2 000 demo people
    .venv/bin/python bench/backup.py --people 100000

Creates a scratch database, migrates it, seeds the demo (`flask seed-demo --people N`) and runs a
scan; dumps it with `pg_dump --format=custom` (the format of production backups: compressed,
restorable table by table), restores the dump into a second, empty database with `pg_restore
--exit-on-error`, then compares the two: for every table, its row count and an MD5 of all its rows in
primary-key order; the triggers and functions of the steering counters, the sequences' positions
and the Alembic revision. Prints the times and sizes; exit code 1 if anything differs. Both databases
are dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pages import BIN, admin_sql, run  # noqa: E402

FINGERPRINT_TABLES = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY c.relname
"""


def fingerprint(url: sa.URL) -> dict[str, object]:
    engine = sa.create_engine(url)
    seen: dict[str, object] = {}
    try:
        with engine.connect() as conn:
            for (table,) in conn.execute(sa.text(FINGERPRINT_TABLES)):
                key = conn.execute(sa.text(
                    "SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY array_position(i.indkey, a.attnum)) "
                    "FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                    "WHERE i.indrelid = CAST(:t AS regclass) AND i.indisprimary"), {"t": table}).scalar()
                order = f" ORDER BY {key}" if key else ""
                seen[table] = tuple(conn.execute(sa.text(
                    f'SELECT count(*), md5(coalesce(string_agg(t::text, E\'\\n\'{order}), \'\')) FROM "{table}" t'
                )).one())
            seen["~triggers"] = sorted(conn.execute(sa.text(
                "SELECT tgrelid::regclass::text || '.' || tgname FROM pg_trigger WHERE NOT tgisinternal")).scalars())
            seen["~functions"] = sorted(conn.execute(sa.text(
                "SELECT p.proname || md5(p.prosrc) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = 'public'")).scalars())
            seen["~sequences"] = sorted(conn.execute(sa.text(
                "SELECT sequencename || '=' || coalesce(last_value, 0) FROM pg_sequences "
                "WHERE schemaname = 'public'")).scalars())
            # A partial index's predicate comes back from pg_restore deparsed anew: `ARRAY[...]::text[]`
            # casts are written per element. Compared without casts, brackets and blanks.
            seen["~indexes"] = sorted(re.sub(r"::[a-z ]+(\[\])?|[()\[\] ]", "", d) for d in conn.execute(sa.text(
                "SELECT indexname || ': ' || indexdef FROM pg_indexes WHERE schemaname = 'public'")).scalars())
    finally:
        engine.dispose()
    return seen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--server", default=os.environ.get("BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432"))
    args = parser.parse_args()
    suffix = secrets.token_hex(4)
    source = sa.make_url(f"{args.server}/bench_backup_{suffix}")
    target = sa.make_url(f"{args.server}/bench_restore_{suffix}")
    env = {**os.environ, "PARCOURS_ENV": "production", "DATABASE_URL": source.render_as_string(hide_password=False),
           "SECRET_KEY": secrets.token_urlsafe(48), "SCHEDULER_IN_PROCESS": "0", "FLASK_APP": "wsgi"}
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    dump = Path(tempfile.mkdtemp(prefix="bench-backup-")) / "parcours.dump"
    try:
        admin_sql(source, f'CREATE DATABASE "{source.database}"')
        admin_sql(target, f'CREATE DATABASE "{target.database}"')
        run([*flask, "db", "upgrade"], env, "migrations")
        run([*flask, "seed-demo", "--people", str(args.people), "--no-progress"], env, f"seed-demo --people {args.people}")
        run([*flask, "scheduler", "scan"], env, "scan")
        started = time.perf_counter()
        subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--file={dump}",
                        source.render_as_string(hide_password=False)], check=True)
        dumped = time.perf_counter() - started
        started = time.perf_counter()
        subprocess.run(["pg_restore", "--exit-on-error", "--no-owner", "--single-transaction",
                        f"--dbname={target.render_as_string(hide_password=False)}", str(dump)], check=True)
        restored = time.perf_counter() - started
        before, after = fingerprint(source), fingerprint(target)
        differ = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        rows = sum(v[0] for k, v in before.items() if not k.startswith("~"))
        print(f"pg_dump {dumped:.1f} s ({dump.stat().st_size / 1e6:.1f} MB), pg_restore {restored:.1f} s; "
              f"{len([k for k in before if not k.startswith('~')])} tables, {rows} rows, "
              f"{len(before['~triggers'])} triggers, {len(before['~indexes'])} indexes compared")
        if differ:
            print("DIFFERENT after the round trip:", ", ".join(differ))
            for key in differ:
                if key.startswith("~"):
                    print(f"  {key}: only before {sorted(set(before[key]) - set(after[key]))[:5]}, "
                          f"only after {sorted(set(after[key]) - set(before[key]))[:5]}")
            return 1
        print("RESULT: OK — the restored database is identical (rows, triggers, functions, sequences, indexes)")
        return 0
    finally:
        for url in (source, target):
            admin_sql(url, f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
        dump.unlink(missing_ok=True)
        dump.parent.rmdir()


if __name__ == "__main__":
    sys.exit(main())
