"""The administration pages through Flask's test client, on a real database: the access matrix
(every admin route × who asks), the pages' French refusals, and the whole invitation flow."""
from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from app.accounts.models import Agency, Territory, User
from app.admin import services
from app.audit.models import AuditEvent
from app.db_types import utcnow
from app.extensions import db
from tests.admin.conftest import invitation_path, mails
from tests.factories import PASSWORD, InvitationFactory
from tests.web_helpers import field_error, login_as, text

NEW_PASSWORD = "girafe-parapluie-tournesol-41"

# Every route of the admin blueprint, with a valid form for its POST: {agency} and {user} are
# objects of the admin's territory (a France Travail agency, an invited account).
ROUTES = [
    ("GET", "/administration/", None),
    ("GET", "/administration/structures", None),
    ("GET", "/administration/structures/nouvelle", None),
    ("POST", "/administration/structures/nouvelle", {"name": "CCAS de Pantin", "kind": "ccas"}),
    ("GET", "/administration/structures/{agency}/modifier", None),
    ("POST", "/administration/structures/{agency}/modifier",
     {"name": "France Travail Bobigny", "kind": "france_travail", "safir_code": "93012"}),
    ("POST", "/administration/structures/{agency}/desactiver", {}),
    ("POST", "/administration/structures/{agency}/reactiver", {}),
    ("GET", "/administration/professionnels", None),
    ("GET", "/administration/professionnels/inviter", None),
    ("POST", "/administration/professionnels/inviter",
     {"first_name": "Nina", "last_name": "Roux", "email": "nina.roux@exemple.fr", "role": "professional",
      "agency_id": "{agency}"}),
    ("POST", "/administration/professionnels/{user}/renvoyer-invitation", {}),
    ("POST", "/administration/professionnels/{user}/desactiver", {}),
    ("POST", "/administration/professionnels/{user}/reactiver", {}),
    ("GET", "/administration/parametres", None),
    ("POST", "/administration/parametres", "settings"),
    # Imports of structures and professionals: {import} is a file uploaded by the admin (a preview).
    ("GET", "/administration/importer/structures", None),
    ("POST", "/administration/importer/structures", "structures_file"),
    ("GET", "/administration/importer/professionnels", None),
    ("POST", "/administration/importer/professionnels", "professionals_file"),
    ("GET", "/administration/importer/structures/modele.csv", None),
    ("GET", "/administration/importer/professionnels/modele.csv", None),
    ("GET", "/administration/importer/fichier/{import}", None),
    ("POST", "/administration/importer/fichier/{import}/lancer", {}),
    ("GET", "/administration/importer/fichier/{import}/erreurs.csv", None),
]
IMPORT_FILES = {
    "structures_file": ("s.csv", "Nom*;Type\r\nCCAS de Pantin;CCAS\r\n"),
    "professionals_file": ("p.csv", "Prénom*;Nom*;E-mail*;Structure*\r\n"
                                    "Nina;Roux;nina.roux@exemple.fr;Conseil départemental\r\n"),
}
KIND_RULE = "<any(structures, professionnels):slug>"
OBJECT_ROUTES = [r for r in ROUTES if "{" in r[1]]


