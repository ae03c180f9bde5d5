"""`flask seed-demo`: a fictional département full of realistic pathways, for demos and load tests.

    flask seed-demo                      # 200 people, seed 2026, dates relative to now
    flask seed-demo --people 100000      # bulk COPY on PostgreSQL: ~1.9 M rows in ~1–2.5 minutes
    flask seed-demo --reset --seed 7 --now 2026-03-10T09:30:00+00:00

Idempotent: when the demo territory already exists, nothing is changed (``make run`` calls it on
every start) unless ``--reset``, which first deletes the demo territories (codes 99 and 98) and
everything in them. The whole seeding is one transaction: on error nothing is kept and the command
exits non-zero (``--reset`` also cleans up anything left by an interrupted older version).
"""
from __future__ import annotations

import sys
import time
from datetime import datetime

import click
import sqlalchemy as sa
from flask.cli import with_appcontext
from tqdm import tqdm

from app.demo import data
from app.demo.generator import DemoSeeder, parse_now
from app.extensions import db


def _demo_territory_ids() -> list[int]:
    territory = db.metadata.tables["territory"]
    rows = db.session.execute(
        sa.select(territory.c.id).where(territory.c.code.in_(data.DEMO_TERRITORY_CODES))
    )
    return [row[0] for row in rows]


def _territory_owned_tables() -> list[sa.Table]:
    """Tables whose rows belong to a territory: a `territory_id`, or a foreign key to such a table
    (transitively, e.g. the tokens of a user), children first."""
    owned = {"territory"}
    changed = True
    while changed:
        changed = False
        for table in db.metadata.sorted_tables:
            if table.name in owned:
                continue
            if "territory_id" in table.c or any(fk.column.table.name in owned for fk in table.foreign_keys):
                owned.add(table.name)
                changed = True
    return [t for t in reversed(db.metadata.sorted_tables) if t.name in owned]


def delete_demo_territories(territory_ids: list[int]) -> int:
    """Delete the given territories and every row that belongs to them, children first.

    Generic over the metadata, so tables added by later features are cleaned too: a table with a
    `territory_id` is filtered on it; a table without one is filtered through its foreign keys to
    tables that have one (e.g. tokens of a user).
    """
    if not territory_ids:
        return 0
    territory = db.metadata.tables["territory"]
    tables = _territory_owned_tables()
    if db.session.get_bind().dialect.name == "postgresql":
        others = db.session.execute(
            sa.select(sa.func.count()).select_from(territory).where(territory.c.id.not_in(territory_ids))
        ).scalar_one()
        if not others:
            # Only demo territories in this database: TRUNCATE is instant, where DELETE would check
            # every foreign key row by row (minutes for a large demo).
            counted = sum(
                db.session.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                for table in tables
            )
            db.session.execute(sa.text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables)))
            return counted
    deleted = 0
    scoped = {t.name for t in tables if "territory_id" in t.c}
    for table in tables:
        if table.name == "territory":
            continue
        if "territory_id" in table.c:
            condition = table.c.territory_id.in_(territory_ids)
        else:
            conditions = []
            for fk in table.foreign_keys:
                parent = fk.column.table
                if parent.name == "territory":
                    conditions.append(fk.parent.in_(territory_ids))
                elif parent.name in scoped:
                    conditions.append(
                        fk.parent.in_(sa.select(fk.column).where(parent.c.territory_id.in_(territory_ids)))
                    )
            if not conditions:
                continue
            condition = sa.or_(*conditions)
        deleted += db.session.execute(sa.delete(table).where(condition)).rowcount or 0
    deleted += db.session.execute(sa.delete(territory).where(territory.c.id.in_(territory_ids))).rowcount
    return deleted


@click.command("seed-demo")
@click.option("--people", default=200, show_default=True, type=click.IntRange(min=0),
              help="Number of people in the demo département.")
@click.option("--seed", default=2026, show_default=True, type=int,
              help="Random seed: the same seed and the same --now give the same data.")
@click.option("--now", "now_text", default=None, metavar="ISO-8601",
              help="Reference time for every date (default: the current time; naive means UTC).")
@click.option("--reset", is_flag=True, help="Delete the demo territories (99 and 98) first.")
@click.option("--chunk-rows", default=20_000, show_default=True, type=click.IntRange(min=100),
              help="Rows buffered before each batch of INSERTs.")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Show a progress bar on stderr.")
@with_appcontext
def seed_demo_command(people: int, seed: int, now_text: str | None, reset: bool, chunk_rows: int,
                      progress: bool) -> None:
    """Create the demo territory « Département de démonstration (99) » and its demo accounts."""
    try:
        now: datetime = parse_now(now_text)
    except ValueError as exc:
        raise click.BadParameter(f"date ISO 8601 attendue ({exc})", param_hint="--now") from None

    started = time.perf_counter()
    existing = _demo_territory_ids()
    if existing and not reset:
        click.echo("Données de démonstration déjà présentes (utilisez --reset pour les recréer).")
        return

    bar = tqdm(total=people, unit=" pers.", desc="Personnes", file=sys.stderr, disable=not progress,
               mininterval=0.5, dynamic_ncols=True)
    try:
        if existing:
            removed = delete_demo_territories(existing)
            click.echo(f"Données de démonstration supprimées ({removed} lignes).")
        seeder = DemoSeeder(db.session, people=people, seed=seed, now=now, chunk_rows=chunk_rows,
                            progress=bar.update)
        counts = seeder.run()
        db.session.commit()
    except Exception as exc:  # noqa: BLE001 — any failure: nothing is kept, say why, exit 1
        db.session.rollback()
        bar.close()
        raise click.ClickException(
            f"Échec de la création des données de démonstration, rien n'a été enregistré : {exc}\n"
            "Corrigez la cause puis relancez `flask seed-demo --reset`."
        ) from exc
    bar.close()

    elapsed = time.perf_counter() - started
    click.echo(
        f"Données de démonstration créées : {data.DEMO_TERRITORY_NAME} et {data.NEIGHBOUR_TERRITORY_NAME} "
        f"(graine {seed}, référence {now.isoformat()})."
    )
    width = max(len(name) for name in counts)
    for name, count in counts.items():
        click.echo(f"  {name:<{width}}  {count:>9}")
    click.echo(f"  {'total':<{width}}  {sum(counts.values()):>9}")
    click.echo(
        f"Terminé en {elapsed:.1f} s. Comptes de démonstration : mot de passe « {data.DEMO_PASSWORD} »."
    )
