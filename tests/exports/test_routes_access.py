"""Every route of « Mes exports » × every user of the world: an export is its requester's alone (404
to anyone else, same agency, other agency or other territory), a « Pilotage » list's full export is
for who steers it, and nobody's export holds a row they may not read. A route added without a line
here fails `test_every_route_is_listed`."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from app import access
from app.exports.models import ExportJob, ExportStatus
from app.extensions import db
from app.followup import pilotage as steering
from app.workspace.portfolio import CaseloadFilters, caseload
from tests.web_helpers import body_text, login_as
from tests.world import World

E = "exports."
ROUTES = {
    (E + "index", "GET"): "/exports",
    (E + "queue_portfolio", "POST"): "/exports/portefeuille",
    (E + "queue_pilotage", "POST"): "/exports/pilotage/portefeuilles",
    (E + "download", "GET"): "/exports/{job}/fichier",
}
MANAGERS = {"manager_ft", "manager_cd"}


def test_every_route_is_listed(app) -> None:
    routes = {(rule.endpoint, method) for rule in app.url_map.iter_rules() if rule.endpoint.startswith(E)
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes == set(ROUTES)


@pytest.fixture
def referents_export(client, world: World) -> ExportJob:
    login_as(client, world.referent)
    client.post("/exports/portefeuille", data={"format": "csv"})
    job = db.session.scalar(sa.select(ExportJob))
    assert job.status == ExportStatus.DONE and job.row_count == 1
    return job


@pytest.mark.parametrize("who", ["colleague", "partner", "outsider", "stranger", "manager_ft", "manager_cd", "admin"])
def test_another_user_never_reaches_an_export(client, world: World, referents_export: ExportJob, who: str) -> None:
    login_as(client, getattr(world, who))
    response = client.get(ROUTES[(E + "download", "GET")].format(job=referents_export.id))
    assert response.status_code == 404
    assert "Benali" not in body_text(response)
    assert f"/exports/{referents_export.id}/" not in body_text(client.get("/exports"))


@pytest.mark.parametrize("who", ["referent", "colleague", "partner", "outsider", "stranger", "manager_ft",
                                 "manager_cd", "admin"])
def test_each_user_queues_only_what_they_may_read(client, world: World, who: str) -> None:
    user = getattr(world, who)
    login_as(client, user)
    pilotage = client.post(ROUTES[(E + "queue_pilotage", "POST")], data={"format": "csv"})
    assert pilotage.status_code == (302 if who in MANAGERS else 404)
    assert client.post(ROUTES[(E + "queue_portfolio", "POST")], data={"format": "csv", "onglet": "structure"}
                       ).status_code == 302
    jobs = list(db.session.scalars(sa.select(ExportJob).order_by(ExportJob.id)))
    assert {job.requested_by_id for job in jobs} == {user.id}
    for job in jobs:
        body = body_text(client.get(ROUTES[(E + "download", "GET")].format(job=job.id)))
        ids = [int(float(line.split(";")[0])) for line in body.splitlines()[1:]]
        if job.kind.startswith("pilotage."):
            expected = [row.pathway.id for row in steering.caseload_list(steering.Scope(user), limit=1000)]
        else:
            expected = [row.pathway.id for row in caseload(user, CaseloadFilters(scope="team")).items
                        if row.access >= access.RecordAccess.SHARED]
        assert ids == expected, (who, job.kind)
        # The CAF (team, with consent) reads the record; FT's and the CD's managers steer it.
        assert ("Benali" in body) == (who == "partner" or job.kind.startswith("pilotage.")), (who, job.kind)
