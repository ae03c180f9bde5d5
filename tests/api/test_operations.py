"""Every operation: success, 422 naming the field, 404 for another territory and for a partner
outside the team, 409 on a stale If-Match, 428 without If-Match, 400 on a malformed body."""

from __future__ import annotations

import pytest

from app.barriers.models import BarrierCategory
from app.extensions import db
from app.followup.models import Alert, AlertKind
from app.followup.scan import scan_follow_ups
from app.validation import date_bounds
from tests.world import T0

NEXT_YEAR = date_bounds("event")[1].year - 4  # a planned meeting: in the future, within the bounds

# (method, path template, valid body, invalid body → field named in `errors`)
WRITES = [
    (
        "POST",
        "/beneficiaries",
        {"first_name": "Léa", "last_name": "Martin"},
        ({"first_name": ""}, "first_name"),
    ),
    ("PATCH", "/beneficiaries/{b}", {"city": "Pantin"}, ({"postal_code": "9"}, "postal_code")),
    ("PATCH", "/pathways/{p}", {"stage": "diagnosis"}, ({"stage": "employed"}, "stage")),
    ("POST", "/pathways/{p}/referent", {"user_id": "{colleague}"}, ({"user_id": "x"}, "user_id")),
    ("POST", "/pathways/{p}/members", {"agency_id": "{ccas}"}, ({"agency_id": None}, "agency_id")),
    (
        "POST",
        "/pathways/{p}/contracts",
        {"kind": "ppae", "signed_on": "2026-01-10", "starts_on": "2026-01-10"},
        (
            {"kind": "cer", "signed_on": "2026-01-10", "starts_on": "2026-02-10", "ends_on": "2026-01-01"},
            "ends_on",
        ),
    ),
    (
        "POST",
        "/pathways/{p}/entries",
        {"body": "Appel", "visibility": "team"},
        ({"body": "x", "visibility": "all"}, "visibility"),
    ),
    (
        "POST",
        "/pathways/{p}/meetings",
        {"scheduled_at": f"{NEXT_YEAR}-01-15T10:00:00+01:00"},
        ({"scheduled_at": f"{NEXT_YEAR}-01-15T10:00:00"}, "scheduled_at"),
    ),
    ("PATCH", "/meetings/{m}", {"notes": "Corrigé"}, ({"status": "planned"}, "status")),
    (
        "POST",
        "/pathways/{p}/barriers",
        {"category": "housing", "title": "Hébergement"},
        ({"category": "sun"}, "category"),
    ),
    ("PATCH", "/barriers/{r}", {"status": "lifted"}, ({"due_on": "demain"}, "due_on")),
    ("POST", "/barriers/{r}/referral", {"agency_id": "{ccas}"}, ({"agency_id": 0}, "agency_id")),
    (
        "POST",
        "/pathways/{p}/employment",
        {"started_on": "2026-03-01", "contract_type": "cdi", "employer": "Boulangerie"},
        ({"started_on": "2026-03-01", "contract_type": "cdi"}, "employer"),
    ),
    ("POST", "/pathways/{p}/close", {"reason": "moved_away"}, ({"reason": "bored"}, "reason")),
]
VERSIONED = {"/beneficiaries/{b}": "b", "/pathways/{p}": "p", "/meetings/{m}": "m", "/barriers/{r}": "r"}


def _ids(world) -> dict[str, int]:
    return {
        "b": world.pathway.beneficiary_id,
        "p": world.pathway.id,
        "m": world.meeting_team.id,
        "r": world.barrier.id,
        "colleague": world.colleague.id,
        "ccas": world.ccas.id,
    }


def _fill(value, ids):
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value.format(**ids) if isinstance(value, str) else value


def _version(client_as, path):
    getter = path.replace("/meetings/", "/pathways/X/meetings/")  # meetings/barriers: read from lists
    if getter.startswith("/pathways/X"):
        return None
    return client_as.get(path).headers.get("ETag")


