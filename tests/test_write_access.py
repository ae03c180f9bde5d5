"""The need-to-know policy for writes (DESIGN §3.3 "writes follow reads"): every role × every write
operation, checked three ways — the named question of `app/access.py`, the web form, the JSON API.

The users are those of tests/world.py (see tests/test_access.py), around one pathway led by France
Travail whose team includes the CAF, with the person's consent on file. A Y means the operation is
allowed: the question says yes, and the door answers 2xx/3xx and writes an audit event. An N means
refused: the question says no, and the door answers 403, or 404 where the user may not even know the
record exists, and writes nothing. A dash: the operation has no such door.

The operations run one after the other in one world, in an order where each leaves the next
possible (the handover keeps the pathway in France Travail; closing comes last).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
import sqlalchemy as sa

from app import access
from app.audit.models import AuditEvent
from app.db_types import utcnow
from app.extensions import db
from app.followup.models import Alert, AlertKind
from app.meetings import services as meeting_services
from app.meetings.models import Meeting
from tests.db_helpers import open_alert
from tests.factories import UserFactory
from tests.web_helpers import local_input_in, login_as
from tests.world import World

OPS = [
    "add_entry", "plan_meeting", "log_meeting", "cancel_meeting", "edit_notes", "add_barrier",
    "update_barrier", "refer_barrier", "ack_alert", "orient", "change_stage", "add_member",
    "remove_member", "record_contract", "withdraw_consent", "assign_referent", "record_employment",
    "edit_identity", "record_meeting", "reschedule_meeting", "edit_entry", "close",
]

# One letter per operation, in the order of OPS (with consent on file).
MATRIX = {
    #              entry plan log cancel notes +barrier barrier refer ack orient stage +member -member contract
    #              consent referent employment identity record-meeting move-meeting correct-note close
    "referent":   "Y Y Y Y Y Y Y Y Y Y Y Y Y Y Y Y Y Y Y Y Y Y",
    "colleague":  "Y Y Y Y Y Y Y Y Y Y Y Y Y Y Y Y Y Y Y Y Y Y",
    "partner":    "Y N N N N N N N N N N N N N N N N N N N N N",
    "outsider":   "N N N N N N N N N N N N N N N N N N N N N N",
    "stranger":   "N N N N N N N N N N N N N N N N N N N N N N",
    "manager_ft": "Y Y Y Y Y Y Y Y Y Y Y Y Y Y Y Y Y Y Y Y Y Y",
    "manager_cd": "Y N N N N N N N N N N N N N N Y N N N N N N",
    "admin":      "N N N N N N N N N N N N N N N N N N N N N N",
}


def expected(role: str) -> dict[str, bool]:
    letters = MATRIX[role].split()
    assert len(letters) == len(OPS), role
    return {op: letter == "Y" for op, letter in zip(OPS, letters, strict=True)}


@dataclass
class Scene:
    """The world plus what the operations act on."""

    w: World
    planned: Meeting  # a future meeting to cancel
    successor: Any  # a France Travail professional to hand the pathway to
    past: Meeting  # a meeting planned yesterday, not recorded (« À renseigner »)
    later: Meeting  # a future meeting to move

    @property
    def alert(self) -> Alert:
        """An unresolved alert of the pathway, when the cell runs: earlier writes of the matrix
        (a meeting held…) resolve alerts in their own transaction (app/followup/live.py)."""
        return open_alert(self.w.pathway, AlertKind.FOLLOW_UP_OVERDUE)

    def ids(self) -> dict[str, Any]:
        w = self.w
        return {"p": w.pathway.id, "b": w.barrier.id, "m": self.planned.id, "t": w.meeting_team.id,
                "a": self.alert.id, "caf": w.caf.id, "ccas": w.ccas.id, "cd": w.cd.id, "ft": w.ft.id,
                "s": self.successor.id, "q": self.past.id, "l": self.later.id, "e": w.entry_team.id,
                "ben": w.pathway.beneficiary_id}


@pytest.fixture
def scene(world: World) -> Scene:
    planned = meeting_services.plan_meeting(world.referent, world.pathway, scheduled_at=utcnow() + timedelta(days=5))
    past = meeting_services.plan_meeting(world.referent, world.pathway, scheduled_at=utcnow() - timedelta(days=1),
                                         now=utcnow() - timedelta(days=2))
    later = meeting_services.plan_meeting(world.referent, world.pathway, scheduled_at=utcnow() + timedelta(days=6))
    return Scene(world, planned, UserFactory(agency=world.ft, email="successeur@ft.test"), past, later)


# --- the named questions --------------------------------------------------------------------------

QUESTIONS: dict[str, Callable[[Any, Scene], bool]] = {
    "add_entry": lambda u, s: access.can_add_entry(u, s.w.pathway),
    "plan_meeting": lambda u, s: access.can_plan_meeting(u, s.w.pathway),
    "log_meeting": lambda u, s: access.can_plan_meeting(u, s.w.pathway),
    "cancel_meeting": lambda u, s: access.can_record_meeting(u, s.w.pathway),
    "edit_notes": lambda u, s: access.can_edit_meeting_notes(u, s.w.meeting_team, s.w.pathway),
    "add_barrier": lambda u, s: access.can_add_barrier(u, s.w.pathway),
    "update_barrier": lambda u, s: access.can_update_barrier(u, s.w.barrier, s.w.pathway),
    "refer_barrier": lambda u, s: access.can_refer_barrier(u, s.w.pathway),
    "ack_alert": lambda u, s: access.can_acknowledge_alert(u, s.w.pathway),
    "orient": lambda u, s: access.can_orient(u, s.w.pathway),
    "change_stage": lambda u, s: access.can_change_stage(u, s.w.pathway),
    "add_member": lambda u, s: access.can_manage_team(u, s.w.pathway),
    "remove_member": lambda u, s: access.can_manage_team(u, s.w.pathway),
    "record_contract": lambda u, s: access.can_record_contract(u, s.w.pathway),
    "withdraw_consent": lambda u, s: access.can_record_consent(u, s.w.pathway),
    "assign_referent": lambda u, s: access.can_assign_referent(u, s.w.pathway, s.successor),
    "record_employment": lambda u, s: access.can_record_employment(u, s.w.pathway),
    "edit_identity": lambda u, s: access.can_edit_identity(u, s.w.pathway),
    "record_meeting": lambda u, s: access.can_record_meeting(u, s.w.pathway),
    "reschedule_meeting": lambda u, s: access.can_record_meeting(u, s.w.pathway),
    "edit_entry": lambda u, s: access.can_correct_entry(u, s.w.entry_team, s.w.pathway),
    "close": lambda u, s: access.can_close_pathway(u, s.w.pathway),
}


def _iso(delta: timedelta) -> str:
    return (utcnow() + delta).isoformat()


# --- the doors: (method, path, body); the API's `version` names the object whose If-Match is sent -----

WEB: dict[str, tuple[str, str, dict[str, str]] | None] = {
    "add_entry": ("POST", "/parcours/{p}/journal", {"body": "Appel", "visibility": "team"}),
    "plan_meeting": ("POST", "/parcours/{p}/rendez-vous/nouveau",  # confirmed: the hour of the run may warn
                     {"scheduled_at": "+2d", "channel": "phone", "duration_minutes": "30", "confirm": "1"}),
    "log_meeting": ("POST", "/parcours/{p}/entretien",
                    {"status": "held", "held_at": "-1h", "channel": "in_person", "notes_visibility": "agency"}),
    "cancel_meeting": ("POST", "/rendez-vous/{m}/annuler", {"reason": "Empêchement"}),
    "edit_notes": None,
    "add_barrier": ("POST", "/parcours/{p}/freins/nouveau", {"category": "housing", "title": "Hébergement"}),
    "update_barrier": ("POST", "/freins/{b}/modifier",
                       {"category": "mobility", "title": "Permis", "owner_agency_id": "{ft}", "status": "in_progress"}),
    "refer_barrier": ("POST", "/freins/{b}/orienter", {"agency_id": "{ccas}", "message": "Aide ?"}),
    "ack_alert": ("POST", "/alertes/{a}/vue", {}),
    "orient": ("POST", "/parcours/{p}/orientation", {"orientation": "social"}),
    "change_stage": ("POST", "/parcours/{p}/etape", {"stage": "support"}),
    "add_member": ("POST", "/parcours/{p}/equipe", {"agency_id": "{cd}"}),
    "remove_member": ("POST", "/parcours/{p}/equipe/{caf}/retirer", {}),
    "record_contract": ("POST", "/parcours/{p}/contrat",
                        {"kind": "ppae", "signed_on": "2026-11-02", "starts_on": "2026-11-02"}),
    "withdraw_consent": ("POST", "/parcours/{p}/consentement/retrait", {}),
    "assign_referent": ("POST", "/parcours/{p}/referent", {"user_id": "{s}", "note": "Passation : dossier à jour."}),
    "record_employment": ("POST", "/parcours/{p}/emploi",
                          {"started_on": "2026-11-02", "contract_type": "cdi", "employer": "Boulangerie"}),
    "edit_identity": ("POST", "/parcours/{p}/identite",
                      {"last_name": "Benali", "first_name": "Sarah", "city": "Pantin"}),
    "record_meeting": ("POST", "/rendez-vous/{q}/renseigner", {"status": "missed"}),
    "reschedule_meeting": ("POST", "/rendez-vous/{l}/deplacer", {"scheduled_at": "+3d", "confirm": "1"}),
    "edit_entry": ("POST", "/journal/{e}/corriger", {"visibility": "agency"}),
    "close": ("POST", "/parcours/{p}/cloture", {"reason": "moved_away"}),
}

API: dict[str, tuple[str, str, dict[str, Any], str | None] | None] = {
    "add_entry": ("POST", "/pathways/{p}/entries", {"body": "Appel", "visibility": "team"}, None),
    "plan_meeting": ("POST", "/pathways/{p}/meetings", {"scheduled_at": "+2d", "channel": "phone"}, None),
    "log_meeting": ("POST", "/pathways/{p}/meetings", {"status": "held", "held_at": "-1h"}, None),
    "cancel_meeting": ("PATCH", "/meetings/{m}", {"status": "cancelled"}, "planned"),
    "edit_notes": ("PATCH", "/meetings/{t}", {"notes": "Corrigé"}, "meeting_team"),
    "add_barrier": ("POST", "/pathways/{p}/barriers", {"category": "housing", "title": "Hébergement"}, None),
    "update_barrier": ("PATCH", "/barriers/{b}", {"status": "in_progress"}, "barrier"),
    "refer_barrier": ("POST", "/barriers/{b}/referral", {"agency_id": "{ccas}"}, None),
    "ack_alert": ("POST", "/alerts/{a}/acknowledge", {}, None),
    "orient": ("PATCH", "/pathways/{p}", {"orientation": "social"}, "pathway"),
    "change_stage": ("PATCH", "/pathways/{p}", {"stage": "support"}, "pathway"),
    "add_member": ("POST", "/pathways/{p}/members", {"agency_id": "{cd}"}, None),
    "remove_member": ("DELETE", "/pathways/{p}/members/{caf}", {}, None),
    "record_contract": ("POST", "/pathways/{p}/contracts",
                        {"kind": "ppae", "signed_on": "2026-11-02", "starts_on": "2026-11-02"}, None),
    "withdraw_consent": ("DELETE", "/pathways/{p}/consent", {}, None),
    "assign_referent": ("POST", "/pathways/{p}/referent", {"user_id": "{s}"}, None),
    "record_employment": ("POST", "/pathways/{p}/employment",
                          {"started_on": "2026-11-02", "contract_type": "cdi", "employer": "Boulangerie"}, None),
    "edit_identity": ("PATCH", "/beneficiaries/{ben}", {"city": "Pantin"}, "beneficiary"),
    "record_meeting": ("PATCH", "/meetings/{q}", {"status": "missed"}, "past"),
    "reschedule_meeting": ("PATCH", "/meetings/{l}", {"scheduled_at": "+3d"}, "later"),
    "edit_entry": None,  # the web form only
    "close": ("POST", "/pathways/{p}/close", {"reason": "moved_away"}, None),
}

TIMES = {"+2d": timedelta(days=2), "+3d": timedelta(days=3), "-1h": -timedelta(hours=1)}
READ_ACTIONS = ("pathway.read", "pathway.list", "pathway.search", "alert.list", "meeting.list", "user.login")


def _fill(value: Any, ids: dict[str, Any], *, web: bool) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, ids, web=web) for k, v in value.items()}
    if value in TIMES:
        return local_input_in(TIMES[value]) if web else _iso(TIMES[value])
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        found = ids[value[1:-1]]
        return str(found) if web else found
    return value


def _writes() -> int:
    actions = db.session.scalars(sa.select(AuditEvent.action))
    return sum(1 for a in actions if not a.startswith(READ_ACTIONS))


def _version(scene: Scene, name: str | None) -> int | None:
    if name is None:
        return None
    target = {"planned": scene.planned, "meeting_team": scene.w.meeting_team, "barrier": scene.w.barrier,
              "pathway": scene.w.pathway, "past": scene.past, "later": scene.later,
              "beneficiary": scene.w.pathway.beneficiary}[name]
    db.session.refresh(target)
    return target.version


def _door(role: str, op: str, allowed: bool, send: Callable[[], Any]) -> list[str]:
    """Send one request; [] if the door answered as the matrix says, else the cell that differs."""
    before = _writes()
    response = send()
    wrote = _writes() > before
    ok = response.status_code in (200, 201, 204, 302, 303) and wrote
    refused = response.status_code in (403, 404) and not wrote
    if (ok if allowed else refused):
        return []
    return [f"  {role} × {op}: expected {'Y' if allowed else 'N'}, answered {response.status_code} "
            f"{response.get_json(silent=True) or ''}, {'wrote' if wrote else 'wrote nothing'}"]


def _table(mismatches: list[str]) -> str:
    return "\n".join(["cells that differ from the matrix:", *mismatches])


@pytest.mark.parametrize("role", list(MATRIX))
def test_the_named_questions_follow_the_matrix(scene: Scene, role: str) -> None:
    user = scene.w.users()[role]
    mismatches = [
        f"  {role} × {op}: expected {'Y' if allowed else 'N'}"
        for op, allowed in expected(role).items() if QUESTIONS[op](user, scene) != allowed
    ]
    assert not mismatches, _table(mismatches)


@pytest.mark.parametrize("role", list(MATRIX))
def test_the_web_forms_follow_the_matrix(client, scene: Scene, role: str) -> None:
    user = scene.w.users()[role]
    login_as(client, user)
    mismatches = []
    for op, allowed in expected(role).items():
        door = WEB[op]
        if door is None:
            continue
        method, path, body = door
        mismatches += _door(role, op, allowed, partial(
            client.open, path.format(**scene.ids()), method=method, data=_fill(body, scene.ids(), web=True)))
    assert not mismatches, _table(mismatches)


@pytest.mark.parametrize("role", list(MATRIX))
def test_the_api_follows_the_matrix(api, scene: Scene, role: str) -> None:
    user = scene.w.users()[role]
    caller = api(user)
    mismatches = []
    for op, allowed in expected(role).items():
        if API[op] is None:
            continue
        method, path, body, versioned = API[op]
        mismatches += _door(role, op, allowed, partial(
            caller._call, method, path.format(**scene.ids()), json=_fill(body, scene.ids(), web=False),
            version=_version(scene, versioned)))
    assert not mismatches, _table(mismatches)


# --- administration: imports of structures and professionals (app/admin/directory.py) ------------------

def test_only_the_territorys_admin_uploads_and_runs_a_directory_import(client, world: World) -> None:
    """The upload and the run of a file of structures or professionals: the territory's admin only;
    anyone else (another territory's admin too) is answered 404 and nothing is written."""
    import io

    from app.accounts.models import Agency, Role, User
    from app.admin import directory
    from app.admin.models import DirectoryImport
    from tests.factories import AgencyFactory

    content = b"Nom*;Type\r\nCCAS de Bondy;CCAS\r\n"
    job = directory.create_import(world.admin, directory.AGENCIES, filename="s.csv", content=content)
    other_admin = UserFactory(agency=AgencyFactory(territory=world.other_territory), role=Role.ADMIN,
                              email="admin@autre-territoire.test")

    def state() -> tuple:
        db.session.expire_all()
        count = db.session.scalar
        return (count(sa.select(sa.func.count(Agency.id))), count(sa.select(sa.func.count(User.id))),
                count(sa.select(sa.func.count(DirectoryImport.id))), db.session.get(DirectoryImport, job.id).status,
                count(sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action != "user.login")))

    def doors() -> list:
        return [
            client.post("/administration/importer/structures", data={"file": (io.BytesIO(content), "s.csv")},
                        content_type="multipart/form-data"),
            client.post("/administration/importer/professionnels", data={"file": (io.BytesIO(content), "p.csv")},
                        content_type="multipart/form-data"),
            client.post(f"/administration/importer/fichier/{job.id}/lancer"),
        ]

    for name, user in world.users().items():
        if name == "admin":
            continue
        login_as(client, user)
        before = state()
        assert [r.status_code for r in doors()] == [404, 404, 404], name
        assert state() == before, name
    # Another territory's admin uploads into their own territory only; this territory's file is not found.
    login_as(client, other_admin)
    before = state()
    assert [r.status_code for r in doors()] == [302, 422, 404]
    after = state()
    assert after[2] == before[2] + 1 and after[:2] + after[3:] == before[:2] + before[3:]
    theirs = db.session.scalars(sa.select(DirectoryImport.territory_id).where(DirectoryImport.id != job.id))
    assert set(theirs) == {world.other_territory.id}
    login_as(client, world.admin)
    assert [r.status_code for r in doors()] == [302, 422, 302]  # the second file lacks its columns
    assert db.session.get(DirectoryImport, job.id).status == "done"
    assert db.session.scalar(sa.select(sa.func.count(Agency.id)).where(Agency.name == "CCAS de Bondy")) == 1

# --- « Mes exports »: queuing writes a job for its requester only (routes: tests/exports/test_routes_access.py) ---


@pytest.mark.parametrize("role", list(MATRIX))
def test_queuing_an_export_writes_only_the_requesters_job(client, scene: Scene, role: str) -> None:
    from app.exports.models import ExportJob

    user = scene.w.users()[role]
    login_as(client, user)
    client.post("/exports/portefeuille", data={"format": "csv", "onglet": "structure"})
    steering = client.post("/exports/pilotage/freins", data={"format": "xlsx"})
    assert steering.status_code == (302 if role in ("manager_ft", "manager_cd") else 404)
    jobs = db.session.scalars(sa.select(ExportJob)).all()
    assert jobs and {(job.requested_by_id, job.territory_id, job.agency_id) for job in jobs} == {
        (user.id, user.territory_id, user.agency_id)}
