"""The whole mission through the API alone, each professional with their own token (only the scan,
which is not an API operation, is called directly, with a later `now`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine

from app.followup.scan import scan_follow_ups
from tests.factories import PASSWORD
from tests.world import build_world

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _login(client, email):
    response = client.post("/api/v1/tokens", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def test_a_whole_pathway_through_the_api(client):
    world = build_world(consent=False)
    with time_machine.travel(START, tick=False):
        ref = _login(client, "referent@ft.test")

        def call(method, path, headers=ref, **kw):
            response = client.open("/api/v1" + path, method=method, headers=headers, **kw)
            assert response.status_code < 300, (method, path, response.get_json())
            return response

        person = call(
            "POST",
            "/beneficiaries",
            json={"first_name": "Inès", "last_name": "Diallo", "birth_date": "1990-05-04", "rights": ["rsa"]},
        ).get_json()
        pid = person["current_pathway_id"]
        version = int(call("GET", f"/pathways/{pid}").headers["ETag"].strip('"'))
        oriented = call(
            "PATCH",
            f"/pathways/{pid}",
            json={"orientation": "professional"},
            headers={**ref, "If-Match": f'"{version}"'},
        ).get_json()
        assert oriented["orientation"] == "professional"
        call("POST", f"/pathways/{pid}/referent", json={"user_id": world.referent.id})
        call("POST", f"/pathways/{pid}/consent", json={"method": "written"})
        call("POST", f"/pathways/{pid}/members", json={"agency_id": world.caf.id})
        call(
            "POST",
            f"/pathways/{pid}/meetings",
            json={
                "status": "held",
                "held_at": "2026-03-02T08:30:00+00:00",
                "notes": "Premier entretien.",
                "notes_visibility": "team",
                "next_at": "2026-03-16T09:00:00+01:00",
            },
        )
        barrier = call(
            "POST", f"/pathways/{pid}/barriers", json={"category": "mobility", "title": "Pas de permis"}
        ).get_json()
        call("POST", f"/barriers/{barrier['id']}/referral", json={"agency_id": world.caf.id})
        caf = _login(client, "partenaire@caf.test")
        answer = call(
            "POST", f"/barriers/{barrier['id']}/referral/answer", headers=caf, json={"accept": True}
        )
        assert answer.get_json()["status"] == "accepted"
        call(
            "POST",
            f"/pathways/{pid}/employment",
            json={"started_on": "2026-03-02", "contract_type": "cdd", "employer": "Transports Est"},
        )

    later = START + timedelta(days=40)  # the +1 month check-in (2 April, 10:00 Paris) is overdue
    with time_machine.travel(later, tick=False):
        scan_follow_ups(later)
        ref = _login(client, "referent@ft.test")
        alerts = call("GET", "/alerts?kind=checkin_overdue", headers=ref).get_json()["items"]
        assert [a["pathway_id"] for a in alerts] == [pid]
        meetings = call("GET", f"/pathways/{pid}/meetings?per_page=100", headers=ref).get_json()["items"]
        checkin = min((m for m in meetings if m["kind"] == "checkin"), key=lambda m: m["scheduled_at"])
        held = call(
            "PATCH",
            f"/meetings/{checkin['id']}",
            headers={**ref, "If-Match": f'"{checkin["version"]}"'},
            json={"status": "held", "notes": "Poste tenu, tout va bien.", "notes_visibility": "agency"},
        )
        assert held.get_json()["status"] == "held"
        scan_follow_ups(later + timedelta(minutes=5))
        assert call("GET", "/alerts?kind=checkin_overdue", headers=ref).get_json()["items"] == []
        resolved = call("GET", "/alerts?kind=checkin_overdue&status=resolved", headers=ref).get_json()[
            "items"
        ]
        assert [a["id"] for a in resolved] == [alerts[0]["id"]]
        # The partner sees the team's notes, not the agency-only ones, in the merged journal.
        bodies = {
            i["body"]
            for i in call(
                "GET", f"/pathways/{pid}/timeline", headers=_login(client, "partenaire@caf.test")
            ).get_json()["items"]
        }
        assert "Premier entretien." in bodies and "Poste tenu, tout va bien." not in bodies