def test_the_matrix_lists_every_admin_route(app):
    listed = {(method, re.sub(r"/importer/(structures|professionnels)", "/importer/" + KIND_RULE,
                              path.replace("{agency}", "<id:agency_id>").replace("{user}", "<id:user_id>")
                              .replace("{import}", "<id:import_id>")))
              for method, path, _ in ROUTES}
    routes = {(method, rule.rule) for rule in app.url_map.iter_rules() if rule.endpoint.startswith("admin.")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes == listed


@pytest.fixture
def invited(site):
    # the pages compare with the real clock
    return InvitationFactory(user__agency=site.ft, user__email="invite@ft93.fr", created_at=utcnow()).user


def _settings_form(territory: Territory, **changes) -> dict:
    values = services.settings_of(territory)
    values["checkin_months"] = ", ".join(map(str, values["checkin_months"]))
    values["password_login_allowed"] = "1" if values["password_login_allowed"] else None
    values["version"] = territory.version
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def _directory_import(site):
    """A file of structures uploaded by the territory's admin (its preview: nothing written)."""
    from app.admin import directory

    return directory.create_import(site.admin, directory.AGENCIES, filename="s.csv",
                                   content=b"Nom*;Type\r\nCCAS de Bondy;CCAS\r\n")


def _send(client, site, invited, method, path, data):
    import_id = _directory_import(site).id if "{import}" in path else 0
    path = path.format(agency=site.ft.id, user=invited.id, **{"import": import_id})
    if isinstance(data, str) and data in IMPORT_FILES:
        name, content = IMPORT_FILES[data]
        return client.open(path, method=method, data={"file": (io.BytesIO(content.encode()), name)},
                           content_type="multipart/form-data")
    if data == "settings":
        data = _settings_form(site.territory, grace_days="4")
    elif data:
        data = {k: (v.format(agency=site.ft.id) if isinstance(v, str) else v) for k, v in data.items()}
    return client.open(path, method=method, data=data)


def _state(site, invited) -> tuple:
    db.session.expire_all()
    agency = db.session.get(Agency, site.ft.id)
    account = db.session.get(User, invited.id)
    territory = db.session.get(Territory, site.territory.id)
    writes = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                               .where(AuditEvent.action.not_in(["user.login"])))
    users = db.session.scalar(sa.select(sa.func.count()).select_from(User))
    agencies = db.session.scalar(sa.select(sa.func.count()).select_from(Agency))
    return (agency.name, agency.safir_code, agency.is_active, account.is_active_account, territory.grace_days,
            territory.version, writes, users, agencies)


@pytest.mark.parametrize(("method", "path", "data"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_the_admin_of_the_territory_is_served(client, site, invited, outbox, method, path, data):
    login_as(client, site.admin)
    response = _send(client, site, invited, method, path, data)
    assert response.status_code == (200 if method == "GET" else 302), text(response)[:2000]


# Another territory's admin has the pages without an object for their own territory (tested below);
# the objects of this territory do not exist for them.
REFUSED = [(who, *route) for who in ("professional", "manager") for route in ROUTES] + [
    ("other_admin", *route) for route in OBJECT_ROUTES]


@pytest.mark.parametrize(("who", "method", "path", "data"), REFUSED, ids=[f"{w} {m} {p}" for w, m, p, _ in REFUSED])
def test_anyone_else_is_answered_not_found_and_nothing_changes(client, site, invited, outbox, who, method, path, data):
    login_as(client, getattr(site, who))
    before = _state(site, invited)
    response = _send(client, site, invited, method, path, data)
    assert response.status_code == 404
    assert _state(site, invited) == before
    assert mails(outbox) == []


def test_another_territorys_admin_sees_and_changes_only_their_own(client, site, invited, outbox):
    login_as(client, site.other_admin)
    for path in ("/administration/", "/administration/structures", "/administration/professionnels",
                 "/administration/parametres", "/administration/professionnels/inviter"):
        page = text(client.get(path))
        for foreign in ("France Travail Bobigny", "pro@ft93.fr", "invite@ft93.fr", "Seine-Saint-Denis"):
            assert foreign not in page, (path, foreign)
    before = _state(site, invited)
    response = client.post("/administration/parametres", data=_settings_form(site.other_territory, grace_days="9"))
    assert response.status_code == 302
    response = client.post("/administration/professionnels/inviter", data={
        "first_name": "Nina", "last_name": "Roux", "email": "nina@exemple.fr", "role": "professional",
        "agency_id": str(site.ft.id)})
    assert response.status_code == 422 and "Choisissez une structure de la liste." in text(response)
    after = _state(site, invited)
    assert after[:6] == before[:6] and after[7:] == before[7:]  # only their own settings' audit event
    assert db.session.get(Territory, site.other_territory.id).grace_days == 9


def test_anonymous_visitors_are_sent_to_the_login_page(client, site, invited):
    for method, path, data in ROUTES:
        response = _send(client, site, invited, method, path, data)
        assert response.status_code == 302 and "/connexion" in response.headers["Location"], path


# --- pages ----------------------------------------------------------------------------------------

def test_the_admin_lands_on_accounts_and_settings(client, site, invited):
    login_as(client, site.admin)
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/administration/")
    page = text(client.get("/administration/"))
    assert "Comptes et paramètres" in page
    assert "Structures : 2" in page and "Professionnels actifs : 3" in page and "Invitations en attente : 1" in page


def test_a_bad_structure_form_says_why_in_french_and_changes_nothing(client, site):
    login_as(client, site.admin)
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Agency))
    response = client.post("/administration/structures/nouvelle", data={
        "name": "Association Tremplin", "kind": "association", "siret": "12345678901234", "safir_code": "12345"})
    assert response.status_code == 422
    html = text(response)
    assert "SIRET : Le SIRET compte 14 chiffres" in html
    assert field_error(html, "safir_code") == (
        "Le code SAFIR ne concerne que les agences France Travail : laissez ce champ vide.")
    assert 'value="Association Tremplin"' in html  # what was typed is kept
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Agency)) == count


