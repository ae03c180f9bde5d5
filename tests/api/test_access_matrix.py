"""The access matrix (tests/test_access.py) mirrored on the API: for each user of the world, which
endpoints answer 200, 403 or 404 — never a 403 where the caller may not know the record exists."""

from __future__ import annotations

import pytest

from tests.world import build_world

ENDPOINTS = ["pathway", "identity", "meetings", "barriers", "entries", "timeline", "audit", "overdue"]
OK, NF, FB = 200, 404, 403

# With the person's consent on file.
MATRIX_WITH_CONSENT = {
    #              pathway identity meetings barriers entries timeline audit overdue
    "referent": (OK, OK, OK, OK, OK, OK, OK, FB),
    "colleague": (OK, OK, OK, OK, OK, OK, OK, FB),
    "partner": (OK, OK, OK, OK, OK, OK, FB, FB),
    "outsider": (NF, NF, NF, NF, NF, NF, NF, FB),
    "stranger": (NF, NF, NF, NF, NF, NF, NF, FB),
    "manager_ft": (OK, OK, OK, OK, OK, OK, OK, OK),
    "manager_cd": (OK, OK, OK, OK, OK, OK, OK, OK),
    "admin": (NF, NF, NF, NF, NF, NF, NF, FB),
}

# Without consent: the partner only learns that the pathway exists and who the referent is.
MATRIX_WITHOUT_CONSENT = {
    **MATRIX_WITH_CONSENT,
    "partner": (OK, NF, NF, NF, NF, NF, FB, FB),
}

# What GET /pathways/{id} says about the reader's access level.
ACCESS_LEVEL = {
    "referent": "full",
    "colleague": "full",
    "partner": "shared",
    "manager_ft": "full",
    "manager_cd": "shared",
}


def _paths(world) -> dict[str, str]:
    p, b = world.pathway.id, world.pathway.beneficiary_id
    return {
        "pathway": f"/pathways/{p}",
        "identity": f"/beneficiaries/{b}",
        "meetings": f"/pathways/{p}/meetings",
        "barriers": f"/pathways/{p}/barriers",
        "entries": f"/pathways/{p}/entries",
        "timeline": f"/pathways/{p}/timeline",
        "audit": f"/pathways/{p}/audit",
        "overdue": "/followups/overdue",
    }


@pytest.mark.parametrize(
    "consent, matrix",
    [(True, MATRIX_WITH_CONSENT), (False, MATRIX_WITHOUT_CONSENT)],
    ids=["with_consent", "without_consent"],
)
def test_api_mirrors_the_access_matrix(api, consent, matrix):
    world = build_world(consent=consent)
    paths = _paths(world)
    observed = {
        name: tuple(api(user).get(paths[endpoint]).status_code for endpoint in ENDPOINTS)
        for name, user in world.users().items()
    }
    assert observed == matrix


def test_partner_without_consent_sees_existence_and_referent_only(api):
    world = build_world(consent=False)
    body = api(world.partner).get(f"/pathways/{world.pathway.id}").get_json()
    assert body["access"] == "existence"
    assert set(body) == {"id", "access", "referent", "lead_agency"}
    assert body["referent"]["id"] == world.referent.id
    rows = api(world.partner).get("/beneficiaries").get_json()["items"]
    assert [set(r) for r in rows] == [{"pathway_id", "access", "referent", "lead_agency"}]


def test_access_levels_and_hidden_notes(api, world):
    for name, level in ACCESS_LEVEL.items():
        assert api(getattr(world, name)).get(f"/pathways/{world.pathway.id}").get_json()["access"] == level

    def notes(user):
        items = api(user).get(f"/pathways/{world.pathway.id}/meetings").get_json()["items"]
        return {m["id"]: m["notes"] for m in items}

    assert notes(world.referent) == {
        world.meeting_private.id: "Point sur la recherche de logement.",
        world.meeting_team.id: "CV mis à jour.",
    }
    assert notes(world.partner) == {world.meeting_private.id: None, world.meeting_team.id: "CV mis à jour."}
    assert notes(world.manager_cd)[world.meeting_private.id] is None

    def entries(user):
        return {e["id"] for e in api(user).get(f"/pathways/{world.pathway.id}/entries").get_json()["items"]}

    assert entries(world.partner) == {world.entry_team.id, world.entry_partner.id}
    assert entries(world.referent) == {world.entry_team.id, world.entry_agency.id, world.entry_referent.id}
    timeline_bodies = {
        i["body"]
        for i in api(world.partner).get(f"/pathways/{world.pathway.id}/timeline").get_json()["items"]
    }
    assert "Point sur la recherche de logement." not in timeline_bodies
    assert "Note FT." not in timeline_bodies and "Note CAF." in timeline_bodies


def test_reads_are_audited(api, world):
    api(world.partner).get(f"/pathways/{world.pathway.id}")
    events = api(world.referent).get(f"/pathways/{world.pathway.id}/audit?per_page=100").get_json()["items"]
    assert any(e["action"] == "pathway.read.record" and e["actor_id"] == world.partner.id for e in events)
