"""Searching people by name or number (app/pathways/search.py), on SQLite and PostgreSQL.

Names are matched on their accent-free key, each query word on its own; typos are tolerated on
PostgreSQL only (pg_trgm), SQLite keeping the exact matches. The index and its plans at scale are
checked in test_search_at_scale.py.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.pathways.models import Beneficiary
from app.pathways.search import search_clause, search_key, search_rank, similar_people_clause
from tests.factories import BeneficiaryFactory, TerritoryFactory

PEOPLE = [
    # (last name, first name, birth name, CAF number, France Travail id)
    ("Clément", "Hélène", None, "7654321", None),
    ("Dupont", "Marie", None, None, "12345678K"),
    ("Martin", "Paul", None, "1111111", None),
    ("Lefèvre-Ségur", "Émilie", "Dubois", None, "2345678A"),
    ("Durand", "Louis", None, None, None),
    ("Durant", "Lucie", None, None, None),
    ("Aude", "Noël", None, None, None),
    ("Nguyễn", "Văn Anh", None, None, None),
]


@pytest.fixture
def people() -> dict[str, Beneficiary]:
    """A small territory of people, and one of another territory with a look-alike name."""
    territory = TerritoryFactory()
    made = {
        last: BeneficiaryFactory(
            territory_id=territory.id,
            last_name=last,
            first_name=first,
            birth_name=birth,
            search_name=search_key(last, first, birth),
            caf_number=caf,
            france_travail_id=ft,
        )
        for last, first, birth, caf, ft in PEOPLE
    }
    return made


def found(clause: sa.ColumnElement[bool], people: dict[str, Beneficiary]) -> list[str]:
    territory_id = next(iter(people.values())).territory_id
    return sorted(
        db.session.scalars(
            sa.select(Beneficiary.last_name).where(Beneficiary.territory_id == territory_id, clause)
        )
    )


@pytest.mark.parametrize("q", ["clement", "CLÉMENT", "Clément", "clem", "helene clement", "CLEMENT Hélène"])
def test_accents_and_case_never_matter(people, q) -> None:
    assert found(search_clause(q), people) == ["Clément"]


@pytest.mark.parametrize(
    "q, names",
    [
        ("dupont marie", ["Dupont"]),
        ("marie dupont", ["Dupont"]),  # any order
        ("dupont paul", []),  # every word must match
        ("mar", ["Dupont", "Martin"]),  # « Marie », « Martin »: a substring of three letters or more
        ("segur", ["Lefèvre-Ségur"]),
        ("dubois", ["Lefèvre-Ségur"]),  # the birth name
        ("dur", ["Durand", "Durant"]),
        ("durand", ["Durand"]),  # on PostgreSQL « Durant » too, one letter away (below)
        ("du", ["Dupont", "Durand", "Durant", "Lefèvre-Ségur"]),  # short words start a word (Dubois)
        ("au", ["Aude"]),  # …not « Paul » or « Ségur »
        ("d m", ["Dupont"]),  # initials
        ("nguyen anh", ["Nguyễn"]),
        ("van", ["Nguyễn"]),
        ("zzz", []),
        ("  ", ["Aude", "Clément", "Dupont", "Durand", "Durant", "Lefèvre-Ségur", "Martin", "Nguyễn"]),
    ],
)
def test_every_word_matches_a_part_of_the_name(people, q, names, dialect) -> None:
    if q == "durand" and dialect == "postgresql":
        names = ["Durand", "Durant"]
    assert found(search_clause(q), people) == names


@pytest.mark.parametrize(
    "q, names",
    [
        ("7654321", ["Clément"]),  # CAF number
        ("12345678K", ["Dupont"]),  # France Travail id
        ("12345678k", ["Dupont"]),  # stored upper-case
        (" 2345678a ", ["Lefèvre-Ségur"]),
        ("765432", []),  # numbers are exact: never a prefix
        ("1234567", []),  # nor a part of another number
    ],
)
def test_numbers_are_compared_exactly(people, q, names) -> None:
    assert found(search_clause(q), people) == names


@pytest.mark.parametrize(
    "q, names",
    [
        ("martn", ["Martin"]),  # a missing letter
        ("martinn", ["Martin"]),  # an extra one
        ("dupond marie", ["Dupont"]),  # a wrong one at the end…
        ("clemant", ["Clément"]),  # …or in the middle
        ("dupnot", ["Dupont"]),  # two swapped
        ("ngyen anh", ["Nguyễn"]),
        ("lefebvre segru", ["Lefèvre-Ségur"]),  # a typo in each word
        ("semur", ["Lefèvre-Ségur"]),  # in the middle of a short word (half its trigrams lost)
        ("durnat", ["Durant"]),  # two swapped: « Durant », not « Durand » (two edits)
    ],
)
def test_one_typo_is_forgiven_on_postgresql(people, q, names, dialect) -> None:
    expected = names if dialect == "postgresql" else []  # SQLite: the exact fallback
    assert found(search_clause(q), people) == expected


@pytest.mark.parametrize(
    "q",
    ["marx", "dupuis", "bernard", "martin dupont", "clemenceau", "lucas", "dupontel", "martineau", "dorand lucie"],
)
def test_no_unrelated_name_is_found(people, q) -> None:
    assert found(search_clause(q), people) == []


def test_exact_matches_rank_before_typos_and_substrings(people, dialect) -> None:
    def ranked(q: str) -> list[str]:
        return list(db.session.scalars(
            sa.select(Beneficiary.first_name)
            .where(Beneficiary.territory_id == people["Durand"].territory_id, search_clause(q))
            .order_by(search_rank(q).desc(), Beneficiary.first_name)
        ))

    # Louis Durand, Lucie Durant: the whole word first, then the typo.
    assert ranked("durand") == (["Louis", "Lucie"] if dialect == "postgresql" else ["Louis"])
    assert ranked("durant") == (["Lucie", "Louis"] if dialect == "postgresql" else ["Lucie"])
    assert ranked("dur") == ["Louis", "Lucie"]  # both start a word: then by first name
    assert ranked("ment helene") == ["Hélène"]  # a substring (0) and a whole word (2)
    assert db.session.scalar(sa.select(search_rank("7654321"))) == 0


def test_anonymised_people_are_never_found_by_name(people) -> None:
    people["Martin"].search_name = ""
    db.session.flush()
    assert found(search_clause("martin"), people) == []
    assert found(search_clause("1111111"), people) == ["Martin"]  # numbers are the retention's concern


@pytest.mark.parametrize(
    "last, first, names",
    [
        ("CLEMENT", "helene", ["Clément"]),
        ("Hélène", "Clément", ["Clément"]),  # swapped
        ("Dupont", "Marie", ["Dupont"]),
        ("Dubois", "Émilie", ["Lefèvre-Ségur"]),  # the birth name
        ("Dupont", "Paul", []),
        ("Mar", "Dupont", []),  # whole words only: not a way to browse
        ("", "", []),
        (None, None, []),
    ],
)
def test_similar_people_share_every_word_of_the_name(people, last, first, names) -> None:
    assert found(similar_people_clause(last, first), people) == names


@pytest.mark.parametrize("last, first", [("Dupond", "Marie"), ("dupont", "Marei"), ("Marie", "Dupnot")])
def test_similar_people_allow_one_typo_on_postgresql(people, dialect, last, first) -> None:
    expected = ["Dupont"] if dialect == "postgresql" else []
    assert found(similar_people_clause(last, first), people) == expected
