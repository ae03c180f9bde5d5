"""Accent-insensitive search keys for people's names (stored in Beneficiary.search_name).

Names are transliterated to ASCII with `anyascii` (Ł → L, ß → ss, Œ → Oe, Cyrillic, Greek…), so
no letter is lost: « Łukasz » is found by « lukasz », « Straße » by « strasse » or « straße ».
Keys written before this transliteration (which dropped such letters) are rebuilt by
`flask rekey-search-names` (`rekey_search_names`), once after deploying it.
"""
from __future__ import annotations

import re

import click
import sqlalchemy as sa
from anyascii import anyascii
from flask.cli import with_appcontext

from app.extensions import db
from app.pathways.models import Beneficiary
from app.transaction import unit_of_work

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
KEY_LENGTH = 255  # Beneficiary.search_name: one character may transliterate to several


def normalise(text: str | None) -> str:
    """'Émilie  D'Aubigné-Ségur' → 'emilie d aubigne segur'; 'Łukasz Straße' → 'lukasz strasse'."""
    if not text:
        return ""
    return _NON_ALNUM.sub(" ", anyascii(text).lower()).strip()


def search_key(last_name: str | None, first_name: str | None, birth_name: str | None = None) -> str:
    key = " ".join(part for part in (normalise(last_name), normalise(first_name), normalise(birth_name)) if part)
    return key[:KEY_LENGTH]


def rekey_search_names(*, batch_size: int = 1000) -> int:
    """Rebuild every stored search key with today's `search_key`; returns how many changed.

    Walks the people by id, a batch per transaction, and writes only the keys that differ.
    Anonymised people (empty key, names replaced) keep their empty key.
    """

    table = Beneficiary.__table__
    changed, after = 0, 0
    while True:
        rows = db.session.execute(
            sa.select(table.c.id, table.c.last_name, table.c.first_name, table.c.birth_name, table.c.search_name)
            .where(table.c.id > after, table.c.search_name != "")
            .order_by(table.c.id)
            .limit(batch_size)
        ).all()
        if not rows:
            return changed
        updates = [
            {"key_id": row.id, "key": key}
            for row in rows
            if (key := search_key(row.last_name, row.first_name, row.birth_name)) != row.search_name
        ]
        if updates:
            with unit_of_work():
                statement = sa.update(table).where(table.c.id == sa.bindparam("key_id"))
                db.session.execute(statement.values(search_name=sa.bindparam("key")), updates)
            changed += len(updates)
        after = rows[-1].id


@click.command("rekey-search-names")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 100_000))
@with_appcontext
def rekey_search_names_command(batch_size: int) -> None:
    """Rebuild the people's search keys (after a change of `search_key`)."""
    changed = rekey_search_names(batch_size=batch_size)
    click.echo(f"{changed} clé(s) de recherche reconstruite(s).")
