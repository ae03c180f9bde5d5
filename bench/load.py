"""Load test (issue #12): mixed traffic of many users under gunicorn, then every acknowledged write
is looked up in the database. Optionally, PostgreSQL is restarted in the middle of the run.

    .venv/bin/python bench/load.py --people 100000 --duration 600            # 10 minutes
    .venv/bin/python bench/load.py --keep --duration 120 --restart-postgres-at 60
    .venv/bin/python bench/load.py --people 1000000 --keep --duration 600 --json load-1m.json

What it does: the database of bench/pages.py (h_bench_pages, seeded with `flask seed-demo --people
N` unless --keep finds it seeded), a follow-up scan, the application under gunicorn (production
configuration, --workers); then --users referents of the demo territory (those with the most open
pathways) and the two managers log in through the real login form, and get an API token each.
wrk (bench/load_mix.lua, one connection per thread, --threads) then sends ~85 % reads — « Mon
portefeuille », every tab of the record, « Mes alertes », « Mon agenda », « Pilotage », API lists,
search and timeline, a beneficiary — and ~15 % writes through the API: journal entries, meetings
planned (half of them then moved with If-Match), meetings logged as held with the next one
planned, barriers (half of them then referred to a partner agency), beneficiaries patched with
If-Match. Every request is made as one of the users, who change as the run goes.

Afterwards: each write wrk saw acknowledged (201, or 200 for a PATCH) is looked up — the entry, the
meeting, the barrier, the referral, the moved meeting's new version, the patched phone number.
Prints req/s, p50/p95/p99, the statuses that were neither 200 nor 201 by kind of request, and the
acknowledged writes missing from the database (must be 0). With --restart-postgres-at S, the
cluster is restarted S seconds into the run (`pg_ctlcluster … restart`, fast mode) and a prober
reports how long the readiness check (/sante/pret) took to answer 200 again.

It also prints, per route, the server's own figures read from the application's request log
lines (JSON in production): requests, share of the server's time, mean and percentiles, and the
mean database wait, Python CPU and statements — which kind of request bounds the load.

Goal (issue #12): ≥ 300 req/s, p99 < 200 ms, 0 errors, 0 acknowledged writes lost.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pages import (  # noqa: E402
    BENCH,
    BIN,
    DEFAULT_URL,
    PASSWORD,
    ROOT,
    USERS,
    BenchError,
    Browser,
    Gunicorn,
    admin_sql,
    database_exists,
    is_seeded,
    request,
    run,
)

READINESS = "/sante/pret"


def pick_users(url: sa.URL, count: int) -> list[dict[str, Any]]:
    """The demo territory's referents with the most open pathways, their pathways and people, and a
    partner agency (for referrals); then the two managers."""
    engine = sa.create_engine(url)
    users: list[dict[str, Any]] = []
    try:
        with engine.connect() as conn:
            territory = conn.scalar(sa.text("SELECT territory_id FROM user_account WHERE email = :e"),
                                    {"e": USERS["referent"]})
            partner = conn.scalar(sa.text(
                "SELECT id FROM agency WHERE territory_id = :t AND kind = 'ccas' AND is_active ORDER BY id LIMIT 1"),
                {"t": territory})
            rows = conn.execute(sa.text(
                "SELECT u.id, u.email FROM user_account u JOIN pathway p ON p.referent_id = u.id "
                "WHERE u.territory_id = :t AND p.closed_at IS NULL AND u.is_active_account "
                "GROUP BY u.id, u.email ORDER BY count(*) DESC, u.id LIMIT :n"), {"t": territory, "n": count}).all()
            for uid, email in rows:
                pathways = conn.execute(sa.text(
                    "SELECT id, beneficiary_id FROM pathway WHERE referent_id = :u AND closed_at IS NULL "
                    "ORDER BY id LIMIT 25"), {"u": uid}).all()
                users.append({"email": email, "pathways": [p[0] for p in pathways],
                              "beneficiaries": [p[1] for p in pathways], "partner_agency": partner})
            for role in ("cd_manager", "ft_manager"):
                pathways = conn.execute(sa.text(
                    "SELECT p.id, p.beneficiary_id FROM pathway p JOIN user_account u ON u.agency_id = p.lead_agency_id "
                    "WHERE u.email = :e AND p.closed_at IS NULL ORDER BY p.id LIMIT 25"), {"e": USERS[role]}).all()
                users.append({"email": USERS[role], "pathways": [p[0] for p in pathways],
                              "beneficiaries": [p[1] for p in pathways], "partner_agency": partner,
                              "pilotage": "/pilotage"})
    finally:
        engine.dispose()
    if len(users) < 3:
        raise BenchError("not enough referents with open pathways in the demo territory")
    return users


def lua_users(users: list[dict[str, Any]]) -> str:
    def value(v: Any) -> str:
        if isinstance(v, str):
            return json.dumps(v)  # a JSON string is a valid Lua string for these ASCII values
        if isinstance(v, list):
            return "{" + ", ".join(value(x) for x in v) + "}"
        if v is None:
            return "nil"
        return str(v)

    keys = ("cookie", "token", "pathways", "beneficiaries", "partner_agency", "pilotage")
    entries = ["{" + ", ".join(f"{k} = {value(u.get(k))}" for k in keys if u.get(k) is not None) + "}"
               for u in users]
    return "return {\n  " + ",\n  ".join(entries) + "\n}\n"


def sign_in(port: int, users: list[dict[str, Any]]) -> list[dict[str, Any]]:
    signed = []
    for user in users:
        browser = Browser(port)
        try:
            browser.login(user["email"])
        except BenchError as exc:
            print(f"  skipped {user['email']}: {exc}")
            continue
        status, _, body = request(port, "POST", "/api/v1/tokens", headers={"Content-Type": "application/json"},
                                  body=json.dumps({"email": user["email"], "password": PASSWORD}).encode())
        if status not in (200, 201):
            print(f"  skipped {user['email']}: POST /api/v1/tokens {status}")
            continue
        signed.append({**user, "cookie": browser.cookie_header(), "token": json.loads(body)["token"]})
    return signed


class Prober(threading.Thread):
    """Polls the readiness check every 100 ms; records when it failed and answered again."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.stop = threading.Event()
        self.outages: list[tuple[float, float | None]] = []  # (first failure, first success after) monotonic

    def run(self) -> None:
        down_since: float | None = None
        while not self.stop.is_set():
            try:
                status, _, _ = request(self.port, "GET", READINESS)
            except OSError:
                status = 0
            now = time.monotonic()
            if status != 200 and down_since is None:
                down_since = now
            elif status == 200 and down_since is not None:
                self.outages.append((down_since, now))
                down_since = None
            time.sleep(0.1)
        if down_since is not None:
            self.outages.append((down_since, None))


