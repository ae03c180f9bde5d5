"""Page benchmark: the daily pages and the API under gunicorn, side by side with a bare Flask page.

    .venv/bin/python bench/pages.py                      # 100 000 people, then drop the database
    .venv/bin/python bench/pages.py --people 1000000 --keep --json out.json
    .venv/bin/python bench/pages.py --keep               # reuse h_bench_pages as seeded last time

What it does, in one run: creates its database (h_bench_pages, or --database-url), migrates it,
runs `flask seed-demo --people N` and a first follow-up scan (both timed); starts the application
under gunicorn (4 workers, production configuration) and bench/bare_app.py under its own gunicorn
(4 workers) on free ports; logs in as the demo users through the real login form (CSRF token read
from the form); gets an API token through POST /api/v1/tokens; then runs `wrk` (bench/wrk_report.lua)
against every page in turn. Every page must answer 200, checked once before and on every request
during the run (a 302 to the login page or a 500 fails the bench, it is never reported as fast).
Then times 20 sequential logins (argon2) and reads the memory (RSS) of every gunicorn worker.
Prints one table (page, req/s, ratio to the bare page, p50, p95, p99, status), writes it as JSON
with --json, stops every process it started and drops the database unless --keep.

Needs wrk (`apt-get install -y wrk`) and a local PostgreSQL (trust auth, as in docs/PERFORMANCE.md).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
BIN = ROOT / ".venv" / "bin"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/h_bench_pages"
PASSWORD = "parcours-demo"  # app/demo/data.py DEMO_PASSWORD
USERS = {
    "referent": "referente.cd@demo.parcours.fr",
    "partner": "partenaire.caf@demo.parcours.fr",
    "cd_manager": "responsable.cd@demo.parcours.fr",
    "ft_manager": "responsable.ft@demo.parcours.fr",
}
RECORD_TABS = ("synthese", "freins", "rendez-vous", "journal", "equipe")  # app/pathways/views.py TABS


class BenchError(RuntimeError):
    """The bench cannot give a meaningful number (a page that does not answer 200, a crash…)."""


@dataclass
class Result:
    page: str
    path: str
    user: str
    rps: float = 0.0
    ratio: float | None = None
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    requests: int = 0
    single_ms: float = 0.0  # one request before the run, alone
    status: str = "200"
    extra: dict[str, Any] = field(default_factory=dict)


# ---- processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(cmd: list[str], env: dict[str, str], what: str) -> float:
    """Run a command to completion (its output kept for the error); returns its wall time."""
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise BenchError(f"{what} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    print(f"{what}: {elapsed:.1f} s")
    return elapsed


class Gunicorn:
    """A gunicorn master we started (and stop): `workers` workers on 127.0.0.1:`port`."""

    def __init__(self, name: str, app: str, env: dict[str, str], workers: int, chdir: Path) -> None:
        self.name, self.port = name, free_port()
        self.log = tempfile.NamedTemporaryFile(prefix=f"bench-{name}-", suffix=".log", delete=False)  # noqa: SIM115
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{self.port}", "--chdir", str(chdir),
             "--timeout", "120", "--access-logfile", "-", app],
            cwd=chdir, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.workers = workers

    def wait_ready(self, path: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"gunicorn {self.name} exited: see {self.log.name}")
            try:
                status, _, _ = request(self.port, "GET", path)
                if status == 200 and len(self.worker_pids()) >= self.workers:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise BenchError(f"gunicorn {self.name} not ready after {timeout} s: see {self.log.name}")

    def worker_pids(self) -> list[int]:
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                    pids.append(int(entry.name))
        return sorted(pids)

    def worker_rss_mb(self) -> list[float]:
        sizes = []
        for pid in self.worker_pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
            if match:
                sizes.append(round(int(match.group(1)) / 1024, 1))
        return sizes

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


# ---- HTTP --------------------------------------------------------------------------------------


def request(port: int, method: str, path: str, *, headers: dict[str, str] | None = None,
            body: bytes | None = None) -> tuple[int, dict[str, list[str]], bytes]:
    """One request, no redirect followed (a 302 must be seen as such)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        received: dict[str, list[str]] = {}
        for name, value in response.getheaders():
            received.setdefault(name.lower(), []).append(value)
        return response.status, received, data
    finally:
        conn.close()


