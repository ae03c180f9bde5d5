"""Benchmark of the search of people by name, CAF number or France Travail id, on PostgreSQL.

    .venv/bin/python bench/search.py --people 1000000
    .venv/bin/python bench/search.py --people 100000 --explain --keep

Creates a scratch database `h_search_bench_…` (dropped at the end unless --keep), applies the
migrations (so the trigram index of migration 0009), seeds N people with set-based SQL: 200 last
names × 200 first names (accents, hyphens, particles), one in ten with a birth name, a CAF number
for two in three, a France Travail id for one in two; then runs searches of several kinds, each as
the caseload runs a search (a count of the matches, then the first page of 25, best match first),
and prints p50/p95 per kind and overall. Goal (issue #11): p95 ≤ 30 ms at 1 M people.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scratch import DEFAULT_URL, scratch_app  # noqa: E402

LAST_NAMES = """Martin Bernard Thomas Petit Robert Richard Durand Dubois Moreau Laurent Simon Michel Lefèvre
Leroy Roux David Bertrand Morel Fournier Girard Bonnet Dupont Lambert Fontaine Rousseau Vincent Müller
Lefebvre Faure André Mercier Blanc Guérin Boyer Garnier Chevalier François Legrand Gauthier Garcia
Perrin Robin Clément Morin Nicolas Henry Roussel Mathieu Gautier Masson Marchand Duval Denis Dumont
Marie Lemaire Noël Meyer Dufour Meunier Brun Blanchard Giraud Joly Rivière Lucas Brunet Gaillard
Barbier Arnaud Martinez Gérard Roche Renard Schmitt Roy Leroux Colin Vidal Caron Picard Roger Fabre
Aubert Lemoine Renaud Dumas Lacroix Olivier Philippe Bourgeois Pierre Benoît Rey Leclerc Payet Rolland
Leclercq Guillaume Lecomte López Jean Dupuy Guillot Hubert Berger Carpentier Sánchez Dupuis Moulin
Louis Deschamps Huet Vasseur Perez Boucher Fleury Royer Klein Jacquet Adam Paris Poirier Marty Aubry
Guyot Carré Charles Renault Charpentier Ménard Maillard Baron Bertin Bailly Hervé Schneider Fernández
Le Gall Collet Léger Bouvier Julien Prévost Millet Perrot Daniel Le Roux Cousin Germain Breton Besson
Langlois Rémy Le Goff Pelletier Lévêque Perrier Leblanc Barré Lebrun Marchal Weber Mallet Hamon
Boulanger Jacob Monnier Michaud Rodríguez Guichard Gillet Étienne Grondin Poulain Tessier Chevallier
Collin Chauvin Da Silva Bouchet Gay Lemaître Bénard Maréchal Humbert Reynaud Antoine Hoarau Perret
Barthélemy Cordier Pichon Lejeune Gilbert Lamy Delaunay Pasquier Carlier Laporte N'Diaye Benali
Nguyễn Traoré Œuvray D'Aubigné-Ségur""".split("\n")
FIRST_NAMES = """Marie Jean Pierre Michel André Philippe Louis René Alain Jacques Bernard Marcel Daniel Roger
Robert Paul Claude Christian Henri Georges Nicolas François Patrick Gérard Christophe Joseph Julien
Éric Laurent Frédéric Thierry Olivier Stéphane David Sébastien Pascal Guillaume Alexandre Thomas
Antoine Maxime Hugo Lucas Léo Gabriel Raphaël Arthur Louise Jade Emma Alice Chloé Léa Manon Inès
Camille Zoé Lina Léna Rose Anna Ambre Juliette Mila Sarah Lou Agathe Julia Margaux Éloïse Mathilde
Élise Clémence Hélène Cécile Françoise Nathalie Isabelle Sylvie Catherine Martine Christine Monique
Nicole Valérie Sandrine Véronique Sophie Céline Stéphanie Aurélie Émilie Élodie Laëtitia Anaïs
Noémie Océane Maëlys Chloé Mélanie Amélie Gaëlle Loïc Gaël Noël Joël Anaël Yaël Maël Jérôme Jérémy
Benoît Grégoire Hervé Rémi Timothée Mathéo Théo Noé Aurélien Valentin Clément Adrien Quentin Romain
Florian Kévin Anthony Dylan Mohamed Ahmed Karim Yacine Mehdi Bilal Ibrahim Moussa Mamadou Fatoumata
Aïcha Fatima Khadija Yasmine Nour Leïla Samira Nadia Malika Sofiane Rayan Ilyès Ayoub Amine Adam
Youssef Omar Ali Hamza Enzo Nathan Ethan Tom Baptiste Axel Tristan Jules Victor Martin Simon Oscar
Marius Sacha Elias Mathis Noah Liam Timéo Aaron Soan Lyam Kaïs Ewen Rose-Marie Jean-Pierre
Marie-Claire Anne-Sophie Jean-Baptiste Marie-Hélène Pierre-Yves Émile Lucie Paulette Ginette Odette
Yvette Josiane Huguette Bernadette Jacqueline Danielle Thérèse Gisèle Colette Mireille Solange
Lucienne Simone Marguerite Germaine Suzanne Madeleine Raymonde Andrée Denise Yvonne Jeannine Ève
Zoë Maïa Anh Linh""".split("\n")

