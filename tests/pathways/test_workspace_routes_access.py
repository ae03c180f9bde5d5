"""Every workspace route × method, for a user of another territory and a partner outside the team:
404 on anything tied to a record (existence never leaks, DESIGN §3.2), and no data of the record on
the personal pages. A route added without a line here fails `test_every_route_is_listed`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from app.barriers import services as barrier_services
from app.pathways import services as pathway_services
from tests.web_helpers import body_text, login_as, text
from tests.world import World


@dataclass
class Ids:
    referral: int
    join: int


P = "pathways."
M = "meetings."
B = "barriers."

# (endpoint, method) → URL builder, for the routes about one record.
RECORD_ROUTES: dict[tuple[str, str], Callable[[World, Ids], str]] = {
    (P + "record", "GET"): lambda w, r: f"/parcours/{w.pathway.id}",
    (P + "record_as_pdf", "GET"): lambda w, r: f"/parcours/{w.pathway.id}/dossier.pdf",
    (P + "orient", "GET"): lambda w, r: f"/parcours/{w.pathway.id}/orientation",
    (P + "orient", "POST"): lambda w, r: f"/parcours/{w.pathway.id}/orientation",
    (P + "set_stage", "GET"): lambda w, r: f"/parcours/{w.pathway.id}/etape",
    (P + "set_stage", "POST"): lambda w, r: f"/parcours/{w.pathway.id}/etape",
    (P + "hand_over", "GET"): lambda w, r: f"/parcours/{w.pathway.id}/referent",
    (P + "hand_over", "POST"): lambda w, r: f"/parcours/{w.pathway.id}/referent",
    (P + "add_team_agency", "POST"): lambda w, r: f"/parcours/{w.pathway.id}/equipe",
    (P + "remove_team_agency", "POST"): lambda w, r: f"/parcours/{w.pathway.id}/equipe/{w.caf.id}/retirer",
    (P + "record_consent", "GET"): lambda w, r: f"/parcours/{w.pathway.id}/consentement",
    (P + "record_consent", "POST"): lambda w, r: f"/parcours/{w.pathway.id}/consentement",
    (P + "withdraw_consent", "POST"): lambda w, r: f"/parcours/{w.pathway.id}/consentement/retrait",
    (P + "record_contract", "GET"): lambda w, r: f"/parcours/{w.pathway.id}/contrat",
    (P + "record_contract", "POST"): lambda w, r: f"/parcours/{w.pathway.id}/contrat",
    (P + "add_entry", "GET"): lambda w, r: f"/parcours/{w.pathway.id}/journal",
    (P + "add_entry", "POST"): lambda w, r: f"/parcours/{w.pathway.id}/journal",
    (P + "record_employment", "GET"): lambda w, r: f"/parcours/{w.pathway.id}/emploi",
    (P + "record_employment", "POST"): lambda w, r: f"/parcours/{w.pathway.id}/emploi",
    (P + "close", "GET"): lambda w, r: f"/parcours/{w.pathway.id}/cloture",
    (P + "close", "POST"): lambda w, r: f"/parcours/{w.pathway.id}/cloture",
    (M + "log_meeting", "GET"): lambda w, r: f"/parcours/{w.pathway.id}/entretien",
    (M + "log_meeting", "POST"): lambda w, r: f"/parcours/{w.pathway.id}/entretien",
    (M + "plan_meeting", "GET"): lambda w, r: f"/parcours/{w.pathway.id}/rendez-vous/nouveau",
    (M + "plan_meeting", "POST"): lambda w, r: f"/parcours/{w.pathway.id}/rendez-vous/nouveau",
    (M + "cancel_meeting", "GET"): lambda w, r: f"/rendez-vous/{w.meeting_team.id}/annuler",
    (M + "cancel_meeting", "POST"): lambda w, r: f"/rendez-vous/{w.meeting_team.id}/annuler",
    (B + "add_barrier", "GET"): lambda w, r: f"/parcours/{w.pathway.id}/freins/nouveau",
    (B + "add_barrier", "POST"): lambda w, r: f"/parcours/{w.pathway.id}/freins/nouveau",
    (B + "update_barrier", "GET"): lambda w, r: f"/freins/{w.barrier.id}/modifier",
    (B + "update_barrier", "POST"): lambda w, r: f"/freins/{w.barrier.id}/modifier",
    (B + "refer_barrier", "GET"): lambda w, r: f"/freins/{w.barrier.id}/orienter",
    (B + "refer_barrier", "POST"): lambda w, r: f"/freins/{w.barrier.id}/orienter",
    (B + "answer_referral", "GET"): lambda w, r: f"/orientations/{r.referral}/reponse",
    (B + "answer_referral", "POST"): lambda w, r: f"/orientations/{r.referral}/reponse",
    (B + "complete_referral", "POST"): lambda w, r: f"/orientations/{r.referral}/realisee",
    (P + "request_to_join", "POST"): lambda w, r: f"/parcours/{w.pathway.id}/equipe/demande",
    (P + "answer_join_request", "POST"): lambda w, r: f"/equipe/demandes/{r.join}/reponse",
    (P + "edit_identity", "GET"): lambda w, r: f"/parcours/{w.pathway.id}/identite",
    (P + "edit_identity", "POST"): lambda w, r: f"/parcours/{w.pathway.id}/identite",
    (P + "edit_entry", "GET"): lambda w, r: f"/journal/{w.entry_team.id}/corriger",
    (P + "edit_entry", "POST"): lambda w, r: f"/journal/{w.entry_team.id}/corriger",
    (M + "reschedule_meeting", "GET"): lambda w, r: f"/rendez-vous/{w.meeting_team.id}/deplacer",
    (M + "reschedule_meeting", "POST"): lambda w, r: f"/rendez-vous/{w.meeting_team.id}/deplacer",
    (M + "record_meeting", "POST"): lambda w, r: f"/rendez-vous/{w.meeting_team.id}/renseigner",
}

# Personal pages (my caseload, my agenda, creating a person): never about someone else's record.
PERSONAL_ROUTES: dict[tuple[str, str], str] = {
    (P + "portfolio", "GET"): "/portefeuille",
    (P + "portfolio", "GET structure"): "/portefeuille?onglet=structure&q=benali",
    (P + "portfolio_csv", "GET"): "/portefeuille/export.csv?onglet=structure",
    (P + "portfolio_xlsx", "GET"): "/portefeuille/export.xlsx?onglet=structure&q=benali",
    (P + "create_person", "GET"): "/personnes/nouvelle",
    (P + "create_person", "POST"): "/personnes/nouvelle",
    (M + "agenda", "GET"): "/agenda",
    (M + "agenda", "GET week"): "/agenda?semaine=2026-12-07",
    (M + "issue_feed", "POST"): "/agenda/abonnement",
    (M + "revoke_feed", "POST"): "/agenda/abonnement/revoquer",
    (M + "feed", "GET"): "/agenda/jeton-inconnu.ics",
}

WORKSPACE_BLUEPRINTS = ("pathways", "meetings", "barriers")


def test_every_route_is_listed(app) -> None:
    listed = set(RECORD_ROUTES) | {(e, m.split()[0]) for e, m in PERSONAL_ROUTES}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in WORKSPACE_BLUEPRINTS:
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (rule.endpoint, method) in listed, f"{method} {rule.rule} has no access test: add it here"


@pytest.fixture
def referral_id(world: World) -> Ids:
    """A referral to the CAF, and a request of the conseil départemental to join the team."""
    referral = barrier_services.refer_barrier(world.referent, world.barrier, agency_id=world.caf.id)
    pathway_services.check_duplicates(world.manager_cd, {"caf_number": "1234567"})
    join = pathway_services.request_to_join(world.manager_cd, world.pathway)
    return Ids(referral=referral.id, join=join.id)


@pytest.mark.parametrize("who", ["stranger", "outsider"])
@pytest.mark.parametrize("route", sorted(RECORD_ROUTES), ids=lambda r: f"{r[1]} {r[0]}")
def test_record_routes_answer_404(client, world: World, referral_id: Ids, who: str, route) -> None:
    login_as(client, getattr(world, who))
    url = RECORD_ROUTES[route](world, referral_id)
    response = client.open(url, method=route[1], data={"status": "held"} if route[1] == "POST" else None)
    assert response.status_code == 404, f"{route} answered {response.status_code} to the {who}"
    assert "Benali" not in text(response)


@pytest.mark.parametrize("who", ["stranger", "outsider"])
@pytest.mark.parametrize("route", sorted(PERSONAL_ROUTES), ids=lambda r: f"{r[1]} {r[0]}")
def test_personal_routes_show_nothing_of_the_record(
    client, world: World, referral_id: Ids, who: str, route
) -> None:
    login_as(client, getattr(world, who))
    url = PERSONAL_ROUTES[route]
    data = (
        {"first_name": "Sarah", "last_name": "Benali", "caf_number": "1234567"}
        if route[1] == "POST"
        else None
    )
    response = client.open(url, method=route[1].split()[0], data=data)
    assert response.status_code in (200, 302, 404)
    if route[0] == M + "feed":
        assert response.status_code == 404
    body = body_text(response)
    assert "Benali" not in body.replace('value="Benali"', "")  # the typed name may be kept in its field
    assert "Pas de permis" not in body