class Browser:
    """The cookies of one user (the session cookie is `Secure` in production: sent by hand here)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def _store(self, headers: dict[str, list[str]]) -> None:
        for value in headers.get("set-cookie", []):
            cookie = SimpleCookie()
            cookie.load(value)
            for name, morsel in cookie.items():
                if morsel.value and morsel["max-age"] != "0":
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def call(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
        headers = {"Cookie": self.cookie_header()} if self.cookies else {}
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        status, received, data = request(self.port, method, path, headers=headers, body=body)
        self._store(received)
        return status, received, data

    def login(self, email: str) -> float:
        """GET the form, POST it with its hidden fields (CSRF token); returns the POST's time (s)."""
        status, _, page = self.call("GET", "/connexion")
        if status != 200:
            raise BenchError(f"GET /connexion: {status}")
        fields = dict(re.findall(rb'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
        form = {name.decode(): value.decode() for name, value in fields.items()}
        if "csrf_token" not in form:
            raise BenchError("no CSRF token in the login form")
        form.update(email=email, password=PASSWORD)
        started = time.perf_counter()
        status, headers, _ = self.call("POST", "/connexion", form)
        elapsed = time.perf_counter() - started
        if status != 302 or "/connexion" in headers.get("location", [""])[0]:
            raise BenchError(f"login of {email} failed: {status} {headers.get('location')}")
        return elapsed


# ---- wrk ---------------------------------------------------------------------------------------


def wrk(port: int, path: str, header: str | None, args: argparse.Namespace) -> dict[str, Any]:
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--timeout", "60s",
           "-s", str(BENCH / "wrk_report.lua")]
    if header:
        cmd += ["-H", header]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.duration + 120)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise BenchError(f"wrk {path} failed: {done.stdout}\n{done.stderr}")
    return json.loads(lines[-1])


def drain(url: sa.URL, timeout: float = 180) -> None:
    """Wait until no query of the bench database is running: a slow page's requests still in the
    workers when wrk stops would otherwise be billed to the next page."""
    engine = sa.create_engine(url.set(database="postgres"))
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                busy = conn.scalar(sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = :name AND state = 'active' "
                    "AND pid <> pg_backend_pid()"), {"name": url.database})
            if not busy:
                return
            time.sleep(0.5)
    finally:
        engine.dispose()


def measure(name: str, user: str, port: int, path: str, header: str | None, args: argparse.Namespace) -> Result:
    """Check the page answers 200, then load it with wrk; any non-200 during the run is an error."""
    headers = {}
    if header:
        key, value = header.split(": ", 1)
        headers[key] = value
    started = time.perf_counter()
    status, received, _ = request(port, "GET", path, headers=headers)
    single_ms = (time.perf_counter() - started) * 1000  # alone, unloaded: seen even if wrk completes none
    if status != 200:
        raise BenchError(f"{name} ({path} as {user}): {status} {received.get('location', '')} before the run")
    report = wrk(port, path, header, args)
    drain(sa.make_url(args.database_url))
    result = Result(name, path, user, rps=report["rps"], p50_ms=report["p50_ms"], p95_ms=report["p95_ms"],
                    p99_ms=report["p99_ms"], requests=report["requests"], single_ms=round(single_ms, 1),
                    extra=report)
    problems = []
    if report["non200"]:
        problems.append(f"{report['non200']} × {report['last_bad_status']}")
    if report["socket_errors"] or report["timeouts"]:
        problems.append(f"{report['socket_errors']} socket errors, {report['timeouts']} timeouts")
    if not report["requests"]:
        problems.append(f"no request completed in {args.duration} s")
    if problems:
        result.status = "FAILED: " + ", ".join(problems)
    print(f"  {name:<42} {result.rps:>8.1f} req/s  p50 {result.p50_ms:>8.1f} ms  p95 {result.p95_ms:>8.1f} ms"
          f"  {result.status}", flush=True)
    return result


# ---- database ----------------------------------------------------------------------------------


def database_exists(url: sa.URL) -> bool:
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return bool(conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}))
    finally:
        admin.dispose()