SEED_SQL = """
INSERT INTO territory (id, code, name, cadence_professional_days, cadence_socio_professional_days, cadence_social_days,
  grace_days, reschedule_days, no_referent_days, orientation_delay_days, contract_delay_days, contract_ending_days,
  referral_answer_days, checkin_months, retention_months, audit_retention_months, created_at, updated_at, version)
VALUES (1, 'B1', 'Banc d''essai', 30, 30, 60, 2, 7, 30, 42, 30, 30, 10, '[1, 3, 6]', 24, 12, :now, :now, 1);
INSERT INTO beneficiary (id, territory_id, first_name, last_name, birth_name, search_name, caf_number,
  france_travail_id, rights, created_at, updated_at, version)
SELECT i, 1, f.name, l.name, b.name, l.key || ' ' || f.key || coalesce(' ' || b.key, ''),
  CASE WHEN i % 3 <> 0 THEN lpad(((i::bigint * 7919) % 10000000)::text, 7, '0') END,
  CASE WHEN i % 2 = 0 THEN lpad(((i::bigint * 104729) % 100000000)::text, 8, '0') || chr(65 + i % 26) END,
  '[]', :now, :now, 1
FROM generate_series(1, :n) i
JOIN unnest(CAST(:last_names AS text[]), CAST(:last_keys AS text[])) WITH ORDINALITY AS l(name, key, k)
  ON l.k = 1 + (i::bigint * 2654435761) % :n_last
JOIN unnest(CAST(:first_names AS text[]), CAST(:first_keys AS text[])) WITH ORDINALITY AS f(name, key, k)
  ON f.k = 1 + (i::bigint * 40503 + i / 7) % :n_first
LEFT JOIN unnest(CAST(:last_names AS text[]), CAST(:last_keys AS text[])) WITH ORDINALITY AS b(name, key, k)
  ON i % 10 = 0 AND b.k = 1 + (i::bigint * 97) % :n_last
"""