@pytest.mark.parametrize("method, template, body, invalid", WRITES, ids=[f"{w[0]} {w[1]}" for w in WRITES])
def test_write_operation(api, world, method, template, body, invalid):
    ids = _ids(world)
    path = template.format(**ids)
    versions = {
        "b": lambda: world.pathway.beneficiary.version,
        "p": lambda: world.pathway.version,
        "m": lambda: world.meeting_team.version,
        "r": lambda: world.barrier.version,
    }
    key = VERSIONED.get(template)
    version = versions[key]() if key else None
    referent = api(world.referent)

    # 422 naming the field (French message).
    bad = getattr(referent, method.lower())(path, json=_fill(invalid[0], ids), version=version)
    assert bad.status_code == 422, bad.get_json()
    assert bad.mimetype == "application/problem+json"
    assert invalid[1] in bad.get_json()["errors"]

    # 400 when the body is not a JSON object.
    assert (
        referent._call(method, path, data="[1]", content_type="application/json", version=version).status_code
        == 400
    )

    if template != "/beneficiaries":
        # Another territory, and a partner outside the team: not found, never forbidden.
        for user in (world.stranger, world.outsider):
            hidden = getattr(api(user), method.lower())(path, json=_fill(body, ids), version=version)
            assert hidden.status_code == 404, (user.email, hidden.get_json())

    if key:
        assert getattr(referent, method.lower())(path, json=_fill(body, ids)).status_code == 428
        stale = getattr(referent, method.lower())(path, json=_fill(body, ids), version=version + 7)
        assert stale.status_code == 409

    ok = getattr(referent, method.lower())(path, json=_fill(body, ids), version=version)
    assert ok.status_code in (200, 201), ok.get_json()
    if ok.status_code == 201 and template == "/beneficiaries":
        assert ok.headers["Location"].endswith(f"/api/v1/beneficiaries/{ok.get_json()['id']}")
    if key:
        # One write, one new version: the ETag is the version the body shows, the one read plus one.
        assert ok.get_json()["version"] == version + 1
        assert ok.headers["ETag"] == f'"{version + 1}"'
    if "ETag" in ok.headers:
        assert ok.headers["ETag"] == f'"{ok.get_json()["version"]}"'


def test_partner_in_the_team_may_not_manage(api, world):
    response = api(world.partner).patch(
        f"/pathways/{world.pathway.id}", json={"stage": "support"}, version=world.pathway.version
    )
    assert response.status_code == 403  # the partner sees the record: refusing says nothing new


def test_second_open_pathway_is_a_conflict(api, world):
    created = (
        api(world.referent).post("/beneficiaries", json={"first_name": "A", "last_name": "B"}).get_json()
    )
    assert created["current_pathway_id"] is not None
    consent = api(world.referent).post(f"/pathways/{world.pathway.id}/consent", json={"method": "oral"})
    assert consent.status_code == 409  # already on file


def test_consent_withdrawal_and_members(api, world):
    referent = api(world.referent)
    assert referent.delete(f"/pathways/{world.pathway.id}/consent").status_code == 200
    assert referent.delete(f"/pathways/{world.pathway.id}/consent").status_code == 409
    assert api(world.partner).get(f"/pathways/{world.pathway.id}/meetings").status_code == 404
    assert (
        referent.post(f"/pathways/{world.pathway.id}/consent", json={"method": "written"}).status_code == 201
    )
    assert referent.delete(f"/pathways/{world.pathway.id}/members/{world.caf.id}").status_code == 204
    assert api(world.partner).get(f"/pathways/{world.pathway.id}").status_code == 404
    assert referent.delete(f"/pathways/{world.pathway.id}/members/{world.caf.id}").status_code == 404


def test_lists_are_paginated_with_links_and_validated(api, world):
    for n in range(3):
        api(world.referent).post("/beneficiaries", json={"first_name": f"P{n}", "last_name": "Liste"})
    page = api(world.referent).get("/beneficiaries?per_page=2&page=2")
    body = page.get_json()
    assert (body["total"], body["page"], body["per_page"], len(body["items"])) == (4, 2, 2, 2)
    assert 'rel="prev"' in page.headers["Link"] and 'rel="first"' in page.headers["Link"]
    assert 'rel="next"' not in page.headers["Link"]
    for query, parameter in (
        ("per_page=101", "per_page"),
        ("stage=nowhere", "stage"),
        ("page=0", "page"),
        ("referent_id=abc", "referent_id"),
        ("colour=red", "colour"),
    ):
        bad = api(world.referent).get(f"/beneficiaries?{query}")
        assert bad.status_code == 422 and parameter in bad.get_json()["errors"], query
    found = api(world.referent).get("/beneficiaries?q=benali").get_json()
    assert [i["beneficiary"]["last_name"] for i in found["items"]] == ["Benali"]


def test_datetimes_are_utc_with_offset_and_naive_ones_refused(api, world):
    meetings = api(world.referent).get(f"/pathways/{world.pathway.id}/meetings").get_json()["items"]
    assert all(m["scheduled_at"].endswith("+00:00") for m in meetings)
    naive = api(world.referent).post(
        f"/pathways/{world.pathway.id}/entries",
        json={"body": "x", "visibility": "team", "occurred_at": "2026-01-01T10:00:00"},
    )
    assert naive.status_code == 422 and "occurred_at" in naive.get_json()["errors"]
    nul = api(world.referent).post(
        f"/pathways/{world.pathway.id}/entries", json={"body": "a\x00b", "visibility": "team"}
    )
    assert nul.status_code == 422 and "body" in nul.get_json()["errors"]


