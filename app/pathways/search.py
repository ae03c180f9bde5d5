"""Accent-insensitive search keys for people's names (stored in Beneficiary.search_name).

Names are transliterated to ASCII with `anyascii` (Ł → L, ß → ss, Œ → Oe, Cyrillic, Greek…), so
no letter is lost: « Łukasz » is found by « lukasz », « Straße » by « strasse » or « straße ».
Keys written before this transliteration (which dropped such letters) are rebuilt by
`flask rekey-search-names` (`rekey_search_names`), once after deploying it.

Searching (`search_clause`, `search_rank`, `similar_people_clause`) compares the query, normalised
the same way, with that key, so accents and case never matter and no `unaccent` is needed: the
key is already accent-free, and `unaccent` would only be useful to search columns stored as typed
(it is also only STABLE, so it could not sit in an index expression without a wrapper).
On PostgreSQL two GIN indexes on the key (migration 0009) serve them: `pg_trgm` trigrams for the
substring LIKEs, and the key's words (an array) for the typos, found exactly by listing the words
one edit away (`neighbours`) rather than by trigram similarity, which both misses typos in the
middle of short names (« clemant » shares half its trigrams with « clement ») and accepts names
two edits away (« rousseau » for « roussel »). SQLite keeps the same exact semantics by
scanning, without typo tolerance.
"""
from __future__ import annotations

import re
from typing import Any

import click
import sqlalchemy as sa
from anyascii import anyascii
from flask.cli import with_appcontext
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

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


# --- searching people by name or number -------------------------------------------------------

# A CAF number (7 digits) or a France Travail id (digits, maybe a final letter or digit): compared
# for equality (btree indexes ix_beneficiary_territory_caf / _ft), never searched as a name.
_IDENTIFIER = re.compile(r"^\s*[0-9]{5,}[A-Za-z0-9]?\s*$")
# Below three letters a word has no trigram of its own: it is read as the start of a word (an
# initial, « d » for « Dupont »), which the trigram index still serves (word-start trigrams).
_SHORTEST_SUBSTRING = 3
# From five letters on a word may carry one typo. Shorter words have too many neighbours
# (« marx » → « marc », « mars », « mary »…) for a guess to help.
_SHORTEST_TYPO_TOLERANT = 5
# Each tolerant word costs ~75 look-ups per letter (its neighbours): bounded, whatever the query.
_LONGEST_TYPO_TOLERANT = 20
_MOST_TYPO_TOLERANT_WORDS = 3
_KEY_LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789"  # what `normalise` leaves, but the space


def _words(text: str) -> list[str]:
    """The query's normalised words, each once, in order."""
    return list(dict.fromkeys(normalise(text).split()))


def neighbours(word: str) -> list[str]:
    """Every word one edit from `word` (Damerau): a letter replaced, added or dropped, or two
    neighbours swapped, over the letters of a key; about 75 per letter. Not `word` itself, which
    its LIKE finds: a word typed right then costs one empty look-up of the words index."""
    letters = _KEY_LETTERS
    found: set[str] = set()
    found |= {word[:i] + c + word[i + 1:] for i in range(len(word)) for c in letters}
    found |= {word[:i] + c + word[i:] for i in range(len(word) + 1) for c in letters}
    found |= {word[:i] + word[i + 1:] for i in range(len(word))}
    found |= {word[:i] + word[i + 1] + word[i] + word[i + 2:] for i in range(len(word) - 1)}
    return sorted(found - {word})


class _HasANeighbour(FunctionElement[bool]):
    """A whole word of the key is one of `neighbours(word)` (a few hundred words).

    On PostgreSQL, in one statement: an InitPlan keeps the neighbours that are someone's word
    (one probe each of ix_beneficiary_search_words, most find nothing), then the key's words
    must overlap those few (`&&`, the same index). Overlapping the whole list directly would be
    estimated to match most of the table (the sum of hundreds of element frequencies) and
    planned as a sequential scan comparing hundreds of words per row. Elsewhere (SQLite) never
    true: SQLite has no typo tolerance."""

    type = sa.Boolean()
    name = "has_a_neighbour"
    inherit_cache = True


@compiles(_HasANeighbour, "postgresql")
def _compile_neighbour_postgresql(element: _HasANeighbour, compiler: Any, **kw: Any) -> str:
    key, words = (compiler.process(clause, **kw) for clause in element.clauses)
    table = Beneficiary.__table__.name
    # `string_to_array(…, ' ')`: the very expression of ix_beneficiary_search_words.
    return (
        f"(string_to_array({key}, ' ') && ARRAY(SELECT word FROM unnest(CAST({words} AS TEXT[])) AS word "
        f"WHERE EXISTS (SELECT 1 FROM {table} AS neighbour "
        f"WHERE string_to_array(neighbour.search_name, ' ') @> ARRAY[word])))"
    )


