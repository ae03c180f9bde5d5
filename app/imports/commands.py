"""`flask import beneficiaries PATH --territory CODE [--preset …] [--dry-run]` and `flask import resume JOB`.

Scripts depend on this contract: the counts (created, updated, rejected) on standard output, the
rejected rows with their reasons next to the file (`PATH.erreurs.csv`), exit status 0 when the import
ran (even with rejected rows), 2 when the file or the mapping cannot be used.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import AppGroup
from tqdm import tqdm

from app.accounts.models import Territory
from app.extensions import db
from app.imports import services
from app.imports.mapping import CARNET_DE_BORD
from app.imports.models import ImportJob

import_cli = AppGroup("import", help="Import people from a spreadsheet (CSV, XLSX, ODS).")

UNUSABLE = 2


def _fail(message: str) -> None:
    click.echo(f"Erreur : {message}", err=True)
    sys.exit(UNUSABLE)


def _run(job: ImportJob, path: Path | None, *, progress: bool) -> None:
    bar = tqdm(total=job.total_rows, initial=job.rows_done, unit=" lignes", desc="Import", file=sys.stderr,
               disable=not progress)
    try:
        job = services.run_job(job.id, progress=bar.update)
    finally:
        bar.close()
    if job.error:
        _fail(job.error)
    prefix = "Simulation (rien n'est enregistré) — " if job.dry_run else ""
    click.echo(f"{prefix}créées : {job.created_count}, mises à jour : {job.updated_count}, "
               f"inchangées : {job.unchanged_count}, rejetées : {job.rejected_count}")
    for column in job.ignored_columns:
        click.echo(f"Colonne ignorée — {column}")
    if path is not None and job.rejected_count:
        errors = Path(f"{path}.erreurs.csv")
        errors.write_text(services.errors_csv(job), encoding="utf-8-sig")
        click.echo(f"Lignes rejetées et motifs : {errors}")


@import_cli.command("beneficiaries")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--territory", "territory_code", required=True, help="Code du territoire (ex. 93).")
@click.option("--preset", default=CARNET_DE_BORD, show_default=True, help="carnet-de-bord ou custom:NOM")
@click.option("--dry-run", is_flag=True, help="Tout vérifier et compter, sans rien enregistrer.")
@click.option("--progress/--no-progress", default=True, help="Barre de progression (sur la sortie d'erreur).")
def beneficiaries_command(path: Path, territory_code: str, preset: str, dry_run: bool, progress: bool) -> None:
    """Import the people of PATH into the territory; new people get an open pathway."""
    territory = db.session.scalar(sa.select(Territory).where(Territory.code == territory_code))
    if territory is None:
        _fail(f"territoire inconnu : {territory_code}.")
    try:
        content = path.read_bytes()
    except OSError as exc:
        _fail(f"fichier illisible : {path} ({exc.strerror}).")
    try:
        job = services.create_job(None, territory, filename=path.name, content=content, preset=preset,
                                  dry_run=dry_run)
    except services.ImportFileError as exc:
        _fail(exc.message)
    _run(job, path, progress=progress)


@import_cli.command("resume")
@click.argument("job_id", type=int)
@click.option("--progress/--no-progress", default=True)
@click.option("--force", is_flag=True, help="Reprendre un import resté « en cours » (processus arrêté).")
def resume_command(job_id: int, progress: bool, force: bool) -> None:
    """Resume an import that stopped midway (from its last committed batch)."""
    job = db.session.get(ImportJob, job_id)
    if job is None:
        _fail(f"aucun import n° {job_id}.")
    if force:
        services.release_job(job)
    _run(job, None, progress=progress)