def test_alerts_acknowledge_and_overdue_followups(api, world):
    scan_follow_ups(T0 + __import__("datetime").timedelta(days=120))
    alerts = api(world.referent).get("/alerts").get_json()["items"]
    assert alerts and all(a["status"] != "resolved" for a in alerts)
    follow_up = db.session.scalar(db.select(Alert).where(Alert.kind == AlertKind.FOLLOW_UP_OVERDUE))
    assert api(world.partner).post(f"/alerts/{follow_up.id}/acknowledge").status_code == 403
    assert api(world.stranger).post(f"/alerts/{follow_up.id}/acknowledge").status_code == 404
    acked = api(world.referent).post(f"/alerts/{follow_up.id}/acknowledge")
    assert acked.status_code == 200 and acked.get_json()["status"] == "acknowledged"
    assert api(world.referent).get("/alerts?status=maybe").status_code == 422

    overdue = api(world.manager_ft).get("/followups/overdue").get_json()["items"]
    assert {a["kind"] for a in overdue} <= {
        "follow_up_overdue",
        "checkin_overdue",
        "meeting_unrecorded",
        "missed_not_rescheduled",
    }
    assert follow_up.id in {a["id"] for a in overdue}
    assert api(world.manager_cd).get(f"/followups/overdue?agency_id={world.ft.id}").get_json()["total"] >= 1
    assert api(world.manager_ft).get(f"/followups/overdue?agency_id={world.caf.id}").get_json()["total"] == 0
    assert api(world.referent).get("/followups/overdue").status_code == 403


def test_referral_answered_by_the_partner_with_its_own_token(api, world):
    referent, partner = api(world.referent), api(world.partner)
    assert (
        partner.post(f"/barriers/{world.barrier.id}/referral/answer", json={"accept": True}).status_code
        == 409
    )
    sent = referent.post(f"/barriers/{world.barrier.id}/referral", json={"agency_id": world.caf.id})
    assert sent.status_code == 201
    assert (
        referent.post(f"/barriers/{world.barrier.id}/referral/answer", json={"accept": True}).status_code
        == 403
    )
    declined = partner.post(f"/barriers/{world.barrier.id}/referral/answer", json={"accept": False})
    assert declined.status_code == 422 and "decline_reason" in declined.get_json()["errors"]
    accepted = partner.post(f"/barriers/{world.barrier.id}/referral/answer", json={"accept": True})
    assert accepted.status_code == 200 and accepted.get_json()["status"] == "accepted"
    barrier = referent.get(f"/pathways/{world.pathway.id}/barriers").get_json()["items"][0]
    assert (
        barrier["owner_agency_id"] == world.caf.id and barrier["category"] == BarrierCategory.MOBILITY.value
    )


def test_alert_lists_merge_the_statuses_in_deadline_order_and_cap_the_count(api, world, monkeypatch):
    """Each status is walked in (deadline, id) order and the walks merged; the count stops at the
    cap (`total_is_exact: false`) and no page reads past it."""
    from datetime import timedelta

    import app.followup.api as alerts_api
    from app.followup.models import AlertStatus
    from tests.factories import AlertFactory, PathwayFactory

    kinds = [AlertKind.FOLLOW_UP_OVERDUE, AlertKind.NO_REFERENT, AlertKind.ORIENTATION_LATE]
    for i in range(8):
        pathway = PathwayFactory(referent=world.referent, lead_agency=world.referent.agency)
        AlertFactory(pathway=pathway, kind=kinds[i % 3], due_at=T0 - timedelta(days=(i * 5) % 8, hours=i),
                     **({"acknowledged": True} if i % 2 else {}))
    AlertFactory(pathway=world.pathway, resolved=True, due_at=T0 - timedelta(days=30))
    client = api(world.referent)
    client.get("/alerts")  # its commit lets the write-time evaluation settle the alerts above
    listed = client.get("/alerts?per_page=100").get_json()
    assert listed["total_is_exact"] is True
    expected = [a["id"] for a in listed["items"]]
    db.session.expire_all()
    shown = {a.id: a for a in db.session.scalars(db.select(Alert).where(Alert.id.in_(expected)))}
    assert len(expected) >= 6 and {shown[i].status for i in expected} == {AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED}
    assert expected == sorted(expected, key=lambda i: (shown[i].due_at, i))  # one order across the walks
    assert not db.session.scalar(db.select(db.func.count()).select_from(Alert).where(
        Alert.status != AlertStatus.RESOLVED, Alert.pathway_id.in_({a.pathway_id for a in shown.values()}),
        Alert.id.not_in(expected)))  # and nothing of these pathways left out
    monkeypatch.setattr(alerts_api, "COUNT_CAP", 5)
    first = client.get("/alerts?per_page=3").get_json()
    assert first["total"] == 5 and first["total_is_exact"] is False
    assert [a["id"] for a in first["items"]] == expected[:3]
    second = client.get("/alerts?per_page=3&page=2").get_json()
    assert [a["id"] for a in second["items"]] == expected[3:5]  # the cap: nothing past the 5th
    assert client.get("/alerts?per_page=3&page=3").get_json()["items"] == []
    acknowledged = client.get("/alerts?status=acknowledged&per_page=100").get_json()["items"]
    assert [a["id"] for a in acknowledged] == [
        a.id for a in db.session.scalars(db.select(Alert).where(Alert.status == AlertStatus.ACKNOWLEDGED)
                                         .order_by(Alert.due_at, Alert.id))]
