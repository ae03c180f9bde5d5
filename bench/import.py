"""Benchmark of the import of people (issue #15) on PostgreSQL: 100 000 rows in CSV and in XLSX.

    .venv/bin/python bench/import.py                 # 100 000 rows, database dropped after
    .venv/bin/python bench/import.py --rows 20000 --keep

Creates a scratch database (migrations), a territory with 10 agencies and 400 professionals, then
generates two Carnet de bord files of N different people each (1 % with an impossible date, half
with a referent, a third with a second structure in the team) and times, through the same
services as `flask import beneficiaries`:
  1. the CSV: read + mapping (job created), then the run (checks, matching, bulk writes, alerts and
     follow-up summaries of the new pathways, audit events);
  2. the XLSX (python-calamine), N more people, matched against the N already on file;
  3. the CSV again: every row matched, nothing written (a re-import changes nothing).
Goal: N = 100 000 rows in ≤ 60 s each, on PostgreSQL.
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scratch import BENCH_TERRITORY_SQL, DEFAULT_URL, scratch_app  # noqa: E402

SEED_SQL = """
""" + BENCH_TERRITORY_SQL + """SELECT setval(pg_get_serial_sequence('territory', 'id'), 1);
SELECT setval(pg_get_serial_sequence('agency', 'id'), 10);
SELECT setval(pg_get_serial_sequence('user_account', 'id'), 400);
"""
FIRST = ["Amina", "Jean", "Léa", "Mohamed", "Sophie", "Lucas", "Fatou", "Hugo", "Chloé", "Karim", "Inès", "Paul"]
LAST = ["Martin", "Bernard", "Diallo", "Dubois", "Nguyen", "Moreau", "Traoré", "Laurent", "Benali", "Petit"]


def rows(n: int, offset: int, seed: int) -> list[list[object]]:
    from app.imports.mapping import CARNET_DE_BORD_HEADERS

    rng = random.Random(seed)
    out: list[list[object]] = [list(CARNET_DE_BORD_HEADERS)]
    for i in range(offset, offset + n):
        born = date(1960 + i % 40, 1 + i % 12, 1 + i % 28)
        text = f"31/02/{born.year}" if i % 100 == 7 else born.strftime("%d/%m/%Y")
        agency = 1 + i % 10
        structure = f"Structure {agency}" + (f", Structure {1 + (i + 3) % 10}" if i % 3 == 0 else "")
        # Half the rows name a referent of the lead agency (user u works at agency 1 + u % 10).
        referent = f"referent{agency - 1 + 10 * rng.randrange(1, 40)}@bench.test" if i % 2 == 0 else ""
        out.append([
            f"SI{i}", rng.choice(FIRST), f"{rng.choice(LAST)}{i}", text, "1850593123456 78", "Bobigny",
            "06 12 34 56 78", f"personne{i}@exemple.org", f"{i % 200} rue de la République", "", "93000",
            "Bobigny", "", f"{i:07d}", f"{i:07d}A", "Oui" if i % 2 else "Non", "Non", "", "", "", "", "", "",
            structure, referent,
        ])
    return out


def write_csv(path: Path, table: list[list[object]]) -> None:
    import csv

    with path.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f, delimiter=";", lineterminator="\r\n").writerows(table)


def write_xlsx(path: Path, table: list[list[object]]) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Bénéficiaires")
    for r in table:
        sheet.append(r)
    book.save(path)


def backend_cpu_seconds(pid: int) -> float | None:
    """CPU time of a local PostgreSQL backend (user + system), from /proc; None if not readable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def timed_import(territory, path: Path, profile: bool = False) -> dict[str, float | int]:
    from app.extensions import db
    from app.imports import services

    backend_pid = db.session.scalar(sa.text("SELECT pg_backend_pid()"))
    db.session.commit()  # the pooled connection (and its backend) is reused by the import
    cpu0, backend0 = time.process_time(), backend_cpu_seconds(backend_pid)
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    job = services.create_job(None, territory, filename=path.name, content=path.read_bytes(),
                              preset="carnet-de-bord")
    read = time.perf_counter() - started
    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        job = profiler.runcall(services.run_job, job.id)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    else:
        job = services.run_job(job.id)
    total = time.perf_counter() - started
    cpu, backend1 = time.process_time() - cpu0, backend_cpu_seconds(backend_pid)
    children1 = resource.getrusage(resource.RUSAGE_CHILDREN)  # the checking process, once it has ended
    checker = (children1.ru_utime + children1.ru_stime) - (children0.ru_utime + children0.ru_stime)
    backend = round(backend1 - backend0, 1) if backend0 is not None and backend1 is not None else None
    return {"read_s": round(read, 1), "total_s": round(total, 1), "python_cpu_s": round(cpu, 1),
            "checker_cpu_s": round(checker, 1),
            "postgres_cpu_s": backend, "load": round(os.getloadavg()[0], 1), "created": job.created_count,
            "updated": job.updated_count, "unchanged": job.unchanged_count, "rejected": job.rejected_count}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile of the first run")
    parser.add_argument("--url", default=DEFAULT_URL)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp, scratch_app(args.url, prefix="h_bench_import", keep=args.keep) as app:
        from app.accounts.models import Territory
        from app.extensions import db

        with db.engine.begin() as conn:
            for statement in filter(str.strip, SEED_SQL.split(";\n")):
                conn.execute(sa.text(statement), {"now": datetime.now(timezone.utc)})
        csv_path, xlsx_path = Path(tmp) / "personnes.csv", Path(tmp) / "personnes.xlsx"
        t = time.perf_counter()
        write_csv(csv_path, rows(args.rows, 0, 1))
        write_xlsx(xlsx_path, rows(args.rows, args.rows, 2))
        print(f"files generated in {time.perf_counter() - t:.1f} s "
              f"(CSV {csv_path.stat().st_size / 1e6:.1f} MB, XLSX {xlsx_path.stat().st_size / 1e6:.1f} MB)")
        territory = db.session.scalar(sa.select(Territory).where(Territory.code == "B1"))
        if args.profile:  # time spent by kind of statement
            spent: dict[str, float] = {}

            @sa.event.listens_for(db.engine, "before_cursor_execute")
            def _before(conn, cursor, statement, *a):  # noqa: ANN001, ANN202
                conn.info["t0"] = time.perf_counter()

            @sa.event.listens_for(db.engine, "after_cursor_execute")
            def _after(conn, cursor, statement, *a):  # noqa: ANN001, ANN202
                key = " ".join(statement.split()[:3])[:60]
                spent[key] = spent.get(key, 0) + time.perf_counter() - conn.info["t0"]
        for n, (label, path) in enumerate((("CSV, new people", csv_path), ("XLSX, new people", xlsx_path),
                                           ("CSV again (re-import)", csv_path))):
            result = timed_import(territory, path, profile=args.profile and n == 0)
            print(f"{label:24} {result}")
            if args.profile and n == 0:
                for key, seconds in sorted(spent.items(), key=lambda kv: -kv[1])[:15]:
                    print(f"   {seconds:6.2f} s  {key}")
        with app.app_context():
            people = db.session.scalar(sa.text("SELECT count(*) FROM beneficiary"))
            drift = db.session.scalar(sa.text("SELECT count(*) FROM pathway WHERE open_alert_count <> 0"))
        print(f"people on file: {people}; pathways with open alerts: {drift}")
        print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; "
              f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