def test_the_structure_list_searches_and_paginates(client, site, now):
    for n in range(30):
        services.create_agency(site.admin, {"name": f"Association n° {n:02d}", "kind": "association"}, now=now)
    login_as(client, site.admin)
    first = text(client.get("/administration/structures"))
    assert "32 structures" in first and "Page suivante" in first and "Association n° 00" in first
    assert "Association n° 29" not in first
    assert "Association n° 29" in text(client.get("/administration/structures?page=2"))
    found = text(client.get("/administration/structures?q=bobigny"))
    assert "1 structure " in found and "France Travail Bobigny" in found and "Association" not in found
    assert client.get("/administration/structures?page=abc").status_code == 422
    assert client.get("/administration/structures?q=" + "x" * 101).status_code == 422


def test_the_professional_list_shows_last_login_and_searches(client, site, invited):
    login_as(client, site.professional)
    login_as(client, site.admin)
    page = text(client.get("/administration/professionnels?q=FT93"))
    assert "pro@ft93.fr" in page and "invite@ft93.fr" in page and "admin@cd93.fr" not in page
    assert "Invitation envoyée" in page and "Renvoyer l'invitation" in page
    row = page.split("pro@ft93.fr")[1].split("</tr>")[0]
    assert "Jamais" not in row and " à " in row  # the date and time of the last login
    invited_row = page.split("invite@ft93.fr")[1].split("</tr>")[0]
    assert "Jamais" in invited_row


def test_a_duplicate_email_is_refused_naming_the_field(client, site, outbox):
    login_as(client, site.admin)
    response = client.post("/administration/professionnels/inviter", data={
        "first_name": "Paul", "last_name": "Durand", "email": "PRO@ft93.FR", "role": "professional",
        "agency_id": str(site.ft.id)})
    assert response.status_code == 409
    html = text(response)
    assert "Adresse électronique : Un compte existe déjà avec cette adresse électronique." in html
    assert mails(outbox) == []


