"""Helpers for tests of the HTML workspace through the Flask test client."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html import unescape
from typing import Any

from flask import g

from app.db_types import utcnow
from app.validation import PARIS
from tests.factories import PASSWORD


def login_as(client: Any, user: Any) -> None:
    """Log in through the login form (Flask-Login's strong session protection needs it)."""
    client.post("/deconnexion")
    response = client.post("/connexion", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302, f"login failed for {user.email}"


def text(response: Any) -> str:
    return unescape(response.get_data(as_text=True))


def csrf_token(client: Any, path: str) -> str:
    g.pop("csrf_token", None)
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF token in {path}"
    return match.group(1)


def field_error(html: str, field: str) -> str | None:
    """The French error shown next to a field (`champ-<field>-erreur`), if any."""
    match = re.search(rf'id="champ-{field}-erreur" class="fr-error-text">([^<]+)<', html)
    return unescape(match.group(1)) if match else None


def local_input(moment: datetime) -> str:
    """A moment as a `datetime-local` field takes it: Paris wall-clock time, to the minute."""
    return moment.astimezone(PARIS).strftime("%Y-%m-%dT%H:%M")


def local_input_in(delta: timedelta) -> str:
    """`local_input` of the real clock's now plus `delta` (forms compare with the real clock)."""
    return local_input(utcnow() + delta)


def xlsx_rows(data: bytes) -> list[list[str]]:
    """The cells of an XLSX's first sheet as text (XlsxWriter's constant-memory mode writes inline
    strings: no shared-strings table to follow)."""
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    rows = []
    for row in re.findall(r"<row [^>]*>(.*?)</row>", sheet, flags=re.S):
        cells = []
        for cell in re.findall(r"<c [^>]*?(?:/>|>(.*?)</c>)", row, flags=re.S):
            texts = re.findall(r"<t[^>]*>(.*?)</t>", cell, flags=re.S) or re.findall(r"<v>(.*?)</v>", cell)
            cells.append(unescape("".join(texts)))
        rows.append(cells)
    return rows


def body_text(response: Any) -> str:
    """What a response says, whatever its format: an HTML page, a CSV, or an XLSX's cells."""
    if response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
        return "\n".join("\t".join(row) for row in xlsx_rows(response.get_data()))
    return text(response)
