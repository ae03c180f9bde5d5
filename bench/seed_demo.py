"""Benchmark of `flask seed-demo` on PostgreSQL.

    .venv/bin/python bench/seed_demo.py --people 100000
    .venv/bin/python bench/seed_demo.py --people 100000 --keep

Creates a scratch database (dropped at the end unless --keep), applies the migrations (or
`db.create_all()` with --create-all), runs `seed-demo --people N` exactly as the CLI does, and
reports the wall time, this process's CPU time and the database backend's CPU time (read from
/proc when the server is local), so a busy machine can be told from a slow seeder.
It also checks that every index and constraint is there, unchanged, after the seeding (the seeder
drops and rebuilds the foreign keys and secondary indexes of a large load inside its transaction).
Goal: 1 000 000 people in under 5 minutes.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scratch import DEFAULT_URL, scratch_app  # noqa: E402


def backend_cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def schema_objects(session: Any) -> set[tuple[str, str]]:
    """Every index and constraint definition: the seeder may rebuild them, never lose or change one."""
    rows = session.execute(sa.text(
        "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
        "WHERE indrelid::regclass::text NOT LIKE 'pg_%' "
        "UNION ALL SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE connamespace = 'public'::regnamespace"
    )).all()
    return {(name, definition) for name, definition in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--create-all", action="store_true", help="db.create_all() instead of migrations")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()

    with scratch_app(args.url, prefix="h_bench_seed", keep=args.keep, create_all=args.create_all) as app:
        from app.extensions import db

        schema_before = schema_objects(db.session)
        backend_pid = db.session.scalar(sa.text("SELECT pg_backend_pid()"))
        db.session.commit()  # the pooled connection (and its backend) is reused by the command
        runner = app.test_cli_runner()
        cpu0, backend0 = time.process_time(), backend_cpu_seconds(backend_pid)
        started = time.perf_counter()
        result = runner.invoke(
            args=["seed-demo", "--people", str(args.people), "--seed", str(args.seed), "--no-progress"])
        elapsed = time.perf_counter() - started
        cpu, backend1 = time.process_time() - cpu0, backend_cpu_seconds(backend_pid)
        print(result.output)
        if result.exit_code != 0:
            raise SystemExit(f"seed-demo failed ({result.exit_code}): {result.exception!r}")
        db.session.rollback()
        schema_after = schema_objects(db.session)
        if schema_after != schema_before:
            raise SystemExit(f"indexes or constraints differ after seeding: {schema_before ^ schema_after}")
        known = backend0 is not None and backend1 is not None
        backend = f"{backend1 - backend0:.1f} s" if known else "n/a"
        print(
            f"{args.people} people: {elapsed:.1f} s wall, {cpu:.1f} s CPU in Python, "
            f"{backend} CPU in the PostgreSQL backend, load average {os.getloadavg()[0]:.1f}, "
            f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
        )


if __name__ == "__main__":
    main()
