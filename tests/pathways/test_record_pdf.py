"""The record as a PDF to hand to the person (issue 15, « Exports »): what the reader may see of
the record, in French, tagged for screen readers; refused where the record is not shared; audited."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pypdf
import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.barriers import services as barrier_services
from app.barriers.models import BarrierCategory
from app.extensions import db
from app.meetings import services as meeting_services
from app.pathways import services as pathway_services
from app.pathways.models import ContractKind
from tests.web_helpers import login_as
from tests.world import T0, World, build_world


def _pdf_text(response) -> tuple[str, pypdf.PdfReader]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.get_data()))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages), reader


def test_the_referent_downloads_the_whole_record_as_a_tagged_french_pdf(client, world: World) -> None:
    barrier_services.add_barrier(world.referent, world.pathway, category=BarrierCategory.HOUSING,
                                 title="Logement à trouver", due_on=date(2026, 3, 12), now=T0 + timedelta(days=11))
    pathway_services.record_contract(world.referent, world.pathway, kind=ContractKind.CER,
                                     signed_on=date(2026, 1, 20), starts_on=date(2026, 1, 20),
                                     ends_on=date(2026, 7, 19), now=T0 + timedelta(days=15))
    login_as(client, world.referent)
    response = client.get(f"/parcours/{world.pathway.id}/dossier.pdf")
    content, reader = _pdf_text(response)
    assert response.headers["Content-Disposition"].startswith('attachment; filename="dossier-benali-sarah-')
    assert "Dossier de suivi de Sarah BENALI" in content
    assert "1234567" in content  # the CAF number, in the identity block
    assert "Pas de permis" in content and "Logement à trouver" in content and "12 mars 2026" in content
    assert "20 janvier 2026" in content and "19 juillet 2026" in content  # the contract
    # The journal: the referent's own notes, all of them, and the meeting notes.
    for body in ("Note d'équipe.", "Note FT.", "Note du référent.", "CV mis à jour.", "Point sur la recherche"):
        assert body in content, body
    assert "Page 1 sur" in content
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "fr" and "/StructTreeRoot" in root and root["/MarkInfo"]["/Marked"]


def test_a_partner_gets_only_what_the_record_shows_her(client, world: World) -> None:
    login_as(client, world.partner)
    content, _ = _pdf_text(client.get(f"/parcours/{world.pathway.id}/dossier.pdf"))
    assert "Sarah BENALI" in content and "Note d'équipe." in content and "CV mis à jour." in content
    assert "Note CAF." in content  # her agency's own note
    for hidden in ("Note FT.", "Note du référent.", "Point sur la recherche"):
        assert hidden not in content, hidden


@pytest.mark.parametrize("who", ["outsider", "stranger"])
def test_no_pdf_outside_the_shared_record(client, world: World, who: str) -> None:
    login_as(client, getattr(world, who))
    response = client.get(f"/parcours/{world.pathway.id}/dossier.pdf")
    assert response.status_code == 404 and response.mimetype != "application/pdf"


def test_no_pdf_for_a_team_partner_without_the_persons_consent(client) -> None:
    world = build_world(consent=False)
    login_as(client, world.partner)  # in the team, but she only knows the pathway exists
    assert client.get(f"/parcours/{world.pathway.id}/dossier.pdf").status_code == 404


def test_the_download_is_audited_with_the_record_but_no_content(client, world: World) -> None:
    meeting_services.plan_meeting(world.referent, world.pathway, scheduled_at=T0 + timedelta(days=400),
                                  now=T0 + timedelta(days=11))
    login_as(client, world.referent)
    content, _ = _pdf_text(client.get(f"/parcours/{world.pathway.id}/dossier.pdf"))
    assert "Prochains rendez-vous (1)" in content
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "pathway.export.pdf")).one()
    assert event.actor_id == world.referent.id
    assert event.details == {"format": "pdf", "count": 1, "pathway_ids": [world.pathway.id]}
