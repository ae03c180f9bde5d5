"""The CLI contract scripts depend on: counts printed, PATH.erreurs.csv written, exit 0 / 2."""
from __future__ import annotations

import shutil

import sqlalchemy as sa

from app.extensions import db
from app.pathways.models import Beneficiary
from tests.imports.conftest import DATA


def _invoke(runner, *args):
    return runner.invoke(args=["import", "beneficiaries", *map(str, args), "--no-progress"])


def test_the_import_prints_the_counts_and_writes_the_rejected_rows_next_to_the_file(world, runner, tmp_path):
    path = tmp_path / "carnet_de_bord.csv"
    shutil.copy(DATA / "carnet_de_bord.csv", path)

    result = _invoke(runner, path, "--territory", "93")

    assert result.exit_code == 0, result.output
    assert "créées : 4, mises à jour : 1, inchangées : 0, rejetées : 7" in result.output
    assert "Colonne ignorée — NIR : jamais enregistré" in result.output
    errors = (tmp_path / "carnet_de_bord.csv.erreurs.csv").read_text(encoding="utf-8-sig").splitlines()
    assert errors[0].startswith("Ligne;Motifs du rejet;Identifiant dans le SI*;Prénom*")
    assert len(errors) == 1 + 7
    assert errors[1].startswith("6;Date de naissance : date impossible « 31/02/1980 »")


def test_the_cells_of_the_errors_file_cannot_run_as_formulas(world, runner, tmp_path):
    path = tmp_path / "formules.csv"
    path.write_text("Identifiant dans le SI*;Prénom*;Nom*;Date de naissance*\n"
                    "=HYPERLINK(\"http://x\");Paul;Martin;31/02/1980\n", encoding="utf-8")

    result = _invoke(runner, path, "--territory", "93")

    assert result.exit_code == 0, result.output
    text = (tmp_path / "formules.csv.erreurs.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text


def test_a_dry_run_counts_without_writing(world, runner, tmp_path):
    path = tmp_path / "f.xlsx"
    shutil.copy(DATA / "carnet_de_bord.xlsx", path)
    before = db.session.scalar(sa.select(sa.func.count(Beneficiary.id)))

    result = _invoke(runner, path, "--territory", "93", "--dry-run")

    assert result.exit_code == 0, result.output
    assert "Simulation" in result.output and "créées : 4" in result.output
    assert db.session.scalar(sa.select(sa.func.count(Beneficiary.id))) == before


def test_an_unreadable_file_or_mapping_exits_2(world, runner, tmp_path):
    garbage = tmp_path / "abime.xlsx"
    garbage.write_bytes(b"PK\x03\x04 pas un classeur")
    wrong = tmp_path / "colonnes.csv"
    wrong.write_text("Nom;Prénom\nMartin;Paul\n", encoding="utf-8")

    assert _invoke(runner, garbage, "--territory", "93").exit_code == 2
    assert _invoke(runner, tmp_path / "absent.csv", "--territory", "93").exit_code == 2
    refused = _invoke(runner, wrong, "--territory", "93")
    assert refused.exit_code == 2 and "Colonnes obligatoires absentes" in refused.output
    assert _invoke(runner, wrong, "--territory", "93", "--preset", "custom:inconnue").exit_code == 2
    assert _invoke(runner, wrong, "--territory", "XX").exit_code == 2
    assert not (tmp_path / "colonnes.csv.erreurs.csv").exists()


def test_resume_finishes_a_job_left_running_by_a_stopped_process(world, runner):
    from app.imports import services
    from app.imports.models import ImportStatus

    content = (DATA / "carnet_de_bord.csv").read_bytes()
    job = services.create_job(None, world.territory, filename="f.csv", content=content, preset="carnet-de-bord")
    services.run_job(job.id, batch_size=4, stop_after=1)
    job.status = ImportStatus.RUNNING  # as if its process had died midway
    db.session.commit()

    result = runner.invoke(args=["import", "resume", str(job.id), "--force", "--no-progress"])

    assert result.exit_code == 0, result.output
    assert "créées : 4, mises à jour : 1, inchangées : 0, rejetées : 7" in result.output
