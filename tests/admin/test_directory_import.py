"""« Importer des structures » and « Importer des professionnels » over HTTP, on a real database: real
files of tests/data/admin (CSV `;` with a BOM, CSV `,`, Windows-1252, XLSX), the preview (nothing
written), the run, each rejected line's reason, the errors file, re-import changing nothing, the
invitations mailed, the audit, bad input never answered 500."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.accounts.models import Agency, AgencyKind, Role, User
from app.admin import directory, services
from app.admin.models import DirectoryImport, Invitation
from app.audit.models import AuditEvent
from app.db_types import utcnow
from app.errors import Conflict
from app.extensions import db
from tests.admin.conftest import mails
from tests.factories import PathwayFactory
from tests.web_helpers import login_as, text

DATA = Path(__file__).resolve().parent.parent / "data" / "admin"
UPLOAD = {"structures": "/administration/importer/structures",
          "professionnels": "/administration/importer/professionnels"}


def _upload(client, slug: str, name: str, content: bytes | None = None):
    body = (DATA / name).read_bytes() if content is None else content
    return client.post(UPLOAD[slug], data={"file": (io.BytesIO(body), name)}, content_type="multipart/form-data")


def _job_id(response) -> int:
    assert response.status_code == 302, text(response)[:3000]
    return int(re.search(r"/importer/fichier/(\d+)$", response.headers["Location"]).group(1))


def _count(html: str, key: str) -> int:
    return int(re.search(rf'id="compte-{key}">(\d+)<', html).group(1))


def _counts(html: str) -> tuple[int, int, int, int]:
    return tuple(_count(html, key) for key in ("create", "update", "unchanged", "reject"))


def _agencies(site) -> dict[str, Agency]:
    db.session.expire_all()
    return {a.name: a for a in db.session.scalars(sa.select(Agency).where(Agency.territory_id == site.territory.id))}


def _import(client, slug: str, name: str) -> tuple[int, str]:
    job_id = _job_id(_upload(client, slug, name))
    run = client.post(f"/administration/importer/fichier/{job_id}/lancer")
    assert run.status_code == 302
    return job_id, text(client.get(f"/administration/importer/fichier/{job_id}"))


STRUCTURE_REASONS = {
    4: "SIRET : Le SIRET compte 14 chiffres et sa clé de contrôle doit être juste",
    5: "Nom : champ obligatoire manquant.",
    7: "Type : type inconnu « Entreprise »",
    8: "Ligne en double : même structure que la ligne 2.",
    9: "Type : champ obligatoire pour créer une structure.",
    10: "Code SAFIR : Le code SAFIR ne concerne que les agences France Travail",
    13: "E-mail : Saisissez une adresse électronique valide",
    14: "Code postal : le code postal compte 5 chiffres",
}


def test_structures_preview_writes_nothing_then_the_run_creates_and_updates(client, site):
    login_as(client, site.admin)
    before = _agencies(site)
    job_id = _job_id(_upload(client, "structures", "structures.csv"))
    preview = client.get(f"/administration/importer/fichier/{job_id}")
    html = text(preview)
    assert preview.status_code == 200
    assert "Rien n'est encore enregistré" in html
    assert _counts(html) == (3, 1, 0, 8)
    for line, reason in STRUCTURE_REASONS.items():
        assert f"Ligne {line} : {reason}" in html, line
    assert "Remarque" in html and 'id="colonnes-ignorees"' in html  # a column of no field is listed
    raw = preview.get_data(as_text=True)
    assert "&lt;b&gt;Élan&lt;/b&gt;" in raw and "<b>Élan</b>" not in raw  # markup shown as text
    assert _agencies(site).keys() == before.keys()  # the preview writes nothing
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action.like("agency.%"))) == 0

    result = text(client.post(f"/administration/importer/fichier/{job_id}/lancer", follow_redirects=True))
    assert _counts(result) == (3, 1, 0, 8)
    agencies = _agencies(site)
    bondy = agencies["Mission locale de Bondy"]
    assert (bondy.kind, bondy.siret, bondy.email, bondy.phone) == (
        AgencyKind.MISSION_LOCALE, "73282932000074", "contact@ml-bondy.fr", "01 48 00 00 01")
    assert bondy.address == "1 rue de la République, 93140 Bondy"
    assert agencies["Cap emploi 93"].address == "12 avenue Jean Jaurès Bâtiment A, 93000 Bobigny"
    assert agencies["Association <b>Élan</b>"].kind == AgencyKind.ASSOCIATION  # stored as typed
    assert agencies["France Travail Bobigny"].safir_code == "93012"  # matched by its name, updated
    assert "france travail bobigny" not in agencies  # its name is kept
    assert len(agencies) == len(before) + 3

    job = db.session.get(DirectoryImport, job_id)
    assert job.status == "done" and job.rows is None
    # Line 11's quoted line break: the next line is 13, as a spreadsheet numbers it.
    assert [r["line"] for r in job.rejections] == sorted(STRUCTURE_REASONS)
    assert "<td>13</td><td>E-mail : Saisissez une adresse électronique valide" in result
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "directory.imported"))
    assert event.actor_id == site.admin.id and event.object_id == job_id
    assert event.details == {"kind": "agencies", "filename": "structures.csv", "rows": 12, "created": 3,
                             "updated": 1, "unchanged": 0, "rejected": 8}
    actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.action.like("agency.%"))).all()
    assert sorted(actions) == ["agency.create"] * 3 + ["agency.update"]
    home = text(client.get("/administration/"))
    assert "Fichier importé : structures.csv" in home


def test_the_errors_file_lists_each_rejected_line_formula_safe(client, site):
    login_as(client, site.admin)
    job_id, _ = _import(client, "structures", "structures.csv")
    response = client.get(f"/administration/importer/fichier/{job_id}/erreurs.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeffLigne;Motifs du rejet;Nom*;Type;SIRET")
    lines = body.strip().split("\r\n")
    assert [int(line.split(";")[0]) for line in lines[1:]] == sorted(STRUCTURE_REASONS)
    assert "\r\n5;Nom : champ obligatoire manquant.;;Association;;;\"'=HYPERLINK(" in body  # never a formula


def test_importing_the_same_structures_again_changes_nothing(client, site):
    login_as(client, site.admin)
    _import(client, "structures", "structures.csv")
    before = {name: (a.version, a.updated_at) for name, a in _agencies(site).items()}
    events = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    _, result = _import(client, "structures", "structures.csv")
    assert _counts(result) == (0, 0, 4, 8)
    assert {name: (a.version, a.updated_at) for name, a in _agencies(site).items()} == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == events + 1  # the import's own


def test_a_windows_1252_comma_file_is_read(client, site):
    login_as(client, site.admin)
    _, result = _import(client, "structures", "structures_windows.csv")
    assert _counts(result) == (2, 0, 0, 1)
    agencies = _agencies(site)
    assert agencies["Épicerie solidaire de Montreuil"].address == "93100 Montreuil"
    assert agencies["Maison de l'emploi"].kind == AgencyKind.DEPARTMENTAL_COUNCIL  # the French label
    assert "<td>4</td><td>Type : type inconnu « Sans type connu »" in result


USER_REASONS = {
    5: "Prénom : champ obligatoire manquant.",
    6: "E-mail : Saisissez une adresse électronique valide",
    7: "Structure : structure inconnue dans ce territoire : « Mission locale de Nulle Part ».",
    8: "Rôle : rôle inconnu « Directrice »",
    9: "Ligne en double : même adresse électronique que la ligne 2.",
    10: "E-mail : un compte d'un autre territoire utilise déjà cette adresse électronique.",
    12: services.ROLE_OR_AGENCY_OF_OWN_ACCOUNT,
}


@pytest.mark.parametrize("name", ["professionnels.csv", "professionnels.xlsx"])
def test_professionals_are_invited_as_the_form_does_once_their_structures_exist(client, site, outbox, name):
    login_as(client, site.admin)
    # Before the structures file: Mission locale de Bondy is unknown.
    early = text(client.get(f"/administration/importer/fichier/{_job_id(_upload(client, 'professionnels', name))}"))
    assert "Ligne 2 : Structure : structure inconnue dans ce territoire : « Mission locale de Bondy »." in early
    _import(client, "structures", "structures.csv")

    job_id = _job_id(_upload(client, "professionnels", name))
    preview = text(client.get(f"/administration/importer/fichier/{job_id}"))
    assert _counts(preview) == (3, 1, 0, 7)
    for line, reason in USER_REASONS.items():
        assert f"Ligne {line} : {reason}" in preview, line
    assert mails(outbox) == [] and db.session.scalar(sa.select(sa.func.count(Invitation.id))) == 0

    result = text(client.post(f"/administration/importer/fichier/{job_id}/lancer", follow_redirects=True))
    assert _counts(result) == (3, 1, 0, 7)
    db.session.expire_all()
    accounts = {u.email: u for u in db.session.scalars(sa.select(User).where(User.territory_id == site.territory.id))}
    nina, karim = accounts["nina.roux@exemple.fr"], accounts["karim.haddad@exemple.fr"]
    zoe = accounts["zoe.durand@exemple.fr"]
    assert (nina.role, nina.agency.name) == (Role.PROFESSIONAL, "Mission locale de Bondy")
    assert (karim.role, karim.agency.name) == (Role.MANAGER, "Mission locale de Bondy")  # by its SIRET
    assert (zoe.first_name, zoe.last_name, zoe.role) == ("<b>Zoé</b>", "Durand<script>alert(1)</script>", Role.ADMIN)
    assert (accounts["pro@ft93.fr"].first_name, accounts["pro@ft93.fr"].last_name) == ("Paul", "Martin")
    assert accounts["admin@cd93.fr"].role == Role.ADMIN
    assert db.session.get(User, site.other_user.id).last_name != "Territoire"
    # The invitation form's mail, audit and link, once per new account.
    sent = sorted(m["To"] for m in mails(outbox))
    assert sent == ["karim.haddad@exemple.fr", "nina.roux@exemple.fr", "zoe.durand@exemple.fr"]
    assert all(m["Subject"] == "Parcours : votre invitation" for m in mails(outbox))
    invited = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "user.invited")).all()
    assert {e.object_id for e in invited} == {nina.id, karim.id, zoe.id}
    updated = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.updated"))
    assert updated.object_id == site.professional.id and updated.details == {"fields": ["first_name", "last_name"]}
    raw = client.get(f"/administration/importer/fichier/{job_id}").get_data(as_text=True)
    users_page = client.get("/administration/professionnels?q=durand").get_data(as_text=True)
    for html in (raw, users_page):
        assert "<script>alert(1)</script>" not in html and "<b>Zoé</b>" not in html
    assert "&lt;b&gt;Zoé&lt;/b&gt;" in users_page

    # Again: nothing changes, nobody is mailed twice.
    versions = {u.id: u.version for u in accounts.values()}
    _, again = _import(client, "professionnels", name)
    assert _counts(again) == (0, 0, 4, 7)
    db.session.expire_all()
    assert {u.id: u.version for u in db.session.scalars(
        sa.select(User).where(User.territory_id == site.territory.id))} == versions
    assert len(mails(outbox)) == 3


def test_a_windows_1252_semicolon_file_of_professionals(client, site, outbox):
    login_as(client, site.admin)
    _, result = _import(client, "professionnels", "professionnels_windows.csv")
    assert _counts(result) == (1, 0, 0, 1)
    helene = db.session.scalar(sa.select(User).where(User.email == "helene.lefevre@exemple.fr"))
    assert (helene.first_name, helene.last_name, helene.role) == ("Hélène", "Lefèvre", Role.PROFESSIONAL)
    assert "<td>3</td><td>Structure : structure inconnue dans ce territoire : « CCAS inexistant »." in result
    assert [m["To"] for m in mails(outbox)] == ["helene.lefevre@exemple.fr"]


def test_a_referent_of_open_pathways_keeps_their_structure(site):
    pathway = PathwayFactory(lead_agency=site.ft, referent=site.professional)
    payload = {"first_name": site.professional.first_name, "last_name": site.professional.last_name,
               "email": site.professional.email, "role": "professional", "agency_id": site.council.id}
    with pytest.raises(Conflict) as refused:
        services.update_account(site.admin, site.professional, payload, now=utcnow())
    assert "référent·e de 1 parcours en cours" in refused.value.message
    with pytest.raises(Conflict):
        services.update_account(site.admin, site.professional, {**payload, "agency_id": site.ft.id, "role": "admin"},
                                now=utcnow())
    assert services.update_account(site.admin, site.professional, {**payload, "agency_id": site.ft.id,
                                                                   "role": "manager"}, now=utcnow()) == ["role"]
    assert pathway.referent_id == site.professional.id


# --- bad input: a French message naming the field, nothing written, never a 500 -----------------------

@pytest.mark.parametrize(("content", "name", "message"), [
    (b"", "vide.csv", "Le fichier est vide."),
    (b"Nom*;Type\r\n", "entete.csv", "Le fichier ne contient aucune ligne sous l'en-tête."),
    (b"Raison;Genre\r\nA;B\r\n", "colonnes.csv", "Colonne obligatoire absente : « Nom* »."),
    (b"PK\x03\x04garbage", "abime.xlsx", "Le classeur est illisible"),
    (b"Nom*;Type\r\n\x00\x01\x02;\x00\r\n", "binaire.csv", "n'est pas un fichier texte (CSV) lisible"),
    (b"Nom*\r\n" + b"Structure\r\n" * (directory.MAX_ROWS + 1), "long.csv", "lignes : 2000 au plus par fichier"),
    (b"Nom*\r\n" + b"x" * (directory.MAX_FILE_BYTES + 10), "lourd.csv", "Le fichier dépasse 1 Mo"),
])
def test_an_unusable_file_is_refused_in_french(client, site, content, name, message):
    login_as(client, site.admin)
    response = _upload(client, "structures", name, content)
    assert response.status_code == 422
    assert message in text(response)
    assert 'id="champ-file-erreur"' in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(DirectoryImport.id))) == 0


def test_no_file_and_unknown_ids(client, site):
    login_as(client, site.admin)
    response = client.post(UPLOAD["professionnels"], data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Choisissez un fichier." in text(response)
    assert client.get("/administration/importer/annuaire").status_code == 404
    for path in ("/administration/importer/fichier/999999", "/administration/importer/fichier/999999/erreurs.csv"):
        assert client.get(path).status_code == 404
    assert client.post("/administration/importer/fichier/999999/lancer").status_code == 404


def test_a_file_is_run_once(client, site, outbox):
    login_as(client, site.admin)
    _import(client, "structures", "structures.csv")
    job_id = _job_id(_upload(client, "professionnels", "professionnels.csv"))
    assert client.post(f"/administration/importer/fichier/{job_id}/lancer").status_code == 302
    users = db.session.scalar(sa.select(sa.func.count(User.id)))
    assert client.post(f"/administration/importer/fichier/{job_id}/lancer").status_code == 302  # a second click
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == users
    assert len(mails(outbox)) == 3
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "directory.imported")) == 2


def test_the_templates_are_the_header_lines(client, site):
    login_as(client, site.admin)
    for slug, header in (("structures", "Nom*;Type;SIRET;Code SAFIR;Adresse;Code postal;Ville;E-mail;Téléphone"),
                         ("professionnels", "Prénom*;Nom*;E-mail*;Structure*;Rôle")):
        response = client.get(f"/administration/importer/{slug}/modele.csv")
        assert response.status_code == 200 and response.mimetype == "text/csv"
        assert response.get_data(as_text=True) == "\ufeff" + header + "\r\n"


def test_the_other_territorys_admin_sees_none_of_these_files(client, site):
    login_as(client, site.admin)
    job_id, _ = _import(client, "structures", "structures.csv")
    login_as(client, site.other_admin)
    page = text(client.get(UPLOAD["structures"]))
    assert "structures.csv" not in page and "Aucun fichier pour l'instant." in page
    for path in (f"/administration/importer/fichier/{job_id}",
                 f"/administration/importer/fichier/{job_id}/erreurs.csv"):
        assert client.get(path).status_code == 404
    # Their own file names their own structures only: this territory's are unknown to them.
    content = "Prénom*;Nom*;E-mail*;Structure*\r\nNina;Roux;nina@exemple.fr;France Travail Bobigny\r\n".encode()
    own = _job_id(_upload(client, "professionnels", "p.csv", content))
    preview = text(client.get(f"/administration/importer/fichier/{own}"))
    assert "structure inconnue dans ce territoire : « France Travail Bobigny »" in preview
