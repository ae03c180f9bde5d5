"""A database that cannot take a write (issue 12, point 2: read-only, disk full, gone): a clear 503
that says nothing was saved, problem+json on the API, Retry-After — never a 500, nothing
half-written."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from app.extensions import db
from app.pathways.models import Entry
from tests.web_helpers import login_as, text
from tests.world import World

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def refusing(statement_start: str, error: str) -> Iterator[None]:
    """The database refuses the statements that start with `statement_start`, as a full disk or a
    read-only server does (the DB-API error the driver would raise, at the cursor)."""
    dialect = db.engine.dialect

    def before(_conn, _cursor, statement: str, _parameters, _context, _many) -> None:
        if statement.lstrip().upper().startswith(statement_start):
            raise sa.exc.OperationalError(statement, None, dialect.loaded_dbapi.OperationalError(error))

    sa.event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", before)


def _entries() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Entry))


def test_a_note_refused_by_a_full_disk_is_a_503_page_and_nothing_is_written(client, world: World) -> None:
    login_as(client, world.referent)
    before = _entries()
    with refusing("INSERT INTO ENTRY", "could not extend file: No space left on device"):
        response = client.post(f"/parcours/{world.pathway.id}/journal",
                               data={"body": "Entretien du jour.", "visibility": "team"})
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    page = text(response)
    assert "Service momentanément indisponible" in page and "rien n'a été enregistré" in page
    assert response.headers["X-Request-Id"] in page
    assert "No space left" not in page
    assert _entries() == before
    assert client.get(f"/parcours/{world.pathway.id}").status_code == 200  # and the next page works


def test_the_api_answers_a_503_problem(client, world: World, api) -> None:
    before = _entries()
    with refusing("INSERT INTO ENTRY", "cannot execute INSERT in a read-only transaction"):
        response = api(world.referent).post(f"/pathways/{world.pathway.id}/entries",
                                            json={"body": "Note.", "visibility": "team"})
    assert response.status_code == 503 and response.mimetype == "application/problem+json"
    assert response.get_json()["title"] == "Service momentanément indisponible"
    assert _entries() == before


def test_a_read_only_database_file_gives_the_503_page(tmp_path: Path) -> None:
    """A real read-only database (SQLite opened `mode=ro`): the login's write is refused by it."""
    database = tmp_path / "parcours.db"
    script = textwrap.dedent(f"""
        import os
        from app import create_app
        from app.extensions import db
        from tests.factories import PASSWORD, UserFactory

        os.environ["TEST_DATABASE_URL"] = "sqlite:///{database}"
        app = create_app("testing")
        with app.app_context():
            db.create_all()
            UserFactory._meta.sqlalchemy_session = db.session
            user = UserFactory(email="lecture.seule@exemple.fr")
            db.session.commit()
        os.environ["TEST_DATABASE_URL"] = "sqlite:///file:{database}?mode=ro&uri=true"
        readonly = create_app("testing")
        answer = readonly.test_client().post("/connexion", data={{"email": "lecture.seule@exemple.fr",
                                                                  "password": PASSWORD}})
        print(answer.status_code, answer.headers.get("Retry-After"))
        from html import unescape
        print("rien n'a été enregistré" in unescape(answer.get_data(as_text=True)))
    """)
    env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env={**env, "PARCOURS_ENV": "testing"},
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.strip().splitlines()
    assert lines[-2:] == ["503 30", "True"], run.stdout + run.stderr[-2000:]