def restart_postgres(after: float, log: dict[str, Any]) -> None:
    time.sleep(after)
    version = sorted(os.listdir("/etc/postgresql"))[0]
    started = time.monotonic()
    done = subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart", "-m", "fast"],
                          capture_output=True, text=True)
    log["restart"] = {"at_s": after, "took_s": round(time.monotonic() - started, 2), "rc": done.returncode,
                      "stderr": done.stderr.strip()[-300:], "monotonic": started}


def verify(url: sa.URL, acks_path: Path) -> dict[str, Any]:
    """Every acknowledged write, looked up."""
    acks: dict[str, list[list[str]]] = {}
    for line in acks_path.read_text().splitlines():
        kind, *rest = line.split(":", 2)
        acks.setdefault(kind, []).append(rest)
    tables = {"entry": "entry", "meeting": "meeting", "meeting_log": "meeting", "barrier": "barrier",
              "referral": "referral"}
    missing: dict[str, int] = {}
    counts = {kind: len(v) for kind, v in acks.items()}
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            for kind, table in tables.items():
                ids = sorted({int(r[0]) for r in acks.get(kind, [])})
                found = set(conn.scalars(sa.text(f"SELECT id FROM {table} WHERE id = ANY(:ids)"), {"ids": ids}))
                missing[kind] = len(set(ids) - found)
            held = sorted({int(r[0]) for r in acks.get("meeting_log", [])})
            missing["meeting_log (held)"] = len(held) - (conn.scalar(sa.text(
                "SELECT count(*) FROM meeting WHERE id = ANY(:ids) AND status = 'held'"), {"ids": held}) or 0)
            moved = sorted({int(r[0]) for r in acks.get("meeting_moved", [])})
            missing["meeting_moved"] = len(moved) - (conn.scalar(sa.text(
                "SELECT count(*) FROM meeting WHERE id = ANY(:ids) AND version >= 2"), {"ids": moved}) or 0)
            patched: dict[int, str] = {}
            versions: dict[int, set[int]] = {}
            twice = 0  # two acknowledged PATCHes made the same version: If-Match let one overwrite the other
            rows = []
            for bid, rest in acks.get("beneficiary_patch", []):
                version, phone = rest.split(":", 1)
                rows.append((int(bid), int(version), phone))
            for bid, version, phone in sorted(rows, key=lambda row: (row[0], row[1])):
                twice += version in versions.setdefault(bid, set())
                versions[bid].add(version)
                patched[bid] = phone  # the value of the highest version: what the database must hold
            missing["beneficiary_patch (same version twice)"] = twice
            phones = dict(conn.execute(sa.text("SELECT id, phone FROM beneficiary WHERE id = ANY(:ids)"),
                                       {"ids": sorted(patched)}).all())
            # A person patched twice keeps the later phone; each acknowledged PATCH changed the version.
            missing["beneficiary_patch"] = sum(1 for bid, phone in patched.items() if phones.get(bid) is None)
            missing["beneficiary_patch (last value)"] = sum(1 for bid, phone in patched.items()
                                                            if phones.get(bid) != phone)
    finally:
        engine.dispose()
    return {"acknowledged": counts, "missing": missing, "lost": sum(missing.values())}


