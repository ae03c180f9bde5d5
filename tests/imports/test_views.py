"""« Importer des personnes » over HTTP: upload, preview (nothing written), run, result, errors file;
and who may (admins and managers of the territory; anyone else gets 404)."""
from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from app.accounts.models import Role
from app.extensions import db
from app.imports import services
from app.imports.models import ImportJob, ImportStatus
from app.pathways.models import Beneficiary
from tests.factories import ImportJobFactory, UserFactory
from tests.imports.conftest import DATA


def _upload(client, name="carnet_de_bord.csv", preset="carnet-de-bord"):
    return client.post("/imports", data={"preset": preset, "file": (io.BytesIO((DATA / name).read_bytes()), name)},
                       content_type="multipart/form-data")


def _count_people():
    return db.session.scalar(sa.select(sa.func.count(Beneficiary.id)))


@pytest.mark.parametrize("who", ["admin", "manager_cd", "manager_ft"])
def test_upload_preview_run_result_and_errors_file(world, login_as, who):
    client = login_as(getattr(world, who))
    before = _count_people()

    response = _upload(client)
    assert response.status_code == 302
    job = db.session.scalar(sa.select(ImportJob))
    preview = client.get(response.headers["Location"])
    html = preview.get_data(as_text=True)

    assert preview.status_code == 200
    assert "Rien n&#39;est encore enregistré" in html or "Rien n'est encore enregistré" in html
    assert 'id="compte-created">4<' in html and 'id="compte-rejected">7<' in html
    assert "date impossible « 31/02/1980 »" in html
    assert "NIR : jamais enregistré" in html
    assert "&lt;b&gt;Léa&lt;/b&gt;" in html and "<b>Léa</b>" not in html  # markup shown as text
    assert _count_people() == before  # the preview writes nothing

    launched = client.post(f"/imports/{job.id}/lancer")
    assert launched.status_code == 302
    db.session.expire_all()
    assert db.session.get(ImportJob, job.id).status == ImportStatus.DONE
    result = client.get(f"/imports/{job.id}").get_data(as_text=True)
    assert 'id="compte-created">4<' in result and "Télécharger les lignes rejetées" in result
    assert _count_people() == before + 4

    errors = client.get(f"/imports/{job.id}/erreurs.csv")
    assert errors.status_code == 200 and errors.mimetype == "text/csv"
    text = errors.get_data(as_text=True)
    assert text.startswith("\ufeffLigne;Motifs du rejet;Identifiant dans le SI")
    assert "6;Date de naissance : date impossible « 31/02/1980 »" in text


def test_a_file_that_cannot_be_read_is_refused_in_french_and_nothing_is_recorded(world, login_as):
    client = login_as(world.admin)

    response = client.post("/imports", data={"preset": "carnet-de-bord", "file": (io.BytesIO(b"Nom;Prenom\nA;B\n"),
                                                                                  "x.csv")},
                           content_type="multipart/form-data")

    assert response.status_code == 422
    assert "Colonnes obligatoires absentes du fichier" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(ImportJob.id))) == 0
    assert client.post("/imports", data={"preset": "carnet-de-bord"}).status_code == 422


def test_a_new_mapping_picks_the_files_columns_and_is_saved_for_the_territory(world, login_as):
    client = login_as(world.admin)
    content = "Matricule;NOM;Prénom usuel;Né(e) le\nS1;Durand;Lucie;01/02/1990\n".encode()
    response = client.post("/imports", data={"preset": "nouvelle", "file": (io.BytesIO(content), "solis.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 302 and response.headers["Location"].endswith("/correspondance")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert '<option value="Prénom usuel"' in page

    saved = client.post(response.headers["Location"], data={
        "name": "SOLIS", "external_id": "Matricule", "first_name": "Prénom usuel", "last_name": "NOM",
        "birth_date": "Né(e) le"})

    assert saved.status_code == 302
    preview = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert 'id="compte-created">1<' in preview
    assert "custom:SOLIS" in client.get("/imports").get_data(as_text=True)


def _routes(job_id):
    return [("get", "/imports"), ("post", "/imports"), ("get", f"/imports/{job_id}"),
            ("get", f"/imports/{job_id}/correspondance"), ("post", f"/imports/{job_id}/correspondance"),
            ("post", f"/imports/{job_id}/lancer"), ("get", f"/imports/{job_id}/erreurs.csv")]


@pytest.mark.parametrize("who", ["referent", "partner", "stranger", "other_admin", "other_manager"])
def test_only_importers_of_the_territory_reach_the_imports(world, login_as, who):
    job = ImportJobFactory(territory=world.territory, done=True)
    users = {"other_admin": UserFactory(agency=world.stranger.agency, role=Role.ADMIN),
             "other_manager": UserFactory(agency=world.stranger.agency, role=Role.MANAGER)}
    client = login_as(users.get(who) or getattr(world, who))
    for method, url in _routes(job.id):
        if who.startswith("other") and url == "/imports":
            continue  # their own territory's page: allowed, and shows nothing of this one
        assert getattr(client, method)(url).status_code == 404, (who, method, url)
    if who.startswith("other"):
        assert "beneficiaires.csv" not in client.get("/imports").get_data(as_text=True)


def test_a_strange_file_name_is_kept_readable_and_the_download_name_is_safe(world, login_as):
    client = login_as(world.admin)
    content = (DATA / "carnet_de_bord.csv").read_bytes()
    response = client.post("/imports", data={"preset": "carnet-de-bord",
                                             "file": (io.BytesIO(content), 'dossier/liste été\t.csv')},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    job = db.session.scalar(sa.select(ImportJob))
    assert job.filename == "liste été.csv"
    client.post(f"/imports/{job.id}/lancer")

    download = client.get(f"/imports/{job.id}/erreurs.csv")

    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == 'attachment; filename="liste_t_.csv.erreurs.csv"'


def test_a_file_larger_than_other_forms_allow_is_accepted_up_to_the_import_limit(world, login_as, monkeypatch):
    """Every other form stops at MAX_CONTENT_LENGTH (2 Mo); a territory's file is bigger (100 000
    people ≈ 20 Mo): the upload has its own limit, checked before the CSRF hook reads the body."""
    client = login_as(world.admin)
    header = (DATA / "carnet_de_bord.csv").read_bytes().splitlines(keepends=True)[0]
    row = "ID-{n};Prénom{n};Nom{n};01/02/1980" + ";" * 21 + "\r\n"
    body = header + "".join(row.format(n=n) for n in range(60_000)).encode()
    assert len(body) > 2 * 1024 * 1024 + 1
    response = client.post("/imports", data={"preset": "carnet-de-bord", "file": (io.BytesIO(body), "gros.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]  # to its preview
    monkeypatch.setattr(services, "MAX_FILE_BYTES", 1024 * 1024)
    response = client.post("/imports", data={"preset": "carnet-de-bord", "file": (io.BytesIO(body), "gros.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 413
    # Any other form keeps the general limit.
    big = client.post("/compte/deconnexion-partout", data={"x": "y" * (3 * 1024 * 1024)})
    assert big.status_code == 413