def typo(word: str, rng: random.Random) -> str:
    """One edit (a letter dropped, doubled or replaced) in the second half of the word, where
    people's typos most often fall and where pg_trgm forgives them."""
    at = rng.randrange(len(word) // 2, len(word))
    edit = rng.choice(("drop", "double", "replace"))
    if edit == "drop":
        return word[:at] + word[at + 1:]
    if edit == "double":
        return word[:at] + word[at] + word[at:]
    return word[:at] + rng.choice("aeioulnrst".replace(word[at], "")) + word[at + 1:]


def searches(people: list[tuple[str, str, str | None, str | None]], count: int, seed: int = 11) -> list[tuple[str, str]]:
    """`count` searches of various kinds, as (kind, q), from real rows (so most find someone)."""
    from app.pathways.search import normalise

    rng = random.Random(seed)
    kinds = [
        ("last name", lambda p: p[0]),
        ("last + first name", lambda p: f"{p[0]} {p[1]}"),
        ("first name + last name, lower-case, no accents", lambda p: f"{normalise(p[1])} {normalise(p[0])}"),
        ("last name + initial", lambda p: f"{p[0]} {normalise(p[1])[0]}"),
        ("typo in the last name + first name", lambda p: f"{typo(normalise(p[0]).split()[-1], rng)} {p[1]}"),
        ("typo in the last name", lambda p: typo(normalise(p[0]).split()[-1], rng)),
        ("start of a last name (3–4 letters)", lambda p: normalise(p[0]).replace(" ", "")[: rng.choice((3, 4))]),
        ("CAF number", lambda p: p[2] or "0000000"),
        ("France Travail id", lambda p: p[3] or "00000000A"),
        ("nobody", lambda p: rng.choice(("wxyzkq", "Zbigniewska Kwiatkowska", "qqqq"))),
    ]
    chosen = []
    for n in range(count):
        kind, make = kinds[n % len(kinds)]
        chosen.append((kind, make(rng.choice(people))))
    return chosen


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--explain", action="store_true", help="print the plan of one search of each kind")
    args = parser.parse_args()

    with scratch_app(args.url, prefix="h_search_bench", keep=args.keep):
        from app.extensions import db
        from app.pathways.models import Beneficiary
        from app.pathways.search import normalise, search_clause, search_rank

        last_names = " ".join(LAST_NAMES).replace("Le ", "Le_").replace("Da ", "Da_").split()
        last_names = [name.replace("_", " ") for name in last_names]
        first_names = " ".join(FIRST_NAMES).split()
        now = datetime.now(timezone.utc)
        started = time.perf_counter()
        # A bulk load: the trigram index is dropped, then rebuilt (as the model declares it) at once.
        indexes = [i for i in Beneficiary.__table__.indexes if i.name.startswith("ix_beneficiary_search_")]
        with db.engine.begin() as conn:
            for index in indexes:
                conn.execute(sa.schema.DropIndex(index))
            for statement in [s for s in SEED_SQL.split(";\n") if s.strip()]:
                conn.execute(sa.text(statement), {
                    "now": now, "n": args.people,
                    "last_names": last_names, "last_keys": [normalise(n) for n in last_names],
                    "first_names": first_names, "first_keys": [normalise(n) for n in first_names],
                    "n_last": len(last_names), "n_first": len(first_names),
                })
            conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('beneficiary', 'id'), "
                                 "(SELECT max(id) FROM beneficiary))")
            for index in indexes:
                conn.execute(sa.schema.CreateIndex(index))
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE beneficiary")
        seeded = time.perf_counter() - started
        size = db.session.scalar(sa.text(
            "SELECT pg_size_pretty(pg_relation_size('ix_beneficiary_search_trgm')) || ' + ' || "
            "pg_size_pretty(pg_relation_size('ix_beneficiary_search_words'))"))
        print(f"seeded {args.people} people ({len(last_names)} last × {len(first_names)} first names) "
              f"in {seeded:.1f} s; indexes (trigrams + words) {size}")

        sample = db.session.execute(
            sa.select(Beneficiary.last_name, Beneficiary.first_name, Beneficiary.caf_number,
                      Beneficiary.france_travail_id)
            .where(Beneficiary.id.in_([1 + (k * 7907) % args.people for k in range(500)]))
        ).all()
        plan = searches([tuple(row) for row in sample], args.searches)

        territory = Beneficiary.territory_id == 1  # not an access rule: the bench's one territory

        def run(q: str) -> tuple[int, int]:
            """As the caseload searches: a count, then a page, best matches first."""
            where = [territory, search_clause(q)]
            total = db.session.scalar(sa.select(sa.func.count()).select_from(Beneficiary).where(*where))
            page = db.session.execute(
                sa.select(Beneficiary.id, Beneficiary.last_name, Beneficiary.first_name)
                .where(*where).order_by(search_rank(q).desc(), Beneficiary.id).limit(25)
            ).all()
            return total or 0, len(page)

        for _, q in plan[:20]:  # warm the cache as a running server would be
            run(q)
        if args.explain:
            seen = set()
            for kind, q in plan:
                if kind in seen:
                    continue
                seen.add(kind)
                statement = sa.select(sa.func.count()).select_from(Beneficiary).where(
                    territory, search_clause(q))
                sql = str(statement.compile(db.engine, compile_kwargs={"literal_binds": True}))
                rows = db.session.execute(sa.text("EXPLAIN (ANALYZE, BUFFERS) " + sql.replace("%%", "%"))).all()
                print(f"\n--- {kind}: {q!r}\n" + "\n".join(r[0] for r in rows))

        timings: dict[str, list[float]] = defaultdict(list)
        found: dict[str, list[int]] = defaultdict(list)
        slow_log = []
        for kind, q in plan:
            started = time.perf_counter()
            total, _ = run(q)
            db.session.rollback()  # each search its own transaction, as each request
            timings[kind].append((time.perf_counter() - started) * 1000)
            slow_log.append(timings[kind][-1])
            found[kind].append(total)
        db.session.rollback()

        slowest = sorted(((t, kind, q) for (kind, q), t in zip(plan, slow_log, strict=True)), reverse=True)[:5]
        print("slowest: " + "; ".join(f"{q!r} ({kind}) {t:.0f} ms" for t, kind, q in slowest))
        everything = [t for values in timings.values() for t in values]
        print(f"\n{'kind of search':50} {'n':>4} {'matches (median)':>17} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
        for kind, values in timings.items():
            print(f"{kind:50} {len(values):4} {statistics.median(found[kind]):17.0f} "
                  f"{percentile(values, 0.5):8.1f} {percentile(values, 0.95):8.1f} {max(values):8.1f}")
        print(f"{'all':50} {len(everything):4} {'':17} {percentile(everything, 0.5):8.1f} "
              f"{percentile(everything, 0.95):8.1f} {max(everything):8.1f}")
        print(f"RESULT people={args.people} searches={len(everything)} p50={percentile(everything, 0.5):.1f}ms "
              f"p95={percentile(everything, 0.95):.1f}ms load={os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