def vacuum_analyze(url: sa.URL) -> tuple[str, float]:
    """VACUUM (ANALYZE) the whole database after the load and the scans, as autovacuum would
    soon after in production: test machines may run with autovacuum off, and a freshly loaded
    database without statistics or visibility map gives plans no production server would run."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            setting = conn.scalar(sa.text("SHOW autovacuum"))
            started = time.perf_counter()
            conn.exec_driver_sql("VACUUM (ANALYZE)")
            elapsed = time.perf_counter() - started
    finally:
        engine.dispose()
    print(f"VACUUM (ANALYZE): {elapsed:.1f} s (autovacuum is {setting} on this server)")
    return str(setting), round(elapsed, 1)


def admin_sql(url: sa.URL, statement: str) -> None:
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(statement)
    finally:
        admin.dispose()


def is_seeded(url: sa.URL) -> bool:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return bool(conn.scalar(sa.text(
                "SELECT to_regclass('territory') IS NOT NULL AND EXISTS (SELECT 1 FROM user_account "
                "WHERE email = :email)"), {"email": USERS["referent"]}))
    except sa.exc.SQLAlchemyError:
        return False
    finally:
        engine.dispose()


def record_pathway(url: sa.URL) -> int:
    """The referent's open pathway with the most meetings (the heaviest record she opens)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            pathway_id = conn.scalar(sa.text(
                "SELECT p.id FROM pathway p JOIN user_account u ON u.id = p.referent_id "
                "WHERE u.email = :email AND p.closed_at IS NULL "
                "ORDER BY (SELECT count(*) FROM meeting m WHERE m.pathway_id = p.id) DESC, p.id LIMIT 1"
            ), {"email": USERS["referent"]})
            counts = dict(conn.execute(sa.text(
                "SELECT 'people', count(*) FROM beneficiary UNION ALL SELECT 'pathways', count(*) FROM pathway "
                "UNION ALL SELECT 'meetings', count(*) FROM meeting UNION ALL SELECT 'entries', count(*) FROM entry"
            )).all())
            print("data:", ", ".join(f"{v} {k}" for k, v in counts.items()))
    finally:
        engine.dispose()
    if pathway_id is None:
        raise BenchError("the demo referent has no open pathway")
    return int(pathway_id)


# ---- the run -----------------------------------------------------------------------------------


def pages(pathway_id: int) -> list[tuple[str, str, str]]:
    """(label, user, path) of every page measured; `api` means the referent's Bearer token."""
    record = f"/parcours/{pathway_id}"
    return [
        ("« Mon portefeuille » (référente)", "referent", "/portefeuille"),
        ("Portefeuille, onglet structure (partenaire)", "partner", "/portefeuille?onglet=structure"),
        *[(f"Fiche, onglet {tab}", "referent", f"{record}?onglet={tab}") for tab in RECORD_TABS],
        ("« Mes alertes »", "referent", "/alertes"),
        ("« Mon agenda »", "referent", "/agenda"),
        ("« Pilotage », territoire (responsable CD)", "cd_manager", "/pilotage"),
        ("« Pilotage », agence (responsable FT)", "ft_manager", "/pilotage"),
        ("API GET /beneficiaries", "api", "/api/v1/beneficiaries"),
        ("API GET /beneficiaries?q=martin", "api", "/api/v1/beneficiaries?q=martin"),
        ("API GET /alerts", "api", "/api/v1/alerts"),
    ]