@compiles(_HasANeighbour)
def _compile_neighbour_elsewhere(element: _HasANeighbour, compiler: Any, **kw: Any) -> str:
    return "(1 = 0)"


def _has_a_neighbour(key: sa.ColumnElement[str], word: str) -> sa.ColumnElement[bool]:
    return _HasANeighbour(key, sa.bindparam(None, neighbours(word), type_=postgresql.ARRAY(sa.Text)))


def _tolerant(words: list[str]) -> set[str]:
    """The words that may carry a typo: five to twenty letters, the first three of them."""
    fit = [word for word in words if _SHORTEST_TYPO_TOLERANT <= len(word) <= _LONGEST_TYPO_TOLERANT]
    return set(fit[:_MOST_TYPO_TOLERANT_WORDS])


def _word_clause(key: sa.ColumnElement[str], word: str, *, tolerant: bool) -> sa.ColumnElement[bool]:
    if len(word) < _SHORTEST_SUBSTRING:
        return sa.or_(key.like(f"{word}%"), key.like(f"% {word}%"))  # starts the key or a word of it
    found = key.like(f"%{word}%")  # normalised words are [a-z0-9]: nothing to escape
    return sa.or_(found, _has_a_neighbour(key, word)) if tolerant else found


def search_clause(q: str) -> sa.ColumnElement[bool]:
    """People matching a search box, as a WHERE clause over `Beneficiary`.

    - digits (5 or more, maybe a final letter): the CAF number or the France Travail id, exactly
      (upper-cased, as stored);
    - otherwise every word of the query must match the name key, in any order: a word of three
      letters or more anywhere (« mar » finds « Martin », « segur » « Lefèvre-Ségur »), a shorter
      one as the start of a word (« d » finds « Dupont », not « Aude »);
    - on PostgreSQL a word of five to twenty letters (the first three such) also finds the
      names with a word one edit away (« martn », « dupnot », « clemant », « durant » for « Durand »): order by
      `search_rank` to list the exact matches first;
    - an empty query (no letter nor digit) matches everyone, as no filter.
    Anonymised people (empty key) are never found by name. Add the actor's territory on
    `Beneficiary.territory_id`: the CAF and France Travail indexes start with it.
    """
    text = q.strip()
    if _IDENTIFIER.match(text):
        ident = text.upper()
        return sa.or_(Beneficiary.caf_number == ident, Beneficiary.france_travail_id == ident)
    words = _words(text)
    if not words:
        return sa.true()
    tolerant = _tolerant(words)
    return sa.and_(*[_word_clause(Beneficiary.search_name, word, tolerant=word in tolerant) for word in words])


def search_rank(q: str) -> sa.ColumnElement[int]:
    """How well each person matches `q`, higher first: per word, 2 when it is a whole word of the
    name, 1 when it starts one, 0 otherwise (a substring or a typo). Plain LIKEs on the rows
    found, cheap and the same on both databases. 0 for a search by number or without words."""
    words = [] if _IDENTIFIER.match(q.strip()) else _words(q)
    if not words:
        return sa.cast(sa.literal(0), sa.Integer)  # an expression: PostgreSQL refuses a constant ORDER BY
    padded = " " + Beneficiary.search_name + " "
    scores = [sa.case((padded.like(f"% {w} %"), 2), (padded.like(f"% {w}%"), 1), else_=0) for w in words]
    rank: sa.ColumnElement[int] = scores[0]
    for score in scores[1:]:
        rank = rank + score
    return rank


def similar_people_clause(last_name: str | None, first_name: str | None) -> sa.ColumnElement[bool]:
    """People whose name looks like this one (the duplicate check): every word of the last and
    first names is a whole word of their key, in any order (swapped names, a birth name), with
    accents and case ignored (« CLÉMENT » and « Clement ») and, on PostgreSQL, from five letters
    on, one edit away (« Clemant », « Dupnot »). Matches nobody when no name is given.
    Combine it with the birth date to stay a check, not a way to browse the territory."""
    words = _words(f"{last_name or ''} {first_name or ''}")
    if not words:
        return sa.false()
    key = Beneficiary.search_name
    padded = " " + key + " "

    def whole_word(word: str) -> sa.ColumnElement[bool]:
        # The trigram index serves the plain LIKE; the padded one, on the rows found, is exact.
        return sa.and_(key.like(f"%{word}%"), padded.like(f"% {word} %"))

    tolerant = _tolerant(words)
    return sa.and_(*[
        sa.or_(whole_word(word), _has_a_neighbour(key, word)) if word in tolerant else whole_word(word)
        for word in words
    ])


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
