"""The search of people uses its indexes at scale (PostgreSQL): the plan of each kind of search,
over 20 000 people and fresh statistics, reads an index, never the whole `beneficiary` table.

The plans are those PostgreSQL picks by itself (no `enable_seqscan = off`): with too few rows, or
a condition the trigram and words indexes cannot serve, it would scan the table instead.
Timings are bench/search.py's business (1 M people), never a test's.
"""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.pathways.models import Beneficiary
from app.pathways.search import search_clause, search_rank, similar_people_clause
from tests.factories import TerritoryFactory

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="needs PostgreSQL (TEST_DATABASE_URL): pg_trgm and GIN indexes",
)

PEOPLE = 20_000
# 30 × 30 syllables: 900 last names; 40 first names; one in ten with a birth name.
SEED = """
INSERT INTO beneficiary (territory_id, first_name, last_name, birth_name, search_name, caf_number,
  france_travail_id, rights, created_at, updated_at, version)
SELECT :territory, f, l, b, lower(l || ' ' || f || coalesce(' ' || b, '')),
  CASE WHEN i % 3 = 0 THEN lpad((i * 7919 % 10000000)::text, 7, '0') END,
  CASE WHEN i % 2 = 0 THEN lpad((i * 104729 % 100000000)::text, 8, '0') || 'K' END,
  '[]', now(), now(), 1
FROM (
  SELECT i,
    s1[1 + i % 30] || s2[1 + (i / 30) % 30] AS l,
    fn[1 + (i * 7) % 40] AS f,
    CASE WHEN i % 10 = 0 THEN s1[1 + (i / 7) % 30] || s2[1 + (i / 11) % 30] END AS b
  FROM generate_series(1, :n) i,
    (SELECT ARRAY['Ber','Dur','Lef','Mar','Gir','Rob','Fou','Mor','Bon','Gar','Leg','Cha','Rou','Dub',
      'Lam','Mas','Pet','Ren','Val','Bou','Gau','Per','Fab','Mal','Cou','Lec','Bar','Bel','Sau','Tes'] AS s1,
     ARRAY['nard','and','ebvre','tin','aud','ert','nier','eau','net','cia','rand','pentier','ssel','ois',
      'bert','son','itjean','ault','entin','cher','thier','rin','re','let','sin','lerc','bier','lamy','vage',
      'sier'] AS s2,
     ARRAY['Marie','Jean','Pierre','Michel','Louise','Paul','Claire','Hugo','Léa','Emma','Lucas','Nina',
      'Jules','Chloe','Adam','Ines','Noah','Jade','Rose','Tom','Alice','Leo','Lina','Sarah','Yanis','Zoe',
      'Eva','Nael','Manon','Theo','Anna','Mila','Sacha','Lucie','Julie','Axel','Romane','Ambre','Rayan',
      'Elise'] AS fn) names
) people
"""

SEARCHES = [
    # (a search, the index its plan must read)
    ("Durand Jade", "ix_beneficiary_search_trgm"),  # two words: both conditions on the index
    ("petitjean", "ix_beneficiary_search_trgm"),
    ("lefebvre j", "ix_beneficiary_search_trgm"),  # a word and an initial
    ("garcai", "ix_beneficiary_search_words"),  # a typo: the neighbours, on the words index
    ("boucher sarha", "ix_beneficiary_search_words"),
    ("0023757", "ix_beneficiary_territory_caf"),  # a CAF number
    ("00209458K", "ix_beneficiary_territory_ft"),  # a France Travail id
]


@pytest.fixture
def crowd() -> int:
    """A territory of 20 000 people, with fresh statistics; its id."""
    territory = TerritoryFactory()
    db.session.execute(sa.text(SEED), {"territory": territory.id, "n": PEOPLE})
    db.session.execute(sa.text("ANALYZE beneficiary"))
    return territory.id


def plan(statement: sa.Select) -> str:
    """The plan PostgreSQL picks for `statement`, bound as it runs (psycopg2, client-side)."""
    connection = db.session.connection()
    compiled = statement.compile(connection)
    return "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params))


def test_each_kind_of_search_reads_its_index(crowd) -> None:
    # One test (one crowd of 20 000): seeding it costs seconds.
    in_territory = Beneficiary.territory_id == crowd  # not an access rule: the crowd's territory

    def found(q: str) -> int:
        return db.session.scalar(
            sa.select(sa.func.count()).select_from(Beneficiary).where(in_territory, search_clause(q))
        )

    for q, index in SEARCHES:
        count = sa.select(sa.func.count()).select_from(Beneficiary).where(in_territory, search_clause(q))
        page = (
            sa.select(Beneficiary.id)
            .where(in_territory, search_clause(q))
            .order_by(search_rank(q).desc(), Beneficiary.id)
            .limit(25)
        )
        for statement in (count, page):
            chosen = plan(statement)
            assert f"Index Scan on {index}" in chosen, (q, chosen)
            assert "Seq Scan on beneficiary" not in chosen, (q, chosen)
        # The plans are those of searches that find people (a plan of nothing proves little).
        assert found(q) > 0, q
    # The duplicate check (issue #13) too, with or without a typo.
    for last, first in (("Durand", "Jade"), ("Duarnd", "Jade")):
        similar = sa.select(Beneficiary.id).where(in_territory, similar_people_clause(last, first)).limit(10)
        chosen = plan(similar)
        assert "Index Scan on ix_beneficiary_search" in chosen and "Seq Scan on beneficiary" not in chosen, chosen
        assert db.session.scalars(similar).all(), (last, first)

    def with_word(word: str) -> int:
        return db.session.scalar(
            sa.select(sa.func.count()).select_from(Beneficiary)
            .where(in_territory, (" " + Beneficiary.search_name + " ").contains(f" {word} "))
        )

    # The typo finds the people with the word it misspells, and only them (« garcia » itself
    # also finds « marcia », « barcia »… one edit away in this crowd of made-up names).
    assert found("garcai") == with_word("garcia") > 0
    assert found("boucher sarha") >= found("boucher sarah") > 0  # (and « Boucher Sacha »)
    assert found("zzzz") == 0