def print_table(results: list[Result], extras: dict[str, Any]) -> None:
    print()
    header = (f"{'page':<46} {'req/s':>8} {'× bare':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
              f"{'alone ms':>9}  status")
    print(header)
    print("-" * len(header))
    for r in results:
        ratio = f"{r.ratio:.3f}" if r.ratio is not None else "—"
        print(f"{r.page:<46} {r.rps:>8.1f} {ratio:>7} {r.p50_ms:>8.1f} {r.p95_ms:>8.1f} {r.p99_ms:>8.1f} "
              f"{r.single_ms:>9.1f}  {r.status}")
    print()
    for key, value in extras.items():
        print(f"{key}: {value}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_PAGES_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--keep", action="store_true",
                        help="keep the database afterwards, and reuse it (no seeding) when already seeded")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per page")
    parser.add_argument("--logins", type=int, default=20, help="sequential logins timed")
    parser.add_argument("--json", type=Path, help="write the results there")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install -y wrk")

    url = sa.make_url(args.database_url)
    outbox = tempfile.mkdtemp(prefix="bench-outbox-")
    env = {
        **os.environ,
        "PARCOURS_ENV": "production",
        "DATABASE_URL": url.render_as_string(hide_password=False),
        "SECRET_KEY": secrets.token_urlsafe(48),  # production refuses a short or default key
        "SCHEDULER_IN_PROCESS": "0",
        "MAIL_OUTBOX_DIR": outbox,
        # The bench logs in ~30 times from one address: the production limit (10/min) would answer 429.
        "LOGIN_RATE_LIMIT": "100000 per minute",
        "FLASK_APP": "wsgi",
    }
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    servers: list[Gunicorn] = []
    extras: dict[str, Any] = {}
    results: list[Result] = []
    created = False
    failed = False
    try:
        reuse = args.keep and database_exists(url) and is_seeded(url)
        if not reuse:
            if database_exists(url):
                admin_sql(url, f'DROP DATABASE "{url.database}" WITH (FORCE)')
            admin_sql(url, f'CREATE DATABASE "{url.database}"')
            created = True
            run([*flask, "db", "upgrade"], env, "migrations")
            extras["seed_demo_s"] = round(run(
                [*flask, "seed-demo", "--people", str(args.people), "--seed", str(args.seed), "--no-progress"],
                env, f"seed-demo --people {args.people}"), 1)
        else:
            print(f"reusing {url.database} (--keep): no seeding")
            run([*flask, "db", "upgrade"], env, "migrations (the kept database)")
        extras["first_scan_s"] = round(run([*flask, "scheduler", "scan"], env, "first scan"), 1)
        extras["second_scan_s"] = round(run([*flask, "scheduler", "scan"], env, "second scan"), 1)
        extras["autovacuum"], extras["vacuum_analyze_s"] = vacuum_analyze(url)
        pathway_id = record_pathway(url)

        app_server = Gunicorn("app", "wsgi:app", env, args.workers, ROOT)
        servers.append(app_server)
        bare_env = {**env, "BARE_DATABASE_URL": env["DATABASE_URL"]}
        bare_server = Gunicorn("bare", "bare_app:app", bare_env, args.workers, BENCH)
        servers.append(bare_server)
        app_server.wait_ready("/sante")
        bare_server.wait_ready("/")

        browsers = {}
        for role, email in USERS.items():
            browsers[role] = Browser(app_server.port)
            browsers[role].login(email)
        status, _, body = request(app_server.port, "POST", "/api/v1/tokens",
                                  headers={"Content-Type": "application/json"},
                                  body=json.dumps({"email": USERS["referent"], "password": PASSWORD}).encode())
        if status not in (200, 201):
            raise BenchError(f"POST /api/v1/tokens: {status} {body[:300]!r}")
        token = json.loads(body)["token"]

        print(f"\nwrk -t{args.threads} -c{args.connections} -d{args.duration}s, "
              f"{args.workers} gunicorn workers each")
        bare = measure("Bare Flask, 150 rows (plafond)", "-", bare_server.port, "/", None, args)
        results.append(bare)
        for label, user, path in pages(pathway_id):
            header = (f"Authorization: Bearer {token}" if user == "api"
                      else f"Cookie: {browsers[user].cookie_header()}")
            results.append(measure(label, user, app_server.port, path, header, args))
        for r in results:
            r.ratio = round(r.rps / bare.rps, 3) if bare.rps else None

        timings = [Browser(app_server.port).login(USERS["referent"]) * 1000 for _ in range(args.logins)]
        timings.sort()
        extras["login_ms"] = {
            "p50": round(statistics.median(timings), 1),
            "p95": round(timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))], 1),
            "n": len(timings),
        }
        extras["rss_mb"] = {"app": app_server.worker_rss_mb(), "bare": bare_server.worker_rss_mb()}
        extras["people"] = args.people if not reuse else "reused"
        extras["load_average"] = round(os.getloadavg()[0], 2)
        failed = any(r.status != "200" for r in results)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(outbox, ignore_errors=True)
        if not args.keep and (created or database_exists(url)):
            admin_sql(url, f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')

    print_table(results, extras)
    if args.json:
        args.json.write_text(json.dumps({"pages": [asdict(r) for r in results], **extras}, indent=2,
                                        ensure_ascii=False) + "\n")
        print(f"written to {args.json}")
    if failed:
        print("FAILED: at least one page gave no valid number (a non-200 answer, socket errors or timeouts, "
              "or no request completed: try a longer --duration)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        sys.exit(2)
