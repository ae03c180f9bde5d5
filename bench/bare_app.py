"""The practical ceiling for bench/pages.py: a bare Flask page rendering 150 rows from PostgreSQL.

    BARE_DATABASE_URL=postgresql://… gunicorn -w 4 -b 127.0.0.1:8001 --chdir bench bare_app:app

One query (150 people by id) through a pooled SQLAlchemy engine and one Jinja template, no login,
no session, no access rules: what any page of the application costs at least on this machine.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from flask import Flask, render_template_string

app = Flask(__name__)
engine = sa.create_engine(os.environ["BARE_DATABASE_URL"], pool_pre_ping=True)

QUERY = sa.text(
    "SELECT id, last_name, first_name, birth_date, postal_code, city, email FROM beneficiary ORDER BY id LIMIT 150"
)
TEMPLATE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Personnes</title></head>
<body><main><h1>Personnes</h1>
<table><thead><tr><th>N°</th><th>Nom</th><th>Prénom</th><th>Naissance</th><th>Commune</th><th>Courriel</th></tr></thead>
<tbody>
{% for row in rows %}<tr><td>{{ row.id }}</td><td>{{ row.last_name }}</td><td>{{ row.first_name }}</td>
<td>{{ row.birth_date.strftime("%d/%m/%Y") }}</td><td>{{ row.postal_code }} {{ row.city }}</td>
<td>{{ row.email or "—" }}</td></tr>
{% endfor %}</tbody></table></main></body></html>"""


@app.get("/")
def people() -> str:
    with engine.connect() as conn:
        rows = conn.execute(QUERY).all()
    return render_template_string(TEMPLATE, rows=rows)