def route_breakdown(log_path: str, offset: int) -> list[dict[str, Any]]:
    """Server-side figures per route from the application's JSON request lines written after
    `offset` (the run's): requests, share of the server's time, mean and percentiles, and how much
    of it was database wait and Python CPU. This is what tells which kind of request bounds the load."""
    per: dict[str, list[tuple[float, float, float, int]]] = {}
    with open(log_path, "rb") as handle:
        handle.seek(offset)
        for raw in handle:
            if not raw.startswith(b"{"):
                continue
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if line.get("event") != "request":
                continue
            key = f"{line['method']} {line['route']}"
            per.setdefault(key, []).append((float(line["duration_ms"]), float(line.get("db_ms", 0)),
                                            float(line.get("cpu_ms", 0)), int(line.get("db_statements", 0))))
    total = sum(d for rows in per.values() for d, *_ in rows) or 1.0
    out = []
    for key, rows in per.items():
        durations = sorted(d for d, *_ in rows)
        n = len(rows)

        def pct(q: float, values: list[float] = durations) -> float:
            return round(values[min(len(values) - 1, int(q * len(values)))], 1)

        out.append({"route": key, "requests": n, "share_of_server_time": round(sum(durations) / total, 3),
                    "mean_ms": round(sum(durations) / n, 1), "p50_ms": pct(0.5), "p95_ms": pct(0.95),
                    "p99_ms": pct(0.99), "db_ms_mean": round(sum(r[1] for r in rows) / n, 1),
                    "cpu_ms_mean": round(sum(r[2] for r in rows) / n, 1),
                    "statements_mean": round(sum(r[3] for r in rows) / n, 1)})
    return sorted(out, key=lambda row: -row["share_of_server_time"])