def test_invitation_set_password_log_in_then_deactivation_ends_the_session(app, client, site, outbox):
    login_as(client, site.admin)
    response = client.post("/administration/professionnels/inviter", data={
        "first_name": "Nina", "last_name": "Roux", "email": "Nina.Roux@exemple.fr", "role": "professional",
        "agency_id": str(site.ft.id)})
    assert response.status_code == 302
    [mail] = mails(outbox)
    link = invitation_path(mail)
    from tests.conftest import IsolatedClient
    app.test_client_class = IsolatedClient
    nina = app.test_client()
    page = text(nina.get(link))
    assert "Bienvenue sur Parcours" in page and "nina.roux@exemple.fr" in page
    weak = nina.post(link, data={"password": "court", "password_confirmation": "court"})
    assert weak.status_code == 422 and field_error(text(weak), "password")
    done = nina.post(link, data={"password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"].endswith("/connexion")
    assert nina.get(link).status_code == 400  # single use
    assert nina.post("/connexion", data={"email": "nina.roux@exemple.fr", "password": NEW_PASSWORD}).status_code == 302
    assert nina.get("/portefeuille").status_code == 200
    # the admin deactivates her: her open session stops working at once
    user = db.session.scalar(sa.select(User).where(User.email == "nina.roux@exemple.fr"))
    assert client.post(f"/administration/professionnels/{user.id}/desactiver").status_code == 302
    response = nina.get("/portefeuille")
    assert response.status_code == 302 and "/connexion" in response.headers["Location"]
    refused = nina.post("/connexion", data={"email": "nina.roux@exemple.fr", "password": NEW_PASSWORD})
    assert refused.status_code == 422


def test_a_settings_change_shows_in_the_history(client, site):
    login_as(client, site.admin)
    response = client.post("/administration/parametres", data=_settings_form(site.territory, cadence_social_days="45"))
    assert response.status_code == 302
    page = text(client.get("/administration/parametres"))
    history = page.split('id="historique-parametres"')[1]
    assert "Fréquence de suivi — orientation sociale : 60 jours → 45 jours" in history
    assert "Alice Admin" in history


def test_bad_settings_say_why_in_french_and_change_nothing(client, site):
    login_as(client, site.admin)
    version = site.territory.version
    response = client.post("/administration/parametres", data=_settings_form(
        site.territory, cadence_professional_days="0", checkin_months="1, 3, 100"))
    assert response.status_code == 422
    html = text(response)
    assert "Fréquence de suivi — orientation emploi : Saisissez un nombre de jours entre 1 et 365." in html
    assert "Points de suivi dans l'emploi : Saisissez de 1 à 6 nombres de mois" in html
    db.session.expire_all()
    territory = db.session.get(Territory, site.territory.id)
    assert (territory.cadence_professional_days, territory.checkin_months) == (30, [1, 3, 6])
    assert territory.version == version


def test_password_login_off_refuses_the_login_form_in_french(client, site):
    login_as(client, site.admin)
    form = _settings_form(site.territory)
    form.pop("password_login_allowed")  # the checkbox unticked
    assert client.post("/administration/parametres", data=form).status_code == 302
    client.post("/deconnexion")
    response = client.post("/connexion", data={"email": site.professional.email, "password": PASSWORD})
    assert response.status_code == 403
    assert "La connexion par mot de passe n'est pas autorisée sur votre territoire" in text(response)
    assert client.post("/connexion", data={"email": site.other_user.email, "password": PASSWORD}).status_code == 302


def test_an_unknown_or_expired_invitation_link_says_so(client, site):
    response = client.get("/invitation/nimportequoi")
    assert response.status_code == 400 and "n'est plus valable" in text(response)
    assert client.get("/invitation/" + "x" * 300).status_code == 400


def test_password_login_off_refuses_api_tokens_as_problem_json(client, site, now):
    form = _settings_form(site.territory, password_login_allowed=None, version=None)
    services.update_settings(site.admin, site.territory, form, expected_version=None, now=now)
    response = client.post("/api/v1/tokens", json={"email": site.professional.email, "password": PASSWORD})
    assert response.status_code == 403
    assert response.content_type.startswith("application/problem+json")
    assert "n'est pas autorisée sur votre territoire" in response.get_json()["detail"]


@pytest.mark.parametrize("path", ["/administration/", "/administration/structures", "/administration/professionnels",
                                  "/administration/parametres"])
def test_the_pages_cost_the_same_whatever_the_territorys_size(client, site, now, count_queries, path):
    """No N+1: ten times more structures, accounts and changes, the same number of queries."""
    from tests.factories import UserFactory

    def grow(n: int) -> None:
        for _ in range(n):
            agency = services.create_agency(site.admin, {"name": f"Structure {utcnow().timestamp()}-{_}",
                                                         "kind": "association"}, now=now)
            UserFactory(agency=agency)
            InvitationFactory(user__agency=agency, created_at=utcnow())
            services.update_settings(site.admin, site.territory, {"grace_days": str(site.territory.grace_days % 30 + 1),
                                     **_settings_form(site.territory, version=None, grace_days=None)},
                                     expected_version=None, now=now)

    login_as(client, site.admin)
    grow(2)
    client.get(path)  # warm (session, caches)
    with count_queries() as small:
        assert client.get(path).status_code == 200
    grow(20)
    client.get(path)  # warm again: the writes expired what the session held
    with count_queries() as large:
        assert client.get(path).status_code == 200
    assert large.count == small.count, (small.statements, large.statements)