def print_breakdown(rows: list[dict[str, Any]]) -> None:
    print(f"{'route':58} {'n':>6} {'share':>6} {'mean':>7} {'p50':>7} {'p95':>7} {'p99':>7} {'db':>6} {'cpu':>6} {'stmts':>5}")
    for r in rows:
        print(f"{r['route'][:58]:58} {r['requests']:>6} {r['share_of_server_time']:>6.3f} {r['mean_ms']:>7.1f} "
              f"{r['p50_ms']:>7.1f} {r['p95_ms']:>7.1f} {r['p99_ms']:>7.1f} {r['db_ms_mean']:>6.1f} "
              f"{r['cpu_ms_mean']:>6.1f} {r['statements_mean']:>5.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_PAGES_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--keep", action="store_true", help="keep the database, reuse it when already seeded")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8, help="wrk threads = connections (one each)")
    parser.add_argument("--users", type=int, default=40, help="referents signed in (plus two managers)")
    parser.add_argument("--duration", type=int, default=600, help="seconds of load")
    parser.add_argument("--write-share", type=float, default=0.15)
    parser.add_argument("--restart-postgres-at", type=float, help="restart PostgreSQL that many seconds in")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install -y wrk")

    url = sa.make_url(args.database_url)
    outbox = tempfile.mkdtemp(prefix="bench-load-outbox-")
    env = {
        **os.environ, "PARCOURS_ENV": "production", "DATABASE_URL": url.render_as_string(hide_password=False),
        "SECRET_KEY": secrets.token_urlsafe(48), "SCHEDULER_IN_PROCESS": "0", "MAIL_OUTBOX_DIR": outbox,
        "LOGIN_RATE_LIMIT": "100000 per minute", "FLASK_APP": "wsgi",
    }
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    server: Gunicorn | None = None
    created = False
    result: dict[str, Any] = {}
    try:
        reused = args.keep and database_exists(url) and is_seeded(url)
        if not reused:
            if database_exists(url):
                admin_sql(url, f'DROP DATABASE "{url.database}" WITH (FORCE)')
            admin_sql(url, f'CREATE DATABASE "{url.database}"')
            created = True
            run([*flask, "db", "upgrade"], env, "migrations")
            run([*flask, "seed-demo", "--people", str(args.people), "--seed", str(args.seed), "--no-progress"],
                env, f"seed-demo --people {args.people}")
        run([*flask, "scheduler", "scan"], env, "scan")
        users = pick_users(url, args.users)
        server = Gunicorn("app", "wsgi:app", env, args.workers, ROOT)
        server.wait_ready("/sante")
        users = sign_in(server.port, users)
        print(f"{len(users)} users signed in (web session and API token each)")
        work = Path(tempfile.mkdtemp(prefix="bench-load-"))
        (work / "users.lua").write_text(lua_users(users))
        now = datetime.now(timezone.utc).astimezone()
        wrk_env = {**os.environ, "LOAD_USERS": str(work / "users.lua"), "LOAD_ACKS": str(work / "acks.txt"),
                   "LOAD_WRITE_SHARE": str(args.write_share),
                   "LOAD_FUTURE": (now + timedelta(days=7)).replace(hour=10, minute=0, second=0, microsecond=0).isoformat(),
                   "LOAD_LATER": (now + timedelta(days=8)).replace(hour=14, minute=30, second=0, microsecond=0).isoformat(),
                   "LOAD_PAST": (now - timedelta(hours=1)).replace(microsecond=0).isoformat()}
        prober = Prober(server.port)
        prober.start()
        fault: dict[str, Any] = {}
        restarter = None
        if args.restart_postgres_at is not None:
            restarter = threading.Thread(target=restart_postgres, args=(args.restart_postgres_at, fault), daemon=True)
            restarter.start()
        log_offset = Path(server.log.name).stat().st_size
        cmd = ["wrk", f"-t{args.threads}", f"-c{args.threads}", f"-d{args.duration}s", "--timeout", "30s",
               "-s", str(BENCH / "load_mix.lua"), f"http://127.0.0.1:{server.port}"]
        print(" ".join(cmd))
        done = subprocess.run(cmd, capture_output=True, text=True, env=wrk_env, timeout=args.duration + 300)
        prober.stop.set()
        prober.join()
        if restarter is not None:
            restarter.join()
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode != 0 or not lines:
            raise BenchError(f"wrk failed: {done.stdout}\n{done.stderr}")
        report = json.loads(lines[-1])
        checked = verify(url, work / "acks.txt")
        result = {"people": "reused (--keep)" if reused else args.people, "users": len(users), "workers": args.workers, "threads": args.threads,
                  "duration_s": args.duration, "load_average": round(os.getloadavg()[0], 2), **report, **checked,
                  "routes": route_breakdown(server.log.name, log_offset)}
        print_breakdown(result["routes"])
        if fault:
            start = fault["restart"].pop("monotonic")
            outages = [(round(a - start, 2), round(b - a, 2) if b else None) for a, b in prober.outages]
            fault["readiness_outages"] = [{"from_restart_s": a, "lasted_s": d} for a, d in outages]
            result["fault"] = fault
        shutil.rmtree(work, ignore_errors=True)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(outbox, ignore_errors=True)
        if not args.keep and (created or database_exists(url)):
            admin_sql(url, f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')

    print(json.dumps(result, indent=2, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    unexpected = {k: v for k, v in result.get("statuses", {}).items() if not re.search(r":20[01]$", k)}
    ok = (result.get("lost") == 0 and not result.get("socket_errors") and not result.get("timeouts")
          and (not unexpected or args.restart_postgres_at is not None))
    print("unexpected statuses:", unexpected or "none")
    print("RESULT:", "OK" if ok else "FAILED",
          f"— {result.get('rps')} req/s, p99 {result.get('p99_ms')} ms, {result.get('lost')} acknowledged writes lost")
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        sys.exit(2)
